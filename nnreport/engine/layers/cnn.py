"""The image layers as engine `Layer`s: conv (conv.py), pool (pool.py) and flatten
(flatten.py), bound to a layer's configuration (engine/layers/bound.py). H_{l-1} is
[samples, C, H, W] (flatten: or [samples, steps, features]); conv's Z_l is
[samples, F, out_h, out_w] and its activation acts entrywise (the network applies it); pool
and flatten have none (H_l = Z_l). All of them run on exact rationals too."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from ...spec.shaped import ConvType, FlattenType, PoolType
from ..exact import Exact
from . import code_nd, conv, flatten, pool
from .bound import Configured
from .cnn_worked import ConvWorked, FlattenWorked, PoolWorked
from .code import LayerCode

Array = np.ndarray


class Conv(ConvWorked, Configured, ConvType):
    def _geo(self) -> dict[str, Any]:
        return {"stride": self.cfg["stride"], "padding": self.cfg["padding"]}

    def decayed(self, l: int) -> list[str]:
        return [f"W{l}"]

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        W = params[f"W{l}"]
        return m * int(W.size) * 4  # a rough count; the budgets use spec/shaped.py's work

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return conv.forward(h, params[f"W{l}"], params[f"b{l}"], **self._geo())

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return conv.back(dz, params[f"W{l}"], h.shape, **self._geo())

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        dW, db = conv.grads(h, dz, params[f"W{l}"], scale=scale, l2=l2, m=m, **self._geo())
        return {f"W{l}": dW, f"b{l}": db}

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        dW, db = conv.per_sample(h, dz, params[f"W{l}"], **self._geo())
        return {f"W{l}": dW, f"b{l}": db}

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        return conv.exact_forward(h, P.get(f"W{l}"), P.get(f"b{l}"), **self._geo())

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        if h is None:
            return None
        return conv.exact_back(dz, P.get(f"W{l}"), h.shape, **self._geo())

    def exact_grads(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    names: list[str], red: Any, l2: float, m: int) -> dict[str, Exact | None]:
        dW, db = conv.exact_grads(h, dz, P.get(f"W{l}"), red=red, l2=l2, m=m, **self._geo())
        return {f"W{l}": dW, f"b{l}": db}

    def exact_per_sample(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                         name: str) -> Exact | None:
        W = P.get(f"W{l}")
        if W is None:
            return None
        dW, db = conv.exact_per_sample(h, dz, W.shape, **self._geo())
        return dW if name == f"W{l}" else db

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.conv(l, self.cfg, params, scale, l2)


class Pool(PoolWorked, Configured, PoolType):
    def _geo(self) -> dict[str, Any]:
        return {"kind": self.cfg["kind"], "size": self.cfg["size"],
                "stride": self.cfg["stride"]}

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return pool.forward(h, **self._geo())

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return pool.back(dz, h, **self._geo())

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        return pool.exact_forward(h, **self._geo())

    def ties(self, h: Array, params: dict[str, Array], l: int) -> bool:
        """A max-pool window whose maximum is there twice (the no_ties constraint: which one
        gets the gradient is a convention a student may not know)."""
        if self.cfg["kind"] != "max":
            return False
        return bool(np.any(pool.argmax(h, self.cfg["size"], self.cfg["stride"]).ties))

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        return pool.exact_back(dz, h, **self._geo())

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.pool(l, self.cfg)


class Flatten(FlattenWorked, Configured, FlattenType):
    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return flatten.forward(h)

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return flatten.back(dz, h.shape)

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        return flatten.exact_forward(h)

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        return None if h is None else flatten.exact_back(dz, h.shape)

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.flatten(l)


CONV, POOL, FLATTEN = Conv(), Pool(), Flatten()
