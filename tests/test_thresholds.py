"""`bias: threshold` (issue 23): a layer's bias written as a threshold theta, the weight of a
constant input -1 (z = sum w x - theta), as classic texts write it. The worked example is
Negnevitsky's XOR network (Artificial Intelligence, ch. 6): a 2-2-1 sigmoid network, inputs
(1, 1), target 0, learning rate 0.1, E = e^2 / 2 (checked as published, to 4 decimals). Every expected number below is worked out
here by hand in plain Python, independently of nnreport; the key's printed numbers are read
back from the .tex (tests/keycheck.py) and checked against the JSON and these."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from keycheck import check_key, problems_of
from ruamel.yaml import YAML

SPEC = """title: Thresholds
problems:
  - id: xor
    title: The XOR network, first step
    data:
      X: [[1, 1]]
      Y: [[0]]
    network:
      layers:
        - {units: 2, activation: sigmoid, bias: threshold}
        - {units: 1, activation: sigmoid, bias: threshold}
    params:
      W1: [[0.5, 0.9], [0.4, 1.0]]
      W2: [[-1.2], [1.1]]
      theta1: [0.8, -0.1]
      theta2: [0.3]
    loss: {name: sse, factor: 0.5}
    train: {optimizer: sgd, lr: 0.1, epochs: 1}
