"""`worked_steps: k` (issue 23): the first k optimiser steps worked in the key and held by the
JSON's `steps`. Expected numbers are derived by hand (or by NumPy written out here), never
read from nnreport.

f(w) = (w - 4)^2 as a 1-1 linear network (x = 1, target 4, MSE, no bias), g = 2 (w - 4),
w0 = 0, lr = 0.1, beta = 0.9, by hand:
heavy ball (v = 0.9 v - 0.1 g, w += v):
  t  g        v       w
  1  -8       0.8     0.8
  2  -6.4     1.36    2.16
  3  -3.68    1.592   3.752
  4  -0.496   1.4824  5.2344
average form (v = 0.9 v + 0.1 g, w -= 0.1 v):
  1  -8          -0.8        0.08
  2  -7.84       -1.504      0.2304
  3  -7.5392     -2.10752    0.441152
  4  -7.117696   -2.6085376  0.70200576
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import solve_json

from nnreport.errors import SpecError
from nnreport.spec import loads

F = """title: f
problems:
  - id: f
    digits: 6
    data: {{X: [[1]], Y: [[4]]}}
    network:
      layers: [{{units: 1, activation: linear, bias: false}}]
    params: {{W1: [[0]]}}
    loss: mse
    worked_steps: {k}
    train: {{optimizer: {opt}, lr: 0.1, epochs: {epochs}}}
"""
HEAVY = "{name: momentum, form: heavy_ball, beta: 0.9}"
AVERAGE = "{name: momentum, beta: 0.9}"



def render(text, kind="key"):
    from nnreport.document.tex import render as tex
    from nnreport.engine.solve import solve

    doc = loads(text)
    return tex(doc, solve(doc), kind)


def test_heavy_ball_steps_1_to_4_in_the_key():
    tex = render(F.format(k=4, opt=HEAVY, epochs=4))
    for g_line in [r"2\left( 0 - 4 \right) = -8", r"2\left( 0.8 - 4 \right) = -6.4",
                   r"2\left( 2.16 - 4 \right) = -3.68", r"2\left( 3.752 - 4 \right) = -0.496"]:
        assert g_line in tex
    for v_line in [r"0.9 \cdot 0 - 0.1 \cdot \left(-8\right) = 0.8",
                   r"0.9 \cdot 0.8 - 0.1 \cdot \left(-6.4\right) = 1.36",
                   r"0.9 \cdot 1.36 - 0.1 \cdot \left(-3.68\right) = 1.592",
                   r"0.9 \cdot 1.592 - 0.1 \cdot \left(-0.496\right) = 1.4824"]:
        assert v_line in tex
    for w_line in ["= 0 + 0.8 = 0.8", "= 0.8 + 1.36 = 2.16", "= 2.16 + 1.592 = 3.752",
                   "= 3.752 + 1.4824 = 5.2344"]:
        assert w_line in tex
    for t in (2, 3, 4):
        assert f"\\subsection*{{Step {t}: Update}}" in tex
        assert f"Step {t} (epoch {t}) works sample 1" in tex
    assert "Step 5" not in tex
    assert tex.index("Step 4: Update") < tex.index("subsection*{Training}")


def test_question_sheet_asks_the_first_step_only():
    tex = render(F.format(k=4, opt=HEAVY, epochs=4), "questions")
    assert "Step 2" not in tex and "1.36" not in tex


@pytest.mark.parametrize("opt,g,v,w", [
    (HEAVY, [-8, -6.4, -3.68, -0.496], [0.8, 1.36, 1.592, 1.4824], [0.8, 2.16, 3.752, 5.2344]),
    (AVERAGE, [-8, -7.84, -7.5392, -7.117696], [-0.8, -1.504, -2.10752, -2.6085376],
     [0.08, 0.2304, 0.441152, 0.70200576]),
])
def test_json_steps_hold_every_step(tmp_path, opt, g, v, w):
    vals, _ = solve_json(tmp_path, F.format(k=4, opt=opt, epochs=5))
    steps = vals["steps"]
    assert [st["t"] for st in steps] == [1, 2, 3, 4]
    assert [st["epoch"] for st in steps] == [1, 2, 3, 4]
    assert all(st["batch"] == [0] for st in steps)
    for st, gi, vi, wi in zip(steps, g, v, w, strict=True):
        assert st["dW1"][0][0] == pytest.approx(gi, rel=1e-12)
        assert st["W1_v"][0][0] == pytest.approx(vi, rel=1e-12)
        assert st["W1_new"][0][0] == pytest.approx(wi, rel=1e-12)
        assert st["Z1"][0][0] == pytest.approx(gi / 2 + 4, rel=1e-12)  # w before the step
    assert {k: x for k, x in steps[0].items() if k not in ("t", "epoch", "batch")} == \
        {k: vals[k] for k in steps[0] if k not in ("t", "epoch", "batch")}


def test_one_worked_step_has_no_steps_list(tmp_path):
    vals, _ = solve_json(tmp_path, F.format(k=1, opt=HEAVY, epochs=2))
    assert "steps" not in vals


MINI = """title: mb
problems:
  - id: mb
    data: {X: [[1, 2], [0, 1], [2, 0], [1, 1]], Y: [0, 1, 1, 0]}
    network:
      layers: [{units: 2, activation: sigmoid}, {units: 1, activation: sigmoid}]
    params: {W1: [[0.1, -0.2], [0.3, 0.4]], b1: [0, 0.1], W2: [[0.5], [-0.5]], b2: [0]}
    loss: bce
    worked_steps: 3
    train: {optimizer: {name: momentum, form: heavy_ball, beta: 0.5}, lr: 0.5, epochs: 2,
            batch_size: 2, state: {W2_v: [[0.1], [0]]}}
