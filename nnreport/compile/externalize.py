"""TikZ pictures compiled once to PDF and included like any figure.

A network diagram costs a third of a key's TeX time on every pass; drawn once into
figures/tikz-<hash>.pdf (cached by content, like the matplotlib figures) it costs nothing on
later builds and passes. Single builds do this; versions of a batch (one pass each, every
diagram different) keep their pictures inline, which is cheaper there.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from ..budgets import Budgets
from ..document.content import Figure
from . import compile_tex

STANDALONE = ("\\documentclass[11pt]{standalone}\n\\usepackage[T1]{fontenc}\n"
              "\\usepackage{lmodern}\n\\usepackage{amsmath,amssymb}\n\\usepackage{xcolor}\n"
              "\\usepackage{tikz}\n\\usetikzlibrary{positioning}\n\\begin{document}\n"
              "{body}\n\\end{document}\n")


def externalize(figures: dict[str, Any], stage: Path, cache: Path | None,
                budgets: Budgets) -> dict[str, Path]:
    """Turn every TikZ figure into a PDF file under stage/figures (from `cache` when it is
    there); returns the files the .tex now needs."""
    files: dict[str, Path] = {}
    for placed in figures.values():
        for items in placed.values():
            for item in items:
                if not isinstance(item, Figure) or not item.tikz:
                    continue
                tex = STANDALONE.replace("{body}", item.tikz)
                key = hashlib.sha256(tex.encode()).hexdigest()[:16]
                rel = f"figures/tikz-{key}.pdf"
                dst = stage / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                if cache is not None and (cache / f"tikz-{key}.pdf").is_file():
                    shutil.copyfile(cache / f"tikz-{key}.pdf", dst)
                elif not dst.is_file():
                    dst.write_bytes(compile_tex(tex, f"tikz-{key}", budgets=budgets,
                                                workdir=stage).pdf)
                item.path, item.tikz, item.width = rel, "", ""
                files[rel] = dst
    return files
