"""The key of a configured-layer problem read back (tests/keycheck.py's reader for its maps
and step matrices): each worked line's left side -> the value it prints, from answers.json
(its JSON name) or, for a line without one (an rnn's z_t, attention's dS, batchnorm's
sqrt(var + eps)), from tests/ndtrain.py's independent values; every printed number is that
value correctly rounded (keycheck.compare). The left sides are read as the key writes them:
(Z_{1})^{(n)}_{f} a sample's map, (Z_{1})^{(n)}_{f,ij} one entry, (dW_{1})_{f,c} a kernel's
map, Z_{1}^{(n)} an rnn's steps of sample n, z^{(n)}_{t} one step, {Z^{<t>}} a step of every
sample."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from keycheck import check, problems_of, steps_of
from ndcheck import as_array

# lines that print given values, marked windows or padded inputs (checked elsewhere or
# nothing to compare)
SKIP = re.compile(r"^(X|\\operatorname\{(pad|rot)|\\left\(W_\{\d+\}\\right\)_\{\d+\}$|"
                  r"\\left\(\\widetilde|L_i$|s_\{\d+\}$|dx\^|\\left\(H_\{\d+\}\\right\)\^\{\(\d+\)\}$)")
PARAM_TEX = {"W": "W_{%s}", "b": "b_{%s}", "Wx": "W_{x,%s}", "Wh": "W_{h,%s}",
             "Wq": "W_{q,%s}", "Wk": "W_{k,%s}", "Wv": "W_{v,%s}", "gamma": r"\gamma_{%s}",
             "beta": r"\beta_{%s}", "h0": "h_{0,%s}"}


def table(p: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """lhs (without sample or entry) -> a name of `values`."""
    layers = p["network"]["layers"]
    L = len(layers)
    t = {r"\hat{Y}": "yhat", "L": "loss", r"d\hat{Y}": "dyhat", r"\mathbf{L}": "loss_per_sample",
         r"\hat{Y}^{\text{final}}": "yhat_final", r"L^{\text{final}}": "loss_final",
         r"\text{accuracy}": "accuracy_final", "R": "loss_l2", r"\mathbf{s}": f"Esum{L}", "E": f"E{L}"}
    for i in range(1, 10):
        t[f"L_{{{i}}}"] = f"loss_per_sample#{i - 1}"
    for l, _la in enumerate(layers, 1):
        t.update({f"Z_{{{l}}}": f"Z{l}", f"dZ_{{{l}}}": f"dZ{l}", f"dH_{{{l}}}": f"dH{l}",
                  rf"\mu_{{{l}}}": f"mu{l}", rf"\sigma^{{2}}_{{{l}}}": f"var{l}",
                  rf"\hat{{X}}_{{{l}}}": f"xhat{l}", rf"\hat{{x}}_{{{l}}}": f"xhat{l}",
                  rf"\sqrt{{\sigma^{{2}}_{{{l}}} + \epsilon}}": f"sd{l}",
                  rf"d\hat{{X}}_{{{l}}}": f"dxhat{l}",
                  rf"\mathbf{{1}}^{{T}} d\hat{{X}}_{{{l}}}": f"sum_dxhat{l}",
                  rf"\mathbf{{1}}^{{T}} \left(d\hat{{X}}_{{{l}}} \odot \hat{{X}}_{{{l}}}\right)":
                      f"sum_dxhat_xhat{l}",
                  f"G_{{{l}}}": f"G{l}", r"\frac{\partial L}{\partial h_{0}}": f"dh0{l}"})
        if l < L:
            t[f"H_{{{l}}}"] = f"H{l}"
            t[f"h_{{{l}}}"] = f"H{l}"  # a batchnorm's entry (h_l)^{(n)}_j
        for _a, d in (("ReLU", r"\operatorname{ReLU}'"), ("LReLU", r"\operatorname{LReLU}'_{\alpha}"),
                     ("sigmoid", r"\sigma'"), ("tanh", r"\tanh'")):
            t[rf"{d}\left(Z_{{{l}}}\right)"] = f"dact{l}"
    for new in values:
        name = new.removesuffix("_new")
        m = re.fullmatch(r"(h0|[A-Za-z]+?)(\d+)", name)
        if not new.endswith("_new") or not m or m.group(1) not in PARAM_TEX:
            continue
        n = PARAM_TEX[m.group(1)] % m.group(2)
        t.update({f"d{n}": f"d{name}", rf"{n}^{{\text{{new}}}}": f"{name}_new",
                  rf"{n}^{{\text{{final}}}}": f"{name}_final", rf"\Delta_{{{n}}}": f"{name}_step",
                  rf"\hat m_{{{n}}}": f"{name}_mhat", rf"\hat v_{{{n}}}": f"{name}_vhat",
                  rf"d{n}^{{\text{{data}}}}": f"d{name}_data"})
        for s in "vsm":
            t[f"{s}_{{{n}}}"] = f"{name}_{s}"
        for i in range(1, 10):
            t[rf"\frac{{\partial L_{{{i}}}}}{{\partial {n}}}"] = f"d{name}_per_sample#{i - 1}"
    return t


def intermediates(p: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """Values the key prints without a JSON name, from the reference."""
    out: dict[str, Any] = {}
    for l, la in enumerate(p["network"]["layers"], 1):
        if la.get("type") == "batchnorm" and f"var{l}" in ref:
            out[f"sd{l}"] = np.sqrt(ref[f"var{l}"] + la.get("eps", 1e-5))
            gamma = ref[f"gamma{l}_new"] + ref[f"gamma{l}_step"]  # the worked step's gamma
            dx = ref[f"dH{l}"] * gamma
            out[f"dxhat{l}"], out[f"sum_dxhat{l}"] = dx, dx.sum(axis=0)
            out[f"sum_dxhat_xhat{l}"] = (dx * ref[f"xhat{l}"]).sum(axis=0)
    return out


RNN = re.compile(r"^(d?)([zh])(?:\^\{\((\d+)\)\})?_\{(\d+)\}$")
STEP = re.compile(r"^(d?)\{([ZHX])\^\{\\langle (\d+) \\rangle\}\}$")
OUTER = re.compile(r"^([xh])_\{(\d+)\}\^\{T\} dz_\{(\d+)\}$")
OUTER_T = re.compile(r"^\{([XH])\^\{\\langle (\d+) \\rangle\}\}\^\{T\} d\{Z\^\{\\langle (\d+) "
                     r"\\rangle\}\}$")


def rnn_value(lhs: str, p: dict[str, Any], ref: dict[str, Any]) -> Any:
    """An rnn's worked lines (the network's one rnn layer), or None."""
    layers = p["network"]["layers"]
    ls = [l for l, la in enumerate(layers, 1) if la.get("type") == "rnn"]
    if not ls:
        return None
    l = ls[0]
    Z, H, x = ref[f"Z{l}"], ref[f"H{l}"], ref[f"in{l}"]
    U = Z.shape[2]
    h0 = np.asarray(p.get("params", {}).get(f"h0{l}", np.zeros(U)), dtype=float)

    def state(n: Any, t: int) -> np.ndarray:  # h_t of sample(s) n, h_0 the start
        if t > 0:
            return H[n, t - 1]
        return h0 if not isinstance(n, slice) else np.tile(h0, (H.shape[0], 1))
    m = RNN.match(lhs)
    if m:
        d, zh, n, t = m.group(1), m.group(2), int(m.group(3) or 1) - 1, int(m.group(4))
        if d and zh == "h" and t == 0:  # into h_0: Wh dz_1
            return ref[f"dZ{l}"][n, 0] @ (ref[f"Wh{l}_new"] + ref[f"Wh{l}_step"]).T
        if d:
            return (ref[f"dZ{l}"] if zh == "z" else ref[f"dH{l}"])[n, t - 1]
        return Z[n, t - 1] if zh == "z" else state(n, t)
    m = STEP.match(lhs)
    if m:
        d, v, t = m.group(1), m.group(2), int(m.group(3))
        if d and v == "X":  # the input's gradient dZ_t W_x^T
            return ref[f"dZ{l}"][:, t - 1] @ (ref[f"Wx{l}_new"] + ref[f"Wx{l}_step"]).T
        if d:
            return (ref[f"dZ{l}"] if v == "Z" else ref[f"dH{l}"])[:, t - 1]
        return Z[:, t - 1] if v == "Z" else state(slice(None), t)
    m = OUTER.match(lhs)
    if m:
        t = int(m.group(3))
        a = x[0, t - 1] if m.group(1) == "x" else state(0, t - 1)
        return np.outer(a, ref[f"dZ{l}"][0, t - 1])
    m = OUTER_T.match(lhs)
    if m:
        t = int(m.group(3))
        a = x[:, t - 1] if m.group(1) == "X" else state(slice(None), t - 1)
        return a.T @ ref[f"dZ{l}"][:, t - 1]
    return None


def attention_value(lhs: str, n: int, p: dict[str, Any], ref: dict[str, Any]) -> Any:
    """Attention's worked lines (the network's one attention layer) of sample n, or None."""
    ls = [l for l, la in enumerate(p["network"]["layers"], 1) if la.get("type") == "attention"]
    if not ls:
        return None
    l = ls[0]
    Q, K, V, S, A = (ref[f"{k}{l}"][n] for k in "QKVSA")
    dk = Q.shape[1]
    dH = ref[f"dH{l}"][n] if f"dH{l}" in ref else None
    W = {k: ref[f"W{k}{l}_new"] + ref[f"W{k}{l}_step"] for k in "qkv"}
    e = np.where(np.isinf(S), 0.0, np.exp(S - S.max(axis=1, keepdims=True)))
    vals: dict[str, Any] = {"Q": Q, "K": K, "V": V, "S": S, "A": A, "Q K^{T}": Q @ K.T,
                            f"H_{{{l}}}": ref[f"H{l}"][n]}
    if dH is not None:
        dA = dH @ V.T
        dS = A * (dA - (dA * A).sum(axis=1, keepdims=True))
        dQ, dK = dS @ K / np.sqrt(dk), dS.T @ Q / np.sqrt(dk)
        xin = (np.asarray(p["data"]["X"], dtype=float) if l == 1 else ref[f"H{l - 1}"])[n]
        xn = "X" if l == 1 else f"H_{{{l - 1}}}"
        for k, g in (("Q", dQ), ("K", dK), ("V", A.T @ dH)):  # below a batchnorm: the terms
            vals[f"{xn}^{{({n + 1})T}} d{k}"] = xin.T @ g
        vals.update({"dV": A.T @ dH, "dA": dA, "dS": dS, "dQ": dQ, "dK": dK,
                     f"dQ W_{{q,{l}}}^{{T}}": dQ @ W["q"].T, f"dK W_{{k,{l}}}^{{T}}": dK @ W["k"].T,
                     f"dV W_{{v,{l}}}^{{T}}": (A.T @ dH) @ W["v"].T})
    for i in range(1, A.shape[0] + 1):
        vals.update({f"e_{{{i}}}": e[i - 1], rf"\textstyle\sum_{{j}} e_{{{i}j}}": e[i - 1].sum(),
                     f"A_{{{i}}}": A[i - 1]})
        if dH is not None:
            vals[f"dS_{{{i}}}"] = vals["dS"][i - 1]
            vals[rf"\textstyle\sum_{{j}} dA_{{{i}j}} A_{{{i}j}}"] = (vals["dA"][i - 1] * A[i - 1]).sum()
    return vals.get(lhs)


WRAP = re.compile(r"^\\left\((.*)\\right\)(?:\^\{\((\d+)\)\})?(?:_\{([\d,]+)\})?$")
SAMPLE = re.compile(r"^(.*?)\^\{\((\d+)\)\}$")


def value_of(lhs: str, p: dict[str, Any], values: dict[str, Any], names: dict[str, str]
             ) -> tuple[str, Any] | None:
    """(what, the value) a worked line's left side prints; None for a skipped line;
    AssertionError for a line with no name."""
    if SKIP.match(lhs):
        return None
    base, sample, sub = lhs, None, None
    m = WRAP.match(lhs)
    if m:
        base, sample, sub = m.group(1), m.group(2), m.group(3)
    else:
        m = SAMPLE.match(lhs)
        if m and m.group(1) in names or (m and m.group(1) in "QKVSA"):
            base, sample = m.group(1), m.group(2)
    n = int(sample) - 1 if sample else None
    if not WRAP.match(lhs):  # an rnn's worked steps first (h_{1} is its state, not H1)
        v = rnn_value(lhs, p, values)
        if v is not None:
            return lhs, v
    if base in names:
        name = names[base]
        last = re.fullmatch(r"dH_\{(\d+)\}", base)
        if WRAP.match(lhs) and last and p["network"]["layers"][int(last.group(1)) - 1].get(
                "type") == "rnn" and p["network"]["layers"][int(last.group(1)) - 1].get(
                "return", "last") == "last":
            name = f"G{last.group(1)}"  # the layer above writes dh_T as (dH_l)^{(n)}_j
        key, _, i = name.partition("#")
        if key not in values:
            return None  # a value the reference and the JSON do not hold (dyhat, E)
        v = np.asarray(values[key], dtype=object)
        if i:
            v = v[int(i)]
        layer = re.search(r"(\d+)$", key)
        rnn_or_att = layer and p["network"]["layers"][int(layer.group(1)) - 1].get("type") in (
            "rnn", "attention")
        if n is None and rnn_or_att and v.ndim == 3:
            if v.shape[0] == 1:
                n = 0  # one sample: its steps
            else:  # attention's lines of each sample carry no (n): one of the samples
                return key, [v[i] for i in range(v.shape[0])]
        if n is not None:
            v = v[n]
        if sub:
            for part in sub.split(","):
                v = v[int(part) - 1] if len(part) == 1 else v[int(part[0]) - 1, int(part[1]) - 1]
        return key, v
    term = re.fullmatch(r"(X|H_\{\d+\})\^\{\((\d+)\)T\} d([QKV])\^\{\(\d+\)\}", lhs)
    if term:  # below a batchnorm, sample i's term of attention's weight gradient
        i = int(term.group(2)) - 1
        v = attention_value(f"{term.group(1)}^{{({i + 1})T}} d{term.group(3)}", i, p, values)
        assert v is not None, f"a line with no name: {lhs}"
        return lhs, v
    v = rnn_value(lhs, p, values)
    if v is None and n is None and attention_value(base, 0, p, values) is not None:
        m_ = np.shape(values["yhat"])[0]  # a batch: the line is one of the samples'
        return lhs, [attention_value(base, i, p, values) for i in range(m_)]
    if v is None:
        v = attention_value(base, n or 0, p, values)
    assert v is not None, f"a line with no name: {lhs}"
    return lhs, v


def check_nd_key(tex: str, spec: dict[str, Any], answers: dict[str, Any], ref: dict[str, Any]
                 ) -> tuple[int, int]:
    """(entries compared, lines skipped) of the key's configured-layer problem."""
    p = spec["problems"][0]
    got = answers["problems"][p["id"]]
    # per-sample gradients only where the JSON has them (below a batchnorm it has none;
    # the key's lines there are tests/test_nd_generated_finds.py's open find)
    ref = {k: v for k, v in ref.items() if not k.endswith("_per_sample") or k in got}
    values = {**ref, **intermediates(p, ref),  # the JSON's own values where it has them
              **{k: as_array(v) for k, v in got.items() if k != "batches"}}
    names = table(p, values)
    digits = p.get("digits", spec.get("digits", 4))
    count = skipped = 0
    for lhs, sides, _chain, _graded in steps_of(problems_of(tex)[p["id"]]):
        if not sides:
            continue
        try:
            from texnumbers import parse_matrix
            parse_matrix(sides[-1])
        except ValueError:
            skipped += 1
            continue
        found = value_of(lhs, p, values, names)
        if found is None:
            skipped += 1
            continue
        what, v = found
        options = v if isinstance(v, list) and what != "loss_history" else [v]
        errors = []
        for v in options:
            try:
                count += compare_nd(sides[-1], np.asarray(v, dtype=float), digits,
                                    f"{p['id']}: {lhs}", lhs.startswith(("e_", "A")))
                break
            except AssertionError as e:
                errors.append(str(e))
        else:
            raise AssertionError(errors[0])
    return count, skipped


