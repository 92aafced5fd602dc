#!/usr/bin/env python3
"""Lists Rust functions longer than a limit (default 100 lines) outside tests.

A function's length is counted from its `fn` line to its closing brace. Test code is skipped:
files under tests/ and benches/, and `#[cfg(test)] mod ... { }` blocks. The scan is lexical
(strings, chars and comments are skipped while matching braces), which is exact enough for this
workspace's code; it is a house rule checker, not a parser.

Usage: scripts/long-functions.py [--limit N] [--all] [ROOT]
Exit status 1 when a function is over the limit (unless --all, which only lists lengths).
"""
import argparse
import os
import re
import sys

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z_][A-Za-z0-9_]*)")


def strip(text):
    """The source with comments, strings and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(\\.|\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    with open(path, encoding="utf-8") as f:
        text = strip(f.read())
    lines = text.split("\n")
    skip_until = -1
    i = 0
    while i < len(lines):
        line = lines[i]
        if i > skip_until and re.match(r"^\s*#\[cfg\(test\)\]", line):
            # skip the following item (a test module) to its closing brace
            j, depth, opened = i + 1, 0, False
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                opened = opened or "{" in lines[j]
                if opened and depth <= 0:
                    break
                if not opened and lines[j].rstrip().endswith(";"):
                    break
                j += 1
            i = j + 1
            continue
        m = FN.match(line)
        if m:
            depth, opened, j = 0, False, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                if "{" in lines[j]:
                    opened = True
                if not opened and lines[j].rstrip().endswith(";"):
                    break  # a declaration without a body
                if opened and depth <= 0:
                    yield m.group(7), i + 1, j - i + 1
                    break
                j += 1
        i += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("root", nargs="?", default="crates")
    a = ap.parse_args()
    found = []
    for base, dirs, files in os.walk(a.root):
        dirs[:] = [d for d in dirs if d not in ("tests", "benches", "target")]
        for f in files:
            if f.endswith(".rs") and f != "tests.rs":
                p = os.path.join(base, f)
                for name, line, length in functions(p):
                    found.append((length, f"{p}:{line}", name))
    found.sort(reverse=True)
    over = [x for x in found if x[0] > a.limit]
    for length, where, name in (found[:20] if a.all else over):
        print(f"{length:5} {where} {name}")
    if not a.all:
        print(f"{len(over)} function(s) over {a.limit} lines; longest {found[0][0] if found else 0}", file=sys.stderr)
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
