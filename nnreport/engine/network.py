"""Forward and backward propagation of a dense network, vectorised over samples.

Arrays are in the rows layout: X is (samples, features), W_l is (in, out), b_l is (1, out).
Per-sample gradients come from one einsum, never from a Python loop over samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .functions import ACTIVATIONS, LossSpec, output_delta, per_sample_loss

Array = np.ndarray


@dataclass(frozen=True)
class Net:
    activations: tuple[str, ...]
    alphas: tuple[float, ...]
    loss: LossSpec
    l2: float = 0.0

    @property
    def depth(self) -> int:
        return len(self.activations)


@dataclass
class Pass:
    """Everything one forward/backward pass over a batch produces."""

    Z: list[Array]
    H: list[Array]  # H[0] is X, H[L] is yhat
    loss_per_sample: Array
    loss: float
    dZ: list[Array] = field(default_factory=list)
    grads: dict[str, Array] = field(default_factory=dict)
    per_sample: dict[str, Array] = field(default_factory=dict)


def forward(net: Net, params: dict[str, Array], X: Array) -> tuple[list[Array], list[Array]]:
    Z: list[Array] = []
    H: list[Array] = [X]
    for l in range(1, net.depth + 1):
        z = H[-1] @ params[f"W{l}"] + params[f"b{l}"]
        act = ACTIVATIONS[net.activations[l - 1]]
        Z.append(z)
        H.append(act(z, net.alphas[l - 1]))
    return Z, H


def l2_penalty(net: Net, params: dict[str, Array], m: int) -> float:
    if not net.l2:
        return 0.0
    sq = sum(float((params[f"W{l}"] ** 2).sum()) for l in range(1, net.depth + 1))
    return net.l2 / (2 * m) * sq


def reduce(net: Net, values: Array) -> float:
    return float(values.sum() if net.loss.reduction == "sum" else values.mean())


def loss_of(net: Net, params: dict[str, Array], X: Array, Y: Array) -> float:
    """Batch loss: reduced per-sample losses plus the L2 term."""
    Z, H = forward(net, params, X)
    ls = per_sample_loss(net.loss, Z[-1], H[-1], Y)
    return reduce(net, ls) + l2_penalty(net, params, X.shape[0])


def run(net: Net, params: dict[str, Array], X: Array, Y: Array, per_sample: bool = False) -> Pass:
    """Forward pass, loss, and gradients of the batch loss (and of each sample's loss)."""
    m = X.shape[0]
    L = net.depth
    Z, H = forward(net, params, X)
    ls = per_sample_loss(net.loss, Z[-1], H[-1], Y)
    p = Pass(Z=Z, H=H, loss_per_sample=ls, loss=reduce(net, ls) + l2_penalty(net, params, m))
    dZ: list[Array] = [np.empty(0)] * L
    dZ[L - 1] = output_delta(
        net.loss, ACTIVATIONS[net.activations[-1]], Z[-1], H[-1], Y, net.alphas[-1]
    )
    for l in range(L - 1, 0, -1):  # hidden layers, from the top down
        g = dZ[l] @ params[f"W{l + 1}"].T
        act = ACTIVATIONS[net.activations[l - 1]]
        dZ[l - 1] = act.backward(Z[l - 1], H[l], g, net.alphas[l - 1])
    p.dZ = dZ
    scale = 1.0 if net.loss.reduction == "sum" else 1.0 / m
    for l in range(1, L + 1):
        W = params[f"W{l}"]
        dW = scale * (H[l - 1].T @ dZ[l - 1])
        if net.l2:
            dW = dW + (net.l2 / m) * W
        p.grads[f"W{l}"] = dW
        p.grads[f"b{l}"] = scale * dZ[l - 1].sum(axis=0, keepdims=True)
        if per_sample:
            p.per_sample[f"W{l}"] = np.einsum("mi,mo->mio", H[l - 1], dZ[l - 1])
            p.per_sample[f"b{l}"] = dZ[l - 1][:, None, :]
    return p
