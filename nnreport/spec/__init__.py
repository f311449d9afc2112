"""Stage 1: YAML -> validated, resolved problem setups (arrays in the rows layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SpecError
from .resolve import Document, ExpressionSetup, NetworkSetup
from .texcheck import check as check_tex
from .texcheck import surrogates
from .validate import validate
from .variants import has_random, instantiate
from .yamlio import Located, load_file, load_text


def _finish(doc: Located, draw: tuple[int, ...] | None, source: str | None = None) -> Document:
    from .resolve import resolve

    if bad := surrogates(doc):  # before anything tries to encode them
        raise SpecError(bad)
    if has_random(doc.data):
        doc = instantiate(doc, np.random.default_rng(list(draw or (0, 0, 0))))
    tex = check_tex(doc, source)  # every string TeX will see, reported with the other issues
    try:
        out = resolve(validate(doc), doc)
    except SpecError as e:
        raise SpecError(e.issues + tex) from None
    if tex:
        raise SpecError(tex)
    return out


def load(path: str | Path, draw: tuple[int, ...] | None = None) -> Document:
    """Read, validate and resolve a spec file; raise SpecError listing every issue.
    `draw` = (seed, version, attempt) decides random values (default: (0, 0, 0))."""
    return _finish(load_file(path), draw)


def loads(text: str, file: str = "<string>", draw: tuple[int, ...] | None = None) -> Document:
    return _finish(load_text(text, file), draw, text)


__all__ = ["Document", "ExpressionSetup", "NetworkSetup", "load", "loads"]
