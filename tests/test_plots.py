"""Plots read right: coinciding activation curves both visible, a loss whose fall happens in
the first epochs on a log epoch axis, integer epoch ticks, real-valued targets by colour."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure

from nnreport.render import plots


def test_coinciding_activation_curves_are_all_visible():
    fig = Figure()
    ax1, ax2 = plots.draw_activations(fig, ["linear", "relu", "leaky_relu", "sigmoid", "tanh"],
                                      {"leaky_relu": 0.01})
    for ax in (ax1, ax2):
        lines = ax.get_lines()[:5]
        assert len(lines) == 5
        for a, b in itertools.combinations(lines, 2):
            ya, yb = a.get_ydata(), b.get_ydata()
            shared = np.mean(np.abs(ya - yb) < 1e-3)
            if shared > 0.05:  # e.g. ReLU = linear for z > 0: the later one must not hide
                top, under = (a, b) if a.get_zorder() > b.get_zorder() else (b, a)
                assert top.get_linewidth() < under.get_linewidth(), (a.get_label(), b.get_label())
                assert (top.get_linestyle(), top.get_color()) != \
                    (under.get_linestyle(), under.get_color())
    # the pairs the issue names really do coincide, so the check above was exercised
    y = {line.get_label(): line.get_ydata() for line in ax1.get_lines()[:5]}
    assert np.mean(np.abs(y["linear"] - y["relu"]) < 1e-3) > 0.4


def _ticks(ax):
    lo, hi = ax.get_xlim()
    return [t for t in ax.get_xticks() if lo <= t <= hi]


@pytest.mark.parametrize("shape,log", [("fast", True), ("slow", False), ("short", False),
                                       ("flat", False)])
def test_loss_epoch_axis(shape, log):
    e = np.arange(1000, dtype=float)
    h = {"fast": 0.05 + np.exp(-e / 4),      # 90% of the fall within epoch 10 of 1000
         "slow": 1 - e / 2000,               # a steady fall
         "short": 0.05 + np.exp(-e[:12]),    # too few epochs for a log axis
         "flat": np.full(300, 0.7)}[shape]
    fig = Figure()
    ax = plots.draw_loss(fig, h)
    fig.canvas.draw()
    assert (ax.get_xscale() == "log") is log
    ticks = _ticks(ax)
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks), ticks
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(lab.isdigit() for lab in labels), labels


def test_fast_start_rule_by_hand():
    h = np.r_[1.0, 0.5, 0.2, np.full(97, 0.1)]  # 90% of the fall by epoch 3 of 100
    assert plots.fast_start(h)
    h = np.linspace(1, 0.1, 100)                  # 90% only by epoch 90
    assert not plots.fast_start(h)


def test_regression_targets_are_coloured_by_value_and_classes_by_marker():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    fig = Figure()
    ax = plots.draw_scatter(fig, X, X[:, :1] * 3.7, classes=False)
    assert len(fig.axes) == 2 and ax.get_legend() is None  # a colour bar, no class legend
    assert "target" in fig.axes[1].get_ylabel()
    fig = Figure()
    ax = plots.draw_scatter(fig, X, (X[:, :1] > 0).astype(float), classes=True)
    assert len(fig.axes) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]


# --- what a reader of a printed, perhaps photocopied, page sees -----------------------------

def _luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (components 0..1)."""
    c = np.asarray(rgb[:3], dtype=float)
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast(a, b) -> float:
    """WCAG contrast ratio; it depends on lightness alone, so it is what a greyscale copy keeps."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _on_white(rgba):
    """The colour printed: rgba composited over white paper."""
    a = rgba[3] if len(rgba) > 3 else 1.0
    return [a * c + (1 - a) for c in rgba[:3]]


def _circles(n=300, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    r = np.where(np.arange(n) % 2 == 0, 1.0, 0.5) + rng.normal(0, 0.08, n)
    X = np.c_[r * np.cos(t), r * np.sin(t)]
    return X, (np.arange(n) % 2 == 1).astype(float)[:, None]  # inner circle: class 1


def _p_inner(G):
    return 1 / (1 + np.exp(20 * (np.hypot(G[:, 0], G[:, 1]) - 0.75)))[:, None]


def _regions_and_markers(ax):
    from matplotlib.collections import PathCollection
    from matplotlib.contour import ContourSet

    filled = [c for c in ax.collections if isinstance(c, ContourSet) and c.filled]
    regions = [_on_white(f) for c in filled for f in c.get_facecolor()]
    markers = [c for c in ax.collections if isinstance(c, PathCollection)
               and not isinstance(c, ContourSet)]
    return regions, markers


def _drawn_aspect(ax) -> float:
    """Centimetres per unit on y over centimetres per unit on x, as drawn."""
    box = ax.get_window_extent()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return (box.height / (y1 - y0)) / (box.width / (x1 - x0))


def _figures_with_regions():
    from nnreport.render import regions, report_plots

    X, Y = _circles()
    three = np.eye(3)[np.arange(90) % 3]
    X3 = np.random.default_rng(1).normal(size=(90, 2)) + 2 * three[:, :2]
    softmax = lambda G: np.exp(G @ np.array([[0, 2, 0], [0, 0, 2.0]]))  # noqa: E731
    out = []
    fig = Figure(figsize=regions.panel_size(*np.meshgrid([-1.5, 1.5], [-1.5, 1.5]), 2, 6.4),
                 layout="constrained")
    out.append((fig, regions.draw_boundary(fig, X, Y, lambda G: np.full((len(G), 1), 0.3), _p_inner)))
    fig = Figure(figsize=report_plots.boundaries_size(X, 3), layout="constrained")
    out.append((fig, report_plots.draw_boundaries(fig, X, Y, [("a", _p_inner)] * 3)))
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    out.append((fig, regions.draw_boundary(fig, X3, three, softmax, softmax)))
    for fig, _ in out:
        fig.draw_without_rendering()
    return out


def test_decision_regions_keep_one_unit_on_both_axes_and_have_a_legend():
    for fig, axes in _figures_with_regions():
        for ax in np.atleast_1d(axes):
            assert abs(_drawn_aspect(ax) - 1) < 0.01  # a circle stays a circle
        assert len(fig.legends) == 1
        texts = [t.get_text() for t in fig.legends[0].get_texts()]
        assert "class 0" in texts and "class 1" in texts and "boundary" in texts
        assert any(t.startswith("predicted") for t in texts)


def test_markers_stand_out_from_every_region_in_greyscale():
    for _, axes in _figures_with_regions():
        for ax in np.atleast_1d(axes):
            regions, markers = _regions_and_markers(ax)
            assert len(regions) >= 2 and len(markers) >= 2
            shapes = set()
            for m in markers:
                face = _on_white(m.get_facecolor()[0])
                assert min(contrast(face, r) for r in regions) >= 4.5, face
                shapes.add(m.get_paths()[0].vertices.round(3).tobytes())
            assert len(shapes) == len(markers)  # classes differ by shape, not only colour


def test_the_old_colours_fail_the_contrast_check():
    # tab10's blue markers on RdBu_r's blue at alpha 0.55, as drawn before: the check bites
    from matplotlib import colormaps

    region = [0.55 * c + 0.45 for c in colormaps["RdBu_r"](0.05)[:3]]
    assert contrast(colormaps["tab10"](0), region) < 2


@pytest.mark.parametrize("shown", [["tanh", "sigmoid"], ["relu", "linear"], ["sigmoid"],
                                   ["linear", "relu", "leaky_relu", "sigmoid", "tanh"]])
def test_activation_axis_fits_the_curves(shown):
    fig = Figure(figsize=(6.2, 2.6), layout="constrained")
    ax1, _ = plots.draw_activations(fig, shown, {"leaky_relu": 0.01})
    fig.draw_without_rendering()
    y = np.concatenate([line.get_ydata() for line in ax1.get_lines()[:len(shown)]])
    lo, hi = ax1.get_ylim()
    assert lo <= y.min() and hi >= y.max()
    assert (y.max() - y.min()) / (hi - lo) >= 0.75  # at most a quarter of the height unused
    assert [t.get_text() for t in fig.legends[0].get_texts()] == \
        [n.replace("_", " ") for n in shown]
    legend = fig.legends[0].get_window_extent()
    for line in ax1.get_lines()[:len(shown)]:  # the legend covers no curve
        pts = ax1.transData.transform(np.c_[line.get_xdata(), line.get_ydata()])
        inside = (pts[:, 0] > legend.x0) & (pts[:, 0] < legend.x1) & \
            (pts[:, 1] > legend.y0) & (pts[:, 1] < legend.y1)
        assert not inside.any(), line.get_label()


def test_a_plane_of_data_keeps_one_unit_and_few_samples_make_a_small_figure():
    X, Y = _circles()
    fig = Figure(figsize=plots.scatter_size(X), layout="constrained")
    ax = plots.draw_scatter(fig, X, Y, classes=True)
    fig.draw_without_rendering()
    assert abs(_drawn_aspect(ax) - 1) < 0.01
    two = np.array([[1.0, 0.0], [0.5, -1.0]])
    (w2, h2), (w, h) = plots.scatter_size(two), plots.scatter_size(X)
    assert w2 * h2 < 0.5 * w * h
    fig = Figure(figsize=(w2, h2), layout="constrained")
    ax = plots.draw_scatter(fig, two, np.array([[1.0], [0.0]]), classes=True)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < 0.5 and x1 > 1 and y0 < -1 and y1 > 0  # no sample on the frame