"""


def by_hand() -> dict[str, float]:
    """Neurons 3 and 4 hidden, 5 the output; w13 from input 1 to neuron 3, and so on."""
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    x1, x2, yd, a = 1.0, 1.0, 0.0, 0.1
    w13, w14, w23, w24, w35, w45 = 0.5, 0.9, 0.4, 1.0, -1.2, 1.1
    t3, t4, t5 = 0.8, -0.1, 0.3
    net3 = x1 * w13 + x2 * w23 - t3
    net4 = x1 * w14 + x2 * w24 - t4
    y3, y4 = sig(net3), sig(net4)
    net5 = y3 * w35 + y4 * w45 - t5
    y5 = sig(net5)
    e = yd - y5
    d5 = y5 * (1 - y5) * e              # the error gradient, -dE/dnet5
    d3 = y3 * (1 - y3) * d5 * w35
    d4 = y4 * (1 - y4) * d5 * w45
    return {"net3": net3, "net4": net4, "y3": y3, "y4": y4, "net5": net5, "y5": y5,
            "E": e * e / 2, "d5": d5, "d3": d3, "d4": d4,
            "w13": w13 + a * x1 * d3, "w14": w14 + a * x1 * d4, "w23": w23 + a * x2 * d3,
            "w24": w24 + a * x2 * d4, "w35": w35 + a * y3 * d5, "w45": w45 + a * y4 * d5,
            "t3": t3 + a * -1 * d3, "t4": t4 + a * -1 * d4, "t5": t5 + a * -1 * d5}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("thr")
    spec = out / "thr.yaml"
    spec.write_text(SPEC)
    r = run("build", str(spec), "--no-pdf", "-o", str(out / "b"))
    assert r.returncode == 0, r.stderr
    folder = out / "b" / "thr"
    return spec, folder


def test_the_numbers_are_the_hand_calculation(built):
    spec, folder = built
    v = json.loads((folder / "answers.json").read_text())["problems"]["xor"]
    h = by_hand()
    ap = lambda x: pytest.approx(x, rel=1e-12, abs=1e-15)  # noqa: E731
    assert v["Z1"] == [[ap(h["net3"]), ap(h["net4"])]]
    assert v["H1"] == [[ap(h["y3"]), ap(h["y4"])]]
    assert v["Z2"] == [[ap(h["net5"])]] and v["yhat"] == [[ap(h["y5"])]]
    assert v["loss"] == ap(h["E"])
    assert v["dZ2"] == [[ap(-h["d5"])]]                      # dZ = dL/dZ = -delta
    assert v["dZ1"] == [[ap(-h["d3"]), ap(-h["d4"])]]
    assert v["dtheta2"] == [[ap(h["d5"])]]                   # dtheta = -db = -dZ
    assert v["dtheta1"] == [[ap(h["d3"]), ap(h["d4"])]]
    assert "db1" not in v and "b1_new" not in v
    assert v["W1_new"] == [[ap(h["w13"]), ap(h["w14"])], [ap(h["w23"]), ap(h["w24"])]]
    assert v["W2_new"] == [[ap(h["w35"])], [ap(h["w45"])]]
    assert v["theta1_new"] == [[ap(h["t3"]), ap(h["t4"])]]
    assert v["theta2_new"] == [[ap(h["t5"])]]
    assert v["theta2_step"] == [[ap(0.1 * h["d5"])]]  # Delta = eta dtheta, subtracted
    assert v["theta1_final"] == [[ap(h["t3"]), ap(h["t4"])]]  # one epoch of one step
    # the published rounding (4 d.p.): theta3 = 0.7962, theta4 = -0.0985, theta5 = 0.3127
    assert [round(x, 4) for x in (h["t3"], h["t4"], h["t5"])] == [0.7962, -0.0985, 0.3127]


def test_the_key_prints_theta_and_its_numbers(built):
    spec, folder = built
    tex = (folder / "thr-key.tex").read_text()
    answers = json.loads((folder / "answers.json").read_text())
    assert check_key(tex, YAML(typ="safe").load(SPEC), answers) > 20
    part = problems_of(tex)["xor"]
    assert r"Z_{1} &= X W_{1} - \theta_{1} = " in part
    assert r"Z_{2} &= H_{1} W_{2} - \theta_{2} = " in part
    assert r"\theta_{2}^{\text{new}} &= \theta_{2} - \eta\, d\theta_{2} = 0.3 - 0.1 \cdot " \
           r"\left(-0.1274\right) = 0.3127" in part
    assert r"d\theta_{2} &= - dz^{(1)}_{2} =" in part  # a batch of one: no 1/1, no sum
    assert "b_{" not in part  # no bias anywhere
    q = (folder / "thr-questions.tex").read_text()
    assert r"\theta_{1}" in q and "b_{1}" not in q


def test_check_and_code_take_the_thresholds(built, tmp_path):
    _, folder = built
    v = json.loads((folder / "answers.json").read_text())["problems"]["xor"]
    spec = tmp_path / "dec.yaml"  # the published answers, to 4 decimals
    spec.write_text(SPEC.replace("    title: The XOR", "    digits: {decimals: 4}\n    title: The XOR"))
    sub = tmp_path / "s.yaml"
    h = by_hand()
    sub.write_text(json.dumps({"xor": {"dtheta2": [[round(h["d5"], 4)]],
                                       "theta1_new": [[round(h["t3"], 4), round(h["t4"], 4)]],
                                       "theta2_new": [[0.5]]}}))
    r = run("check", str(spec), str(sub), "--json")
    out = json.loads(r.stdout)
    status = {x["value"]: x["status"] for x in out["values"]}
    assert status["dtheta2"] == "right" and status["theta1_new"] == "right"
    assert status["theta2_new"] == "WRONG"
    code = run("code", str(spec))
    assert code.returncode == 0, code.stderr
    assert "- params['theta1']" in code.stdout
    ran = subprocess.run([sys.executable, "-c", code.stdout], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    final = float(next(x for x in ran.stdout.splitlines() if x.startswith("final")).split()[-1])
    assert final == pytest.approx(v["loss_final"], abs=1e-12)


def test_html_and_lms_name_theta(built, tmp_path):
    spec, _ = built
    r = run("build", str(spec), "--no-pdf", "--format", "html", "--format", "moodle",
            "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    html = "".join(p.read_text() for p in (tmp_path / "o").rglob("*.html"))
    assert r"\theta_{1}" in html
    xml = "".join(p.read_text() for p in (tmp_path / "o").rglob("*.xml"))
    assert "theta" in xml


@pytest.mark.parametrize("text,where,what", [
    ("bias: thresh", "bias", "threshold (a threshold theta"),
    ("bias: threshold", "b1", "layer 1 has a threshold"),
])
def test_bad_thresholds_are_located_errors(tmp_path, text, where, what):
    bad = SPEC.replace("{units: 2, activation: sigmoid, bias: threshold}",
                       "{units: 2, activation: sigmoid, " + text + "}")
    bad = bad.replace("theta1: [0.8, -0.1]", "b1: [0.8, -0.1]") if where == "b1" else bad
    spec = tmp_path / "bad.yaml"
    spec.write_text(bad)
    r = run("validate", str(spec))
    assert r.returncode != 0
    assert f"{spec.name}:" in r.stderr and what in r.stderr, r.stderr


def test_canvas_grades_the_published_thresholds(tmp_path):
    """Canvas (its numeric rules, tests/lmsrules.py) accepts the published 4-decimal answers
    (theta5 = 0.3127, Negnevitsky) for the thresholds and refuses a wrong one; with
    `symbols: {theta: t}` the key's update sentence writes the course's letter."""
    import zipfile

    from lmsrules import canvas_answers, canvas_grades, quiz_page
    from lxml import etree
    from test_lms import _items

    spec = tmp_path / "thr.yaml"
    spec.write_text(SPEC.replace("    title: The XOR", "    digits: {decimals: 4}\n    symbols: "
                                 "{theta: t, dtheta: Dt}\n    ask: [dtheta2, theta1_new, "
                                 "theta2_new]\n    title: The XOR"))
    r = run("build", str(spec), "--no-pdf", "--format", "canvas", "--format", "pdf", "-o",
            str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(tmp_path / "o" / "thr" / "canvas-qti.zip") as z:
        qti = etree.fromstring(z.read("nnreport_assessment/nnreport_assessment.xml"))
    h = by_hand()
    published = {("theta1_new", (0, 0)): 0.7962, ("theta1_new", (0, 1)): -0.0985,
                 ("theta2_new", ()): 0.3127, ("dtheta2", ()): round(h["d5"], 4)}
    seen = set()
    for _, pid, name, idx, k, item in _items(qti):
        assert pid == "xor" and k == 0
        want = published[(name, idx if name != "theta1_new" else (0, idx[-1]))]
        assert canvas_grades(canvas_answers(item), quiz_page(want)), (name, idx)
        assert not canvas_grades(canvas_answers(item), quiz_page(want + 0.0003)), (name, idx)
        seen.add(name)
    assert seen == {"dtheta2", "theta1_new", "theta2_new"}
    tex = (tmp_path / "o" / "thr" / "thr-key.tex").read_text()
    assert r"$t - \eta\, \mathrm{Dt} = t + \eta\," in tex and "$Z = X W - t$ and $t = -b$" in tex
    assert tex.count(r"\theta") == 2 and r"$t$ for $\theta$, $\mathrm{Dt}$ for $d\theta$" in tex
