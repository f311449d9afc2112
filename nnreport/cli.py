"""The command line: a thin layer over the library. Errors print one clear message each."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import load
from .budgets import Budgets
from .errors import Interrupted, NNReportError, printable


class Seconds(click.FloatRange):
    """A positive, finite number of seconds (FloatRange lets NaN through)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        v = super().convert(value, param, ctx)
        if v != v:
            self.fail("must be a number of seconds, not NaN", param, ctx)
        return v


def _formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats asked for; the PDFs too unless only html was (LMS exports come with them)."""
    out = tuple(dict.fromkeys(formats)) or ("pdf",)
    return out if "html" in out or "pdf" in out else ("pdf", *out)


def _fail(e: NNReportError) -> None:
    # a message quoting the spec may hold characters the terminal cannot take, or its
    # escape sequences (ESC, BEL): written as \x1b, \x07
    text = printable(str(e), keep="\n")
    click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"), err=True)
    sys.exit(e.exit_code)


def _budgets(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Budgets:
    try:
        return Budgets.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


budget_option = click.option(
    "--budget", "budgets", multiple=True, metavar="NAME=VALUE", callback=_budgets,
    help="Raise (or lower) one resource budget, e.g. train_work=1e11; repeatable. "
         "Names and defaults: docs/spec.md.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnreport")
def cli() -> None:
    """Worked solutions for small neural-network problems, from YAML to PDF."""


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@budget_option
def validate(spec: Path, budgets: Budgets) -> None:
    """Check a spec; print nothing but errors.

    Example: nnreport validate problems/exam2.yaml
    """
    try:
        load(spec, budgets)
    except NNReportError as e:
        _fail(e)


def _summary(answers: dict, digits: int = 4) -> str:
    lines = [answers["title"]]
    for pid, values in answers["problems"].items():
        lines.append(f"\n[{pid}]")
        flat = dict(values)
        for i, step in enumerate(flat.pop("steps", [])):  # worked_steps: steps[i].<name>
            flat.update({f"steps[{i}].{k}": x for k, x in step.items()})
        for name, v in flat.items():
            a = np.array(v, dtype=float) if not isinstance(v, float) else v
            if isinstance(a, np.ndarray) and a.ndim >= 1 and a.size > 1:
                text = np.array2string(a, precision=digits, suppress_small=False,
                                       max_line_width=100, threshold=60)
                lines.append(f"{name} {list(a.shape)} =\n{text}")
            else:
                lines.append(f"{name} = {float(np.ravel(a)[0]) if isinstance(a, np.ndarray) else a:.{digits + 2}g}")
    return "\n".join(lines)


def _keys(spec: Path, output: Path, seed: int | None, count: int | None,
          roster: Path | None, budgets: Budgets) -> tuple[Any, Any]:
    """course.versions.keys_for, or exit with the located error."""
    from .course.versions import keys_for

    try:
        return keys_for(spec, output, seed, count, roster, budgets)
    except NNReportError as e:
        _fail(e)
        raise  # not reached


def _spec_problems(spec: Path, budgets: Budgets) -> list[Any]:
    """The spec's problems (ids), or exit with its located error."""
    try:
        return list(load(spec, budgets).document.spec.problems)
    except NNReportError as e:
        _fail(e)
        raise  # not reached


def _one_version(text: str, versions: Any) -> Any:
    from .course.versions import pick

    try:
        return pick(text, versions)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--variant") from None


versions_options = [
    click.option("--variants", "count", type=click.IntRange(1, 10_000),
                 help="How many versions were built [read from the batch in -o]."),
    click.option("--roster", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="The roster the versions were built from (ids name versions)."),
    click.option("--seed", default=None, type=click.IntRange(0, 2**32 - 1),
                 help="Base seed of the versions [the built batch's, else 0]."),
    click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
                 default=Path("output"), show_default=True,
                 help="Where the batch was built (its versions.json names the versions)."),
]


def _with_versions(f: Any) -> Any:
    for option in reversed(versions_options):
        f = option(f)
    return f


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable values on stdout.")
@click.option("--variant", default=None,
              help="Solve this version (17, v17, or a roster id), as built with --variants.")
