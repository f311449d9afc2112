"""Figures stage (filled in by the figures issue): returns no figures yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def make_figures(doc: Any, solutions: dict[str, Any], stage: Path,
                 cache: Path | None = None) -> tuple[dict[str, list[Any]], dict[str, Path]]:
    return {}, {}
