"""The whole pipeline, one stage a line: spec -> engine -> figures/render -> document -> compile.

Everything is written to a staging folder first and moved into output/<name>/ only when the
build is complete, so a failed or interrupted build leaves the previous PDF untouched (a TeX
failure leaves its .tex and log in output/<name>/failed/). `batch.build_variants` runs the same
pipeline once per student version, in parallel.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budgets import Budgets
from .compile import INSTALL_HINT, CompileResult, compile_tex, stop_all, tex_available
from .compile.externalize import externalize
from .document.tex import render
from .engine.solve import solve
from .errors import CompileError, TexMissingError
from .jsonout import answers_of, write_json
from .outdir import move_into_place, output_name, staging
from .spec import load
from .spec.setups import Document


@dataclass(frozen=True)
class BuildOptions:
    output: Path = Path("output")
    kinds: tuple[str, ...] | None = None  # key, questions (exams) or report; None: all
    pdf: bool = True
    timeout: float | None = None  # seconds for TeX; None: the tex_seconds budget or scaled
    figures: bool = True
    budgets: Budgets = field(default_factory=Budgets)  # only the operator raises them
    tex_jobs: int = 2   # documents of one spec compiled at once (batches run one per worker)
    externalize: bool = True  # TikZ diagrams compiled once to cached PDFs (not in batches)
    formats: tuple[str, ...] = ("pdf",)  # pdf (through TeX) and/or html (one page each)
    # more outputs of the same document and answers, each written into the staging folder
    # and returning the names it wrote (the CLI adds the LMS exports, course/lms.py)
    consumers: tuple[Callable[[Document, dict[str, Any], Path, BuildOptions], list[str]],
                     ...] = ()
    # pages of each document kind, when known ahead (a batch's versions: one TeX pass each)
    page_totals: tuple[tuple[str, int], ...] = ()


def _kinds(document_kind: str, wanted: tuple[str, ...] | None) -> tuple[str, ...]:
    if document_kind == "report":
        return ("report",)
    return wanted or ("key", "questions")


def typeset_ready(doc: Document) -> None:
    """A located SpecError (exit 2) for each layer whose type has no worked lines yet
    (document/worked/layers/: conv, pool ... while they are being written), before any work:
    its key would be wrong pages, while `nnreport solve --json` gives every value."""
    from .document.worked.layers import refuse_unworked

    refuse_unworked(doc.problems)


def write_documents(doc: Document, solutions: dict[str, Any], stage: Path, name: str,
                    opts: BuildOptions, cache: Path | None, variant: str = "",
                    keep_failed: Path | None = None) -> tuple[list[str], float]:
    """Figures, answers.json, one .tex (and PDF) per document kind, all inside `stage`.
    Returns the file names of the main results (PDFs, or .tex files without TeX) and the
    seconds spent in TeX. When TeX fails, its .tex and log are kept in `keep_failed` and the
    error names them."""
    typeset_ready(doc)
    figures: dict[str, Any] = {}
    files: dict[str, Path] = {}
    if opts.figures:                                            # figures (content-hashed)
        from .document.figures import make_figures

        figures, files = make_figures(doc, solutions, stage, cache=cache)
        html = "html" in opts.formats
        if (opts.pdf or html) and (opts.externalize or html) and tex_available():
            # diagrams drawn once, as PDFs (HTML pages show them as SVG, so a batch's
            # versions, which keep diagrams inline in the PDF, draw them too for HTML)
            files.update(externalize(figures, stage, cache, opts.budgets))
    with (stage / "answers.json").open("w", encoding="utf-8") as fh:  # streamed from the arrays
        write_json(answers_of(doc, solutions, raw=True), fh)
    made: list[str] = []
    if "html" in opts.formats:                                  # HTML pages, same documents
        made += write_html(doc, solutions, stage, name, opts, figures, variant)
        if "pdf" not in opts.formats:
            return made, 0.0
    texs: dict[str, str] = {}
    totals = dict(opts.page_totals)
    kinds = {f"{name}-{kind}": kind for kind in _kinds(doc.spec.document, opts.kinds)}
    for tex_name, kind in kinds.items():                       # document: Jinja -> .tex
        texs[tex_name] = render(doc, solutions, kind, figures, variant=variant,
                                page_total=totals.get(kind))
        (stage / f"{tex_name}.tex").write_text(texs[tex_name], encoding="utf-8")
    if not opts.pdf or not tex_available():
        return made + [f"{n}.tex" for n in texs], 0.0
    results = compile_all(texs, files, opts, stage, keep_failed)
    wrong = {n: r.pages for n, r in results.items()            # a predicted total was wrong:
             if totals.get(kinds[n]) and r.pages != totals[kinds[n]]}  # that one again
    for tex_name, pages in wrong.items():
        texs = {tex_name: render(doc, solutions, kinds[tex_name], figures, variant=variant,
                                 page_total=pages)}
        (stage / f"{tex_name}.tex").write_text(texs[tex_name], encoding="utf-8")
        results.update(compile_all(texs, files, opts, stage, keep_failed))
    for tex_name, result in results.items():
        (stage / f"{tex_name}.pdf").write_bytes(result.pdf)
        (stage / f"{tex_name}.log").write_text(result.log, encoding="utf-8")
    return made + [f"{n}.pdf" for n in texs], sum(r.seconds for r in results.values())


def write_html(doc: Document, solutions: dict[str, Any], stage: Path, name: str,
               opts: BuildOptions, figures: dict[str, Any], variant: str = "") -> list[str]:
    """One self-contained page per document kind; figures are the same files as the PDF's."""
    from .compile.html import finish, svg_of
    from .document.html import render_html

    images: dict[str, str] = {}
    for placed in figures.values():
        for items in placed.values():
            for item in items:
                if getattr(item, "kind", "") != "figure":
                    continue
                if not item.path:  # a TikZ diagram is drawn by TeX, then converted
                    raise TexMissingError("HTML pages need TeX for the network diagrams: "
                                          + INSTALL_HINT)
                images.setdefault(item.path, svg_of(stage / item.path))
    made = []
    for kind in _kinds(doc.spec.document, opts.kinds):
        text, page = render_html(doc, solutions, kind, figures, images, variant=variant)
        (stage / f"{name}-{kind}.html").write_text(finish(text, page), encoding="utf-8")
        made.append(f"{name}-{kind}.html")
    return made


