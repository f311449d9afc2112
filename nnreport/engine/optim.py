"""Optimisers, exactly as docs/spec.md states them (t counts steps from 1).

`step(..., trace=...)` also records, per parameter, the optimiser state the worked step shows
and the JSON holds under canonical names: momentum `v`; RMSprop `s`; Adam `m`, `v`, `mhat`,
`vhat`; every optimiser `step` (what is subtracted from the parameter).

Momentum has two forms: `average` v = beta v + (1 - beta) g, step lr v; `heavy_ball`
v = beta v - lr g, p + v (step -v), with `nesterov` p + beta v - lr g (the new v; PyTorch's
SGD with nesterov=True, whose buffer is -v/lr). `state` gives the state before the first step
(`train.state:`, by parameter and canonical state name), else every state starts at 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import exact

Array = np.ndarray


def _divide(num: Array, den: Array, name: str, t: int, what: str) -> Array:
    """num / den, where den is 0 only with eps: 0 and an entry that never had a gradient."""
    if np.any(np.asarray(den) == 0):
        from ..errors import ComputeError

        raise ComputeError(f"{what} with eps: 0 divides by zero in step {t}: an entry of "
                           f"{name} has had no gradient yet (0/0)\n    hint: give eps a "
                           "small positive value (1e-8), or start from weights that give "
                           "every entry a gradient")
    return num / den


@dataclass(frozen=True)
class OptimizerSpec:
    name: str = "sgd"
    beta: float = 0.9  # momentum and rmsprop
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    form: str = "average"  # momentum: average or heavy_ball
    nesterov: bool = False


# the canonical name of each running state (JSON `W1_v` ...) -> the attribute that holds it
STATE_SLOTS = {"momentum": {"v": "v"}, "rmsprop": {"s": "s"}, "adam": {"m": "v", "v": "s"},
               "sgd": {}}


@dataclass
class Optimizer:
    spec: OptimizerSpec
    lr: float
    t: int = 0
    v: dict[str, Array] = field(default_factory=dict)
    s: dict[str, Array] = field(default_factory=dict)

    @classmethod
    def starting(cls, spec: OptimizerSpec, lr: float,
                 state: dict[str, dict[str, Array]] | None = None) -> Optimizer:
        """An optimiser whose state before the first step is `state` ({param: {name: value}},
        canonical names: momentum v, RMSprop s, Adam m and v); absent entries start at 0."""
        o = cls(spec, lr)
        for k, named in (state or {}).items():
            for name, value in named.items():
                getattr(o, STATE_SLOTS[spec.name][name])[k] = np.array(value, dtype=float)
        return o

    def state_of(self) -> dict[str, dict[str, Array]]:
        """The current state by parameter and canonical name (a copy): what the next step
        starts from, as train.state gives it."""
        out: dict[str, dict[str, Array]] = {}
        for name, slot in STATE_SLOTS[self.spec.name].items():
            for k, a in getattr(self, slot).items():
                out.setdefault(k, {})[name] = np.array(a, dtype=float)
        return out

    def step(self, params: dict[str, Array], grads: dict[str, Array], frozen: set[str],
             trace: dict[str, dict[str, Array]] | None = None,
             exact_grads: dict[str, exact.Exact] | None = None) -> dict[str, Array]:
        """Return updated parameters (new arrays; the inputs are left untouched). With `trace`,
        record each parameter's state; `exact_grads` holds the exact values (fractions) of the
        gradients the pass could reach exactly (as d<name>), so SGD and a first step of the
        other optimisers are computed exactly from them (`_exact`)."""
        self.t += 1
        o, lr, t = self.spec, self.lr, self.t
        new = dict(params)
        for k, g in grads.items():
            if k in frozen:
                continue
            before = {"v": self.v.get(k), "s": self.s.get(k)}  # the state the step starts from
            state: dict[str, Array] = {}
            if o.name == "sgd":
                state["step"] = lr * g
            elif o.name == "momentum" and o.form == "heavy_ball":
                self.v[k] = o.beta * self.v.get(k, 0.0) - lr * g
                state["v"] = self.v[k]
                state["step"] = -(o.beta * self.v[k] - lr * g if o.nesterov else self.v[k])
            elif o.name == "momentum":
                self.v[k] = o.beta * self.v.get(k, 0.0) + (1 - o.beta) * g
                state["v"] = self.v[k]
                state["step"] = lr * self.v[k]
            elif o.name == "rmsprop":
                self.s[k] = o.beta * self.s.get(k, 0.0) + (1 - o.beta) * g * g
                state["s"] = self.s[k]
                state["step"] = lr * _divide(g, np.sqrt(self.s[k]) + o.eps, k, t, "RMSprop")
            elif o.name == "adam":
                self.v[k] = o.beta1 * self.v.get(k, 0.0) + (1 - o.beta1) * g
                self.s[k] = o.beta2 * self.s.get(k, 0.0) + (1 - o.beta2) * g * g
                vh = self.v[k] / (1 - o.beta1**t)
                sh = self.s[k] / (1 - o.beta2**t)
                state.update(m=self.v[k], v=self.s[k], mhat=vh, vhat=sh)
                state["step"] = lr * _divide(vh, np.sqrt(sh) + o.eps, k, t, "Adam")
            else:  # pragma: no cover - refused by the spec layer
                raise ValueError(o.name)
            new[k] = params[k] - state["step"]
            eg = (exact_grads or {}).get(f"d{k}")
            if eg is not None:  # the worked steps (worked_steps:) pass their exact gradients
                new[k], state = self._exact(k, params[k], eg, state, before)
            if trace is not None:
                trace[k] = state
        return new

    def _exact(self, k: str, p: Array, eg: exact.Exact, state: dict[str, Array],
               before: dict[str, Array | None]) -> tuple[Array, dict[str, Array]]:
        """The update from an exact gradient, exactly where it stays rational (step t, from a
        rational state): SGD's p - lr g, a momentum step p - lr (beta v + (1 - beta) g), an
        Adam step (m, v, m-hat, v-hat and,
        as sqrt(v-hat) = |g|, the step itself) and a first RMSprop step's s (its step too when
        1 - beta is a square, as 0.01 is). Each value is the float nearest to the exact one:
        Adam's m of g = 4 is 0.4, not (1 - 0.9) x 4 = 0.3999999999999999."""
        ep = exact.rational(p)
        zero = np.asarray(exact.const(0.0), dtype=object)
        v0 = zero if before["v"] is None else exact.rational(before["v"])
        s0 = zero if before["s"] is None else exact.rational(before["s"])
        if ep is None or v0 is None or s0 is None:  # v0, s0: a given state (train.state), or 0
            return p - state["step"], state
        o, lr = self.spec, exact.const(self.lr)
        out = dict(state)

        def put(name: str, e: exact.Exact) -> Array:
            out[name] = exact.to_float(e)
            return out[name]

        step: exact.Exact | None = lr * eg
        beta = exact.const(o.beta)
        if o.name == "momentum" and o.form == "heavy_ball":
            ev = beta * v0 - lr * eg
            self.v[k] = put("v", ev)
            step = -(beta * ev - lr * eg) if o.nesterov else -ev
        elif o.name == "momentum":
            ev = beta * v0 + (1 - beta) * eg
            self.v[k] = put("v", ev)
            step = lr * ev
        elif o.name == "adam":
            em = exact.const(o.beta1) * v0 + (1 - exact.const(o.beta1)) * eg
            es = exact.const(o.beta2) * s0 + (1 - exact.const(o.beta2)) * eg * eg
            self.v[k], self.s[k] = put("m", em), put("v", es)
            t = self.t
            mh = em / (1 - exact.const(o.beta1) ** t)
            vh = es / (1 - exact.const(o.beta2) ** t)
            put("mhat", mh)
            put("vhat", vh)
            step = exact.maybe(lambda m, r: lr * m / (r + exact.const(o.eps)), mh, exact.sqrt(vh))
        elif o.name == "rmsprop":
            es = beta * s0 + (1 - beta) * eg * eg
            self.s[k] = put("s", es)
            step = exact.maybe(lambda g, r: lr * g / (r + exact.const(o.eps)), eg, exact.sqrt(es))
        if step is None:  # the square root is not rational: the float step stands
            return p - state["step"], out
        return exact.to_float(ep - step), {**out, "step": exact.to_float(step)}
