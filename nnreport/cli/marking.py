"""The commands that read the key's numbers: solve (print them) and check (mark a student's or a
class's values against them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import load
from ..budgets import Budgets
from ..errors import NNReportError, printable
from .common import (
    budget_option,
    fail,
    keys_or_fail,
    one_version,
    spec_problems,
    summary,
    with_versions,
)


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable values on stdout.")
@click.option("--variant", default=None,
              help="Solve this version (17, v17, or a roster id), as built with --variants.")
@with_versions
@budget_option
def solve(spec: Path, as_json: bool, variant: str | None, count: int | None,
          roster: Path | None, seed: int | None, output: Path, budgets: Budgets) -> None:
    """Compute every value of every problem and print it.

    Example: nnreport solve problems/exam2.yaml --json
    """
    from ..build import answers_of

    try:
        if variant is not None or roster is not None or count is not None:
            keys, versions = keys_or_fail(spec, output, seed, count, roster, budgets)
            doc, solutions = keys.get(one_version("1" if variant is None else variant, versions))
        else:
            loaded = load(spec, budgets)
            doc, solutions = loaded.document, loaded.solve()
        answers = answers_of(doc, solutions, raw=True)
    except NNReportError as e:
        fail(e)
    if as_json:  # strict JSON streamed from the arrays; NaN and inf are null (docs/spec.md)
        from ..jsonout import write_json

        write_json(answers, sys.stdout, indent=0)
        sys.stdout.write("\n")
    else:
        click.echo(summary(answers))


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("answers", type=click.Path(exists=True, path_type=Path))
@click.option("--variant", "variant", default=None,
              help="Version number (17 or v17) or roster id [1]; not with a class.")
@with_versions
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
    from ..course.grading import Rules, mark, mark_class, total, write_grades
    from ..course.submissions import read_class, read_one

    try:
        rules = Rules.of(rtol, atol, tols, follow_through, credit, problems)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--tol") from None
    ids = [p.id for p in spec_problems(spec, budgets)] if problems else []
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
            fail(e)
        keys, versions = keys_or_fail(spec, output, seed, count, roster, budgets)
        try:
            res = mark_class(keys, subs, versions, rules)
        except NNReportError as e:
            fail(e)
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
        fail(e)
    keys, versions = keys_or_fail(spec, output, seed, count, roster, budgets)
    version = one_version("1" if variant is None else variant, versions)
    try:
        doc, solutions = keys.get(version)
        rows = mark(doc, solutions, submitted, rules)  # a layer without worked lines: exit 2
    except NNReportError as e:
        fail(e)
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
