"""The rounded chain's lines of batchnorm and dropout (engine/worked.py): each computes
exactly what the key's lines substitute (document/worked/layers/batchnorm.py, dropout.py),
from the numbers as printed.

- batchnorm: mu = (1/m) sum of the printed rows; sigma^2 = (1/m) sum of the squared
  deviations, each deviation x - mu printed (and carried) before it is squared; the standard
  deviation sqrt(sigma^2 + eps) on a line of its own (carried as printed); xhat = (X - mu)
  divided by it; H = gamma xhat + beta. dgamma, dbeta: (1/m) sums of dH xhat and dH; dX by
  the closed form from the printed dxhat = dH gamma, its column sums and those of
  dxhat xhat, xhat and the standard deviation.
- dropout: H_{l-1} (.) M times 1/(1 - p), which the key prints as a decimal
  (1/(1 - 0.3) = 1.429): carried as printed, forward and back.
Mixed in before `Configured` (engine/layers/norm.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

Array = np.ndarray


class BatchNormWorked:
    cfg: Any
    _xhat: Array
    _std: Array

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        m = h.shape[0]
        mu = keep(f"mu{l}", h.sum(axis=0) / m)
        dev = c(f"dev{l}", h - mu)  # the deviations, printed before they are squared
        var = keep(f"var{l}", (dev ** 2).sum(axis=0) / m)
        eps = c(f"bneps{l}", float(self.cfg.get("eps", 1e-5)))
        self._std = c(f"std{l}", np.sqrt(var + eps))
        self._xhat = keep(f"xhat{l}", (h - mu) / self._std)
        return np.reshape(P[f"gamma{l}"], -1) * self._xhat + np.reshape(P[f"beta{l}"], -1)

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        m, xhat = dz.shape[0], self._xhat
        dxhat = c(f"dxhat{l}", dz * np.reshape(P[f"gamma{l}"], -1))
        s1 = c(f"dxhatsum{l}", dxhat.sum(axis=0))
        s2 = c(f"dxhatxhat{l}", (dxhat * xhat).sum(axis=0))
        return (m * dxhat - s1 - xhat * s2) / (m * self._std)

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        xhat = self._xhat
        if per_sample:
            keep(f"dgamma{l}_per_sample", dz * xhat)
            keep(f"dbeta{l}_per_sample", dz)
        shape = np.shape(P[f"gamma{l}"])
        return {f"gamma{l}": keep(f"dgamma{l}", np.reshape(scale * (dz * xhat).sum(axis=0),
                                                            shape)),
                f"beta{l}": keep(f"dbeta{l}", np.reshape(scale * dz.sum(axis=0), shape))}


class DropoutWorked:
    cfg: Any
    if TYPE_CHECKING:  # the layer's (engine/layers/norm.py): the batch's rows of the mask
        def _mask(self, n: int) -> Array: ...

    def _scale(self, l: int, c: Any) -> Array:
        return c(f"dropscale{l}", 1 / (1 - c(f"p{l}", float(self.cfg["p"]))))

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        return h * self._mask(h.shape[0]) * self._scale(l, c)

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        return dz * self._mask(dz.shape[0]) * self._scale(l, c)

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        return {}
