"""`nnreport code spec.yaml`: a standalone NumPy script, in the plain style of the notebooks
nnreport replaces (data, parameters, forward, backward, update, training loop), that
reproduces a network problem's numbers and prints its loss history. Only what the problem
uses is written: its activations, its loss, its optimiser.

Data and initial weights come from the same sources as in nnreport: small data (up to
MAX_LITERAL entries) are written out as literals; scikit-learn data sets and generators are
called as nnreport calls them, with the same scaling, split and seeded weight draws.

Each layer's own lines (Z from H, its gradients, dH passed down) are its type's
(`Layer.code`, engine/layers/), bound to its configuration: the configured types (conv,
pool, flatten, batchnorm, dropout, rnn, attention: engine/layers/code_nd.py) call a helper
function of their type, written once into a script that uses it; their arrays are N-d,
samples first, and their initial values are written out. A type that writes none is refused
by name (`NotWritten`) rather than written as wrong code."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.layers import LayerCode, configured, decayed, layers_of
from ..engine.layers.code_nd import literal
from ..spec.setups import NetworkSetup

MAX_LITERAL = 5000


class NotWritten(ValueError):
    """A layer whose type writes no code: `layer` is its 1-based index, `kind` its type."""

    def __init__(self, layer: int, kind: str):
        self.layer, self.kind = layer, kind
        super().__init__(f"nnreport code does not write {kind} layers yet (layer {layer})")


def layer_code(s: NetworkSetup) -> list[LayerCode]:
    """Each layer's lines, layer 1 first; NotWritten for the first that has none."""
    scale = "1.0" if s.reduction == "sum" else "1.0 / m"
    out = []
    for l, lay in enumerate(configured(s.kinds, s.layer_cfgs, s.depth), 1):
        code = lay.code(l, s.params, scale, s.l2)
        if code is None:
            raise NotWritten(l, lay.name)
        out.append(code)
    return out


def _wrap(values: list[int]) -> str:
    """Integers, 16 to a line (the script is printed in reports)."""
    rows = [", ".join(str(v) for v in values[i:i + 16]) for i in range(0, len(values), 16)]
    return ",\n    ".join(rows)


def _lit(a: np.ndarray) -> str:
    if np.ndim(a) != 2:  # a configured layer's: X [samples, C, H, W], a kernel, a bias [F]
        return literal(a)
    rows = ",\n    ".join("[" + ", ".join(repr(float(x)) for x in row) + "]" for row in np.atleast_2d(a))
    return f"np.array([\n    {rows}])"


ACT = {
    "sigmoid": ("np.exp(-np.logaddexp(0.0, -z))", "g * a * (1 - a)"),
    "relu": ("np.maximum(z, 0.0)", "g * (z > 0)"),
    "leaky_relu": ("np.where(z > 0, z, {alpha} * z)", "g * np.where(z > 0, 1.0, {alpha})"),
    "tanh": ("np.tanh(z)", "g * (1 - a * a)"),
    "linear": ("z", "g"),
    "softmax": ("softmax(z)", "a * (g - (g * a).sum(axis=1, keepdims=True))"),
}


