"""The rounded chain's lines of conv, pool and flatten (engine/worked.py): each computes
exactly what the key's lines substitute (document/worked/layers/conv.py, pool.py, shaped.py),
from the numbers as printed. `h` is H_{l-1} as printed (the chain's), `P` the parameters as
printed.

- conv: Z = the correlation of H_{l-1} (zero padded) with W, plus b: a line prints the window
  and the kernel and each product written out, not its value, so nothing else is carried. dW
  is (1/m) times the correlation of the input with dZ (the products again), plus
  (lambda/m) W with lambda as printed; db is dZ summed over positions and samples, where a
  batch of more than one prints each sample's sum (carried as printed); dH_{l-1} is the full
  convolution of dZ with the flipped kernel.
- pool: each window's maximum (or mean) of the printed input; max routes each gradient to the
  FIRST maximum of the printed window (a tie that rounding made goes to the first, as
  engine/layers/pool.py decides it); avg spreads it evenly.
- flatten: a reshape both ways, nothing printed but the values themselves.
Mixed in before `Configured` (engine/layers/cnn.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import conv, flatten, pool

Array = np.ndarray


class ConvWorked:
    if TYPE_CHECKING:  # the layer's (engine/layers/cnn.py)
        def _geo(self) -> dict[str, Any]: ...

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        b = P.get(f"b{l}")
        return conv.forward(h, P[f"W{l}"], None if b is None else np.reshape(b, -1),
                            **self._geo())

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        return conv.back(dz, P[f"W{l}"], h.shape, **self._geo())

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        W = P[f"W{l}"]
        if per_sample:  # each sample's own lines (no 1/m, no L2); the batch's are written anew
            pw, pb = conv.per_sample(h, dz, W, **self._geo())
            keep(f"dW{l}_per_sample", pw)
            if f"b{l}" in P:
                keep(f"db{l}_per_sample", pb)
        dW, _ = conv.grads(h, dz, W, scale=scale, **self._geo())
        if l2:  # + (lambda / m) W, lambda and W as printed
            dW = dW + c("l2", l2) / m * W
        grads = {f"W{l}": keep(f"dW{l}", dW)}
        if f"b{l}" in P:
            sums = dz.sum(axis=(2, 3))  # each sample's map summed: printed when m > 1
            if dz.shape[0] > 1:
                sums = c(f"dZsum{l}", sums)
            grads[f"b{l}"] = keep(f"db{l}", np.reshape(scale * sums.sum(axis=0),
                                                       np.shape(P[f"b{l}"])))
        return grads


class PoolWorked:
    if TYPE_CHECKING:  # the layer's (engine/layers/cnn.py)
        def _geo(self) -> dict[str, Any]: ...

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        return pool.forward(h, **self._geo())

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        return pool.back(dz, h, **self._geo())  # routed by the printed input's first maximum

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        return {}


class FlattenWorked:
    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        return flatten.forward(h)

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        return flatten.back(dz, h.shape)

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        return {}
