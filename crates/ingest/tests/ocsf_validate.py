#!/usr/bin/env python3
"""Validate OCSF events (JSON lines) against the official OCSF JSON schema.

Usage: python3 ocsf_validate.py [FILE ...]   (reads stdin when no file is given, or for "-")

Each line is one OCSF event. Its class comes from `class_uid`, its schema version from
`metadata.version` and its profiles from `metadata.profiles`; the matching class schema is built by
the `ocsf-json-schema` package from the OCSF schema export it bundles (schema.ocsf.io) and checked
with `jsonschema` (draft 2020-12; `pattern`, `enum`, `required`, `anyOf` and closed objects are all
enforced). `--version X` validates every event against version X instead.

Exit status: 0 when every event is valid, 1 when any is not (each error is printed with its line
number and JSON path), 2 when the packages are missing or the input cannot be read.

Needs: pip install ocsf-json-schema jsonschema
"""

import argparse
import json
import sys

try:
    import jsonschema
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema, get_packaged_versions
except ImportError as exc:  # pragma: no cover - exercised by the Rust test when packages are absent
    print(
        f"ocsf_validate: missing Python package ({exc.name}); run: pip install ocsf-json-schema jsonschema",
        file=sys.stderr,
    )
    sys.exit(2)

MAX_ERRORS_PER_EVENT = 20

_schemas = {}
_validators = {}


def validator_for(version, class_uid, profiles):
    key = (version, class_uid, tuple(sorted(profiles)))
    if key in _validators:
        return _validators[key]
    if version not in _schemas:
        _schemas[version] = OcsfJsonSchemaEmbedded(get_ocsf_schema(version))
    embedded = _schemas[version]
    class_name = embedded.lookup_class_name_from_uid(class_uid)
    schema = embedded.get_class_schema(class_name, list(profiles))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    _validators[key] = cls(schema)
    return _validators[key]


def validate_line(text, where, forced_version, packaged):
    """Returns a list of error strings for one JSON line."""
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"{where}: not JSON: {exc}"]
    if not isinstance(event, dict):
        return [f"{where}: not a JSON object"]
    meta = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    version = forced_version or meta.get("version")
    if version not in packaged:
        return [f"{where}: metadata.version {version!r} is not a packaged OCSF version ({', '.join(sorted(packaged))})"]
    class_uid = event.get("class_uid")
    if not isinstance(class_uid, int):
        return [f"{where}: class_uid missing or not an integer"]
    profiles = meta.get("profiles") or []
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        return [f"{where}: metadata.profiles must be a list of names"]
    try:
        v = validator_for(version, class_uid, profiles)
    except (ValueError, KeyError) as exc:
        return [f"{where}: no schema for class_uid {class_uid} in OCSF {version}: {exc}"]
    errors = []
    for err in sorted(v.iter_errors(event), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path) or "(root)"
        errors.append(f"{where}: {path}: {err.message[:300]}")
        if len(errors) >= MAX_ERRORS_PER_EVENT:
            errors.append(f"{where}: (more errors left out)")
            break
    return errors


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="NDJSON files (default: stdin)")
    ap.add_argument("--version", help="validate against this OCSF version instead of metadata.version")
    args = ap.parse_args(argv)
    packaged = set(get_packaged_versions())
    if args.version and args.version not in packaged:
        print(f"ocsf_validate: OCSF {args.version} is not packaged ({', '.join(sorted(packaged))})", file=sys.stderr)
        return 2

    sources = args.files or ["-"]
    checked = 0
    failures = []
    for src in sources:
        try:
            handle = sys.stdin if src == "-" else open(src, encoding="utf-8")
        except OSError as exc:
            print(f"ocsf_validate: cannot read {src}: {exc}", file=sys.stderr)
            return 2
        with handle:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                checked += 1
                failures.extend(validate_line(line, f"{src}:{lineno}", args.version, packaged))

    for f in failures:
        print(f)
    if checked == 0:
        print("ocsf_validate: no events to validate", file=sys.stderr)
        return 1
    bad = len({f.split(": ", 1)[0] for f in failures})
    print(f"ocsf_validate: {checked - bad} of {checked} events valid", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
