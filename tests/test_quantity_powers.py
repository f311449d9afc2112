"""One power of ten per quantity (issue 22.4): a sample's dz^(i) prints the same entries in
its per-sample line as in dZ (exam2 printed 10^-3 [-0.04328 ...] in dZ1 and 10^-5 [-4.328 ...]
a line later), and every sample's dL_i/dW is printed with the one power the sum of them uses."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROBLEMS
from keycheck import problems_of

KEYS = ["exam2", "three_layer", "moons"]
MATRIX = re.compile(r"(?:10\^\{(-?\d+)\} )?\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", re.S)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("powers")
    r = subprocess.run([sys.executable, "-m", "nnreport", "build", "--no-pdf",
                        *[str(PROBLEMS / f"{n}.yaml") for n in KEYS], "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def parts(built: Path, name: str) -> list[str]:
    """Each problem's part of the key (powers are per problem)."""
    return list(problems_of((built / name / f"{name}-key.tex").read_text()).values())


def steps(tex: str) -> list[str]:
    return [s for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S)
            for s in re.split(r"\\\\\*?\[0\.8ex\]", body)]


def cells(body: str) -> list[list[str]]:
    return [[c.strip() for c in row.split("&")] for row in body.split(r"\\")]


@pytest.mark.parametrize("name", KEYS)
def test_a_sample_delta_reads_as_it_does_in_dz(built, name):
    checked = 0
    for tex in parts(built, name):
        checked += _deltas(tex, name)
    assert checked or name == "moons"


def _deltas(tex: str, name: str) -> int:
    dz: dict[str, list[list[str]]] = {}
    checked = 0
    for st in steps(tex):
        head = st.strip()
        m = re.match(r"dZ_\{(\d+)\} &=", head)
        if m:  # the last matrix of the step is dZ_l's value
            dz[m.group(1)] = cells(MATRIX.findall(st)[-1][1])
            continue
        m = re.search(r"dz\^\{\((\d+)\)\}_\{(\d+)\} = (.*?)(?:\\\\\*|$)", head, re.S)
        if not m or m.group(2) not in dz:
            continue
        i, l = int(m.group(1)), m.group(2)
        mats = MATRIX.findall(re.split(r"\s=\s|\\\\\*", m.group(3))[0])  # the substituted side
        if len(mats) < 2:
            continue  # a one-unit layer: dz is a number
        row = cells(mats[1][1])
        assert len(row) == 1 and row[0] == dz[l][i - 1], (name, i, l, row, dz[l][i - 1])
        checked += 1
    return checked


@pytest.mark.parametrize("name", KEYS)
def test_per_sample_gradients_share_the_power_of_their_sum(built, name):
    for tex in parts(built, name):
        _per_sample(tex, name)


def _per_sample(tex: str, name: str) -> None:
    for l in "123":
        lines = [st for st in steps(tex) if re.match(
            rf"\s*\\frac\{{\\partial L_\{{\d+\}}\}}\{{\\partial W_\{{{l}\}}\}}", st)]
        if not lines:
            continue
        powers = {MATRIX.findall(st)[-1][0] for st in lines}
        assert len(powers) == 1, (name, l, powers)
        total = [st for st in steps(tex) if st.strip().startswith(f"dW_{{{l}}} &=")]
        if total and r"\frac{1}" in total[0] and "+" in total[0]:
            terms = MATRIX.findall(total[0])[:-1]
            assert {p for p, _ in terms} == powers, (name, l, powers, terms)