def _data(s: NetworkSetup, spec_data: Any, split: Any = None) -> list[str]:
    """Code that makes X and Y (rows layout: samples x features) and, with a split, the
    training and test sets, as nnreport makes them."""
    X_all_entries = (s.X.size + (s.X_test.size if s.X_test is not None else 0))
    d = spec_data
    if s.X_test is None and X_all_entries <= MAX_LITERAL:
        return [f"X = {_lit(s.X)}", f"Y = {_lit(s.Y)}"]
    out = ["from sklearn import datasets"]
    if d is not None and d.load:
        out.append(f"X, y = datasets.load_{d.load}(return_X_y=True)")
        if d.n_samples:
            out.append(f"X, y = X[:{d.n_samples}], y[:{d.n_samples}]")
    elif d is not None and d.generate in ("moons", "circles", "blobs", "classification"):
        args = {"moons": f"n_samples={d.n_samples or 100}, noise={d.noise!r}, random_state={d.seed!r}",
                "circles": f"n_samples={d.n_samples or 100}, noise={d.noise!r}, "
                           f"factor={d.factor or 0.8!r}, random_state={d.seed!r}",
                "blobs": f"n_samples={d.n_samples or 100}, n_features={d.n_features or 2}, "
                         f"centers={d.n_classes or 3}, random_state={d.seed!r}",
                "classification": f"n_samples={d.n_samples or 100}, n_features={d.n_features or 2}, "
                                  f"n_informative={min(d.n_features or 2, 2)}, n_redundant=0, "
                                  f"n_classes={d.n_classes or 2}, n_clusters_per_class=1, "
                                  f"random_state={d.seed!r}"}[d.generate]
        out.append(f"X, y = datasets.make_{d.generate}({args})")
    else:  # inline, csv or random data too large for a literal is still written out
        X = s.X if s.X_test is None else None
        if X is None:
            raise ValueError("this data source cannot be written as code with a split")
        return [f"X = {_lit(s.X)}", f"Y = {_lit(s.Y)}"]
    out.append("X = X.astype(float)")
    classes = s.Y.shape[1] if s.Y.shape[1] > 1 else 0
    out.append(f"Y = np.eye({classes})[y]" if classes else "Y = y.reshape(-1, 1).astype(float)")
    if d.normalize == "standard":
        out += ["sd = X.std(axis=0)", "X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)"]
    elif d.normalize == "minmax":
        out += ["lo, hi = X.min(axis=0), X.max(axis=0)",
                "X = (X - lo) / np.where(hi > lo, hi - lo, 1.0)"]
    if s.X_test is not None and split is not None:  # the split call nnreport makes
        from ..spec.report import stratify_labels

        Y_all = np.concatenate([s.Y, s.Y_test]) if s.Y_test is not None else s.Y
        strat = stratify_labels(Y_all, split, s.task == "classification") is not None
        label = ("Y.argmax(axis=1)" if s.Y.shape[1] > 1 else "Y[:, 0].astype(int)") \
            if strat else "None"
        out += ["# the held-out test set: nnreport's seeded split"
                + (" (stratified by class)" if strat else ""),
                "from sklearn.model_selection import train_test_split",
                f"_, test_rows = train_test_split(np.arange(len(X)), test_size={float(split.test)!r}, "
                f"random_state={int(split.seed)}, stratify={label})",
                "test_rows = np.sort(test_rows)",
                "train_rows = np.setdiff1d(np.arange(len(X)), test_rows)",
                "X_test, Y_test = X[test_rows], Y[test_rows]",
                "X, Y = X[train_rows], Y[train_rows]"]
    elif s.X_test is not None:
        out += ["# the held-out test set: the rows nnreport's split chose (stratified, seeded)",
                "test_rows = np.array([" + _wrap(list(s.test_rows)) + "])",
                "train_rows = np.setdiff1d(np.arange(len(X)), test_rows)",
                "X_test, Y_test = X[test_rows], Y[test_rows]",
                "X, Y = X[train_rows], Y[train_rows]"]
    return out


def script(s: NetworkSetup, spec_data: Any, source: str, split: Any = None) -> str:
    L = s.depth
    layers = layer_code(s)  # before anything: a layer without code refuses the script
    # Strings from outside (the spec's file name, ids) reach the script only through repr():
    # a name holding quotes, a docstring's end or a newline stays inside its string literal.
    lines = ['"""Written by `nnreport code`: reproduces nnreport\'s numbers for one problem with',
             "NumPy alone and prints the loss at the start of every epoch, then the final loss.",
             '"""', "",
             "import numpy as np", "",
             f"SPEC = {str(source)!r}",
             f"PROBLEM = {str(s.id)!r}", ""]
    data = _data(s, spec_data, split)
    if s.X.ndim > 2 and not data[0].startswith("X = np.array("):  # loaded as rows
        shape = tuple(int(n) for n in s.X.shape[1:])  # digits as 8 x 8 images ...
        data += [f"X = X.reshape((len(X),) + {shape})"] + (
            [f"X_test = X_test.reshape((len(X_test),) + {shape})"] if s.X_test is not None else [])
    lines += data
    lines += ["", "# initial parameters (rows layout: W is inputs x outputs)" if not s.layer_cfgs else
              "# initial parameters (a dense layer's W is inputs x outputs; samples come first)"]
    lines += _init(s)
    lines.append("params = {" + ", ".join(f"'{k}': {k}" for k in s.params) + "}")
    for code in layers:
        lines += ["", *code.constants] if code.constants else []
    lines += ["", ""]
    if "softmax" in s.activations:
        lines += ["def softmax(z):", "    e = np.exp(z - z.max(axis=1, keepdims=True))",
                  "    return e / e.sum(axis=1, keepdims=True)", "", ""]
    for text in dict.fromkeys(x for c in layers for x in c.helpers):  # each type's, once
        lines += [text.rstrip("\n"), "", ""]
    lines += ["def forward(params, X):", "    Z, H = [], [X]"]
    for l in range(1, L + 1):
        f = ACT[s.activations[l - 1]][0].format(alpha=repr(s.alphas[l - 1]))
        lines += [f"    z = {layers[l - 1].forward}", "    Z.append(z)", f"    H.append({f})"]
    lines += ["    return Z, H", "", ""]
    lines += _loss(s)
    lines += _backward(s, layers)
    lines += _optimizer(s)
    lines += _train(s)
    return "\n".join(lines) + "\n"


