"""Generated event streams on disk, cached by their spec: the full JSON-lines file, prefixes of it
(the slow peers read the first N events of the same stream), and CLIPS fact files converted from
those prefixes."""
from __future__ import annotations

import json
import os

from . import translate, workload


class Streams:
    def __init__(self, root: str, log=print) -> None:
        self.root = root
        self.log = log
        os.makedirs(root, exist_ok=True)
        self.empty = os.path.join(root, "empty.jsonl")
        if not os.path.exists(self.empty):
            open(self.empty, "w").close()

    def full(self, spec: workload.StreamSpec) -> tuple[str, dict]:
        path = os.path.join(self.root, spec.key() + ".jsonl")
        info_path = path + ".info.json"
        if not (os.path.exists(path) and os.path.exists(info_path)):
            self.log(f"  generating {spec.name}: {spec.events:,} events, {spec.customers:,} customers "
                     f"(seed {spec.seed}{', an identify with an address per customer' if spec.mail else ''}) ...")
            info = workload.write_stream(spec, path)
            with open(info_path, "w") as f:
                json.dump(info, f)
        with open(info_path) as f:
            return path, json.load(f)

    def prefix(self, spec: workload.StreamSpec, n: int) -> str:
        """The first `n` events of the stream (the stream itself when n covers it)."""
        path, info = self.full(spec)
        if n >= info["events"]:
            return path
        if n == 0:
            return self.empty
        out = os.path.join(self.root, f"{spec.key()}.first{n}.jsonl")
        if not os.path.exists(out):
            with open(path, encoding="utf-8") as src, open(out + ".tmp", "w", encoding="utf-8") as dst:
                for i, line in enumerate(src):
                    if i >= n:
                        break
                    dst.write(line)
            os.replace(out + ".tmp", out)
        return out

    def clips_facts(self, jsonl: str, n: int) -> str:
        """CLIPS facts for a JSON-lines file made by this class (converted once, then cached)."""
        out = jsonl[:-len(".jsonl")] + ".clp" if jsonl.endswith(".jsonl") else jsonl + ".clp"
        if not os.path.exists(out):
            translate.jsonl_to_clips(jsonl, out, limit=n)
        return out
