"""Redo the arithmetic a key prints, from the .tex alone, independently of nnreport's code.

`worked_lines(tex)` splits every align* of a key into its steps: (lhs, [right-hand sides]),
the "rounded chain" row, notes and tags dropped, rows broken over lines joined again.
`evaluate(side, env)` computes one right-hand side from the numbers and matrices it prints
(tests/texnumbers.py reads them) with the operators worked lines use:

    +  -  \\cdot  \\odot  \\oslash  \\,  (matrix product; a number scales)  juxtaposition
    \\frac{a}{b}  x^2  e^{x}  \\sqrt{}  \\log  \\exp  \\sigma  \\tanh  \\operatorname{ReLU}
    \\operatorname{LReLU}_{\\alpha}  \\mathbf{1}\\left[ M > 0 \\right]  \\varepsilon (env)
    and an expression problem's  \\operatorname{sum|mean|softmax|colsum|rowmax ...}  \\max
    \\min  \\left| x \\right|  x^{T}

With `jitter` (a RandomState) every number that may have been rounded (it shows at least
`digits` significant digits) is moved by a random amount within half a unit in its last
digit: how far a line's result can move when its printed numbers are rounded.

and raises Unsupported for anything else (a formula in symbols, an elided matrix, \\cdots):
the caller then knows that side is not a substitution it can redo.
"""

from __future__ import annotations

import re

import numpy as np
from texnumbers import Number, parse_matrix, parse_number


class Unsupported(Exception):
    pass


_TOKENS = [
    ("MAT", r"(?:10\^\{-?\d+\}\s*)?\\begin\{bmatrix\}.*?\\end\{bmatrix\}"
            r"(?:\s*_\{\d+\s*\\times\s*\d+\})?"),  # with its shared power of ten
    ("NUM", r"10\^\{-?\d+\}|\d+(?:\.\d+)?(?:\s*\\times\s*10\^\{-?\d+\})?"),
    ("SKIP", r"\\left\.|\\right\.|\s+"),
    ("LP", r"\\left\(|\\bigl\("), ("RP", r"\\right\)|\\bigr\)"),
    ("LB", r"\\left\["), ("RB", r"\\right\]"),
    ("LC", r"\{"), ("RC", r"\}"),
    ("IND", r"\\mathbf\{1\}"),
    ("FN", r"\\sigma|\\tanh|\\operatorname\{ReLU\}|\\operatorname\{LReLU\}_\{\\alpha\}|\\exp|\\log"
           r"|\\operatorname\{(?:sum|mean|softmax|(?:col|row)(?:sum|mean|max|min))\}|\\max|\\min"),
    ("ABSL", r"\\left\|"), ("ABSR", r"\\right\|"), ("TR", r"\^\{T\}"),
    ("SQRT", r"\\sqrt"), ("FRAC", r"\\frac"), ("EPS", r"\\varepsilon"), ("E", r"e(?=\^)"),
    ("MUL", r"\\cdot|\\odot|\\oslash|\\,"),
    ("ADD", r"[+-]"), ("POW", r"\^"), ("GT", r">"),
]
_RX = re.compile("|".join(f"(?P<{n}>{p})" for n, p in _TOKENS), re.S)
_STARTS = {"MAT", "NUM", "LP", "LB", "LC", "IND", "FN", "SQRT", "FRAC", "EPS", "E", "ABSL"}


def tokens(text: str) -> list[tuple[str, str]]:
    out, i = [], 0
    while i < len(text):
        m = _RX.match(text, i)
        if not m:
            raise Unsupported(text[i:i + 30])
        if m.lastgroup != "SKIP":
            out.append((m.lastgroup, m.group()))
        i = m.end()
    return out


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


