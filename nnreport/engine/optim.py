"""Optimisers, exactly as docs/spec.md states them (t counts steps from 1)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class OptimizerSpec:
    name: str = "sgd"
    beta: float = 0.9  # momentum and rmsprop
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


@dataclass
class Optimizer:
    spec: OptimizerSpec
    lr: float
    t: int = 0
    v: dict[str, Array] = field(default_factory=dict)
    s: dict[str, Array] = field(default_factory=dict)

    def step(self, params: dict[str, Array], grads: dict[str, Array], frozen: set[str]) -> dict[str, Array]:
        """Return updated parameters (new arrays; the inputs are left untouched)."""
        self.t += 1
        o, lr, t = self.spec, self.lr, self.t
        new = dict(params)
        for k, g in grads.items():
            if k in frozen:
                continue
            if o.name == "sgd":
                upd = g
            elif o.name == "momentum":
                self.v[k] = o.beta * self.v.get(k, 0.0) + (1 - o.beta) * g
                upd = self.v[k]
            elif o.name == "rmsprop":
                self.s[k] = o.beta * self.s.get(k, 0.0) + (1 - o.beta) * g * g
                upd = g / (np.sqrt(self.s[k]) + o.eps)
            elif o.name == "adam":
                self.v[k] = o.beta1 * self.v.get(k, 0.0) + (1 - o.beta1) * g
                self.s[k] = o.beta2 * self.s.get(k, 0.0) + (1 - o.beta2) * g * g
                vh = self.v[k] / (1 - o.beta1**t)
                sh = self.s[k] / (1 - o.beta2**t)
                upd = vh / (np.sqrt(sh) + o.eps)
            else:  # pragma: no cover - refused by the spec layer
                raise ValueError(o.name)
            new[k] = params[k] - lr * upd
        return new
