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

from ..engine.layers import layers_of
from ..engine.network import forward
from ..engine.solution import NetworkSolution
from ..engine.solve import make_net
from ..render import formulas as F
from ..render import plots, regions
from ..render.diagram import tikz_network
from ..render.numbers import fmt
from ..render.stack import Stage, tikz_stack
from ..spec.setups import Document, NetworkSetup
from .content import Figure
from .escape import escape
from .worked.base import Namer

Placed = dict[str, list[Any]]  # part key (given, update, training) -> items
TEXT_WIDTH_IN = 17 / 2.54  # A4 with 2 cm margins (templates/base.tex.j2)
CHUNK_ENTRIES = 250_000  # entries of one layer's values while the decision boundary is drawn


def default_figures(s: NetworkSetup, document: str) -> list[str]:
    out = ["network"]
    if s.epochs > 1 or s.batch_size < s.X.shape[0]:
        out.append("loss_curve")
    if document == "report":
        out.append("activations")
    if s.X.ndim > 2:  # sequences or images: no scatter of the features
        return out
    two_d = s.X.shape[1] == 2 and s.task == "classification"
    if two_d and s.epochs > 1:
        out.append("decision_boundary")
    elif s.X.shape[1] in (2, 3):
        out.append("data")  # classes by marker, real-valued targets by colour
    return out


def _diagram(s: NetworkSetup, params: dict[str, np.ndarray], caption: str, label: str,
             intro: str) -> Figure:
    L = s.depth
    # display names as in the formulas (b_out -> b_{out}, not b_o ut)
    namer = Namer(s.names, L, s.symbols)

    def name(p: str, l: int) -> str:  # names:, then symbols: (W: w), as the key's lines
        if f"{p}{l}" in s.names or p in s.symbols:
            return namer(f"{p}{l}")
        return (r"\theta" if p == "theta" else p) + f"_{{{l}}}"

    kinds = ["theta" if f"theta{l}" in params else "b" for l in range(1, L + 1)]
    # each layer's edges as its type draws them: W_l's entries, a scaling layer's a_l ...
    edges = [lay.edges(params, l) for l, lay in enumerate(layers_of(s.kinds, L), 1)]
    tikz = tikz_network(s.units, s.activations, [e for _, e in edges],
                        [params.get(f"{k}{l}") for l, k in enumerate(kinds, 1)], digits=s.digits,
                        bias_names=[name(k, l) for l, k in enumerate(kinds, 1)],
                        weight_names=[name(w.rstrip("0123456789"), l)
                                      for l, (w, _) in enumerate(edges, 1)], layout=s.layout,
                        unit=F.symbol(s.symbols["H"]) if "H" in s.symbols else "h",
                        shown=[params[w] for w, _ in edges], types=s.kinds)
    return Figure("", caption, label=label, intro=intro, tikz=tikz)


def _pair(name: str, p: tuple[int, int]) -> str:
    return rf"\text{{{name} }}{p[0]}" if p[0] == p[1] else rf"\text{{{name} }}({p[0]}, {p[1]})"


def _op(kind: str, cfg: dict[str, Any], act: str, digits: int) -> list[str]:
    """What a layer does, as lines of math on the arrow into its output: conv 2 x 2,
    stride 1, ReLU. Only validated numbers and fixed words: nothing a spec writes freely."""
    if kind == "conv":
        (kh, kw), pad = cfg["kernel"], cfg["padding"]
        out = [rf"\text{{conv }}{kh} \times {kw}", _pair("stride", cfg["stride"])]
        if pad != (0, 0):
            out.append(_pair("padding", pad))
        return out + [rf"\text{{{F.ACT_NAME[cfg['activation']]}}}"]
    if kind == "pool":
        (h, w) = cfg["size"]
        return [rf"\text{{{cfg['kind']} pool }}{h} \times {w}", _pair("stride", cfg["stride"])]
    if kind == "dropout":
        return [r"\text{dropout}", f"p = {fmt(cfg['p'], digits)}"]
    if kind == "rnn":
        what = "last state" if cfg["return"] == "last" else "every state"
        return [rf"\text{{rnn, {F.ACT_NAME[cfg['activation']]}}}", rf"\text{{{what}}}"]
    if kind == "attention":
        out = [r"\text{attention}", rf"d_k = {cfg['d_k']},\ d_v = {cfg['d_v']}"]
        return out + ([r"\text{causal}"] if cfg["causal"] else [])
    if kind in ("flatten", "batchnorm"):
        return [rf"\text{{{kind}}}"]
    # a dense layer (or another unconfigured type): its type and activation
    head = "dense" if kind == "dense" else kind.replace("_", r"\_")
    return [rf"\text{{{head}}}", rf"\text{{{F.ACT_NAME[act]}}}"]


