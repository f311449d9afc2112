"""Per-student versions, built in parallel: one pipeline run per version in a worker process,
then the combined key and answers.csv/json, swapped into output/<spec>/variants/ at once.

Interruption is part of the design: Ctrl-C, SIGTERM or SIGHUP in the parent terminates every
worker (each stops its TeX run on the way out), no staging folder is left behind, and the
previous batch stays as it was. A worker also dies with its parent if the parent is killed.
"""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import csvout
from ..build import BuildOptions, _kinds, write_documents
from ..compile import compile_tex, tex_available
from ..errors import CompileError, NNReportError
from ..jsonout import answers_of, write_json
from ..outdir import io_error, output_name, staging, swap_folder
from ..spec import finish
from ..spec.yamlio import load_file
from .constraints import needs_history
from .grid import grid_csv, grid_tex, summary_csv
from .lms import feedback_of, given_of, lms_exports, points_table, statements
from .versions import history, record_batch, tries_fit

PR_SET_PDEATHSIG = 1


@dataclass
class BatchResult:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # label -> message
    exit_code: int = 0
    folder: Path | None = None
    seconds: float = 0.0
    tex_seconds: float = 0.0      # summed over versions
    python_seconds: float = 0.0   # drawing, solving, rendering: summed over versions


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _stop(signum: int, _frame: Any) -> None:
    # SystemExit, not KeyboardInterrupt: every `finally` and `except BaseException` (the TeX
    # process group, temp folders) still runs, and multiprocessing exits the worker quietly
    raise SystemExit(128 + signum)


def _worker_init() -> None:
    # The parent decides about Ctrl-C (a terminal sends it to the whole group) and ends the
    # workers with SIGTERM, which unwinds the worker so that its TeX run is killed too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    die_with_parent()


def _version_job(args: tuple[str, int, Any, BuildOptions, str, str, list[Any]]) -> dict[str, Any]:
    """One version, in a worker process: draw, solve, write its documents into stage/label."""
    from .versions import solve_version

    spec_path, seed, version, opts, stage, name, earlier = args
    folder = Path(stage) / version.label
    try:
        t0 = time.perf_counter()
        doc, solutions, attempts = solve_version(Path(spec_path), seed, version, opts.budgets,
                                                 earlier)
        folder.mkdir(parents=True, exist_ok=True)
        label = f"Version {version.label}" + (f" -- {version.student}" if version.student else "")
        _, t_tex = write_documents(doc, solutions, folder, f"{name}-{version.label}", opts, None,
                                   variant=label, keep_failed=folder)
        lms = any(f in opts.formats for f in ("moodle", "canvas"))
        pages = {}  # each document's pages, from TeX's log: the next versions' page total
        for log in folder.glob(f"{name}-{version.label}-*.log"):
            m = re.search(r"Output written on \S+ \((\d+) pages?", log.read_text("latin-1"))
            if m:
                pages[log.stem.rsplit("-", 1)[1]] = int(m.group(1))
        return {"label": version.label, "ok": True, "answers": answers_of(doc, solutions, raw=True),
                "pages": pages,
                "student": version.student, "attempts": attempts,
                "given": given_of(doc) if lms else {},
                "points": points_table(doc, solutions) if lms else {},
                "text": statements(doc, solutions) if lms else {},
                "feedback": feedback_of(doc, solutions) if "moodle" in opts.formats else {},
                "seconds": time.perf_counter() - t0, "tex_seconds": t_tex}
    except NNReportError as e:
        return {"label": version.label, "ok": False, "error": str(e), "code": e.exit_code}
    except OSError as e:
        err = io_error(e)
        return {"label": version.label, "ok": False, "error": str(err), "code": err.exit_code}


def _answers_csv(rows: list[dict[str, Any]], path: Path) -> None:
    import numpy as np

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csvout.writer(fh)  # roster names are text from outside: no formulas
        w.writerow(["version", "student", "problem", "value", "index", "number"])
        for r in rows:
            for pid, values in r["answers"]["problems"].items():
                flat = dict(values)
                for i, step in enumerate(flat.pop("steps", [])):  # worked_steps: steps[i].<name>
                    flat.update({f"steps[{i}].{k}": x for k, x in step.items()})
                for vname, v in flat.items():
                    a = np.asarray(v, dtype=float)
                    for idx in np.ndindex(a.shape):
                        w.writerow([r["label"], r["student"], pid, vname,
                                    "".join(f"[{i}]" for i in idx), float(a[idx])])


