"""What a network or expression problem's question sheet asks (`ask`, `points`, `digits_for`,
`scaffold`, `space`), each unknown name a located issue with the closest known one, and the
names a network problem can be asked for (a mixin of resolve._Checker)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Problem, Spec, suggest
from .setups import Marking, network_value_names, optimizer_kind, part_of


class MarkingChecks:
    """The question sheet's half of the resolver; `_Checker` supplies add."""

    if TYPE_CHECKING:  # supplied by resolve._Checker
        def add(self, path: tuple[Any, ...], message: str, hint: str = "",
                key: bool = False) -> None: ...

    def marking(self, p: Problem, spec: Spec, at: tuple[Any, ...], names: list[str],
                printed: list[str] | None = None, why: dict[str, str] | None = None) -> Marking:
        """What the question sheet asks; unknown value names are located errors. `printed`:
        a network's names that digits_for may set (an expression problem checks its own);
        `why`: the hint for a value the key would print but for `freeze` or `show`."""
        for name in p.digits_for if printed is not None else ():
            if printed is not None and name not in printed:
                self.add(at + ("digits_for", name), f"'{name}' in digits_for is not a value "
                         f"of problem '{p.id}'", suggest(name, printed), key=True)
        for j, name in enumerate(p.ask or []):
            if name not in names:
                self.add(at + ("ask", j), f"'{name}' is not a value of problem '{p.id}' that "
                         "can be asked", (why or {}).get(name) or suggest(name, names))
        per_value = p.points if isinstance(p.points, dict) else {}
        for name in per_value:
            if name not in names:
                self.add(at + ("points", name), f"points for '{name}', which is not a value of "
                         f"problem '{p.id}'", suggest(name, names), key=True)
            elif p.ask is not None and name not in p.ask:  # it would be silently worth nothing
                self.add(at + ("points", name), f"points for '{name}', which problem '{p.id}' "
                         "does not ask", f"add it to ask: [{', '.join([*p.ask, name])}], or "
                         "leave its points out", key=True)
        space = p.space or spec.space
        return Marking(tuple(p.ask) if p.ask is not None else None, p.points,
                       p.scaffold or spec.scaffold, "0pt" if space == "0" else space)  # a length


def value_names(p: Problem, layers: Any, acts: tuple[str, ...], loss: str
                 ) -> tuple[list[str], list[str], dict[str, str]]:
    """A network problem's names that can be asked, those digits_for may set, and why a
    value the network has is not among them (frozen, or its part not shown)."""
    show = tuple(p.show) if p.show is not None else None
    assert p.loss is not None  # a network problem's loss is checked before

    def names(computed: bool, frozen: tuple[str, ...] = (), shown: tuple[str, ...] | None = None
              ) -> list[str]:
        return network_value_names(len(layers), tuple(layer.bias for layer in layers),
                                   optimizer_kind(p.train.optimizer.setup()), acts, loss,
                                   p.loss.eps if p.loss else None,
                                   p.regularization.l2, working=True, computed=computed,
                                   frozen=frozen, show=shown, delta=p.delta,
                                   kinds=tuple(layer.type for layer in layers),
                                   given=frozenset(p.params or ()))

    asked = names(False, tuple(p.train.freeze), show)
    asked += [f"steps[{i}].{n}" for i in range(1, p.worked_steps) for n in asked]  # later steps
    why = {}
    for name in set(names(False)) - set(asked):
        param = name.split("_")[0]
        why[name] = (f"{param} is frozen (train: freeze): it is never updated"
                     if param in p.train.freeze else
                     f"the {part_of(name)} part, which prints it, is not in show: {list(show or ())}")
    return asked, names(True), why  # digits_for may name any value the network has
