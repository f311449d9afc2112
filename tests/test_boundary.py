"""The output boundary as an attacker (or an unlucky user) meets it: spec file names that
would escape the output folder or become options, clashing names, unwritable or full output
folders, racing builds, odd command-line values, and signals that must stop every process.
Each case: a clear message, a documented exit code, no traceback, the previous output intact."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import PROBLEMS, interactive

from nnreport.outdir import output_name, swap_folder

SMALL = """title: T
problems:
  - id: e
    given: {a: 2}
    compute: [{b: a * 3}]
"""



def run(*args, timeout=300, cwd=None, env=None, preexec_fn=None):
    return subprocess.run([sys.executable, "-m", "nnreport", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env, preexec_fn=preexec_fn)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- spec file names -------------------------------------------------------------------

@pytest.mark.parametrize("filename,reason", [
    ("-pdflatex=cd ..;touch PWNED;false #.yaml", "starts with '-'"),
    ("--help.yaml", "starts with '-'"),
    ("...yaml", "'..'"),
    ("..yaml", "'.'"),
    (".yaml", "starts with '.'"),
    (".hidden.yaml", "starts with '.'"),
    ("tab\there.yaml", "control"),
    ("x" * 120 + ".yaml", "longer than"),
])
def test_unsafe_spec_names_are_refused_before_anything_runs(tmp_path, filename, reason):
    folder = tmp_path / "problems"
    folder.mkdir()
    spec = folder / filename
    spec.write_text(SMALL)
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    r = run("build", str(spec), "-o", str(out), cwd=tmp_path / "work")
    assert r.returncode == 2, r.stderr
    assert reason in r.stderr and "rename the spec file" in r.stderr
    assert "Traceback" not in r.stderr
    # nothing written anywhere: not in -o, not beside it, not in the folder above
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["out"]
    assert not list(tmp_path.rglob("PWNED"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["problems", "work"]


def test_the_readmes_glob_over_a_hostile_folder_builds_the_good_specs_only(tmp_path):
    """`nnreport build problems/*.yaml` with a booby-trapped name among good ones: the whole
    command is refused up front, so nothing half-runs."""
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "good.yaml").write_text(SMALL)
    (folder / "-pdflatex=touch PWNED #.yaml").write_text(SMALL)
    specs = sorted(str(p) for p in folder.glob("*.yaml"))
    r = run("build", *specs, "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2 and "starts with '-'" in r.stderr
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    assert not list(tmp_path.rglob("PWNED"))


def test_two_specs_with_one_name_are_an_error_not_an_overwrite(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "exam.yaml").write_text(SMALL.replace("a * 3", f"a * {ord(d)}"))
    r = run("build", str(tmp_path / "a" / "exam.yaml"), str(tmp_path / "b" / "exam.yaml"),
            "--no-pdf", "-o", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "would both write output/exam/" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "exam").exists()


def test_ordinary_names_with_spaces_and_unicode_are_fine(tmp_path):
    assert output_name(Path("Übung 3 (final).yaml")) == "Übung 3 (final)"
    assert output_name(Path("exam.v2.yaml")) == "exam.v2"
    spec = tmp_path / "Übung 3 (final).yaml"
    spec.write_text(SMALL)
    r = run("build", str(spec), "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "Übung 3 (final)" / "Übung 3 (final)-key.pdf").is_file()


def test_variants_of_a_dotdot_stem_delete_nothing(tmp_path):
    """`...yaml` once made --variants replace <parent>/variants/."""
    victim = tmp_path / "variants"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    spec = tmp_path / "...yaml"
    shutil.copy(PROBLEMS / "exam2_variants.yaml", spec)
    r = run("build", str(spec), "--variants", "1", "--no-pdf", "-o", str(out))
    assert r.returncode == 2 and "'..'" in r.stderr
    assert (victim / "precious.txt").read_text() == "keep me"


# --- command-line values -------------------------------------------------------------

@pytest.mark.parametrize("value", ["²", "٣", "v0", "0", "-3", "1e3", "", "v", "123456"])
def test_check_variant_must_be_a_plain_version_number(tmp_path, value):
    ans = tmp_path / "a.yaml"
    ans.write_text("p1: {XW1: [1, 2, 3]}\n")
    r = run("check", str(PROBLEMS / "exam2_variants.yaml"), str(ans), "--variant", value,
            "--variants", "10000")
    assert r.returncode == 2, (value, r.stderr)
    assert "version number" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("value", ["0", "-5", "nan", "abc"])
def test_timeout_must_be_positive(tmp_path, value):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL)
    r = run("build", str(spec), "--timeout", value, "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "--timeout" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_300_character_roster_id_is_a_located_error(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\nAda,a1\nBob," + "b" * 300 + "\n", encoding="utf-8")
    r = run("build", str(PROBLEMS / "exam2_variants.yaml"), "--roster", str(roster),
            "--no-pdf", "-o", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert f"{roster}:3:" in r.stderr and "longer than" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_roster_that_is_not_csv_is_a_clear_error(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_bytes(b"name,id\n\"" + b"x" * 200_000 + b"\",1\n")  # one field past csv's limit
    r = run("build", str(PROBLEMS / "exam2_variants.yaml"), "--roster", str(roster),
            "--no-pdf", "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "roster" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("kind", ["fifo", "huge"])
@pytest.mark.parametrize("command", ["roster", "submissions"])
def test_a_roster_or_submissions_file_that_is_a_pipe_or_huge_is_refused_unread(tmp_path, kind,
                                                                                 command):
    """A named pipe would block the read for ever (nobody writes to it): refused by its file
    type before it is opened, like a sparse file past the size limit (nothing is read)."""
    path = tmp_path / "class.csv"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        with path.open("wb") as fh:
            fh.truncate(30_000_000)  # past the roster's 5 MB and data_bytes' 20 MB
    if command == "roster":
        args = ("build", str(PROBLEMS / "exam2_variants.yaml"), "--roster", str(path),
                "--no-pdf", "-o", str(tmp_path / "out"))
    else:
        args = ("check", str(PROBLEMS / "exam2_variants.yaml"), str(path))
    r = run(*args, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.startswith(f"{path}: ")
    assert ("not a regular file" if kind == "fifo" else "30,000,000 bytes") in r.stderr
    assert not (tmp_path / "out").exists()


# --- output folders that cannot be written ---------------------------------------------

@pytest.mark.parametrize("where", ["under_a_file", "proc", "readonly"])
def test_unwritable_output_folder_is_a_clean_error(tmp_path, where):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL)
    mounted = False
    if where == "under_a_file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "out"
    elif where == "proc":
        out = Path("/proc/nnreport-out")
    else:  # root ignores permission bits: a read-only file system instead, when it can mount
        out = tmp_path / "ro"
        mounted = _mount_tmpfs(out, 64, "ro")
        if not mounted:
            out.chmod(0o500)
    try:
        r = run("build", str(spec), "--no-pdf", "-o", str(out / "sub"), cwd="/")
    finally:
        if mounted:
            subprocess.run(["umount", str(out)], check=False)
    assert r.returncode == 6, r.stderr
    assert "cannot write" in r.stderr and "hint:" in r.stderr and "Traceback" not in r.stderr


def _mount_tmpfs(path: Path, size_kb: int, mode: str = "rw") -> bool:
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"{mode},size={size_kb}k", "tmpfs",
                        str(path)], capture_output=True)
    return r.returncode == 0


def test_a_full_disk_keeps_the_previous_output(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL)
    disk = tmp_path / "disk"
    mounted = _mount_tmpfs(disk, 2048)
    try:
        out = disk / "out"
        r = run("build", str(spec), "-o", str(out))
        assert r.returncode == 0, r.stderr
        before = tree(out)
        spec.write_text(SMALL.replace("T\n", "T\ninstructions: " + "word " * 4000 + "\n"))
        if mounted:  # fill the disk, leaving a few kB
            free = shutil.disk_usage(disk).free
            (disk / "filler").write_bytes(b"\0" * max(free - 8_000, 0))
            pre = None
        else:  # no tmpfs here: a file-size limit gives the same error path (EFBIG)
            def pre():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (8_000, 8_000))
        r = run("build", str(spec), "-o", str(out), preexec_fn=pre)
        assert r.returncode == 6, r.stderr
        assert "disk is full" in r.stderr and "Traceback" not in r.stderr
        assert tree(out) == before                 # previous PDFs, .tex, answers untouched
        assert sorted(p.name for p in out.iterdir()) == ["s"]  # no staging folder left
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=False)


# --- racing builds ----------------------------------------------------------------------

def test_concurrent_swaps_into_one_folder_never_fail_or_mix(tmp_path):
    final = tmp_path / "out" / "variants"
    stages = []
    for k in range(24):
        st = tmp_path / "out" / f".stage{k}"
        st.mkdir(parents=True)
        for j in range(5):
            (st / f"f{j}.txt").write_text(str(k))
        stages.append(st)
    errors: list[BaseException] = []

    def swap(st: Path) -> None:
        try:
            swap_folder(st, final)
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=swap, args=(st,)) for st in stages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = {(final / f"f{j}.txt").read_text() for j in range(5)}
    assert len(contents) == 1  # one whole batch, not a mix of two
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["variants"]


def test_two_variant_batches_racing_over_one_folder_both_succeed(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nnreport", "build", str(PROBLEMS / "exam2_variants.yaml"),
           "--variants", "2", "--no-pdf", "--jobs", "1", "-o", str(out)]
    procs = [subprocess.Popen(cmd + ["--seed", str(s)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in (1, 2, 3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "Traceback" not in err, err
    folder = out / "exam2_variants"
    assert sorted(p.name for p in folder.iterdir()) == ["variants"]
    assert sorted(p.name for p in out.iterdir()) == ["exam2_variants"]


# --- a failed TeX run cites files that exist ---------------------------------------------

def test_tex_failure_keeps_the_failing_tex_it_cites(tmp_path, monkeypatch):
    from nnreport import build as build_mod
    from nnreport.errors import CompileError

    spec = tmp_path / "s.yaml"
    spec.write_text(SMALL)
    out = tmp_path / "out"
    build_mod.build(spec, build_mod.BuildOptions(output=out))
    before = tree(out / "s")

    def failing(tex, name, files=None, **kw):
        err = CompileError(f"{name}.tex:12: TeX error: Undefined control sequence")
        err.log = "! Undefined control sequence.\nl.12 ..."  # type: ignore[attr-defined]
        raise err

    monkeypatch.setattr(build_mod, "compile_tex", failing)
    with pytest.raises(CompileError) as info:
        build_mod.build(spec, build_mod.BuildOptions(output=out))
    msg = str(info.value)
    kept = out / "s" / "failed" / "s-key.tex"
    assert f"kept: {kept}" in msg
    assert kept.read_text().startswith("\\documentclass")
    assert "Undefined control sequence" in (out / "s" / "failed" / "s-key.log").read_text()
    after = tree(out / "s")
    assert {k: v for k, v in after.items() if not k.startswith("failed/")} == before
    monkeypatch.undo()
    build_mod.build(spec, build_mod.BuildOptions(output=out))  # a good build clears failed/
    assert not (out / "s" / "failed").exists()


# --- signals -------------------------------------------------------------------------------

def _processes_using(marker: Path) -> list[str]:
    """Processes whose working folder or environment mentions `marker` (TeX runs in a temp
    folder under TMPDIR=marker; batch workers inherit TMPDIR)."""
    found = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            env = Path(f"/proc/{pid}/environ").read_bytes()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd.startswith(str(marker)) or str(marker).encode() in env:
            found.append(f"{pid}: {cmd[:80]}")
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_a_variants_batch_and_every_process(tmp_path, sig):
    out = tmp_path / "out"
    marker = tmp_path / "tmp"
    marker.mkdir()
    env = dict(os.environ, TMPDIR=str(marker))
    spec = PROBLEMS / "exam2_variants.yaml"
    assert run("build", str(spec), "--variants", "1", "--no-pdf", "-o", str(out)).returncode == 0
    before = tree(out)
    proc = subprocess.Popen([sys.executable, "-m", "nnreport", "build", str(spec),
                             "--variants", "40", "--jobs", "2", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=interactive)
    time.sleep(6)  # well inside the batch: workers are solving and running TeX
    assert proc.poll() is None
    t0 = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - t0
    assert proc.returncode == 128 + sig, err
    assert took < 8, f"took {took:.1f} s to stop"
    assert "interrupted; nothing in" in err and "Traceback" not in err
    deadline = time.monotonic() + 3
    while _processes_using(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_using(marker) == []
    assert tree(out) == before                           # the previous batch is as it was
    assert sorted(p.name for p in out.iterdir()) == ["exam2_variants"]  # no staging folder
    assert list(marker.iterdir()) == []                  # no temp folder left either


def test_sigterm_stops_a_single_build_and_its_tex(tmp_path):
    """SIGTERM (what `timeout` and service managers send) unwinds like Ctrl-C."""
    out = tmp_path / "out"
    marker = tmp_path / "tmp"
    marker.mkdir()
    spec = tmp_path / "s.yaml"
    spec.write_text((PROBLEMS / "moons.yaml").read_text().replace("epochs: 1000", "epochs: 150000"))
    proc = subprocess.Popen([sys.executable, "-m", "nnreport", "build", str(spec), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=interactive,
                            env=dict(os.environ, TMPDIR=str(marker)))
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert _processes_using(marker) == []
    assert not out.exists() or list(out.iterdir()) == []
