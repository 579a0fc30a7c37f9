#!/usr/bin/env python3
"""docs/guide.md never goes stale: its blocks are run.

- ```trig FILE``` and ```jsonl FILE``` blocks are written (in order, appended) to FILE in a
  temporary directory; every .trig file must pass `trig check` and `trig test` with at least one
  test and none failing.
- ```console``` blocks hold one `$ trig ...` command and its output: the command is run there and
  its standard output must be the block's text exactly; the exit code must be 0, or 1 when the
  output shows a suppression (the preview of missing data).

With --update, the console blocks are rewritten with what trig prints now (review the diff).

usage: guide_test.py TRIG GUIDE [--update]
"""
import os, re, shlex, subprocess, sys, tempfile

trig = os.path.abspath(sys.argv[1])
guide = os.path.abspath(sys.argv[2])
update = "--update" in sys.argv[3:]
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {str(detail)[:3000]}")


text = open(guide, encoding="utf-8").read()
fence = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.M | re.S)
files, consoles = {}, []
for m in fence.finditer(text):
    info = m.group(1).split()
    if len(info) == 2 and info[0] in ("trig", "jsonl"):
        files[info[1]] = files.get(info[1], "") + m.group(2) + "\n"
    elif info == ["console"]:
        consoles.append(m)
    else:
        check(f"a block the test knows at offset {m.start()}", not info or info[0] in (
            "text", "sh"), m.group(1))
check("the guide has rule files", any(n.endswith(".trig") for n in files), list(files))
check("the guide has previews", len(consoles) >= 6, len(consoles))

tmp = tempfile.mkdtemp()
for name, content in files.items():
    with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
        f.write(content)


def run(args):
    return subprocess.run([trig] + args, capture_output=True, text=True, cwd=tmp, timeout=120)


for name in sorted(files):
    if not name.endswith(".trig"):
        continue
    r = run(["check", name])
    check(f"{name}: trig check", r.returncode == 0, r.stdout + r.stderr)
    r = run(["test", name])
    m = re.search(r"(\d+) passed, (\d+) failed", r.stdout + r.stderr)
    check(f"{name}: trig test", r.returncode == 0 and m and int(m.group(1)) > 0 and
          m.group(2) == "0", r.stdout + r.stderr)

replacements = []
for m in consoles:
    lines = m.group(2).split("\n")
    command, expected = lines[0], "\n".join(lines[1:])
    if not command.startswith("$ trig "):
        check(f"console block runs trig: {command}", False, command)
        continue
    r = run(shlex.split(command[len("$ trig "):]))
    suppressed = "\nsuppressed  " in r.stdout
    ok_code = r.returncode == (1 if suppressed else 0)
    check(f"{command[2:90]}: exit {r.returncode}", ok_code, r.stderr)
    check(f"{command[2:90]}: output as shown", r.stdout == expected,
          f"\n--- shown\n{expected}--- printed\n{r.stdout}")
    replacements.append((m.start(2), m.end(2), command + "\n" + r.stdout))

if update:
    for start, end, new in reversed(replacements):
        text = text[:start] + new + text[end:]
    with open(guide, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"updated {guide}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed and not update else 0)
