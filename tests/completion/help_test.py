#!/usr/bin/env python3
"""Every command's --help ends with one example and its exit codes (cli/help.cpp), and the man
page made from them at build time (build/trig.1, cli/man_page.py) has every command.

usage: help_test.py TRIG MANPAGE
"""
import os, re, shutil, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "cli"))
import man_page  # noqa: E402  (walks the commands the way the man page does)

trig = os.path.abspath(sys.argv[1])
manpage = sys.argv[2]


paths = man_page.command_tree(trig)
check("commands found", len(paths) > 10, [p for p, _, _ in paths])
for path, rc, text in paths:
    name = " ".join(["trig"] + path)
    check(f"{name} --help: exit 0", rc == 0, rc)
    example = re.search(r"\nExample:\n  (.+)\n", text)
    check(f"{name} --help: one example", example is not None and text.count("Example:") == 1,
          text)
    if example and path:
        check(f"{name} --help: the example runs this command",
              (name + " ") in example.group(1) or example.group(1).endswith(name),
              example.group(1))
    codes = re.search(r"\nExit status:\n((?:  \d  .+\n?)+)", text)
    check(f"{name} --help: exit codes", codes is not None, text)
    if codes:
        numbers = re.findall(r"(?m)^  (\d)  ", codes.group(1))
        check(f"{name} --help: 0 and 2 always, in order", numbers in (["0", "1", "2"], ["0", "2"]),
              numbers)
        check(f"{name} --help: the help ends with them", text.rstrip().endswith(
            codes.group(1).rstrip()), text[-300:])

if shutil.which("help2man") is None:
    print("skip the man page: help2man is not installed (apt-get install help2man)")
else:
    check("the man page was built", os.path.isfile(manpage), manpage)
    page = open(manpage, encoding="utf-8").read() if os.path.isfile(manpage) else ""
    check("man page: NAME", ".SH NAME" in page and "trig \\- compile" in page, page[:500])
    for path, _, _ in paths:
        if path:
            check(f"man page: trig {' '.join(path)}", f'.SS "trig {" ".join(path)}"' in page)
    check("man page: exit codes", "Exit status:" in page)
    check("man page: usage lines say `trig`, not the build's path",
          "Usage: trig check" in page and trig not in page, page[:2000])
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", manpage], capture_output=True,
                           text=True)
        check("man page: groff reads it without warnings", r.returncode == 0 and
              r.stderr.strip() == "", r.stderr)
    else:
        print("skip groff: not installed")

sys.exit(finish())
