#!/usr/bin/env python3
"""The install guard (scripts/check-deps.py) must pass on this build and must fail, naming the
package, when the install script is taken not to name a package the build needs: the ANTLR
runtime's link line needs `-luuid` (uuid-dev), which no package of the list depends on, and the
compiler reads LLVM's headers (llvm-19-dev).

usage: guard_test.py BUILD_DIR   (skipped where there is no dpkg: not a Debian system)
"""
import shutil, subprocess, sys, os

build = sys.argv[1]
guard = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "check-deps.py")
if not shutil.which("dpkg-query"):
    print("skipped: no dpkg-query here (the guard checks Debian packages)")
    sys.exit(0)

failed = 0
def check(args, want_code, want_text):
    global failed
    p = subprocess.run([sys.executable, guard, build] + args, capture_output=True, text=True)
    out = p.stdout + p.stderr
    ok = p.returncode == want_code and want_text in out
    failed += not ok
    print(f"{'ok  ' if ok else 'FAIL'} check-deps {' '.join(args) or '(the script as it is)'}: exit "
          f"{p.returncode} (want {want_code}), output {'mentions' if want_text in out else 'lacks'} {want_text!r}")
    if not ok:
        print(out)

check([], 0, "all from the")
check(["--without", "uuid-dev"], 1, "package 'uuid-dev' is used by the build")
check(["--without", "llvm-19-dev"], 1, "package 'llvm-19-dev' is used by the build")
print(f"{3 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
