"""Convolution, pooling, flatten, batch normalisation and dropout through `nnreport solve
--json` (issue 25), every value against an independent reference (tests/ndref.py: explicit
loops and central finite differences, nothing of nnreport's arithmetic), and each shape fault
of a spec as a located error (exit 2, file:line:col, no traceback)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ndref import check_all, solve_json, spec_text


def rnd(rs, *shape, scale=0.5):
    return np.round(rs.randn(*shape) * scale, 3)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_conv_pool_flatten_dense(tmp_path, optimizer):
    rs = np.random.RandomState(1)
    X = rnd(rs, 3, 1, 5, 5, scale=1.0)
    Y = rnd(rs, 3, 2)
    layers = [{"type": "conv", "filters": 2, "kernel": 2, "activation": "relu"},
              {"type": "pool", "kind": "max", "size": 2},
              {"type": "flatten"},
              {"units": 2, "activation": "linear"}]
    P = {"W1": rnd(rs, 2, 1, 2, 2), "b1": rnd(rs, 2), "W4": rnd(rs, 8, 2), "b4": rnd(rs, 1, 2)}
    v = check_all(tmp_path, layers, X, Y, P, optimizer=optimizer)
    assert np.array(v["Z1"]).shape == (3, 2, 4, 4)
    assert np.array(v["H2"]).shape == (3, 2, 2, 2)
    assert np.array(v["dW1_per_sample"]).shape == (3, 2, 1, 2, 2)
    np.testing.assert_allclose(np.array(v["dW1_per_sample"]).mean(axis=0), v["dW1"], 1e-12)
    assert "Z2" not in v and "dZ2" not in v and "Z3" not in v  # pool, flatten: H only
    if optimizer == "adam":
        assert {"W1_m", "W1_v", "W1_mhat", "W1_vhat", "b1_m"} <= set(v)


def test_conv_stride_padding_channels_avg_pool(tmp_path):
    rs = np.random.RandomState(2)
    X = rnd(rs, 2, 2, 5, 5, scale=1.0)
    Y = rnd(rs, 2, 1)
    layers = [{"type": "conv", "filters": 3, "kernel": 3, "stride": 2, "padding": 1,
               "activation": "tanh"},
              {"type": "pool", "kind": "avg", "size": 3, "stride": 3},
              {"type": "flatten"},
              {"units": 1, "activation": "sigmoid"}]
    P = {"W1": rnd(rs, 3, 2, 3, 3), "b1": rnd(rs, 3), "W4": rnd(rs, 3, 1), "b4": rnd(rs, 1, 1)}
    Yb = (Y > 0).astype(float)
    v = check_all(tmp_path, layers, X, Yb, P, loss="bce", l2=0.1, decayed=("W1", "W4"))
    assert np.array(v["Z1"]).shape == (2, 3, 3, 3)


def test_one_channel_images_and_two_conv_layers(tmp_path):
    rs = np.random.RandomState(3)
    X = rnd(rs, 2, 6, 6, scale=1.0)  # [samples, height, width]: one channel
    Y = rnd(rs, 2, 1)
    layers = [{"type": "conv", "filters": 2, "kernel": [3, 2], "activation": "relu"},
              {"type": "conv", "filters": 2, "kernel": 2, "activation": "linear"},
              {"type": "flatten"}, {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 2, 1, 3, 2), "b1": rnd(rs, 2), "W2": rnd(rs, 2, 2, 2, 2),
         "b2": rnd(rs, 2), "W4": rnd(rs, 2 * 3 * 4, 1), "b4": rnd(rs, 1, 1)}
    check_all(tmp_path, layers, X, Y, P)


def test_batchnorm_after_dense(tmp_path):
    rs = np.random.RandomState(4)
    X = rnd(rs, 4, 3, scale=1.0)
    Y = rnd(rs, 4, 1)
    layers = [{"units": 3, "activation": "linear"}, {"type": "batchnorm", "eps": 1e-5},
              {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 3, 3), "b1": rnd(rs, 1, 3), "gamma2": 1 + rnd(rs, 3),
         "beta2": rnd(rs, 3), "W3": rnd(rs, 3, 1), "b3": rnd(rs, 1, 1)}
    v = check_all(tmp_path, layers, X, Y, P)
    assert {"mu2", "var2", "xhat2", "H2", "dgamma2", "dbeta2"} <= set(v)
    # batch statistics couple the samples: the layers below have no per-sample gradients
    assert "dW1_per_sample" not in v and "dgamma2_per_sample" in v and "dW3_per_sample" in v


def test_dropout_with_mask(tmp_path):
    rs = np.random.RandomState(5)
    X = rnd(rs, 3, 4, scale=1.0)
    Y = rnd(rs, 3, 1)
    mask = [[1, 0, 1], [0, 1, 1], [1, 1, 0]]
    layers = [{"units": 3, "activation": "tanh"}, {"type": "dropout", "p": 0.25, "mask": mask},
              {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 4, 3), "b1": rnd(rs, 1, 3), "W3": rnd(rs, 3, 1), "b3": rnd(rs, 1, 1)}
    v = check_all(tmp_path, layers, X, Y, P, optimizer="adam")
    assert "Z2" not in v and np.array(v["dH2"]).shape == (3, 3)


def test_default_params_are_drawn_and_training_runs_every_optimizer(tmp_path):
    rs = np.random.RandomState(6)
    X = rnd(rs, 4, 1, 4, 4, scale=1.0)
    Y = (rnd(rs, 4, 1) > 0).astype(float)
    layers = [{"type": "conv", "filters": 2, "kernel": 3}, {"type": "flatten"},
              {"units": 3, "activation": "relu"}, {"type": "batchnorm"},
              {"units": 1, "activation": "sigmoid"}]
    for opt in ("sgd", "momentum", "rmsprop", "adam"):
        text = spec_text(layers, X, Y, {}, "bce", opt, 0.05).replace("epochs: 1", "epochs: 3")
        code, v, err = solve_json(tmp_path, text)
        assert code == 0, err
        assert v is not None and len(v["loss_history"]) == 3
        assert np.array(v["W1_final"]).shape == (2, 1, 3, 3)
        assert v["gamma4_final"] != [1.0, 1.0, 1.0]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_small_conv_specs_solve(tmp_path, data):
    c = data.draw(st.integers(1, 2))
    h = data.draw(st.integers(3, 6))
    k = data.draw(st.integers(1, h))
    s = data.draw(st.sampled_from([d for d in (1, 2, 3) if (h - k) % d == 0]))
    f = data.draw(st.integers(1, 3))
    o = (h - k) // s + 1
    layers = [{"type": "conv", "filters": f, "kernel": k, "stride": s,
               "activation": data.draw(st.sampled_from(["relu", "tanh", "sigmoid", "linear"]))}]
    if o >= 2 and data.draw(st.booleans()):
        layers.append({"type": "pool", "kind": data.draw(st.sampled_from(["max", "avg"])),
                       "size": 2, "stride": 1})
    layers += [{"type": "flatten"}, {"units": 1, "activation": "sigmoid"}]
    rs = np.random.RandomState(data.draw(st.integers(0, 999)))
    X = rnd(rs, 2, c, h, h, scale=1.0)
    text = spec_text(layers, X, [[1.0], [0.0]], {}, "bce",
                     data.draw(st.sampled_from(["sgd", "momentum", "rmsprop", "adam"])))
    code, v, err = solve_json(tmp_path, text)
    assert code == 0, err


BASE = [{"type": "conv", "filters": 2, "kernel": 2}, {"type": "flatten"},
        {"units": 1, "activation": "linear"}]


def located(tmp_path, layers, X, params=None, key_line=None, fragment=""):
    rs = np.random.RandomState(0)
    Y = rnd(rs, np.asarray(X).shape[0], 1)
    text = spec_text(layers, X, Y, params or {})
    code, v, err = solve_json(tmp_path, text)
    assert code == 2, err
    assert "Traceback" not in err
    assert fragment in err, err
    assert f"{tmp_path / 'spec.yaml'}:" in err and "hint:" in err, err
    lines = text.splitlines()
    line = int(err.split(":")[1])
    if key_line:
        assert key_line in lines[line - 1] or (  # or the block value under its key
            lines[line - 1].lstrip().startswith("-") and key_line in lines[line - 2]), (
            lines[line - 1], err)
    return err


def test_kernel_larger_than_the_padded_input(tmp_path):
    X = np.zeros((2, 1, 3, 3))
    located(tmp_path, [{"type": "conv", "filters": 1, "kernel": 4, "padding": 0},
                       *BASE[1:]], X, key_line="kernel", fragment="larger than the input")


def test_stride_that_does_not_fit(tmp_path):
    X = np.zeros((2, 1, 6, 6))
    located(tmp_path, [{"type": "conv", "filters": 1, "kernel": 3, "stride": 2}, *BASE[1:]],
            X, key_line="stride", fragment="does not fit")


def test_channels_mismatch_of_a_given_kernel(tmp_path):
    X = np.zeros((2, 3, 4, 4))
    err = located(tmp_path, BASE, X, params={"W1": np.zeros((2, 1, 2, 2))}, key_line="W1",
                  fragment="expected [2, 3, 2, 2]")
    assert "3 channels" in err


def test_dense_after_a_map_without_flatten(tmp_path):
    X = np.zeros((2, 1, 4, 4))
    located(tmp_path, [BASE[0], {"units": 1, "activation": "linear"}], X,
            fragment="put {type: flatten} before it")


@pytest.mark.parametrize("kind", ["rnn", "attention", "conv"])
def test_x_of_the_wrong_rank(tmp_path, kind):
    X = np.zeros((2, 4))
    layer = {"rnn": {"type": "rnn", "units": 2}, "attention": {"type": "attention"},
             "conv": {"type": "conv", "filters": 1, "kernel": 2}}[kind]
    located(tmp_path, [layer, {"type": "flatten"}, {"units": 1, "activation": "linear"}], X,
            key_line="type", fragment="but its input is [samples, 4]")


def test_dropout_mask_of_the_wrong_shape_or_values(tmp_path):
    X = np.zeros((2, 3))
    layers = [{"units": 2, "activation": "relu"}, {"type": "dropout", "p": 0.5, "mask": None},
              {"units": 1, "activation": "linear"}]
    layers[1]["mask"] = [[1, 0, 1], [0, 1, 1]]
    located(tmp_path, layers, X, key_line="mask", fragment="expected [2, 2]")
    layers[1]["mask"] = [[1, 2], [0, 1]]
    located(tmp_path, layers, X, key_line="mask", fragment="holds 2")


def test_a_key_another_type_takes(tmp_path):
    X = np.zeros((2, 1, 4, 4))
    located(tmp_path, [{"type": "pool", "size": 2, "filters": 3}, *BASE[1:]], X,
            key_line="filters", fragment="a pool layer has no key 'filters'")


def test_a_huge_conv_is_refused_by_a_budget(tmp_path):
    X = np.zeros((2, 1, 40, 40))
    text = spec_text([{"type": "conv", "filters": 5000, "kernel": 3}, {"type": "flatten"},
                      {"units": 1, "activation": "linear"}], X, [[0.0], [1.0]], {})
    code, v, err = solve_json(tmp_path, text)
    assert code == 2 and "--budget" in err and "Traceback" not in err, err
    assert "data_entries" in err or "train_work" in err, err


def test_build_writes_the_key(tmp_path):
    """Issue 25: the conv family's worked lines are registered: build writes the key
    (tests/test_cnn_key.py checks its numbers)."""
    from click.testing import CliRunner

    from nnreport.cli import cli

    rs = np.random.RandomState(0)
    path = tmp_path / "spec.yaml"
    path.write_text(spec_text(BASE, rnd(rs, 2, 1, 3, 3), [[0.0], [1.0]], {}))
    r = CliRunner().invoke(cli, ["build", str(path), "-o", str(tmp_path / "out"), "--no-pdf"])
    assert r.exit_code == 0, (r.output, r.exception)
    assert (tmp_path / "out" / "spec" / "spec-key.tex").exists()


def test_check_and_code_refuse_politely(tmp_path):
    from click.testing import CliRunner

    from nnreport.cli import cli

    rs = np.random.RandomState(0)
    path = tmp_path / "spec.yaml"
    path.write_text(spec_text(BASE, rnd(rs, 2, 1, 3, 3), [[0.0], [1.0]], {}))
    answers = tmp_path / "answers.yaml"
    answers.write_text("p: {db1: [0, 0]}\n")
    r = CliRunner().invoke(cli, ["check", str(path), str(answers)])
    assert "not written yet" not in r.stderr  # issue 25: check marks conv problems
    r = CliRunner().invoke(cli, ["code", str(path)])  # issues 25, 26: code writes conv
    assert r.exit_code == 0, r.output  # (its numbers: tests/test_code_layers.py)
    assert "def conv_forward(" in r.stdout and "does not write" not in r.stderr


def test_minibatches_shuffle_dropout_batchnorm_and_experiments(tmp_path):
    """Every batch of a shuffled run uses the mask's rows in order; the final pass over all
    samples (more than a batch) reuses them; experiment runs train the same layers."""
    rs = np.random.RandomState(12)
    X = rnd(rs, 6, 1, 4, 4, scale=1.0)
    Y = [[1.0], [0.0]] * 3
    layers = [{"type": "conv", "filters": 2, "kernel": 3}, {"type": "flatten"},
              {"units": 3, "activation": "relu"},
              {"type": "dropout", "p": 0.5, "mask": [[1, 0, 1], [0, 1, 1], [1, 1, 0], [1, 1, 1]]},
              {"type": "batchnorm"}, {"units": 1, "activation": "sigmoid"}]
    text = spec_text(layers, X, Y, {}, "bce", "rmsprop", extra={
        "experiments": {"Opt": [{"name": "SGD", "train": {"optimizer": "sgd", "batch_size": 4}},
                                {"name": "Adam", "train": {"optimizer": "adam",
                                                           "batch_size": 4}}]}})
    text = text.replace("epochs: 1", "epochs: 3\n    batch_size: 4\n    shuffle: {seed: 1}")
    code, v, err = solve_json(tmp_path, text)
    assert code == 0, err
    assert v is not None and len(v["batches"]) == 2 and len(v["loss_history"]) == 3
    assert set(v["experiments"]["Opt"]) == {"SGD", "Adam"}
    assert {"mu5", "var5", "xhat5", "H4", "H5", "dgamma5", "dbeta5"} <= set(v)


def test_exact_rationals_reach_through_conv_pool_flatten(tmp_path):
    """Decimals in, a linear output with MSE: every value of the pass is the float nearest
    its exact rational (the modules' exact variants), gradients included."""
    from nnreport.engine.solve import solve
    from nnreport.spec import loads

    rs = np.random.RandomState(13)
    layers = [{"type": "conv", "filters": 1, "kernel": 2, "activation": "relu"},
              {"type": "pool", "kind": "avg", "size": 2}, {"type": "flatten"},
              {"type": "dropout", "p": 0.2, "mask": [[1], [0]]},
              {"units": 1, "activation": "linear"}]
    P = {"W1": rnd(rs, 1, 1, 2, 2), "b1": [0.1], "W5": [[0.3]], "b5": [[0.2]]}
    text = spec_text(layers, rnd(rs, 2, 1, 3, 3, scale=1.0), [[0.1], [0.7]], P)
    sol = solve(loads(text))["p"]
    assert {"Z1", "H2", "H4", "Z5", "dZ5", "dH4", "dH1", "dZ1", "dW1", "db1", "dW5",
            "loss"} <= set(sol.step.exact), sorted(sol.step.exact)


def test_conv_work_counts_kernel_map_channels(tmp_path):
    """train_work counts a conv layer's kernel x output map x channels (4 x 16 x 9 = 576 a
    sample here; with the flatten's and the dense layer's 64 each, 704), not the network's
    105 parameters: refused at 1000 for 2 samples, before any work."""
    X = np.zeros((2, 1, 6, 6))
    text = spec_text([{"type": "conv", "filters": 4, "kernel": 3}, {"type": "flatten"},
                      {"units": 1, "activation": "linear"}], X, [[0.0], [1.0]], {})
    code, v, err = solve_json(tmp_path, text, "--budget", "train_work=1000")
    assert code == 2 and "train_work" in err and "704 multiply-adds a sample" in err, err
    code, v, err = solve_json(tmp_path, text, "--budget", "train_work=1500")
    assert code == 0, err


def test_digits_are_8x8_images_for_a_conv_layer(tmp_path):
    text = """title: t
problems:
  - id: p
    network:
      layers:
        - {type: conv, filters: 2, kernel: 3}
        - {type: pool, size: 3}
        - {type: flatten}
        - {units: 10, activation: softmax}
    data: {load: digits, n_samples: 40, normalize: minmax}
    split: {test: 0.25}
    loss: {name: cce}
    train: {lr: 0.5, epochs: 2, batch_size: 10, optimizer: adam}
"""
    code, v, err = solve_json(tmp_path, text)
    assert code == 0, err
    assert v is not None and np.array(v["Z1"]).shape == (10, 2, 6, 6)
    assert "accuracy_test" in v


def test_versions_constraints_read_a_conv_kernel(tmp_path):
    """nonzero_gradient's exemption of a dense weight's rows of an all-zero input does not
    index a conv kernel (it was an IndexError): every kernel entry must be nonzero."""
    rs = np.random.RandomState(4)
    text = spec_text(BASE, rnd(rs, 2, 1, 3, 3, scale=1.0), [[0.0], [1.0]], {},
                     extra={"constraints": ["nonzero_gradient"]})
    code, v, err = solve_json(tmp_path, text, "--variants", "1", "--variant", "1", "-o",
                              str(tmp_path / "out"))
    assert code in (0, 2) and "Traceback" not in err, err
