"""The dense layer: Z_l = H_{l-1} W_l + b_l (rows layout; W_l is (in, out), b_l is (1, out)).

Its bias is b{l}, or theta{l} with `bias: threshold` (z = h W - theta: a weight on a -1
input, dL/dtheta = -dL/db), or none with `bias: false`."""

from __future__ import annotations

from collections.abc import Collection
from fractions import Fraction
from typing import Any

import numpy as np

from ...spec import layertypes
from ...spec.layertypes import Fault
from ...spec.setups import bias_name
from .. import exact
from ..exact import Exact
from ..printed import db_as_rows, dw_as_sum
from .code import LayerCode

Array = np.ndarray


def bias(params: dict[str, Any], l: int) -> Any:
    """b_l; -theta_l for a threshold (`bias: threshold`: z = h W - theta); 0 for a layer
    without bias (`bias: false`)."""
    if f"theta{l}" in params:
        return -params[f"theta{l}"]
    return params.get(f"b{l}", 0.0)


class Dense:
    name = "dense"
    has_z = True
    couples = False
    chain = True

    def bind(self, cfg: dict[str, Any]) -> Dense:
        return self  # nothing to configure

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        return {}

    def param_names(self, params: Any, l: int) -> list[str]:
        b = bias_name(params, l)
        return [f"W{l}"] + ([b] if b else [])

    def shapes(self, units_in: int, units_out: int, bias: bool | str
               ) -> dict[str, tuple[int, int]]:
        return layertypes.DENSE.shapes(units_in, units_out, bias)

    def parameter_count(self, units_in: int, units_out: int) -> int:
        return layertypes.DENSE.parameter_count(units_in, units_out)

    def fit(self, units_in: int, units_out: int, bias: bool | str) -> list[Fault]:
        return layertypes.DENSE.fit(units_in, units_out, bias)  # any widths

    def decayed(self, l: int) -> list[str]:
        return [f"W{l}"]

    def edges(self, params: dict[str, Array], l: int) -> tuple[str, Array]:
        return f"W{l}", params[f"W{l}"]  # every input feeds every unit

    def code(self, l: int, params: Collection[str], scale: str, l2: float) -> LayerCode:
        b = f" + params['b{l}']" if f"b{l}" in params else (
            f" - params['theta{l}']" if f"theta{l}" in params else "")  # a threshold: -1 input
        decay = f" + {l2!r} / m * params['W{l}']" if l2 else ""
        grads = [f"grads['W{l}'] = {scale} * (H[{l - 1}].T @ dZ){decay}"]
        if f"b{l}" in params:
            grads.append(f"grads['b{l}'] = {scale} * dZ.sum(axis=0, keepdims=True)")
        if f"theta{l}" in params:  # z = h W - theta: dL/dtheta = -dL/db
            grads.append(f"grads['theta{l}'] = -{scale} * dZ.sum(axis=0, keepdims=True)")
        return LayerCode(f"H[-1] @ params['W{l}']{b}", grads, f"dZ @ params['W{l}'].T")

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        return m * int(params[f"W{l}"].size)

    # float
    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return h @ params[f"W{l}"] + bias(params, l)

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return dz @ params[f"W{l}"].T

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        dW = scale * (h.T @ dz)
        if l2:
            dW = dW + (l2 / m) * params[f"W{l}"]
        out = {f"W{l}": dW}
        b = bias_name(params, l)
        if b:
            sign = -1.0 if b == f"theta{l}" else 1.0  # dL/dtheta = -dL/db
            out[b] = sign * scale * dz.sum(axis=0, keepdims=True)
        return out

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        out = {f"W{l}": np.einsum("mi,mo->mio", h, dz)}
        b = bias_name(params, l)
        if b:
            out[b] = (-1.0 if b == f"theta{l}" else 1.0) * dz[:, None, :]
        return out

    # exact
    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        b: Exact | None = P.get(f"b{l}", np.asarray(Fraction(0), dtype=object))
        if f"theta{l}" in P:
            t = P[f"theta{l}"]
            b = None if t is None else -t
        return exact.maybe(lambda h, w, b: h @ w + b, h, P.get(f"W{l}"), b)

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        return exact.maybe(lambda d, w: d @ w.T, dz, P.get(f"W{l}"))

    def exact_grads(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    names: list[str], red: Any, l2: float, m: int) -> dict[str, Exact | None]:
        out: dict[str, Exact | None] = {}
        for name in names:
            if name == f"W{l}":
                e = exact.maybe(lambda h, d: (h.T @ d) * red, h, dz)
                if e is not None and l2:
                    e = exact.maybe(lambda g, w: g + exact.const(l2) / m * w, e, P.get(name))
            else:  # db_l, or dtheta_l = -db_l
                r = -red if name.startswith("theta") else red
                e = exact.maybe(lambda d, r=r: d.sum(axis=0, keepdims=True) * r, dz)
            out[name] = e
        return out

    def exact_per_sample(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                         name: str) -> Exact | None:
        """Each sample's dW_l = h_i^T dz_i, exactly when H_{l-1} and dZ_l are exact (a
        gradient of -13.8 is -13.8, not 1.2 x -11.5 = -13.799999999999999); the bias's
        per-sample gradient is dZ's rows, exact when dZ is."""
        if name != f"W{l}":
            return None
        return exact.maybe(lambda h, d: h[:, :, None] * d[:, None, :], h, dz)

    # the worked lines along a rounding path (engine/worked.py)
    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        return h @ P[f"W{l}"] + bias(P, l)

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        return dz @ P[f"W{l}"].T

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        grads: dict[str, Array] = {}
        b = bias_name(P, l)
        sign = -1.0 if b == f"theta{l}" else 1.0  # dtheta = -db
        ps = np.einsum("mi,mo->mio", h, dz)
        if per_sample:
            ps = keep(f"dW{l}_per_sample", ps)
            if b:
                keep(f"d{b}_per_sample", sign * dz[:, None, :])
        if dw_as_sum(units, l, m, per_sample, l2):
            dW = scale * ps.sum(axis=0)
        else:
            dW = scale * (h.T @ dz)
            if l2:
                dW = dW + c("l2", l2) / m * P[f"W{l}"]
        grads[f"W{l}"] = keep(f"dW{l}", dW)
        if b:
            if db_as_rows(m, units[l]):
                db = scale * c(f"dZ{l}|db", dz).sum(axis=0, keepdims=True)
            else:
                db = scale * c(f"dZsum{l}", dz.sum(axis=0, keepdims=True))
            grads[b] = keep(f"d{b}", sign * db)
        return grads


DENSE = Dense()
