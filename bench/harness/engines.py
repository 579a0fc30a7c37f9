"""The engines the harness runs side by side, each behind one small interface:

    engine.available -> (bool, reason)
    engine.prepare(rules, workdir)       translate the rules (and compile, for the C++ baseline)
    engine.run(stream) -> Run            process one JSON-lines file; fired counts and resources

On a mail workload (prepare(..., mail=True): customers have addresses) an engine that supports
it sends, and its Run also carries the sent count of every rule and the digest of the records it
wrote; only the C++ baseline and trig do (CLIPS and json-rules-engine are not run on them).

A Run carries the fired count of every rule, CPU seconds (user + system, all threads), wall
seconds and peak RSS of the engine's process, measured with wait4 on the process pinned to one
core (`taskset -c 0`), which is what /usr/bin/time -v reports as well.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field

from . import translate
from .workload import Rule

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Run:
    events: int
    fired: dict[str, int]
    cpu_s: float
    wall_s: float
    maxrss_kb: int
    extra: dict = field(default_factory=dict)
    # Mail workloads: sends per rule; extra["records_sha"] is the digest of the records written.
    sent: dict[str, int] | None = None


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class EngineError(Exception):
    """The engine failed on an input (exit status, unparsable output): reported, never hidden."""


TIME = "/usr/bin/time"


def measure(cmd: list[str], stdout_path: str, pin: bool = True, env: dict | None = None,
            timeout_s: float = 3600) -> tuple[int, float, float, int, str]:
    """Runs `cmd` with its standard output to a file; returns (exit status, cpu s, wall s,
    maxrss KiB, standard error).

    Peak RSS comes from /usr/bin/time: the rusage that wait4 reports for a child of this
    process would include the harness's own footprint (Linux carries the pre-exec high-water
    mark of a forked child into its maxrss), while `time` forks the engine from a small process.
    CPU time comes from wait4 (microseconds; it includes `time`'s own, negligible, share)."""
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0"] + cmd
    rss_path = stdout_path + ".rss"
    use_time = os.path.exists(TIME)
    if use_time:
        cmd = [TIME, "-q", "-f", "%M", "-o", rss_path] + cmd
    err_path = stdout_path + ".stderr"
    with open(stdout_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        deadline = start + timeout_s
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(err_path, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    maxrss = ru.ru_maxrss
    if use_time:
        try:
            with open(rss_path) as f:
                lines = [l for l in f.read().split() if l.strip().isdigit()]
            maxrss = int(lines[-1])
        except (OSError, IndexError, ValueError):
            pass
    return p.returncode, ru.ru_utime + ru.ru_stime, wall, maxrss, stderr


def _tail(text: str, n: int = 6) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:])


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


class Engine:
    key = ""
    label = ""
    handles_timers = False
    handles_mail = False

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.workdir = ""
        self.mail = False

    @property
    def available(self) -> tuple[bool, str]:
        return True, ""

    def supports(self, rules: list[Rule], mail: bool = False) -> tuple[bool, str]:
        if any(r.idle_ms for r in rules) and not self.handles_timers:
            return False, "no timers (idle) in this engine"
        if mail and not self.handles_mail:
            return False, "sends (addresses, templates, arbitration) are not modelled in this engine"
        return True, ""

    def prepare(self, rules: list[Rule], workdir: str, mail: bool = False) -> None:
        self.rules = rules
        self.workdir = workdir
        self.mail = mail
        os.makedirs(workdir, exist_ok=True)

    def run(self, stream: str, events: int) -> Run:
        raise NotImplementedError


# ------------------------------------------------------------------------------ C++ baseline

class CppBaseline(Engine):
    key = "cpp"
    label = "hand-written C++"
    handles_timers = True
    handles_mail = True
    CXX_FLAGS = ["-std=c++20", "-O2", "-march=native", "-DNDEBUG"]

    def __init__(self, cache_dir: str) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.binary = ""
        self.compile_s = 0.0

    @property
    def available(self):
        if not (shutil.which("g++") or shutil.which("c++")):
            return False, "no C++ compiler (g++)"
        return True, ""

    def prepare(self, rules, workdir, mail=False):
        super().prepare(rules, workdir, mail)
        inc = translate.to_cpp(rules, mail=mail)
        with open(os.path.join(BENCH_DIR, "baseline", "baseline.cpp"), encoding="utf-8") as f:
            src = f.read()
        key = _sha(inc, src, " ".join(self.CXX_FLAGS))
        out = os.path.join(self.cache_dir, f"baseline-{key}")
        self.binary = os.path.join(out, "baseline")
        if os.path.exists(self.binary):
            return
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "rules.inc"), "w", encoding="utf-8") as f:
            f.write(inc)
        cxx = shutil.which("g++") or shutil.which("c++")
        start = time.perf_counter()
        r = subprocess.run([cxx, *self.CXX_FLAGS, "-I", out, os.path.join(BENCH_DIR, "baseline", "baseline.cpp"),
                            "-o", self.binary + ".tmp"], capture_output=True, text=True)
        self.compile_s = time.perf_counter() - start
        if r.returncode != 0:
            raise EngineError(f"compiling the C++ baseline failed: {_tail(r.stderr, 20)}")
        os.replace(self.binary + ".tmp", self.binary)

    def run(self, stream, events):
        out = os.path.join(self.workdir, "cpp.out")
        records = os.path.join(self.workdir, "cpp.records")
        cmd = [self.binary, stream] + (["--records", records] if self.mail else [])
        rc, cpu, wall, rss, err = measure(cmd, out)
        if rc != 0:
            raise EngineError(f"baseline exited {rc}: {_tail(err)}")
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
        if data["events"] != events:
            raise EngineError(f"baseline read {data['events']} events, expected {events}")
        extra = {"customers": data["customers"], "peak_pending": data["peak_pending"]}
        sent = None
        if self.mail:
            sent = data["sent"]
            extra["records_sha"] = file_digest(records)
            extra["records_bytes"] = os.path.getsize(records)
            extra["records_path"] = records
        return Run(events, data["fired"], cpu, wall, rss, extra, sent)


