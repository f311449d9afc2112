"""Redo the arithmetic a key prints, from the .tex alone, independently of nnreport's code.

`worked_lines(tex)` splits every align* of a key into its steps: (lhs, [right-hand sides]),
the "rounded chain" row, notes and tags dropped, rows broken over lines joined again.
`evaluate(side, env)` computes one right-hand side from the numbers and matrices it prints
(tests/texnumbers.py reads them) with the operators worked lines use:

    +  -  \\cdot  \\odot  \\oslash  \\,  (matrix product; a number scales)  juxtaposition
    \\frac{a}{b}  x^2  e^{x}  \\sqrt{}  \\log  \\exp  \\sigma  \\tanh  \\operatorname{ReLU}
    \\operatorname{LReLU}_{\\alpha}  \\mathbf{1}\\left[ M > 0 \\right]  \\varepsilon (env)

and raises Unsupported for anything else (a formula in symbols, an elided matrix, \\cdots):
the caller then knows that side is not a substitution it can redo.
"""

from __future__ import annotations

import re

import numpy as np
from texnumbers import parse_number, parse_value


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
    ("FN", r"\\sigma|\\tanh|\\operatorname\{ReLU\}|\\operatorname\{LReLU\}_\{\\alpha\}|\\exp|\\log"),
    ("SQRT", r"\\sqrt"), ("FRAC", r"\\frac"), ("EPS", r"\\varepsilon"), ("E", r"e(?=\^)"),
    ("MUL", r"\\cdot|\\odot|\\oslash|\\,"),
    ("ADD", r"[+-]"), ("POW", r"\^"), ("GT", r">"),
]
_RX = re.compile("|".join(f"(?P<{n}>{p})" for n, p in _TOKENS), re.S)
_STARTS = {"MAT", "NUM", "LP", "LB", "LC", "IND", "FN", "SQRT", "FRAC", "EPS", "E"}


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
    def __init__(self, toks: list[tuple[str, str]], env: dict[str, float]):
        self.t, self.i, self.env = toks, 0, env

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
        if self.peek() == "POW":
            self.take("POW")
            e = self.group() if self.peek() == "LC" else float(parse_number(self.take("NUM")).value)
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
            a, _ = parse_value(self.take("MAT"))
            if np.isnan(a).any():
                raise Unsupported("an elided matrix")
            return a
        if kind == "NUM":
            return np.asarray(float(parse_number(self.take("NUM")).value))
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
            return {r"\sigma": _sigmoid, r"\tanh": np.tanh, r"\exp": np.exp, r"\log": np.log,
                    r"\operatorname{ReLU}": lambda x: np.maximum(x, 0.0)}[name](v)
        raise Unsupported(f"{kind} at {self.t[self.i:self.i + 3]}")


def evaluate(side: str, env: dict[str, float] | None = None) -> np.ndarray:
    p = _Parser(tokens(side), env or {})
    with np.errstate(all="ignore"):
        v = p.expr()
    if p.i != len(p.t):
        raise Unsupported(f"left over: {p.t[p.i:p.i + 3]}")
    return np.asarray(v, dtype=float)


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
        for step in body.split(r"\\[0.8ex]"):
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