"""


def test_mini_batches_against_numpy_written_out(tmp_path):
    """Steps 1-3 over batches (samples 1-2, 3-4, then 1-2 of epoch 2): sigmoid layers,
    mean BCE (dZ2 = (yhat - y) / m folded into the means below), heavy ball from
    v(W2) = (0.1, 0)."""
    vals, _ = solve_json(tmp_path, MINI)
    X = np.array([[1, 2], [0, 1], [2, 0], [1, 1]], float)
    Y = np.array([[0], [1], [1], [0]], float)
    P = {"W1": np.array([[0.1, -0.2], [0.3, 0.4]]), "b1": np.array([[0, 0.1]]),
         "W2": np.array([[0.5], [-0.5]]), "b2": np.array([[0.0]])}
    V = {k: np.zeros_like(a) for k, a in P.items()}
    V["W2"] = np.array([[0.1], [0.0]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t, rows in enumerate([[0, 1], [2, 3], [0, 1]], start=1):
        st = vals["steps"][t - 1]
        assert st["batch"] == rows and st["epoch"] == (1 if t < 3 else 2)
        x, y = X[rows], Y[rows]
        h = sig(x @ P["W1"] + P["b1"])
        yh = sig(h @ P["W2"] + P["b2"])
        dz2 = yh - y
        dz1 = dz2 @ P["W2"].T * h * (1 - h)
        G = {"W2": h.T @ dz2 / 2, "b2": dz2.mean(0, keepdims=True),
             "W1": x.T @ dz1 / 2, "b1": dz1.mean(0, keepdims=True)}
        np.testing.assert_allclose(st["H1"], h, rtol=1e-12)
        np.testing.assert_allclose(st["yhat"], yh, rtol=1e-12)
        for k in P:
            np.testing.assert_allclose(st[f"d{k}"], G[k], rtol=1e-10)
            V[k] = 0.5 * V[k] - 0.5 * G[k]
            P[k] = P[k] + V[k]
            np.testing.assert_allclose(st[f"{k}_v"], V[k], rtol=1e-10, atol=1e-15)
            np.testing.assert_allclose(st[f"{k}_new"], P[k], rtol=1e-10)


def test_mini_batch_key_builds_and_checks(tmp_path):
    """The key, HTML and Moodle build; check marks a first-step answer file right."""
    spec = tmp_path / "mb.yaml"
    spec.write_text(MINI)
    for fmt in ("pdf", "html", "moodle"):
        r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                            str(tmp_path / "out"), "--format", fmt, "--no-pdf"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    tex = (tmp_path / "out" / "mb" / "mb-key.tex").read_text()
    assert "Step 3: Backward pass" in tex and "batch 2 of epoch 1" in tex
    vals, _ = solve_json(tmp_path, MINI)
    asked = {k: vals[k] for k in ("Z1", "H1", "yhat", "loss", "dW1", "W2_v", "W2_new")}
    ans = tmp_path / "a.yaml"
    ans.write_text(json.dumps({"mb": asked}))
    r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec), str(ans)],
                       capture_output=True, text=True)
    assert "right  mb.W2_new" in r.stdout and "steps" not in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("change,says", [
    (("epochs: 4", "epochs: 3"), "worked_steps: 4 but training takes 3 optimiser steps"),
    (("worked_steps: 4", "worked_steps: 4\n    worked_samples: 1"), "worked_samples"),
    (("worked_steps: 4", "worked_steps: 11"), "worked_steps"),
])
def test_invalid_worked_steps_are_located(change, says):
    text = F.format(k=4, opt=HEAVY, epochs=4).replace(*change)
    with pytest.raises(SpecError) as e:
        loads(text, "s.yaml")
    assert says in str(e.value) and "s.yaml:" in str(e.value)


ASK = F.format(k=4, opt=HEAVY, epochs=4).replace(
    "worked_steps: 4", 'worked_steps: 4\n    ask: [W1_new, "steps[2].W1_v", "steps[2].W1_new"]\n'
    '    points: {"steps[2].W1_new": 3}')


def test_later_values_can_be_asked(tmp_path):
    """steps[2] is step 3: v = 1.592, w = 3.752 by hand (above); asked, they are blanks on
    the sheet, in the JSON by name too, and check grades them."""
    vals, spec = solve_json(tmp_path, ASK)
    assert vals["steps[2].W1_v"] == vals["steps"][2]["W1_v"]
    assert vals["steps[2].W1_new"][0][0] == pytest.approx(3.752, rel=1e-12)
    sheet = render(ASK, "questions")
    assert "Step 3: Update" in sheet and "Step 4" not in sheet
    assert r"$v_{W_{1}}$ of step 3 and the updated $W_{1}$ of step 3" in sheet
    assert r"[3\,\text{pts}]" in sheet and "1.592" not in sheet and "2.16" not in sheet
    ans = tmp_path / "a.yaml"
    ans.write_text('f:\n  W1_new: 0.8\n  "steps[2].W1_v": 1.592\n  "steps[2].W1_new": 3.75\n')
    r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec), str(ans)],
                       capture_output=True, text=True)
    assert "right  f.steps[2].W1_v" in r.stdout and "WRONG  f.steps[2].W1_new" in r.stdout
    assert "2 of 3 right" in r.stdout and r.returncode == 1
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "h"), "--format", "html"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "h" / "s" / "s-questions.html").read_text()
    assert "Step 3: Update" in page and "1.592" not in page and "3.752" not in page
    assert "1.592" in (tmp_path / "h" / "s" / "s-key.html").read_text()


def test_asking_a_step_past_worked_steps_is_located():
    text = ASK.replace('"steps[2].W1_v"', '"steps[4].W1_v"')
    with pytest.raises(SpecError) as e:
        loads(text, "s.yaml")
    assert "'steps[4].W1_v' is not a value of problem 'f'" in str(e.value)


def test_summary_and_variant_answers_list_the_steps(tmp_path):
    """`solve` without --json and a batch's answers.csv write steps[i].<name> rows."""
    spec = tmp_path / "s.yaml"
    spec.write_text(F.format(k=4, opt=HEAVY, epochs=4))
    r = subprocess.run([sys.executable, "-m", "nnreport", "solve", str(spec)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "steps[3].W1_new = 5.2344" in r.stdout
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "v"), "--variants", "2", "--no-pdf"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = next((tmp_path / "v").rglob("answers.csv")).read_text()
    assert "v02,,f,steps[2].W1_v,[0][0],1.592" in rows


CHAIN = F.format(k=4, opt=HEAVY, epochs=4).replace("digits: 6", "digits: 2\n    rounding: chain")


def test_rounded_chain_runs_through_the_later_steps(tmp_path):
    """Two significant digits, every factor carried as printed (heavy ball, by hand):
      t  g (chain)           v (chain)                       w (chain)
      1  2(0 - 4) = -8       0.9*0 - 0.1*(-8) = 0.8          0 + 0.8 = 0.8
      2  2(0.8 - 4) = -6.4   0.9*0.8 + 0.64 = 1.36 -> 1.4    0.8 + 1.4 = 2.2
      3  2(2.2 - 4) = -3.6   0.9*1.4 + 0.36 = 1.62 -> 1.6    2.2 + 1.6 = 3.8
      4  2(3.8 - 4) = -0.4   0.9*1.6 + 0.04 = 1.48 -> 1.5    3.8 + 1.5 = 5.3
    while the full key ends at 5.2344 (5.2): step t starts from step t-1's rounded w and v."""
    vals, spec = solve_json(tmp_path, CHAIN)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o", str(out),
                        "--no-pdf", "--key"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    answers = json.loads((out / "s" / "answers.json").read_text())
    chain, tol = answers["chain"]["f"], answers["tolerance"]["f"]
    for i, (g, v, w) in enumerate([(-8, 0.8, 0.8), (-6.4, 1.4, 2.2), (-3.6, 1.6, 3.8),
                                   (-0.4, 1.5, 5.3)]):
        pre = f"steps[{i}]." if i else ""
        assert chain[pre + "dW1"][0][0] == pytest.approx(g, rel=1e-12)
        assert chain[pre + "W1_v"][0][0] == pytest.approx(v, rel=1e-12)
        assert chain[pre + "W1_new"][0][0] == pytest.approx(w, rel=1e-12)
        full = vals["steps"][i]["W1_new"][0][0]
        lo, hi = tol[pre + "W1_new"]["low"][0][0], tol[pre + "W1_new"]["high"][0][0]
        assert lo <= min(w, full) and max(w, full) <= hi  # both keys are accepted
    assert tol["steps[3].W1_new"]["high"][0][0] < 6  # and not anything at all
    tex = (out / "s" / "s-key.tex").read_text()
    step4 = tex[tex.index("Step 4: Update"):]
    assert r"= 3.8 + 1.5 = 5.2" in step4 and r"\text{rounded chain: } {5.3}" in step4
    assert r"\text{rounded chain: } {-0.4}" in tex[tex.index("Step 4: Backward"):]  # a sign,
    # not a binary minus's spacing


def test_a_student_on_the_rounded_chain_is_marked_right(tmp_path):
    """check, Moodle and Canvas accept the chain's 5.3 and the full key's 5.2 for step 4's w,
    and refuse 6.1."""
    text = CHAIN.replace("worked_steps: 4", 'worked_steps: 4\n    ask: [W1_new, "steps[3].W1_new"]')
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    for given, verdict in ((5.3, "right"), (5.2, "right"), (6.1, "WRONG")):
        ans = tmp_path / "a.yaml"
        ans.write_text(f'f:\n  W1_new: 0.8\n  "steps[3].W1_new": {given}\n')
        r = subprocess.run([sys.executable, "-m", "nnreport", "check", str(spec), str(ans)],
                           capture_output=True, text=True)
        assert f"{verdict}  f.steps[3].W1_new" in r.stdout, r.stdout + r.stderr
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o", str(out),
                        "--format", "moodle", "--no-pdf"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import re
    xml = (out / "s" / "moodle.xml").read_text()
    ranges = [(float(a) - float(b), float(a) + float(b))
              for a, b in re.findall(r"NUMERICAL:=([-0-9.e]+):([0-9.e]+)", xml)]
    assert any(lo <= 5.2 and 5.3 <= hi and hi < 6.1 for lo, hi in ranges), ranges


ADAM = F.format(k=2, opt="{name: adam}", epochs=2)


def test_adam_second_step_uses_its_own_bias_correction(tmp_path):
    """Adam (0.9, 0.999, 1e-8), lr 0.1, by hand: step 1 g = -8, m = -0.8, v = 0.064,
    mhat = -8, vhat = 64, w = 0 + 0.1*8/(8 + 1e-8) = 0.1 (to 1e-10); step 2
    g = 2(0.1 - 4) = -7.8, m = -0.72 - 0.78 = -1.5, v = 0.063936 + 0.06084 = 0.124776,
    mhat = -1.5/(1 - 0.81), vhat = 0.124776/(1 - 0.998001): the divisors of t = 2. On the
    rounded chain at six digits, the same numbers to six digits."""
    vals, _ = solve_json(tmp_path, ADAM)
    st = vals["steps"][1]
    assert st["W1_m"][0][0] == pytest.approx(-1.5, rel=1e-9)
    assert st["W1_v"][0][0] == pytest.approx(0.124776, rel=1e-9)
    assert st["W1_mhat"][0][0] == pytest.approx(-1.5 / 0.19, rel=1e-9)
    assert st["W1_vhat"][0][0] == pytest.approx(0.124776 / 0.001999, rel=1e-9)
    w2 = 0.1 + 0.1 * (1.5 / 0.19) / (np.sqrt(0.124776 / 0.001999) + 1e-8)
    assert st["W1_new"][0][0] == pytest.approx(w2, rel=1e-8)
    spec = tmp_path / "c.yaml"
    spec.write_text(ADAM.replace("digits: 6", "digits: 6\n    rounding: chain"))
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", str(spec), "-o",
                        str(tmp_path / "out"), "--no-pdf", "--key"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    chain = json.loads((tmp_path / "out" / "c" / "answers.json").read_text())["chain"]["f"]
    assert chain["steps[1].W1_vhat"][0][0] == pytest.approx(0.124776 / 0.001999, rel=2e-5)
    assert chain["steps[1].W1_new"][0][0] == pytest.approx(w2, rel=2e-5)
