"""results.json -> ratios.png. Run by bench/run.py with an interpreter that has matplotlib
(Debian's python3-matplotlib). Standalone on purpose: it imports nothing from the harness.

Left: every engine's rate relative to the hand-written C++ baseline (log scale).
Right: trig JIT's rate over each peer's, with the issue's targets as marks.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"trig-jit": "#1f6feb", "trig-interp": "#8fb8f5", "clips": "#d9822b", "jre": "#6e7781"}
LABELS = {"trig-jit": "trig (JIT)", "trig-interp": "trig (interp)", "clips": "CLIPS", "jre": "json-rules-engine"}
TARGETS = {"cpp": 0.5, "clips": 20, "jre": 1000}


def rate(w, k):
    r = w["results"].get(k)
    return r["rate"] if r and r.get("status") == "ok" else None


def main(src, dst):
    with open(src) as f:
        res = json.load(f)
    ws = res["workloads"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6))
    ids = [w["id"] for w in ws]
    width = 0.8 / len(COLORS)
    for i, k in enumerate(COLORS):
        xs, ys = [], []
        for j, w in enumerate(ws):
            c, v = rate(w, "cpp"), rate(w, k)
            if c and v:
                xs.append(j + (i - 1.5) * width)
                ys.append(v / c)
        if xs:
            ax1.bar(xs, ys, width, label=LABELS[k], color=COLORS[k])
    ax1.axhline(1.0, color="black", lw=1)
    ax1.text(-0.45, 1.05, "hand-written C++ = 1", ha="left", va="bottom", fontsize=8)
    ax1.set_yscale("log")
    ax1.set_xticks(range(len(ws)), ids, rotation=30, ha="right")
    ax1.set_ylabel("events/s relative to hand-written C++ (log)")
    ax1.set_title("Throughput on one core, relative to the baseline")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)

    peers = [("cpp", "vs C++"), ("clips", "vs CLIPS"), ("jre", "vs json-rules-engine")]
    any_trig = False
    pc = {"cpp": "#000000", "clips": COLORS["clips"], "jre": COLORS["jre"]}
    width = 0.8 / len(peers)
    for i, (k, lab) in enumerate(peers):
        xs, ys = [], []
        for j, w in enumerate(ws):
            t, p = rate(w, "trig-jit"), rate(w, k)
            if t and p:
                xs.append(j + (i - 1) * width)
                ys.append(t / p)
        if xs:
            any_trig = True
            ax2.bar(xs, ys, width, label=f"trig JIT {lab}", color=pc[k])
            ax2.axhline(TARGETS[k], color=pc[k], ls="--", lw=0.8)
    ax2.set_yscale("log")
    ax2.set_xticks(range(len(ws)), ids, rotation=30, ha="right")
    ax2.set_ylabel("trig JIT rate / peer rate (log); dashed: targets")
    ax2.set_title("trig's ratio to each peer")
    if any_trig:
        ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    else:
        why = res["meta"]["engines"].get("trig-jit", {}).get("reason", "")
        ax2.text(0.5, 0.5, "trig unavailable in this run:\n" + why, ha="center", va="center",
                 transform=ax2.transAxes, wrap=True, fontsize=10)
        ax2.set_yticks([])
    fig.suptitle(f"trig side by side — {res['meta']['mode']} run, {res['meta']['date']}")
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