def compare_nd(printed: str, want: Any, digits: Any, what: str, exps: bool = False) -> int:
    """keycheck.compare's rule per printed number, except: a number printed shorter than the
    digits is right when it is the value to 1e-10 (the exact decimal on paper, the float a
    step of noise away: 0.092 for 0.0919999999999992); a 0 is right for cancellation noise
    (under 1e-12 of the value's largest entry) and, left open and reported, for an entry
    under 1e-180 or (exps: attention's exponentials and weights) under 1e-12 of its row."""
    from texnumbers import parse_matrix

    m = parse_matrix(printed)
    a = np.asarray(want, dtype=float)
    a2 = a.reshape(1, 1) if a.ndim == 0 else a.reshape(1, -1) if a.ndim == 1 else a
    if a.ndim == 1 and m.shape == (a.size, 1):
        a2 = a.reshape(-1, 1)
    assert m.shape == a2.shape, f"{what}: printed {m.shape}, value {a2.shape}: {printed[:100]}"
    top = float(np.abs(a2[np.isfinite(a2)]).max()) if np.isfinite(a2).any() else 0.0
    for ij, n in m.cells.items():
        x = float(a2[ij])
        if n.value.is_finite() and np.isfinite(x):
            if abs(float(n.value) - x) <= 1e-10 * abs(x):
                continue
            if n.value == 0 and (abs(x) < 1e-180 or abs(x) <= 1e-12 * top):
                continue
            if abs(float(n.value)) < 1e-180 and abs(x) < 1e-180:  # denormal noise vs 0
                continue
        try:
            check(x, n, digits)
        except AssertionError as e:
            raise AssertionError(f"{what}{list(ij)}: {e}") from None
    return len(m.cells)