@_with_versions
@budget_option
def solve(spec: Path, as_json: bool, variant: str | None, count: int | None,
          roster: Path | None, seed: int | None, output: Path, budgets: Budgets) -> None:
    """Compute every value of every problem and print it.

    Example: nnreport solve problems/exam2.yaml --json
    """
    from .build import answers_of

    try:
        if variant is not None or roster is not None or count is not None:
            keys, versions = _keys(spec, output, seed, count, roster, budgets)
            doc, solutions = keys.get(_one_version("1" if variant is None else variant, versions))
        else:
            loaded = load(spec, budgets)
            doc, solutions = loaded.document, loaded.solve()
        answers = answers_of(doc, solutions, raw=True)
    except NNReportError as e:
        _fail(e)
    if as_json:  # strict JSON streamed from the arrays; NaN and inf are null (docs/spec.md)
        from .jsonout import write_json

        write_json(answers, sys.stdout, indent=0)
        sys.stdout.write("\n")
    else:
        click.echo(_summary(answers))


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("output"), show_default=True, help="Folder for the results.")
@click.option("--key", "only_key", is_flag=True, help="Only the answer key.")
@click.option("--questions", "only_questions", is_flag=True, help="Only the question sheet.")
@click.option("--no-pdf", is_flag=True, help="Write the .tex and figures, do not run TeX.")
@click.option("--timeout", default=None, type=Seconds(0, 3600, min_open=True),
              help="Seconds TeX may run per document [the tex_seconds budget, or scaled to the "
                   "document: 30 s + 20 s per 100 kB].")
@click.option("--variants", type=click.IntRange(1, 10_000), help="Build this many versions.")
@click.option("--roster", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="CSV with a name (and id) column: one version per student.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Base seed of the versions' random draws.")
@click.option("--jobs", type=click.IntRange(1, 256), help="Versions built at once [all cores].")
@click.option("--format", "formats", type=click.Choice(["pdf", "html", "moodle", "canvas"]),
              multiple=True, help="pdf (default), html (one self-contained page per document), "
              "moodle (moodle.xml) or canvas (canvas-qti.zip) of every version; repeatable.")
@budget_option
def build(specs: tuple[Path, ...], output: Path, only_key: bool, only_questions: bool,
          no_pdf: bool, timeout: float | None, variants: int | None, roster: Path | None, seed: int,
          jobs: int | None, formats: tuple[str, ...], budgets: Budgets) -> None:
    """Build the answer key and question sheet (or the report) of each spec.

    Example: nnreport build problems/exam2.yaml  ->  output/exam2/exam2-key.pdf

    Per-student versions: nnreport build problems/exam2_variants.yaml --variants 40 --seed 2026

    HTML pages: nnreport build problems/exam2.yaml --format html (add --format pdf for both)
    """
    from .build import BuildOptions
    from .build import build as run_build
    from .course.batch import build_variants
    from .course.lms import write_single
    from .course.versions import from_roster, numbered
    from .outdir import output_names

    kinds = ("key",) if only_key else ("questions",) if only_questions else None
    lms = any(f in formats for f in ("moodle", "canvas"))
    opts = BuildOptions(output=output, kinds=kinds, pdf=not no_pdf, timeout=timeout,
                        budgets=budgets, formats=_formats(formats),
                        consumers=(write_single,) if lms else ())  # a single build's LMS files
    try:
        output_names(list(specs))  # before anything runs: names that stay inside, no clashes
    except NNReportError as e:
        _fail(e)
    code = 0
    for spec in specs:
        try:
            if variants or roster:
                versions = from_roster(roster) if roster else numbered(variants or 1)
                res = build_variants(spec, versions, seed, opts, jobs=jobs)
                rate = 60 * len(res.done) / res.seconds if res.seconds else 0.0
                click.echo(f"{res.folder}: {len(res.done)} versions in {res.seconds:.1f} s "
                           f"({rate:.1f} per minute), {len(res.failed)} failed")
                for label, msg in res.failed.items():
                    click.echo(printable(f"{'' if '.' in label else 'version '}{label} failed: "
                                         f"{msg}", keep="\n"), err=True)
                code = code or res.exit_code
                continue
            for path in run_build(spec, opts):
                click.echo(printable(str(path)))
        except NNReportError as e:
            click.echo(printable(str(e), keep="\n"), err=True)
            code = code or e.exit_code
        except KeyboardInterrupt as e:  # the staging folder is gone, TeX and workers stopped
            click.echo(printable(f"{spec}: interrupted; nothing in {output} was changed"), err=True)
            sys.exit(128 + getattr(e, "signum", signal.SIGINT))
    sys.exit(code)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("answers", type=click.Path(exists=True, path_type=Path))
@click.option("--variant", "variant", default=None,
              help="Version number (17 or v17) or roster id [1]; not with a class.")
@_with_versions
@click.option("--rtol", type=float, default=None,
              help="Relative tolerance instead of the key's range (one unit of the last "
                   "printed digit, or the rounded chain's range) [1e-3 with --atol].")
