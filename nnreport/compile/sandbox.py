"""Running TeX so that nothing it is asked to do can reach outside its build folder or outlive
nnreport. Each layer holds on its own:

- argv is a fixed list (no shell; the document is always `main.tex`), so no file name or
  string from a spec can become an option or a command;
- TeX's own switches: `-no-shell-escape`, `openin_any=p` / `openout_any=p` (no reading or
  writing outside the folder by name), kpathsea's mktex* helpers off, a private HOME;
- OS limits set before exec (util-linux's prlimit), so they hold even if nnreport is killed:
  CPU seconds (RLIMIT_CPU), bytes per written file (RLIMIT_FSIZE), address space (RLIMIT_AS),
  processes (RLIMIT_NPROC, where the kernel enforces it for this user), no core files;
- its own session and process group, killed on every way out of `run` (finish, timeout,
  Ctrl-C, SIGTERM/SIGHUP turned into exceptions by the CLI; `stop_all` for runs in other
  threads), and a parent-death signal (setpriv --pdeathsig), so even a SIGKILL of nnreport
  takes TeX with it;
- where bubblewrap works (probed once), a filesystem sandbox: only the TeX installation is
  visible (read-only) and the build folder is the only writable path; no network, no other
  processes. pdfTeX's own primitives (`\\pdfobj ... file`, `\\pdfximage`) ignore openin_any,
  so without bubblewrap they could read any file nnreport can: then the spec stage's math
  whitelist is the layer that stops them (docs/spec.md, "Security").
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ADDRESS_SPACE = 4 * 1024**3   # pdfTeX with TikZ and fonts peaks at a few hundred MB
MAX_PROCESSES = 64
TEX_TREES = ("/usr", "/etc/texmf", "/var/lib/texmf")


@dataclass(frozen=True)
class Limits:
    seconds: float          # wall clock for the whole run
    cpu_seconds: int        # RLIMIT_CPU of the child
    file_bytes: int         # RLIMIT_FSIZE: the largest file TeX may write


@dataclass
class Outcome:
    returncode: int
    output: bytes
    timed_out: bool
    signal: int | None      # the signal that ended the child, if any


def environment(home: Path) -> dict[str, str]:
    """The child's whole environment: nothing inherited but the path and locale."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SOURCE_DATE_EPOCH")}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update(openin_any="p", openout_any="p", shell_escape="f", max_print_line="1000",
               HOME=str(home), TEXMFOUTPUT=str(home), TEXMFVAR=str(home / ".texmf-var"),
               FORCE_SOURCE_DATE="1", MKTEXTFM="0", MKTEXPK="0", MKTEXMF="0", MKTEXFMT="0",
               MKTEXTEX="0")
    return env


def limited(argv: list[str], limits: Limits) -> list[str]:
    """`argv` run under OS limits and a parent-death signal, set by util-linux's setpriv and
    prlimit before exec (no Python code runs between fork and exec, which is unsafe while
    other threads run), so they hold even if nnreport itself is killed."""
    if shutil.which("prlimit") is None or shutil.which("setpriv") is None:
        return argv  # not Linux: the process group kill still applies
    return ["setpriv", "--pdeathsig", "KILL", "prlimit", f"--cpu={limits.cpu_seconds}",
            f"--fsize={limits.file_bytes}", f"--as={ADDRESS_SPACE}", f"--nproc={MAX_PROCESSES}",
            "--core=0", "--", *argv]


@lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Whether bubblewrap can make a sandbox here (user namespaces allowed); probed once."""
    if os.environ.get("NNREPORT_NO_BWRAP") or shutil.which("bwrap") is None:
        return False
    try:
        r = subprocess.run(["bwrap", *_bind_args(Path("/")), "--", "true"], capture_output=True,
                           timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def sandbox_kind() -> str:
    """'bubblewrap' or 'process limits only' (for messages and docs)."""
    return "bubblewrap" if bwrap_works() else "process limits only"


def _bind_args(work: Path) -> list[str]:
    # no --new-session: TeX must stay in the process group that `run` kills; it has no
    # controlling terminal anyway (start_new_session), so there is no terminal to inject into
    args = ["--unshare-all", "--die-with-parent", "--proc", "/proc",
            "--dev", "/dev", "--tmpfs", "/tmp"]
    for tree in TEX_TREES:
        args += ["--ro-bind-try", tree, tree]
    for link in ("lib", "lib64", "bin", "sbin"):
        if Path("/usr", link).exists():
            args += ["--symlink", f"usr/{link}", f"/{link}"]
    if str(work) != "/":
        args += ["--bind", str(work), str(work), "--chdir", str(work)]
    return args


def command(argv: list[str], work: Path, env: dict[str, str]) -> list[str]:
    """`argv` wrapped in bubblewrap when it works: only the TeX trees and `work` visible."""
    if not bwrap_works():
        return argv
    setenv = [x for k, v in env.items() for x in ("--setenv", k, v)]
    return ["bwrap", *_bind_args(work), "--clearenv", *setenv, "--", *argv]


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is still running (zombies do not count: they
    hold no resources and wait for init to reap them)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group and wait until no member is running."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _group_alive(proc.pid):
        time.sleep(0.01)


_RUNNING: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every TeX run of this process (runs in other threads included)."""
    with _LOCK:
        running = list(_RUNNING)
    for proc in running:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(argv: list[str], work: Path, limits: Limits) -> Outcome:
    """Run a TeX program in `work` under every layer above; never leaves it running."""
    env = environment(work)
    with _LOCK:
        proc = subprocess.Popen(limited(command(argv, work, env), limits), cwd=work, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        _RUNNING.add(proc)
    try:
        out, _ = proc.communicate(timeout=limits.seconds)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return Outcome(-9, b"", True, signal.SIGKILL)
    except BaseException:  # Ctrl-C, SIGTERM/SIGHUP (raised by the CLI's handlers), exit
        _kill_group(proc)
        raise
    finally:
        with _LOCK:
            _RUNNING.discard(proc)
    _kill_group(proc)  # anything the child left behind in its group
    sig = -proc.returncode if proc.returncode < 0 else None
    return Outcome(proc.returncode, out, False, sig)
