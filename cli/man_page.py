#!/usr/bin/env python3
"""Writes trig's man page with help2man, from trig's own help texts.

help2man turns `trig --help` and `trig --version` into the page; every command's `--help`
(nested commands too, such as `trig log export`) becomes a subsection of COMMANDS, so the page
says exactly what the built binary says. Run by the build (cli/CMakeLists.txt, target `man`).

usage: man_page.py HELP2MAN TRIG OUT
"""
import os, re, subprocess, sys, tempfile

help2man, trig, out = sys.argv[1:4]


def helptext(args):
    r = subprocess.run([trig] + args + ["--help"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, NO_COLOR="1"))
    if r.returncode != 0:
        sys.exit(f"man_page.py: trig {' '.join(args)} --help failed: {r.stderr}")
    return r.stdout


def subcommands(text):
    names, inside = [], False
    for line in text.splitlines():
        if line.strip().upper() == "SUBCOMMANDS:":
            inside = True
        elif inside:
            m = re.match(r"  (\S+)", line)
            if m:
                names.append(m.group(1))
            elif line.strip():
                inside = False
    return names


def roff(text):
    """Text shown as it is (.nf): backslashes escaped, no line read as a request."""
    lines = []
    for line in text.rstrip("\n").split("\n"):
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


sections = []


def walk(path):
    text = helptext(path)
    if path:
        sections.append(f'.SS "trig {" ".join(path)}"\n.nf\n{roff(text)}\n.fi\n')
    for sub in subcommands(text):
        walk(path + [sub])


walk([])
with tempfile.NamedTemporaryFile("w", suffix=".h2m", delete=False) as inc:
    inc.write("[COMMANDS]\nEach command's own --help.\n" + "".join(sections))
    inc.write("[SEE ALSO]\nThe language: docs/language.md; the marketer's guide: docs/guide.md; "
              "the commands: docs/cli.md and README.md, in trig's repository.\n")
try:
    r = subprocess.run([help2man, "--no-info", "--section=1",
                        "--name=compile, check, test and run behavioural email trigger rules",
                        f"--include={inc.name}", f"--output={out}.tmp", trig],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, NO_COLOR="1"))
    if r.returncode != 0:
        sys.exit(f"man_page.py: help2man failed: {r.stderr}")
    os.replace(out + ".tmp", out)
finally:
    os.unlink(inc.name)