def compile_all(texs: dict[str, str], files: dict[str, Path], opts: BuildOptions, stage: Path,
                keep_failed: Path | None) -> dict[str, CompileResult]:
    """Every document through TeX, `opts.tex_jobs` at a time (the key and the question sheet
    side by side on two cores). Any way out stops every TeX run still going."""
    def one(tex_name: str) -> CompileResult:
        try:
            return compile_tex(texs[tex_name], tex_name, files, timeout=opts.timeout,
                               budgets=opts.budgets, workdir=stage)
        except CompileError as e:
            if keep_failed is None:
                raise
            keep_failed.mkdir(parents=True, exist_ok=True)
            (keep_failed / f"{tex_name}.tex").write_text(texs[tex_name], encoding="utf-8")
            (keep_failed / f"{tex_name}.log").write_text(getattr(e, "log", ""), encoding="utf-8")
            raise CompileError(f"{e}\n    kept: {keep_failed / (tex_name + '.tex')} and its "
                               ".log") from None

    if opts.tex_jobs <= 1 or len(texs) == 1:
        return {n: one(n) for n in texs}
    with ThreadPoolExecutor(max_workers=opts.tex_jobs) as pool:
        futures = {n: pool.submit(one, n) for n in texs}
        try:
            return {n: f.result() for n, f in futures.items()}
        except BaseException:
            stop_all()  # Ctrl-C or a failed document: the other TeX runs end now too
            raise


def build(spec_path: str | Path, opts: BuildOptions = BuildOptions()) -> list[Path]:
    """Build every document of one spec; return the paths written (PDFs, or .tex without TeX)."""
    spec_path = Path(spec_path)
    name = output_name(spec_path)                              # 0. a name that stays inside
    doc = load(spec_path, budgets=opts.budgets)                # 1. spec: YAML -> setups
    typeset_ready(doc)                                         #    (every layer typeset)
    solutions = solve(doc)                                     # 2. engine: every value
    final = opts.output / name
    with staging(opts.output, name) as stage:                  # 3-5. figures, .tex, PDF
        made, _ = write_documents(doc, solutions, stage, name, opts, final / "figures",
                                  keep_failed=final / "failed")
        for consume in opts.consumers:                         # e.g. one version to the LMS
            made += consume(doc, solutions, stage, opts)
        move_into_place(stage, final)                          # 6. all at once, at the end
        shutil.rmtree(final / "failed", ignore_errors=True)    # an earlier failure is stale
    if opts.pdf and not tex_available():
        raise TexMissingError(INSTALL_HINT)
    return [final / m for m in made]
