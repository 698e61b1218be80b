#!/usr/bin/env python3
"""Cross-check DX Pulse's catalog files against each other (stdlib only, no database).

    python3 deploy/catalog/check_seed.py [--catalog catalog] [--seeds ../shared/seeds]

Checks:
  * units: headers, levels, every parent exists, codes unique, old/new validity dates;
  * succession: every code exists, kinds are consistent, one successor per old province,
    levels match, no district rows;
  * data elements, indicators, targets: key order, enumerations, every referenced
    element / indicator exists, weights are count elements;
  * seed observations: unit and element exist, the unit existed in the period, the period
    matches the element's period type, values are plain dot-decimal numbers, percentages
    within 0..100, one unit/period/source per report, no duplicates, and (when the seed
    articles are found) the quote occurs verbatim in the named article;
  * checks: the indicator is a ratio whose numerator and denominator are observed at that
    unit and period, and the printed figure ("94,87%" or "72/78") agrees with them.
Exits 1 and lists every problem if anything fails.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT_HEADER = ["code", "parent", "level", "name", "ascii", "official_code", "valid_from", "valid_to"]
SUCC_HEADER = ["old_code", "new_code", "kind"]
OBS_HEADER = ["report_id", "unit", "period", "element", "value", "source_file", "quote"]
CHECK_HEADER = ["unit", "period", "indicator", "printed", "source_file", "quote"]
ELEMENT_KEYS = ["code", "nameVi", "nameEn", "periodType", "aggregation", "valueType", "weight"]
RATIO_KEYS = ["code", "nameVi", "nameEn", "pillar", "kind", "numerator", "denominator", "factor", "direction", "unit"]
RATE_KEYS = ["code", "nameVi", "nameEn", "pillar", "kind", "element", "direction", "unit"]
TARGET_KEYS = ["indicator", "year", "value", "comparison", "source", "note"]
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
PERIOD = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
}

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def read_csv(path: Path, header: list[str]) -> list[dict]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        err(f"{path}: has a BOM")
    if b"\r" in raw:
        err(f"{path}: has CR line endings")
    if not raw.endswith(b"\n"):
        err(f"{path}: no trailing newline")
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    if not rows or rows[0] != header:
        err(f"{path}: header is {rows[0] if rows else None}, expected {header}")
        return []
    out = []
    for n, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            err(f"{path}:{n}: {len(r)} fields, expected {len(header)}")
            continue
        d = dict(zip(header, r))
        d["_line"] = n
        out.append(d)
    return out


def period_bounds(period: str, ptype: str) -> tuple[str, str] | None:
    m = PERIOD[ptype].match(period)
    if not m:
        return None
    y = int(m.group(1))
    if ptype == "year":
        return f"{y}-01-01", f"{y}-12-31"
    if ptype == "quarter":
        q = int(m.group(2))
        start = 3 * (q - 1) + 1
        end_month = start + 2
        last = {3: 31, 6: 30, 9: 30, 12: 31}[end_month]
        return f"{y}-{start:02d}-01", f"{y}-{end_month:02d}-{last}"
    mo = int(m.group(2))
    last = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][mo - 1]
    return f"{y}-{mo:02d}-01", f"{y}-{mo:02d}-{last}"


def check_units(cat: Path) -> dict:
    units = {}
    for name in ("current.csv", "pre2025.csv"):
        for r in read_csv(cat / "units" / name, UNIT_HEADER):
            if r["code"] in units:
                err(f"units/{name}:{r['_line']}: duplicate code {r['code']}")
            r["_file"] = name
            units[r["code"]] = r
    levels = collections.Counter()
    for code, r in units.items():
        where = f"units/{r['_file']}:{r['_line']}"
        levels[(r["_file"], r["level"])] += 1
        if r["level"] not in ("country", "province", "district", "commune"):
            err(f"{where}: bad level {r['level']}")
        if r["level"] == "country":
            if r["parent"]:
                err(f"{where}: the country has a parent")
        elif r["parent"] not in units:
            err(f"{where}: parent {r['parent']!r} of {code} does not exist")
        if r["name"] != " ".join(r["name"].split()):
            err(f"{where}: name {r['name']!r} has stray whitespace")
        if not r["ascii"].isascii() or r["ascii"] != r["ascii"].lower():
            err(f"{where}: ascii form {r['ascii']!r} is not lowercase ASCII")
        if r["_file"] == "pre2025.csv":
            if not code.startswith("old-") or code[4:] != r["official_code"]:
                err(f"{where}: old code {code} does not match official code {r['official_code']}")
            if r["valid_to"] != "2025-06-30" or r["valid_from"]:
                err(f"{where}: pre-2025 unit validity should be (,2025-06-30]")
            parent = units.get(r["parent"])
            want = {"province": "province", "district": "province", "commune": "district"}[r["level"]]
            if parent and parent["level"] != want:
                err(f"{where}: {r['level']} {code} has a {parent['level']} parent")
            if r["level"] == "province" and parent and parent["_file"] != "current.csv":
                err(f"{where}: old province {code} must aggregate into a current province")
        else:
            if code.startswith("old-"):
                err(f"{where}: current code {code} uses the old- prefix")
            if r["level"] == "commune" and (r["valid_from"] != "2025-07-01" or r["valid_to"]):
                err(f"{where}: current commune validity should be [2025-07-01,)")
    print("units: " + ", ".join(f"{f.split('.')[0]} {lvl} {n}" for (f, lvl), n in sorted(levels.items())))
    return units


def check_succession(cat: Path, units: dict) -> None:
    rows = read_csv(cat / "units" / "succession.csv", SUCC_HEADER)
    by_old = collections.defaultdict(list)
    for r in rows:
        where = f"units/succession.csv:{r['_line']}"
        o, n = units.get(r["old_code"]), units.get(r["new_code"])
        if not o or o["_file"] != "pre2025.csv":
            err(f"{where}: old unit {r['old_code']} is not in pre2025.csv")
            continue
        if not n or n["_file"] != "current.csv":
            err(f"{where}: new unit {r['new_code']} is not in current.csv")
            continue
        if o["level"] != n["level"]:
            err(f"{where}: {o['level']} {r['old_code']} succeeded by {n['level']} {r['new_code']}")
        if r["kind"] not in ("whole", "split"):
            err(f"{where}: bad kind {r['kind']}")
        by_old[r["old_code"]].append(r)
    kinds = collections.Counter()
    for old, rs in by_old.items():
        ks = {r["kind"] for r in rs}
        if len(ks) != 1:
            err(f"succession: {old} has mixed kinds {sorted(ks)}")
            continue
        (k,) = ks
        if (k == "whole") != (len(rs) == 1):
            err(f"succession: {old} is {k} with {len(rs)} successors")
        if len({r['new_code'] for r in rs}) != len(rs):
            err(f"succession: {old} lists a successor twice")
        kinds[(units[old]["level"], k)] += 1
    for code, u in units.items():
        if u["_file"] == "pre2025.csv" and u["level"] == "province":
            rs = by_old.get(code, [])
            if len(rs) != 1 or rs[0]["new_code"] != u["parent"]:
                err(f"succession: old province {code} must have exactly one successor, its parent {u['parent']}")
    unmapped = sum(1 for c, u in units.items()
                   if u["_file"] == "pre2025.csv" and u["level"] == "commune" and c not in by_old)
    print("succession: " + ", ".join(f"{lvl} {k} {n}" for (lvl, k), n in sorted(kinds.items()))
          + f", old communes without successor {unmapped}")


def check_keys(where: str, obj: dict, allowed: list[str], required: list[str]) -> None:
    keys = list(obj)
    if [k for k in allowed if k in obj] != keys:
        err(f"{where}: keys {keys} not in the order/set {allowed}")
    for k in required:
        if k not in obj:
            err(f"{where}: missing {k}")


def check_json_format(path: Path, data) -> None:
    text = path.read_text(encoding="utf-8")
    if text != json.dumps(data, indent=2, ensure_ascii=False) + "\n":
        err(f"{path}: not pretty-printed with 2-space indent (and a trailing newline)")


def check_definitions(cat: Path) -> tuple[dict, dict]:
    elements_path = cat / "data-elements.json"
    elements_list = json.loads(elements_path.read_text(encoding="utf-8"))
    check_json_format(elements_path, elements_list)
    elements = {}
    for i, e in enumerate(elements_list):
        where = f"data-elements.json[{i}] {e.get('code')}"
        check_keys(where, e, ELEMENT_KEYS, ELEMENT_KEYS[:6])
        if not SNAKE.match(e.get("code", "")):
            err(f"{where}: code is not lower snake_case")
        if e.get("code") in elements:
            err(f"{where}: duplicate code")
        if e.get("periodType") not in PERIOD:
            err(f"{where}: bad periodType")
        if e.get("aggregation") not in ("sum", "last"):
            err(f"{where}: bad aggregation")
        if e.get("valueType") not in ("count", "percent"):
            err(f"{where}: bad valueType")
        if "weight" in e and e.get("valueType") != "percent":
            err(f"{where}: only percent elements carry a weight")
        elements[e.get("code")] = e
    for code, e in elements.items():
        w = e.get("weight")
        if w is not None and (w not in elements or elements[w]["valueType"] != "count"):
            err(f"data element {code}: weight {w} is not a count element")

    ind_path = cat / "indicators.json"
    ind_list = json.loads(ind_path.read_text(encoding="utf-8"))
    check_json_format(ind_path, ind_list)
    indicators = {}
    for i, d in enumerate(ind_list):
        where = f"indicators.json[{i}] {d.get('code')}"
        if not SNAKE.match(d.get("code", "")):
            err(f"{where}: code is not lower snake_case")
        if d.get("code") in indicators:
            err(f"{where}: duplicate code")
        if d.get("pillar") not in ("chinh_quyen_so", "kinh_te_so", "xa_hoi_so"):
            err(f"{where}: bad pillar")
        if d.get("direction") not in ("higher_is_better", "lower_is_better"):
            err(f"{where}: bad direction")
        if d.get("kind") == "ratio":
            check_keys(where, d, RATIO_KEYS, RATIO_KEYS)
            for k in ("numerator", "denominator"):
                if d.get(k) not in elements:
                    err(f"{where}: {k} {d.get(k)} is not a data element")
                elif elements[d[k]]["valueType"] != "count":
                    err(f"{where}: {k} {d[k]} is not a count element")
            if d.get("numerator") in elements and d.get("denominator") in elements and \
                    elements[d["numerator"]]["periodType"] != elements[d["denominator"]]["periodType"]:
                err(f"{where}: numerator and denominator have different period types")
            if not isinstance(d.get("factor"), (int, float)) or d.get("factor") <= 0:
                err(f"{where}: bad factor")
        elif d.get("kind") == "rate":
            check_keys(where, d, RATE_KEYS, RATE_KEYS)
            if d.get("element") not in elements:
                err(f"{where}: element {d.get('element')} is not a data element")
            elif elements[d["element"]]["valueType"] != "percent":
                err(f"{where}: rate element {d['element']} is not a percent element")
        else:
            err(f"{where}: bad kind {d.get('kind')}")
        indicators[d.get("code")] = d

    tgt_path = cat / "targets.json"
    targets = json.loads(tgt_path.read_text(encoding="utf-8"))
    check_json_format(tgt_path, targets)
    seen = set()
    for i, t in enumerate(targets):
        where = f"targets.json[{i}] {t.get('indicator')} {t.get('year')}"
        check_keys(where, t, TARGET_KEYS, TARGET_KEYS[:5])
        if t.get("indicator") not in indicators:
            err(f"{where}: unknown indicator")
        if not isinstance(t.get("year"), int) or not 2000 <= t["year"] <= 2100:
            err(f"{where}: bad year")
        if not isinstance(t.get("value"), (int, float)) or isinstance(t.get("value"), bool):
            err(f"{where}: bad value")
        if t.get("comparison") not in ("at_least", "more_than", "at_most", "less_than"):
            err(f"{where}: bad comparison")
        if not t.get("source"):
            err(f"{where}: no source")
        key = (t.get("indicator"), t.get("year"))
        if key in seen:
            err(f"{where}: two targets for the same indicator and year")
        seen.add(key)
    # a ratio and its reported twin carry the same targets
    for code in indicators:
        if code.endswith("_reported") and code[:-9] in indicators:
            a = {(t["year"], t["value"], t["comparison"]) for t in targets if t.get("indicator") == code}
            b = {(t["year"], t["value"], t["comparison"]) for t in targets if t.get("indicator") == code[:-9]}
            if a != b:
                err(f"targets: {code} and {code[:-9]} carry different targets")
    print(f"definitions: {len(elements)} data elements, {len(indicators)} indicators, {len(targets)} targets")
    return elements, indicators


def norm_ws(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def load_seed_texts(seeds: Path | None) -> dict | None:
    if seeds is None or not seeds.is_dir():
        print(f"warning: seed articles not found at {seeds}; quotes not checked")
        return None
    return {p.name: norm_ws(p.read_text(encoding="utf-8")) for p in seeds.glob("*.txt")}


def check_quote(where: str, r: dict, texts: dict | None) -> None:
    if not r["quote"].strip():
        err(f"{where}: empty quote")
    if texts is None:
        return
    if r["source_file"] not in texts:
        err(f"{where}: source file {r['source_file']} is not a seed article")
    elif norm_ws(r["quote"]) not in texts[r["source_file"]]:
        err(f"{where}: quote does not occur verbatim in {r['source_file']}: {r['quote']!r}")


def vi_forms(value: str) -> set[str]:
    """How an article may print a value: 9489 -> 9.489, 98.16 -> 98,16, 1700000 -> 1,7 triệu."""
    whole, _, frac = value.partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    forms = {value, grouped + ("," + frac if frac else ""), whole + ("," + frac if frac else "")}
    d = Decimal(value)
    if d >= 1_000_000 and d % 100_000 == 0:
        forms.add(f"{d / 1_000_000:f}".rstrip("0").rstrip(".").replace(".", ",") + " triệu")
    return forms


def check_observations(cat: Path, units: dict, elements: dict, texts: dict | None) -> dict:
    rows = read_csv(cat / "seed" / "observations.csv", OBS_HEADER)
    obs = {}
    reports = collections.defaultdict(set)
    for r in rows:
        where = f"seed/observations.csv:{r['_line']}"
        u, e = units.get(r["unit"]), elements.get(r["element"])
        if not u:
            err(f"{where}: unknown unit {r['unit']}")
        if not e:
            err(f"{where}: unknown element {r['element']}")
        if not NUMBER.match(r["value"]):
            err(f"{where}: value {r['value']!r} is not a plain dot-decimal number")
        if e:
            b = period_bounds(r["period"], e["periodType"])
            if b is None:
                err(f"{where}: period {r['period']} does not match {r['element']}'s period type {e['periodType']}")
            elif u:
                start, end = b
                if u["valid_to"] and start > u["valid_to"]:
                    err(f"{where}: {r['unit']} ended {u['valid_to']}, before {r['period']}")
                if u["valid_from"] and end < u["valid_from"]:
                    err(f"{where}: {r['unit']} began {u['valid_from']}, after {r['period']}")
            if e["valueType"] == "percent" and NUMBER.match(r["value"]) and not 0 <= float(r["value"]) <= 100:
                err(f"{where}: percentage {r['value']} outside 0..100")
        key = (r["unit"], r["period"], r["element"])
        if key in obs:
            err(f"{where}: duplicate observation {key}")
        obs[key] = r["value"]
        reports[r["report_id"]].add((r["unit"], r["period"], r["source_file"]))
        check_quote(where, r, texts)
        if NUMBER.match(r["value"]) and not any(
                re.search(r"(?<![\d.,])" + re.escape(f) + r"(?![\d]|[.,]\d)", r["quote"]) for f in vi_forms(r["value"])):
            err(f"{where}: the quote does not show the value {r['value']}")
    for rid, s in reports.items():
        if len(s) != 1:
            err(f"seed/observations.csv: report {rid} mixes units/periods/sources {sorted(s)}")
    print(f"observations: {len(rows)} in {len(reports)} reports")
    return obs


def check_checks(cat: Path, units: dict, indicators: dict, obs: dict, texts: dict | None) -> None:
    rows = read_csv(cat / "seed" / "checks.csv", CHECK_HEADER)
    for r in rows:
        where = f"seed/checks.csv:{r['_line']}"
        check_quote(where, r, texts)
        if r["unit"] not in units:
            err(f"{where}: unknown unit {r['unit']}")
        ind = indicators.get(r["indicator"])
        if not ind or ind["kind"] != "ratio":
            err(f"{where}: {r['indicator']} is not a ratio indicator")
            continue
        num = obs.get((r["unit"], r["period"], ind["numerator"]))
        den = obs.get((r["unit"], r["period"], ind["denominator"]))
        if num is None or den is None:
            err(f"{where}: no observation of {ind['numerator']} and {ind['denominator']} at {r['unit']} {r['period']}")
            continue
        n, d = Decimal(num), Decimal(den)
        if d == 0:
            err(f"{where}: zero denominator")
            continue
        printed = r["printed"].strip()
        m_frac = re.fullmatch(r"(\d+)/(\d+)", printed)
        m_pct = re.fullmatch(r"(\d+)(?:,(\d+))?%", printed)
        if m_frac:
            if Decimal(m_frac.group(1)) != n or Decimal(m_frac.group(2)) != d:
                err(f"{where}: printed {printed} but observed {num}/{den}")
        elif m_pct:
            decimals = len(m_pct.group(2) or "")
            shown = Decimal(m_pct.group(1) + ("." + m_pct.group(2) if m_pct.group(2) else ""))
            value = n * Decimal(ind["factor"]) / d
            q = Decimal(1).scaleb(-decimals)
            if value.quantize(q, rounding=ROUND_HALF_UP) != shown:
                err(f"{where}: printed {printed} but {num}/{den}×{ind['factor']} = {value:.4f}")
        else:
            err(f"{where}: cannot read printed figure {printed!r}")
    print(f"checks: {len(rows)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", default=str(REPO / "catalog"))
    ap.add_argument("--seeds", default=str(REPO.parent / "shared" / "seeds"))
    args = ap.parse_args()
    cat = Path(args.catalog)
    units = check_units(cat)
    check_succession(cat, units)
    elements, indicators = check_definitions(cat)
    texts = load_seed_texts(Path(args.seeds))
    obs = check_observations(cat, units, elements, texts)
    check_checks(cat, units, indicators, obs, texts)
    if errors:
        for e in errors:
            print("ERROR " + e)
        print(f"check_seed: {len(errors)} problem(s)")
        return 1
    print("check_seed: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
