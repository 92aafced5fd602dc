#!/usr/bin/env python3
"""Finds import circles between the modules of each crate (house rule: none), at every level.

A module's imports are the paths in its files outside `#[cfg(test)]`: `crate::a::b`, and the
relative `super::x` and `self::x` (with grouped `use super::{x, y::z}` forms), resolved to the
module they name. An import of a module by another counts between the two sibling modules that
contain them under their closest common parent (rules::hold -> rules::session is an edge between
`hold` and `session` inside `rules`; crate::rules -> crate::model one between the top-level
modules). A circle is a strongly connected set of two or more siblings. Exit status 1 when one
exists.

Usage: scripts/module-cycles.py [CRATES_DIR]
"""
import os
import re
import sys


def module_of(src, path):
    """The module path of a source file: src/rules/hold.rs -> ("rules", "hold")."""
    parts = os.path.relpath(path, src).split(os.sep)
    last = parts[-1].removesuffix(".rs")
    parts = parts[:-1] + ([] if last in ("mod", "lib", "main") else [last])
    return tuple(parts)


def expand(prefix, rest):
    """`x::y` or `{x, y::z, w::{a, b}}` after `prefix::` -> every path it names."""
    rest = rest.strip()
    if not rest.startswith("{"):
        name = re.match(r"[\w:]+", rest)
        return [prefix + [p for p in name.group(0).split("::") if p]] if name else []
    depth, item, items = 0, "", []
    for ch in rest[1:]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += ch
    items.append(item)
    out = []
    for it in items:
        it = it.strip()
        if not it or it == "self":
            continue
        head, _, tail = it.partition("::")
        if tail.startswith("{"):
            out.extend(expand(prefix + [head], tail))
        else:
            out.extend(expand(prefix, it))
    return out


PATH = re.compile(r"\b(crate|super|self)((?:::super)*)::(\{[^;]*?\}(?=\s*;)|[\w:]+)")


def references(module, text):
    """The module paths `text` (in `module`) names, absolute."""
    out = []
    for kind, supers, rest in PATH.findall(text):
        if kind == "crate":
            base = []
        else:
            # In a file module, `super` is its parent; in a mod.rs it is the directory's parent
            # too, since the directory is the module itself.
            base = list(module)
            if kind == "super":
                base = base[:-1]
            base = base[: max(0, len(base) - supers.count("super"))]
        out.extend(expand(base, rest))
    return out


def graph(src):
    """Module -> the modules it imports (resolved to the longest known module path)."""
    texts = {}
    for base, _dirs, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(base, f)
                with open(path, encoding="utf-8") as fh:
                    texts[module_of(src, path)] = fh.read().split("#[cfg(test)]")[0]
    modules = set(texts)
    deps = {}
    for module, text in texts.items():
        for ref in references(module, text):
            while ref and tuple(ref) not in modules:
                ref = ref[:-1]
            if ref and tuple(ref) != module:
                deps.setdefault(module, set()).add(tuple(ref))
    return modules, deps


def sibling_edges(deps):
    """Parent -> {child: {sibling it imports}}, for imports between different children."""
    edges = {}
    for a, targets in deps.items():
        for b in targets:
            common = 0
            while common < min(len(a), len(b)) and a[common] == b[common]:
                common += 1
            if common == len(a) or common == len(b):
                continue  # one contains the other: not a circle between siblings
            parent = a[:common]
            edges.setdefault(parent, {}).setdefault(a[common], set()).add(b[common])
    return edges


def circles(g):
    """Tarjan's strongly connected components, those of two or more modules."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = set(g) | {w for ws in g.values() for w in ws}

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
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

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def self_test():
    """The checker must see circles through `super::` paths and grouped imports, at any depth,
    and none between a module and its own parent: checked on a small tree before every run."""
    import tempfile

    files = {
        "lib.rs": "mod rules; mod model;",
        "model.rs": "use crate::rules::Vars;",
        "rules/mod.rs": "mod hold; mod session; pub struct Vars; fn f() { hold::x(); }",
        "rules/hold.rs": "fn a() { super::session::name(1); }",
        "rules/session.rs": "use super::{hold::ended, Vars};",
        "rules/deep/mod.rs": "mod a; mod b;",
        "rules/deep/a.rs": "use super::super::deep::b::x;",
        "rules/deep/b.rs": "use crate::rules::deep::a;\n#[cfg(test)]\nuse super::a::y;",
    }
    with tempfile.TemporaryDirectory() as src:
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
            with open(os.path.join(src, name), "w", encoding="utf-8") as fh:
                fh.write(text)
        _modules, deps = graph(src)
        found = {
            (parent, tuple(c)) for parent, g in sibling_edges(deps).items() for c in circles(g)
        }
    want = {(("rules",), ("hold", "session")), (("rules", "deep"), ("a", "b"))}
    if found != want:
        sys.exit(f"module-cycles.py self-test failed: found {sorted(found)}, want {sorted(want)}")


def main():
    self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else "crates"
    found = False
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        if not os.path.isdir(src):
            continue
        _modules, deps = graph(src)
        for parent, g in sorted(sibling_edges(deps).items()):
            for c in circles(g):
                found = True
                inside = "::".join(parent)
                where = f" (in {inside})" if inside else ""
                print(f"{crate}: modules import each other{where}: {' <-> '.join(c)}")
    if not found:
        print("no import circles between modules", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
