"""One module per layer type: what a layer owns, behind one small interface.

A layer type is a `Layer`: its parameters' names and shapes, its forward and backward pass
(float, vectorised over the samples in the rows layout, per sample and averaged), the same
passes on exact rationals (engine/exact.py; None once the chain is broken), the worked step's
lines along a rounding path (engine/worked.py), its cost, and what the spec and the outputs
ask of it: the budgets' parameter estimate and the widths it fits (spec/layertypes.py), the
parameters an L2 penalty decays, the edges the network diagram draws and the lines of
`nnreport code`'s script. The network, the exact shadow and the worked values
(engine/network.py, engine/worked.py), the L2 values (engine/intermediates.py), the diagram
(document/figures.py) and the script (render/code.py) iterate over the layers through this
interface and never ask which type a layer is. `LAYERS` maps a type's name to its one instance;
`register` adds a type (a test's toy layer does). A type with a configuration (conv, pool,
flatten, batchnorm, dropout, rnn, attention: spec/shaped.py, engine/layers/cnn.py, norm.py,
seq.py) is bound to each layer's with `bind(cfg)` (`configured`); its arrays are N-d, samples
first.

Names: a layer's parameters are named `<kind><l>` (W1, b1, a2 ...), their gradients `d<name>`,
and each sample's gradient `d<name>_per_sample`, as the JSON contract names them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

import numpy as np

from ...spec import layertypes
from ...spec.layertypes import Fault
from ..exact import Exact
from .code import LayerCode

Array = np.ndarray
Keep = Callable[[str, Any], Array]


class Layer(Protocol):
    """A layer type. `l` is the layer's 1-based index; `params` holds every parameter of the
    network (rows layout), `h` the layer's input H_{l-1} (samples first: (samples, units_in)
    for a dense layer, [samples, C, H, W] or [samples, steps, features] for the configured
    types), `dz` dL/dZ_l (of each sample's loss)."""

    name: str
    has_z: bool  # a pre-activation Z{l} of its own and an activation (JSON Z{l}, dZ{l})
    chain: bool  # its worked_* are written: `rounding: chain` takes it (else a located error)
    couples: bool  # its output mixes the samples: the layers below have no per-sample grads

    def bind(self, cfg: dict[str, Any]) -> Layer:
        """This type configured as one layer (spec/shaped.py: a conv's filters, kernel,
        stride ...); a type without configuration (dense) returns itself."""

    def values(self, h: Array, dz: Array, params: dict[str, Array], l: int
               ) -> dict[str, Array]:
        """Named values of its pass beyond Z{l}, H{l} (from H_{l-1} and dL/d(its output)):
        batchnorm's mu, var, xhat; attention's Q, K, V, S, A; an rnn's every step; by JSON
        name; they override the network's where they share a name."""

    def param_names(self, params: Any, l: int) -> list[str]:
        """Layer l's parameters among `params`, in the key's order."""

    def shapes(self, units_in: int, units_out: int, bias: bool | str) -> dict[str, tuple[int, int]]:
        """Each parameter's kind (W, b ...) and its shape, rows layout."""

    def parameter_count(self, units_in: int, units_out: int) -> int:
        """The parameters the budgets' estimate counts (spec/layertypes.py, spec/cost.py)."""

    def fit(self, units_in: int, units_out: int, bias: bool | str) -> list[Fault]:
        """What does not fit these widths (spec/layertypes.py): (the layer's key, message,
        hint) each, located by the resolver; empty: it fits."""

    def decayed(self, l: int) -> list[str]:
        """The parameters an L2 penalty applies to (the loss's penalty, its worked line and
        the conventions sentence sum their squares)."""

    def edges(self, params: dict[str, Array], l: int) -> tuple[str, Array]:
        """What the network diagram draws between layer l-1 and layer l: the parameter whose
        entries label the edges, and each edge's value as an (in, out) matrix, NaN where unit
        i does not feed unit j (no edge drawn)."""

    def code(self, l: int, params: Collection[str], scale: str, l2: float
             ) -> LayerCode | None:
        """Layer l's lines in `nnreport code`'s script (`params`: the network's parameter
        names, `scale`: '1.0' or '1.0 / m', `l2`: lambda); None: the script refuses the
        spec, naming the layer, rather than write wrong code."""

    def cost(self, params: dict[str, Array], l: int, m: int) -> int:
        """Multiply-adds of one forward pass over m samples."""

    def forward(self, h: Array, params: dict[str, Array], l: int) -> Array:
        """Z_l from H_{l-1}."""

    def back(self, dz: Array, params: dict[str, Array], l: int, h: Any = None) -> Array:
        """dL/dH_{l-1} from dZ_l (h: H_{l-1}, which pooling, batchnorm and the sequence
        layers need)."""

    def grads(self, h: Array, dz: Array, params: dict[str, Array], l: int, scale: float,
              l2: float, m: int) -> dict[str, Array]:
        """The batch gradient of each parameter (scale: 1 or 1/m; the L2 term included)."""

    def per_sample(self, h: Array, dz: Array, params: dict[str, Array], l: int
                   ) -> dict[str, Array]:
        """Each sample's gradient of each parameter (samples first)."""

    def exact_forward(self, h: Exact | None, P: dict[str, Any], l: int) -> Exact | None:
        """forward on exact rationals."""

    def exact_back(self, dz: Exact | None, P: dict[str, Any], l: int,
                   h: Any = None) -> Exact | None:
        """back on exact rationals (h: H_{l-1} exact, or None)."""

    def exact_grads(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                    names: list[str], red: Any, l2: float, m: int) -> dict[str, Exact | None]:
        """grads on exact rationals (red: Fraction(1) or Fraction(1, m)), by parameter."""

    def exact_per_sample(self, h: Exact | None, dz: Exact | None, P: dict[str, Any], l: int,
                         name: str) -> Exact | None:
        """per_sample of one parameter on exact rationals."""

    def worked_forward(self, h: Array, P: dict[str, Array], l: int, keep: Keep, c: Keep
                       ) -> Array:
        """Z_l as its worked line computes it from the printed numbers (`h`, `P` as printed);
        a type without a Z of its own (pool, flatten, batchnorm, dropout, rnn) returns its
        output H_l. Its own named values (mu, var, xhat; Q ... A; an rnn's every step) go
        through `keep`, any other number a line prints through `c` (engine/worked.py)."""

    def worked_backward(self, h: Array, dz: Array, P: dict[str, Array], l: int, m: int,
                        scale: float, l2: float, per_sample: bool, units: tuple[int, ...],
                        keep: Keep, c: Keep) -> dict[str, Array]:
        """The gradient lines of layer l along a rounding path (engine/worked.py), by
        parameter; each value through `keep` under its JSON name, each other printed number
        through `c`."""

    def worked_back(self, dz: Array, P: dict[str, Array], l: int, h: Array, keep: Keep,
                    c: Keep) -> Array:
        """dH_{l-1} as its worked line computes it (`dz`: dL/dZ_l, or dL/d(its output) for a
        type without a Z of its own; `h`: H_{l-1} as printed)."""


LAYERS: dict[str, Layer] = {}


def register(layer: Layer) -> Layer:
    """Add a layer type (by its `name`), and add it to the spec's list of types
    (spec/layertypes.py: a spec may then name it, its shapes and widths are checked); returns
    it."""
    LAYERS[layer.name] = layer
    layertypes.register(layer)
    return layer


def layer(kind: str) -> Layer:
    return LAYERS[kind]


def layers_of(kinds: tuple[str, ...], depth: int) -> list[Layer]:
    """Each layer's type, layer 1 first (`kinds` empty: all dense)."""
    return [LAYERS[k] for k in (kinds or ("dense",) * depth)]


def configured(kinds: tuple[str, ...], cfgs: tuple[dict[str, Any], ...], depth: int
               ) -> list[Layer]:
    """Each layer's type bound to its configuration, layer 1 first (`cfgs` empty: a network
    of unconfigured types, dense)."""
    return [lay.bind(cfgs[l]) if cfgs else lay for l, lay in enumerate(layers_of(kinds, depth))]


def decayed(kinds: tuple[str, ...], depth: int) -> list[str]:
    """The parameters the L2 penalty applies to, layer by layer (W1, W2 ... when dense)."""
    return [w for l, lay in enumerate(layers_of(kinds, depth), 1) for w in lay.decayed(l)]


from .cnn import CONV, FLATTEN, POOL  # noqa: E402  (the shipped types register themselves)
from .dense import DENSE  # noqa: E402
from .norm import BATCHNORM, DROPOUT  # noqa: E402
from .seq import ATTENTION, RNN  # noqa: E402

for _layer in (DENSE, CONV, POOL, FLATTEN, BATCHNORM, DROPOUT, RNN, ATTENTION):
    register(_layer)