def _stack(s: NetworkSetup, label: str, intro: str) -> Figure:
    """The network as what flows through it (render/stack.py): each layer's output for one
    sample, named as the key names it, with its shape, the layer written on the arrow."""
    L = s.depth
    namer = Namer(s.names, L, s.symbols)
    stages = [Stage(namer(f"H{l}"), tuple(int(n) for n in s.shapes[l])) for l in range(L + 1)]
    ops = [_op(k, s.layer_cfgs[l], s.activations[l], s.digits)
           for l, k in enumerate(s.kinds or ("dense",) * L)]
    what = ["a vector as a column of units"]
    if any(len(st.shape) == 3 for st in stages):
        what.insert(0, "a stack of feature maps (channels $\\times$ height $\\times$ width) as "
                    "slabs")
    if any(len(st.shape) == 2 for st in stages):
        what.insert(0, "a sequence (steps $\\times$ features) as its steps' vectors side by "
                    "side")
    caption = ("The network: each layer's output for one sample, " + "; ".join(what) +
               ". The layer that makes it is written on the arrow.")
    return Figure("", caption, label=label, intro=intro, tikz=tikz_stack(stages, ops))


def drawable(s: Any) -> bool:
    """Every layer of the network draws its edges (a conv, pool or other configured layer
    does not yet: the figure is left out, the Given part shows the values)."""
    try:
        for l, lay in enumerate(layers_of(s.kinds, s.depth), 1):
            lay.edges(s.params, l)
    except NotImplementedError:
        return False
    return True


def _ref(label: str) -> str:
    return rf"Figure~\ref{{{label}}}"


