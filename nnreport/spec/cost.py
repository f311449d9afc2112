"""What a problem will cost, estimated from its resolved shapes before anything runs.

The estimates are what the budgets bound (docs/spec.md, "Budgets"): work in multiply-adds,
memory in entries (8 bytes each). `STEP_WORK` and `TRY_WORK` turn Python overhead into the
same unit, so a million tiny optimiser steps cost what they really take; both were measured
on a 2-core machine (bench/run.py prints the estimate beside the real time).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..budgets import Budgets
from .layertypes import parameter_count

MACS_PER_NUMBER = 100    # the chain's multiply-adds that cost what one rounded number does
STEP_WORK = 30_000       # one optimiser step of a small network: ~100 us of Python
TRY_WORK = 500_000       # drawing, validating and resolving one version: ~1.4 ms
NAMED_PER_LAYER = 21     # named values of a worked step per layer (Z, H, dZ, dW, state ...)
CHAIN_PATHS = 48         # rounding: chain's random rounding paths (engine/chain.py), besides
                         # the full and the chain path; each rounds every worked number
                         # (~1.8 us an entry), so chain_entries bounds paths x numbers


@dataclass(frozen=True)
class NetworkCost:
    parameters: int
    train_work: float    # samples x parameters x epochs
    train_steps: int     # epochs x batches
    activations: int     # samples x (inputs + every layer's units): one pass over all data
    answers: int         # numbers in this problem's answers (the JSON contract)
    per_sample: bool     # per-sample gradients kept (they take at most half answer_entries)
    worked: int = 0      # numbers of the worked step (what rounding: chain recomputes per path)
    depth: int = 1
    steps: int = 1       # worked optimiser steps (worked_steps:)
    unit_work: int = 0   # configured layers: multiply-adds of one sample's pass (else P)
    chain_names: int = 0  # configured layers: names their worked lines round (an rnn's steps)

    @property
    def chain_entries(self) -> int:
        """Numbers rounding: chain computes: the worked steps along every path, and for the
        first-order reach once more per named value it moves (engine/chain.py; about
        NAMED_PER_LAYER a layer and step), which grows with the square of worked_steps."""
        reach = 4 * NAMED_PER_LAYER * self.depth * (self.steps - 1) * self.worked
        reach += 4 * self.chain_names * self.steps * self.worked  # each moved once more
        return (CHAIN_PATHS + 2) * self.worked + reach

    @property
    def work(self) -> float:
        """Estimated multiply-adds of solving, Python overhead included."""
        return self.train_work + STEP_WORK * self.train_steps


STATE_ARRAYS = {"sgd": 1, "momentum": 2, "rmsprop": 2, "adam": 5}  # step (and v, s, m, ...)


def network_cost(units: tuple[int, ...], samples: int, batch_size: int, epochs: int,
                 budgets: Budgets, optimizer: str = "sgd",
                 worked: int | None = None, extra: tuple[int, int] = (0, 0),
                 steps: int = 1, kinds: tuple[str, ...] = (),
                 counted: tuple[int, int] | None = None,
                 chained: tuple[int, int] = (0, 0)) -> NetworkCost:
    """Cost of solving a network problem: `units` starts with the input width; `extra` the
    numbers per worked sample and once of the values printed on the way (setups.printed_extra);
    `steps` worked optimiser steps (worked_steps:), each later one with a whole batch's values
    in the JSON's steps list; `kinds` each layer's type (spec/layertypes.py; empty: all dense),
    which counts its parameters; `counted`: (parameters, multiply-adds of one sample's forward
    pass) of a network with configured layers (spec/shaped.py: a conv layer's kernel x map x
    channels, an rnn's steps x units, attention's tokens^2), counted from its shapes;
    `chained`: (numbers per worked sample, names) the rounded chain adds for such layers
    (their own values and their lines' intermediates; names: an rnn's every step)."""
    P = parameter_count(kinds, units) if counted is None else counted[0]
    unit_work = 0 if counted is None else max(counted[1], P)
    B = min(batch_size, samples, worked or samples)  # the worked step's samples
    batches = -(-samples // max(batch_size, 1))
    hidden_and_out = sum(units[1:])
    per_sample = B * P <= budgets.answer_entries // 2
    answers = (3 * B * hidden_and_out + B + 1      # Z, H, yhat, dZ; loss per sample; loss
               + 3 * P + (B * P if per_sample else 0)  # gradients, new and final parameters
               + STATE_ARRAYS.get(optimizer, 5) * P    # the worked step's optimiser state
               + samples                               # epoch 1's batches (sample rows)
               + (P + 1 if B < min(batch_size, samples) else 0)  # the whole batch's gradient
               + epochs + samples * units[-1] + 2  # history, yhat_final, loss/accuracy final
               + extra[0] * B + extra[1])
    worked = 4 * B * hidden_and_out + 2 * B + B * P + 12 * P  # forward, backward, per
    worked += B * chained[0]
    if steps > 1:  # sample, state; the later steps: their batch, pass, state and update
        Bb = min(batch_size, samples)
        later = (3 * Bb * hidden_and_out + 2 * Bb + 1 + 2 * P + (Bb * P if per_sample else 0)
                 + STATE_ARRAYS.get(optimizer, 5) * P)
        answers += (steps - 1) * later + B * (3 * hidden_and_out + 1) + 3 * P  # + steps[0]
        worked += (steps - 1) * (4 * Bb * hidden_and_out + 2 * Bb + Bb * P + 12 * P)
    # a configured layer's multiply-adds (a conv's kernel x map x channels: forward, dW, dX)
    # of every worked step on every path: NumPy's ~1 ns each against ~1.8 us a rounded
    # number, counted at 1/100
    worked += 3 * B * unit_work * steps // MACS_PER_NUMBER
    return NetworkCost(parameters=P,  # sample, state
                       train_work=float(samples) * (unit_work or P) * epochs, unit_work=unit_work,
                       train_steps=epochs * batches, activations=samples * sum(units),
                       answers=answers, per_sample=per_sample, worked=worked,
                       depth=len(units) - 1, steps=steps, chain_names=chained[1])


def over_budget(c: NetworkCost, b: Budgets, samples: int, epochs: int,
                before: tuple[float, int] = (0.0, 0)) -> list[tuple[str, str, str]]:
    """(where: "network" or "epochs", message, hint) for each training budget exceeded;
    `before` is the training work and steps of the spec's earlier problems (the budgets
    bound the whole spec)."""
    out = []
    work0, steps0 = before
    earlier = " (with the earlier problems' {:.3g})"
    if c.activations > b.data_entries:
        out.append(("network", f"the network's values on {samples:,} samples take "
                    f"{c.activations:,} entries (samples x every layer's units)",
                    b.hint("data_entries")))
    if work0 + c.train_work > b.train_work:
        out.append(("epochs", f"training takes about {c.train_work:.3g} multiply-adds "
                    + (f"({samples:,} samples x {c.parameters:,} parameters x {epochs:,} epochs)"
                       if not c.unit_work else
                       f"({samples:,} samples x {c.unit_work:,} multiply-adds a sample: kernel "
                       f"x map x channels, steps x units, tokens^2 ... x {epochs:,} epochs)")
                    + (earlier.format(work0 + c.train_work) if work0 else ""),
                    b.hint("train_work")))
    if steps0 + c.train_steps > b.train_steps:
        out.append(("epochs", f"training takes {c.train_steps:,} optimiser steps (epochs x "
                    "batches)" + (earlier.format(steps0 + c.train_steps) if steps0 else ""),
                    b.hint("train_steps")))
    return out
