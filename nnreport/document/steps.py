"""A worked step as data: what a student writes on one line of a solution.

    lhs = formula = substitution = result        (note: why, in one line)

The network and expression builders produce Steps; the LaTeX line renderer (lines.py), the
question sheet, HTML and the structural checks all read the same Steps, so no output format
re-derives the mathematics. Numbers stay numbers (`Val`) until a renderer formats them with
the number rules of render/numbers.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..render.matrices import Tex


@dataclass(frozen=True)
class Val:
    """A number or matrix inside a step, shown with `digits` significant digits; `column`
    shows a 1-D value as a column (the v in M v)."""

    value: np.ndarray | float
    digits: int
    column: bool = False
    rows: int = 0  # rows shown before eliding (0: render/matrices.py's MAX_ROWS)
    factor: bool | int = True  # its quantity's power of ten, decided once (False: none;
    #                            True: the entries decide), so dz^(2) reads as it does in dZ

    @property
    def array(self) -> np.ndarray:
        a = np.asarray(self.value, dtype=float)
        return a.reshape(-1, 1) if self.column and a.ndim == 1 else a


Piece = str | Val | Tex  # LaTeX text, a value, or math already rendered with its width


@dataclass
class Step:
    lhs: str                          # LaTeX of the left-hand side, e.g. Z_{1}
    formula: str | None = None        # the right-hand side in symbols
    subst: list[Piece] | None = None  # the right-hand side with the numbers put in
    result: Val | None = None         # the value (None: a definition such as L_i = ...)
    key: str = ""                     # canonical JSON name of the result, when it has one
    shape: bool = False               # print the result's shape at the right
    note: str = ""                    # one line of prose (LaTeX) saying why, above the step
    asked: bool = True                # a blank to fill in on the question sheet
    more: list[list[Piece]] = field(default_factory=list)  # further right-hand sides, in order
    points: float | None = None       # set by marking.py: what the answer is worth, if graded
    chain: Val | None = None          # rounding: chain, when it prints differently (marking.py)
    keep: bool = False                # stays on the page of the step before (a closing line)
    at: tuple[int, ...] = ()          # the part of the key's value it prints (a map (n, f), a
    #                                   sample (i,)); () the whole value

    @property
    def elided(self) -> bool:
        """True when a matrix of the step is too large to print whole (corners only)."""
        from ..render.matrices import MAX_COLS, MAX_ROWS

        vals = [p for p in (self.subst or []) if isinstance(p, Val)]
        vals += [p for side in self.more for p in side if isinstance(p, Val)]
        if self.result is not None:
            vals.append(self.result)
        for v in vals:
            a = v.array
            if a.ndim == 2 and (a.shape[0] > (v.rows or MAX_ROWS) or a.shape[1] > MAX_COLS):
                return True
            if a.ndim == 1 and a.size > MAX_COLS:
                return True
        return False
