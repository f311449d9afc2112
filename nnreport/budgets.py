"""Budgets: every resource a spec can make nnreport spend, bounded before it is spent.

A spec may come from anyone (a colleague, a student, a course repository), so it cannot raise
its own budgets: only the person running nnreport can, with `--budget NAME=VALUE` on the
command line (repeatable) or `Budgets(...)` from Python. Every exceeded budget is a located
error that names the budget and the flag that raises it (`Budgets.hint`).

docs/spec.md lists the defaults; they keep the peak memory of any accepted spec under about
2 GB and its run time to minutes on a 2-core machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Budgets:
    spec_bytes: int = 1_000_000          # the YAML file, checked before it is parsed
    yaml_nodes: int = 200_000            # values in the YAML, aliases expanded
    data_bytes: int = 20_000_000         # one CSV file, checked before it is read
    data_entries: int = 5_000_000        # entries of X and Y together, checked before drawing
    train_work: float = 1e10             # multiply-adds of a spec's training (shapes x epochs)
    train_steps: int = 200_000           # optimiser steps of a spec's training (epochs x batches)
    compute_entries: int = 1_000_000     # entries of any one value in a compute: problem
    compute_flops: float = 1e9           # multiply-adds of all compute: steps of a spec
    answer_entries: int = 10_000_000     # numbers in the answers of a spec (solve --json)
    variant_work: float = 2e10           # max_tries x the work of one version
    experiment_runs: int = 64            # experiment runs of a spec (each trains, plots, tabulates)
    chain_entries: int = 10_000_000      # rounding: chain's paths x the worked step's numbers
    tex_seconds: float = 0.0             # TeX run time; 0: scaled to the document's size
    pages: int = 500                     # pages of one PDF
    output_bytes: int = 200_000_000      # bytes of one file TeX writes

    def hint(self, name: str) -> str:
        """How to raise one budget, for the end of an error message."""
        value = getattr(self, name)
        shown = str(value) if isinstance(value, int) else f"{value:g}"
        return f"the {name} budget is {shown}; raise it with --budget {name}=N"

    @classmethod
    def parse(cls, items: Iterable[str], base: Budgets | None = None) -> Budgets:
        """`["train_work=1e11", "pages=900"]` -> Budgets; ValueError with a readable message."""
        known = {f.name: f.type for f in fields(cls)}
        changes: dict[str, float | int] = {}
        for item in items:
            name, sep, text = item.partition("=")
            name = name.strip()
            if not sep or name not in known:
                raise ValueError(f"'{item}': expected NAME=VALUE with NAME one of "
                                 + ", ".join(known))
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"'{item}': {text!r} is not a number") from None
            if not number >= 0 or number == float("inf"):
                raise ValueError(f"'{item}': a budget is a finite number >= 0")
            changes[name] = int(number) if known[name] == "int" else number
        return replace(base or cls(), **changes)  # type: ignore[arg-type]


DEFAULT = Budgets()
