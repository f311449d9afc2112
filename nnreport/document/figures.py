"""Which figures each problem gets and where they go in the document.

Defaults (a problem's `figures:` list overrides them; `figures: []` turns them off):
network diagram for every network problem; loss curve when there is more than one epoch;
activation functions in reports; decision boundary for 2-input classification trained over
several epochs; data scatter for 2- or 3-feature classification otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..engine.network import forward
from ..engine.solve import NetworkSolution, make_net
from ..render import plots
from ..render.diagram import tikz_network
from ..spec.resolve import Document, NetworkSetup
from .content import Figure, Raw

Placed = dict[str, list[Any]]  # part key (given, update, training) -> items
CHUNK_ENTRIES = 250_000  # entries of one layer's values while the decision boundary is drawn


def _is_classification(s: NetworkSetup) -> bool:
    return bool(np.all((s.Y == 0) | (s.Y == 1))) and s.loss in ("bce", "cce", "mse")


def default_figures(s: NetworkSetup, document: str) -> list[str]:
    out = ["network"]
    if s.epochs > 1 or s.batch_size < s.X.shape[0]:
        out.append("loss_curve")
    if document == "report":
        out.append("activations")
    two_d = s.X.shape[1] == 2 and _is_classification(s)
    if two_d and s.epochs > 1:
        out.append("decision_boundary")
    elif s.X.shape[1] in (2, 3) and _is_classification(s):
        out.append("data")
    return out


def _diagram(s: NetworkSetup, params: dict[str, np.ndarray], caption: str) -> Raw:
    L = s.depth
    names = [s.names.get(f"b{l}", f"b_{{{l}}}") for l in range(1, L + 1)]
    tikz = tikz_network(s.units, s.activations, [params[f"W{l}"] for l in range(1, L + 1)],
                        [params[f"b{l}"] for l in range(1, L + 1)], digits=3, bias_names=names)
    return Raw("\\begin{center}\n" + tikz + "\\\\[0.5ex]\n{\\small " + caption + "}\n\\end{center}")


def network_figures(sol: NetworkSolution, document: str, folder: Path,
                    cache: Path | None) -> Placed:
    s = sol.setup
    kinds = list(s.figures) if s.figures is not None else default_figures(s, document)
    placed: Placed = {"given": [], "update": [], "training": []}
    if "network" in kinds:
        small = max(s.units) <= 6
        what = "initial weights on the edges, biases beside the neurons" if small else \
            "layers wider than six units collapsed"
        placed["given"].append(_diagram(s, s.params, f"The network ({what})."))
        if small:
            item = _diagram(s, sol.new_params, "The network after the update.")
            item.in_questions = False
            placed["update"].append(item)
    if "data" in kinds and s.X.shape[1] >= 2:
        path = plots.scatter(s.X, s.Y, folder, cache)
        placed["given"].append(Figure(path, "The data, coloured by class.", r"0.55\linewidth"))
    if "activations" in kinds:
        alphas = {a: al for a, al in zip(s.activations, s.alphas, strict=True)}
        path = plots.activations(list(dict.fromkeys(s.activations)), alphas, folder, cache)
        placed["given"].append(Figure(path, "The activation functions of this network and their derivatives.",
                                      r"0.9\linewidth"))
    if "loss_curve" in kinds and len(sol.history) > 1:
        path = plots.loss_curve(sol.history, folder, cache)
        placed["training"].append(Figure(path, "Training loss at the start of each epoch.",
                                         r"0.75\linewidth", in_questions=False))
    if "decision_boundary" in kinds and s.X.shape[1] == 2:
        net = make_net(s)

        rows = max(1, CHUNK_ENTRIES // max(s.units))  # grid points per forward pass

        def predictor(params: dict[str, np.ndarray]) -> Any:
            # in chunks: 25,600 grid points through a 2000-unit layer would hold 400 MB a layer
            return lambda G: np.concatenate([forward(net, params, G[i:i + rows])[1][-1]
                                             for i in range(0, len(G), rows)])

        key = (s.params, sol.final_params)
        path = plots.decision_boundary(s.X, s.Y, predictor(s.params), predictor(sol.final_params),
                                       folder, cache, tuple(v for d in key for v in d.values()))
        placed["training"].append(Figure(path, "Predicted regions before and after training, "
                                         "with the data on top.", r"0.95\linewidth", in_questions=False))
    return placed


def make_figures(doc: Document, solutions: dict[str, Any], folder: Path,
                 cache: Path | None = None) -> tuple[dict[str, Placed], dict[str, Path]]:
    """Draw (or reuse) every figure into folder/figures; return items per problem and the
    files the .tex needs beside it."""
    out: dict[str, Placed] = {}
    for setup in doc.problems:
        sol = solutions[setup.id]
        if isinstance(sol, NetworkSolution):
            out[setup.id] = network_figures(sol, doc.spec.document, folder, cache)
    files = {str(p.relative_to(folder)): p for p in (folder / "figures").glob("*.pdf")} \
        if (folder / "figures").is_dir() else {}
    return out, files
