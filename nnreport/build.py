"""The whole pipeline, one stage a line: spec -> engine -> figures/render -> document -> compile.

Everything is written to a staging folder first and moved into output/<name>/ only when the
build is complete, so a failed or interrupted build leaves the previous PDF untouched.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import load
from .compile import compile_tex, tex_available
from .compile.latexmk import INSTALL_HINT
from .document.tex import render
from .engine.solve import solve, to_jsonable
from .errors import CompileError, TexMissingError


@dataclass(frozen=True)
class BuildOptions:
    output: Path = Path("output")
    kinds: tuple[str, ...] | None = None  # key, questions (exams) or report; None: all
    pdf: bool = True
    timeout: float = 120.0
    figures: bool = True


def _kinds(document_kind: str, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    if document_kind == "report":
        return ("report",)
    return wanted or ("key", "questions")


def build(spec_path: str | Path, opts: BuildOptions = BuildOptions()) -> list[Path]:
    """Build every document of one spec; return the paths written (PDFs, or .tex without TeX)."""
    spec_path = Path(spec_path)
    stem = spec_path.stem
    loaded = load(spec_path)                                   # 1. spec: YAML -> setups
    doc = loaded.document
    solutions = solve(doc)                                     # 2. engine: every value
    final = opts.output / stem
    opts.output.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{stem}-", dir=opts.output))
    try:
        figures: dict[str, Any] = {}
        files: dict[str, Path] = {}
        if opts.figures:                                       # 3. figures (content-hashed)
            from .document.figures import make_figures

            figures, files = make_figures(doc, solutions, stage, cache=final / "figures")
        answers = {"title": doc.spec.title,
                   "problems": {k: {n: to_jsonable(v) for n, v in s.values().items()}
                                for k, s in solutions.items()}}
        (stage / "answers.json").write_text(json.dumps(answers, indent=1), encoding="utf-8")
        made: list[Path] = []
        texs: dict[str, str] = {}
        for kind in _kinds(doc.spec.document, opts.kinds):    # 4. document: Jinja -> .tex
            name = f"{stem}-{kind}"
            texs[name] = render(doc, solutions, kind, figures)
            (stage / f"{name}.tex").write_text(texs[name], encoding="utf-8")
        missing_tex = opts.pdf and not tex_available()
        if opts.pdf and not missing_tex:
            for name, tex in texs.items():                     # 5. compile: sandboxed latexmk
                try:
                    result = compile_tex(tex, name, files, timeout=opts.timeout)
                except CompileError as e:
                    final.mkdir(parents=True, exist_ok=True)
                    log = getattr(e, "log", "")
                    (final / f"{name}.log").write_text(log, encoding="utf-8")
                    raise CompileError(f"{e}\n    full log: {final / (name + '.log')}") from None
                (stage / f"{name}.pdf").write_bytes(result.pdf)
                (stage / f"{name}.log").write_text(result.log, encoding="utf-8")
        final.mkdir(parents=True, exist_ok=True)               # 6. move into place, all at once
        for item in sorted(stage.rglob("*")):
            if item.is_file():
                dst = final / item.relative_to(stage)
                dst.parent.mkdir(parents=True, exist_ok=True)
                item.replace(dst)
        for name in texs:
            made.append(final / (f"{name}.pdf" if opts.pdf and not missing_tex else f"{name}.tex"))
        if missing_tex:
            raise TexMissingError(INSTALL_HINT)
        return made
    finally:
        shutil.rmtree(stage, ignore_errors=True)
