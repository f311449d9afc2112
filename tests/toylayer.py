"""A toy layer type, added the way a real one is: one engine module (its numbers) and one
worked module (its lines), each registered. The scaling layer z = h (.) a multiplies each unit
by its own parameter a_l, shape (1, units); its input has as many units as it (units_in ==
units_out) and it has no bias."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from nnreport.document.steps import Step
from nnreport.document.worked.base import Ctx
from nnreport.document.worked.layers import WorkedLayer
from nnreport.document.worked.layers import register as register_worked
from nnreport.engine import exact
from nnreport.engine.layers import LayerCode, register

Array = np.ndarray


class Scale:
    name = "scale"
    has_z = True
    chain = True
    couples = False

    def bind(self, cfg: dict[str, Any]) -> Scale:
        return self

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        return {}

    def param_names(self, params: Any, l: int) -> list[str]:
        return [f"a{l}"]

    def shapes(self, units_in: int, units_out: int, bias: bool | str
               ) -> dict[str, tuple[int, int]]:
        return {"a": (1, units_out)}

    def parameter_count(self, units_in: int, units_out: int) -> int:
        return units_out

    def fit(self, units_in: int, units_out: int, bias: bool | str
            ) -> list[tuple[str, str, str]]:
        if units_in == units_out:
            return []
        return [("units", f"a scaling layer keeps its input's width, but it has {units_out} "
                 f"units and its input {units_in}",
                 f"give it {units_in} units, or make it a dense layer (type: dense)")]

    def decayed(self, l: int) -> list[str]:
        return []

    def edges(self, params: dict[str, Array], l: int) -> tuple[str, Array]:
        """Unit j feeds only unit j, times a_j: the diagonal, no other edge."""
        a = params[f"a{l}"].ravel()
        out = np.full((a.size, a.size), np.nan)
        np.fill_diagonal(out, a)
        return f"a{l}", out

    def code(self, l: int, params: Collection[str], scale: str, l2: float) -> LayerCode:
        return LayerCode(f"H[-1] * params['a{l}']",
                         [f"grads['a{l}'] = {scale} * (H[{l - 1}] * dZ).sum(axis=0, "
                          "keepdims=True)"], f"dZ * params['a{l}']")

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        return m * int(params[f"a{l}"].size)

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        return h * params[f"a{l}"]

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        return dz * params[f"a{l}"]

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        return {f"a{l}": scale * (h * dz).sum(axis=0, keepdims=True)}

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        return {f"a{l}": (h * dz)[:, None, :]}

    def exact_forward(self, h: Any, P: dict[str, Any], l: int) -> Any:
        return exact.maybe(lambda h, a: h * a, h, P.get(f"a{l}"))

    def exact_back(self, dz: Any, P: dict[str, Any], l: int, h: Any = None) -> Any:
        return exact.maybe(lambda d, a: d * a, dz, P.get(f"a{l}"))

    def exact_grads(self, h: Any, dz: Any, P: dict[str, Any], l: int, names: list[str],
                    red: Any, l2: float, m: int) -> dict[str, Any]:
        return {f"a{l}": exact.maybe(lambda h, d: (h * d).sum(axis=0, keepdims=True) * red,
                                     h, dz)}

    def exact_per_sample(self, h: Any, dz: Any, P: dict[str, Any], l: int, name: str) -> Any:
        return exact.maybe(lambda h, d: (h * d)[:, None, :], h, dz)

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Any, c: Any
                       ) -> Array:
        return h * P[f"a{l}"]

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Any, c: Any
                    ) -> Array:
        return dz * P[f"a{l}"]

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Any, c: Any) -> dict[str, Array]:
        if per_sample:
            keep(f"da{l}_per_sample", (h * dz)[:, None, :])
        return {f"a{l}": keep(f"da{l}", scale * (h * dz).sum(axis=0, keepdims=True))}


def formula(c: Ctx, l: int) -> str:
    """Z_l = H_{l-1} (.) a_l: a_l's row (its column in the columns layout) scales each
    sample's units."""
    return rf"{c.n(f'Z{l}')} = {c.n(f'H{l - 1}')} \odot {c.n(f'a{l}')}"


def forward(c: Ctx, l: int) -> list[Step]:
    """Z_l = H_{l-1} (.) a_l."""
    a, Hp = c.n(f"a{l}"), c.n(f"H{l - 1}")
    return [c.step(c.n(f"Z{l}"), rf"{Hp} \odot {a}",
                   [c.v(c.H(l - 1), c.hkey(l - 1)), r"\odot", c.v(c.s.params[f"a{l}"])],
                   c.sol.step.Z[l - 1], key=f"Z{l}", shape=True,
                   note="the scaling layer: each unit times its own factor")]


def grads(c: Ctx, l: int) -> list[Step]:
    """da_l = (1/m) 1^T (H_{l-1} (.) dZ_l), the sum over the samples of the products: the
    column sums in the rows layout, the row sums (H (.) dZ) 1 in the columns layout."""
    a, Hp, dZn = c.n(f"a{l}"), c.n(f"H{l - 1}"), c.n(f"dZ{l}")
    pre = c.mean()
    lead = [pre] if pre else []
    f = " ".join(lead + [str(p) for p in c.sample_sum([rf"\left({Hp} \odot {dZn}\right)"])])
    subst = lead + c.sample_sum([r"\left(", c.v(c.H(l - 1), c.hkey(l - 1)), r"\odot",
                                 c.v(c.sol.step.dZ[l - 1], f"dZ{l}"), r"\right)"])
    return [c.step(f"d{a}", f, subst, c.sol.step.grads[f"a{l}"], key=f"da{l}")]


def back(c: Ctx, l: int) -> list[Step]:
    """dH_{l-1} = dZ_l (.) a_l."""
    a, dZn = c.n(f"a{l}"), c.n(f"dZ{l}")
    return [c.step(c.n(f"dH{l - 1}"), rf"{dZn} \odot {a}",
                   [c.v(c.sol.step.dZ[l - 1], f"dZ{l}"), r"\odot", c.v(c.s.params[f"a{l}"])],
                   c.sol.named[f"dH{l - 1}"], key=f"dH{l - 1}", asked=False)]


SCALE = register(Scale())
register_worked("scale", WorkedLayer(forward, grads, back, formula))
