#!/usr/bin/env python3
"""`trig completion bash|zsh` (docs/cli.md, "Shell completion").

The bash script is sourced in `bash -c`, and its completion function is called the way bash
calls it (COMP_WORDS, COMP_CWORD), for subcommands, nested subcommands, options, option values
and file names. What it must offer comes from trig's own help (`trig --help`, `trig CMD
--help`), so a command or option added later is checked too. The zsh script is checked for its
structure (and for syntax with `zsh -n` when zsh is installed).

usage: completion_test.py TRIG
"""
import os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from checks import check, finish  # noqa: E402

trig = os.path.abspath(sys.argv[1])




def run(args):
    return subprocess.run([trig] + args, capture_output=True, text=True, timeout=60)


def subcommands(help_text):
    """The names listed under SUBCOMMANDS: in CLI11's help."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line.strip().upper() == "SUBCOMMANDS:":
            inside = True
            continue
        if inside:
            m = re.match(r"  (\S+)", line)
            if m:
                names.append(m.group(1))
            elif line.strip() and not line.startswith("  "):
                inside = False
    return names


def long_options(help_text):
    return set(re.findall(r"(?m)^\s+(?:-\w,)?(--[\w-]+)", help_text))


script = run(["completion", "bash"])
check("completion bash: exit 0", script.returncode == 0, script.stderr)
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "trig.bash")
with open(path, "w") as f:
    f.write(script.stdout)
syntax = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
check("bash -n", syntax.returncode == 0, syntax.stderr)
for name in ("events.jsonl", "rules.trig"):
    open(os.path.join(tmp, name), "w").close()


def complete(*words):
    """What bash offers for the last word of `words` (the line up to the cursor)."""
    words = ["trig"] + list(words)
    array = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    code = (f"source '{path}' && COMP_WORDS=({array}) && COMP_CWORD={len(words) - 1} && "
            f"_trig && printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    r = subprocess.run(["bash", "-c", code], capture_output=True, text=True, cwd=tmp, timeout=60)
    if r.returncode != 0:
        return {"<error>", r.stderr}
    return set(line for line in r.stdout.splitlines() if line)


r = subprocess.run(["bash", "-c", f"source '{path}' && complete -p trig"], capture_output=True,
                   text=True)
check("the function is registered for trig", "-F _trig" in r.stdout and r.stdout.strip().endswith(
    " trig"), r.stdout + r.stderr)

top = run(["--help"]).stdout
commands = subcommands(top)
check("trig --help lists the commands", {"check", "run", "preview", "completion"} <= set(commands),
      commands)
check("every command, nothing else", complete("") == set(commands), (complete(""), commands))
check("a prefix", complete("pre") == {"preview"}, complete("pre"))
check("two matches", complete("c") == {c for c in commands if c.startswith("c")}, complete("c"))
check("the global options", {"--color", "--help", "--version"} <= complete("--"), complete("--"))
check("--color's values", complete("--color", "") == {"auto", "always", "never"},
      complete("--color", ""))
check("a command after --color VALUE", complete("--color", "never", "exp") == {"explain"},
      complete("--color", "never", "exp"))

for cmd in commands:
    h = run([cmd, "--help"])
    want = long_options(h.stdout)
    got = complete(cmd, "--")
    check(f"{cmd}: every option of its --help", want and want <= got, (sorted(want), sorted(got)))
    nested = subcommands(h.stdout)
    if nested:
        check(f"{cmd}: its subcommands", complete(cmd, "") == set(nested),
              (complete(cmd, ""), nested))

check("an option by prefix", complete("run", "--ev") == {"--events"}, complete("run", "--ev"))
check("an option's choices", complete("run", "--engine", "") == {"jit", "interp"},
      complete("run", "--engine", ""))
check("choices by prefix", complete("check", "--format", "s") == {"sarif"},
      complete("check", "--format", "s"))
check("a file after an option that takes one",
      complete("run", "--events", "ev") == {"events.jsonl"}, complete("run", "--events", "ev"))
check("a file as an argument", complete("check", "ru") == {"rules.trig"}, complete("check", "ru"))
check("an option's value is not taken for a command",
      complete("run", "--events", "check", "--ex") == {"--explain"},
      complete("run", "--events", "check", "--ex"))
check("a flag takes no value: the next word is completed as usual",
      complete("run", "--explain", "--ev") == {"--events"}, complete("run", "--explain", "--ev"))
check("nested: log's subcommands", {"export", "dead-letter", "decisions"} <= complete("log", ""),
      complete("log", ""))
check("an argument's choices", complete("completion", "") == {"bash", "zsh"},
      complete("completion", ""))

z = run(["completion", "zsh"])
check("completion zsh: exit 0", z.returncode == 0, z.stderr)
check("zsh: a #compdef file", z.stdout.startswith("#compdef trig\n"), z.stdout[:100])
for cmd in commands:
    check(f"zsh: offers {cmd} with its description", re.search(rf"'{re.escape(cmd)}:[^']+'",
                                                                 z.stdout) is not None)
check("zsh: an option's choices", "'jit' 'interp'" in z.stdout, "")
if shutil.which("zsh"):
    zpath = os.path.join(tmp, "_trig")
    with open(zpath, "w") as f:
        f.write(z.stdout)
    r = subprocess.run(["zsh", "-n", zpath], capture_output=True, text=True)
    check("zsh -n", r.returncode == 0, r.stderr)
else:
    print("skip zsh -n: zsh is not installed")
bad = run(["completion", "fish"])
check("an unknown shell: exit 2", bad.returncode == 2, bad.stderr)
shutil.rmtree(tmp)

sys.exit(finish())