@click.option("--atol", type=float, default=None,
              help="Absolute tolerance, with --rtol [1e-4].")
@click.option("--tol", "tols", multiple=True, metavar="NAME=RTOL[,ATOL]",
              help="Tolerance for one value (p2.dW1 or dW1); repeatable.")
@click.option("--follow-through", "follow_through", is_flag=True,
              help="Also recompute each value from the student's own earlier values: one "
                   "right that way 'follows through' and earns --credit of its points.")
@click.option("--credit", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Share of a value's points for a follow-through.")
@click.option("--problem", "problems", multiple=True, metavar="ID",
              help="Mark only this problem (repeatable) [every problem].")
@click.option("--json", "as_json", is_flag=True, help="The verdicts as JSON on stdout.")
@click.option("--grades", type=click.Path(dir_okay=False, path_type=Path),
              help="With a folder or CSV of submissions: where the grades CSV goes "
                   "[grades.csv beside them].")
@budget_option
def check(spec: Path, answers: Path, variant: str | None, count: int | None,
          roster: Path | None, seed: int | None, output: Path, rtol: float | None,
          atol: float | None,
          tols: tuple[str, ...], follow_through: bool, credit: float,
          problems: tuple[str, ...], as_json: bool, grades: Path | None,
          budgets: Budgets) -> None:
    """Mark a student's submitted values against the key of their version.

    ANSWERS is YAML: {problem id: {value name: number or matrix}}, names as in solve --json.
    Every asked value counts (one not given is 'missing', 0 points). A value is right when
    every entry lies in the key's range: one unit of its last printed digit either side (or
    the rounded chain's range), as in the Moodle and Canvas exports. A
    folder of <version>.yaml files (or roster ids), or a CSV laid out as answers.csv, marks
    a class into a grades CSV; a file that cannot be read is reported and the others are
    still marked (exit 2 then).

    Example: nnreport check problems/exam2_variants.yaml answers.yaml --variant 17
    """
    from .course.grading import Rules, mark, mark_class, total, write_grades
    from .course.submissions import read_class, read_one

    try:
        rules = Rules.of(rtol, atol, tols, follow_through, credit, problems)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--tol") from None
    ids = [p.id for p in _spec_problems(spec, budgets)] if problems else []
    for pid in problems:
        if pid not in ids:
            raise click.BadParameter(f"no problem '{pid}' in {spec} (problems: "
                                     f"{', '.join(ids)})", param_hint="--problem")
    if answers.is_dir() or answers.suffix.lower() == ".csv":  # a class: grades CSV
        if variant is not None:
            raise click.BadParameter("a class's files name their versions; leave --variant "
                                     "out", param_hint="--variant")
        try:
            subs = read_class(answers, budgets)
        except NNReportError as e:
            _fail(e)
        keys, versions = _keys(spec, output, seed, count, roster, budgets)
        try:
            res = mark_class(keys, subs, versions, rules)
        except NNReportError as e:
            _fail(e)
        out = grades or answers.with_name("grades.csv")
        try:
            write_grades(out, res.graded, res.failed, res.exam_total)
        except OSError as e:
            click.echo(f"nnreport: cannot write {out}: {e.strerror}", err=True)
            sys.exit(6)
        for label, why in res.failed.items():
            click.echo(printable(f"not marked: {label}: {why}", keep="\n"), err=True)
        click.echo(f"{len(res.graded)} submissions marked, {len(res.failed)} not -> {out}")
        sys.exit(2 if res.failed else 0)
    try:
        submitted = read_one(answers, budgets)
    except NNReportError as e:
        _fail(e)
    keys, versions = _keys(spec, output, seed, count, roster, budgets)
    version = _one_version("1" if variant is None else variant, versions)
    try:
        doc, solutions = keys.get(version)
    except NNReportError as e:
        _fail(e)
    rows = mark(doc, solutions, submitted, rules)
    right, n, got, of = total(rows)
    if as_json:
        click.echo(json.dumps({"version": version.label, "values": rows, "right": right,
                               "asked": n, "points": got, "of": of}, indent=1))
    else:
        for x in rows:
            pts = f"  [{x['points']:g}/{x['of']:g} pt]" if x["of"] else ""
            click.echo(f"{x['status']:6} {x['problem']}.{x['value']}: {x['detail']}{pts}")
        click.echo(f"{right} of {n} right (version {version.label})"
                   + (f", {got:g} of {of:g} points" if of else ""))
    sys.exit(0 if all(x["status"] == "right" for x in rows) else 1)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("output"), show_default=True, help="Folder for the results.")
@click.option("--format", "formats", type=click.Choice(["pdf", "html"]), multiple=True,
              help="pdf (default) and/or html; repeatable.")
