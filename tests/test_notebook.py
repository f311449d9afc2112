"""Jupyter: the shipped example notebook runs in a real kernel (nbclient + ipykernel) and its
outputs carry the right values: the key's worked steps as HTML with exam 2's numbers, a
student's own NumPy values checked right, and dW1 equal to a hand-written backward pass."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def sig(z):
    return 1 / (1 + np.exp(-z))


def four(x: float) -> str:
    """x at 4 significant digits, written by hand (independent of nnreport's formatter)."""
    return f"{float(f'{x:.4g}'):.{max(0, 3 - int(np.floor(np.log10(abs(x)))))}f}"


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(ROOT / "examples" / "notebook.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    return nb


def outputs(cell, mime):
    return "".join(o.get("data", {}).get(mime, "") for o in cell.outputs
                   if o.output_type in ("execute_result", "display_data"))


def test_a_loaded_spec_shows_its_worked_steps(executed):
    page = outputs(executed.cells[1], "text/html")
    assert page.count('class="katex"') > 100 and "katex-error" not in page
    tex = " ".join(htmllib.unescape(a) for a in
                   re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', page, re.S))
    # exam 2, problem 2 by hand: weights 1, biases 0
    X = np.array([[1, 2, 3, 0], [2, 4, 1, 0], [4, 3, 2, 0]], float)
    Y = np.array([0, 1, 1.0])
    H1 = sig(X.sum(1))                       # each hidden unit sees the row sum
    yhat = sig(3 * H1)
    L = -(Y * np.log(yhat) + (1 - Y) * np.log(1 - yhat))
    for v in (*H1, *yhat, *L, L.mean()):
        assert four(v) in tex, four(v)


def test_a_student_checks_own_numpy_values(executed):
    shown = outputs(executed.cells[3], "text/html")
    assert shown.count("<td>right</td>") == 4 and "WRONG" not in shown


def test_values_come_back_as_arrays_equal_to_a_hand_backward_pass(executed):
    text = outputs(executed.cells[4], "text/plain")
    got = np.array(eval(text.replace("array", ""), {}))  # noqa: S307 (our own notebook's repr)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    Y = np.array([[1.0], [1.0], [0.0]])
    W1 = np.array([[0.5, -0.5], [0.25, 0.75]])
    W2 = np.array([[1.0], [-1.0]])
    H1 = sig(X @ W1)
    yhat = sig(H1 @ W2)
    dZ2 = (yhat - Y) / 3                      # sigmoid + BCE, mean over 3 samples
    dZ1 = (dZ2 @ W2.T) * H1 * (1 - H1)
    assert np.allclose(got, X.T @ dZ1, rtol=1e-6, atol=1e-9)