class _Parser:
    def __init__(self, toks: list[tuple[str, str]], env: dict[str, float],
                 jitter: np.random.RandomState | None = None, digits: int = 99):
        self.t, self.i, self.env = toks, 0, env
        self.jitter, self.digits = jitter, digits

        self.rounded = 0            # numbers read so far that may have been rounded
        self.nudge: int | None = None  # move only this one of them (by half a unit), if set

    def number(self, n: Number) -> float:
        x = float(n.value)
        if n.sig >= self.digits:  # may have been rounded: within half a unit in its last digit
            half = 0.5 * 10.0 ** n.last
            if self.nudge is not None:
                x += half if self.rounded == self.nudge else 0.0
            elif self.jitter is not None:
                x += half * self.jitter.choice([-1.0, 1.0])
            self.rounded += 1
        return x

    def peek(self) -> str | None:
        return self.t[self.i][0] if self.i < len(self.t) else None

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            raise Unsupported(f"expected {kind} at {self.t[self.i:self.i + 3]}")
        self.i += 1
        return self.t[self.i - 1][1]

    def expr(self):
        v = self.term()
        while self.peek() == "ADD":
            op = self.take("ADD")
            w = self.term()
            v = v + w if op == "+" else v - w
        return v

    def term(self):
        v = self.unary()
        while self.peek() == "MUL" or self.peek() in _STARTS:
            op = self.take("MUL") if self.peek() == "MUL" else ""
            w = self.unary()
            if op == r"\odot":
                v = v * w
            elif op == r"\oslash":
                v = v / w
            elif op == r"\cdot" or np.ndim(v) == 0 or np.ndim(w) == 0:
                v = v * w
            else:  # \, or two matrices side by side: the matrix product
                v = v @ w
        return v

    def unary(self):
        if self.peek() == "ADD":
            op = self.take("ADD")
            v = self.unary()
            return -v if op == "-" else v
        v = self.primary()
        while self.peek() == "TR":
            self.take("TR")
            v = np.transpose(v)
        if self.peek() == "POW":
            self.take("POW")
            e = self.group() if self.peek() == "LC" else self.number(parse_number(self.take("NUM")))
            v = np.power(v, e)
        return v

    def group(self):
        self.take("LC")
        v = self.expr()
        self.take("RC")
        return v

    def primary(self):
        kind = self.peek()
        if kind == "MAT":
            try:
                m = parse_matrix(self.take("MAT"))
            except ValueError as e:  # a matrix texnumbers does not read
                raise Unsupported(str(e)) from None
            if len(m.cells) < m.shape[0] * m.shape[1]:
                raise Unsupported("an elided matrix")
            a = np.zeros(m.shape)
            for (i, j), n in m.cells.items():
                a[i, j] = self.number(n)
            return a
        if kind == "NUM":
            return np.asarray(self.number(parse_number(self.take("NUM"))))
        if kind == "ABSL":
            self.take("ABSL")
            v = self.expr()
            self.take("ABSR")
            return np.abs(v)
        if kind == "E":  # e^{x}
            self.take("E")
            return np.asarray(np.e)
        if kind == "EPS":
            self.take("EPS")
            return np.asarray(self.env["eps"])
        if kind == "LC":
            return self.group()
        if kind in ("LP", "LB"):
            self.take(kind)
            v = self.expr()
            self.take("RP" if kind == "LP" else "RB")
            return v
        if kind == "FRAC":
            self.take("FRAC")
            return self.group() / self.group()
        if kind == "SQRT":
            self.take("SQRT")
            return np.sqrt(self.group())
        if kind == "IND":  # 1[M > 0]
            self.take("IND")
            self.take("LB")
            v = self.expr()
            self.take("GT")
            if float(parse_number(self.take("NUM")).value) != 0:
                raise Unsupported("1[M > c]")
            self.take("RB")
            return (v > 0).astype(float)
        if kind == "FN":
            name = self.take("FN")
            self.take("LP")
            v = self.expr()
            self.take("RP")
            if "LReLU" in name:
                return np.where(v > 0, v, self.env["alpha"] * v)
            if (name.startswith(r"\operatorname{") and "ReLU" not in name) or name in (r"\max", r"\min"):
                return _reduce(name.removeprefix(r"\operatorname{").rstrip("}").lstrip("\\"), v)
            return {r"\sigma": _sigmoid, r"\tanh": np.tanh, r"\exp": np.exp, r"\log": np.log,
                    r"\operatorname{ReLU}": lambda x: np.maximum(x, 0.0)}[name](v)
        raise Unsupported(f"{kind} at {self.t[self.i:self.i + 3]}")


