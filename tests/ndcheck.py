"""answers.json of a configured-layer problem against tests/ndtrain.py's independent values:
every JSON value the reference computes agrees to 1e-9 relative (the causal mask's -inf,
null in the JSON, as such)."""

from __future__ import annotations

from typing import Any

import numpy as np
from ndtrain import solve

RTOL = 1e-9


def as_array(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=object)
    return np.asarray([-np.inf if x is None else x for x in a.ravel()], dtype=float
                      ).reshape(a.shape)


def compare_json(p: dict[str, Any], got: dict[str, Any]) -> tuple[int, list[str]]:
    """(entries compared, names compared); AssertionError naming the first value that
    differs. Values of the reference missing from the JSON are not compared (the reference
    keeps some the JSON does not print: each optimiser state)."""
    ref = solve(p)
    n, names = 0, []
    noise = noise_entries(p, ref)
    for name, want in ref.items():
        if name not in got or name == "batches":
            continue
        g = as_array(got[name])
        w = np.asarray(want, dtype=float)
        assert g.size == w.size, f"{name}: JSON shape {g.shape}, reference {w.shape}"
        w = w.reshape(g.shape)
        base, _, tail = name.partition("_")
        if base in noise and tail in SCALED:  # a gradient 0 on paper, float noise in both
            keep = ~noise[base].reshape(g.shape)
            g, w = g[keep], w[keep]
        scale = max(1.0, float(np.nanmax(np.abs(np.where(np.isfinite(w), w, 0)))) if w.size else 1)
        both_inf = np.isinf(g) & np.isinf(w) & (np.sign(g) == np.sign(w))
        bad = ~both_inf & ~(np.abs(g - w) <= RTOL * np.maximum(np.abs(w), 1e-3 * scale) + 1e-13)
        if bad.any():
            i = tuple(int(x) for x in np.argwhere(bad)[0])
            raise AssertionError(f"{name}{list(i)}: JSON {g[i]!r}, reference {w[i]!r} "
                                 f"({int(bad.sum())} of {g.size} entries differ)")
        n += g.size
        names.append(name)
    return n, names


SCALED = ("step", "new", "final", "m", "v", "s", "mhat", "vhat")


def noise_entries(p: dict[str, Any], ref: dict[str, Any]) -> dict[str, np.ndarray]:
    """Adam and RMSprop divide a gradient by its own size: where a gradient is 0 on paper
    (a bias before a batchnorm) and float noise in both computations (1e-14), the step is
    the noise's sign times lr, different in each; where it is a millionth of the largest
    (a saturated sigmoid's 1 - yhat), eps and the gradient's few exact digits decide the
    step. Those entries of the parameter's step,
    state and update are not compared (the gradient itself is, to its absolute noise)."""
    opt = p["train"]["optimizer"]
    if (opt["name"] if isinstance(opt, dict) else opt) not in ("adam", "rmsprop"):
        return {}
    out = {}
    for k, g in ref.items():
        if k.startswith("d") and f"{k[1:]}_new" in ref:
            a = np.abs(np.asarray(g, dtype=float))
            small = a < 1e-6 * max(1.0, float(a.max()) if a.size else 1.0)
            if small.any():
                out[k[1:]] = small
    return out
