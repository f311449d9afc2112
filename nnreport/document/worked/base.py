"""What every part of a network's worked solution shares: display names, the layout, values
as the problem shows them, and a short-hand for building Steps."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ...engine.printed import large_network
from ...engine.solution import NetworkSolution
from ...render import formulas as F
from ...render.matrices import MAX_ROWS
from ...render.numbers import fmt
from ...spec.setups import bias_name
from ..steps import Piece, Step, Val

LARGE_ROWS = 5  # a large network's tall matrices: three rows, the dots and the last row
MAX_TERMS = 6  # terms of an entry's sum written out; longer sums show the first and last ones


FAMILY = re.compile(r"(dZ|dH|dW|db|dtheta|delta|Z|H|W|b|theta)(\d+)")


PARAM_SUB = re.compile(r"([A-Z]|h)([a-z]|0)(\d+)")


def indexed(tex: str, index: str) -> str:
    """A symbol with a subscript index added: net -> net_{1}, w_{ij} -> w_{ij,1}."""
    if tex.endswith("}") and "_{" in tex:
        return f"{tex[:-1]},{index}}}"
    return f"{tex}_{{{index}}}"


class Namer:
    """Display names: W1 -> W_{1}, b1 -> B (from names:), H_L -> \\hat{Y}, and with
    `symbols:` the course's letters for a whole family (Z: net makes Z1 \\mathrm{net}_{1})."""

    def __init__(self, names: dict[str, str], depth: int, symbols: dict[str, str] | None = None):
        self.names, self.L, self.symbols = names, depth, symbols or {}

    def __call__(self, key: str) -> str:
        if key in self.names:
            return F.symbol(self.names[key])
        if key == f"H{self.L}":
            return r"\hat{Y}"
        if key == "H0":
            return "X"
        m = FAMILY.fullmatch(key)
        if m and m.group(1) in self.symbols:
            return indexed(F.symbol(self.symbols[m.group(1)]), m.group(2))
        if key[0] in "WbZH" and key[1:].isdigit():
            return f"{key[0]}_{{{key[1:]}}}"
        sub = PARAM_SUB.fullmatch(key)  # another layer type's parameter: Wx1 -> W_{x,1}
        if sub:
            return f"{sub.group(1)}_{{{sub.group(2)},{sub.group(3)}}}"
        if m and m.group(1) in ("dZ", "dH", "delta"):
            return (r"\delta" if m.group(1) == "delta" else m.group(1)) + f"_{{{m.group(2)}}}"
        return F.symbol(key)

    def d(self, key: str) -> str:
        """Gradient name: dW_{1}, dB ...; the course's (symbols: dW: Dw) where it has one."""
        m = FAMILY.fullmatch(key)
        if m and "d" + m.group(1) in self.symbols and key not in self.names:
            return self(f"d{key}")
        return "d" + self(key) if key != f"H{self.L}" else r"d\hat{Y}"

    def row(self, family: str, i: int | str, l: int | str) -> str:
        """Row (sample) i of a family's matrix: dz^{(i)}_{l}, or the course's letter."""
        if family in self.symbols:
            return indexed(F.symbol(self.symbols[family]), str(l)) + f"^{{({i})}}"
        base = r"\delta" if family == "delta" else family.lower()
        return f"{base}^{{({i})}}_{{{l}}}"