# ------------------------------------------------------------------------------------- CLIPS

class Clips(Engine):
    key = "clips"
    label = "CLIPS"

    def __init__(self, convert) -> None:
        super().__init__()
        self.convert = convert  # (jsonl path, events) -> CLIPS facts path
        self.rules_path = ""

    @property
    def available(self):
        if not shutil.which("clips"):
            return False, "the clips binary is not installed (Debian package clips)"
        return True, ""

    def version(self) -> str:
        r = subprocess.run(["clips", "-f2", "/dev/null"], input="(exit)\n", capture_output=True, text=True)
        m = re.search(r"CLIPS \(([^)]*)\)", r.stdout)
        return m.group(1) if m else "?"

    def prepare(self, rules, workdir, mail=False):
        super().prepare(rules, workdir, mail)
        self.rules_path = os.path.join(workdir, "rules.clp")
        with open(self.rules_path, "w", encoding="utf-8") as f:
            f.write(translate.to_clips(rules))

    def run(self, stream, events):
        facts = self.convert(stream, events)
        batch = os.path.join(self.workdir, "run.bat")
        with open(batch, "w", encoding="utf-8") as f:
            f.write(translate.clips_batch(self.rules_path, facts))
        out = os.path.join(self.workdir, "clips.out")
        rc, cpu, wall, rss, err = measure(["clips", "-f2", batch], out)
        fired = {}
        n = None
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "fired":
                fired[parts[1]] = int(parts[2])
            elif len(parts) == 2 and parts[0] == "events":
                n = int(parts[1])
        if rc != 0 or n is None or len(fired) != len(self.rules):
            raise EngineError(f"clips exited {rc} without a full report: {_tail(text + err)}")
        if n != events:
            raise EngineError(f"clips processed {n} events, expected {events}")
        return Run(events, fired, cpu, wall, rss)


# ------------------------------------------------------------------------- json-rules-engine

