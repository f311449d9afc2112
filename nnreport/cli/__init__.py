"""The command line: a thin layer over the library. Errors print one clear message each."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from .. import load
from ..budgets import Budgets
from ..errors import Interrupted, NNReportError, SpecError, printable
from .common import Seconds, budget_option, fail
from .marking import check, solve


def _formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats asked for; the PDFs too unless only html was (LMS exports come with them)."""
    out = tuple(dict.fromkeys(formats)) or ("pdf",)
    return out if "html" in out or "pdf" in out else ("pdf", *out)


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
        fail(e)


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
    from ..build import BuildOptions
    from ..build import build as run_build
    from ..course.batch import build_variants
    from ..course.lms import write_single
    from ..course.versions import from_roster, numbered
    from ..outdir import output_names

    kinds = ("key",) if only_key else ("questions",) if only_questions else None
    lms = any(f in formats for f in ("moodle", "canvas"))
    opts = BuildOptions(output=output, kinds=kinds, pdf=not no_pdf, timeout=timeout,
                        budgets=budgets, formats=_formats(formats),
                        consumers=(write_single,) if lms else ())  # a single build's LMS files
    try:
        output_names(list(specs))  # before anything runs: names that stay inside, no clashes
    except NNReportError as e:
        fail(e)
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
    from ..build import BuildOptions
    from ..interactive.watch import watch as run_watch
    from ..outdir import output_name

    try:
        output_name(spec)
    except NNReportError as e:
        fail(e)
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
    from ..outdir import output_name
    from ..render.code import NotWritten, script
    from ..spec.setups import NetworkSetup
    from ..spec.yamlio import load_file

    try:
        output_name(spec)  # the file-name check of `build`: the name is written into the script
        loaded = load(spec, budgets)
    except NNReportError as e:
        fail(e)
    nets = [p for p in loaded.document.problems if isinstance(p, NetworkSetup)]
    chosen = [p for p in nets if problem_id in (None, p.id)]
    if not chosen:
        raise click.BadParameter(f"no network problem '{problem_id}' in {spec}; network "
                                 f"problems: {', '.join(p.id for p in nets) or 'none'}",
                                 param_hint="--problem")
    s = chosen[0]
    index = [p.id for p in loaded.document.spec.problems].index(s.id)
    try:
        raw = loaded.document.spec.problems[index]
        text = script(s, raw.data, spec.name, raw.split)
    except NotWritten as e:  # at the layer's type: line and column
        fail(SpecError([load_file(spec, budgets).issue(
            ("problems", index, "network", "layers", e.layer - 1, "type"), str(e),
            ("nnreport solve --json gives this problem's numbers" if s.unworked else
             "build the key (nnreport build) for this problem's numbers") +
            ", or give the layer a type the script writes (dense)")]))
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

    from ..errors import OutputError
    from ..outdir import output_name

    path = Path(name)
    if path.name != name or path.suffix not in (".yaml", ".yml"):
        raise click.BadParameter("a file name ending in .yaml in the current folder, such as "
                                 "exam3.yaml", param_hint="NAME")
    try:
        output_name(path)  # the name a build would give its output folder must be usable
    except NNReportError as e:
        fail(e)
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


cli.add_command(solve)
cli.add_command(check)


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
