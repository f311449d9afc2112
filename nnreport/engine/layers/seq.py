"""The sequence layers as engine `Layer`s: a vanilla recurrent layer (rnn.py) and single-head
self-attention (attention.py), bound to a layer's configuration
(engine/layers/bound.py). H_{l-1} is [samples, steps, features].

The rnn's activation acts inside its recurrence, so the network applies none (its H_l is
what the next layer sees: h_T, or every h_t with `return: sequence`); its JSON Z{l}, H{l},
dZ{l} and dH{l} are every step's, [samples, steps, U] (BPTT over the full length). Attention
has no activation; its JSON adds Q, K, V, S (-inf above the diagonal when causal: null in
the JSON) and A. The rnn's passes run on exact rationals with relu and linear; attention's
softmax leaves the rationals. Their lines along a rounding path (`rounding: chain`) are the
mixins of seq_worked.py."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from ...spec.shaped import AttentionType, RnnType
from .. import exact
from ..exact import Exact
from . import attention, code_nd, rnn
from .bound import Configured, decay
from .code import LayerCode
from .seq_worked import AttentionWorked, RnnWorked

Array = np.ndarray


def _mine(params: dict[str, Any], l: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Layer l's parameters by kind (Wx, Wh, b, h0 ...)."""
    return {k: params[f"{k}{l}"] for k in kinds if f"{k}{l}" in params}


class Rnn(RnnWorked, Configured, RnnType):
    KINDS = ("Wx", "Wh", "b", "h0")

    def decayed(self, l: int) -> list[str]:
        return [f"Wx{l}", f"Wh{l}"]

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        return m * int(params[f"Wx{l}"].size + params[f"Wh{l}"].size) * 8

    def _pass(self, h: Array, params: dict[str, Array], l: int, dz: Array | None = None,
              scale: float = 1.0) -> tuple[rnn.Forward, rnn.Backward | None]:
        P = _mine(params, l, self.KINDS)
        f = rnn.forward(h, P, self.cfg["activation"])
        b = None if dz is None else rnn.backward(h, P, f, dz, self.cfg["return"],
                                                 self.cfg["activation"], scale)
        return f, b

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return self._pass(h, params, l)[0].output(self.cfg["return"])

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        b = self._pass(h, params, l, dz)[1]
        assert b is not None
        return b.dX

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        b = self._pass(h, params, l, dz, scale)[1]
        assert b is not None
        return {f"{k}{l}": decay(g, params[f"{k}{l}"], l2 if k in ("Wx", "Wh") else 0.0, m)
                for k, g in b.grads.items()}

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        b = self._pass(h, params, l, dz)[1]
        assert b is not None
        return {f"{k}{l}": g for k, g in b.per_sample.items()}

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        f, b = self._pass(h, params, l, dz)
        assert b is not None
        return {f"Z{l}": f.Z, f"H{l}": f.H, f"dZ{l}": b.dZ, f"dH{l}": b.dH}

    # exact: relu and linear keep the recurrence rational
    def _exact(self, h: Exact | None, P: dict[str, Any], l: int) -> rnn.Forward | None:
        mine = _mine(P, l, self.KINDS)
        return rnn.exact_forward(h, mine, self.cfg["activation"]) if len(mine) >= 3 else None

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        f = self._exact(h, P, l)
        return None if f is None else f.output(self.cfg["return"])

    def _exact_back(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    red: Any = 1) -> rnn.Backward | None:
        from fractions import Fraction

        return rnn.exact_backward(h, _mine(P, l, self.KINDS), self._exact(h, P, l), dz,
                                  self.cfg["return"], self.cfg["activation"], Fraction(red))

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        b = self._exact_back(h, dz, P, l)
        return None if b is None else b.dX

    def exact_grads(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    names: list[str], red: Any, l2: float, m: int) -> dict[str, Exact | None]:
        b = self._exact_back(h, dz, P, l, red)
        if b is None:
            return {}
        out: dict[str, Exact | None] = {}
        for k, g in b.grads.items():
            w = P.get(f"{k}{l}")
            if l2 and k in ("Wx", "Wh"):
                out[f"{k}{l}"] = exact.maybe(lambda g, w: g + exact.const(l2) / m * w, g, w)
            else:
                out[f"{k}{l}"] = np.asarray(g, dtype=object)
        return out

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.rnn(l, self.cfg, params, scale, l2)


class Attention(AttentionWorked, Configured, AttentionType):
    def decayed(self, l: int) -> list[str]:
        return [f"Wq{l}", f"Wk{l}", f"Wv{l}"]

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        return m * int(params[f"Wq{l}"].size + params[f"Wk{l}"].size
                       + params[f"Wv{l}"].size) * 8

    def _pass(self, h: Array, params: dict[str, Array], l: int, dz: Array | None = None,
              scale: float = 1.0) -> tuple[attention.Forward, attention.Backward | None]:
        P = _mine(params, l, attention.KINDS)
        f = attention.forward(h, P, self.cfg["causal"])
        return f, None if dz is None else attention.backward(h, P, f, dz, scale)

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return self._pass(h, params, l)[0].H

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        b = self._pass(h, params, l, dz)[1]
        assert b is not None
        return b.dX

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        b = self._pass(h, params, l, dz, scale)[1]
        assert b is not None
        return {f"{k}{l}": decay(g, params[f"{k}{l}"], l2, m) for k, g in b.grads.items()}

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        b = self._pass(h, params, l, dz)[1]
        assert b is not None
        return {f"{k}{l}": g for k, g in b.per_sample.items()}

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        f = self._pass(h, params, l)[0]
        return {f"Q{l}": f.Q, f"K{l}": f.K, f"V{l}": f.V, f"S{l}": f.S, f"A{l}": f.A}

    def ties(self, h: Array, params: dict[str, Array], l: int) -> bool:
        """Two equal scores in a row (the no_ties constraint: equal attention weights make a
        question whose rows can be copied); the masked -inf of a causal row are no scores."""
        S = self._pass(h, params, l)[0].S
        for row in S.reshape(-1, S.shape[-1]):
            seen = np.sort(row[np.isfinite(row)])
            if np.any(np.isclose(np.diff(seen), 0.0, rtol=0, atol=1e-9)):
                return True
        return False

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.attention(l, self.cfg, scale, l2)


RNN, ATTENTION = Rnn(), Attention()
