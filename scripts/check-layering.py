#!/usr/bin/env python3
"""The layering guard: which folder may include which (docs/architecture.md, "Layers").

Two rules over every `#include "..."` of the project's own C++ (not of generated code):
1. No include cycle between folders (`runtime/engine` -> `runtime/state` -> `runtime/engine` is
   one): a folder's code can be read, built and tested without the folders above it.
2. `runtime/` reaches nothing of `compiler/` except the folders the runtime shares with it
   (ALLOWED below: the rule plan, the value core, the support code and the source locations),
   through any chain of includes: a runtime file that includes an allowed header which includes
   the AST breaks the rule as much as one that includes the AST itself. The plan's builder
   (compiler/plan/build.h) reads the AST and sema, so it is out of the runtime's reach this way.

The one exemption is narrow and by file name (EXEMPT): unit tests (`*_test.cpp`) and their
support headers (`test_*.h`, such as runtime/ingest/test_model.h, and `*_test_support.h`) may
reach any layer they test, and their includes make no folder cycle. A non-test runtime file that
includes a test-support header is followed through it like any other.

A break fails with the chain, each step as file:line: `runtime/a.cpp:3 -> compiler/plan/plan.h:18
-> compiler/ast/ast.h`. (While issue 10's rule plan paid the breaks off, they were listed in
scripts/layering-debt.txt, a list that could only shrink; it is empty and gone, and nothing may be
let through any more.)

usage: scripts/check-layering.py [--root DIR]   (DIR: the tree to check, the repository by default)
exit: 0 clean; 1 a rule broken; 2 usage.
"""
import collections, os, re, sys

TOPS = ("compiler", "runtime", "cli", "stdlib", "bench")
# What runtime/ may reach of compiler/: the rule plan's data, the value core below both halves,
# the dependency-free support code (decimals, time) and the source locations (compiler/source:
# `Loc` and the file table, plain data that includes nothing of the project).
ALLOWED = ("compiler/plan/", "compiler/core/", "compiler/support/", "compiler/source/")
EXEMPT = re.compile(r"_test\.cpp$|^test_[^/]*\.h$|_test_support\.h$")
INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"')


def folder(path):
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def exempt(path):
    return EXEMPT.search(os.path.basename(path)) is not None


def forbidden(path):
    return path.startswith("compiler/") and not path.startswith(ALLOWED)


def includes(root):
    """{file: [(line number, included path)]} for every project file, tests included."""
    out = {}
    for top in TOPS:
        for dirpath, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith((".h", ".cpp", ".def")):
                    continue
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                edges = out.setdefault(rel, [])
                with open(full, errors="replace") as text:
                    for n, line in enumerate(text, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        inc = m.group(1)
                        if not os.path.isfile(os.path.join(root, inc)):
                            # Relative to the file, or generated: not a cross-folder edge of ours.
                            inc = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
                            if not os.path.isfile(os.path.join(root, inc)):
                                continue
                        edges.append((n, inc.replace(os.sep, "/")))
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


def chain_to_front_end(start, incs):
    """The shortest include chain from `start` to a forbidden header, as [(file, line)] ending
    with (header, None); None when there is none. Breadth first, includes in line order."""
    prev = {start: None}
    queue = collections.deque([start])
    while queue:
        f = queue.popleft()
        for n, inc in incs.get(f, ()):
            if inc in prev:
                continue
            prev[inc] = (f, n)
            if forbidden(inc):
                steps, at = [(inc, None)], inc
                while prev[at] is not None:
                    at, line = prev[at]
                    steps.append((at, line))
                return steps[::-1]
            queue.append(inc)
    return None


def show(chain):
    return " -> ".join(f if n is None else f"{f}:{n}" for f, n in chain)


def check(root):
    incs = includes(root)
    errors = []
    # Rule 2: every runtime file that is not a test, through any chain. A file whose chain goes
    # on through another runtime file that breaks the rule is counted there, not repeated.
    chains = {f: chain_to_front_end(f, incs) for f in sorted(incs)
              if f.startswith("runtime/") and not exempt(f)}
    def first(f):  # the runtime file where f's chain leaves the runtime's own breaking files
        while chains.get(chains[f][1][0]) is not None:
            f = chains[f][1][0]
        return f
    through = collections.Counter(first(f) for f, chain in chains.items() if chain is not None)
    for f, n in sorted(through.items()):
        chain = chains[f]
        more = f" (and {n - 1} runtime file(s) through it)" if n > 1 else ""
        errors.append(f"{f}:{chain[0][1]}: the runtime reaches {chain[-1][0]} of the compiler "
                      f"(only {', '.join(ALLOWED)} are shared with it): {show(chain)}{more}")
    # Rule 1: folder cycles, over the includes of everything but tests.
    direct = [(f, n, inc) for f in sorted(incs) if not exempt(f) for n, inc in incs[f]]
    edges = {(folder(f), folder(inc)) for f, _, inc in direct if folder(f) != folder(inc)}
    for comp in cycles(edges):
        inside = set(comp)
        for f, n, inc in direct:
            if folder(f) in inside and folder(inc) in inside and folder(f) != folder(inc):
                errors.append(f"{f}:{n}: includes {inc}, closing the folder cycle "
                              f"{' <-> '.join(comp)}")
    return errors, sum(len(v) for v in incs.values())


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if len(argv) == 3 and argv[1] == "--root":
        root = argv[2]
    elif len(argv) != 1:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    errors, count = check(root)
    for e in errors:
        print(f"check-layering: error: {e}")
    if errors:
        return 1
    print(f"check-layering: {count} includes, no folder cycle, and no runtime file reaches "
          f"compiler/ beyond {', '.join(ALLOWED)} through any chain of includes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
