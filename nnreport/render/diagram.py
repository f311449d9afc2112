"""The network as a TikZ picture drawn inside the .tex: columns of labelled neurons, the
activation of each layer, and, for small networks, the weights and biases.

Numbers follow the document's number rule (`fmt`) and never touch each other or a foreign
edge (placement in `labels.py`): a weight sits on its own edge; a layer gap whose weights are
all equal says so once under the gap ("all weights 1"); a gap with more than MAX_EDGE_LABELS
edges, or whose labels find no free spot, shows its weight matrix under the gap instead. A
bias sits beside its neuron, or the layer's bias vector goes under the picture. Layers wider
than MAX_SHOWN collapse to a few neurons, dots and a count.

A layer that does not connect every input to every unit (a scaling layer feeds unit j from
input j alone) draws only its edges: its matrix of edge values is NaN where there is none, and
the values under its gap are its own parameter (`shown`), not that matrix.

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


def _unit_label(l: int, j: int, n: int, L: int, unit: str = "h") -> str:
    """x_j, the hidden units h_j (h^[l]_j in deeper networks; `unit`: the course's letter
    for H, symbols: {H: o}), the output yhat_j."""
    if l == 0:
        return f"x_{{{j}}}"
    if l == L:
        return r"\hat{y}" + (f"_{{{j}}}" if n > 1 else "")
    return f"{unit}_{{{j}}}" if L == 2 else f"{unit}^{{[{l}]}}_{{{j}}}"


def entry_name(vector: str, j: int) -> str:
    """The name of entry j of a bias vector: b_{1} -> b_{1,j}, b_{\\mathrm{out}} ->
    b_{\\mathrm{out},j}, B -> B_{j}. One symbol with several values would read as one number."""
    if vector.endswith("}"):
        depth = 0
        for k in range(len(vector) - 1, -1, -1):
            depth += {"}": 1, "{": -1}.get(vector[k], 0)
            if depth == 0:
                if vector[k - 1:k] == "_":
                    return f"{vector[:-1]},{j}}}"
                break
    return f"{vector}_{{{j}}}"


# where a bias label sits, the same for every neuron of a picture: centred above the neuron,
# else centred below it
SIDES = (1.0, -1.0)


def _place_biases(labels: list[tuple[int, list[tuple[Point, str]]]], side: float,
                  segments: list[Edge], neurons: list[Point]) -> dict[int, list[Point]]:
    """Label centres of every layer whose biases all fit on `side`, clear of every edge,
    neuron and label; a layer that does not fit is left out (its vector goes under the
    picture). Every label is centred the same distance from its neuron, room for the
    tallest."""
    high = max((label_size(tex)[1] for _, entries in labels for _, tex in entries), default=0.0)
    ox, oy = 0.0, side * (NEURON_R + high / 2 + 2 * SAFETY)
    taken: list[Box] = []
    out: dict[int, list[Point]] = {}
    for l, entries in labels:
        spots = []
        for c, tex in entries:
            box = box_at(c[0] + ox, c[1] + oy, tex, SAFETY)
            if any(box.overlaps(o) for o in taken) or \
                    any(box.near_circle(x, y, NEURON_R) for x, y in neurons) or \
                    any(box.crosses(a, b) for a, b in segments):
                break
            spots.append((c[0] + ox, c[1] + oy))
        if len(spots) == len(entries):
            out[l] = spots
            taken += [box_at(x, y, tex) for (x, y), (_, tex) in zip(spots, entries, strict=True)]
    return out


def _positions(units: tuple[int, ...], dx: float, dy: float) -> dict[tuple[int, int], Point]:
    pos: dict[tuple[int, int], Point] = {}
    for l, n in enumerate(units):
        shown = _shown_units(n)
        top = (len(shown) - 1) / 2
        for k, j in enumerate(shown):
            if j is not None:
                pos[(l, j)] = (l * dx, (top - k) * dy)
    return pos


def _edges(units: tuple[int, ...], pos: dict[tuple[int, int], Point],
           weights: list[np.ndarray] | None = None) -> list[list[tuple[int, int, Edge]]]:
    """The drawn edges of each layer gap (index l: into layer l; index 0 is empty): every
    pair of shown units, but for a NaN weight (no such connection)."""
    gaps: list[list[tuple[int, int, Edge]]] = [[]]
    for l in range(1, len(units)):
        W = None if weights is None else np.asarray(weights[l - 1], dtype=float)
        gaps.append([(i, j, (pos[(l - 1, i)], pos[(l, j)]))
                     for i in _shown_units(units[l - 1]) if i is not None
                     for j in _shown_units(units[l]) if j is not None
                     if W is None or not np.isnan(W[i - 1, j - 1])])
    return gaps


def tikz_network(units: tuple[int, ...], activations: tuple[str, ...],
                 weights: list[np.ndarray] | None = None,
                 biases: list[np.ndarray | None] | None = None,
                 digits: int = 3, bias_names: list[str] | None = None,
                 weight_names: list[str] | None = None, layout: str = "rows",
                 unit: str = "h", shown: list[np.ndarray] | None = None,
                 types: tuple[str, ...] = ()) -> str:
    """TikZ source. weights[l] is W_{l+1} in the rows layout (in x out; NaN: no edge),
    biases[l] is 1 x out; `shown[l]` is what goes under gap l+1 when its edges cannot carry
    the values (default: weights[l]); `layout` is how a matrix under the picture is shown
    (columns: out x in); `types` each layer's type (empty: all dense), named above a
    layer that is not dense."""
    L = len(units) - 1
    values = weights is not None and max(units) <= VALUES_UP_TO
    dy = 1.6 if values else 0.9
    names = bias_names or [f"b_{{{l}}}" for l in range(1, L + 1)]
    shown_b = [(l, np.asarray(b, dtype=float).ravel()) for l, b in enumerate(biases or [], 1)
               if b is not None] if values else []

    def bias_name(l: int, j: int) -> str:  # a layer of one unit: its vector has one entry
        return entry_name(names[l - 1], j) if units[l] > 1 else names[l - 1]

    # the biases all on one side of their neurons; a wider picture (flatter edges) when they
    # do not fit at the compact width; a layer that fits nowhere shows its vector under it
    best: tuple[int, float, float, dict[int, list[Point]]] | None = None
    for dx in dict.fromkeys((min(4.6, 14.0 / max(L, 1)), min(5.8, 14.0 / max(L, 1)),
                             min(7.0, 14.0 / max(L, 1)))):
        pos = _positions(units, dx, dy)
        segments = [e for g in _edges(units, pos, weights) for _, _, e in g]
        bias_texts = [(l, [(pos[(l, j)], f"{bias_name(l, j)} = {fmt(float(v), digits)}")
                           for j, v in enumerate(bv, 1)]) for l, bv in shown_b]
        for side in SIDES:
            placed = _place_biases(bias_texts, side, segments, list(pos.values()))
            if best is None or len(placed) > best[0]:
                best = (len(placed), dx, side, placed)
        assert best is not None
        if best[0] == len(shown_b):
            break
    assert best is not None
    _, dx, side, placed = best
    pos = _positions(units, dx, dy)
    body: list[str] = []
    for l, n in enumerate(units):
        for k, j in enumerate(_shown_units(n)):
            if j is None:
                x, y = l * dx, ((len(_shown_units(n)) - 1) / 2 - k) * dy
                body.append(rf"  \node at ({x:.2f}, {y:.2f}) {{$\vdots$}};")
                continue
            x, y = pos[(l, j)]
            body.append(rf"  \node[neuron] (L{l}N{j}) at ({x:.2f}, {y:.2f}) "
                        f"{{${_unit_label(l, j, n, L, unit)}$}};")
    neurons = list(pos.values())
    gaps = _edges(units, pos, weights)
    taken: list[Box] = []
    under: list[tuple[float, str, float, float]] = []  # (x, math, width cm, height cm)
    labels: list[str] = []

    def show_matrix(x: float, name: str, m: np.ndarray, rows: int) -> None:
        t = matrix(m if layout == "rows" else m.T, digits)
        under.append((x, f"{name} = {t.tex}", (t.width + 2.5) * SCRIPT_EM_CM, 0.36 * rows + 0.25))

    for l, bv in shown_b:
        if l not in placed:
            show_matrix(l * dx, names[l - 1], bv.reshape(1, -1), 1 if layout == "rows" else units[l])
            continue
        for j, (x, y) in enumerate(placed[l], 1):
            tex = f"{bias_name(l, j)} = {fmt(float(bv[j - 1]), digits)}"
            labels.append(rf"  \node[b] (B{l}-{j}) at ({x:.2f}, {y:.2f}) {{${tex}$}};")
            taken.append(box_at(x, y, tex))

    for l in range(1, L + 1):
        if not values or weights is None:
            continue
        W = np.asarray(weights[l - 1], dtype=float)
        own = W if shown is None else np.asarray(shown[l - 1], dtype=float)
        name = (weight_names or [])[l - 1] if weight_names else f"W_{{{l}}}"
        drawn = W[~np.isnan(W)]
        if drawn.size > 1 and np.all(drawn == drawn[0]):
            text = rf"\text{{all weights }} {{{fmt(float(drawn[0]), digits)}}}"
            under.append(((l - 0.5) * dx, f"{name}\\colon {text}",
                          label_size(text)[0] + 1.0, 0.45))
            continue
        gap = [(e, fmt(float(W[i - 1, j - 1]), digits)) for i, j, e in gaps[l]]
        others = [e for g in gaps[:l] + gaps[l + 1:] for _, _, e in g]
        centres = place_gap(gap, others, neurons, taken) if len(gap) <= MAX_EDGE_LABELS else None
        if centres is None:
            show_matrix((l - 0.5) * dx, name, own,
                        (own if layout == "rows" else own.T).shape[0])
            continue
        for (i, j, _), (_, tex), (x, y) in zip(gaps[l], gap, centres, strict=True):
            labels.append(rf"  \node[w] (E{l}-{i}-{j}) at ({x:.2f}, {y:.2f}) {{${tex}$}};")
            taken.append(box_at(x, y, tex))

    top = max([y + NEURON_R for _, y in neurons] + [b.y1 for b in taken]) + 0.3
    lines = [
        r"\begin{tikzpicture}[x=1cm, y=1cm, >=stealth,",
        r"  neuron/.style={circle, draw, thick, fill=white, minimum size=8mm, inner sep=0pt, font=\footnotesize},",
        r"  edge/.style={->, black!50},",
        r"  w/.style={font=\scriptsize, text=black, fill=white, inner sep=1pt},",
        r"  b/.style={font=\scriptsize, text=blue!60!black, fill=white, inner sep=1pt}]",
    ]
    lines += body + [rf"  \draw[edge] (L{l - 1}N{i}) -- (L{l}N{j});"
                     for l in range(1, L + 1) for i, j, _ in gaps[l]] + labels
    for l, n in enumerate(units):
        head = "input" if l == 0 else ACT_NAME[activations[l - 1]]
        if l and types and types[l - 1] != "dense":  # what its edges are: "scale, linear"
            head = types[l - 1].replace("_", r"\_") + ", " + head
        lines.append(rf"  \node[font=\footnotesize\itshape, text=black!70] at ({l * dx:.2f}, {top:.2f}) {{{head}}};")
        if n > MAX_SHOWN:
            low = -((len(_shown_units(n)) - 1) / 2) * dy - 0.75 * dy
            lines.append(rf"  \node[font=\scriptsize, text=black!70] at ({l * dx:.2f}, {low:.2f}) {{{n} units}};")
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