def network_figures(sol: NetworkSolution, document: str, folder: Path,
                    cache: Path | None) -> Placed:
    s = sol.setup
    kinds = list(s.figures) if s.figures is not None else default_figures(s, document)
    placed: Placed = {"given": [], "update": [], "training": [], "evaluation": [],
                      "experiments": []}
    lab = f"fig:{s.id}"
    if "network" in kinds and s.layer_cfgs:  # configured layers: the stack of what flows
        placed["given"].append(_stack(s, f"{lab}-network",  # through it, then each layer's own
                                      f"{_ref(lab + '-network')} draws the network."))
        placed["given"] += layer_figures(sol, folder, cache)
    elif "network" in kinds and drawable(s):
        small = max(s.units) <= 6
        what = "initial weights and biases" if small else "layers wider than six units collapsed"
        if small and s.depth > 2:
            what += r"; $h^{[l]}_j$ is unit $j$ of hidden layer $l$"
        placed["given"].append(_diagram(s, s.params, f"The network ({what}).", f"{lab}-network",
                                        f"{_ref(lab + '-network')} draws the network."))
        if small:
            item = _diagram(s, sol.new_params, "The network after the update.", f"{lab}-updated",
                            f"{_ref(lab + '-updated')} shows the weights after the update.")
            item.in_questions = False
            placed["update"].append(item)
    classes = s.task == "classification"
    if "data" in kinds and s.X.ndim == 2 and s.X.shape[1] >= 2:
        path = plots.scatter(s.X, s.Y, folder, cache, classes)
        what = "coloured by class" if classes else "coloured by target value"
        # shown at the size it is drawn: a few samples take a small figure
        width = rf"{min(plots.scatter_size(s.X, classes)[0] / TEXT_WIDTH_IN, 0.8):.2f}\linewidth"
        placed["given"].append(Figure(path, f"The data, {what}.", width,
                                      label=f"{lab}-data",
                                      intro=f"{_ref(lab + '-data')} plots the data."))
    if "activations" in kinds:
        alphas = {a: al for a, al in zip(s.activations, s.alphas, strict=True)}
        path = plots.activations(list(dict.fromkeys(s.activations)), alphas, folder, cache)
        placed["given"].append(Figure(
            path, "The activation functions of this network and their derivatives.",
            r"0.9\linewidth" if document != "report" else r"0.6\linewidth",
            label=f"{lab}-activations",
            intro=f"{_ref(lab + '-activations')} plots the activation functions."))
    if "loss_curve" in kinds and len(sol.history) > 1:
        path = plots.loss_curve(sol.history, folder, cache)
        placed["training"].append(Figure(
            path, "Training loss at the start of each epoch.",
            r"0.75\linewidth" if document != "report" else r"0.5\linewidth",
            in_questions=False, label=f"{lab}-loss",
            intro=f"{_ref(lab + '-loss')} shows the loss over the epochs."))
    if "decision_boundary" in kinds and s.X.ndim == 2 and s.X.shape[1] == 2 and classes:
        net = make_net(s)

        rows = max(1, CHUNK_ENTRIES // max(s.units))  # grid points per forward pass

        def predictor(params: dict[str, np.ndarray]) -> Any:
            # in chunks: 25,600 grid points through a 2000-unit layer would hold 400 MB a layer
            return lambda G: np.concatenate([forward(net, params, G[i:i + rows])[1][-1]
                                             for i in range(0, len(G), rows)])

        key = (s.params, sol.final_params)
        path = regions.decision_boundary(s.X, s.Y, predictor(s.params), predictor(sol.final_params),
                                       folder, cache, tuple(v for d in key for v in d.values()))
        placed["training"].append(Figure(
            path, "Predicted regions before and after training, with the data on top.",
            r"0.95\linewidth", in_questions=False, label=f"{lab}-boundary",
            intro=f"{_ref(lab + '-boundary')} compares the predictions before and after "
                  "training."))
    report_figures(sol, placed, folder, cache)
    return placed


def _rnn_figure(sol: NetworkSolution, l: int, folder: Path, cache: Path | None) -> Figure:
    from ..render.sequences import unrolled_figure

    s = sol.setup
    cfg = s.layer_cfgs[l - 1]
    steps = s.shapes[l - 1][0]
    path = unrolled_figure(steps, folder, cache, cfg.get("return", "last"), f"h0{l}" in s.params,
                           cfg.get("activation", "tanh"))
    label = f"fig:{s.id}-rnn{l}"
    return Figure(path, f"Layer {l} unrolled over its {steps} steps: the same weights at every "
                  "step.", r"0.8\linewidth", label=label,
                  intro=f"{_ref(label)} unrolls the recurrent layer {l}.")


def _attention_figure(sol: NetworkSolution, l: int, folder: Path, cache: Path | None
                      ) -> Figure:
    from ..render.sequences import attention_figure

    s = sol.setup
    A = np.asarray(sol.step.values[f"A{l}"], dtype=float)[0]
    mask = np.tril(np.ones(A.shape, dtype=bool)) if s.layer_cfgs[l - 1].get("causal") else None
    path = attention_figure(A, folder, cache, s.digits, mask)
    label = f"fig:{s.id}-attention{l}"
    who = " of the first sample" if sol.step.H[0].shape[0] > 1 else ""
    return Figure(path, f"The attention weights $A$ of layer {l}{who} (computed in the forward "
                  "pass).", r"0.45\linewidth", in_questions=False, label=label,
                  intro=f"{_ref(label)} shows the attention weights as a heat map.")


LAYER_FIGURES = {"rnn": _rnn_figure, "attention": _attention_figure}  # kind -> its figure


def layer_figures(sol: NetworkSolution, folder: Path, cache: Path | None) -> list[Figure]:
    """The figures of a network of configured layers, where the diagram of units goes: each
    layer's own (the rnn unrolled, attention's weights); none for a type without one."""
    kinds = sol.setup.kinds
    return [LAYER_FIGURES[k](sol, l, folder, cache) for l, k in enumerate(kinds, 1)
            if k in LAYER_FIGURES]


IMAGES_SHOWN = 24  # test images in the grid


def report_figures(sol: NetworkSolution, placed: Placed, folder: Path, cache: Path | None) -> None:
    """Evaluation on the test set and the experiments' loss curves."""
    from ..engine.evaluate import classes as true_classes
    from ..engine.evaluate import predicted
    from ..render import report_plots as rp

    s = sol.setup
    lab = f"fig:{s.id}"
    if sol.test is not None and s.X_test is not None and s.Y_test is not None:
        if sol.test.confusion is not None:
            path = rp.confusion_figure(sol.test.confusion, folder, cache)
            placed["evaluation"].append(Figure(
                path, "Confusion matrix on the test set: rows are the true classes, columns "
                "the predicted ones; the diagonal counts the right answers.", r"0.35\linewidth",
                in_questions=False, label=f"{lab}-confusion",
                intro=f"{_ref(lab + '-confusion')} shows which classes are mistaken for which."))
            if s.image_shape is not None:
                n = min(IMAGES_SHOWN, len(s.X_test))
                path = rp.images_figure(s.X_test[:n], true_classes(s.Y_test[:n]),
                                        predicted(sol.test.yhat[:n]), s.image_shape, folder, cache)
                placed["evaluation"].append(Figure(
                    path, f"The first {n} test images with the predicted class above each; a "
                    "wrong prediction is framed in red with the true class in parentheses.",
                    r"0.6\linewidth", in_questions=False, label=f"{lab}-images",
                    intro=f"{_ref(lab + '-images')} shows test images and their predictions."))
        else:
            path = rp.fit_figure(sol.test.yhat, s.Y_test, folder, cache)
            placed["evaluation"].append(Figure(
                path, "Test set: predicted against true values (left; the dashed line is a "
                "perfect fit) and the residuals (right).", r"0.9\linewidth", in_questions=False,
                label=f"{lab}-fit", intro=f"{_ref(lab + '-fit')} compares predictions with "
                "the true test values."))
    groups: dict[str, list[Any]] = {}
    for r in sol.runs:
        groups.setdefault(r.group, []).append(r)
    for k, (group, runs) in enumerate(groups.items()):
        path = rp.runs_figure(runs, folder, cache)
        test = " (solid: training loss with its penalty; dashed: test loss)" \
            if any(r.history_test for r in runs) else ""
        placed["experiments"].append(Figure(
            path, f"{escape(group)}: loss per epoch of each run{test}.", r"0.5\linewidth",
            in_questions=False, label=f"{lab}-runs-{k}", before=f"runs-{k}",
            intro=f"{_ref(lab + f'-runs-{k}')} overlays the runs' losses."))
        if s.X.shape[1] == 2 and s.task == "classification":  # what each run learnt
            preds = [(r.name, _predictor(r.setup, r.final)) for r in runs]
            key = tuple(v for r in runs for v in r.final.values())
            path = rp.boundaries_figure(s.X, s.Y, preds, key, folder, cache)
            placed["experiments"].append(Figure(
                path, f"{escape(group)}: the regions each run predicts after training, with the "
                "training data on top.", r"\linewidth", in_questions=False,
                label=f"{lab}-regions-{k}", before=f"runs-{k}",
                intro=f"{_ref(lab + f'-regions-{k}')} shows what each run learnt."))


def _predictor(s: NetworkSetup, params: dict[str, np.ndarray]) -> Any:
    """Predictions over a grid in bounded chunks (a wide layer would hold a lot at once)."""
    net = make_net(s)
    rows = max(1, CHUNK_ENTRIES // max(s.units))
    return lambda G: np.concatenate([forward(net, params, G[i:i + rows])[1][-1]
                                     for i in range(0, len(G), rows)])


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
