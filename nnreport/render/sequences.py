"""Figures of the sequence layers (issue 26), drawn with matplotlib (Agg, the Figure API,
never pyplot state) through plots.cached, reproducible bytes: the recurrent layer unrolled over
its steps with the same W_x, W_h and b at every step, and an attention matrix as a heat map
with each weight printed in its cell by the printing rule (numbers.fmt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .numbers import fmt
from .plots import cached, content_hash

SHARED = "#1f4e99"  # the shared weights' colour, the same at every step
INPUT = "#555555"


def _box(ax: Any, x: float, y: float, text: str, w: float = 0.9, h: float = 0.6,
         fc: str = "white", ec: str = "black") -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                fc=fc, ec=ec, lw=1.1))
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def _arrow(ax: Any, a: tuple[float, float], b: tuple[float, float], label: str = "",
           color: str = "black", side: str = "left") -> None:
    ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "-|>", "color": color,
                                                "lw": 1.2, "shrinkA": 0, "shrinkB": 0})
    if label:
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        dx, dy = (-0.08, 0.0) if side == "left" else (0.0, 0.12)
        ax.text(mx + dx, my + dy, label, ha="right" if side == "left" else "center",
                va="center" if side == "left" else "bottom", fontsize=10, color=color)


def draw_unrolled(fig: Any, steps: int, ret: str = "last", h0: bool = False,
                  act: str = "tanh") -> Any:
    """x_t below each step's cell, h_{t-1} into it from the left through W_h, x_t through W_x,
    b beside; the output above: h_T (`last`) or every h_t (`sequence`). More than five steps
    are drawn as the first three, dots, and the last."""
    ax = fig.add_subplot()
    ax.set_axis_off()
    shown = list(range(1, steps + 1)) if steps <= 5 else [1, 2, 3, None, steps]
    gap = 1.9
    xs = [gap * (k + 1) for k in range(len(shown))]
    _box(ax, 0.0, 0.0, r"$h_0$" if h0 else r"$h_0 = 0$", w=1.0, fc="#eeeeee")
    prev = 0.0
    for x, t in zip(xs, shown, strict=True):
        if t is None:
            ax.text(x, 0.0, r"$\cdots$", ha="center", va="center", fontsize=14)
            _arrow(ax, (prev + 0.58, 0.0), (x - 0.3, 0.0), color=SHARED)
            prev = x - 0.38
            continue
        lab = r"$W_h$"
        _arrow(ax, (prev + 0.58, 0.0), (x - 0.6, 0.0), lab, SHARED, "top")
        _box(ax, x, 0.0, rf"$z_{{{t}}}\ \to\ h_{{{t}}}$", w=1.05, ec=SHARED)
        _box(ax, x, -1.5, rf"$x_{{{t}}}$", w=0.6, h=0.45, ec=INPUT)
        _arrow(ax, (x, -1.23), (x, -0.36), r"$W_x$", SHARED)
        ax.text(x + 0.12, -0.75, r"$+\,b$", fontsize=9, color=SHARED, ha="left")
        if ret == "sequence" or t == steps:
            _arrow(ax, (x, 0.36), (x, 1.1))
            ax.text(x, 1.18, rf"$h_{{{t}}}$", ha="center", va="bottom", fontsize=11)
        prev = x
    ax.text(xs[-1] / 2, -2.25, rf"the same $W_x$, $W_h$ and $b$ at every step; "
            rf"$h_t = \mathrm{{{act}}}(x_t W_x + h_{{t-1}} W_h + b)$",
            ha="center", va="center", fontsize=9, color=SHARED)
    ax.set_xlim(-0.8, xs[-1] + 0.9)
    ax.set_ylim(-2.5, 1.7)
    ax.set_aspect("equal")
    return ax


def unrolled_figure(steps: int, folder: Path, cache: Path | None = None, ret: str = "last",
                    h0: bool = False, act: str = "tanh") -> str:
    """figures/rnn-<hash>.pdf in folder: the layer unrolled over `steps` steps."""
    key = content_hash("rnn", steps, ret, h0, act)
    width = 1.3 + 1.25 * min(steps, 5)
    return cached("rnn", key, folder, cache,
                  lambda fig: draw_unrolled(fig, steps, ret, h0, act), (width, 3.0))


def cell_text(a: float, digits: int) -> str:
    """A weight as its cell prints it: the printing rule's LaTeX in mathtext."""
    return f"${fmt(a, digits)}$"


def draw_attention(fig: Any, A: np.ndarray, digits: int = 4, mask: np.ndarray | None = None,
                   tokens: list[str] | None = None) -> Any:
    """A [tokens, tokens] as a heat map (white 0 to dark 1), each weight printed in its cell;
    masked cells hatched grey. Rows: the token attending (query), columns: the token attended
    to (key)."""
    A = np.asarray(A, dtype=float)
    n = A.shape[0]
    names = tokens or [str(k + 1) for k in range(n)]
    ax = fig.add_subplot()
    ax.imshow(A, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(A.shape[1]):
            if mask is not None and not mask[i, j]:
                from matplotlib.patches import Rectangle

                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fc="#dddddd", ec="#999999",
                                       hatch="///", lw=0.0))
                continue
            ax.text(j, i, cell_text(A[i, j], digits), ha="center", va="center", fontsize=10,
                    color="white" if A[i, j] > 0.6 else "black")
    ax.set_xticks(range(A.shape[1]), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel(r"key token $j$")
    ax.set_ylabel(r"query token $i$")
    ax.set_title(r"attention weights $A_{ij}$ (each row adds up to 1)", fontsize=10)
    ax.tick_params(length=0)
    return ax


def attention_figure(A: np.ndarray, folder: Path, cache: Path | None = None,
                     digits: int = 4, mask: np.ndarray | None = None) -> str:
    """figures/attention-<hash>.pdf in folder: the heat map of A."""
    A = np.asarray(A, dtype=float)
    key = content_hash("attention", A, digits, None if mask is None else mask.astype(float))
    side = 1.2 + 0.9 * A.shape[1]
    return cached("attention", key, folder, cache,
                  lambda fig: draw_attention(fig, A, digits, mask), (side, side * 0.9))
