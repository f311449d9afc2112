"""Hypothesis strategies over the whole documented spec grammar (docs/spec.md), for the
generative test of issue 21 (tests/test_any_spec_generated.py).

`network_problem()` draws a network problem with every documented option: layouts, every
activation (leaky_relu's alpha), bias: false per layer, every loss with eps, reduction and
factor, L2, every optimiser with its options (eps 0 for Adam and RMSprop), epochs, batch_size,
shuffle, freeze, worked_samples, names, digits/digits_for, rounding: chain, ask, points,
scaffold, space, text; and issue 23's conventions: bias: threshold, delta: error, symbols:,
momentum's heavy_ball and nesterov forms, train.state, worked_steps (a later step's value
asked), digits: {decimals: n}. `expression_problem()` draws given values and compute steps that nest
every function and operator the language has (indexing, list literals, negative literals,
axes). `document()` puts one or two problems in a spec. Specs are dicts, written as JSON
(which is YAML 1.2). Numbers are short decimals as a teacher writes them."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from nnreport.spec.setups import network_value_names

HIDDEN = ["sigmoid", "relu", "leaky_relu", "tanh", "linear", "softmax"]
OUTPUT_FOR = {"bce": ["sigmoid"], "cce": ["softmax"],
              "mse": ["linear", "linear", "sigmoid", "relu", "leaky_relu", "tanh", "softmax"],
              "sse": ["linear", "sigmoid", "relu", "leaky_relu", "tanh"]}
PARAM_NAMES = ["V", "U", "B", "C", "A", "Q"]  # display names (LaTeX: the letter itself)


SYMBOLS = ["net", "o", "Err", "w", "a", "s_j", "T"]  # the course's letters (symbols:)


def short(draw: st.DrawFn, small: bool = False) -> float:
    """A decimal as written by hand: 2, -0.5, 1.25, 0.03, sometimes 0."""
    mant = draw(st.integers(-30, 30) if small else st.integers(-250, 250))
    exp = draw(st.sampled_from([-2, -1, -1, -1, 0, 0] if not small else [-2, -1, -1, 0]))
    return float(Decimal(mant).scaleb(exp))


def matrix(draw: st.DrawFn, r: int, c: int, small: bool = False) -> list[list[float]]:
    return [[short(draw, small) for _ in range(c)] for _ in range(r)]


@st.composite
def network_problem(draw: st.DrawFn, pid: str = "p", chain_ok: bool = True,
                    default: str = "rows") -> dict[str, Any]:
    """`default`: the document's layout, which a problem without `layout:` is written in."""
    m, n_in, depth = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    loss = draw(st.sampled_from(["mse", "mse", "sse", "bce", "bce", "cce"]))
    out_act = draw(st.sampled_from(OUTPUT_FOR[loss]))
    k = draw(st.integers(2, 3)) if out_act == "softmax" else draw(st.integers(1, 2))
    units = [draw(st.integers(1, 3)) for _ in range(depth - 1)] + [k]
    acts = [draw(st.sampled_from(HIDDEN)) for _ in range(depth - 1)] + [out_act]
    acts = [a if a != "softmax" or u > 1 else "tanh" for a, u in zip(acts, units, strict=True)]
    layers: list[dict[str, Any]] = []
    for u, a in zip(units, acts, strict=True):
        layer: dict[str, Any] = {"units": u, "activation": a}
        if a == "leaky_relu" and draw(st.booleans()):
            layer["alpha"] = draw(st.sampled_from([0.1, 0.2, 0.05]))
        if draw(st.integers(0, 4)) == 0:
            layer["bias"] = draw(st.sampled_from([False, "threshold"]))  # issue 23: theta
        layers.append(layer)
    if loss == "bce":
        Y = [[draw(st.sampled_from([0, 1, 1, 0, 0.3])) for _ in range(k)] for _ in range(m)]
    elif loss == "cce":
        Y = [[1 if j == draw(st.integers(0, k - 1)) else 0 for j in range(k)] for _ in range(m)]
        if draw(st.integers(0, 5)) == 0:  # soft or multi-hot targets
            Y = [[draw(st.sampled_from([0, 0.5, 1, 0.25])) for _ in range(k)] for _ in range(m)]
    else:
        Y = matrix(draw, m, k)
    X = matrix(draw, m, n_in)
    layout = draw(st.sampled_from([None, "rows", "columns"]))
    cols = (layout or default) == "columns"
    t = (lambda a: [list(r) for r in zip(*a, strict=True)]) if cols else (lambda a: a)
    p: dict[str, Any] = {"id": pid, "data": {"X": t(X), "Y": t(Y)},
                         "network": {"layers": layers}}
    sizes = [n_in] + units
    params: dict[str, Any] = {}
    if draw(st.integers(0, 5)) == 0:  # drawn weights
        p["network"]["init"] = {"method": draw(st.sampled_from(["randn", "xavier", "he", "uniform"])),
                                "seed": draw(st.integers(0, 9)), "scale": 0.5}
    else:
        for l in range(1, depth + 1):
            params[f"W{l}"] = t(matrix(draw, sizes[l - 1], sizes[l], small=True))
            if layers[l - 1].get("bias", True) and draw(st.booleans()):
                kind = "theta" if layers[l - 1].get("bias") == "threshold" else "b"
                params[f"{kind}{l}"] = [short(draw, True) for _ in range(sizes[l])]
        p["params"] = params
    if layout:
        p["layout"] = layout
    lossspec: dict[str, Any] = {"name": loss}
    if loss in ("bce", "cce") and draw(st.integers(0, 3)) == 0:
        lossspec["eps"] = draw(st.sampled_from([1e-7, 1e-10, 0.001]))
    if draw(st.integers(0, 3)) == 0:
        lossspec["reduction"] = "sum"
    if draw(st.integers(0, 3)) == 0:
        lossspec["factor"] = draw(st.sampled_from([0.5, 2, 0.25]))
    p["loss"] = lossspec if len(lossspec) > 1 or draw(st.booleans()) else loss
    if draw(st.integers(0, 3)) == 0:
        p["regularization"] = {"l2": draw(st.sampled_from([0.1, 0.5, 0.01]))}
    opt = draw(st.sampled_from(["sgd", "sgd", "momentum", "adam", "rmsprop"]))
    optspec: dict[str, Any] = {"name": opt}
    if opt == "momentum" and draw(st.booleans()):
        optspec["beta"] = draw(st.sampled_from([0.5, 0.8, 0.99]))
    if opt == "momentum" and draw(st.integers(0, 2)) == 0:  # issue 23: the other forms
        optspec["form"] = "heavy_ball"
        if draw(st.booleans()):
            optspec["nesterov"] = True
    if opt == "rmsprop" and draw(st.booleans()):
        optspec["beta"] = draw(st.sampled_from([0.99, 0.9, 0.75]))
    if opt == "adam" and draw(st.booleans()):
        optspec["beta1"], optspec["beta2"] = draw(st.sampled_from([(0.9, 0.999), (0.5, 0.75)]))
    if opt in ("adam", "rmsprop") and draw(st.integers(0, 2)) == 0:
        optspec["eps"] = draw(st.sampled_from([1e-8, 0.001, 1e-8, 0]))  # 0: 0/0 stops (exit 5)
    train: dict[str, Any] = {"optimizer": optspec if len(optspec) > 1 else opt,
                             "lr": draw(st.sampled_from([0.1, 0.5, 1, 0.01, 0.05]))}
    train["epochs"] = draw(st.sampled_from([1, 1, 2, 3]))
    batch = m
    if m > 1 and draw(st.booleans()):
        batch = train["batch_size"] = draw(st.integers(1, m))
    if draw(st.integers(0, 3)) == 0:
        train["shuffle"] = {"seed": draw(st.integers(0, 5))}
    pnames = [f"W{l}" for l in range(1, depth + 1)] + [
        f"{'theta' if layers[l - 1].get('bias') == 'threshold' else 'b'}{l}"
        for l in range(1, depth + 1) if layers[l - 1].get("bias", True)]
    if opt != "sgd" and draw(st.integers(0, 4)) == 0:  # train.state: the state before step 1
        w = draw(st.sampled_from([x for x in pnames if x.startswith("W")]))
        l = int(w[1:])
        st_name = {"momentum": "v", "rmsprop": "s", "adam": "m"}[opt]
        st_val = matrix(draw, sizes[l - 1], sizes[l], small=True)
        if st_name == "s":  # a running mean of squares: not negative
            st_val = [[abs(x) for x in row] for row in st_val]
        train["state"] = {f"{w}_{st_name}": t(st_val)}
    if draw(st.integers(0, 4)) == 0:
        train["freeze"] = draw(st.lists(st.sampled_from(pnames), min_size=1, max_size=2, unique=True))
    p["train"] = train
    if batch > 1 and draw(st.integers(0, 4)) == 0:
        p["worked_samples"] = draw(st.integers(1, batch - 1))
    elif draw(st.integers(0, 4)) == 0:  # issue 23: several worked steps
        steps = train["epochs"] * -(-m // batch)
        if steps > 1:
            p["worked_steps"] = draw(st.integers(2, min(steps, 3)))
    if draw(st.integers(0, 4)) == 0:
        p["delta"] = "error"
    if draw(st.integers(0, 4)) == 0:
        fams = draw(st.lists(st.sampled_from(["Z", "H", "W", "dZ", "theta", "delta"]),
                             min_size=1, max_size=3, unique=True))
        p["symbols"] = dict(zip(fams, draw(st.permutations(SYMBOLS)), strict=False))  # distinct
    if draw(st.integers(0, 3)) == 0:
        chosen = draw(st.lists(st.sampled_from(pnames), min_size=1, max_size=3, unique=True))
        p["names"] = dict(zip(chosen, draw(st.permutations(PARAM_NAMES)), strict=False))
    if draw(st.integers(0, 5)) == 0:
        p["show"] = draw(st.sampled_from([["given", "forward", "loss"],
                                          ["forward", "loss", "backward", "update"],
                                          ["given", "forward", "loss", "backward", "training"]]))
    if train["epochs"] > 1 and draw(st.booleans()):
        train["log_every"] = draw(st.integers(1, 2))
    kind = "heavy_ball" if optspec.get("form") == "heavy_ball" else opt
    names = network_value_names(depth, tuple(layer.get("bias", True) for layer in layers), kind,
                                tuple(acts), loss, lossspec.get("eps"),
                                p.get("regularization", {}).get("l2", 0.0), working=True,
                                frozen=tuple(train.get("freeze", ())), show=p.get("show"),
                                delta=p.get("delta", "gradient"))
    marking(draw, p, names)
    if p.get("worked_steps", 1) > 1 and names and draw(st.booleans()):  # a later step's value
        later = f"steps[1].{draw(st.sampled_from(names))}"
        if draw(st.booleans()):
            p["ask"] = [*p.get("ask", []), later]
        else:
            p["ask"] = [later]
            if isinstance(p.get("points"), dict):  # its values are no longer asked
                del p["points"]
    if chain_ok and draw(st.integers(0, 5)) == 0:
        p["rounding"] = "chain"
    p["figures"] = [] if draw(st.integers(0, 7)) else draw(st.sampled_from(
        [["network"], ["loss_curve"], ["data"]]))
    if draw(st.integers(0, 3)) == 0:
        p["text"] = ("Work out the step by hand; $\\eta$ is the learning rate. The final loss is "
                     f"{{{{ {pid}.loss_final }}}}.")
    return p


def marking(draw: st.DrawFn, p: dict[str, Any], names: list[str]) -> None:
    """ask, points, scaffold, space, digits and digits_for of a problem (in place)."""
    if draw(st.integers(0, 2)) == 0:
        p["digits"] = draw(st.integers(2, 6)) if draw(st.integers(0, 3)) else {
            "decimals": draw(st.integers(2, 4))}  # issue 23: places
    if names and draw(st.integers(0, 3)) == 0:
        once = [n for n in names if not n.startswith("steps[")]  # names every step's value
        p["digits_for"] = {draw(st.sampled_from(once)): draw(st.integers(2, 7))}
    if names and draw(st.integers(0, 2)) == 0:
        p["ask"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        if draw(st.booleans()):
            p["points"] = {n: draw(st.sampled_from([1, 2, 0.5])) for n in p["ask"][:2]}
    elif draw(st.integers(0, 3)) == 0:
        p["points"] = draw(st.sampled_from([10, 7]))
    if draw(st.integers(0, 3)) == 0:
        p["scaffold"] = draw(st.sampled_from(["full", "results", "none"]))
    if draw(st.integers(0, 4)) == 0:
        p["space"] = draw(st.sampled_from(["2cm", "0", "auto", "1.5em"]))


# --- expression problems --------------------------------------------------------------------

SCALAR, STEP_NAMES = (), ["y", "z1", "out", "h_2", "nll", "mean_ce", "yhat", "t"]
ELEMENTWISE = ["sigmoid", "relu", "tanh", "exp", "log", "sqrt", "abs"]
REDUCE = ["sum", "mean", "max", "min"]


class Shapes:
    """The names in scope and their shapes; n: the vectors' length, r: the matrix's rows."""

    def __init__(self, n: int, r: int):
        self.n, self.r = n, r
        self.names: dict[str, tuple[int, ...]] = {}

    def of(self, shape: tuple[int, ...]) -> list[str]:
        return [k for k, s in self.names.items() if s == shape]


def literal(draw: st.DrawFn) -> str:
    x = short(draw, True)
    return repr(x).removesuffix(".0") if x != int(x) or abs(x) < 1e15 else repr(x)


@st.composite
def expr(draw: st.DrawFn, sc: Shapes, shape: tuple[int, ...], depth: int) -> str:
    """An expression of the given shape (in NumPy's sense) over the names of `sc`."""
    n, r = sc.n, sc.r
    names = sc.of(shape)
    leaf = depth <= 0 or draw(st.integers(0, 3)) == 0
    if leaf:
        kinds = (["name"] * 3 if names else []) + ["lit"]
        if shape == SCALAR:
            kinds += ["index"] if sc.of((n,)) or sc.of((r, n)) else []
        kind = draw(st.sampled_from(kinds))
        if kind == "name":
            return draw(st.sampled_from(names))
        if kind == "index":
            vecs, mats = sc.of((n,)), sc.of((r, n))
            if vecs and (not mats or draw(st.booleans())):
                return f"{draw(st.sampled_from(vecs))}[{draw(st.integers(0, n - 1))}]"
            return (f"{draw(st.sampled_from(mats))}[{draw(st.integers(0, r - 1))}, "
                    f"{draw(st.integers(0, n - 1))}]")
        if shape == SCALAR:
            return literal(draw)
        if len(shape) == 1:  # a list literal, sometimes holding a scalar expression
            items = [literal(draw) for _ in range(shape[0])]
            if depth > -1 and draw(st.booleans()):
                items[0] = draw(expr(sc, SCALAR, 0))
            return "[" + ", ".join(items) + "]"
        return "[" + ", ".join("[" + ", ".join(literal(draw) for _ in range(shape[1])) + "]"
                               for _ in range(shape[0])) + "]"
    d = depth - 1
    options = ["neg", "binop", "binop", "func", "pow"]

    def par(x: str) -> str:  # an operand: parenthesised unless a single name, number or call
        return x if re.fullmatch(r"-?[\w.]+(\[[\d, :]+\])?|\w+\(.*\)|\[.*\]", x) and \
            not re.search(r" [-+*/@] |\*\*", x) else f"({x})"
    if shape == SCALAR:
        options += ["reduce", "reduce", "dot"]
    if len(shape) == 1:
        options += ["axis", "matvec", "row"]
        if shape[0] == n and sc.of((n, n)):
            options.append("vecmat")
    if len(shape) == 2:
        options += ["outer", "T", "matmul"]
    if shape and shape[-1] > 1:
        options.append("softmax")
    kind = draw(st.sampled_from(options))
    sub = lambda s: par(draw(expr(sc, s, d)))  # noqa: E731
    if kind == "neg":
        return f"-{sub(shape)}"
    if kind == "binop":
        op = draw(st.sampled_from(["+", "-", "*", "/"]))
        other = shape if draw(st.booleans()) else SCALAR
        a, b = sub(shape), sub(other)
        if draw(st.booleans()) and other == SCALAR:
            a, b = b, a
        return f"{a} {op} {b}"
    if kind == "pow":
        return f"{sub(shape)}**{draw(st.sampled_from([2, 3, 2]))}"
    if kind == "func":
        return f"{draw(st.sampled_from(ELEMENTWISE))}({sub(shape)})"
    if kind == "softmax":
        return f"softmax({sub(shape)})"
    if kind == "reduce":
        fn = draw(st.sampled_from(REDUCE))
        return f"{fn}({sub(draw(st.sampled_from([(n,), (r, n)])))})"
    if kind == "axis":
        fn = draw(st.sampled_from(REDUCE))
        if shape[0] == n:  # down the rows of an r x n matrix
            return f"{fn}({sub((r, n))}, {draw(st.sampled_from(['0', '-2']))})"
        if shape[0] == r:
            return f"{fn}({sub((r, n))}, {draw(st.sampled_from(['1', '-1']))})"
        return f"{fn}({sub((shape[0], n))}, 1)"
    if kind == "dot":
        return f"{sub((n,))} @ {sub((n,))}"
    if kind == "matvec":  # (k, n) @ (n,) -> (k,)
        return f"{sub((shape[0], n))} @ {sub((n,))}"
    if kind == "vecmat":
        return f"{sub((n,))} @ {sub((n, n))}"
    if kind == "row":
        mats = sc.of((r, n))
        if shape[0] == n and mats:
            row = draw(st.integers(0, r - 1))
            return f"{draw(st.sampled_from(mats))}[{row}{draw(st.sampled_from(['', ', :']))}]"
        if shape[0] == r and mats:
            return f"{draw(st.sampled_from(mats))}[:, {draw(st.integers(0, n - 1))}]"
        return f"{sub(shape)}.T"
    if kind == "outer":
        return f"outer({sub((shape[0],))}, {sub((shape[1],))})"
    if kind == "T":
        inner = sub((shape[1], shape[0]))
        return f"{inner}.T" if draw(st.booleans()) else f"transpose({inner})"
    return f"{sub((shape[0], n))} @ {sub((n, shape[1]))}"  # matmul


@st.composite
def expression_problem(draw: st.DrawFn, pid: str = "e") -> dict[str, Any]:
    n, r = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sc = Shapes(n, r)
    given: dict[str, Any] = {"a": short(draw), "v": [short(draw) for _ in range(n)],
                             "M": matrix(draw, r, n)}
    if draw(st.booleans()):
        given["w"] = [short(draw, True) for _ in range(n)]
    if draw(st.booleans()):
        given["K"] = matrix(draw, n, n, small=True)
    if draw(st.integers(0, 4)) == 0:
        given["F"] = {"fill": short(draw, True), "shape": [n, n]}
    for k, v in given.items():
        sc.names[k] = (SCALAR if not isinstance(v, list | dict) else (n,) if k in "vw"
                       else (r, n) if k == "M" else (n, n))
    steps = []
    for name in draw(st.lists(st.sampled_from(STEP_NAMES), min_size=1, max_size=4, unique=True)):
        shape = draw(st.sampled_from([SCALAR, (n,), (r,), (r, n), (n, n), (n, r)]))
        steps.append({name: draw(expr(sc, shape, draw(st.integers(1, 3))))})
        sc.names[name] = shape
    p: dict[str, Any] = {"id": pid, "given": given, "compute": steps}
    marking(draw, p, [next(iter(s)) for s in steps])
    if draw(st.integers(0, 4)) == 0:
        p["rounding"] = "chain"
    if draw(st.integers(0, 4)) == 0:
        p["names"] = {"v": "V", "M": "B"}
    return p


@st.composite
def document(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A spec of one problem of `kind` (network, expression) or, sometimes, one of each."""
    layout = "columns" if draw(st.integers(0, 4)) == 0 else None
    net = lambda pid, chain_ok=True: network_problem(pid, chain_ok, layout or "rows")  # noqa: E731
    problems = [draw(net("p")) if kind == "network" else draw(expression_problem())]
    if draw(st.integers(0, 5)) == 0:
        problems.append(draw(expression_problem("e2")) if kind == "network"
                        else draw(net("p2", False)))
    doc: dict[str, Any] = {"title": "Generated", "problems": problems}
    if layout:
        doc["layout"] = layout
    if draw(st.integers(0, 3)) == 0:
        doc["digits"] = draw(st.integers(2, 6))
    if draw(st.integers(0, 5)) == 0:
        doc["scaffold"] = "results"
    if draw(st.integers(0, 5)) == 0:
        doc["name_line"] = False
    return doc
