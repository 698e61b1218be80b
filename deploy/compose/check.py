#!/usr/bin/env python3
"""Static checks of docker-compose.yml (no Docker engine needed).

    python3 deploy/compose/check.py [--file docker-compose.yml] [--project-dir DIR]
                                    [--schema PATH] [--env-from-source DIR]

Prints one line per check (PASS / FAIL / WARN / SKIP) and exits 1 if any check failed.

What it checks:
  * the YAML parses, has no duplicate keys and no obsolete top-level `version:`;
  * the services DX Pulse needs are all there;
  * every service except the one-shot `migrate` job has a health check;
  * every depends_on entry names a defined service, uses the long form with a valid condition,
    `service_healthy` points at a service with a health check, `service_completed_successfully`
    at a job that does not restart; no dependency cycles; the three services wait for migrate;
  * each service gets the environment it reads, connects to PostgreSQL as its own role, and with
    the same password the migration gives that role;
  * the services run the right executable and their health check, DX_HTTP_PORT and published
    port agree; `sh -c` gets its script as one argument;
  * the build context, Dockerfile and bind-mounted host paths exist, named volumes are declared;
    the dx services and migrate run the one image built from deploy/Dockerfile, and that
    Dockerfile copies every directory Package.swift names as a target path;
  * no two services publish the same host port (with the defaults);
  * the file validates against the Compose Specification JSON Schema, when that schema is present;
  * with --env-from-source DIR: DX_* variables that the Swift sources read but compose does not
    set are reported as warnings.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Dependencies: PyYAML and jsonschema. Installed on the project's machines; on a fresh machine
# without them they are pip-installed into a per-user directory (never into the system Python).
# --------------------------------------------------------------------------------------------


def _user_lib_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "dx-pulse" / "pylib"


def _import_dependencies():
    def attempt():
        importlib.invalidate_caches()
        return importlib.import_module("yaml"), importlib.import_module("jsonschema")

    try:
        return attempt()
    except ImportError:
        pass
    lib = _user_lib_dir()
    sys.path.insert(0, str(lib))
    try:
        return attempt()
    except ImportError:
        pass
    print(f"note: PyYAML/jsonschema not importable; installing them into {lib}", flush=True)
    lib.mkdir(parents=True, exist_ok=True)
    # --target installs into our own directory: no root needed, the system Python is untouched.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(lib), "pyyaml", "jsonschema"]
    )
    if result.returncode != 0:
        sys.exit(
            "error: could not install PyYAML and jsonschema with pip; install them "
            "(e.g. `apt-get install python3-yaml python3-jsonschema`) and run again"
        )
    return attempt()


yaml, jsonschema = _import_dependencies()

# --------------------------------------------------------------------------------------------
# What DX Pulse's compose file must contain.
# --------------------------------------------------------------------------------------------

REQUIRED_SERVICES = ["kafka", "postgres", "migrate", "dx-ingest", "dx-indicators", "dx-alerts", "grafana"]
JOB_SERVICES = {"migrate"}  # one-shot: no health check, must not restart
DX_SERVICES = {  # service -> PostgreSQL role it must connect as
    "dx-ingest": "dx_ingest",
    "dx-indicators": "dx_indicators",
    "dx-alerts": "dx_alerts",
}
IMAGE_SERVICES = ["migrate", *DX_SERVICES]  # run the project's own image
DOCKERFILE = "deploy/Dockerfile"
REQUIRED_ENV = {
    **{name: ["DX_POSTGRES_URL", "DX_KAFKA_BROKERS", "DX_HTTP_PORT", "DX_LOG_LEVEL"] for name in DX_SERVICES},
    "migrate": ["DX_POSTGRES_ADMIN_URL", "DX_KAFKA_BROKERS"],
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# Source directories -> the compose service that runs that code (for --env-from-source).
SOURCE_OWNERS = {
    "Services/Ingestion": "dx-ingest",
    "Services/Indicators": "dx-indicators",
    "Services/Alerting": "dx-alerts",
    "Services/CLI": "migrate",
}


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.failures = 0
        self.warnings = 0

    def check(self, name: str, problems: list[str]) -> None:
        """One line per check; each problem on its own indented line."""
        if problems:
            self.failures += 1
            print(f"FAIL  {name}")
            for problem in problems:
                print(f"        - {problem}")
        else:
            print(f"PASS  {name}")

    def warn(self, name: str, messages: list[str]) -> None:
        if messages:
            self.warnings += len(messages)
            print(f"WARN  {name}")
            for message in messages:
                print(f"        - {message}")
        else:
            print(f"PASS  {name}")

    def skip(self, name: str, why: str) -> None:
        print(f"SKIP  {name}: {why}")


# --------------------------------------------------------------------------------------------
# Loading and small helpers
# --------------------------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (PyYAML silently keeps the last one; Compose refuses)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor`: explicit keys may override merged ones
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key] + 1}); Compose rejects the file",
                None,
            )
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def with_defaults(value) -> str:
    """Compose interpolation as if no variable were set: ${VAR:-default} -> default, ${VAR} -> ''."""
    if value is None:
        return ""

    def substitute(match):
        if match.group(0) == "$$":
            return "$"
        op, default = match.group(2), match.group(3)
        if op in (":-", "-"):
            return with_defaults(default)
        return ""

    return _VAR.sub(substitute, str(value))


def environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        result = {}
        for item in env:
            key, sep, value = str(item).partition("=")
            result[key] = value if sep else None
        return result
    return {str(k): (None if v is None else str(v)) for k, v in env.items()}


def words(command) -> list[str]:
    if command is None:
        return []
    if isinstance(command, list):
        return [str(c) for c in command]
    return str(command).split()


def has_healthcheck(service: dict) -> bool:
    health = service.get("healthcheck")
    if not isinstance(health, dict) or health.get("disable"):
        return False
    test = health.get("test")
    if not test:
        return False
    return words(test)[:1] != ["NONE"]


def depends_on(service: dict):
    """Yield (target, spec-or-None, short_form)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        for target in deps:
            yield str(target), None, True
    else:
        for target, spec in deps.items():
            yield str(target), spec, False


