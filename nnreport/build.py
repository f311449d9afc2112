"""The whole pipeline, one stage a line: spec -> engine -> figures/render -> document -> compile.

Everything is written to a staging folder first and moved into output/<name>/ only when the
build is complete, so a failed or interrupted build leaves the previous PDF untouched.
`build_variants` runs the same pipeline once per student version, in parallel.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budgets import Budgets
from .compile import compile_tex, tex_available
from .compile.latexmk import INSTALL_HINT
from .document.tex import render
from .engine.solve import solve, to_jsonable
from .errors import CompileError, NNReportError, TexMissingError
from .jsonout import write_json
from .spec import finish, load
from .spec.resolve import Document


@dataclass(frozen=True)
class BuildOptions:
    output: Path = Path("output")
    kinds: tuple[str, ...] | None = None  # key, questions (exams) or report; None: all
    pdf: bool = True
    timeout: float = 120.0
    figures: bool = True
    budgets: Budgets = field(default_factory=Budgets)  # only the operator raises them


def _kinds(document_kind: str, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    if document_kind == "report":
        return ("report",)
    return wanted or ("key", "questions")


def answers_of(doc: Document, solutions: dict[str, Any], raw: bool = False) -> dict[str, Any]:
    """The JSON contract; `raw` keeps NumPy arrays (for write_json, pickling, checking)."""
    conv = (lambda v: v) if raw else to_jsonable
    return {"title": doc.spec.title,
            "problems": {k: {n: conv(v) for n, v in s.values().items()}
                         for k, s in solutions.items()}}


def write_documents(doc: Document, solutions: dict[str, Any], stage: Path, name: str,
                    opts: BuildOptions, cache: Path | None, variant: str = "",
                    log_dir: Path | None = None) -> tuple[list[str], float]:
    """Figures, answers.json, one .tex (and PDF) per document kind, all inside `stage`.
    Returns the file names of the main results (PDFs, or .tex files without TeX) and the
    seconds spent in TeX."""
    figures: dict[str, Any] = {}
    files: dict[str, Path] = {}
    if opts.figures:                                            # figures (content-hashed)
        from .document.figures import make_figures

        figures, files = make_figures(doc, solutions, stage, cache=cache)
    with (stage / "answers.json").open("w", encoding="utf-8") as fh:  # streamed from the arrays
        write_json(answers_of(doc, solutions, raw=True), fh)
    texs: dict[str, str] = {}
    for kind in _kinds(doc.spec.document, opts.kinds):         # document: Jinja -> .tex
        texs[f"{name}-{kind}"] = render(doc, solutions, kind, figures, variant=variant)
        (stage / f"{name}-{kind}.tex").write_text(texs[f"{name}-{kind}"], encoding="utf-8")
    if not opts.pdf or not tex_available():
        return [f"{n}.tex" for n in texs], 0.0
    tex_seconds = 0.0
    for tex_name, tex in texs.items():                          # compile: sandboxed latexmk
        try:
            result = compile_tex(tex, tex_name, files, timeout=opts.timeout)
        except CompileError as e:
            if log_dir is not None:
                log_dir.mkdir(parents=True, exist_ok=True)
                (log_dir / f"{tex_name}.log").write_text(getattr(e, "log", ""), encoding="utf-8")
                raise CompileError(f"{e}\n    full log: {log_dir / (tex_name + '.log')}") from None
            raise
        tex_seconds += result.seconds
        (stage / f"{tex_name}.pdf").write_bytes(result.pdf)
        (stage / f"{tex_name}.log").write_text(result.log, encoding="utf-8")
    return [f"{n}.pdf" for n in texs], tex_seconds


def _move_into_place(stage: Path, final: Path) -> None:
    final.mkdir(parents=True, exist_ok=True)
    for item in sorted(stage.rglob("*")):
        if item.is_file():
            dst = final / item.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            item.replace(dst)


def build(spec_path: str | Path, opts: BuildOptions = BuildOptions()) -> list[Path]:
    """Build every document of one spec; return the paths written (PDFs, or .tex without TeX)."""
    spec_path = Path(spec_path)
    stem = spec_path.stem
    doc = load(spec_path, budgets=opts.budgets)                # 1. spec: YAML -> setups
    solutions = solve(doc)                                     # 2. engine: every value
    final = opts.output / stem
    opts.output.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{stem}-", dir=opts.output))
    try:                                                       # 3-5. figures, .tex, PDF
        made, _ = write_documents(doc, solutions, stage, stem, opts, final / "figures",
                                  log_dir=final)
        _move_into_place(stage, final)                         # 6. all at once, at the end
        if opts.pdf and not tex_available():
            raise TexMissingError(INSTALL_HINT)
        return [final / m for m in made]
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# --- per-student versions ----------------------------------------------------------------

@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # label -> message
    exit_code: int = 0
    folder: Path | None = None
    seconds: float = 0.0
    tex_seconds: float = 0.0      # summed over versions
    python_seconds: float = 0.0   # drawing, solving, rendering: summed over versions


def _version_job(spec_path: str, seed: int, version: Any, opts: BuildOptions,
                 stage: str) -> dict[str, Any]:
    """One version, in a worker process: draw, solve, write its documents into stage/label."""
    from .variants import solve_version

    try:
        t0 = time.perf_counter()
        doc, solutions, attempts = solve_version(Path(spec_path), seed, version, opts.budgets)
        folder = Path(stage) / version.label
        folder.mkdir(parents=True, exist_ok=True)
        label = f"Version {version.label}" + (f" -- {version.student}" if version.student else "")
        name = f"{Path(spec_path).stem}-{version.label}"
        _, t_tex = write_documents(doc, solutions, folder, name, opts, None, variant=label)
        return {"label": version.label, "ok": True, "answers": answers_of(doc, solutions, raw=True),
                "student": version.student, "attempts": attempts,
                "seconds": time.perf_counter() - t0, "tex_seconds": t_tex}
    except NNReportError as e:
        return {"label": version.label, "ok": False, "error": str(e), "code": e.exit_code}


def _answers_csv(rows: list[dict[str, Any]], path: Path) -> None:
    import csv

    import numpy as np

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["version", "student", "problem", "value", "index", "number"])
        for r in rows:
            for pid, values in r["answers"]["problems"].items():
                for name, v in values.items():
                    a = np.asarray(v, dtype=float)
                    for idx in np.ndindex(a.shape):
                        w.writerow([r["label"], r["student"], pid, name,
                                    "".join(f"[{i}]" for i in idx), repr(float(a[idx]))])


def build_variants(spec_path: str | Path, versions: list[Any], seed: int,
                   opts: BuildOptions = BuildOptions(), jobs: int | None = None,
                   progress: bool | None = None) -> BatchResult:
    """Every version's key and question sheet, one combined key, answers.csv/json.
    Versions run in parallel (`jobs`, default all cores); a failing version is reported
    and does not stop the others."""
    spec_path = Path(spec_path)
    stem = spec_path.stem
    from .spec.yamlio import load_file
    from .variants import tries_fit

    located = load_file(spec_path, opts.budgets)  # spec and budget errors are reported once,
    tries_fit(finish(located, None, opts.budgets), located, opts.budgets)  # before any worker
    jobs = jobs or os.cpu_count() or 1
    final = opts.output / stem / "variants"
    opts.output.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{stem}-variants-", dir=opts.output))
    result = BatchResult(folder=final)
    rows: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    show = sys.stderr.isatty() if progress is None else progress
    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("failed: {task.fields[failed]}"), TimeRemainingColumn(),
                      disable=not show, transient=False) as bar, \
                ProcessPoolExecutor(max_workers=jobs) as pool:
            task = bar.add_task(f"{stem}: versions", total=len(versions), failed=0)
            pending: set[Future[dict[str, Any]]] = {
                pool.submit(_version_job, str(spec_path), seed, v, opts, str(stage)) for v in versions}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    r = fut.result()
                    if r["ok"]:
                        rows[r["label"]] = r
                        result.done.append(r["label"])
                        result.tex_seconds += r["tex_seconds"]
                        result.python_seconds += r["seconds"] - r["tex_seconds"]
                    else:
                        result.failed[r["label"]] = r["error"]
                        result.exit_code = max(result.exit_code, r["code"])
                    bar.update(task, advance=1, failed=len(result.failed))
        order = [v.label for v in versions if v.label in rows]
        ordered = [rows[label] for label in order]
        with (stage / "answers.json").open("w", encoding="utf-8") as fh:
            write_json({r["label"]: {"student": r["student"], **r["answers"]} for r in ordered}, fh)
        _answers_csv(ordered, stage / "answers.csv")
        if opts.pdf and tex_available() and ordered and "key" in _kinds("exam", opts.kinds):
            from pypdf import PdfWriter

            writer = PdfWriter()
            for label in order:
                pdf = stage / label / f"{stem}-{label}-key.pdf"
                if pdf.exists():
                    writer.append(str(pdf))
            with (stage / f"{stem}-all-keys.pdf").open("wb") as fh:
                writer.write(fh)
        if final.exists():  # replace the previous batch only now that this one is complete
            old = final.with_name(f".old-{final.name}-{os.getpid()}")
            final.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        stage.rename(final)
        result.done.sort(key=order.index)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    result.seconds = time.perf_counter() - t0
    return result

