"""Random networks of conv, pool, flatten, batchnorm, dropout, rnn and attention layers against
PyTorch's float64 autograd (issues 25, 26: "agree with PyTorch on every value in the JSON").

Each case draws a network shape and its numbers from a seed, writes the spec, runs
`nnreport solve --json` and recomputes every value with torch's own modules and functions
(F.conv2d, F.max_pool2d / avg_pool2d, torch.flatten, a batch-statistics normalisation,
torch.tanh ... and autograd for every gradient; nothing of nnreport's): Z{l}, H{l}, yhat, the
loss, mu/var/xhat, Q/K/V/S/A, every parameter's batch gradient and its SGD update, and dH{l},
dZ{l}. nnreport's dH and dZ are gradients of the per-sample losses (docs/spec.md: the batch
loss's times m), so they are compared with m times torch's gradient of the batch loss.

torch is a test-only dependency: `make setup` installs the CPU wheel the machines keep in
/opt/wheels (never a download); without it these tests skip. 24 networks in `make test`, 200 with --runslow."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ndref import solve_json, spec_text

torch = pytest.importorskip("torch")
F = torch.nn.functional
ACT = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z}


def rnd(rs: np.random.RandomState, *shape: int, scale: float = 0.5) -> np.ndarray:
    return np.round(rs.randn(*shape) * scale, 3)


def draw(seed: int) -> tuple[list[dict], np.ndarray, np.ndarray, dict[str, np.ndarray], str]:
    """A random network (one of five families), its data, parameters and loss."""
    rs = np.random.RandomState(seed)
    family = ["conv", "conv2", "batchnorm", "dropout", "rnn", "attention", "rnn_attention"][
        seed % 7]
    m = int(rs.randint(1, 4))
    k = int(rs.randint(1, 3))  # outputs
    loss = ["mse", "bce"][int(rs.randint(0, 2))]
    layers: list[dict] = []
    P: dict[str, np.ndarray] = {}
    if family in ("conv", "conv2"):
        C, h = int(rs.randint(1, 3)), int(rs.randint(4, 7))
        X = rnd(rs, m, C, h, h, scale=1.0)
        shape = (C, h, h)
        for _ in range(2 if family == "conv2" else 1):
            Fn, kk = int(rs.randint(1, 4)), int(rs.randint(1, 4))
            s, p = int(rs.randint(1, 3)), int(rs.randint(0, 2))
            while (shape[1] + 2 * p - kk) < 0 or (shape[1] + 2 * p - kk) % s:
                s, p = 1, p  # a stride that fits
                if shape[1] + 2 * p < kk:
                    kk = 1
            act = ["relu", "tanh", "sigmoid", "linear"][int(rs.randint(0, 4))]
            l = len(layers) + 1
            layers.append({"type": "conv", "filters": Fn, "kernel": kk, "stride": s,
                           "padding": p, "activation": act})
            P[f"W{l}"], P[f"b{l}"] = rnd(rs, Fn, shape[0], kk, kk), rnd(rs, Fn)
            o = (shape[1] + 2 * p - kk) // s + 1
            shape = (Fn, o, o)
        if shape[1] >= 2 and rs.rand() < 0.7:
            size = 2
            stride = 1 if (shape[1] - 2) % 2 else int(rs.randint(1, 3))
            layers.append({"type": "pool", "kind": ["max", "avg"][int(rs.randint(0, 2))],
                           "size": size, "stride": stride})
            o = (shape[1] - size) // stride + 1
            shape = (shape[0], o, o)
        layers.append({"type": "flatten"})
        n = shape[0] * shape[1] * shape[2]
    elif family in ("batchnorm", "dropout"):
        n0 = int(rs.randint(2, 4))
        X = rnd(rs, max(m, 2), n0, scale=1.0)
        m = X.shape[0]
        u = int(rs.randint(2, 4))
        act = ["relu", "tanh", "linear"][int(rs.randint(0, 3))]
        layers.append({"units": u, "activation": act})
        P["W1"], P["b1"] = rnd(rs, n0, u), rnd(rs, 1, u)
        if family == "batchnorm":
            layers.append({"type": "batchnorm"})
            P["gamma2"], P["beta2"] = 1 + rnd(rs, u, scale=0.2), rnd(rs, u, scale=0.2)
        else:
            mask = (rs.rand(m, u) < 0.6).astype(int)
            layers.append({"type": "dropout", "p": 0.4, "mask": mask.tolist()})
        n = u
    else:
        T, f = int(rs.randint(2, 4)), int(rs.randint(1, 3))
        X = rnd(rs, m, T, f, scale=1.0)
        d = f
        if family in ("rnn", "rnn_attention"):
            U = int(rs.randint(1, 3))
            ret = "sequence" if family == "rnn_attention" or rs.rand() < 0.5 else "last"
            act = ["tanh", "relu", "sigmoid", "linear"][int(rs.randint(0, 4))]
            layers.append({"type": "rnn", "units": U, "activation": act, "return": ret})
            P["Wx1"], P["Wh1"], P["b1"] = rnd(rs, f, U), rnd(rs, U, U), rnd(rs, U)
            if rs.rand() < 0.5:
                P["h01"] = rnd(rs, U)
            d = U
            seq = ret == "sequence"
        else:
            seq = True
        if family in ("attention", "rnn_attention"):
            dk, dv = int(rs.randint(1, 3)), int(rs.randint(1, 3))
            l = len(layers) + 1
            layers.append({"type": "attention", "d_k": dk, "d_v": dv,
                           "causal": bool(rs.rand() < 0.5)})
            P[f"Wq{l}"], P[f"Wk{l}"], P[f"Wv{l}"] = rnd(rs, d, dk), rnd(rs, d, dk), rnd(rs, d, dv)
            d = dv
        if seq:
            layers.append({"type": "flatten"})
            n = T * d
        else:
            n = d
    l = len(layers) + 1
    layers.append({"units": k, "activation": "sigmoid" if loss == "bce" else "linear"})
    P[f"W{l}"], P[f"b{l}"] = rnd(rs, n, k), rnd(rs, 1, k)
    Y = ((rs.rand(m, k) < 0.5).astype(float) if loss == "bce" else rnd(rs, m, k))
    return layers, X, Y, P, loss


def torch_pass(layers: list[dict], X: np.ndarray, Y: np.ndarray, P: dict[str, np.ndarray],
               loss: str, lr: float) -> dict[str, np.ndarray]:
    """Every value the JSON names, by torch (float64 autograd)."""
    T = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in P.items()}
    h = torch.tensor(X, dtype=torch.float64)
    if h.ndim == 3 and layers[0]["type"] == "conv":
        h = h[:, None]
    m = h.shape[0]
    out: dict[str, torch.Tensor] = {}
    kept: dict[str, torch.Tensor] = {}  # outputs whose gradients the JSON gives (dH, dZ)
    L = len(layers)
    for l, la in enumerate(layers, 1):
        t = la.get("type", "dense")
        if t == "conv":
            z = F.conv2d(h, T[f"W{l}"], T[f"b{l}"], stride=la["stride"], padding=la["padding"])
            z.retain_grad()
            out[f"Z{l}"], kept[f"Z{l}"] = z, z
            h = ACT[la["activation"]](z)
        elif t == "pool":
            pool = F.max_pool2d if la["kind"] == "max" else F.avg_pool2d
            h = pool(h, la["size"], la["stride"])
        elif t == "flatten":
            h = torch.flatten(h, 1)
        elif t == "batchnorm":
            mu = h.mean(dim=0)
            var = h.var(dim=0, unbiased=False)
            xhat = (h - mu) / torch.sqrt(var + 1e-5)
            out.update({f"mu{l}": mu, f"var{l}": var, f"xhat{l}": xhat})
            h = T[f"gamma{l}"] * xhat + T[f"beta{l}"]
        elif t == "dropout":
            h = h * torch.tensor(la["mask"], dtype=torch.float64) / (1 - la["p"])
        elif t == "rnn":
            f = ACT[la["activation"]]
            state = (T[f"h0{l}"].expand(m, -1) if f"h0{l}" in T
                     else torch.zeros(m, la["units"], dtype=torch.float64))
            zs, hs = [], []
            for step in range(h.shape[1]):
                z = h[:, step] @ T[f"Wx{l}"] + state @ T[f"Wh{l}"] + T[f"b{l}"]
                state = f(z)
                zs.append(z)
                hs.append(state)
            Z, H = torch.stack(zs, 1), torch.stack(hs, 1)
            for v in (*zs, *hs):
                v.retain_grad()
            out[f"Z{l}"], out[f"H{l}"] = Z, H
            kept[f"rnnZ{l}"], kept[f"rnnH{l}"] = torch.stack(zs, 1), torch.stack(hs, 1)
            kept[f"_zs{l}"], kept[f"_hs{l}"] = zs, hs  # type: ignore[assignment]
            h = H if la.get("return") == "sequence" else hs[-1]
            if la.get("return") != "sequence":
                out[f"H{l}"] = H
            continue
        elif t == "attention":
            Q, K, V = h @ T[f"Wq{l}"], h @ T[f"Wk{l}"], h @ T[f"Wv{l}"]
            S = Q @ K.transpose(1, 2) / math.sqrt(la["d_k"])
            if la.get("causal"):
                n = S.shape[1]
                S = S.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), -math.inf)
            A = torch.softmax(S, dim=-1)
            out.update({f"Q{l}": Q, f"K{l}": K, f"V{l}": V, f"S{l}": S, f"A{l}": A})
            h = A @ V
        else:
            z = h @ T[f"W{l}"] + T[f"b{l}"]
            z.retain_grad()
            out[f"Z{l}"], kept[f"Z{l}"] = z, z
            h = ACT[la["activation"]](z)
        h.retain_grad()
        kept[f"H{l}"] = h
        out["yhat" if l == L else f"H{l}"] = h
    Yt = torch.tensor(Y, dtype=torch.float64)
    if loss == "mse":
        per = ((h - Yt) ** 2).mean(dim=1)
    else:
        per = F.binary_cross_entropy(h, Yt, reduction="none").mean(dim=1)
    batch = per.mean()
    batch.backward()
    res = {k: v.detach().numpy() for k, v in out.items()}
    res["loss"] = batch.detach().numpy()
    res["loss_per_sample"] = per.detach().numpy()
    for name, p in T.items():
        res[f"d{name}"] = p.grad.numpy()
        res[f"{name}_new"] = P[name] - lr * p.grad.numpy()
    for l, la in enumerate(layers, 1):  # per-sample-loss gradients: m x the batch loss's
        if la.get("type") == "rnn":
            res[f"dZ{l}"] = m * torch.stack([z.grad for z in kept[f"_zs{l}"]], 1).numpy()
            res[f"dH{l}"] = m * torch.stack([v.grad if v.grad is not None else
                                             torch.zeros_like(v) for v in kept[f"_hs{l}"]],
                                            1).numpy()
            continue
        if f"Z{l}" in kept and l < L:
            res[f"dZ{l}"] = m * kept[f"Z{l}"].grad.numpy()
        if f"H{l}" in kept and l < L:
            res[f"dH{l}"] = m * kept[f"H{l}"].grad.numpy()
    return res


def compare(seed: int, tmp_path) -> int:
    layers, X, Y, P, loss = draw(seed)
    lr = 0.1
    code, v, err = solve_json(tmp_path, spec_text(layers, X, Y, P, loss, "sgd", lr))
    assert code == 0, (layers, err)
    assert v is not None
    ref = torch_pass(layers, X, Y, P, loss, lr)
    n = 0
    for name, want in ref.items():
        assert name in v, (name, sorted(v))
        got = np.array(v[name], dtype=float)
        if name.startswith("db") and want.ndim == 2 and got.ndim == 1:  # a bias row [1, k]
            want = want.reshape(got.shape)
        if name.startswith("b") and name.endswith("_new") and got.shape != want.shape:
            want = want.reshape(got.shape)
        assert got.shape == np.shape(want), (seed, name, got.shape, np.shape(want))
        finite = np.isfinite(want)
        assert np.array_equal(finite, np.isfinite(got)), (seed, name)
        np.testing.assert_allclose(got[finite], np.asarray(want)[finite], rtol=1e-9, atol=1e-12,
                                   err_msg=f"seed {seed}: {name} ({layers})")
        n += int(np.size(want))
    return n


@pytest.mark.parametrize("seed", range(24))
def test_random_network_agrees_with_torch(seed, tmp_path):
    assert compare(seed, tmp_path) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(24, 224))
def test_many_random_networks_agree_with_torch(seed, tmp_path):
    assert compare(seed, tmp_path) > 0
