"""Batch normalisation (batchnorm.py) and dropout with a given mask (dropout.py) as engine
`Layer`s bound to a layer's configuration (engine/layers/bound.py). Neither has an
activation (H_l = Z_l). Batch normalisation couples the samples (batch statistics): the
per-sample gradients of the layers below it are not per sample and are left out
(network.run); its own dgamma, dbeta per sample are each sample's term of the sums.

Dropout's mask has a batch's rows (docs/spec.md): a batch of n samples uses its rows 1..n in
order (row i % rows for a longer pass, such as the final pass over every sample)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from ...spec.shaped import BatchNormType, DropoutType
from .. import exact
from ..exact import Exact
from . import batchnorm, code_nd, dropout
from .bound import Configured
from .code import LayerCode
from .norm_worked import BatchNormWorked, DropoutWorked

Array = np.ndarray


class BatchNorm(BatchNormWorked, Configured, BatchNormType):
    def _fwd(self, h: Array, params: dict[str, Array], l: int) -> batchnorm.BatchNorm:
        return batchnorm.forward(h, params[f"gamma{l}"], params[f"beta{l}"], self.cfg["eps"])

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return self._fwd(h, params, l).h

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return batchnorm.back(dz, h, params[f"gamma{l}"], self.cfg["eps"])

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        dg, db = batchnorm.grads(dz, self._fwd(h, params, l).xhat, scale)
        return {f"gamma{l}": dg, f"beta{l}": db}

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        dg, db = batchnorm.per_sample(dz, self._fwd(h, params, l).xhat)
        return {f"gamma{l}": dg, f"beta{l}": db}

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        f = self._fwd(h, params, l)
        return {f"mu{l}": f.mu, f"var{l}": f.var, f"xhat{l}": f.xhat}

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        out = batchnorm.exact_forward(h, P.get(f"gamma{l}"), P.get(f"beta{l}"),
                                      self.cfg["eps"]).h
        return None if out is None else np.asarray(out, dtype=object)

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        return batchnorm.exact_back(dz, h, P.get(f"gamma{l}"), self.cfg["eps"])

    def exact_grads(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    names: list[str], red: Any, l2: float, m: int) -> dict[str, Exact | None]:
        xhat = batchnorm.exact_forward(h, P.get(f"gamma{l}"), P.get(f"beta{l}"),
                                       self.cfg["eps"]).xhat
        g = exact.maybe(lambda d, x: batchnorm.grads(d, x, red)[0], dz, xhat)
        b = exact.maybe(lambda d: d.sum(axis=0) * red, dz)
        return {f"gamma{l}": g, f"beta{l}": b}

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.batchnorm(l, self.cfg, scale)


class Dropout(DropoutWorked, Configured, DropoutType):
    def _mask(self, n: int) -> Array:
        mask = self.cfg["mask"]
        return mask[np.arange(n) % mask.shape[0]]

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        return int(self.cfg["mask"][0].size) * m

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return dropout.forward(h, self._mask(h.shape[0]), self.cfg["p"])

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return dropout.back(dz, self._mask(dz.shape[0]), self.cfg["p"])

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        return None if h is None else dropout.exact_forward(h, self._mask(h.shape[0]),
                                                            self.cfg["p"])

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        return None if dz is None else dropout.exact_back(dz, self._mask(dz.shape[0]),
                                                          self.cfg["p"])

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return code_nd.dropout(l, self.cfg)


BATCHNORM, DROPOUT = BatchNorm(), Dropout()
