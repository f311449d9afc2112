"""What the commands share: the budget and versions options, one located error printed and
the exit code, the batch's keys, a values summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from .. import load
from ..budgets import Budgets
from ..errors import NNReportError, printable


class Seconds(click.FloatRange):
    """A positive, finite number of seconds (FloatRange lets NaN through)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        v = super().convert(value, param, ctx)
        if v != v:
            self.fail("must be a number of seconds, not NaN", param, ctx)
        return v


def fail(e: NNReportError) -> None:
    # a message quoting the spec may hold characters the terminal cannot take, or its
    # escape sequences (ESC, BEL): written as \x1b, \x07
    text = printable(str(e), keep="\n")
    click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"), err=True)
    sys.exit(e.exit_code)


def parse_budgets(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Budgets:
    try:
        return Budgets.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


budget_option = click.option(
    "--budget", "budgets", multiple=True, metavar="NAME=VALUE", callback=parse_budgets,
    help="Raise (or lower) one resource budget, e.g. train_work=1e11; repeatable. "
         "Names and defaults: docs/spec.md.")


def _flat(name: str, v: Any) -> list[tuple[str, Any]]:
    """Nested answers as (dotted name, leaf): worked steps as steps[i].<name>, experiment
    runs as experiments.<group>.<run>.<name>; a list that is no array stays one leaf."""
    if isinstance(v, dict):
        return [x for k, w in v.items() for x in _flat(f"{name}.{k}" if name else str(k), w)]
    if isinstance(v, list) and v and all(isinstance(w, dict) for w in v):
        return [x for i, w in enumerate(v) for x in _flat(f"{name}[{i}]", w)]
    return [(name, v)]


def _line(name: str, v: Any, digits: int) -> str:
    try:
        a = np.array(v, dtype=float)
    except (TypeError, ValueError):  # words (class names) or rows of unequal length
        return printable(f"{name} = {v}")[:300]
    if a.ndim >= 1 and a.size > 1:
        text = np.array2string(a, precision=digits, suppress_small=False,
                               max_line_width=100, threshold=60)
        return f"{name} {list(a.shape)} =\n{text}"
    if a.size == 0:
        return f"{name} = []"
    return f"{name} = {float(np.ravel(a)[0]):.{digits + 2}g}"


def summary(answers: dict, digits: int = 4) -> str:
    lines = [printable(str(answers["title"]))]
    for pid, values in answers["problems"].items():
        lines.append(printable(f"\n[{pid}]", keep="\n"))
        lines += [_line(name, v, digits) for name, v in _flat("", values)]
    return "\n".join(lines)


def keys_or_fail(spec: Path, output: Path, seed: int | None, count: int | None,
          roster: Path | None, budgets: Budgets) -> tuple[Any, Any]:
    """course.versions.keys_for, or exit with the located error."""
    from ..course.versions import keys_for

    try:
        return keys_for(spec, output, seed, count, roster, budgets)
    except NNReportError as e:
        fail(e)
        raise  # not reached


def spec_problems(spec: Path, budgets: Budgets) -> list[Any]:
    """The spec's problems (ids), or exit with its located error."""
    try:
        return list(load(spec, budgets).document.spec.problems)
    except NNReportError as e:
        fail(e)
        raise  # not reached


def one_version(text: str, versions: Any) -> Any:
    from ..course.versions import pick

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


def with_versions(f: Any) -> Any:
    for option in reversed(versions_options):
        f = option(f)
    return f
