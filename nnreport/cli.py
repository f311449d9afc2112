"""The command line: a thin layer over the library. Errors print one clear message each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from . import load
from .errors import NNReportError

EXIT_USAGE = 2


def _fail(e: NNReportError) -> None:
    click.echo(str(e), err=True)
    sys.exit(e.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnreport")
def cli() -> None:
    """Worked solutions for small neural-network problems, from YAML to PDF."""


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
def validate(spec: Path) -> None:
    """Check a spec; print nothing but errors.

    Example: nnreport validate problems/exam2.yaml
    """
    try:
        load(spec)
    except NNReportError as e:
        _fail(e)


def _summary(answers: dict, digits: int = 4) -> str:
    lines = [answers["title"]]
    for pid, values in answers["problems"].items():
        lines.append(f"\n[{pid}]")
        for name, v in values.items():
            a = np.array(v, dtype=float) if not isinstance(v, float) else v
            if isinstance(a, np.ndarray) and a.ndim >= 1 and a.size > 1:
                text = np.array2string(a, precision=digits, suppress_small=False,
                                       max_line_width=100, threshold=60)
                lines.append(f"{name} {list(a.shape)} =\n{text}")
            else:
                lines.append(f"{name} = {float(np.ravel(a)[0]) if isinstance(a, np.ndarray) else a:.{digits + 2}g}")
    return "\n".join(lines)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable values on stdout.")
def solve(spec: Path, as_json: bool) -> None:
    """Compute every value of every problem and print it.

    Example: nnreport solve problems/exam2.yaml --json
    """
    try:
        answers = load(spec).answers()
    except NNReportError as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(answers))
    else:
        click.echo(_summary(answers))


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("output"), show_default=True, help="Folder for the results.")
@click.option("--key", "only_key", is_flag=True, help="Only the answer key.")
@click.option("--questions", "only_questions", is_flag=True, help="Only the question sheet.")
@click.option("--no-pdf", is_flag=True, help="Write the .tex and figures, do not run TeX.")
@click.option("--timeout", default=120, show_default=True, help="Seconds TeX may run.")
def build(specs: tuple[Path, ...], output: Path, only_key: bool, only_questions: bool,
          no_pdf: bool, timeout: int) -> None:
    """Build the answer key and question sheet (or the report) of each spec.

    Example: nnreport build problems/exam2.yaml  ->  output/exam2/exam2-key.pdf
    """
    from .build import BuildOptions
    from .build import build as run_build

    kinds = ("key",) if only_key else ("questions",) if only_questions else None
    code = 0
    for spec in specs:
        try:
            made = run_build(spec, BuildOptions(output=output, kinds=kinds, pdf=not no_pdf,
                                                timeout=timeout))
            for path in made:
                click.echo(str(path))
        except NNReportError as e:
            click.echo(str(e), err=True)
            code = code or e.exit_code
        except KeyboardInterrupt:  # build() has removed its staging folder on the way out
            click.echo(f"{spec}: interrupted; nothing in {output} was changed", err=True)
            sys.exit(130)
    sys.exit(code)


def main() -> None:
    cli(prog_name="nnreport")
