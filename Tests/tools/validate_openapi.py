#!/usr/bin/env python3
"""Validates a JSON document against a schema of Web/openapi.yaml.

usage: validate_openapi.py OPENAPI.yaml SCHEMA-NAME DOCUMENT.json
Exit 0 when valid; otherwise prints every violation and exits 1.
"""
import json
import sys

import yaml
from openapi_schema_validator import OAS31Validator


def main() -> int:
    spec_path, name, document_path = sys.argv[1:4]
    with open(spec_path) as handle:
        spec = yaml.safe_load(handle)
    OAS31Validator.check_schema(spec["components"]["schemas"][name])
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    with open(document_path) as handle:
        document = json.load(handle)
    errors = sorted(OAS31Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    for error in errors:
        print(f"{'/'.join(map(str, error.path)) or '(root)'}: {error.message}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
