"""Figures drawn with matplotlib (Agg, Figure API, never pyplot state): loss curves,
activation functions, decision boundaries, data scatters. Vector PDFs in Computer-Modern-like
fonts, reproducible bytes (no creation date), cached by a hash of what they show: a rebuild
without changes copies the previous file and draws nothing."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

STYLE_VERSION = "2"  # bump when the drawing code changes, to invalidate cached figures
DRAWN: list[str] = []  # names of figures actually drawn in this process (for tests)

RC: dict[str, Any] = {
    "font.family": "serif",
    "font.serif": ["cmr10", "Computer Modern Roman", "DejaVu Serif"],
    "mathtext.fontset": "cm",
    "axes.formatter.use_mathtext": True,
    "axes.unicode_minus": False,
    "font.size": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "pdf.fonttype": 42,
}


def content_hash(*parts: Any) -> str:
    h = hashlib.sha256(STYLE_VERSION.encode())
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p, dtype=float).tobytes())
            h.update(str(p.shape).encode())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:16]


def cached(kind: str, key: str, folder: Path, cache: Path | None,
           draw: Callable[[Any], None], size: tuple[float, float]) -> str:
    """Write figures/<kind>-<key>.pdf into folder (copying from cache when present)."""
    name = f"figures/{kind}-{key}.pdf"
    dst = folder / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    if cache is not None and (cache / f"{kind}-{key}.pdf").is_file():
        shutil.copyfile(cache / f"{kind}-{key}.pdf", dst)
        return name
    import logging

    import matplotlib

    matplotlib.use("Agg", force=False)
    # fontTools complains about the old timestamp inside matplotlib's own cmr10 font
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(RC):  # type: ignore[arg-type]
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        fig.savefig(dst, format="pdf", metadata={"CreationDate": None, "Creator": None,
                                                 "Producer": None})
    DRAWN.append(name)
    return name


def fast_start(h: np.ndarray) -> bool:
    """Does 90% of the loss's fall happen in the first 5% of (at least 40) epochs? Then a
    linear epoch axis would squeeze the interesting part against the y axis."""
    if len(h) < 40 or not np.all(np.isfinite(h)):
        return False
    drop = h[0] - h.min()
    if drop <= 0:
        return False
    reached = int(np.argmax(h <= h[0] - 0.9 * drop))  # first epoch index within 10% of the end
    return reached + 1 <= 0.05 * len(h)


def draw_loss(fig: Any, h: np.ndarray) -> Any:
    """Loss per epoch; a log loss axis when the positive values span more than two decades,
    a log epoch axis when the fall happens in the first few epochs; integer epoch ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(h) + 1), h, color="#1f4e99", lw=1.4)
    pos = h[h > 0]
    if len(pos) and pos.max() / pos.min() > 100:
        ax.set_yscale("log")
    if fast_start(h):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel("epoch (log scale)")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    ax.set_xlim(1, max(len(h), 2))
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    return ax


def loss_curve(history: list[float], folder: Path, cache: Path | None) -> str:
    h = np.asarray(history, dtype=float)
    return cached("loss", content_hash(h), folder, cache, lambda fig: draw_loss(fig, h), (5.0, 2.8))


# curves that coincide somewhere (ReLU and linear for z > 0, leaky ReLU and ReLU) stay
# visible: each later curve is thinner and differently dashed, drawn over the earlier ones
STYLES = (("-", 2.6), ("--", 1.8), (":", 1.6), ("-.", 1.2), ((0, (5, 1)), 1.0), ((0, (1, 1)), 0.9))


def draw_activations(fig: Any, shown: list[str], alphas: dict[str, float]) -> Any:
    from ..engine.functions import ACTIVATIONS

    z = np.linspace(-5, 5, 401)
    ax1, ax2 = fig.subplots(1, 2)
    for k, n in enumerate(shown):
        act = ACTIVATIONS[n]
        a = act(z, alphas.get(n, 0.01))
        assert act.deriv is not None
        style, width = STYLES[k % len(STYLES)]
        line, = ax1.plot(z, a, lw=width, ls=style, label=n.replace("_", " "), zorder=2 + k)
        ax2.plot(z, act.deriv(z, a, alphas.get(n, 0.01)), lw=width, ls=style,
                 color=line.get_color(), label=n.replace("_", " "), zorder=2 + k)
    ax1.set_title("activation $f(z)$")
    ax2.set_title("derivative $f'(z)$")
    for ax in (ax1, ax2):
        ax.set_xlabel("$z$")
        ax.grid(alpha=0.3)
        ax.axhline(0, color="k", lw=0.5)
    ax1.set_ylim(-1.5, 3)
    ax1.legend(loc="upper left", handlelength=3)
    return ax1, ax2


def activations(names: list[str], alphas: dict[str, float], folder: Path,
                cache: Path | None) -> str:
    shown = [n for n in names if n != "softmax"] or ["sigmoid"]
    key = content_hash(shown, sorted(alphas.items()))
    return cached("activations", key, folder, cache,
                  lambda fig: draw_activations(fig, shown, alphas), (6.2, 2.6))


def _classes(Y: np.ndarray) -> np.ndarray:
    return Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] >= 0.5).astype(int)