class JsonRulesEngine(Engine):
    key = "jre"
    label = "json-rules-engine"

    def __init__(self) -> None:
        super().__init__()
        self.rules_path = ""

    @property
    def available(self):
        if not shutil.which("node"):
            return False, "node is not installed"
        if not os.path.exists(os.path.join(BENCH_DIR, "node_modules", "json-rules-engine")):
            return False, "json-rules-engine is not installed (npm ci in bench/)"
        return True, ""

    def version(self) -> str:
        try:
            with open(os.path.join(BENCH_DIR, "node_modules", "json-rules-engine", "package.json")) as f:
                v = json.load(f)["version"]
            node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
            return f"{v} on node {node}"
        except OSError:
            return "?"

    def prepare(self, rules, workdir, mail=False):
        super().prepare(rules, workdir, mail)
        self.rules_path = os.path.join(workdir, "rules.json")
        with open(self.rules_path, "w", encoding="utf-8") as f:
            json.dump(translate.to_jre(rules), f)

    def run(self, stream, events):
        out = os.path.join(self.workdir, "jre.out")
        rc, cpu, wall, rss, err = measure(["node", os.path.join(BENCH_DIR, "jre", "driver.js"), self.rules_path,
                                           stream], out)
        if rc != 0:
            raise EngineError(f"json-rules-engine driver exited {rc}: {_tail(err)}")
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
        if data["events"] != events:
            raise EngineError(f"json-rules-engine read {data['events']} events, expected {events}")
        return Run(events, data["fired"], cpu, wall, rss)


# -------------------------------------------------------------------------------------- trig

_SUMMARY = re.compile(r"^trig: rule (\S+): fired (\d+)")
_RULE = re.compile(r'"rule":"([^"]*)"')
_DECISION = re.compile(r'"decision":"([^"]*)"')
_REASON = re.compile(r'"reason":"([^"]*)"')
_STEP = re.compile(r'"step":(\d+)')
# Suppressions that are not the outcome of a firing's first send.
_NOT_FIRINGS = {"restarted", "preempted", "converted", "condition", "rule_limit"}


def count_trig_records(path: str) -> dict[str, int]:
    """Firings as seen in `trig run --explain` output: the first step of each firing is a send
    or a suppression (here always no_email, the customers having no address)."""
    fired: dict[str, int] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            d = _DECISION.search(line)
            r = _RULE.search(line)
            if not d or not r:
                continue
            s = _STEP.search(line)
            if s and s.group(1) != "1":
                continue
            if d.group(1) == "send" or (d.group(1) == "suppressed" and
                                        (_REASON.search(line) or [None, ""])[1] not in _NOT_FIRINGS):
                fired[r.group(1)] = fired.get(r.group(1), 0) + 1
    return fired


def count_trig_sends(path: str) -> dict[str, int]:
    """Sends per rule in `trig run` output."""
    sent: dict[str, int] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            d = _DECISION.search(line)
            r = _RULE.search(line)
            if d and r and d.group(1) == "send":
                sent[r.group(1)] = sent.get(r.group(1), 0) + 1
    return sent




