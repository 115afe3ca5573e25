"""Run the benchmark suites and print medians side by side with ratios.

    python -m benchmarks.report [pytest selection ...] [--json out.json] [--png chart.png]
                                [--svg chart.svg] [--from-json earlier.json]

Every number in one table comes from one run on one machine; ratios are what
to compare (these machines are shared, absolute times drift between runs).
Charts (``--png``, ``--svg``) are drawn with matplotlib (``pip install 'minpy[plot]'``);
without it ``--svg`` draws a plainer chart itself. docs/benchmarks.md shows one.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile


def run(selection: list, json_path: str) -> None:
    cmd = [sys.executable, "-m", "pytest", *selection, "-q", "-p", "no:warnings",
           f"--benchmark-json={json_path}", "--benchmark-columns=median"]
    subprocess.run(cmd, check=True)


def table(data: dict) -> str:
    groups: dict = {}
    for b in data["benchmarks"]:
        groups.setdefault(b["group"] or b["name"], []).append(b)
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, "
             f"python {platform.python_version()}", ""]
    for group, items in sorted(groups.items()):
        items.sort(key=lambda b: b["stats"]["median"])
        base = {b["param"]: b["stats"]["median"] for b in items if b.get("param")}
        ref = base.get("eager")
        lines.append(f"{title(group)}  [{group}]")
        lines.append(f"  {'variant':<16}{'median':>14}{'x fastest':>12}{'eager / this':>14}")
        fastest = items[0]["stats"]["median"]
        for b in items:
            med = b["stats"]["median"]
            label = b.get("param") or b["name"]
            speed = f"{ref / med:.2f}" if ref else "-"
            lines.append(f"  {label:<16}{_fmt(med):>14}{med / fastest:>12.2f}{speed:>14}")
        lines.append("")
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


# What each benchmark group measures, as a chart or table reader should see it.
TITLES = {
    "call-overhead": "One small add (3x3): per-call overhead",
    "mlp-grad-eager": "Small MLP gradient and loss, eager",
    "rnn-grad-jit": "Small RNN gradient step (N4 T50 D3 H5)",
    "rnn-grad": "Small RNN gradient (N4 T50 D3 H5)",
    "chain-64": "20-op elementwise chain, 64x64 float32",
    "lazy-hot-path": "Lazy mode's Python: 100 recorded calls; a cache-hit flush of the 64x64 chain",
    "perf-mlp-step": "MLP training step 784-512-512-10, batch 256",
    "perf-chain-0064": "Elementwise chain, 64x64 float32",
    "perf-chain-0256": "Elementwise chain, 256x256 float32",
    "perf-chain-1024": "Elementwise chain, 1024x1024 float32",
    "perf-chain-2048": "Elementwise chain, 2048x2048 float32",
    "perf-softmax-lse-reductions": "Softmax, log-sum-exp and reductions, 256x1000",
    "perf-sum-over-rows": "Bias gradient: sum over rows of 256x512",
    "perf-large-elementwise": "tanh, transpose, where on 784x512",
    "perf-cnn-step": "CNN training step (conv 3x3, pool, affine), batch 32",
    "distributed-mlp-loopback": "Data-parallel MLP 64-128-10 on loopback: whole job, per worker count",
}


def title(group: str) -> str:
    return TITLES.get(group, group)


def chart(data: dict, path: str) -> bool:
    """One panel per workload: a bar per variant, its median over the fastest
    variant's on a log scale (lower is better), labelled with the median. The
    format follows the file's extension (.png, .svg, .pdf). False without
    matplotlib."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return False
    groups: dict = {}
    for b in data["benchmarks"]:
        groups.setdefault(b["group"] or b["name"], []).append(b)
    heights = [0.9 + 0.32 * len(items) for items in groups.values()]
    fig = Figure(figsize=(9, sum(heights) + 0.4), layout="constrained")
    axes = fig.subplots(len(groups), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (group, items) in zip(axes, sorted(groups.items())):
        items = sorted(items, key=lambda b: b["stats"]["median"])
        fastest = items[0]["stats"]["median"]
        ratios = [b["stats"]["median"] / fastest for b in items]
        labels = [b.get("param") or b["name"] for b in items]
        bars = ax.barh(range(len(items)), ratios, color="#4878a8", height=0.7)
        ax.set_yticks(range(len(items)), labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(0.9, max(ratios) * 6)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
        for bar_, b, r in zip(bars, items, ratios):
            ax.text(bar_.get_width() * 1.05, bar_.get_y() + bar_.get_height() / 2,
                    f"{_fmt(b['stats']['median'])}  ({r:.2f}x)", va="center", fontsize=9)
        ax.set_title(title(group), loc="left", fontsize=11, fontweight="bold")
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel("median time relative to the fastest variant of its workload "
                        "(log scale, lower is better)")
    import matplotlib
    with matplotlib.rc_context({"svg.fonttype": "none"}):    # SVG text stays text
        fig.savefig(path, dpi=110)
    return True


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg_chart(data: dict, path: str) -> None:
    """One panel per group: a bar per variant, its median relative to the group's
    fastest on a log scale (lower is better), labelled with the median."""
    import math
    groups: dict = {}
    for b in data["benchmarks"]:
        groups.setdefault(b["group"] or b["name"], []).append(b)
    width, left, bar, gap, span = 640, 110, 14, 4, 420
    rows, y = [], 10
    for group, items in sorted(groups.items()):
        items = sorted(items, key=lambda b: b["stats"]["median"])
        fastest = items[0]["stats"]["median"]
        worst = max(math.log2(b["stats"]["median"] / fastest) for b in items) or 1.0
        rows.append(f'<text x="4" y="{y + 12}" font-weight="bold">{_escape(title(group))}</text>')
        y += 18
        for b in items:
            med = b["stats"]["median"]
            w = 2 + span * math.log2(med / fastest) / max(worst, 1.0)
            label = _escape(b.get("param") or b["name"])
            rows.append(f'<text x="{left - 6}" y="{y + bar - 3}" text-anchor="end">{label}</text>')
            rows.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" '
                        f'fill="#4878a8"/>')
            rows.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}">{_fmt(med)} '
                        f'({med / fastest:.2f}x)</text>')
            y += bar + gap
        y += 10
    rows.append(f'<text x="4" y="{y + 2}" fill="#666">bar length: log2 of the median over '
                f'the fastest variant of its group</text>')
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 12}" '
            f'font-family="sans-serif" font-size="11">')
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join([head] + rows + ["</svg>"]) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("selection", nargs="*", default=["benchmarks"])
    p.add_argument("--json", default=None, help="keep pytest-benchmark's JSON here")
    p.add_argument("--png", default=None, help="write a chart (needs matplotlib)")
    p.add_argument("--svg", default=None,
                   help="write the chart as SVG (matplotlib's; a plain one without it)")
    p.add_argument("--from-json", default=None, help="report an earlier run's JSON, run nothing")
    args = p.parse_args(argv)
    if args.from_json:
        path = args.from_json
    else:
        path = args.json or os.path.join(tempfile.mkdtemp(), "bench.json")
        run(args.selection, path)
    with open(path) as f:
        data = json.load(f)
    print(table(data))
    if args.png:
        print("chart:", args.png if chart(data, args.png) else "skipped (matplotlib missing)")
    if args.svg:
        if not chart(data, args.svg):
            svg_chart(data, args.svg)
        print("chart:", args.svg)


if __name__ == "__main__":
    main()