def _scale(X: np.ndarray) -> tuple[float, str]:
    """A power of ten that brings the data to ordinary numbers for the axes (data of 1e308
    would overflow matplotlib's limits and ticks), and its label suffix."""
    top = float(np.abs(X).max()) if X.size else 0.0
    if top > 0 and not 1e-3 <= top < 1e4:
        k = int(np.floor(np.log10(top))) if top > 0 else 0
        return 10.0**k, rf" ($\times 10^{{{k}}}$)"
    return 1.0, ""


def _axis_labels(ax: Any, suffix: str, three: bool = False) -> None:
    ax.set_xlabel("$x_1$" + suffix)
    ax.set_ylabel("$x_2$" + suffix)
    if three:
        ax.set_zlabel("$x_3$" + suffix)


def plane_grid(X: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """The first two features scaled for the axes, an n x n grid over them (padded), the grid
    in the data's own units (clipped to floats) and the axis-label suffix."""
    unit, suffix = _scale(X)
    Xs = X[:, :2] / unit
    pad = 0.5 if unit == 1.0 else 0.05 * max(float(np.ptp(Xs)), 1.0)
    x0 = np.linspace(Xs[:, 0].min() - pad, Xs[:, 0].max() + pad, n)
    x1 = np.linspace(Xs[:, 1].min() - pad, Xs[:, 1].max() + pad, n)
    gx, gy = np.meshgrid(x0, x1)
    with np.errstate(over="ignore"):
        grid = np.clip(np.c_[gx.ravel(), gy.ravel()] * unit, -1e308, 1e308)
    return Xs, gx, gy, grid, suffix


def region_panel(ax: Any, gx: np.ndarray, gy: np.ndarray, predict: Callable[[np.ndarray], np.ndarray],
                 grid: np.ndarray, Xs: np.ndarray, cls: np.ndarray, size: float, lw: float,
                 legend: bool) -> None:
    """One panel: predicted probability (one output) or class (several) over the plane, the
    0.5 contour, the samples on top with one marker per class."""
    with np.errstate(all="ignore"):
        P = np.ma.masked_invalid(predict(grid))
    if P.shape[1] == 1:
        ax.contourf(gx, gy, P[:, 0].reshape(gx.shape), levels=np.linspace(0, 1, 11),
                    cmap="RdBu_r", alpha=0.55)
        ax.contour(gx, gy, P[:, 0].reshape(gx.shape), levels=[0.5], colors="k", linewidths=1)
    else:
        ax.contourf(gx, gy, P.argmax(axis=1).reshape(gx.shape), alpha=0.35, cmap="tab10",
                    levels=np.arange(P.shape[1] + 1) - 0.5)
    for c, marker in zip(np.unique(cls), "os^vD<>", strict=False):
        pts = Xs[cls == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, marker=marker, edgecolor="k", lw=lw,
                   label=f"class {c}" if legend else None)


def decision_boundary(X: np.ndarray, Y: np.ndarray, predict_before: Callable[[np.ndarray], np.ndarray],
                      predict_after: Callable[[np.ndarray], np.ndarray], folder: Path,
                      cache: Path | None, key_parts: tuple[Any, ...]) -> str:
    Xs, gx, gy, grid, suffix = plane_grid(X, 160)
    cls = _classes(Y)

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, 2, sharey=True)
        for ax, predict, title in ((axes[0], predict_before, "before training"),
                                   (axes[1], predict_after, "after training")):
            region_panel(ax, gx, gy, predict, grid, Xs, cls, 12, 0.4, legend=True)
            ax.set_title(title)
            ax.set_xlabel("$x_1$" + suffix)
        axes[0].set_ylabel("$x_2$" + suffix)
        axes[1].legend(loc="lower right", fontsize=8)

    key = content_hash(X, Y, *key_parts)
    return cached("boundary", key, folder, cache, draw, (6.4, 3.0))


def draw_scatter(fig: Any, X: np.ndarray, Y: np.ndarray, classes: bool) -> Any:
    """Classes as markers with a legend; real-valued targets as a colour scale with a bar."""
    three = X.shape[1] >= 3
    unit, suffix = _scale(X[:, :3])
    Xs = X[:, :3] / unit
    ax = fig.add_subplot(projection="3d" if three else None)
    extra = {"depthshade": False} if three else {}
    size = 30 if three else 14
    coords = [Xs[:, k] for k in range(3 if three else 2)]
    if classes:
        cls = _classes(Y)
        for c, marker in zip(np.unique(cls), "os^vD<>", strict=False):
            ax.scatter(*[v[cls == c] for v in coords], s=size, marker=marker, edgecolor="k",
                       lw=0.4, label=f"class {c}", **extra)
        ax.legend(loc="upper right", fontsize=8)
    else:
        pts = ax.scatter(*coords, s=size, c=Y[:, 0], cmap="viridis", edgecolor="k", lw=0.4,
                         **extra)
        fig.colorbar(pts, ax=ax, label="target $y$" if Y.shape[1] == 1 else "target $y_1$",
                     shrink=0.8)
    _axis_labels(ax, suffix, three)
    return ax


def scatter(X: np.ndarray, Y: np.ndarray, folder: Path, cache: Path | None,
            classes: bool = True) -> str:
    size = (4.2, 3.6) if X.shape[1] >= 3 else (4.2, 3.2)
    if not classes:
        size = (size[0] + 0.8, size[1])
    return cached("data", content_hash(X, Y, classes), folder, cache,
                  lambda fig: draw_scatter(fig, X, Y, classes), size)
