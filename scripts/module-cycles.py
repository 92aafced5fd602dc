#!/usr/bin/env python3
"""Finds import circles between the top-level modules of each crate (house rule: none).

A module's imports are the `crate::NAME` paths in its files outside `#[cfg(test)]`; a circle is a
strongly connected set of two or more modules. Exit status 1 when one exists.

Usage: scripts/module-cycles.py [CRATES_DIR]
"""
import os
import re
import sys


def modules(src):
    mods = {}
    for base, _dirs, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(base, f)
            top = os.path.relpath(path, src).split(os.sep)[0].removesuffix(".rs")
            if top in ("lib", "main"):
                continue
            with open(path, encoding="utf-8") as fh:
                text = fh.read().split("#[cfg(test)]")[0]
            mods.setdefault(top, set()).update(d for d in re.findall(r"crate::(\w+)", text) if d != top)
    return {m: {d for d in deps if d in mods} for m, deps in mods.items()}


def circles(graph):
    """Tarjan's strongly connected components, those of two or more modules."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "crates"
    found = False
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        if not os.path.isdir(src):
            continue
        for c in circles(modules(src)):
            found = True
            print(f"{crate}: modules import each other: {' <-> '.join(c)}")
    if not found:
        print("no import circles between modules", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
