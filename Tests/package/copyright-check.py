#!/usr/bin/env python3
"""Checks dist/debian/copyright against the Swift packages the build resolved
(`make copyright`, run by `make test`): a dependency cannot reach the package
without its notice.

  - the file is machine-readable (DEP-5): the Format header, balancerd's own
    files (`Files: *`) under Apache-2.0, and a standalone License paragraph for
    every short name a Files paragraph uses;
  - every package of `swift package show-dependencies --format json` has a
    paragraph `Files: embedded/swift-packages/<identity>` whose Comment starts
    `<name> <version>` (the resolved version), whose License matches the
    package's own LICENSE file (Apache-2.0 or Expat), and which holds every
    line of the package's NOTICE.txt, if it has one (Apache-2.0, section 4(d));
  - no such paragraph names a package the build does not resolve.

Usage: copyright-check.py COPYRIGHT DEPENDENCIES.json CHECKOUTS
(CHECKOUTS: the folder of the packages' sources, .build/checkouts). Prints each
finding with the paragraph or package it concerns; exits 1 if there is any.
"""

import json
import os
import re
import sys

FORMAT = "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
PACKAGE_FILES = "embedded/swift-packages/"


def paragraphs(text):
    """The DEP-5 paragraphs: each a dict of field name to value (continuation lines joined by newlines)."""
    result = []
    for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
        fields, name = {}, None
        for line in block.split("\n"):
            if line[:1] in (" ", "\t") and name:
                fields[name] += "\n" + line[1:]
            elif ":" in line:
                name, value = line.split(":", 1)
                fields[name] = value.strip()
            else:
                raise ValueError(f"not a field or a continuation line: {line!r}")
        result.append(fields)
    return result


def resolved(tree):
    """identity -> (name, version) of every package in show-dependencies' tree."""
    found = {}

    def walk(node):
        for child in node.get("dependencies", []):
            found[child["identity"]] = (child["name"], child["version"])
            walk(child)

    walk(tree)
    return found


def license_of(folder):
    """The short name of a checkout's licence, from its LICENSE file."""
    for name in ("LICENSE.txt", "LICENSE", "LICENSE.md"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            text = open(path, encoding="utf-8", errors="replace").read()
            if "Apache License" in text and "Version 2.0" in text:
                return "Apache-2.0"
            if "Permission is hereby granted, free of charge" in text:
                return "Expat"
            return f"unknown (read {path})"
    return "none (no LICENSE file)"


def squeeze(text):
    return " ".join(text.replace("\n.\n", "\n").split())


def check(copyright_text, dependencies, checkouts):
    problems = []
    try:
        paras = paragraphs(copyright_text)
    except ValueError as error:
        return [f"not machine-readable: {error}"]
    header, rest = paras[0], paras[1:]
    if header.get("Format") != FORMAT:
        problems.append(f"header: Format is {header.get('Format')!r}, not {FORMAT}")
    files = [p for p in rest if "Files" in p]
    standalone = {p["License"].split("\n")[0] for p in rest if "Files" not in p and "License" in p}
    own = next((p for p in files if p["Files"] == "*"), None)
    if own is None or own.get("License", "").split("\n")[0] != "Apache-2.0":
        problems.append("Files: * (balancerd's own) must be License: Apache-2.0")
    for p in files:
        name = p.get("License", "").split("\n")[0]
        has_text = "\n" in p.get("License", "")
        if not name:
            problems.append(f"Files: {p['Files']}: no License")
        elif not has_text and name not in standalone:
            problems.append(f"Files: {p['Files']}: License {name} has no text here and no standalone License paragraph")

    by_identity = {p["Files"][len(PACKAGE_FILES):]: p for p in files if p["Files"].startswith(PACKAGE_FILES)}
    for identity, (name, version) in sorted(dependencies.items()):
        p = by_identity.get(identity)
        where = f"package {identity} {version}"
        if p is None:
            problems.append(f"{where}: no paragraph 'Files: {PACKAGE_FILES}{identity}' (add its copyright, licence and NOTICE)")
            continue
        comment = p.get("Comment", "")
        if not comment.startswith(f"{name} {version} "):
            problems.append(f"{where}: its Comment must start '{name} {version} ', it starts {comment.split(chr(10))[0]!r}")
        folder = os.path.join(checkouts, name if os.path.isdir(os.path.join(checkouts, name)) else identity)
        licence = license_of(folder)
        if p.get("License", "").split("\n")[0] != licence:
            problems.append(f"{where}: License is {p.get('License', '').split(chr(10))[0]!r}, its LICENSE file is {licence}")
        notice = os.path.join(folder, "NOTICE.txt")
        if os.path.exists(notice):
            body = squeeze(comment)
            for line in open(notice, encoding="utf-8", errors="replace").read().split("\n"):
                if line.strip() and squeeze(line) not in body:
                    problems.append(f"{where}: its NOTICE.txt line {line.strip()!r} is not in the paragraph's Comment")
                    break
    for identity in sorted(set(by_identity) - set(dependencies)):
        problems.append(f"Files: {PACKAGE_FILES}{identity}: the build resolves no such package (remove the paragraph)")
    return problems


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    copyright_path, dependencies_path, checkouts = sys.argv[1:]
    dependencies = resolved(json.load(open(dependencies_path)))
    problems = check(open(copyright_path, encoding="utf-8").read(), dependencies, checkouts)
    for problem in problems:
        print(f"{copyright_path}: {problem}")
    if problems:
        sys.exit(1)
    print(f"{copyright_path}: {len(dependencies)} packages, each at its resolved version with its licence and NOTICE")


if __name__ == "__main__":
    main()
