"""The attention layer's worked steps (document/worked/layers/attention.py, issue 26) against
numbers computed here by explicit loops over tokens and features, never by nnreport: (a) each
Step's result is the loop's value; (b) the steps typeset through document/lines.py compile
with the key's preamble, and every matrix they print -- Q, K, V and their operands, the
scores with the causal mask's -infinity, each softmax row's exponentials, the backward's rows
-- reads back as the loop's value correctly rounded."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from seqtex import check_matrices, check_value, chunks, compile_body, lhs_and_sides, overfull

from nnreport.document.lines import align_body
from nnreport.document.steps import Step
from nnreport.document.worked.layers import attention

D = 4
# two samples of three tokens with two features; d_k = d_v = 2
X = [[[1.0, 0.5], [0.2, -1.0], [0.4, 0.3]],
     [[0.3, -0.2], [1.0, 0.1], [-0.5, 0.6]]]
WQ = [[0.5, -0.3], [0.2, 0.4]]
WK = [[0.1, 0.6], [-0.2, 0.3]]
WV = [[0.7, 0.1], [0.3, -0.4]]
DH = [[[1.0, -0.5], [0.3, 0.8], [0.2, 0.1]],
      [[0.5, 0.5], [-0.3, 0.2], [0.1, -0.4]]]
P = {"Wq": np.array(WQ), "Wk": np.array(WK), "Wv": np.array(WV)}


def mm(a: list, b: list) -> list:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))]
            for i in range(len(a))]


def tr(a: list) -> list:
    return [list(r) for r in zip(*a, strict=True)]


def ref(xs: list, dh: list, causal: bool) -> dict:
    """One sample by loops: the forward's and backward's values."""
    T = len(xs)
    Q, K, V = mm(xs, WQ), mm(xs, WK), mm(xs, WV)
    dk = len(WQ[0])
    QK = mm(Q, tr(K))
    S = [[QK[r][j] / math.sqrt(dk) if (not causal or j <= r) else -math.inf
          for j in range(T)] for r in range(T)]
    mx = [max(row) for row in S]
    shifted = [[S[r][j] - mx[r] for j in range(T)] for r in range(T)]
    E = [[math.exp(v) if v != -math.inf else 0.0 for v in row] for row in shifted]
    tot = [sum(row) for row in E]
    A = [[E[r][j] / tot[r] for j in range(T)] for r in range(T)]
    H = mm(A, V)
    dV = mm(tr(A), dh)
    dA = mm(dh, tr(V))
    dot = [sum(dA[r][j] * A[r][j] for j in range(T)) for r in range(T)]
    dS = [[A[r][j] * (dA[r][j] - dot[r]) for j in range(T)] for r in range(T)]
    dSK, dSTQ = mm(dS, K), mm(tr(dS), Q)
    dQ = [[v / math.sqrt(dk) for v in row] for row in dSK]
    dK = [[v / math.sqrt(dk) for v in row] for row in dSTQ]
    gq, gk, gv = mm(tr(xs), dQ), mm(tr(xs), dK), mm(tr(xs), dV)
    mask = [[0.0 if (not causal or j <= r) else -math.inf for j in range(T)] for r in range(T)]
    out = {"Q": Q, "K": K, "V": V, "QK": QK, "S": S, "mx": mx, "shifted": shifted, "E": E,
           "tot": tot, "A": A, "H": H, "dV": dV, "dA": dA, "dot": dot, "dS": dS, "dSK": dSK,
           "dSTQ": dSTQ, "dQ": dQ, "dK": dK, "gq": gq, "gk": gk, "gv": gv, "mask": mask,
           "pq": mm(dQ, tr(WQ)), "pk": mm(dK, tr(WK)), "pv": mm(dV, tr(WV))}
    out["dX"] = [[out["pq"][r][c] + out["pk"][r][c] + out["pv"][r][c] for c in range(len(xs[0]))]
                 for r in range(T)]
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def build(causal: bool, m: int, sample: int, scale: float) -> list[Step]:
    Xa, dH = np.array(X[:m]), np.array(DH[:m])
    kw = {"causal": causal, "digits": D, "sample": sample}
    return (attention.forward(Xa, P, **kw) + attention.backward(Xa, P, dH, **kw)
            + attention.grads(Xa, P, dH, scale=scale, **kw) + attention.back(Xa, P, dH, **kw))


def expected(causal: bool, m: int, sample: int, scale: float) -> dict[str, np.ndarray]:
    refs = [ref(X[s], DH[s], causal) for s in range(m)]
    r = refs[sample]
    want = {k: r[k] for k in ("Q", "K", "V", "S", "A", "H", "dV", "dA", "dS", "dQ", "dK", "dX")}
    want[r"Q K^{T}"] = r["QK"]
    for k in range(1, 4):
        want[f"e_{{{k}}}"] = r["E"][k - 1]
        want[rf"\textstyle\sum_{{j}} e_{{{k}j}}"] = r["tot"][k - 1]
        want[f"A_{{{k}}}"] = r["A"][k - 1]
        want[rf"\textstyle\sum_{{j}} dA_{{{k}j}} A_{{{k}j}}"] = r["dot"][k - 1]
        want[f"dS_{{{k}}}"] = r["dS"][k - 1]
    for g, W, p, n in (("gq", "W_{q}", "pq", "Q"), ("gk", "W_{k}", "pk", "K"),
                       ("gv", "W_{v}", "pv", "V")):
        want[f"d{n} {W}^{{T}}"] = r[p]
        if m > 1 or scale != 1:
            want[rf"\frac{{\partial L_{{{sample + 1}}}}}{{\partial {W}}}"] = r[g]
        want[f"d{W}"] = scale * sum(x[g] for x in refs)
    return want


CASES = [(False, 2, 0, 0.5), (True, 2, 1, 1.0), (True, 1, 0, 1.0), (False, 1, 0, 0.25)]


def by_lhs(steps: list[Step]) -> dict[str, Step]:
    out: dict[str, Step] = {}
    for s in steps:
        assert s.lhs not in out, s.lhs
        out[s.lhs] = s
    return out


@pytest.mark.parametrize(("causal", "m", "sample", "scale"), CASES)
def test_results_are_the_loops_values(causal: bool, m: int, sample: int, scale: float) -> None:
    steps = by_lhs(build(causal, m, sample, scale))
    want = expected(causal, m, sample, scale)
    assert set(want) <= set(steps), sorted(set(want) - set(steps))
    for lhs, w in want.items():
        got = steps[lhs].result
        assert got is not None, lhs
        g = np.asarray(got.value, dtype=float).reshape(np.shape(w))
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=lhs)


def test_masked_scores_are_minus_infinity_and_their_weights_zero() -> None:
    steps = by_lhs(build(True, 2, 0, 1.0))
    S = np.asarray(steps["S"].result.value)  # type: ignore[union-attr]
    assert np.isneginf(S[np.triu_indices(3, 1)]).all() and np.isfinite(np.tril(S)).all()
    A = np.asarray(steps["A"].result.value)  # type: ignore[union-attr]
    assert (A[np.triu_indices(3, 1)] == 0).all()
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    # the row sums' terms: the masked exponentials are left out (row 1 has one term)
    assert steps[r"\textstyle\sum_{j} e_{1j}"].subst is None
    two = steps[r"\textstyle\sum_{j} e_{2j}"].subst
    assert two is not None and len(two) == 2 and str(two[1]).startswith("+ ")


@pytest.mark.parametrize(("causal", "m", "sample", "scale"), CASES[:3])
def test_typeset_numbers_read_back(tmp_path: Path, causal: bool, m: int, sample: int,
                                   scale: float) -> None:
    steps = build(causal, m, sample, scale)
    body = align_body(steps)
    _, _, log = compile_body(body, tmp_path, f"attention_{'causal' if causal else 'full'}_{m}")
    assert max(overfull(log), default=0.0) < 1.0, overfull(log)
    parts = chunks(body)
    assert len(parts) == len(steps)
    want = expected(causal, m, sample, scale)
    refs = [ref(X[s], DH[s], causal) for s in range(m)]
    r = refs[sample]
    xs = np.array(X[sample])
    ops = {"Q": [xs, WQ, r["Q"]], "K": [xs, WK, r["K"]], "V": [xs, WV, r["V"]],
           r"Q K^{T}": [r["Q"], r["K"].T, r["QK"]],
           "S": [r["QK"], r["mask"], r["S"]] if causal else [r["QK"], r["S"]],
           "H": [r["A"], r["V"], r["H"]], "dV": [r["A"].T, DH[sample], r["dV"]],
           "dA": [DH[sample], r["V"].T, r["dA"]],
           "dQ": [r["dS"], r["K"], r["dSK"], r["dQ"]],
           "dK": [r["dS"].T, r["Q"], r["dSTQ"], r["dK"]]}
    for k in range(1, 4):
        row = k - 1
        shifted = [r["shifted"][row]] if r["mx"][row] != 0 else []
        ops[f"e_{{{k}}}"] = [r["S"][row], *shifted, r["E"][row]]
        ops[f"A_{{{k}}}"] = [r["E"][row], r["A"][row]]
        ops[f"dS_{{{k}}}"] = [r["A"][row], r["dA"][row], r["A"][row],
                              r["dA"][row] - r["dot"][row], r["dS"][row]]
    for g, W in (("gq", "W_{q}"), ("gk", "W_{k}"), ("gv", "W_{v}")):
        if m > 1:
            ops[f"d{W}"] = [*[x[g] for x in refs], scale * sum(x[g] for x in refs)]
    checked = set()
    for st, tex in zip(steps, parts, strict=True):
        lhs, sides = lhs_and_sides(tex)
        assert lhs == st.lhs
        if lhs in want:
            check_value(sides[-1], want[lhs], D)
            checked.add(lhs)
        if lhs in ops:
            check_matrices(tex, [np.asarray(o, dtype=float) for o in ops[lhs]], D)
        if lhs.startswith(r"\textstyle\sum_{j} e_"):  # the exponentials added, as printed
            k = int(lhs[-3])
            if len(sides) == 2:
                keep = [j for j in range(3) if not causal or j < k]
                terms = [t.strip() for t in sides[0].split("+")]
                assert len(terms) == len(keep)
                for t, j in zip(terms, keep, strict=True):
                    check_value(t, r["E"][k - 1][j], D)
        if lhs == "A_{1}" and r["tot"][0] != 1:  # 1 / the row's sum
            assert r"\frac{1}{" in sides[1]
    assert checked == set(want)
    assert r"\frac{1}{\sqrt{2}}" in body  # d_k = 2


def test_formula_and_conventions() -> None:
    f = attention.formula(causal=True)
    assert r"\operatorname{softmax}\left(\frac{Q K^{T}}{\sqrt{d_k}} + M\right) V" in f
    assert r"M_{ij} = -\infty" in attention.conventions(True)
    assert "M" not in attention.formula(causal=False)


def test_batch_gradients_carry_their_json_names() -> None:
    """With the layer's number, dWq{l}, dWk{l}, dWv{l} name the batch gradients (the one
    sample's line when the batch is one sample and no factor)."""
    for m, scale in ((2, 0.5), (1, 1.0)):
        Xa, dH = np.array(X[:m]), np.array(DH[:m])
        steps = attention.grads(Xa, P, dH, scale=scale, layer=3)
        keyed = {s.key: s for s in steps if s.key}
        assert set(keyed) == {"dWq3", "dWk3", "dWv3"}
        refs = [ref(X[s], DH[s], False) for s in range(m)]
        for k, g in (("dWq3", "gq"), ("dWk3", "gk"), ("dWv3", "gv")):
            got = keyed[k].result
            assert got is not None
            np.testing.assert_allclose(got.value, scale * sum(x[g] for x in refs), atol=1e-12)
