"""nnreport in Jupyter: a solved spec shows its worked steps in the notebook (`_repr_html_`,
rendered like the HTML pages, and `_repr_latex_` for front ends that typeset LaTeX), with the
same numbers and rules as the PDF; `problem(...)` makes a spec from Python values; `check`
compares a student's own NumPy values with the engine's.

    import nnreport
    nnreport.load("exam2.yaml")                     # displays the answer key's steps
    p = nnreport.problem(X=X, Y=Y, layers=[(3, "sigmoid"), (1, "sigmoid")], loss="bce",
                         params={"W1": W1, ...}, lr=1)
    p.check(Z1=my_Z1, dW1=my_dW1)                   # right / wrong, value by value
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..budgets import Budgets


@dataclass
class Verdict:
    name: str
    ok: bool
    detail: str


class Checked(list[Verdict]):
    """The verdicts of `Solved.check`; shows itself as a table."""

    @property
    def all_right(self) -> bool:
        return all(v.ok for v in self)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(v.name)}</td><td>{'right' if v.ok else 'WRONG'}"
                       f"</td><td>{html.escape(v.detail)}</td></tr>" for v in self)
        return f"<table><tr><th>value</th><th></th><th></th></tr>{rows}</table>"

    def __repr__(self) -> str:
        return "\n".join(f"{'right' if v.ok else 'WRONG':6} {v.name}: {v.detail}" for v in self)


class Solved:
    """A validated spec and its solutions; displays the worked steps of the answer key."""

    def __init__(self, document: Any, title: str = "") -> None:
        from ..engine.solve import solve

        self.document = document
        self.solutions = solve(document)

    def values(self, problem: str | None = None) -> dict[str, Any]:
        """{name: value} of one problem (the only one, when there is one)."""
        if problem is None:
            if len(self.solutions) != 1:
                raise KeyError(f"several problems: name one of {sorted(self.solutions)}")
            problem = next(iter(self.solutions))
        return self.solutions[problem].values()

    def __getitem__(self, name: str) -> Any:
        """A value by its JSON name ('dW1'), or 'problem.name' ('p2.dW1')."""
        pid, _, key = name.rpartition(".")
        return self.values(pid or None)[key]

    def check(self, problem: str | None = None, rtol: float = 1e-3, atol: float = 1e-4,
              **given: Any) -> Checked:
        """Compare your values (keyword = JSON name) with the engine's, entry by entry:
        right when |yours - engine| <= atol + rtol |engine| everywhere."""
        vals = self.values(problem)
        out = Checked()
        for name, mine in given.items():
            if name not in vals:
                out.append(Verdict(name, False, f"no value '{name}' (names: {', '.join(vals)})"))
                continue
            want = np.asarray(vals[name], dtype=float)
            got = np.asarray(mine, dtype=float)
            if got.size == want.size and got.shape != want.shape:
                got = got.reshape(want.shape)  # a flat list for a column is fine
            if got.shape != want.shape:
                out.append(Verdict(name, False, f"shape {got.shape}, expected {want.shape}"))
                continue
            err = np.abs(got - want)
            ok = bool(np.all(err <= atol + rtol * np.abs(want)))
            out.append(Verdict(name, ok, f"largest difference {float(err.max()):.3g}"))
        return out

    def _page(self, kind: str = "key") -> str:
        from ..compile.html import finish
        from ..document.html import render_html

        text, page = render_html(self.document, self.solutions, kind, {}, {})
        body = text[text.index("<body>") + 6:text.index("</body>")]
        style = text[text.index("<style>"):text.index("</style>") + 8]
        return finish(f'<div class="nnreport">{style}{body}</div>', page)

    def _repr_html_(self) -> str:
        kind = "report" if self.document.spec.document == "report" else "key"
        return self._page(kind)

    def _repr_latex_(self) -> str:
        """The worked steps as display math, problem by problem (for LaTeX front ends)."""
        from ..document.content import Eqs
        from ..document.escape import escape
        from ..document.lines import rows
        from ..document.tex import problem_docs

        out = []
        for p in problem_docs(self.document, self.solutions, {}):
            out.append(rf"\textbf{{{escape(p.title)}}}")  # the PDF's escaping, not HTML's
            for part in p.parts:
                for item in part.items:
                    if isinstance(item, Eqs):
                        body = r" \\ ".join(r.split(r" \tag*")[0] for st in item.steps
                                            for r in rows(st))
                        out.append(r"$$\begin{aligned}" + body + r"\end{aligned}$$")
        return "\n\n".join(out)


def problem(X: Any, Y: Any, layers: list[tuple[int, str]], loss: str = "bce",
            params: dict[str, Any] | None = None, lr: float = 1.0, epochs: int = 1,
            batch_size: int | None = None, optimizer: str | dict[str, Any] = "sgd",
            layout: str = "rows", digits: int = 4, title: str = "A network problem",
            budgets: Budgets | None = None, **extra: Any) -> Solved:
    """A one-problem spec from Python values (NumPy arrays welcome), validated and solved
    exactly as a YAML file would be; `extra` takes any other problem setting of the spec
    format (names, regularization, ask, ...)."""
    import yaml

    from ..spec import loads

    def plain(v: Any) -> Any:
        if isinstance(v, np.ndarray | np.generic):
            return v.tolist()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    train: dict[str, Any] = {"optimizer": optimizer, "lr": lr, "epochs": epochs}
    if batch_size is not None:
        train["batch_size"] = batch_size
    prob: dict[str, Any] = {
        "id": "p", "data": {"X": plain(X), "Y": plain(Y)},
        "network": {"layers": [{"units": int(u), "activation": a} for u, a in layers]},
        "loss": loss, "train": train, **plain(extra)}
    if params:
        prob["params"] = plain(params)
    spec = {"title": title, "layout": layout, "digits": digits, "problems": [prob]}
    return Solved(loads(yaml.safe_dump(spec, sort_keys=False), "<nnreport.problem>",
                        budgets=budgets))
