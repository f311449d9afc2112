"""Data sources: scikit-learn generators and bundled sets give exactly scikit-learn's arrays;
a CSV inside the spec's folder loads; `show:` limits what the key shows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets as ds

from nnreport.spec import load, loads

NET = """
title: t
layout: @LAYOUT@
problems:
  - id: p
    data: @DATA@
    network: {layers: [{units: 3, activation: relu}, {units: @OUT@, activation: @ACT@}]}
    loss: @LOSS@
"""


def spec(data, out, act="sigmoid", loss="bce", layout="rows"):
    return (NET.replace("@DATA@", data).replace("@OUT@", str(out)).replace("@ACT@", act)
            .replace("@LOSS@", loss).replace("@LAYOUT@", layout))


@pytest.mark.parametrize("data,ref,out", [
    ("{generate: moons, n_samples: 50, noise: 0.1, seed: 3}",
     lambda: ds.make_moons(n_samples=50, noise=0.1, random_state=3), 1),
    ("{generate: circles, n_samples: 40, noise: 0.05, factor: 0.5, seed: 1}",
     lambda: ds.make_circles(n_samples=40, noise=0.05, factor=0.5, random_state=1), 1),
    ("{generate: blobs, n_samples: 30, n_classes: 3, seed: 2}",
     lambda: ds.make_blobs(n_samples=30, n_features=2, centers=3, random_state=2), 3),
    ("{load: iris}", lambda: ds.load_iris(return_X_y=True), 3),
    ("{load: wine, n_samples: 150}", lambda: tuple(a[:150] for a in ds.load_wine(return_X_y=True)), 3),
    ("{load: breast_cancer}", lambda: ds.load_breast_cancer(return_X_y=True), 1),
])
def test_generated_and_bundled_data_match_scikit_learn(data, ref, out):
    X_ref, y_ref = ref()
    act, loss = ("softmax", "cce") if out > 1 else ("sigmoid", "bce")
    setup = loads(spec(data, out, act, loss)).problems[0]
    np.testing.assert_array_equal(setup.X, X_ref)
    if out == 1:
        np.testing.assert_array_equal(setup.Y[:, 0], y_ref)
    else:
        np.testing.assert_array_equal(setup.Y.argmax(axis=1), y_ref)
        assert np.all(setup.Y.sum(axis=1) == 1)


def test_random_data_is_one_seeded_stream():
    setup = loads(spec("{generate: random, n_samples: 5, n_features: 3, seed: 7}", 1)).problems[0]
    rs = np.random.RandomState(7)
    np.testing.assert_array_equal(setup.X, rs.rand(5, 3))
    np.testing.assert_array_equal(setup.Y, rs.randint(0, 2, size=(5, 1)))


def test_csv_inside_the_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pts.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,1\n")
    p = tmp_path / "s.yaml"
    p.write_text(spec("{csv: data/pts.csv, target: label}", 1))
    setup = load(p).problems[0]
    np.testing.assert_array_equal(setup.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(setup.Y, [[0], [1], [1]])


def test_csv_symlink_out_of_the_folder_is_refused(tmp_path):
    from nnreport.errors import SpecError

    outside = tmp_path / "outside.csv"
    outside.write_text("a,label\n1,0\n")
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "link.csv").symlink_to(outside)
    p = folder / "s.yaml"
    p.write_text(spec("{csv: link.csv, target: label}", 1))
    with pytest.raises(SpecError, match="leaves the spec's folder"):
        load(p)


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing"])
def test_csv_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, kind):
    """A named pipe would block the read for ever; a folder or a missing file is a plain error."""
    import os
    import subprocess
    import sys

    path = tmp_path / "pts.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    p = tmp_path / "s.yaml"
    p.write_text(spec("{csv: pts.csv, target: label}", 1))
    r = subprocess.run([sys.executable, "-m", "nnreport", "validate", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    want = "not found next to the spec" if kind == "missing" else "is not a regular file"
    assert "s.yaml:6:17: csv" in r.stderr and want in r.stderr, r.stderr


def test_show_limits_the_key(tmp_path):
    from nnreport.build import BuildOptions, build

    p = tmp_path / "s.yaml"
    p.write_text(spec("{X: [[1, 2], [3, 4]], Y: [[0], [1]]}", 1).replace(
        "    loss: bce", "    loss: bce\n    show: [given, forward]\n    figures: []"))
    build(p, BuildOptions(output=tmp_path / "o", pdf=False))
    tex = (tmp_path / "o" / "s" / "s-key.tex").read_text()
    assert "Forward pass" in tex and "Given" in tex
    assert "Backward pass" not in tex and "Update" not in tex and "subsection*{Loss}" not in tex
