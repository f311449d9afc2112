"""Figures drawn with matplotlib (Agg, Figure API, never pyplot state): loss curves,
activation functions, data scatters, and the class colours every figure shares (decision
regions are in regions.py). Vector PDFs in Computer-Modern-like fonts, reproducible bytes (no
creation date), cached by a hash of what they show: a rebuild without changes copies the
previous file and draws nothing."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

STYLE_VERSION = "3"  # bump when the drawing code changes, to invalidate cached figures
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
    curves = np.concatenate([line.get_ydata() for line in ax1.get_lines()[:len(shown)]])
    lo, hi = float(curves.min()), float(curves.max())
    ax1.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    # under both panels: inside, five entries would cover a curve
    fig.legend(handles=ax1.get_lines()[:len(shown)], loc="outside lower center",
               ncol=len(shown), handlelength=3, frameon=False)
    return ax1, ax2


def activations(names: list[str], alphas: dict[str, float], folder: Path,
                cache: Path | None) -> str:
    shown = [n for n in names if n != "softmax"] or ["sigmoid"]
    key = content_hash(shown, sorted(alphas.items()))
    return cached("activations", key, folder, cache,
                  lambda fig: draw_activations(fig, shown, alphas), (6.2, 2.9))


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


# class colours (Okabe and Ito's colour-blind-safe set): regions in light tints, samples in
# dark shades of the same hues, so that every marker stands out from every region by its
# lightness too (what survives a greyscale photocopy); classes also differ by marker shape
TINTS = ("#a6cee4", "#f0c7a6", "#a6ddce", "#edd0e0", "#f6dda6", "#c4e5f7", "#faf6bd")
SHADES = ("#00304b", "#592700", "#004230", "#563346", "#614300", "#244c62", "#484414")
MARKERS = "os^vD<>"
MIDDLE = "#f7f7f7"  # probability 0.5 in a one-output map


def class_style(c: int) -> dict[str, Any]:
    return {"marker": MARKERS[c % len(MARKERS)], "color": SHADES[c % len(SHADES)],
            "edgecolor": "white"}


def equal_aspect(xspan: float, yspan: float) -> float | None:
    """Height over width of a panel whose two axes share a unit (circles stay round), or
    None when the features' ranges differ more than threefold: a plot in one unit would then
    be a sliver, and each axis gets its own scale."""
    if xspan <= 0 or yspan <= 0 or not 1 / 3 <= yspan / xspan <= 3:
        return None
    return yspan / xspan


FEW = 12  # samples typed into a problem by hand: a small figure


def draw_scatter(fig: Any, X: np.ndarray, Y: np.ndarray, classes: bool) -> Any:
    """Classes as markers with a legend; real-valued targets as a colour scale with a bar.
    Two features are drawn in one unit when their ranges are comparable."""
    three = X.shape[1] >= 3
    unit, suffix = _scale(X[:, :3])
    Xs = X[:, :3] / unit
    ax = fig.add_subplot(projection="3d" if three else None)
    extra = {"depthshade": False} if three else {}
    size = 30 if three or len(X) <= FEW else 18
    coords = [Xs[:, k] for k in range(3 if three else 2)]
    if classes:
        cls = _classes(Y)
        for c in np.unique(cls):
            ax.scatter(*[v[cls == c] for v in coords], s=size, lw=0.4, label=f"class {c}",
                       **class_style(int(c)), **extra)
        ax.legend(loc="upper right" if three else "best", fontsize=8)
    else:
        pts = ax.scatter(*coords, s=size, c=Y[:, 0], cmap="viridis", edgecolor="k", lw=0.4,
                         **extra)
        fig.colorbar(pts, ax=ax, label="target $y$" if Y.shape[1] == 1 else "target $y_1$",
                     shrink=0.8)
    if three:  # constrained layout leaves a 3-D axis label out: room for the labels
        ax.set_box_aspect(None, zoom=0.85)
    else:
        lo, hi = Xs[:, :2].min(axis=0), Xs[:, :2].max(axis=0)
        pad = np.where(hi > lo, 0.08 * (hi - lo), 0.5)  # no sample on the frame
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        if len(X) > FEW and _spans(Xs) is not None:
            ax.set_aspect("equal", adjustable="box")
    _axis_labels(ax, suffix, three)
    return ax


def _spans(Xs: np.ndarray) -> float | None:
    return equal_aspect(float(np.ptp(Xs[:, 0])), float(np.ptp(Xs[:, 1])))


def scatter_size(X: np.ndarray, classes: bool = True) -> tuple[float, float]:
    """Inches: a few hand-typed samples get a small figure, a data set a larger one as tall
    as the data's shape asks (a plane in one unit)."""
    few = len(X) <= FEW
    if X.shape[1] >= 3:
        size = (3.4, 3.0) if few else (4.2, 3.6)
    elif few:
        size = (2.6, 2.1)
    else:
        aspect = _spans(X[:, :2] / _scale(X[:, :2])[0]) or 0.75
        size = (4.2, float(np.clip(3.5 * aspect + 0.7, 2.4, 4.8)))
    return (size[0] + 0.8, size[1]) if not classes else size


def scatter(X: np.ndarray, Y: np.ndarray, folder: Path, cache: Path | None,
            classes: bool = True) -> str:
    return cached("data", content_hash(X, Y, classes), folder, cache,
                  lambda fig: draw_scatter(fig, X, Y, classes), scatter_size(X, classes))
