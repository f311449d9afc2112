"""The network as a TikZ picture drawn inside the .tex: columns of labelled neurons, the
activation of each layer, and, for small networks, the weights and biases.

Numbers follow the document's number rule (`fmt`) and never touch each other or a foreign
edge (placement in `labels.py`): a weight sits on its own edge; a layer gap whose weights are
all equal says so once under the gap ("all weights 1"); a gap with more than MAX_EDGE_LABELS
edges, or whose labels find no free spot, shows its weight matrix under the gap instead. A
bias sits beside its neuron, or the layer's bias vector goes under the picture. Layers wider
than MAX_SHOWN collapse to a few neurons, dots and a count.

Node names are stable so tests can read the picture back: `L0N1` is input 1, `L2N3` unit 3
of layer 2; the label of the edge from unit i of layer l-1 to unit j of layer l is the node
`E{l}-{i}-{j}`, the bias of unit j of layer l is `B{l}-{j}`. Hidden units of deep networks
are h^{[l]}_j: square brackets for the layer, since a superscript (i) is a sample.
"""

from __future__ import annotations

import numpy as np

from .formulas import ACT_NAME
from .labels import NEURON_R, SAFETY, SCRIPT_EM_CM, Box, Edge, Point, box_at, label_size, place_gap
from .matrices import matrix
from .numbers import fmt

MAX_SHOWN = 6         # a layer with more units than this collapses
VALUES_UP_TO = 6      # numbers are drawn when every layer is this small
MAX_EDGE_LABELS = 12  # beyond this a gap shows its matrix, not a label per edge


def _shown_units(n: int) -> list[int | None]:
    """Unit numbers drawn for a layer of n units; None marks the dots."""
    if n <= MAX_SHOWN:
        return list(range(1, n + 1))
    return [1, 2, 3, None, n]


def _unit_label(l: int, j: int, n: int, L: int) -> str:
    if l == 0:
        return f"x_{{{j}}}"
    if l == L:
        return r"\hat{y}" + (f"_{{{j}}}" if n > 1 else "")
    return f"h_{{{j}}}" if L == 2 else f"h^{{[{l}]}}_{{{j}}}"


def _bias_spot(c: Point, tex: str, segments: list[Edge], neurons: list[Point],
               taken: list[Box]) -> Point | None:
    """Above the neuron, else below, else up and to the right: the first spot clear of every
    edge, neuron and label."""
    w, h = label_size(tex)
    up, side = NEURON_R + h / 2 + 0.02, w / 2 + 0.1
    for dx, dy in ((0.0, up), (0.0, -up), (side, up), (-side, up), (side, -up), (-side, -up)):
        p = (c[0] + dx, c[1] + dy)
        box = box_at(p[0], p[1], tex, SAFETY)
        if not any(box.overlaps(o) for o in taken) and \
                not any(box.near_circle(x, y, NEURON_R) for x, y in neurons) and \
                not any(box.crosses(a, b) for a, b in segments):
            return p
    return None


