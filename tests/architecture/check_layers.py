#!/usr/bin/env python3
"""Fails when an #include crosses the layers docs/architecture.md allows.

Reads the "Who may use whom" table of docs/architecture.md and every source under common/,
client/, camera_sim/ and tools/; prints one line per include that breaks the table.
Usage: check_layers.py REPO_ROOT
"""
import pathlib
import re
import sys

INCLUDE = re.compile(r'#include\s+"pttcam/([a-z_]+)/')
PROGRAMS = {"client", "camera_sim", "tools"}
PROGRAM_HEADERS = {"client": "client", "camera": "camera_sim"}  # pttcam/<dir>/ -> program


def allowed_table(doc: pathlib.Path) -> dict:
    table = {}
    for line in doc.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("area", "---") or not re.fullmatch(r"[a-z_]+", cells[0]):
            continue
        area, _layer, uses = cells
        table[area] = "any" if uses.startswith("any") else {u.strip() for u in uses.split(",") if u.strip()}
    return table


def owner(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = path.relative_to(root).parts
    return parts[1] if parts[0] == "common" else parts[0]


def main() -> int:
    root = pathlib.Path(sys.argv[1]).resolve()
    table = allowed_table(root / "docs" / "architecture.md")
    areas = {p.name for p in (root / "common").iterdir() if p.is_dir()}
    problems = [f"common/{a}: no row in docs/architecture.md" for a in sorted(areas - table.keys())]
    sources = [p for d in ("common", "client", "camera_sim", "tools") for p in (root / d).rglob("*")
               if p.suffix in (".cpp", ".hpp")]
    for src in sources:
        me = owner(src, root)
        for n, line in enumerate(src.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line.strip())
            if not m:
                continue
            used = PROGRAM_HEADERS.get(m.group(1), m.group(1))
            if used == me:
                continue
            rule = table.get(me)
            ok = used in areas and (rule == "any" or (rule is not None and used in rule))
            if used in PROGRAMS and me in PROGRAMS:
                ok = False
            if not ok:
                problems.append(f"{src.relative_to(root)}:{n}: {me} may not use {used}")
    for p in problems:
        print(p)
    print(f"architecture: {len(sources)} files, {len(table)} rules, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