def _reduce(name: str, v: np.ndarray) -> np.ndarray:
    """An expression problem's reductions on a printed value (rows and columns as printed;
    a 1-D value printed as a column is normalised by softmax down the column)."""
    v = np.asarray(v, dtype=float)
    if name == "softmax":
        axis = 0 if v.ndim == 2 and v.shape[1] == 1 and v.shape[0] > 1 else -1
        e = np.exp(v - v.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}
    for part, axis in (("col", 0), ("row", 1)):
        if name.startswith(part):  # a single number printed for a 1 x 1 matrix is one too;
            # colsum(M) is a row (one entry per column), rowsum(M) read either way (1-D)
            return np.asarray(fn[name[3:]](np.atleast_2d(v), axis=axis, keepdims=axis == 0))
    return np.asarray(fn[name](v))


def _run(p: _Parser) -> np.ndarray:
    with np.errstate(all="ignore"):
        v = p.expr()
    if p.i != len(p.t):
        raise Unsupported(f"left over: {p.t[p.i:p.i + 3]}")
    return np.asarray(v, dtype=float)


def evaluate(side: str, env: dict[str, float] | None = None,
             jitter: np.random.RandomState | None = None, digits: int = 99) -> np.ndarray:
    return _run(_Parser(tokens(side), env or {}, jitter, digits))


def reach(side: str, env: dict[str, float], digits: int,
          trials: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The side's value from its printed numbers, and how far it can move when each number
    that shows at least `digits` significant digits (so may have been rounded) is anywhere
    within half a unit in its last digit: to first order the sum of each one's effect alone,
    and no less than the largest move of `trials` random corners (both signs at once)."""
    with np.errstate(all="ignore"):
        return _reach(tokens(side), env, digits, trials)


def _reach(toks: list[tuple[str, str]], env: dict[str, float], digits: int,
           trials: int) -> tuple[np.ndarray, np.ndarray]:
    first = _Parser(toks, env, None, digits)
    v0 = _run(first)
    bound = np.zeros_like(v0)
    for k in range(first.rounded):
        p = _Parser(toks, env, None, digits)
        p.nudge = k
        bound = bound + np.abs(_run(p) - v0)
    rs = np.random.RandomState(0)
    for _ in range(trials if first.rounded else 0):
        bound = np.fmax(bound, np.abs(_run(_Parser(toks, env, rs, digits)) - v0))
    return v0, bound


def _drop_command(text: str, command: str) -> str:
    """Remove every `command{...}` (braces matched)."""
    while (i := text.find(command + "{")) >= 0:
        depth, j = 0, i + len(command)
        while True:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                break
        text = text[:i] + text[j:]
    return text


def split_top(text: str, sep: str = "=") -> list[str]:
    """Split at `sep` outside braces and \\left ... \\right pairs."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith(r"\left", i) and not text[i + 5:i + 6].isalpha():
            depth += 1
        elif text.startswith(r"\right", i) and not text[i + 6:i + 7].isalpha():
            depth -= 1
        elif text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
        elif text[i] == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


def worked_lines(tex: str) -> list[tuple[str, list[str]]]:
    """Every step of every align* in a key: (lhs, right-hand sides in order)."""
    out = []
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        for step in re.split(r"\\\\\*?\[0\.8ex\]", body):
            step = _drop_command(_drop_command(step, r"\shortintertext"), r"\tag*")
            rows = [r.strip() for r in step.split(r"\\*") if "rounded chain" not in r]
            lhs, _, first = rows[0].partition("&=")
            line = first
            for r in rows[1:]:
                if r.startswith("&="):
                    line += " = " + r[2:]
                elif r.startswith((r"&\qquad", r"&\quad")):  # a side broken over rows
                    line += " " + r.removeprefix(r"&\qquad").removeprefix(r"&\quad")
                else:
                    raise ValueError(f"a row neither a new side nor a continuation: {r[:40]}")
            line = re.sub(r"\\left\.|\\right\.", " ", line)
            out.append((lhs.strip(), split_top(line)))
    return out