def tikz_network(units: tuple[int, ...], activations: tuple[str, ...],
                 weights: list[np.ndarray] | None = None,
                 biases: list[np.ndarray | None] | None = None,
                 digits: int = 3, bias_names: list[str] | None = None,
                 weight_names: list[str] | None = None, layout: str = "rows") -> str:
    """TikZ source. weights[l] is W_{l+1} in the rows layout (in x out), biases[l] is 1 x out;
    `layout` is how a matrix under the picture is shown (columns: out x in)."""
    L = len(units) - 1
    values = weights is not None and max(units) <= VALUES_UP_TO
    dx = min(4.6, 14.0 / max(L, 1))
    dy = 1.6 if values else 0.9
    pos: dict[tuple[int, int], Point] = {}
    body: list[str] = []
    for l, n in enumerate(units):
        shown = _shown_units(n)
        top = (len(shown) - 1) / 2
        for k, j in enumerate(shown):
            xy = (l * dx, (top - k) * dy)
            if j is None:
                body.append(rf"  \node at ({xy[0]:.2f}, {xy[1]:.2f}) {{$\vdots$}};")
                continue
            pos[(l, j)] = xy
            body.append(rf"  \node[neuron] (L{l}N{j}) at ({xy[0]:.2f}, {xy[1]:.2f}) "
                        f"{{${_unit_label(l, j, n, L)}$}};")
    neurons = list(pos.values())
    gaps: list[list[tuple[int, int, Edge]]] = [[]]
    for l in range(1, L + 1):
        gaps.append([(i, j, (pos[(l - 1, i)], pos[(l, j)]))
                     for i in _shown_units(units[l - 1]) if i is not None
                     for j in _shown_units(units[l]) if j is not None])
    segments = [e for g in gaps for _, _, e in g]
    taken: list[Box] = []
    under: list[tuple[float, str, float, float]] = []  # (x, math, width cm, height cm)
    labels: list[str] = []

    def show_matrix(l: int, name: str, m: np.ndarray) -> None:
        t = matrix(m if layout == "rows" else m.T, digits)
        rows = (m if layout == "rows" else m.T).shape[0]
        under.append(((l - 0.5) * dx, f"{name} = {t.tex}",
                      (t.width + 2.5) * SCRIPT_EM_CM, 0.36 * rows + 0.25))

    if values and biases is not None:
        for l in range(1, L + 1):
            b = biases[l - 1]
            if b is None:  # a layer without bias has none to show
                continue
            name = (bias_names or [])[l - 1] if bias_names else f"b_{{{l}}}"
            bv = np.asarray(b, dtype=float).ravel()
            spots = []
            for j in range(1, units[l] + 1):
                tex = f"{name} = {fmt(float(bv[j - 1]), digits)}"
                p = _bias_spot(pos[(l, j)], tex, segments, neurons, taken)
                if p is None:
                    break
                spots.append((j, p, tex))
                taken.append(box_at(p[0], p[1], tex))
            if len(spots) < units[l]:
                del taken[len(taken) - len(spots):]
                m = bv.reshape(1, -1)
                t = matrix(m if layout == "rows" else m.T, digits)
                under.append((l * dx, f"{name} = {t.tex}", (t.width + 2.5) * SCRIPT_EM_CM,
                              0.36 * (1 if layout == "rows" else units[l]) + 0.25))
                continue
            for j, p, tex in spots:
                labels.append(rf"  \node[b] (B{l}-{j}) at ({p[0]:.2f}, {p[1]:.2f}) {{${tex}$}};")

    for l in range(1, L + 1):
        if not values or weights is None:
            continue
        W = np.asarray(weights[l - 1], dtype=float)
        name = (weight_names or [])[l - 1] if weight_names else f"W_{{{l}}}"
        if W.size > 1 and np.all(W == W.flat[0]):
            text = rf"\text{{all weights }} {{{fmt(float(W.flat[0]), digits)}}}"
            under.append(((l - 0.5) * dx, f"{name}\\colon {text}",
                          label_size(text)[0] + 1.0, 0.45))
            continue
        gap = [(e, fmt(float(W[i - 1, j - 1]), digits)) for i, j, e in gaps[l]]
        others = [e for g in gaps[:l] + gaps[l + 1:] for _, _, e in g]
        centres = place_gap(gap, others, neurons, taken) if len(gap) <= MAX_EDGE_LABELS else None
        if centres is None:
            show_matrix(l, name, W)
            continue
        for (i, j, _), (_, tex), (x, y) in zip(gaps[l], gap, centres, strict=True):
            labels.append(rf"  \node[w] (E{l}-{i}-{j}) at ({x:.2f}, {y:.2f}) {{${tex}$}};")
            taken.append(box_at(x, y, tex))

    top = max([y + NEURON_R for _, y in neurons] + [b.y1 for b in taken]) + 0.3
    lines = [
        r"\begin{tikzpicture}[x=1cm, y=1cm, >=stealth,",
        r"  neuron/.style={circle, draw, thick, fill=white, minimum size=8mm, inner sep=0pt, font=\footnotesize},",
        r"  edge/.style={->, gray!60},",
        r"  w/.style={font=\scriptsize, text=black, fill=white, inner sep=1pt},",
        r"  b/.style={font=\scriptsize, text=blue!60!black, fill=white, inner sep=1pt}]",
    ]
    lines += body + [rf"  \draw[edge] (L{l - 1}N{i}) -- (L{l}N{j});"
                     for l in range(1, L + 1) for i, j, _ in gaps[l]] + labels
    for l, n in enumerate(units):
        head = "input" if l == 0 else ACT_NAME[activations[l - 1]]
        lines.append(rf"  \node[font=\footnotesize\itshape, text=gray] at ({l * dx:.2f}, {top:.2f}) {{{head}}};")
        if n > MAX_SHOWN:
            low = -((len(_shown_units(n)) - 1) / 2) * dy - 0.75 * dy
            lines.append(rf"  \node[font=\scriptsize, text=gray] at ({l * dx:.2f}, {low:.2f}) {{{n} units}};")
    bottom = min([y - NEURON_R for _, y in neurons] + [b.y0 for b in taken])
    lines += _under(under, bottom - 0.2, L * dx)
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def _under(items: list[tuple[float, str, float, float]], y: float, right: float) -> list[str]:
    """Matrices and notes under the picture: side by side under their gaps when they fit,
    else one under the other."""
    items = sorted(items, key=lambda t: t[0])
    fits = all(b[0] - b[2] / 2 > a[0] + a[2] / 2 + 0.3 for a, b in zip(items, items[1:], strict=False))
    out = []
    for x, tex, w, h in items:
        x = min(max(x, w / 2), max(right - w / 2, w / 2))
        out.append(rf"  \node[font=\scriptsize, anchor=north] at ({x:.2f}, {y:.2f}) {{${tex}$}};")
        if not fits:
            y -= h + 0.15
    return out
