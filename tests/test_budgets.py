"""Every resource a spec can make nnreport spend is bounded before it is spent: each exceeded
budget is a located error (file:line:col) that names the budget and the flag raising it, and
the work it guards never starts. Sizes in these tests are computed by hand from the spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnreport.budgets import Budgets
from nnreport.errors import ComputeError, SpecError
from nnreport.spec import load, loads, yamlio
from nnreport.spec.yamlio import load_text

NET = """title: t
problems:
  - id: p
    data: {X: [[1, 2], [3, 4], [5, 6]], Y: [0, 1, 1]}
    network: {layers: [{units: 3}, {units: 1}]}
    loss: bce
"""


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, timeout=timeout)


def issue_of(err: pytest.ExceptionInfo[SpecError], budget: str) -> str:
    """The one message naming `budget`; it must carry a position and the flag."""
    hits = [str(i) for i in err.value.issues if f"--budget {budget}=" in str(i)]
    assert hits, str(err.value)
    assert all(i.line is not None for i in err.value.issues if f"--budget {budget}=" in str(i))
    return hits[0]


# --- Budgets itself and the CLI flag ------------------------------------------------------

def test_parse_changes_only_what_is_named():
    b = Budgets.parse(["train_work=1e11", "pages=900", "yaml_nodes=1_000"])
    assert (b.train_work, b.pages, b.yaml_nodes) == (1e11, 900, 1000)
    assert isinstance(b.pages, int) and b.spec_bytes == Budgets().spec_bytes


@pytest.mark.parametrize("item,fragment", [
    ("nope=1", "expected NAME=VALUE"), ("train_work", "expected NAME=VALUE"),
    ("train_work=lots", "not a number"), ("pages=-1", "finite number >= 0"),
    ("pages=inf", "finite number >= 0"), ("pages=nan", "finite number >= 0"),
])
def test_parse_refuses_bad_items(item, fragment):
    with pytest.raises(ValueError, match=fragment):
        Budgets.parse([item])


@pytest.mark.parametrize("command", ["validate", "solve", "build", "check"])
def test_every_command_takes_budget_and_refuses_bad_ones(tmp_path, command):
    spec = tmp_path / "s.yaml"
    spec.write_text(NET)
    answers = tmp_path / "a.yaml"
    answers.write_text("p: {loss: 1}\n")
    extra = [str(answers)] if command == "check" else []
    if command == "build":
        extra = ["--no-pdf", "-o", str(tmp_path / "out")]
    r = run(command, str(spec), *extra, "--budget", "nope=3")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--budget" in r.stderr and "expected NAME=VALUE" in r.stderr
    # a working flag: lowering spec_bytes under the file's size refuses it, naming the budget
    r = run(command, str(spec), *extra, "--budget", "pages=9", "--budget", "spec_bytes=100")
    assert r.returncode == 2, r.stderr
    assert f"{spec}: the spec is {len(NET.encode())} bytes" in r.stderr
    assert "--budget spec_bytes=N" in r.stderr


def test_a_spec_cannot_raise_its_own_budgets(write_spec):
    with pytest.raises(SpecError, match="unknown key 'budgets'"):
        load(write_spec("budgets: {train_steps: 1e9}\n" + NET))


# --- the spec file: bytes (stat) and values (libyaml), before ruamel builds anything --------

@pytest.fixture
def no_ruamel(monkeypatch):
    class Refuse:
        def __init__(self, *a, **k):
            raise AssertionError("ruamel was asked to build a document past its budget")

    monkeypatch.setattr(yamlio, "YAML", Refuse)


def test_spec_bytes_are_checked_by_stat_before_reading(tmp_path, no_ruamel, monkeypatch):
    p = tmp_path / "big.yaml"
    with p.open("wb") as fh:  # 5 MB that nobody reads: a sparse file
        fh.truncate(5_000_000)
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the spec was opened"))
    with pytest.raises(SpecError) as err:
        load(p)
    assert "5,000,000 bytes" in str(err.value) and "--budget spec_bytes=N" in str(err.value)


def test_a_5mb_list_is_refused_at_the_node_budget_without_building_it(tmp_path, no_ruamel):
    p = tmp_path / "list.yaml"
    items = ", ".join(["1"] * 1_700_000)  # 5.1 MB, 1.7 million values
    p.write_text("title: t\nproblems:\n  - id: p\n    given: {a: [" + items + "]}\n")
    with pytest.raises(SpecError) as err:
        load(p, budgets=Budgets(spec_bytes=10_000_000))
    msg = issue_of(err, "yaml_nodes")
    # values counted: mapping, title, t, problems, list, mapping, id, p, given, mapping, a,
    # list = 12, then list items: the 200,001st value overall is item 199,988 (0-based),
    # which starts 3 x 199,988 characters after the first, at column 17 of line 4
    assert f"{p}:4:{17 + 3 * 199_988}:" in msg and "more than 200,000 values" in msg


@pytest.mark.parametrize("text,count", [
    ("a: [1, 2, 3]\n", 6),                     # mapping, key, list, 3 items
    ("a: &x [1, 2]\nb: *x\n", 9),              # the alias stands for its 3 values
    ("a: &x [1, 2]\nb: [*x, *x]\n", 13),     # ... and a list holding it twice
    ("a: {b: c}\n", 5),
])
def test_values_are_counted_with_aliases_expanded(text, count):
    assert load_text(text, "f", Budgets(yaml_nodes=count)).nodes == count
    with pytest.raises(SpecError, match="more than"):
        load_text(text, "f", Budgets(yaml_nodes=count - 1))


def test_billion_laughs_is_refused_at_the_alias_that_crosses_the_budget(no_ruamel):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 7):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]")
    with pytest.raises(SpecError) as err:
        load_text("\n".join(lines), "bomb.yaml")
    # a..e hold 11 + 111 + 1,111 + 11,111 + 111,111 values; f's list then crosses 200,000
    assert str(err.value).startswith("bomb.yaml:6:")


def test_random_draws_count_as_values(write_spec):
    text = NET.replace("loss: bce", "loss: bce\n    params: {W1: {random: uniform, low: 0, "
                       "high: 1, shape: [300, 700]}}")
    with pytest.raises(SpecError) as err:
        load(write_spec(text))
    assert "shape [300, 700]" in issue_of(err, "yaml_nodes")


# --- training: work and steps from the resolved shapes ----------------------------------

def test_a_million_epochs_on_three_samples_is_refused_at_epochs(write_spec):
    path = write_spec(NET + "    train: {epochs: 1000000}\n")
    with pytest.raises(SpecError) as err:
        load(path)
    msg = issue_of(err, "train_steps")
    assert f"{path}:7:21:" in msg and "1,000,000 optimiser steps" in msg


def test_training_work_is_samples_x_parameters_x_epochs(write_spec):
    # moons 2000 x (2-64-1): 2*64 + 64 + 64 + 1 = 257 parameters; x 40,000 epochs = 2.056e10
    text = ("title: t\nproblems:\n  - id: p\n    data: {generate: moons, n_samples: 2000, seed: 0}\n"
            "    network: {layers: [{units: 64, activation: tanh}, {units: 1}]}\n    loss: bce\n"
            "    train: {epochs: 40000}\n")
    with pytest.raises(SpecError) as err:
        load(write_spec(text), budgets=Budgets(train_steps=10**6))
    assert "2.06e+10 multiply-adds (2,000 samples x 257 parameters x 40,000 epochs)" in \
        issue_of(err, "train_work")
    doc = load(write_spec(text), budgets=Budgets(train_steps=10**6, train_work=3e10))
    assert doc.problems[0].epochs == 40000  # accepted once the operator raises it


def test_activations_of_a_wide_network_count_against_data_entries(write_spec):
    text = ("title: t\nproblems:\n  - id: p\n    data: {generate: random, n_samples: 50000}\n"
            "    network: {layers: [{units: 100}, {units: 1}]}\n    loss: bce\n")
    with pytest.raises(SpecError) as err:
        load(write_spec(text))
    assert "5,150,000 entries" in issue_of(err, "data_entries")  # 50,000 x (2 + 100 + 1)


def test_answers_are_bounded_across_problems(write_spec):
    steps = "\n".join(f"      - b{i}: a * {i}" for i in range(11))  # 11 x 1e6 numbers
    text = ("title: t\nproblems:\n  - id: p\n    given: {a: {fill: 1, shape: [1000, 1000]}}\n"
            "    compute:\n" + steps + "\n")
    with pytest.raises(SpecError) as err:
        load(write_spec(text))
    assert "11,000,000 numbers" in issue_of(err, "answer_entries")


# --- compute: shapes, entries and multiply-adds at validation ----------------------------

def test_chained_matrix_products_are_refused_by_their_flops(write_spec):
    steps = "\n".join(f"      - m{i}: m{i - 1} @ a" if i else "      - m0: a @ a"
                      for i in range(100))
    path = write_spec("title: t\nproblems:\n  - id: p\n    given: {a: {fill: 1, shape: [1000, 1000]}}\n"
                      "    compute:\n" + steps + "\n")
    with pytest.raises(SpecError) as err:
        load(path)
    msg = issue_of(err, "compute_flops")  # 1e9 each: the second one crosses 1e9
    assert f"{path}:7:" in msg and "compute 'm1'" in msg and "2e+09 multiply-adds" in msg


def test_outer_of_20000_entries_is_refused_at_its_column(write_spec):
    path = write_spec("title: t\nproblems:\n  - id: p\n    given: {v: {fill: 1, shape: [20000]}}\n"
                      "    compute:\n      - x: 2 * outer(v, v)\n")
    with pytest.raises(SpecError) as err:
        load(path)
    msg = issue_of(err, "compute_entries")
    assert f"{path}:6:16:" in msg and "400,000,000 entries" in msg  # outer( is column 16


def test_intermediate_values_count_not_only_results(write_spec):
    path = write_spec("title: t\nproblems:\n  - id: p\n    given: {v: {fill: 1, shape: [2000]}}\n"
                      "    compute:\n      - x: sum(outer(v, v))\n")
    with pytest.raises(SpecError) as err:
        load(path)
    assert "4,000,000 entries" in issue_of(err, "compute_entries")


# --- data: entries before generating, bytes before reading, rows streamed ------------------

@pytest.fixture
def no_generation(monkeypatch):
    from nnreport.spec import data

    monkeypatch.setattr(data, "_make", lambda *a: pytest.fail("data was generated"))


@pytest.mark.parametrize("features,entries", [(400, "401,000,000"), (10_000, "10,001,000,000")])
def test_generated_data_is_sized_before_it_is_made(write_spec, no_generation, features, entries):
    line = f"    data: {{generate: random, n_samples: 1000000, n_features: {features}}}"
    path = write_spec("title: t\nproblems:\n  - id: p\n" + line +
                      "\n    network: {layers: [{units: 1}]}\n    loss: bce\n")
    with pytest.raises(SpecError) as err:
        load(path)
    msg = issue_of(err, "data_entries")
    col = line.index("1000000") + 1
    assert f"{path}:4:{col}:" in msg and f"1,000,000 samples x {features + 1:,} columns" in msg
    assert entries in msg


def test_a_large_csv_is_refused_by_its_size_before_it_is_read(tmp_path, monkeypatch):
    (tmp_path / "big.csv").open("wb").truncate(88_000_000)  # 88 MB, sparse
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: p\n    data: {csv: big.csv, n_samples: 10}\n"
                    "    network: {layers: [{units: 1}]}\n    loss: bce\n")
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: pytest.fail("csv opened")
                        if self.name == "big.csv" else real_open(self, *a, **k))
    with pytest.raises(SpecError) as err:
        load(spec)
    assert "88,000,000 bytes" in issue_of(err, "data_bytes")


def test_csv_reading_stops_at_n_samples(tmp_path):
    rows = [f"{i},{i % 2}" for i in range(10)] + ["not,numbers"] * 1000
    (tmp_path / "d.csv").write_text("x,y\n" + "\n".join(rows) + "\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: p\n    data: {csv: d.csv, target: y, n_samples: 10}\n"
                    "    network: {layers: [{units: 1}]}\n    loss: bce\n")
    s = load(spec).problems[0]
    assert s.X[:, 0].tolist() == list(range(10)) and s.Y[:, 0].tolist() == [0, 1] * 5
    spec.write_text(spec.read_text().replace(", n_samples: 10", ""))
    with pytest.raises(SpecError, match="line 12: not a number"):  # the whole file otherwise
        load(spec)


def test_csv_rows_are_counted_against_data_entries_while_streaming(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n" + "1,0\n" * 100)
    spec = tmp_path / "s.yaml"
    spec.write_text("title: t\nproblems:\n  - id: p\n    data: {csv: d.csv}\n"
                    "    network: {layers: [{units: 1}]}\n    loss: bce\n")
    with pytest.raises(SpecError) as err:
        load(spec, budgets=Budgets(data_entries=99))
    assert "50 samples x 2 columns" in issue_of(err, "data_entries")  # 50 x 2 = 100 > 99


# --- versions: max_tries x the cost of one ------------------------------------------------

def test_max_tries_times_the_work_of_a_version_is_bounded_before_any_draw(tmp_path, monkeypatch):
    import nnreport.course.versions as variants

    spec = tmp_path / "v.yaml"
    spec.write_text("title: t\nmax_tries: 10000\nproblems:\n  - id: p\n"
                    "    data: {generate: moons, n_samples: 200, seed: 0}\n"
                    "    network: {layers: [{units: 8, activation: tanh}, {units: 1}]}\n"
                    "    loss: bce\n    train: {epochs: 2000, lr: {random: choice, from: [1, 2]}}\n"
                    "    constraints: [{no_saturation: 0}]\n")
    monkeypatch.setattr(variants, "solve", lambda doc: pytest.fail("a version was solved"))
    with pytest.raises(SpecError) as err:
        variants.solve_version(spec, 0, variants.Version(0, "v1"))
    msg = issue_of(err, "variant_work")
    # a try: 200 x 33 x 2000 = 1.32e7 multiply-adds + 2000 steps x 30,000 + 500,000 = 7.37e7
    assert f"{spec}:2:12:" in msg and "10,000 draws of about 7.37e+07" in msg
    r = run("solve", str(spec), "--variant", "1")
    assert r.returncode == 2 and "--budget variant_work=N" in r.stderr


def test_without_random_values_one_try_is_all_a_version_needs(tmp_path):
    import nnreport.course.versions as variants

    spec = tmp_path / "v.yaml"
    spec.write_text("title: t\nmax_tries: 10000\n" + NET.split("\n", 1)[1]
                    + "    train: {epochs: 2000}\n")
    doc, _, tries = variants.solve_version(spec, 0, variants.Version(0, "v1"))
    assert tries == 1 and doc.spec.max_tries == 10000


# --- the engine: memory the estimates missed -----------------------------------------------

def test_memory_error_while_solving_names_the_budgets(monkeypatch):
    from nnreport.engine import solve as engine

    doc = loads(NET)

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(engine, "run", boom)
    with pytest.raises(ComputeError) as err:
        engine.solve(doc)
    assert "out of memory" in str(err.value) and "data_entries" in str(err.value)
    assert "--budget" in str(err.value)


def test_per_sample_gradients_follow_the_answer_budget():
    # 30 samples x 13 parameters (2*3 + 3 + 3 + 1) = 390 per-sample numbers; the other
    # answers: Z, H, yhat, dZ 3 x 30 x 4 + losses 30 + 1 + 3 x 13 + history 1 + yhat_final 30
    # + loss_final and accuracy 2 + the optimiser step of each parameter 13 + epoch 1's batch
    # rows 30 + the lines on the way: f'(Z1) and dL/dH1, 30 x 3 each = 686 (bce on a sigmoid
    # output needs no dL/dyhat), so a budget of 700 holds them but not the per-sample
    # gradients (390 > 350)
    text = NET.replace("{X: [[1, 2], [3, 4], [5, 6]], Y: [0, 1, 1]}",
                       "{generate: random, n_samples: 30, seed: 1}")
    assert loads(text).problems[0].per_sample
    with pytest.raises(SpecError, match="686 numbers"):
        loads(text, budgets=Budgets(answer_entries=685))
    s = loads(text, budgets=Budgets(answer_entries=700)).problems[0]
    assert not s.per_sample
    from nnreport.engine.solve import solve_network

    values = solve_network(s).values()
    assert "dW1_per_sample" not in values and np.asarray(values["dW1"]).shape == (2, 3)
    count = sum(np.asarray(v).size for v in values.values())
    assert count == 686


def test_memory_error_while_making_data_is_a_located_error(write_spec, monkeypatch):
    from nnreport.spec import data

    def boom(*a):
        raise MemoryError

    monkeypatch.setattr(data, "_make", boom)
    path = write_spec(NET.replace("{X: [[1, 2], [3, 4], [5, 6]], Y: [0, 1, 1]}",
                                  "{generate: moons, n_samples: 100}"))
    with pytest.raises(SpecError) as err:
        load(path)
    assert f"{path}:4:11: out of memory while making the data" in str(err.value)
    assert "--budget data_entries=N" in str(err.value)


def test_work_budgets_bound_the_whole_spec_not_each_problem(write_spec):
    # three problems of 80,000 steps each: each fits train_steps (200,000), together they do not
    one = NET.split("problems:\n", 1)[1].replace("id: p", "id: pID") + "    train: {epochs: 80000}\n"
    path = write_spec("title: t\nproblems:\n" + "".join(one.replace("ID", str(k)) for k in range(3)))
    with pytest.raises(SpecError) as err:
        load(path)
    msg = issue_of(err, "train_steps")
    assert "(with the earlier problems' 2.4e+05)" in msg
    assert f"{path}:{7 + 2 * 5}:21:" in msg  # the third problem's epochs: 5 lines a problem
    assert len([i for i in err.value.issues if "train_steps" in str(i)]) == 1
