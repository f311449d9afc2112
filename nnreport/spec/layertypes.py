"""The layer types a spec may name (`network.layers[].type`) and what the spec knows of each
before the engine runs: its parameters and their shapes, how many parameters the budgets'
estimate counts, and which widths it fits. engine/layers/ registers each type's engine module
here (`engine.layers.register`: a `Layer` is a `LayerType`); the dense layer is built in, as
the spec must read without the engine.

`TYPES[type].shapes(units_in, units_out, bias)` gives each parameter's kind (its name without
the layer's number) and shape, rows layout, in order: the first is drawn from `init`, the
others start at 0."""

from __future__ import annotations

from typing import Protocol

Fault = tuple[str, str, str]  # (the layer's key at fault: units, bias ...; message; hint)


class LayerType(Protocol):
    name: str

    def shapes(self, units_in: int, units_out: int, bias: bool | str
               ) -> dict[str, tuple[int, int]]:
        """Each parameter's kind (W, b, a ...) and its shape, rows layout, in the key's order."""
        ...

    def parameter_count(self, units_in: int, units_out: int) -> int:
        """The parameters the budgets' estimate counts for a layer of these widths
        (spec/cost.py), before its bias or anything else is resolved."""
        ...

    def fit(self, units_in: int, units_out: int, bias: bool | str) -> list[Fault]:
        """What does not fit in a layer of this type with these widths: each fault's key of
        the layer (units, bias ...), a message after 'layer k: ' and a hint; none: it fits."""
        ...


def dense(units_in: int, units_out: int, bias: bool | str) -> dict[str, tuple[int, int]]:
    out = {"W": (units_in, units_out)}
    if bias:
        out["theta" if bias == "threshold" else "b"] = (1, units_out)
    return out


class DenseType:
    """z = h W + b: any widths; the estimate counts W and a bias row (with or without bias,
    as it always has: an estimate, not the count)."""

    name = "dense"
    chain = True  # `rounding: chain` works its lines (engine/worked.py)

    def shapes(self, units_in: int, units_out: int, bias: bool | str
               ) -> dict[str, tuple[int, int]]:
        return dense(units_in, units_out, bias)

    def parameter_count(self, units_in: int, units_out: int) -> int:
        return units_in * units_out + units_out

    def fit(self, units_in: int, units_out: int, bias: bool | str) -> list[Fault]:
        return []


DENSE = DenseType()
TYPES: dict[str, LayerType] = {"dense": DENSE}


def register(kind: LayerType) -> None:
    TYPES[kind.name] = kind


def layer_params(kind: str, l: int, units_in: int, units_out: int, bias: bool | str
                 ) -> dict[str, tuple[int, int]]:
    """Layer l's parameters by name (W1, b1, a2 ...) and their rows-layout shapes."""
    return {f"{k}{l}": s for k, s in TYPES[kind].shapes(units_in, units_out, bias).items()}


def parameter_count(kinds: tuple[str, ...], units: tuple[int, ...]) -> int:
    """The budgets' parameter estimate of a network (`units` starts with the input width;
    `kinds` each layer's type, empty: all dense)."""
    kinds = kinds or ("dense",) * (len(units) - 1)
    return sum(TYPES[k].parameter_count(units[l], units[l + 1]) for l, k in enumerate(kinds))
