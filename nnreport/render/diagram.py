"""The network as a TikZ picture drawn inside the .tex: columns of labelled neurons, the
activation of each layer, and, for small networks, every weight on its edge and every bias
beside its neuron. Layers wider than MAX_SHOWN collapse to a few neurons, dots and a count.

Node names are stable (`L0N1` = input 1, `L2N3` = unit 3 of layer 2) so tests can read the
edges back: an edge line is `\\draw[edge] (L0N1) -- node[w] {$0.5$} (L1N2);`.
"""

from __future__ import annotations

import numpy as np

from .formulas import ACT_NAME
from .numbers import fmt

MAX_SHOWN = 6     # a layer with more units than this collapses
VALUES_UP_TO = 6  # weights and biases are written on the picture when every layer is this small


def _shown_units(n: int) -> list[int | None]:
    """Unit numbers drawn for a layer of n units; None marks the dots."""
    if n <= MAX_SHOWN:
        return list(range(1, n + 1))
    return [1, 2, 3, None, n]


def tikz_network(units: tuple[int, ...], activations: tuple[str, ...],
                 weights: list[np.ndarray] | None = None,
                 biases: list[np.ndarray | None] | None = None,
                 digits: int = 3, bias_names: list[str] | None = None) -> str:
    """TikZ source. weights[l] is W_{l+1} in the rows layout (in x out), biases[l] is 1 x out."""
    L = len(units) - 1
    values = weights is not None and max(units) <= VALUES_UP_TO
    dx = min(4.6, 14.0 / max(L, 1))
    dy = 1.6 if values else 0.9
    lines = [
        rf"\begin{{tikzpicture}}[x={dx:.2f}cm, y={dy:.2f}cm, >=stealth,",
        r"  neuron/.style={circle, draw, thick, fill=white, minimum size=8mm, inner sep=0pt, font=\footnotesize},",
        r"  edge/.style={->, gray!60},",
        r"  w/.style={font=\scriptsize, text=black, inner sep=0.8pt, sloped, above},",
        r"  b/.style={font=\scriptsize, text=blue!60!black}]",
    ]
    for l, n in enumerate(units):
        shown = _shown_units(n)
        top = (len(shown) - 1) / 2
        for k, j in enumerate(shown):
            y = top - k
            if j is None:
                lines.append(rf"  \node at ({l}, {y:.2f}) {{$\vdots$}};")
                continue
            if l == 0:
                label = f"x_{{{j}}}"
            elif l == L:
                label = r"\hat{y}" + (f"_{{{j}}}" if n > 1 else "")
            else:
                label = f"h_{{{j}}}" if L == 2 else f"h^{{({l})}}_{{{j}}}"
            lines.append(rf"  \node[neuron] (L{l}N{j}) at ({l}, {y:.2f}) {{${label}$}};")
            bl = biases[l - 1] if biases is not None and l > 0 else None
            if values and bl is not None:  # a layer without bias has none to show
                b = float(np.asarray(bl).ravel()[j - 1])
                name = (bias_names or [])[l - 1] if bias_names else f"b_{{{l}}}"
                lines.append(rf"  \node[b, above=0.2mm of L{l}N{j}] {{${name}{{=}}{fmt(b, digits)}$}};")
        head = "input" if l == 0 else ACT_NAME[activations[l - 1]]
        lines.append(rf"  \node[font=\footnotesize\itshape, text=gray] at ({l}, {top + 0.9:.2f}) {{{head}}};")
        if n > MAX_SHOWN:
            lines.append(rf"  \node[font=\scriptsize, text=gray] at ({l}, {-top - 0.75:.2f}) {{{n} units}};")
    for l in range(1, L + 1):
        W = None if weights is None else np.asarray(weights[l - 1])
        for i in [u for u in _shown_units(units[l - 1]) if u is not None]:
            for j in [u for u in _shown_units(units[l]) if u is not None]:
                if values and W is not None:
                    # along the edge; each source's labels at their own distance, so labels of
                    # crossing edges from different sources never share a spot
                    n_in = units[l - 1]
                    pos = 0.17 + (0.62 * (i - 1) / (n_in - 1) if n_in > 1 else 0.0)
                    lines.append(rf"  \draw[edge] (L{l - 1}N{i}) -- node[w, pos={pos:.2f}] {{${fmt(float(W[i - 1, j - 1]), digits)}$}} (L{l}N{j});")
                else:
                    lines.append(rf"  \draw[edge] (L{l - 1}N{i}) -- (L{l}N{j});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)
