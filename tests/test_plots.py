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
