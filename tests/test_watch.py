"""`nnreport watch`: rebuilds on save, one rebuild for a burst of saves, a spec error printed
located while the last good PDF stays, the output folder never triggering a rebuild, and
Ctrl-C ending it cleanly with no TeX left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import interactive

from nnreport.build import BuildOptions
from nnreport.interactive.watch import watch

SPEC = "title: Watch\nproblems:\n  - id: e\n    given: {{a: {a}}}\n    compute: [{{b: a * 3}}]\n"


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def wait_for(cond, seconds=60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_rebuilds_on_save_and_keeps_the_last_good_pdf(tmp_path):
    spec = tmp_path / "w.yaml"
    spec.write_text(SPEC.format(a=7))
    out = tmp_path / "output"  # inside the watched folder: writing it must not loop
    messages: list[str] = []
    stop = threading.Event()
    runner = threading.Thread(target=watch, args=(spec, BuildOptions(output=out, kinds=("key",)),
                                                  messages.append, stop))
    runner.start()
    pdf = out / "w" / "w-key.pdf"
    try:
        def built():
            return sum(m.startswith("built") for m in messages)

        assert wait_for(lambda: built() == 1 and any(m.startswith("watching") for m in messages))
        assert "21" in pdf_text(pdf)
        time.sleep(1.0)
        assert built() == 1  # its own output did not trigger a rebuild
        for a in (8, 9, 10, 11):  # a burst of saves is one rebuild
            spec.write_text(SPEC.format(a=a))
            time.sleep(0.03)
        assert wait_for(lambda: built() == 2)
        time.sleep(1.0)
        assert built() == 2 and "33" in pdf_text(pdf)
        good = pdf.read_bytes()
        spec.write_text(SPEC.format(a=11).replace("a * 3", "a * unknown_name"))
        assert wait_for(lambda: any("w.yaml:5:" in m for m in messages))
        assert pdf.read_bytes() == good  # the last good PDF is kept
        assert "last good output is kept" in messages[-1]
        spec.write_text(SPEC.format(a=5))
        assert wait_for(lambda: built() == 3)
        assert "15" in pdf_text(pdf)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_ctrl_c_stops_watching_cleanly(tmp_path):
    spec = tmp_path / "w.yaml"
    spec.write_text(SPEC.format(a=2))
    proc = subprocess.Popen([sys.executable, "-m", "nnreport", "watch", "w.yaml"], cwd=tmp_path,
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            preexec_fn=interactive, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: any("watching" in line for line in lines))
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=10)
        reader.join(timeout=5)
        seen = "".join(lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert rc == 0 and time.monotonic() - start < 5
    assert "stopped watching" in seen and "Traceback" not in seen
    assert (tmp_path / "output" / "w" / "w-key.pdf").is_file()
