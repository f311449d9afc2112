"""Decision regions: what a network predicts over the plane of two features, in light tints
of the class colours with the boundary in black and the samples on top in dark shades, one
legend under the panels. Panels keep one unit on both axes (circles stay round) unless the
features' ranges differ more than threefold. Same drawing rules and cache as plots.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .plots import MIDDLE, TINTS, _classes, _scale, cached, class_style, content_hash, equal_aspect


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
                 legend: bool = True) -> int:
    """One panel: predicted probability (one output) or class (several) over the plane in
    light tints, the boundary as a black line, the samples on top in dark shades, one marker
    per class. Returns the number of classes the regions show."""
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    with np.errstate(all="ignore"):
        P = np.ma.masked_invalid(predict(grid))
    if P.shape[1] == 1:
        cmap = LinearSegmentedColormap.from_list("p", [TINTS[0], MIDDLE, TINTS[1]])
        ax.contourf(gx, gy, P[:, 0].reshape(gx.shape), levels=np.linspace(0, 1, 11), cmap=cmap)
        ax.contour(gx, gy, P[:, 0].reshape(gx.shape), levels=[0.5], colors="k", linewidths=1)
        k = 2
    else:
        k = P.shape[1]
        A = P.argmax(axis=1).reshape(gx.shape)
        tints = [TINTS[c % len(TINTS)] for c in range(k)]
        ax.contourf(gx, gy, A, cmap=ListedColormap(tints), levels=np.arange(k + 1) - 0.5)
        ax.contour(gx, gy, A, levels=np.arange(k - 1) + 0.5, colors="k", linewidths=1)
    for c in np.unique(cls):
        pts = Xs[cls == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, lw=lw, label=f"class {c}" if legend else None,
                   **class_style(int(c)))
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    if equal_aspect(float(np.ptp(gx)), float(np.ptp(gy))) is not None:
        ax.set_aspect("equal", adjustable="box")
    return k


def region_legend(fig: Any, classes: np.ndarray, k: int) -> Any:
    """One legend under the panels: the samples' markers, the regions' tints, the boundary."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    for c in np.unique(classes):
        st = class_style(int(c))
        handles.append(Line2D([], [], ls="", marker=st["marker"], markersize=5,
                              markerfacecolor=st["color"], markeredgecolor=st["edgecolor"],
                              markeredgewidth=0.4, label=f"class {c}"))
    handles += [Patch(facecolor=TINTS[c % len(TINTS)], edgecolor="0.3", lw=0.4,
                      label=f"predicted {c}") for c in range(k)]
    handles.append(Line2D([], [], color="k", lw=1, label="boundary"))
    return fig.legend(handles=handles, loc="outside lower center", fontsize=8,
                      ncol=min(len(handles), 7), handlelength=1.5, columnspacing=1.2,
                      frameon=False)


def panel_size(gx: np.ndarray, gy: np.ndarray, panels: int, width: float) -> tuple[float, float]:
    """A figure `width` inches wide holding `panels` panels side by side: tall enough for
    equal-aspect panels plus titles, axis labels and the legend row."""
    aspect = equal_aspect(float(np.ptp(gx)), float(np.ptp(gy))) or 0.8
    panel = (width - 0.6) / panels - 0.15
    return width, min(panel * aspect + 1.25, 8.0)


def draw_boundary(fig: Any, X: np.ndarray, Y: np.ndarray,
                  predict_before: Callable[[np.ndarray], np.ndarray],
                  predict_after: Callable[[np.ndarray], np.ndarray]) -> Any:
    """The regions before and after training side by side, one legend under both."""
    Xs, gx, gy, grid, suffix = plane_grid(X, 160)
    cls = _classes(Y)
    axes = fig.subplots(1, 2, sharey=True)
    k = 2
    for ax, predict, title in ((axes[0], predict_before, "before training"),
                               (axes[1], predict_after, "after training")):
        k = region_panel(ax, gx, gy, predict, grid, Xs, cls, 14, 0.3)
        ax.set_title(title)
        ax.set_xlabel("$x_1$" + suffix)
    axes[0].set_ylabel("$x_2$" + suffix)
    region_legend(fig, cls, k)
    return axes


def decision_boundary(X: np.ndarray, Y: np.ndarray, predict_before: Callable[[np.ndarray], np.ndarray],
                      predict_after: Callable[[np.ndarray], np.ndarray], folder: Path,
                      cache: Path | None, key_parts: tuple[Any, ...]) -> str:
    _, gx, gy, _, _ = plane_grid(X, 2)
    return cached("boundary", content_hash(X, Y, *key_parts), folder, cache,
                  lambda fig: draw_boundary(fig, X, Y, predict_before, predict_after),
                  panel_size(gx, gy, 2, 6.4))