class Ctx:
    """One solved network problem, as its document shows it."""

    def __init__(self, sol: NetworkSolution, report: bool = False):
        self.sol, self.s = sol, sol.setup
        self.report = report  # a homework report (document: report), not an exam key
        self.cols = self.s.layout == "columns"
        self.n = Namer(self.s.names, self.s.depth, self.s.symbols)
        self.digits = self.s.digits
        self.m = sol.Xb.shape[0]
        self.L = self.s.depth
        self.t = 1  # the optimiser step worked (worked_steps: a later one)
        self.large = large_network(self.s.units)
        self.factors: dict[str, bool | int] = {}  # each quantity's power of ten (issue 22.4)

    def tall(self, p: Piece) -> bool:
        """A matrix that would print with its rows elided (vertical dots)."""
        return isinstance(p, Val) and p.array.ndim == 2 and p.array.shape[0] > MAX_ROWS

    def show(self, a: np.ndarray) -> np.ndarray:
        """A rows-layout matrix as the problem's layout shows it."""
        return a.T if self.cols and np.ndim(a) == 2 else a

    def dig(self, key: str = "") -> int:
        """The digits of the key's value `key` (digits_for), wherever it is printed; the
        problem's digits for anything else. The rounded chain (engine/chain.py) carries
        each value with the same digits."""
        return self.s.digits_for.get(key, self.digits) if key else self.digits

    def v(self, a: np.ndarray | float, key: str = "") -> Val:
        """A value in the problem's layout, with the digits of `key` (digits_for) if given,
        and its quantity's power of ten: the first whole value printed under a key decides
        it (issue 22.4), its rows and later lines reuse it."""
        arr = np.asarray(a, dtype=float)
        shown = self.show(arr) if arr.ndim == 2 else arr
        if key and key not in self.factors and arr.size > 1:
            self.decide(key, shown)
        return Val(shown, self.dig(key), rows=LARGE_ROWS if self.large else 0,
                   factor=self.factors.get(key, True) if key else True)

    def decide(self, key: str, *values: np.ndarray) -> None:
        """The power of ten of quantity `key` from the entries its matrices show (all of them:
        the per-sample dW are one quantity)."""
        from ...render.matrices import shown_entries
        from ...render.numbers import common_exponent

        rows = LARGE_ROWS if self.large else MAX_ROWS
        entries = [x for a in values for x in shown_entries(a, rows)]
        k = common_exponent(entries, self.dig(key)) if all(np.isfinite(entries)) else None
        self.factors[key] = False if k is None else k

    def row(self, a: np.ndarray, key: str, digits: int | None = None) -> Val:
        """A slice of quantity `key` (a sample's row of dZ), with the quantity's power."""
        return Val(a, self.dig(key) if digits is None else digits,
                   factor=self.factors.get(key, True))

    def hkey(self, l: int) -> str:
        """The key's name of H_l: '' for X (given), yhat for the output."""
        return "" if l == 0 else "yhat" if l == self.L else f"H{l}"

    def step(self, lhs: str, formula: str | None, subst: list[Piece] | None,
             result: np.ndarray | float | None, key: str = "", shape: bool = False,
             note: str = "", more: list[list[Piece]] | None = None, asked: bool = True,
             like: str = "") -> Step:
        """`like`: the result is an entry of that value, printed with its digits."""
        val = None if result is None else self.v(result, key or like)
        if self.large and subst and any(self.tall(p) for p in subst):
            subst = None  # the result and its entry (1, 1) written out show the method
        return Step(lhs, formula, subst, val, key, shape, note, asked, more or [])

    @property
    def whole(self) -> int:
        """Samples of the first batch (the worked step may use only its first few)."""
        b = self.sol.batch
        return b.Z[0].shape[0] if b is not None else self.m

    def grads_used(self) -> dict[str, np.ndarray]:
        """The gradients the update used: of the whole first batch."""
        return (self.sol.batch or self.sol.step).grads

    def H(self, l: int) -> np.ndarray:
        return self.sol.step.H[l]

    def has_z(self, l: int) -> bool:
        """Layer l has a pre-activation Z_l and the network applies its activation (a dense
        layer; a conv layer); pool, flatten, batchnorm, dropout (and a recurrence, whose
        activation acts inside it) have no activation line and no dZ_l of their own."""
        from ...spec.layertypes import TYPES

        kinds = self.s.kinds
        t = TYPES[kinds[l - 1]] if kinds else None
        return t is None or (getattr(t, "has_z", True) and not getattr(t, "inside", False))

    def layer_type(self, l: int) -> Any:
        """Layer l's configured type (spec/shaped.py), None for a dense layer."""
        from ...spec.shapes import SHAPED

        return SHAPED.get(self.s.kinds[l - 1]) if self.s.kinds else None

    def cfg(self, l: int) -> dict[str, Any]:
        """Layer l's configuration ({} for a dense layer)."""
        return dict(self.s.layer_cfgs[l - 1]) if self.s.layer_cfgs else {}

    def own_activation(self, l: int) -> bool:
        """Whether the network applies layer l's activation after it (H_l = f(Z_l), its own
        lines and dZ_l): not for a layer without Z (pool, flatten, attention ...) or one whose
        activation acts inside it (the rnn: its worked module writes every step)."""
        return self.has_z(l)

    def inp(self, l: int, row: bool = False) -> str:
        """The name of what layer l reads: H_{l-1} (`row`: a sample's row, h_{l-1}); after an
        rnn that passes on its last state, h_T (its H_{l-1} is every step's state; the rnn's
        lines name the last state h_T, a batch's H^<T>, a sample's row h_T^(i))."""
        below = self.layer_type(l - 1) if l > 1 and self.s.shapes else None
        T = below.last_step(self.s.shapes[l - 2], self.cfg(l - 1)) if below else None
        if T is not None:  # the type says so (spec/shaped.py: an rnn's return: last)
            return f"h_{{{T}}}" if self.m == 1 or row else rf"{{H^{{\langle {T} \rangle}}}}"
        Hp = self.n(f"H{l - 1}")
        return ("x" if Hp == "X" else Hp.lower()) if row else Hp

    def has_bias(self, l: int) -> bool:
        return bias_name(self.s.params, l) is not None

    def bias(self, l: int) -> str:
        """The name of layer l's bias: b{l}, or theta{l} for a threshold (z = h W - theta)."""
        return bias_name(self.s.params, l) or f"b{l}"

    def threshold(self, l: int) -> bool:
        return f"theta{l}" in self.s.params

    def mean(self) -> str:
        """The mean's 1/m before a sum over the batch (none over a batch of one: 1/1 says
        nothing)."""
        return rf"\frac{{1}}{{{self.m}}}" if self.s.reduction == "mean" and self.m > 1 else ""

    def prod(self, a: str, b: str) -> str:
        """A matrix product in symbols; in the columns layout the factors swap."""
        return f"{a} {b}" if not self.cols else f"{b} {a}"

    def sample_sum(self, inner: list[Piece]) -> list[Piece]:
        """The sum over a batch's samples of a matrix with one row per sample (one column in
        the columns layout), as symbols or numbers: 1^T M, or M 1 in the columns layout."""
        one = r"\mathbf{1}"
        return [rf"{one}^{{T}}", *inner] if not self.cols else [*inner, one]

    def times(self, a: Val, b: Val) -> list[Piece]:
        """The product of two values as a line prints it: side by side (a matrix product)
        unless one is a single number, which gets a product dot (1 \\cdot 12, never 1 12)."""
        dot = a.array.size == 1 or b.array.size == 1
        return [a, r"\cdot" if dot else r"\,", b]

    def entry(self, i: int, j: int) -> tuple[int, int]:
        """Index (i, j) of a rows-layout matrix as the layout shows it, 1-based."""
        return (j + 1, i + 1) if self.cols else (i + 1, j + 1)