def _init(s: NetworkSetup) -> list[str]:
    """Seeded draws as nnreport makes them (one RandomState; each layer's first parameter,
    W1, W2, ..., in order, the others 0: spec/params.py) unless the spec gave values, which
    are written out."""
    if s.explicit or not s.init or s.layer_cfgs:
        return [f"{k} = {_lit(v)}" for k, v in s.params.items()]
    method, scale, seed = s.init["method"], s.init["scale"], s.init["seed"]
    out = [f"rs_init = np.random.RandomState({seed!r})"]
    for l, lay in enumerate(layers_of(s.kinds, s.depth), 1):
        fi, fo = s.units[l - 1], s.units[l]
        first, *rest = lay.param_names(s.params, l)
        rows = s.params[first].shape
        shape = rows if s.layout == "rows" else rows[::-1]
        draw = {"randn": f"rs_init.randn{shape} * {scale!r}",
                "xavier": f"rs_init.randn{shape} * np.sqrt(2.0 / {fi + fo})",
                "he": f"rs_init.randn{shape} * np.sqrt(2.0 / {fi})",
                "uniform": f"rs_init.uniform(-{scale!r}, {scale!r}, size={shape})"}[method]
        out.append(f"{first} = ({draw}).T" if s.layout == "columns" else f"{first} = {draw}")
        out += [f"{k} = np.zeros({s.params[k].shape})" for k in rest]
    return out


def _loss(s: NetworkSetup) -> list[str]:
    e, f, k = s.eps, s.factor, s.Y.shape[1]
    body = {"mse": "((yhat - Y) ** 2).mean(axis=1)", "sse": "((yhat - Y) ** 2).sum(axis=1)",
            "bce": (f"(np.logaddexp(0.0, z) - Y * z).sum(axis=1) / {k}" if e is None else
                    f"-(Y * np.log(yhat + {e!r}) + (1 - Y) * np.log(1 - yhat + {e!r})).mean(axis=1)"),
            "cce": ("-(Y * ((z - z.max(axis=1, keepdims=True)) - np.log(np.exp(z - z.max(axis=1, "
                    "keepdims=True)).sum(axis=1, keepdims=True)))).sum(axis=1)" if e is None else
                    f"-(Y * np.log(yhat + {e!r})).sum(axis=1)")}[s.loss]
    red = "sum" if s.reduction == "sum" else "mean"
    out = ["def loss(params, X, Y):", "    Z, H = forward(params, X)", "    z, yhat = Z[-1], H[-1]",
           f"    per_sample = {f!r} * ({body})", f"    value = float(per_sample.{red}())"]
    names = decayed(s.kinds, s.depth)
    if s.l2 and names == [f"W{l}" for l in range(1, s.depth + 1)]:
        out.append(f"    squares = sum(float((params[f'W{{l}}'] ** 2).sum()) for l in range(1, {s.depth + 1}))")
    elif s.l2:  # the parameters the layers' types decay
        out.append(f"    squares = sum(float((params[k] ** 2).sum()) for k in {names!r})")
    if s.l2:
        out.append(f"    value += {s.l2!r} / (2 * len(X)) * squares")
    return out + ["    return value", "", ""]


