"""The ratios as a horizontal bar chart (PNG, matplotlib's Agg backend; no display needed)."""

from __future__ import annotations

import math
import pathlib
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend


def draw(results: list[Any], path: pathlib.Path, title: str) -> None:
    rows = [r for r in results if r.ratio == r.ratio and r.ratio > 0 and not r.unit.startswith("modules")]
    rows.reverse()  # matplotlib draws the first bar at the bottom
    labels = [r.metric for r in rows]
    ratios = [r.ratio for r in rows]
    colors = ["#2e7d32" if r.met else "#c62828" if r.met is False else "#607d8b" for r in rows]
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(rows) + 1.6), dpi=110)
    ax.barh(range(len(rows)), ratios, color=colors)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    low = min(min(ratios), 0.5)
    high = max(max(ratios), 2.0)
    ax.set_xlim(10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high)))
    for i, r in enumerate(rows):
        ax.text(r.ratio * 1.06, i, f"{r.ratio:.3g}", va="center", fontsize=7)
    ax.set_xlabel(
        "azidentity / azure-identity (log scale; left of 1: azidentity takes less time, memory or requests)"
    )
    ax.set_title(title, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#2e7d32", "#c62828", "#607d8b")]
    ax.legend(handles, ["target met", "target missed", "no target"], loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
