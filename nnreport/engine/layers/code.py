"""What a layer type writes into `nnreport code`'s NumPy script (render/code.py reads it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerCode:
    """A layer's part of `nnreport code`'s NumPy script (render/code.py): `forward` the
    expression of Z_l from `H[-1]` and `params`; `grads` the lines that set `grads[name]` of
    each parameter from `H[l-1]`, `dZ` (dL/dZ_l) and `m`, the L2 term included; `back` the
    expression of dL/dH_{l-1} from `dZ`.

    A configured type (engine/layers/code_nd.py) may add `backward`, lines run before
    `grads` (a helper's call that gives dX and the parameters' gradients at once, which
    `grads` and `back` then read), `helpers`, the functions its lines call (each written
    once into a script, however many layers call it), and `constants`, module-level lines
    its expressions read (a dropout mask)."""

    forward: str
    grads: list[str]
    back: str
    backward: tuple[str, ...] = ()
    helpers: tuple[str, ...] = ()
    constants: tuple[str, ...] = ()
