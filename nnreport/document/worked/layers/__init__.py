"""One module per layer type: the worked lines of a layer (engine/layers/ has its numbers).

A worked layer is three functions of (Ctx, l) returning Steps: `forward` (Z_l's
lines), `grads` (its parameters' gradients, per sample and averaged) and `back` (dH_{l-1}, the
gradient it passes down), and `formula` (Ctx, l), its Z_l in symbols for the Given part's
conventions sentence (Z_1 = X W_1 + b_1, Z_2 = H_1 (.) a_2), in the problem's layout (c.cols:
the columns layout, c.prod and c.sample_sum write products and sums over samples in it).
document/worked/forward.py, backward.py and given.py call them layer by layer and never ask
which type a layer is; `register` adds a type (a test's toy layer does)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ....errors import SpecError
from ...steps import Step
from ..base import Ctx


@dataclass(frozen=True)
class WorkedLayer:
    forward: Callable[[Ctx, int], list[Step]]
    grads: Callable[[Ctx, int], list[Step]]
    back: Callable[[Ctx, int], list[Step]]
    formula: Callable[[Ctx, int], str]


WORKED: dict[str, WorkedLayer] = {}


def register(kind: str, worked: WorkedLayer) -> WorkedLayer:
    """Add the worked lines of layer type `kind`."""
    WORKED[kind] = worked
    return worked


def refuse_unworked(setups: Iterable[Any]) -> None:
    """A located SpecError (exit 2) for each layer of these network setups whose type has no
    worked lines yet (spec/setups.py: `unworked`, made at resolve time at the layer's
    `type:`): the key, the question sheet, `check` and the LMS exports would be wrong pages
    or a crash, while `nnreport solve --json` gives every value."""
    issues = [issue for s in setups for kind, issue in getattr(s, "unworked", ())
              if kind not in WORKED]
    if issues:
        raise SpecError(issues)


def worked_layer(c: Ctx, l: int) -> WorkedLayer:
    """Layer l's worked lines, by its type."""
    kinds = c.s.kinds
    return WORKED[kinds[l - 1] if kinds else "dense"]


from . import dense, flatten, sequences  # noqa: E402  (the shipped types register here)

register("dense", WorkedLayer(dense.forward, dense.grads, dense.back, dense.formula))

from . import shaped as S  # noqa: E402  (issue 25: the configured image and norm layers)

register("conv", WorkedLayer(S.conv_forward, S.conv_grads, S.conv_back, S.conv_formula))
register("pool", WorkedLayer(S.pool_forward, S.no_grads, S.pool_back, S.pool_formula))
register("batchnorm", WorkedLayer(S.bn_forward, S.bn_grads, S.bn_back, S.bn_formula))
register("dropout", WorkedLayer(S.dropout_forward, S.no_grads, S.dropout_back,
                                S.dropout_formula))
register("flatten", WorkedLayer(flatten.forward, flatten.grads, flatten.back, flatten.formula))
register("rnn", WorkedLayer(sequences.rnn_forward, sequences.rnn_grads, sequences.rnn_back,
                            sequences.rnn_formula))
register("attention", WorkedLayer(sequences.attention_forward, sequences.attention_grads,
                                  sequences.attention_back, sequences.attention_formula))
