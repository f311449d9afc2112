"""Strict JSON of answers, streamed: arrays are written row by row straight from NumPy.

`json.dumps` of the answers first turns every number into a Python float inside nested lists
(100-200 bytes a number for per-sample gradients: 1.9 GB for 10 million numbers); this writes
each array as it goes, so memory stays with the arrays themselves. Numbers are written as
`json` writes them (`repr`, shortest round-trip form); NaN and +-inf, which strict JSON cannot
hold, are written as null (docs/spec.md, "The JSON contract").
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

if TYPE_CHECKING:
    from .spec.setups import Document


def _number(x: float | int) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "null"
    return repr(x) if isinstance(x, float) else str(int(x))


CHUNK = 262_144  # numbers turned into text at a time (a few MB of Python floats)


def _array(a: np.ndarray, out: TextIO) -> None:
    """Write an array as nested JSON lists, about CHUNK numbers at a time (memory stays
    bounded: whole matrices of a stack, whole rows of a matrix)."""
    if a.ndim == 0:
        out.write(_number(a.item()))
        return
    if a.ndim > 3:
        out.write("[")
        for i, part in enumerate(a):
            out.write("," if i else "")
            _array(part, out)
        out.write("]")
        return
    if a.size == 0:
        out.write(json.dumps(a.tolist()))
        return
    num = repr if np.all(np.isfinite(a)) else _number
    if a.ndim == 1:
        out.write("[" + ",".join(map(num, a.tolist())) + "]")
        return
    rows = a.reshape(-1, a.shape[-1])
    per = a.shape[1] if a.ndim == 3 else 1  # rows of one matrix of a stack
    step = max(per, CHUNK // (per * a.shape[-1]) * per)  # rows: whole matrices per chunk
    out.write("[")
    for start in range(0, len(rows), step):
        text = ["[" + ",".join(map(num, r)) + "]" for r in rows[start:start + step].tolist()]
        if a.ndim == 3:
            text = ["[" + ",".join(text[i:i + per]) + "]" for i in range(0, len(text), per)]
        out.write(("," if start else "") + ",".join(text))
    out.write("]")


def write_json(obj: Any, out: TextIO, indent: int = 1, level: int = 0) -> None:
    """Mappings one key a line (indented by `indent` per level), arrays and lists compact."""
    if isinstance(obj, dict):
        if not obj:
            out.write("{}")
            return
        pad = "\n" + " " * (indent * (level + 1))
        out.write("{")
        for i, (k, v) in enumerate(obj.items()):
            out.write(("," if i else "") + pad + json.dumps(str(k)) + ": ")
            write_json(v, out, indent, level + 1)
        out.write("\n" + " " * (indent * level) + "}")
    elif isinstance(obj, np.ndarray):
        _array(np.asarray(obj, dtype=float) if obj.dtype.kind not in "fiu" else obj, out)
    elif (isinstance(obj, list) and len(obj) > 1 and isinstance(obj[0], np.ndarray)
          and all(isinstance(v, np.ndarray) and v.shape == obj[0].shape for v in obj)):
        _array(np.stack(obj), out)  # per-sample gradients: one 3-D array, one pass
    elif isinstance(obj, list | tuple):
        out.write("[")
        for i, v in enumerate(obj):
            if i:
                out.write(",")
            write_json(v, out, indent, level + 1)
        out.write("]")
    elif isinstance(obj, bool) or obj is None or isinstance(obj, str):
        out.write(json.dumps(obj))
    elif isinstance(obj, np.generic | int | float):
        out.write(_number(obj.item() if isinstance(obj, np.generic) else obj))
    else:
        raise TypeError(f"not JSON: {type(obj).__name__}")


def answers_of(doc: Document, solutions: dict[str, Any], raw: bool = False) -> dict[str, Any]:
    """The JSON contract (docs/spec.md): every value of every problem, and with rounding:
    chain the chain key and each value's tolerance; `raw` keeps NumPy arrays (for
    write_json, pickling, checking)."""
    from .engine.solve import to_jsonable

    conv = (lambda v: v) if raw else to_jsonable
    out = {"title": doc.spec.title,
           "problems": {k: {n: conv(v) for n, v in s.values().items()}
                        for k, s in solutions.items()}}
    chained = {k: s for k, s in solutions.items() if getattr(s, "chain", None)}
    if chained:  # rounding: chain — the rounded-chain key and each value's tolerance
        out["chain"] = {k: {n: conv(v) for n, v in s.chain.items()} for k, s in chained.items()}
        out["tolerance"] = {k: {n: {b: conv(x) for b, x in v.items()}
                                for n, v in s.tolerance.items()} for k, s in chained.items()}
    return out
