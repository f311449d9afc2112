"""The layer types a spec may name (`network.layers[].type`) and the parameters each has, so
the spec can check and draw them before the engine runs. engine/layers/ registers each type's
engine module here too (`engine.layers.register`); the dense layer is built in.

`PARAMS[type](units_in, units_out, bias)` gives each parameter's kind (its name without the
layer's number) and shape, rows layout, in order: the first is drawn from `init`, the others
start at 0."""

from __future__ import annotations

from collections.abc import Callable

Shapes = Callable[[int, int, "bool | str"], dict[str, tuple[int, int]]]


def dense(units_in: int, units_out: int, bias: bool | str) -> dict[str, tuple[int, int]]:
    out = {"W": (units_in, units_out)}
    if bias:
        out["theta" if bias == "threshold" else "b"] = (1, units_out)
    return out


PARAMS: dict[str, Shapes] = {"dense": dense}


def register(name: str, shapes: Shapes) -> None:
    PARAMS[name] = shapes


def layer_params(kind: str, l: int, units_in: int, units_out: int, bias: bool | str
                 ) -> dict[str, tuple[int, int]]:
    """Layer l's parameters by name (W1, b1, a2 ...) and their rows-layout shapes."""
    return {f"{k}{l}": s for k, s in PARAMS[kind](units_in, units_out, bias).items()}
