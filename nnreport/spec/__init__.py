"""Stage 1: YAML -> validated, resolved problem setups (arrays in the rows layout).

Every step takes the operator's `Budgets` (default `Budgets()`) and checks each resource
against it before spending it; the spec itself cannot raise them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..budgets import DEFAULT, Budgets
from ..errors import SpecError
from .setups import Document, ExpressionSetup, NetworkSetup
from .texcheck import check as check_tex
from .texcheck import surrogates
from .validate import validate
from .variants import has_random, instantiate
from .yamlio import Located, load_file, load_text


def finish(doc: Located, draw: tuple[int, ...] | None = None, budgets: Budgets | None = None,
           source: str | None = None) -> Document:
    """Draw random values (if any), validate and resolve an already parsed spec; every string
    TeX will see is checked and reported with the other issues."""
    from .resolve import resolve

    budgets = budgets or DEFAULT
    if bad := surrogates(doc):  # before anything tries to encode them
        raise SpecError(bad)
    if has_random(doc.data):
        doc = instantiate(doc, np.random.default_rng(list(draw or (0, 0, 0))), budgets)
    tex = check_tex(doc, source)
    try:
        out = resolve(validate(doc), doc, budgets)
    except SpecError as e:
        raise SpecError(e.issues + tex) from None
    if tex:
        raise SpecError(tex)
    return out


def load(path: str | Path, draw: tuple[int, ...] | None = None,
         budgets: Budgets | None = None) -> Document:
    """Read, validate and resolve a spec file; raise SpecError listing every issue.
    `draw` = (seed, version, attempt) decides random values (default: (0, 0, 0))."""
    budgets = budgets or DEFAULT
    return finish(load_file(path, budgets), draw, budgets)


def loads(text: str, file: str = "<string>", draw: tuple[int, ...] | None = None,
          budgets: Budgets | None = None) -> Document:
    budgets = budgets or DEFAULT
    return finish(load_text(text, file, budgets), draw, budgets, text)


__all__ = ["Budgets", "Document", "ExpressionSetup", "NetworkSetup", "finish", "load", "loads"]
