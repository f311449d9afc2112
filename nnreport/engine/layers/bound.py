"""What the configured layer types (conv, pool, flatten, batchnorm, dropout, rnn, attention)
share as engine `Layer`s: each is its spec type (spec/shaped.py: keys, configuration, shapes)
bound to one layer's configuration (`bind(cfg)`), with its arithmetic on N-d arrays, samples
first (engine/layers/cnn.py, norm.py, seq.py, each over its self-contained math module).

The parts of the protocol a worked key needs (the rounded chain's `worked_*`, the diagram's
`edges`) are not written for them yet: a build refuses such a spec at its layer's `type:`
(build.py), and `rounding: chain` is a located error. Each shipped type writes its
`nnreport code` lines (its `code`, over engine/layers/code_nd.py); a configured type without
one refuses the script (`code` returns None). The exact passes default to None (the float
value stands)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from ...spec.shaped import Cfg, ShapedType
from ..exact import Exact
from .code import LayerCode

Array = np.ndarray


class Configured(ShapedType):
    """Mixed in before a spec type (class Conv(Configured, ConvType)): `cfg` is the bound
    layer's configuration."""

    cfg: Cfg = {}

    def bind(self, cfg: Cfg) -> Any:
        out = type(self)()
        out.cfg = cfg
        return out

    def param_names(self, params: Any, l: int) -> list[str]:
        return [f"{k}{l}" for k in (*self.kinds(), "h0") if f"{k}{l}" in params]

    def decayed(self, l: int) -> list[str]:
        return []

    def edges(self, params: dict[str, Array], l: int) -> tuple[str, Array]:
        raise NotImplementedError(f"the network diagram does not draw {self.name} layers yet")

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        return None

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        return m * sum(int(params[n].size) for n in self.param_names(params, l)) + m

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        return {}

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        return {}

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        return {}

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        return None

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Exact | None = None) -> Exact | None:
        return None

    def exact_grads(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    names: list[str], red: Any, l2: float, m: int) -> dict[str, Exact | None]:
        return {}

    def exact_per_sample(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                         name: str) -> Exact | None:
        return None

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        raise NotImplementedError(f"the worked key for {self.name} layers is not written yet")

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        raise NotImplementedError(f"the worked key for {self.name} layers is not written yet")

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        raise NotImplementedError(f"the worked key for {self.name} layers is not written yet")


def decay(g: Array, w: Array, l2: float, m: int) -> Array:
    """A decayed weight's batch gradient: g + (lambda / m) W, as a dense layer's."""
    return g + (l2 / m) * w if l2 else g
