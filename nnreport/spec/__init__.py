"""Stage 1: YAML -> validated, resolved problem setups (arrays in the rows layout)."""

from __future__ import annotations

from pathlib import Path

from .resolve import Document, ExpressionSetup, NetworkSetup
from .validate import validate
from .yamlio import load_file, load_text


def load(path: str | Path) -> Document:
    """Read, validate and resolve a spec file; raise SpecError listing every issue."""
    from .resolve import resolve

    doc = load_file(path)
    return resolve(validate(doc), doc)


def loads(text: str, file: str = "<string>") -> Document:
    from .resolve import resolve

    doc = load_text(text, file)
    return resolve(validate(doc), doc)


__all__ = ["Document", "ExpressionSetup", "NetworkSetup", "load", "loads"]