@budget_option
def watch(spec: Path, output: Path, formats: tuple[str, ...], budgets: Budgets) -> None:
    """Build, then rebuild on every save of the spec or its data; Ctrl-C stops.

    A spec with an error prints the error and keeps the last good output.

    Example: nnreport watch problems/exam2.yaml --format html
    """
    from .build import BuildOptions
    from .interactive.watch import watch as run_watch
    from .outdir import output_name

    try:
        output_name(spec)
    except NNReportError as e:
        _fail(e)
    opts = BuildOptions(output=output, budgets=budgets,
                        formats=tuple(dict.fromkeys(formats)) or ("pdf",))
    try:
        run_watch(spec, opts, lambda m: click.echo(m, err=True))
    except KeyboardInterrupt as e:
        if getattr(e, "signum", signal.SIGINT) != signal.SIGINT:
            raise  # SIGTERM/SIGHUP: exit 128 + signal, like every command
    click.echo("nnreport: stopped watching", err=True)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--problem", "problem_id", help="The network problem's id [the first one].")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the script here instead of printing it.")
@budget_option
def code(spec: Path, problem_id: str | None, output: Path | None, budgets: Budgets) -> None:
    """Write a standalone NumPy script that reproduces a network problem's numbers.

    Example: nnreport code problems/exam2.yaml --problem p2 > p2.py && python p2.py
    """
    from .outdir import output_name
    from .render.code import script
    from .spec.setups import NetworkSetup

    try:
        output_name(spec)  # the file-name check of `build`: the name is written into the script
        loaded = load(spec, budgets)
    except NNReportError as e:
        _fail(e)
    nets = [p for p in loaded.document.problems if isinstance(p, NetworkSetup)]
    chosen = [p for p in nets if problem_id in (None, p.id)]
    if not chosen:
        raise click.BadParameter(f"no network problem '{problem_id}' in {spec}; network "
                                 f"problems: {', '.join(p.id for p in nets) or 'none'}",
                                 param_hint="--problem")
    s = chosen[0]
    index = [p.id for p in loaded.document.spec.problems].index(s.id)
    try:
        text = script(s, loaded.document.spec.problems[index].data, spec.name)
    except ValueError as e:
        click.echo(f"nnreport: {e}", err=True)
        sys.exit(2)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        click.echo(f"nnreport: cannot write {output}: {e.strerror}", err=True)
        sys.exit(6)


@cli.command()
@click.argument("name", default="problem.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(name: str, force: bool) -> None:
    """Write a commented starter spec (an expression problem and a network problem).

    NAME is a file name in the current folder [problem.yaml].

    Example: nnreport init exam3.yaml && nnreport build exam3.yaml
    """
    from importlib.resources import files

    from .errors import OutputError
    from .outdir import output_name

    path = Path(name)
    if path.name != name or path.suffix not in (".yaml", ".yml"):
        raise click.BadParameter("a file name ending in .yaml in the current folder, such as "
                                 "exam3.yaml", param_hint="NAME")
    try:
        output_name(path)  # the name a build would give its output folder must be usable
    except NNReportError as e:
        _fail(e)
    text = files("nnreport").joinpath("starter/problem.yaml").read_text(encoding="utf-8")
    try:
        with path.open("w" if force else "x", encoding="utf-8") as fh:
            fh.write(text.replace("problem.yaml", name).replace("output/problem/",
                                                                  f"output/{path.stem}/"))
    except FileExistsError:
        click.echo(f"nnreport: {name} exists; choose another name or add --force", err=True)
        sys.exit(OutputError.exit_code)
    except OSError as e:
        click.echo(f"nnreport: cannot write {name}: {e.strerror}", err=True)
        sys.exit(OutputError.exit_code)
    click.echo(f"wrote {name}; build it with: nnreport build {name}")


def _stop(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main() -> None:
    """Run the CLI. SIGTERM and SIGHUP unwind like Ctrl-C, so every cleanup path (staging
    folders, TeX process groups, batch workers) runs; the exit code is 128 + the signal."""
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    try:
        cli.main(prog_name="nnreport", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort as e:  # click turns Ctrl-C into Abort
        cause = e.__cause__
        signum = getattr(cause, "signum", signal.SIGINT) if isinstance(cause, KeyboardInterrupt) else 0
        click.echo("nnreport: interrupted" if signum else "Aborted!", err=True)
        sys.exit(128 + signum if signum else 1)
    except KeyboardInterrupt as e:
        click.echo("nnreport: interrupted", err=True)
        sys.exit(128 + getattr(e, "signum", signal.SIGINT))