def _combined_key(stage: Path, name: str, order: list[str]) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for label in order:
        pdf = stage / label / f"{name}-{label}-key.pdf"
        if pdf.exists():
            writer.append(str(pdf))
    with (stage / f"{name}-all-keys.pdf").open("wb") as fh:
        writer.write(fh)


def _gradebook(doc: Any, rows: list[dict[str, Any]], stage: Path, opts: BuildOptions) -> str:
    """summary.csv (the spread of each asked answer) and the grading grid (csv and PDF)."""
    summary_csv(doc, rows, stage / "summary.csv")
    names = grid_csv(doc, rows, stage / "grid.csv")
    if not rows:
        return ""
    lms_exports(doc, rows, names, stage, opts)
    tex = grid_tex(doc, rows, names)
    (stage / "grid.tex").write_text(tex, encoding="utf-8")
    if opts.pdf and tex_available():
        try:
            (stage / "grid.pdf").write_bytes(compile_tex(tex, "grid", budgets=opts.budgets,
                                                         workdir=stage).pdf)
        except CompileError as e:  # the versions stand; the grid's .tex and log are kept
            (stage / "grid.log").write_text(getattr(e, "log", ""), encoding="utf-8")
            return f"{e} (kept: grid.tex and grid.log)"
    return ""


def build_variants(spec_path: str | Path, versions: list[Any], seed: int,
                   opts: BuildOptions | None = None, jobs: int | None = None,
                   progress: bool | None = None) -> BatchResult:
    """Every version's key and question sheet, one combined key, answers.csv/json.
    Versions run in parallel (`jobs`, default all cores); a failing version is reported
    and does not stop the others."""
    opts = opts or BuildOptions()
    spec_path = Path(spec_path)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(versions)))
    opts = replace(opts, tex_jobs=1 if jobs > 1 else opts.tex_jobs,  # the cores go to versions
                   externalize=False)  # one pass each, every diagram different: inline
    name = output_name(spec_path)
    located = load_file(spec_path, opts.budgets)  # spec and budget errors are reported once,
    first = finish(located, None, opts.budgets)
    tries_fit(first, located, opts.budgets)  # before any worker
    # distinct_versions: every version's asked answers, in version order, before any TeX
    hist = history(located, seed, max(v.index for v in versions) + 1, opts.budgets) \
        if needs_history(first) else []
    final = opts.output / name / "variants"
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
    with staging(opts.output, f"{name}-variants") as stage:
        pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_init)
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TextColumn("failed: {task.fields[failed]}"),
                          TimeRemainingColumn(), disable=not show, transient=False) as bar:
                task = bar.add_task(f"{name}: versions", total=len(versions), failed=0)
                def args(v: Any, o: BuildOptions) -> tuple[Any, ...]:
                    return (str(spec_path), seed, v, o, str(stage), name, hist[:v.index])

                # the first version finds each document's page count (two TeX passes); the
                # others print it in one pass (checked, and compiled again where it differs)
                first_result = pool.apply(_version_job, (args(versions[0], opts),))
                later = replace(opts, page_totals=tuple(first_result.get("pages", {}).items()))
                results = pool.imap_unordered(_version_job, [args(v, later) for v in versions[1:]])
                for r in itertools.chain([first_result], results):
                    if r["ok"]:
                        rows[r["label"]] = r
                        result.done.append(r["label"])
                        result.tex_seconds += r["tex_seconds"]
                        result.python_seconds += r["seconds"] - r["tex_seconds"]
                    else:
                        result.failed[r["label"]] = r["error"]
                        result.exit_code = max(result.exit_code, r["code"])
                    bar.update(task, advance=1, failed=len(result.failed))
        except BaseException:
            pool.terminate()  # SIGTERM to every worker still running: each stops its TeX run
            pool.join()
            raise
        pool.close()
        pool.join()
        order = [v.label for v in versions if v.label in rows]
        ordered = [rows[label] for label in order]
        with (stage / "answers.json").open("w", encoding="utf-8") as fh:
            write_json({r["label"]: {"student": r["student"], **r["answers"]} for r in ordered}, fh)
        _answers_csv(ordered, stage / "answers.csv")
        record_batch(stage, seed, [v for v in versions if v.label in rows])
        grid_error = _gradebook(first, ordered, stage, opts)
        if grid_error:
            result.failed["grid.pdf"] = grid_error  # no roster id holds a "."
            result.exit_code = max(result.exit_code, CompileError.exit_code)
        if opts.pdf and tex_available() and ordered and "key" in _kinds("exam", opts.kinds):
            _combined_key(stage, name, order)
        swap_folder(stage, final)  # the previous batch is replaced only now, as a whole
        result.done.sort(key=order.index)
    result.seconds = time.perf_counter() - t0
    return result