class Trig(Engine):
    handles_timers = True
    handles_mail = True

    def __init__(self, binary: str, mode: str, cache_dir: str) -> None:
        super().__init__()
        self.binary = binary
        self.mode = mode  # "jit" | "interp"
        self.key = f"trig-{mode}"
        self.label = f"trig --engine {mode}"
        self.cache_dir = cache_dir
        self.rules_path = ""
        self._available: tuple[bool, str] | None = None
        self.note = ""

    @property
    def available(self):
        if self._available is None:
            self._available = self._probe()
        return self._available

    def _probe(self) -> tuple[bool, str]:
        if not os.path.exists(self.binary):
            return False, f"{self.binary} not found (make build)"
        r = subprocess.run([self.binary, "run", "--help"], capture_output=True, text=True)
        if r.returncode != 0:
            return False, f"`trig run` does not exist in this build ({_tail(r.stderr or r.stdout, 1)})"
        if "--engine" not in r.stdout:
            return False, "`trig run` has no --engine option"
        # One event through one rule: the engine must fire it, or it is not usable.
        d = os.path.join(self.cache_dir, "probe")
        os.makedirs(d, exist_ok=True)
        rules = os.path.join(d, "probe.trig")
        events = os.path.join(d, "probe.jsonl")
        with open(rules, "w") as f:
            f.write('template note { subject "Hello" body "Hi" }\ntrigger probe: when page_view send note\n')
        with open(events, "w") as f:
            f.write('{"type":"track","event":"page_view","userId":"c1","timestamp":"2026-01-01T00:00:00Z",'
                    '"properties":{"url":"/"}}\n')
        r = subprocess.run([self.binary, "run", rules, "--events", events, "--explain", "--engine", self.mode],
                           capture_output=True, text=True, env=self._env())
        if r.returncode != 0:
            return False, f"`trig run --engine {self.mode}` failed: {_tail(r.stderr, 2)}"
        if '"rule":"probe"' not in r.stdout:
            return False, f"`trig run --engine {self.mode}` printed no record for a firing rule"
        notes = [l for l in r.stderr.splitlines() if l.startswith("trig: note:")]
        self.note = notes[0][len("trig: note:"):].strip() if notes else ""
        return True, ""

    def _env(self) -> dict:
        env = dict(os.environ)
        env["TRIG_CACHE_DIR"] = os.path.join(self.cache_dir, "jit-cache")
        return env

    def prepare(self, rules, workdir, mail=False):
        super().prepare(rules, workdir, mail)
        self.rules_path = os.path.join(workdir, "rules.trig")
        with open(self.rules_path, "w", encoding="utf-8") as f:
            f.write(translate.to_trig(rules, f"{len(rules)} benchmark rules", mail=mail))
        # Fill the JIT's object cache, so that the start-up run and the measured runs alike load
        # compiled code (a cold compile is measured on its own, in the compile phase). `trig
        # compile` builds the optimised code to the end; a `run` on no events would not (its
        # background tier stops when the run does), and the measured runs would then pay for
        # compiling in their CPU time.
        empty = os.path.join(workdir, "empty.jsonl")
        open(empty, "w").close()
        if self.mode == "jit":
            r = subprocess.run([self.binary, "compile", self.rules_path], capture_output=True, text=True,
                               env=self._env())
            if r.returncode != 0:
                raise EngineError(f"trig compile exited {r.returncode}: {_tail(r.stderr)}")
        r = subprocess.run(self.command(empty), capture_output=True, text=True, env=self._env())
        if r.returncode != 0:
            raise EngineError(f"trig run on no events exited {r.returncode}: {_tail(r.stderr)}")

    def command(self, stream: str) -> list[str]:
        # Plain workloads: every firing is a no_email suppression, printed by --explain. Mail
        # workloads: the sends, as production prints them (no --explain).
        explain = [] if self.mail else ["--explain"]
        return [self.binary, "run", self.rules_path, "--events", stream, *explain, "--engine", self.mode]

    def run(self, stream, events):
        out = os.path.join(self.workdir, f"{self.key}.out")
        rc, cpu, wall, rss, err = measure(self.command(stream), out, env=self._env())
        if rc != 0:
            raise EngineError(f"trig run exited {rc}: {_tail(err)}")
        if self.mail:
            return self._mail_run(out, err, events, cpu, wall, rss)
        records = count_trig_records(out)
        summary = {}
        for line in err.splitlines():
            m = _SUMMARY.match(line)
            if m:
                summary[m.group(1)] = int(m.group(2))
        fired = {r.name: 0 for r in self.rules}
        fired.update(records)
        extra = {"output_bytes": os.path.getsize(out)}
        if summary:
            # The run's own per-rule summary must tell the same story as its records.
            s = {r.name: summary.get(r.name, 0) for r in self.rules}
            if s != fired:
                bad = [k for k in s if s[k] != fired[k]][:5]
                raise EngineError("trig's summary and its records disagree on fired counts: "
                                  + ", ".join(f"{k}: summary {s[k]}, records {fired[k]}" for k in bad))
        m = re.search(r"trig: (\d+) event line\(s\): (\d+) accepted, (\d+) rejected", err)
        if m:
            extra["accepted"] = int(m.group(2))
            if int(m.group(3)) or int(m.group(2)) != events:
                raise EngineError(f"trig accepted {m.group(2)} of {events} events, rejected {m.group(3)}")
        return Run(events, fired, cpu, wall, rss, extra)

    def _mail_run(self, out: str, err: str, events: int, cpu: float, wall: float, rss: int) -> Run:
        """Sent counts from the records, and their digest. Without --explain trig prints no
        firings and no summary, so `fired` stays empty: a mail run is judged by its sends and its
        records' bytes (compared with the baseline's by the harness)."""
        if err.strip():
            raise EngineError(f"trig run printed on standard error: {_tail(err, 3)}")
        sent = {r.name: 0 for r in self.rules}
        sent.update(count_trig_sends(out))
        extra = {"output_bytes": os.path.getsize(out), "records_sha": file_digest(out),
                 "records_bytes": os.path.getsize(out), "records_path": out}
        return Run(events, {}, cpu, wall, rss, extra, sent)
