"""Stage 1: YAML -> validated, resolved problem setups (arrays in the rows layout).

Every step takes the operator's `Budgets` (default `Budgets()`) and checks each resource
against it before spending it; the spec itself cannot raise them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..budgets import DEFAULT, Budgets
from .resolve import Document, ExpressionSetup, NetworkSetup
from .validate import validate
from .variants import has_random, instantiate
from .yamlio import Located, load_file, load_text


def finish(doc: Located, draw: tuple[int, ...] | None = None,
           budgets: Budgets | None = None) -> Document:
    """Draw random values (if any), validate and resolve an already parsed spec."""
    from .resolve import resolve

    budgets = budgets or DEFAULT
    if has_random(doc.data):
        doc = instantiate(doc, np.random.default_rng(list(draw or (0, 0, 0))), budgets)
    return resolve(validate(doc), doc, budgets)


def load(path: str | Path, draw: tuple[int, ...] | None = None,
         budgets: Budgets | None = None) -> Document:
    """Read, validate and resolve a spec file; raise SpecError listing every issue.
    `draw` = (seed, version, attempt) decides random values (default: (0, 0, 0))."""
    budgets = budgets or DEFAULT
    return finish(load_file(path, budgets), draw, budgets)


def loads(text: str, file: str = "<string>", draw: tuple[int, ...] | None = None,
          budgets: Budgets | None = None) -> Document:
    budgets = budgets or DEFAULT
    return finish(load_text(text, file, budgets), draw, budgets)


__all__ = ["Budgets", "Document", "ExpressionSetup", "NetworkSetup", "finish", "load", "loads"]
