"""nnreport: YAML neural-network problems -> worked solutions in LaTeX and PDF.

Pipeline, one package per stage, each ignorant of the ones after it:
spec (YAML -> setups) -> engine (NumPy) -> render (LaTeX strings) -> document (Jinja -> .tex)
-> compile (pdflatex, sandboxed). `build.build()` runs them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .budgets import Budgets
from .errors import CompileError, ComputeError, NNReportError, SpecError, TexMissingError

__version__ = "0.1.0"


@dataclass(frozen=True)
class Loaded:
    """A validated spec, ready to solve or build."""

    path: Path
    document: Any  # spec.Document

    def solve(self) -> dict[str, Any]:
        """Every problem's solution, keyed by problem id."""
        from .engine.solve import solve

        return solve(self.document)

    def answers(self) -> dict[str, Any]:
        """The JSON contract: {"title", "problems": {id: {name: value}}} as plain lists."""
        from .engine.solve import to_jsonable

        sols = self.solve()
        return {"title": self.document.spec.title,
                "problems": {k: {n: to_jsonable(v) for n, v in s.values().items()}
                             for k, s in sols.items()}}

    def solved(self) -> Any:
        """Solutions that display their worked steps in Jupyter (notebook.Solved)."""
        from .interactive.notebook import Solved

        return Solved(self.document)

    def _repr_html_(self) -> str:
        return str(self.solved()._repr_html_())

    def _repr_latex_(self) -> str:
        return str(self.solved()._repr_latex_())


def load(path: str | Path, budgets: Budgets | None = None) -> Loaded:
    """Read and validate a spec file (raises SpecError with every issue found).
    `budgets` bounds every resource (default `Budgets()`; docs/spec.md lists them)."""
    from .spec import load as load_spec

    return Loaded(Path(path), load_spec(path, budgets=budgets))


def problem(*args: Any, **kwargs: Any) -> Any:
    """A one-problem spec from Python values, solved (see notebook.problem)."""
    from .interactive.notebook import problem as make

    return make(*args, **kwargs)


__all__ = ["Budgets", "CompileError", "ComputeError", "Loaded", "NNReportError", "SpecError",
           "TexMissingError", "load", "problem"]
