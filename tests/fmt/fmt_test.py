#!/usr/bin/env python3
"""Tests of `trig fmt` (docs/language.md, "Formatting").

usage: fmt_test.py TRIG

Over every .trig file of the repository (examples, golden files, conformance cases, the fuzz
corpus, the standard library) and a generated rule set:
  - a file with syntax errors (those `trig check` reports a syntax error for) is refused: exit 1,
    the diagnostic on stderr, nothing on stdout; `-w` leaves it byte for byte as it was;
  - every other file is formatted, and fmt(fmt(x)) == fmt(x);
  - formatting changes white space only (the text without white space is the same), so every
    comment and string is kept; every comment line of the input is a line of the output;
  - the meaning is kept: `trig compile --emit ast` is the same before and after (source
    locations removed), or for rule sets that do not compile, the same diagnostics;
  - `--check` on a formatted file exits 0 and prints nothing; on an unformatted one it exits 1
    and prints a unified diff that `patch` applies to get the formatted text; `-w` rewrites;
  - a file with its indentation, spacing and blank lines scrambled formats to the same text.
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

TRIG = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 60

failures = []


def fail(what):
    failures.append(what)
    print("FAIL:", what)


def run(args, cwd=None, stdin=None):
    p = subprocess.run([TRIG] + args, cwd=cwd, capture_output=True, timeout=TIMEOUT, input=stdin)
    return p.returncode, p.stdout, p.stderr


def trig_files():
    out = []
    for base in ["examples", "tests", "stdlib", "docs", "bench"]:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, base)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("build"))
            for f in sorted(filenames):
                if f.endswith(".trig"):
                    out.append(os.path.join(dirpath, f))
    return out


LOC = re.compile(rb"[^\s()]*:\d+:\d+")


def ast_or_diags(path, cwd):
    """What the rule set means: the AST dump without locations, or the diagnostics."""
    rc, out, err = run(["compile", path, "--emit", "ast"], cwd=cwd)
    if rc == 0:
        return b"ast\n" + LOC.sub(b"@", out)
    rc, out, _ = run(["check", path, "--format", "json"], cwd=cwd)
    import json
    try:
        diags = json.loads(out)["diagnostics"]
    except Exception:
        return b"unreadable check output: " + out
    return repr(sorted((d["severity"], d["kind"], re.sub(r"\d+", "N", d["message"]))
                       for d in diags)).encode()


# Errors found while reading the text (what fmt refuses), and those among them that only the
# parser can find (a file fmt formats never has these).
READING = {"syntax-error", "unterminated-string", "bad-escape", "bad-number", "bad-duration",
           "bad-timestamp", "bad-template-expression", "invalid-utf8", "nesting-too-deep",
           "non-positive-duration", "bad-limit", "bad-setting", "bad-test",
           "bad-template-declaration", "duplicate-declaration"}
GRAMMAR = {"syntax-error", "unterminated-string", "invalid-utf8", "nesting-too-deep"}


def error_kinds(path):
    rc, out, _ = run(["check", path, "--format", "json"])
    import json
    try:
        diags = json.loads(out)["diagnostics"]
    except Exception:
        return {"unreadable"}
    return {d["kind"] for d in diags if d["severity"] == "error"}


def no_space(b):
    if b.startswith(b"\xef\xbb\xbf"):
        b = b[3:]
    return re.sub(rb"\s+", b"", b)


def comment_lines(b):
    return [l.strip() for l in b.decode("utf-8", "replace").split("\n")
            if l.strip().startswith(("#", "//"))]


def scramble(text, rnd):
    """The same tokens and lines with other white space: indentation, spaces, tabs, more blank
    lines where there was one."""
    out = []
    for line in text.split("\n"):
        s = line.strip()
        if not s:
            out.extend(rnd.choice(["", " ", "\t"]) for _ in range(rnd.randint(1, 3)))
            continue
        if '"' not in s and "#" not in s and "//" not in s:
            s = re.sub(r"\s+", lambda _: rnd.choice([" ", "  ", "\t", "   "]), s)
            s = re.sub(r"([,(\[\])])", lambda m: rnd.choice(["", " "]) + m.group(1) +
                       rnd.choice(["", " "]), s)
        out.append(rnd.choice(["", " ", "    ", "\t", "      "]) + s +
                   rnd.choice(["", " ", "\t"]))
    return "\n".join(out)


def check_file(path, tmp, rnd, stats):
    name = os.path.relpath(path, ROOT)
    original = open(path, "rb").read()
    rc, out, err = run(["fmt", path])
    kinds = error_kinds(path)
    if rc != 0:
        stats["refused"] += 1
        if not kinds & (READING | {"unreadable"}):
            fail("%s: refused (exit %d) but trig check reports no syntax error: %s" %
                 (name, rc, err.decode(errors="replace")[:300]))
        if rc != 1 or b"error" not in err or out:
            fail("%s: refused with exit %d, stderr %r, stdout %r" % (name, rc, err[:200], out[:200]))
        # -w leaves it alone.
        copy = os.path.join(tmp, "refused.trig")
        shutil.copyfile(path, copy)
        rc2, _, err2 = run(["fmt", "-w", copy])
        if rc2 != 1 or open(copy, "rb").read() != original or b"error" not in err2:
            fail("%s: fmt -w on a file with syntax errors: exit %d, or the file changed" % (name, rc2))
        rc3, out3, _ = run(["fmt", "--check", copy])
        if rc3 != 1 or out3:
            fail("%s: fmt --check on a file with syntax errors: exit %d, stdout %r" % (name, rc3, out3[:100]))
        return
    stats["formatted"] += 1
    if kinds & (GRAMMAR | {"unreadable"}):
        fail("%s: trig check reports %r but fmt formatted it" % (name, sorted(kinds & GRAMMAR)))
    formatted = out
    if formatted != original:
        stats["changed"] += 1
    if no_space(formatted) != no_space(original):
        fail("%s: formatting changed more than white space" % name)
    # Every line keeps its tokens and comment: the non-blank lines correspond one to one.
    def lines(b):
        if b.startswith(b"\xef\xbb\xbf"):
            b = b[3:]
        return [no_space(l) for l in b.split(b"\n") if l.strip()]
    if lines(formatted) != lines(original):
        fail("%s: a line's tokens or comment moved to another line" % name)
    missing = set(comment_lines(original)) - set(comment_lines(formatted))
    if missing:
        fail("%s: comment lines lost: %r" % (name, sorted(missing)[:3]))
    if not formatted.endswith(b"\n") and formatted:
        fail("%s: output does not end with a line break" % name)
    for line in formatted.split(b"\n"):
        if line != line.rstrip():
            fail("%s: trailing white space in %r" % (name, line))
            break
    # Idempotence, --check, -w.
    once = os.path.join(tmp, "once.trig")
    open(once, "wb").write(formatted)
    rc, twice, err = run(["fmt", once])
    if rc != 0 or twice != formatted:
        fail("%s: not idempotent (exit %d)\n%s" % (name, rc, err.decode(errors="replace")[:300]))
    rc, out, err = run(["fmt", "--check", once])
    if rc != 0 or out or err:
        fail("%s: --check on the formatted text: exit %d, output %r" % (name, rc, (out + err)[:200]))
    if formatted != original:
        copy = os.path.join(tmp, "orig.trig")
        shutil.copyfile(path, copy)
        rc, diff, err = run(["fmt", "--check", copy])
        if rc != 1 or not diff.startswith(b"--- a/") or b"\n@@ " not in diff:
            fail("%s: --check on an unformatted file: exit %d, output %r" % (name, rc, diff[:200]))
        elif open(copy, "rb").read() != original:
            fail("%s: --check changed the file" % name)
        else:
            p = subprocess.run(["patch", "-s", "-o", os.path.join(tmp, "patched.trig"), copy],
                               input=diff, capture_output=True, timeout=TIMEOUT)
            got = open(os.path.join(tmp, "patched.trig"), "rb").read() if p.returncode == 0 else None
            if got != formatted and not original.startswith(b"\xef\xbb\xbf"):
                fail("%s: the --check diff does not patch the file into the formatted text: %s" %
                     (name, p.stderr.decode(errors="replace")[:200]))
        rc, out, err = run(["fmt", "-w", copy])
        if rc != 0 or out or open(copy, "rb").read() != formatted:
            fail("%s: -w did not rewrite the file into the formatted text (exit %d)" % (name, rc))
    # Scrambled white space formats the same (files without a BOM or odd bytes).
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not text.startswith("\ufeff") and "\r" not in text:
        for k in range(2):
            s = os.path.join(tmp, "scrambled.trig")
            open(s, "w").write(scramble(text, rnd))
            rc, out, err = run(["fmt", s])
            if rc != 0 or out != formatted:
                fail("%s: scrambled copy %d formats differently (exit %d)" % (name, k, rc))
                break
            stats["scrambled"] += 1


def check_meaning(files, tmp, stats):
    """Per directory: a copy as it is and a copy formatted with -w; the same meaning file by file."""
    by_dir = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(f), []).append(f)
    for d, fs in sorted(by_dir.items()):
        a = os.path.join(tmp, "a")
        b = os.path.join(tmp, "b")
        for x in (a, b):
            shutil.rmtree(x, ignore_errors=True)
            shutil.copytree(d, x, symlinks=True,
                            ignore=lambda _d, names: [n for n in names if n.startswith("build")])
        names = [os.path.basename(f) for f in fs]
        rc, _, _ = run(["fmt", "-w"] + names, cwd=b)  # refused files stay as they are
        for n in names:
            before = ast_or_diags(n, a)
            after = ast_or_diags(n, b)
            stats["meaning"] += 1
            if before != after:
                fail("%s: the meaning changed:\n%s\n----\n%s" %
                     (os.path.relpath(os.path.join(d, n), ROOT), before[:600], after[:600]))


def main():
    rnd = random.Random(14)
    stats = {"formatted": 0, "refused": 0, "changed": 0, "scrambled": 0, "meaning": 0}
    files = trig_files()
    with tempfile.TemporaryDirectory() as tmp:
        gen = os.path.join(tmp, "gen")
        os.mkdir(gen)
        g = subprocess.run([sys.executable, os.path.join(ROOT, "bench/check_bench/gen_rules.py"),
                            "300"], capture_output=True, timeout=TIMEOUT)
        if g.returncode != 0:
            fail("the generator failed")
        else:
            open(os.path.join(gen, "generated.trig"), "wb").write(g.stdout)
            files.append(os.path.join(gen, "generated.trig"))
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        for f in files:
            check_file(f, work, rnd, stats)
        check_meaning(files, os.path.join(tmp, "meaning"), stats)
        os.makedirs(os.path.join(tmp, "meaning"), exist_ok=True)

        # Several files: printed one after the other; a directory is every file under it.
        ex = os.path.join(ROOT, "examples", "cart_abandonment")
        rc, out, _ = run(["fmt", ex])
        parts = [run(["fmt", p])[1] for p in sorted(
            os.path.join(ex, n) for n in os.listdir(ex) if n.endswith(".trig"))]
        if rc != 0 or out != b"".join(parts):
            fail("fmt DIR is not the files under it one after the other")
        # --check and -w together are a usage error; a missing file is an I/O error.
        rc, _, _ = run(["fmt", "--check", "-w", os.path.join(ex, "rules.trig")])
        if rc != 2:
            fail("--check -w: exit %d, not 2" % rc)
        rc, _, err = run(["fmt", os.path.join(tmp, "missing.trig")])
        if rc == 0 or not err:
            fail("a missing file: exit %d" % rc)

    if stats["formatted"] < 150 or stats["refused"] < 5 or stats["changed"] < 5:
        fail("too few files exercised: %r" % stats)
    print("fmt: %(formatted)d files formatted (%(changed)d changed), %(refused)d refused, "
          "%(scrambled)d scrambled copies, %(meaning)d meaning comparisons" % stats)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