def _backward(s: NetworkSetup, layers: list[LayerCode]) -> list[str]:
    L, e, f, k = s.depth, s.eps, s.factor, s.Y.shape[1]
    last = s.activations[-1]
    out = ["def gradients(params, X, Y):", "    Z, H = forward(params, X)", "    m = len(X)",
           "    z, yhat = Z[-1], H[-1]"]
    if e is None and s.loss == "bce" and last == "sigmoid":
        out.append(f"    dZ = {f!r} * (yhat - Y) / {k}")
    elif e is None and s.loss == "cce" and last == "softmax":
        out.append(f"    dZ = {f!r} * (yhat * Y.sum(axis=1, keepdims=True) - Y)")
    else:
        g = {"mse": f"2 * (yhat - Y) / {k}", "sse": "2 * (yhat - Y)",
             "bce": f"-(Y / (yhat + {e or 0.0!r}) - (1 - Y) / (1 - yhat + {e or 0.0!r})) / {k}",
             "cce": f"-Y / (yhat + {e or 0.0!r})"}[s.loss]
        out += [f"    g = {g}", "    a = yhat",
                f"    dZ = {f!r} * ({ACT[last][1].format(alpha=repr(s.alphas[-1]))})"]
    out.append("    grads = {}")
    for l in range(L, 0, -1):
        if layers[l - 1].grads or l > 1:  # a helper's call that gives dX and the grads
            out += [f"    {line}" for line in layers[l - 1].backward]
        out += [f"    {line}" for line in layers[l - 1].grads]
        if l > 1:
            bw = ACT[s.activations[l - 2]][1].format(alpha=repr(s.alphas[l - 2]))
            out += [f"    g = {layers[l - 1].back}", f"    z, a = Z[{l - 2}], H[{l - 1}]",
                    f"    dZ = {bw}"]
    return out + ["    return grads", "", ""]


def _optimizer(s: NetworkSetup) -> list[str]:
    o, lr = s.optimizer, s.lr
    frozen = sorted(s.freeze)
    out = ["state = {'t': 0}"] + _start(s) + ["", "", "def update(params, grads):",
           "    state['t'] += 1", "    t = state['t']", "    new = dict(params)",
           "    for k, g in grads.items():"]
    if frozen:
        out.append(f"        if k in {frozen!r}:\n            continue")
    name = o["name"]
    if name == "sgd":
        out.append("        step = g")
    elif name == "momentum" and o.get("form") == "heavy_ball":  # v = beta v - lr g
        ahead = f"{o['beta']!r} * state[k] - {lr!r} * g" if o.get("nesterov") else "state[k]"
        out += [f"        state[k] = {o['beta']!r} * state.get(k, 0.0) - {lr!r} * g",
                f"        new[k] = params[k] + {ahead}", "    return new", "", ""]
        return out
    elif name == "momentum":
        out += [f"        state[k] = {o['beta']!r} * state.get(k, 0.0) + (1 - {o['beta']!r}) * g",
                "        step = state[k]"]
    elif name == "rmsprop":
        out += [f"        state[k] = {o['beta']!r} * state.get(k, 0.0) + (1 - {o['beta']!r}) * g * g",
                f"        step = g / (np.sqrt(state[k]) + {o['eps']!r})"]
    else:
        b1, b2, eps = o["beta1"], o["beta2"], o["eps"]
        out += [f"        state['m' + k] = {b1!r} * state.get('m' + k, 0.0) + (1 - {b1!r}) * g",
                f"        state['v' + k] = {b2!r} * state.get('v' + k, 0.0) + (1 - {b2!r}) * g * g",
                f"        mhat = state['m' + k] / (1 - {b1!r} ** t)",
                f"        vhat = state['v' + k] / (1 - {b2!r} ** t)",
                f"        step = mhat / (np.sqrt(vhat) + {eps!r})"]
    out += [f"        new[k] = params[k] - {lr!r} * step", "    return new", "", ""]
    return out


def _start(s: NetworkSetup) -> list[str]:
    """The optimiser state before the first step as train.state gives it, under the keys
    update() keeps it by (Adam: 'm' + k and 'v' + k; momentum and RMSprop: k)."""
    out = []
    for k, states in s.state.items():
        for st, v in states.items():
            key = st + k if s.optimizer["name"] == "adam" else k
            out.append(f"state[{key!r}] = {_lit(v)}")
    return out


def _train(s: NetworkSetup) -> list[str]:
    shuffle = s.shuffle_seed is not None
    out = [f"rs = np.random.RandomState({s.shuffle_seed!r})" if shuffle else "", "m = len(X)",
           f"for epoch in range({s.epochs}):",
           "    order = rs.permutation(m)" if shuffle else "    order = np.arange(m)",
           "    start = loss(params, X, Y)",
           f"    for i in range(0, m, {s.batch_size}):",
           f"        rows = order[i:i + {s.batch_size}]",
           "        params = update(params, gradients(params, X[rows], Y[rows]))",
           "    print(f'epoch {epoch + 1} loss {start!r}')",
           "print(f'final loss {loss(params, X, Y)!r}')"]
    return [x for x in out if x]