def url_user_password(url: str) -> tuple[str | None, str | None]:
    """postgres://user:password@host:port/db -> (user, raw password expression)."""
    match = re.match(r"^postgres(?:ql)?://([^:@/]+)(?::(.*))?@[^@]+$", url or "")
    if not match:
        return None, None
    return match.group(1), match.group(2)


def is_host_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def check_top_level(report: Report, doc) -> dict:
    problems = []
    if not isinstance(doc, dict):
        report.check("top level is a mapping with `services`", ["the file is not a YAML mapping"])
        return {}
    if "version" in doc:
        problems.append("top-level `version:` is obsolete in the Compose Specification; remove it")
    services = doc.get("services")
    if not isinstance(services, dict) or not services:
        problems.append("no `services:` mapping")
        services = {}
    report.check("top level: `services` present, no obsolete `version`", problems)
    return services


def check_required_services(report: Report, services: dict) -> None:
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    report.check(
        f"services present: {', '.join(REQUIRED_SERVICES)}",
        [f"service `{name}` is missing" for name in missing],
    )


def check_healthchecks(report: Report, services: dict) -> None:
    problems = []
    for name, service in services.items():
        if name in JOB_SERVICES:
            continue
        if not has_healthcheck(service):
            problems.append(f"service `{name}` has no healthcheck with a `test` (only one-shot jobs may omit it)")
    report.check("every long-running service has a healthcheck with a test", problems)


