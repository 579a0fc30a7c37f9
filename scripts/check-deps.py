#!/usr/bin/env python3
"""The install guard: every file a build reads from the system must come from a Debian package
that scripts/install-deps.sh installs, named there or pulled in as a dependency of one named there.

A development machine or CI machine where someone once installed a package by hand builds fine
while a fresh machine does not; this check sees that on the machine that has the package. It reads
the build's own record of its inputs (Ninja's dependency log: every header each object included;
Ninja's commands: every tool run and every library linked, `-lNAME` resolved as the linker does),
maps each file outside the source and build trees to the package that owns it (dpkg's file
lists), and checks that package against the closure of the install script's list over the
installed packages' Depends and Pre-Depends (Essential packages count as present: every Debian
system has them). A file no package owns (/usr/local, a hand-built library) is an error too.

usage: scripts/check-deps.py BUILD_DIR... [--without PKG]...   (--without: pretend the install
       script does not name PKG; the guard's own test uses it to see that a missing package fails)
exit: 0 every input accounted for; 1 inputs from packages the script does not install; 2 usage.
"""
import glob, os, re, shlex, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def die(msg):
    print(f"check-deps: {msg}", file=sys.stderr)
    sys.exit(2)


def named_packages():
    out = subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh"), "--list"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def installed_graph():
    """{package: [alternative groups of dependency names]}, {virtual name: providers}, essentials."""
    fmt = "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Provides}\t${Depends}, ${Pre-Depends}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
    deps, provides, essential = {}, {}, set()
    strip = lambda s: re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", s).strip().split(":")[0]
    for line in out.splitlines():
        name, status, ess, prov, dep = line.split("\t")
        if not status.startswith("ii"):
            continue
        deps[name] = [[strip(a) for a in group.split("|") if strip(a)]
                      for group in dep.split(",") if group.strip()]
        for p in prov.split(","):
            if strip(p):
                provides.setdefault(strip(p), set()).add(name)
        if ess == "yes":
            essential.add(name)
    return deps, provides, essential


def closure(roots, deps, provides):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for group in deps.get(p, []):
            # Every installed alternative counts: apt may have chosen any of them.
            for alt in group:
                for q in ({alt} if alt in deps else set()) | provides.get(alt, set()):
                    todo.append(q)
    return seen


def owners():
    own = {}
    for lst in glob.glob("/var/lib/dpkg/info/*.list"):
        pkg = os.path.basename(lst)[:-5].split(":")[0]
        with open(lst, errors="replace") as f:
            for path in f:
                own.setdefault(path.rstrip("\n"), pkg)
    return own


def owner_of(path, own):
    # /lib is /usr/lib on a merged-/usr system, and dpkg records whichever the package shipped;
    # alternatives and versioned links resolve to the file a package really ships.
    real = os.path.realpath(path)
    for p in (path, real):
        for q in (p, re.sub(r"^/usr/", "/", p), "/usr" + p):
            if q in own:
                return own[q]
    return None


def linker_dirs(compiler):
    out = subprocess.run([compiler, "-print-search-dirs"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("libraries: ="):
            return [d for d in line.split("=", 1)[1].split(":") if d]
    return []


def build_inputs(build):
    """{system file: what used it} from Ninja's dependency log and command lines."""
    inputs = {}
    trees = (ROOT + os.sep, os.path.abspath(build) + os.sep)
    def add(path, user):
        path = os.path.normpath(path)
        if not path.startswith(trees) and os.path.isfile(path):
            inputs.setdefault(path, user)
    deps = subprocess.run(["ninja", "-C", build, "-t", "deps"], capture_output=True, text=True, check=True).stdout
    target = None
    for line in deps.splitlines():
        if line and not line.startswith(" "):
            target = line.split(":")[0]
        elif line.strip():
            add(line.strip(), f"compiling {target}")
    # The tools CMake chose for the build and the scripted tests.
    for line in open(os.path.join(build, "CMakeCache.txt"), errors="replace"):
        m = re.match(r"(CMAKE_MAKE_PROGRAM|CMAKE_CXX_COMPILER|CMAKE_C_COMPILER|_Python3_EXECUTABLE):\w+=(/.*)", line)
        if m:
            add(m.group(2).strip(), f"{m.group(1).lstrip('_')} of the build")
    cmds = subprocess.run(["ninja", "-C", build, "-t", "commands"], capture_output=True, text=True, check=True).stdout
    dirs = None
    for cmd in cmds.splitlines():
        try:
            words = shlex.split(cmd)
        except ValueError:
            continue
        out = words[words.index("-o") + 1] if "-o" in words[:-1] else words[-1]
        user = f"building {out}"
        for i, w in enumerate(words):
            if w.startswith("/"):
                add(w, user)
            elif w.startswith("-l") and len(w) > 2 and ("-o" in words):
                if dirs is None:
                    dirs = linker_dirs(next(x for x in words if x.startswith("/") and os.access(x, os.X_OK)))
                for d in dirs:
                    hit = next((os.path.join(d, f"lib{w[2:]}{ext}") for ext in (".so", ".a")
                                if os.path.exists(os.path.join(d, f"lib{w[2:]}{ext}"))), None)
                    if hit:
                        add(hit, f"{user} ({w})")
                        break
                else:
                    print(f"check-deps: {user}: {w}: no such library in the linker's search path")
    return inputs


def main():
    args = sys.argv[1:]
    without, builds = set(), []
    while args:
        a = args.pop(0)
        if a == "--without" and args:
            without.add(args.pop(0))
        elif a.startswith("-"):
            die(f"unknown option {a}\n{__doc__}")
        else:
            builds.append(a)
    if not builds:
        die("usage: scripts/check-deps.py BUILD_DIR... [--without PKG]...")
    for b in builds:
        if not os.path.exists(os.path.join(b, "build.ninja")):
            die(f"{b}: not a configured build (no build.ninja); build first")
    named = named_packages() - without
    deps, provides, essential = installed_graph()
    have = closure(named | essential, deps, provides)
    own = owners()
    missing, unowned, total = {}, {}, 0
    for b in builds:
        for path, user in sorted(build_inputs(b).items()):
            total += 1
            pkg = owner_of(path, own)
            if pkg is None:
                unowned.setdefault(path, user)
            elif pkg not in have:
                missing.setdefault(pkg, (path, user))
    for pkg, (path, user) in sorted(missing.items()):
        print(f"check-deps: error: package '{pkg}' is used by the build but not installed by "
              f"scripts/install-deps.sh: {path} ({user}); add '{pkg}' to its PACKAGES")
    for path, user in sorted(unowned.items()):
        print(f"check-deps: error: {path} ({user}) belongs to no Debian package: install it from "
              f"a package named in scripts/install-deps.sh instead")
    if missing or unowned:
        return 1
    print(f"check-deps: {total} system files read by {', '.join(builds)}, all from the "
          f"{len(named)} packages of scripts/install-deps.sh and their dependencies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
