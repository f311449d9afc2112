"""`nnreport watch`: build, then rebuild whenever the spec (or a data file beside it) is saved.

Changes are debounced (a burst of saves, quiet for 250 ms, is one rebuild); a spec with an error prints its
located error and leaves the last good PDF/HTML in place (a build only replaces the output
when it succeeds); the output folder itself is never watched, so writing results cannot
trigger a rebuild. Ctrl-C ends it cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..build import BuildOptions, build
from ..errors import NNReportError

WATCHED_SUFFIXES = (".yaml", ".yml", ".csv")


def changed_inputs(spec: Path, output: Path) -> Callable[[object, str], bool]:
    """The watchfiles filter: the spec, or a data file in its folder, not in the output."""
    spec_r, out_r = spec.resolve(), output.resolve()

    def keep(_change: object, path: str) -> bool:
        p = Path(path).resolve()
        if p == spec_r:
            return True
        if out_r == p or out_r in p.parents:
            return False
        return p.suffix.lower() in WATCHED_SUFFIXES
    return keep


def build_once(spec: Path, opts: BuildOptions, echo: Callable[[str], None]) -> bool:
    start = time.monotonic()
    try:
        made = build(spec, opts)
    except NNReportError as e:
        echo(f"{e}\n(the last good output is kept in {opts.output / spec.stem})")
        return False
    echo(f"built {', '.join(str(m) for m in made)} in {time.monotonic() - start:.1f} s")
    return True


def watch(spec: Path, opts: BuildOptions, echo: Callable[[str], None],
          stop: threading.Event | None = None, quiet_ms: int = 250) -> int:
    """Build now and after every change until `stop` is set or Ctrl-C; returns the number
    of builds run."""
    from watchfiles import watch as changes

    builds = 1
    build_once(spec, opts, echo)
    echo(f"watching {spec} (Ctrl-C to stop)")
    for _ in changes(spec.resolve().parent, watch_filter=changed_inputs(spec, opts.output),
                     debounce=2000, step=quiet_ms, stop_event=stop, raise_interrupt=False,
                     recursive=True):
        builds += 1
        build_once(spec, opts, echo)
    return builds
