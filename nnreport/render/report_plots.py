"""Figures of a report: experiment loss curves (train and test overlaid, one colour per run),
a confusion matrix, a grid of test images with predicted and true labels, predicted against
true values with residuals. Same drawing rules and cache as plots.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .plots import _classes, cached, content_hash, fast_start
from .regions import panel_size, plane_grid, region_legend, region_panel


def draw_runs(fig: Any, runs: list[Any]) -> Any:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax = fig.add_subplot()
    colours = ["#1f4e99", "#c0392b", "#27853b", "#8e44ad", "#d68910", "#566573", "#17a589",
               "#7d3c98"]
    longest = max(len(r.history) for r in runs)
    for k, r in enumerate(runs):
        c = colours[k % len(colours)]
        e = np.arange(1, len(r.history) + 1)
        ax.plot(e, r.history, color=c, lw=1.5, label=f"{r.name} (train)")
        if r.history_test:
            ax.plot(e, r.history_test, color=c, lw=1.3, ls="--", label=f"{r.name} (test)")
    allv = np.concatenate([np.asarray(r.history + r.history_test, dtype=float) for r in runs])
    pos = allv[allv > 0]
    if len(pos) and pos.max() / pos.min() > 100:
        ax.set_yscale("log")
    if fast_start(np.asarray(runs[0].history, dtype=float)):
        ax.set_xscale("log")
        ax.set_xlabel("epoch (log scale)")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    ax.set_xlim(1, max(longest, 2))
    ax.set_ylabel("loss at the start of the epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2 if len(runs) > 2 else 1)
    return ax


def runs_figure(runs: list[Any], folder: Path, cache: Path | None) -> str:
    key = content_hash(*[np.asarray(r.history + r.history_test) for r in runs],
                       [r.name for r in runs])
    return cached("runs", key, folder, cache, lambda fig: draw_runs(fig, runs), (5.6, 3.2))


def draw_confusion(fig: Any, c: np.ndarray) -> Any:
    ax = fig.add_subplot()
    ax.imshow(c, cmap="Blues")
    k = c.shape[0]
    top = c.max() if c.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(c[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if c[i, j] > top / 2 else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return ax


def confusion_figure(c: np.ndarray, folder: Path, cache: Path | None) -> str:
    side = 2.0 + 0.14 * c.shape[0]  # drawn near the size it is shown at: readable counts
    return cached("confusion", content_hash(c), folder, cache,
                  lambda fig: draw_confusion(fig, c), (side + 0.4, side))


def draw_images(fig: Any, X: np.ndarray, true: np.ndarray, pred: np.ndarray,
                shape: tuple[int, int]) -> Any:
    n = len(X)
    cols = min(8, n)
    rows = (n + cols - 1) // cols
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes:
        ax.axis("off")
    for k in range(n):
        ax = axes[k]
        ax.imshow(X[k].reshape(shape), cmap="gray_r")
        wrong = true[k] != pred[k]
        ax.set_title(f"{pred[k]} ({true[k]})" if wrong else str(pred[k]), fontsize=8,
                     color="#c0392b" if wrong else "black")
        if wrong:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("#c0392b")
                spine.set_linewidth(2)
    return axes


def images_figure(X: np.ndarray, true: np.ndarray, pred: np.ndarray, shape: tuple[int, int],
                  folder: Path, cache: Path | None) -> str:
    rows = (len(X) + 7) // 8
    return cached("images", content_hash(X, true, pred), folder, cache,
                  lambda fig: draw_images(fig, X, true, pred, shape), (5.6, 0.85 * rows + 0.2))


def draw_fit(fig: Any, yhat: np.ndarray, y: np.ndarray) -> Any:
    ax1, ax2 = fig.subplots(1, 2)
    p, t = yhat[:, 0], y[:, 0]
    ax1.scatter(t, p, s=12, edgecolor="k", lw=0.3)
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax1.plot([lo, hi], [lo, hi], color="gray", lw=0.8, ls="--")
    ax1.set_xlabel("true $y$")
    ax1.set_ylabel(r"predicted $\hat{y}$")
    ax2.scatter(t, p - t, s=12, edgecolor="k", lw=0.3)
    ax2.axhline(0, color="gray", lw=0.8, ls="--")
    ax2.set_xlabel("true $y$")
    ax2.set_ylabel(r"residual $\hat{y} - y$")
    return ax1, ax2


def fit_figure(yhat: np.ndarray, y: np.ndarray, folder: Path, cache: Path | None) -> str:
    return cached("fit", content_hash(yhat, y), folder, cache,
                  lambda fig: draw_fit(fig, yhat, y), (6.2, 2.8))


def draw_boundaries(fig: Any, X: np.ndarray, Y: np.ndarray, runs: list[tuple[str, Any]]) -> Any:
    """The trained predictions of each run over the plane, the data on top: one panel a run."""
    Xs, gx, gy, grid, suffix = plane_grid(X, 120)
    cls = _classes(Y)
    axes = np.atleast_1d(fig.subplots(1, len(runs), sharey=True))
    k = 2
    for ax, (name, predict) in zip(axes, runs, strict=True):
        k = region_panel(ax, gx, gy, predict, grid, Xs, cls, 9, 0.25)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("$x_1$" + suffix)
    axes[0].set_ylabel("$x_2$" + suffix)
    region_legend(fig, cls, k)
    return axes


def boundaries_size(X: np.ndarray, runs: int) -> tuple[float, float]:
    _, gx, gy, _, _ = plane_grid(X, 2)
    return panel_size(gx, gy, runs, min(2.1 * runs + 0.6, 6.6))


def boundaries_figure(X: np.ndarray, Y: np.ndarray, runs: list[tuple[str, Any]],
                      key: tuple[Any, ...], folder: Path, cache: Path | None) -> str:
    names = np.frombuffer("\0".join(n for n, _ in runs).encode(), dtype=np.uint8)
    return cached("boundaries", content_hash(X, Y, names, *key), folder, cache,  # run names
                  lambda fig: draw_boundaries(fig, X, Y, runs), boundaries_size(X, len(runs)))