def products(pairs: list[tuple[float, float]], d: int, d2: int | None = None) -> list[str]:
    """'a \\cdot b' for each pair, the first ones and the last one when there are many; b
    with d2 digits if given."""
    def t(a: float, b: float) -> str:
        bb = fmt(b, d if d2 is None else d2)
        return f"{fmt(a, d)} \\cdot " + (rf"\left({bb}\right)" if bb.startswith("-") else bb)

    if len(pairs) <= MAX_TERMS:
        return [t(a, b) for a, b in pairs]
    return [t(a, b) for a, b in pairs[:MAX_TERMS - 2]] + [r"\cdots", t(*pairs[-1])]


def sum_pieces(terms: list[str], pre: str = "") -> list[Piece]:
    """`pre (t1 + t2 - t3 ...)` as separate pieces, so a long sum can break between terms."""
    out: list[Piece] = [pre + r"\left(" if pre else ""]
    for k, t in enumerate(terms):
        if k == 0:
            out[0] = str(out[0]) + t
        elif t.startswith("-"):
            out.append("- " + t[1:])
        else:
            out.append("+ " + t)
    if pre:
        out.append(r"\right)")
    return out


def samples(rows0: list[int]) -> str:
    """'samples 3 and 2', 'samples 1 to 4': 1-based, in batch order."""
    rows = [i + 1 for i in rows0]
    if len(rows) == 1:
        return f"sample {rows[0]}"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"samples {rows[0]} to {rows[-1]}"
    return "samples " + ", ".join(str(r) for r in rows[:-1]) + f" and {rows[-1]}"
