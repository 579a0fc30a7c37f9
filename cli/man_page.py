#!/usr/bin/env python3
"""Writes trig's man page with help2man, from trig's own help texts.

help2man turns `trig --help` and `trig --version` into the page; every command's `--help`
(nested commands too, such as `trig log export`) becomes a subsection of COMMANDS, so the page
says exactly what the built binary says. Run by the build (cli/CMakeLists.txt, target `man`).

usage: man_page.py HELP2MAN TRIG OUT
"""
import os, re, subprocess, sys, tempfile


def helptext(trig, args):
    """(exit status, text) of `trig ARGS --help`, run as `trig` (usage lines name the program by
    how it was started, and the page must not show the build directory)."""
    r = subprocess.run(["trig"] + args + ["--help"], executable=trig, capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, NO_COLOR="1"))
    return r.returncode, r.stdout


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


def command_tree(trig):
    """Every command, nested ones too, as (path, exit status of its --help, the help text)."""
    found = []

    def walk(path):
        rc, text = helptext(trig, path)
        found.append((path, rc, text))
        for sub in subcommands(text):
            walk(path + [sub])

    walk([])
    return found


def main(help2man, trig, out):
    sections = []
    for path, rc, text in command_tree(trig):
        if rc != 0:
            sys.exit(f"man_page.py: trig {' '.join(path)} --help failed")
        if path:
            sections.append(f'.SS "trig {" ".join(path)}"\n.nf\n{roff(text)}\n.fi\n')
    write_page(help2man, trig, out, sections)


def write_page(help2man, trig, out, sections):
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


if __name__ == "__main__":
    main(*sys.argv[1:4])
