#!/usr/bin/env python3
"""The layering guard: which folder may include which (docs/architecture.md, "Layers").

Two rules over every `#include "..."` of the project's own C++ (not of tests and their support
headers, which may use any layer they test; not of generated code):
1. No include cycle between folders (`runtime/engine` -> `runtime/state` -> `runtime/engine` is
   one): a folder's code can be read, built and tested without the folders above it.
2. `runtime/` includes nothing of `compiler/` except the folders the runtime is allowed to
   share with it (ALLOWED below: the rule plan, the value core and the support code).

A break fails with the file and the line. (While issue 10's rule plan paid the breaks off, they
were listed in scripts/layering-debt.txt, a list that could only shrink; it is empty and gone,
and nothing may be let through any more.)

usage: scripts/check-layering.py
exit: 0 clean; 1 a rule broken.
"""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPS = ("compiler", "runtime", "cli", "stdlib", "bench")
# What runtime/ may include of compiler/: the rule plan, the value core below both halves, and the
# dependency-free support code (decimals, time).
ALLOWED = ("compiler/plan/", "compiler/core/", "compiler/support/")
TEST = re.compile(r"_test\.cpp$|^test_|_test_support\.h$")


def folder(path):
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def includes():
    """[(file, line number, included path)] for every project include."""
    out = []
    for top in TOPS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith((".h", ".cpp", ".def")) or TEST.search(f):
                    continue
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, ROOT)
                for n, line in enumerate(open(full, errors="replace"), 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    inc = m.group(1)
                    if not os.path.exists(os.path.join(ROOT, inc)):
                        # Relative to the file, or generated: not a cross-folder edge of ours.
                        inc = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
                        if not os.path.exists(os.path.join(ROOT, inc)):
                            continue
                    out.append((rel, n, inc))
    return out


def cycles(edges):
    """The strongly connected components of more than one folder (Tarjan)."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, comps = {}, {}, [], set(), []
    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def main():
    incs = includes()
    broken = {}  # "file -> include": "why" at the first place it stands
    for f, n, inc in incs:
        if f.startswith("runtime/") and inc.startswith("compiler/") and not inc.startswith(ALLOWED):
            broken.setdefault(f"{f} -> {inc}", f"{f}:{n}: the runtime includes {inc} of the compiler "
                              f"(only {', '.join(ALLOWED)} are shared with it)")
    edges = {(folder(f), folder(inc)) for f, _, inc in incs if folder(f) != folder(inc)}
    for comp in cycles(edges):
        inside = set(comp)
        for f, n, inc in incs:
            if folder(f) in inside and folder(inc) in inside and folder(f) != folder(inc):
                broken.setdefault(f"{f} -> {inc}", f"{f}:{n}: includes {inc}, closing the folder "
                                  f"cycle {' <-> '.join(comp)}")
    for k, why in sorted(broken.items()):
        print(f"check-layering: error: {why}")
    if broken:
        return 1
    print(f"check-layering: {len(incs)} includes, no folder cycle and no runtime -> compiler include "
          f"beyond {', '.join(ALLOWED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