def check_dependencies(report: Report, services: dict) -> None:
    problems = []
    for name, service in services.items():
        for target, spec, short in depends_on(service):
            where = f"service `{name}`: depends_on `{target}`"
            if target not in services:
                problems.append(f"{where} names a service that is not defined")
                continue
            if short or not isinstance(spec, dict):
                problems.append(f"{where} uses the short form; use `{target}: {{condition: ...}}`")
                continue
            condition = spec.get("condition")
            if condition not in CONDITIONS:
                problems.append(
                    f"{where} has condition {condition!r}; expected one of {', '.join(sorted(CONDITIONS))}"
                )
                continue
            if condition == "service_healthy" and not has_healthcheck(services[target]):
                problems.append(f"{where} waits for service_healthy but `{target}` has no healthcheck: it would never start")
            if condition == "service_completed_successfully":
                restart = str(services[target].get("restart", "no"))
                if restart not in ("no", "on-failure") and not restart.startswith("on-failure"):
                    problems.append(
                        f"{where} waits for service_completed_successfully but `{target}` has restart: {restart}"
                    )
    for name in DX_SERVICES:
        if name not in services:
            continue
        spec = dict((t, s) for t, s, _ in depends_on(services[name])).get("migrate")
        if not isinstance(spec, dict) or spec.get("condition") != "service_completed_successfully":
            problems.append(
                f"service `{name}` must depend on `migrate` with condition service_completed_successfully "
                "(it needs the schema and catalog before it starts)"
            )

    # Cycles: compose refuses to start them.
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target, _, _ in depends_on(services.get(node, {})):
            if target not in services:
                continue
            if state.get(target) == 1:
                problems.append("dependency cycle: " + " -> ".join(path + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for name in services:
        if name not in state:
            visit(name, [name])
    report.check("depends_on: defined services, long form, valid and satisfiable conditions, no cycles", problems)


def check_environment(report: Report, services: dict) -> None:
    problems = []
    for name, required in REQUIRED_ENV.items():
        if name not in services:
            continue
        env = environment(services[name])
        for var in required:
            if var not in env:
                problems.append(f"service `{name}` does not set {var}")
            elif env[var] is None or with_defaults(env[var]) == "":
                problems.append(f"service `{name}`: {var} is empty unless the host sets it; give it a default")
    report.check("each service gets the environment it reads", problems)

    problems = []
    migrate_env = environment(services.get("migrate", {}))
    for name, role in DX_SERVICES.items():
        if name not in services:
            continue
        url = environment(services[name]).get("DX_POSTGRES_URL")
        if url is None:
            continue  # reported above
        user, password = url_user_password(url)
        if user is None:
            problems.append(f"service `{name}`: DX_POSTGRES_URL {url!r} is not postgres://user:password@host:port/db")
            continue
        if user != role:
            problems.append(
                f"service `{name}` connects to PostgreSQL as `{user}`; it must use its own role `{role}` "
                "(a service writes only its own schema)"
            )
            continue
        password_var = f"DX_{role.removeprefix('dx_').upper()}_DB_PASSWORD"
        given = migrate_env.get(password_var)
        if given is None:
            problems.append(f"service `migrate` does not set {password_var}, so role `{role}` gets no known password")
        elif (password or "") != given:
            problems.append(
                f"service `{name}` connects as `{role}` with password {password!r} but `migrate` sets "
                f"{password_var}={given!r}: they must be the same expression"
            )
    grafana_password = environment(services.get("grafana", {})).get("DX_REPORTING_DB_PASSWORD")
    if grafana_password is not None and migrate_env.get("DX_REPORTING_DB_PASSWORD") != grafana_password:
        problems.append(
            "service `grafana`: DX_REPORTING_DB_PASSWORD differs from the one `migrate` gives role dx_reporting"
        )
    report.check("each service connects as its own PostgreSQL role, with the password migrate sets", problems)


def check_commands(report: Report, services: dict) -> None:
    problems = []
    for name, service in services.items():
        entrypoint = words(service.get("entrypoint"))
        command = service.get("command")
        if entrypoint[-1:] == ["-c"] and isinstance(command, str) and len(command.split()) > 1:
            problems.append(
                f"service `{name}`: entrypoint ends in `-c` but command is a string, which Compose splits "
                f"into words, so the shell would run only {command.split()[0]!r}; write command: [{command!r}]"
            )
    for name in DX_SERVICES:
        if name not in services:
            continue
        service = services[name]
        argv = words(service.get("entrypoint")) or words(service.get("command"))
        if argv[:1] != [name]:
            problems.append(f"service `{name}` runs {argv[:1] or 'the image default'}; expected the `{name}` executable")
        port = with_defaults(environment(service).get("DX_HTTP_PORT"))
        published = []
        for entry in service.get("ports") or []:
            if isinstance(entry, dict):
                published.append(str(entry.get("target")))
            else:
                published.append(with_defaults(entry).split("/")[0].rsplit(":", 1)[-1])
        if port and published and port not in published:
            problems.append(f"service `{name}` listens on DX_HTTP_PORT={port} but publishes container port(s) {published}")
        test = " ".join(words((service.get("healthcheck") or {}).get("test")))
        if port and f":{port}/" not in test:
            problems.append(f"service `{name}`: healthcheck {test!r} does not probe port {port}")
    report.check("services run their own executable; ports and health checks agree", problems)


def check_paths(report: Report, doc: dict, services: dict, project_dir: Path) -> None:
    problems = []
    declared_volumes = set((doc.get("volumes") or {}).keys())
    for name, service in services.items():
        build = service.get("build")
        if build is not None:
            if isinstance(build, str):
                build = {"context": build}
            context = project_dir / with_defaults(build.get("context", "."))
            if not context.is_dir():
                problems.append(f"service `{name}`: build context {context} does not exist")
            dockerfile = build.get("dockerfile", "Dockerfile")
            dockerfile_path = context / with_defaults(dockerfile)
            if "dockerfile_inline" not in build and not dockerfile_path.is_file():
                problems.append(f"service `{name}`: dockerfile {dockerfile_path} does not exist")
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):
                kind, source = volume.get("type"), with_defaults(volume.get("source"))
                if kind == "bind":
                    source_path = (project_dir / os.path.expanduser(source)).resolve()
                    if not source_path.exists():
                        problems.append(f"service `{name}`: bind mount source {source} does not exist ({source_path})")
                elif kind == "volume" and source and source not in declared_volumes:
                    problems.append(f"service `{name}`: named volume `{source}` is not declared under top-level volumes")
                continue
            source = with_defaults(volume).split(":", 1)[0]
            if ":" not in with_defaults(volume):
                continue  # anonymous volume
            if is_host_path(source):
                source_path = (project_dir / os.path.expanduser(source)).resolve()
                if not source_path.exists():
                    problems.append(f"service `{name}`: mounted host path {source} does not exist ({source_path})")
            elif source not in declared_volumes:
                problems.append(f"service `{name}`: named volume `{source}` is not declared under top-level volumes")
    report.check("build contexts, Dockerfiles, mounted host paths and named volumes exist", problems)


def check_image(report: Report, services: dict, project_dir: Path) -> None:
    problems = []
    expected = (project_dir / DOCKERFILE).resolve()
    built_from_dockerfile = {}  # image name -> building service
    for name, service in services.items():
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if isinstance(build, dict):
            context = project_dir / with_defaults(build.get("context", "."))
            dockerfile = (context / with_defaults(build.get("dockerfile", "Dockerfile"))).resolve()
            if dockerfile == expected:
                image = service.get("image") or f"<project>-{name}"
                built_from_dockerfile[image] = name
    for name in IMAGE_SERVICES:
        if name not in services:
            continue
        service = services[name]
        image = service.get("image")
        if service.get("build") is not None:
            if image not in built_from_dockerfile:
                problems.append(f"service `{name}` is built, but not from {DOCKERFILE}")
        elif image not in built_from_dockerfile:
            problems.append(
                f"service `{name}` runs image {image!r}, which no service of this file builds from {DOCKERFILE}"
            )
    images = {services[n].get("image") for n in IMAGE_SERVICES if n in services}
    if len(images) > 1:
        problems.append(f"migrate and the dx services must run one image; they name {sorted(map(str, images))}")
    report.check(f"migrate and the dx services run the image built from {DOCKERFILE}", problems)


def check_dockerfile(report: Report, project_dir: Path) -> None:
    """The Dockerfile copies what `swift build` needs: every directory Package.swift names as a
    target path (SwiftPM checks all of them, test targets included, even for --product), and
    every COPY source from the build context exists."""
    name = f"{DOCKERFILE} copies every source directory Package.swift names, and they exist"
    dockerfile, manifest = project_dir / DOCKERFILE, project_dir / "Package.swift"
    if not dockerfile.is_file() or not manifest.is_file():
        report.skip(name, f"{dockerfile.name} or Package.swift not found under {project_dir}")
        return
    text = re.sub(r"\\\n", " ", dockerfile.read_text())  # join continuation lines
    copied: set[str] = set()
    problems = []
    for line in text.splitlines():
        match = re.match(r"\s*(COPY|ADD)\s+(.*)", line, re.IGNORECASE)
        if not match:
            continue
        args = match.group(2).split()
        if any(arg.startswith("--from") for arg in args):
            continue  # from another stage, not from the build context
        sources = [arg for arg in args if not arg.startswith("--")][:-1]
        for source in sources:
            top = source.removeprefix("./").split("/")[0] or "."
            copied.add(top)
            if not list(project_dir.glob(source.removeprefix("./"))) and source not in (".", "./"):
                problems.append(f"{DOCKERFILE}: COPY source {source!r} does not exist in the build context")
    target_dirs = sorted({p.split("/")[0] for p in re.findall(r'\bpath:\s*"([^"]+)"', manifest.read_text())})
    if "." not in copied:
        for directory in target_dirs:
            if directory not in copied:
                problems.append(
                    f"{DOCKERFILE} does not COPY {directory}/, which Package.swift names as a target path: "
                    "`swift build` would fail with \"invalid custom path\""
                )
    report.check(name, problems)


def check_ports(report: Report, services: dict) -> None:
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for name, service in services.items():
        for entry in service.get("ports") or []:
            if isinstance(entry, dict):
                host_ip, published = str(entry.get("host_ip", "")), str(entry.get("published", ""))
            else:
                parts = with_defaults(entry).split("/")[0].split(":")
                if len(parts) < 2:
                    continue  # container port only: Docker picks a free host port
                host_ip, published = (parts[0] if len(parts) == 3 else ""), parts[-2]
            if not published:
                continue
            key = (host_ip, published)
            if key in seen:
                problems.append(f"services `{seen[key]}` and `{name}` both publish host port {published}")
            seen[key] = name
    report.check("no two services publish the same host port (defaults)", problems)


def check_schema(report: Report, doc, schema_path: Path) -> None:
    name = "Compose Specification JSON Schema"
    if not schema_path.is_file():
        report.skip(name, f"schema not present at {schema_path} (validation skipped; it is present in CI)")
        return
    print(f"      schema: {schema_path}")
    schema = json.loads(schema_path.read_text())
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    problems = []
    for error in errors:
        location = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set((error.schema.get("properties") or {}).keys())
            patterns = list((error.schema.get("patternProperties") or {}).keys())
            unknown = [
                key for key in error.instance
                if key not in known and not any(re.search(pattern, str(key)) for pattern in patterns)
            ]
            message = f"unknown key(s) {', '.join(map(repr, unknown))} (not in the Compose Specification; extensions start with x-)"
        problems.append(f"{location}: {message}")
    report.check(f"{name} ({validator_class.__name__})", problems)


def check_env_from_source(report: Report, services: dict, source_dir: Path) -> None:
    literal = re.compile(r'"(DX_[A-Z0-9_]+)"')
    skip_dirs = {".build", ".git", ".dx", ".swiftpm", "node_modules"}
    reads: dict[str, set[tuple[str, str]]] = {}  # var -> {(owner service or "", relative file)}
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = [d for d in dirs if d not in skip_dirs and not d.startswith(".build")]
        for file in files:
            if not file.endswith(".swift"):
                continue
            path = Path(root) / file
            relative = path.relative_to(source_dir).as_posix()
            owner = next((svc for prefix, svc in SOURCE_OWNERS.items() if relative.startswith(prefix + "/")), "")
            for var in literal.findall(path.read_text(errors="replace")):
                if var.endswith("_"):
                    continue  # a prefix such as DX_KAFKA_ (librdkafka pass-through), not a variable
                reads.setdefault(var, set()).add((owner, relative))
    set_by = {name: set(environment(services.get(name, {}))) for name in IMAGE_SERVICES}
    anywhere = set().union(*set_by.values()) if set_by else set()
    messages = []
    for var in sorted(reads):
        for owner, relative in sorted(reads[var]):
            if owner and var not in set_by.get(owner, set()):
                messages.append(f"{var} is read by {relative} ({owner}) but service `{owner}` does not set it")
            elif not owner and var not in anywhere:
                messages.append(f"{var} is read by shared code {relative} but no dx service sets it")
    print(f"      scanned Swift sources under {source_dir}: {len(reads)} DX_* variable(s) read")
    report.warn("DX_* variables read by the Swift sources are set in compose (warnings only)", messages)


# --------------------------------------------------------------------------------------------


def main() -> int:
    repo_root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=repo_root / "docker-compose.yml", help="compose file to check")
    parser.add_argument(
        "--project-dir", type=Path, default=None,
        help="directory that relative paths are resolved against (default: the compose file's directory)",
    )
    parser.add_argument(
        "--schema", type=Path, default=repo_root.parent / "shared" / "schemas" / "compose-spec.json",
        help="Compose Specification JSON Schema (default: ../shared/schemas/compose-spec.json from the repo root)",
    )
    parser.add_argument("--env-from-source", type=Path, metavar="DIR", help="Swift sources to scan for DX_* variables")
    args = parser.parse_args()

    compose_file = args.file.resolve()
    project_dir = (args.project_dir or compose_file.parent).resolve()
    print(f"checking {compose_file} (paths relative to {project_dir})")
    report = Report()

    try:
        with compose_file.open() as stream:
            doc = yaml.load(stream, Loader=StrictLoader)
    except (OSError, yaml.YAMLError) as error:
        report.check("the file reads and parses as YAML", [" ".join(str(error).split())])
        print("1 check failed")
        return 1
    report.check("the file parses as YAML without duplicate keys", [])

    services = check_top_level(report, doc)
    check_required_services(report, services)
    check_healthchecks(report, services)
    check_dependencies(report, services)
    check_environment(report, services)
    check_commands(report, services)
    check_paths(report, doc if isinstance(doc, dict) else {}, services, project_dir)
    check_image(report, services, project_dir)
    check_dockerfile(report, project_dir)
    check_ports(report, services)
    check_schema(report, doc, args.schema.resolve())
    if args.env_from_source:
        check_env_from_source(report, services, args.env_from_source.resolve())

    if report.failures:
        print(f"{report.failures} check(s) failed")
        return 1
    suffix = f", {report.warnings} warning(s)" if report.warnings else ""
    print(f"all checks passed{suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
