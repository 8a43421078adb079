"""Build, execute and compare the compendium's notebooks (used by ``make.py``).

The source of each notebook is a jupytext "percent" script ``notebooks/NN_slug.py``; the
committed ``notebooks/NN_slug.ipynb`` is that script executed headless, with outputs, in a
normalised form so that re-running it with nothing changed gives identical bytes:

* kernel name ``python3``; no per-cell timing or jupytext metadata; cell ids ``cell-N``;
* execution counts 1, 2, 3, … in order;
* stderr streams (warnings, progress bars) are removed from the committed file and printed
  on the console instead;
* environment for the kernel: ``HLSTUDY_PROGRESS=0``, ``SOURCE_DATE_EPOCH=0``,
  ``PYTHONHASHSEED=0``, ``MPLBACKEND`` inline, ``HLSTUDY_RESULT_CACHE=1`` (the slowest fits
  kept by content key, :mod:`hlstudy._resultcache`; ``=0`` fits every time).

Notebooks run concurrently, one kernel each, at most ``jobs`` at a time (default: the
number of CPU cores, at most the number of notebooks; ``--jobs`` or ``HLSTUDY_JOBS``), longest
first by the wall times recorded at the previous run (``data/processed/notebook-seconds.json``).
The ``load_study`` cache is built once in the parent before the kernels start, kernels are
shut down immediately after their last cell (on Linux they are forked from a server that has
already imported the common libraries, :class:`_ForkServer`; ``HLSTUDY_FORK=0`` starts each
as a fresh process: same bytes), and the figure index and README table are
merged from the per-notebook export logs, so the outputs are the same bytes as a run with
``--jobs 1`` (each kernel is single-threaded and seeded; ``index.csv`` is sorted).

Command line (what ``make.py`` calls inside the project's virtual environment)::

    python -m hlstudy.runner reproduce [--jobs N] [NN ...]   # execute notebooks, write .ipynb
    python -m hlstudy.runner check                # .py and .ipynb cell sources agree
    python -m hlstudy.runner export [--lang en] [--out DIR]   # every figure and table, index.csv

With ``HLSTUDY_DATA`` (or ``[data] source`` in ``hlstudy.toml``) pointing at one's own exports,
``reproduce`` writes the executed notebooks, figures and tables to the output folder
(``HLSTUDY_FIGURES``, else ``build/own-data/``) and leaves every committed file as it was
(:func:`output_plan`).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import functools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hlstudy import _blas
from hlstudy.errors import SurveyDataError
from hlstudy.paths import NOTEBOOKS, PROCESSED, ROOT

KERNEL = "python3"
TIMEOUT = 600
TEXT_MIMES = ("text/plain", "text/markdown", "text/html", "text/latex")
SHUTDOWN = "immediate"  # the kernel has nothing to flush once the last cell has run
TIMES_FILE = PROCESSED / "notebook-seconds.json"


class NotebookError(RuntimeError):
    """A notebook failed to execute; the message names the notebook and the cell."""


@dataclass(frozen=True)
class NotebookRun:
    source: Path
    notebook: Path
    seconds: float
    stderr: tuple[str, ...]


def sources(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """The notebook scripts ``NN_slug.py`` in numeric order."""
    found = sorted(p for p in notebooks_dir.glob("[0-9][0-9]_*.py"))
    return found


def kernel_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "HLSTUDY_PROGRESS": "0",
            "SOURCE_DATE_EPOCH": "0",
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "TQDM_DISABLE": "1",
            # single-threaded BLAS: faster for these small matrices on 2 cores, and bit-stable
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
    )
    env.update(_blas.pinned_env(env))   # the same BLAS kernels on every x86-64 CPU
    # this checkout's hlstudy first, as in the process that starts the kernel (python -m runs
    # from the repository root): not another checkout's, where .venv is shared
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                      if p and Path(p).resolve() != ROOT]])
    env.setdefault("HLSTUDY_LANG", "vi")
    env.setdefault("HLSTUDY_RESULT_CACHE", "1")   # the slowest fits kept by content (_resultcache)
    if extra:
        env.update(extra)
    # folders given relative to where the command was run (the repository root in the README):
    # kernels run inside notebooks/, so they get absolute paths
    for name in ("HLSTUDY_DATA", "HLSTUDY_INSTRUMENT", "HLSTUDY_FIGURES"):
        value = env.get(name, "").strip()
        if value and not Path(value).expanduser().is_absolute():
            env[name] = str(Path(value).expanduser().resolve())
    return env


def read_source(path: Path):
    """Read a percent script as an nbformat notebook (no outputs); each call gets its own copy.

    The script's text is parsed once per process (:func:`_parse_percent`): the notebook tests
    read every script to check its pairing and again to execute it, and jupytext takes
    0.03–0.08 s of CPU per script.  The cell ids, which jupytext draws at random, are those
    of the first parse (:func:`normalise` numbers them anyway).
    """
    return copy.deepcopy(_parse_percent(Path(path).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=32)
def _parse_percent(text: str):
    """``jupytext.reads(text, fmt="py:percent")``, kept by text (never handed out: copied)."""
    import jupytext

    return jupytext.reads(text, fmt="py:percent")


def _cell_label(nb, index: int) -> str:
    cell = nb.cells[index]
    first = next((line for line in cell.source.splitlines() if line.strip()), "").strip()
    return f"cell {index + 1} ({first[:60]!r})"


# --------------------------------------------------------------------------- forked kernels

#: Third-party modules every notebook imports, loaded once in the fork server (:class:`_ForkServer`)
#: so that each kernel starts as a copy of a process that has them, instead of importing them
#: again (about 2 s of CPU per kernel).  Only libraries: hlstudy reads its settings from the
#: environment at import, so each kernel imports it with its own environment.  pandas decides
#: one display option at import by asking whether it runs in a Jupyter kernel
#: (``display.max_columns``: 20 in a kernel, 0 in a terminal); the server imports it while
#: ``get_ipython()`` answers as in a kernel, so that the option is the kernel's (tested).
#: The second line is what every kernel imported after the fork all the same (0.3 s of CPU per
#: kernel that saves a figure, 0.1 s for any other): ipykernel's debugger (debugpy, pydevd) and
#: the other modules a kernel loads while it starts, the inline and PDF backends (fontTools'
#: subsetter) and the libraries hlstudy imports beyond the first line.  None of them reads the
#: working folder at import, and the only variables they read then are their own settings
#: (``PYDEVD_*``, ``DEBUGPY_*``, ``DISPLAY``), which the server and every kernel take alike from
#: :func:`kernel_env`; ``SOURCE_DATE_EPOCH`` is read by the PDF backend when it saves, not at import.
#: Of statsmodels, the modules hlstudy imports (``statsmodels.api`` would add some 300 modules
#: that no kernel uses: 0.3 s of CPU per run).
FORK_PRELOAD = ("numpy", "scipy.stats", "matplotlib", "matplotlib.pyplot", "PIL.Image", "IPython",
                "ipykernel.kernelapp", "pandas", "seaborn", "statsmodels.stats.diagnostic",
                "statsmodels.stats.stattools", "statsmodels.stats.multitest",
                "statsmodels.stats.proportion",
                "statsmodels.regression.mixed_linear_model", "docx", "numba",
                "ipykernel.debugger", "IPython.core.debugger", "IPython.core.completerlib",
                "IPython.extensions.storemagic", "psutil", "sqlite3", "tornado.platform.asyncio",
                "matplotlib_inline.backend_inline", "matplotlib.backends.backend_pdf",
                "matplotlib.patheffects", "adjustText", "wildboottest", "tomllib",
                "concurrent.futures.process")

_FORK_SERVER_CODE = r"""
import gc, importlib, json, os, signal, sys

gc.disable()   # no collections while importing (0.3 s)

def _reap(*_):
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return

class _AsInAKernel:        # what pandas' config_init.is_terminal() looks for
    kernel = True

for name in json.loads(sys.argv[1]):
    if name == "pandas":
        import builtins
        builtins.get_ipython = _AsInAKernel
        try:
            importlib.import_module(name)
        finally:
            del builtins.get_ipython
    else:
        importlib.import_module(name)
# The imported libraries' objects live as long as every kernel: frozen, the kernels' garbage
# collections no longer walk them (each full collection in a kernel walked ~250,000 objects it
# never frees).  As the gc.freeze documentation advises for processes that fork without exec,
# no collection first: it walked 420,000 objects to free 3,200 (0.25 s of CPU per server), and
# the holes it left in shared pages would be refilled, and copied, by every kernel.  Kernels
# collect their youngest generation every 10,000 allocations, as the tests do
# (tests/conftest.py), not every 700: the seven notebooks' kernels spent 0.31 s in the
# collector at 700 and 0.21 s at 10,000 (three runs each, same outputs).
gc.freeze()
gc.set_threshold(10_000, *gc.get_threshold()[1:])
gc.enable()
signal.signal(signal.SIGCHLD, _reap)
out = sys.stdout
out.write("ready\n"); out.flush()
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path[0] = os.getcwd()
        sys.argv = [request["argv0"], *request["args"]]
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        from ipykernel import kernelapp
        try:
            kernelapp.launch_new_instance()
        finally:
            os._exit(0)
    out.write(f"{pid}\n"); out.flush()
"""


def fork_enabled() -> bool:
    """Kernels are forked from a preloaded server (:class:`_ForkServer`) on Linux, unless
    ``HLSTUDY_FORK=0``; elsewhere (macOS, whose system libraries are not all safe to use after
    a fork, and Windows, which cannot fork) each kernel is a fresh process."""
    return sys.platform.startswith("linux") and \
        os.environ.get("HLSTUDY_FORK", "1").strip().lower() not in ("0", "false", "no")


class _ForkServer:
    """A process that has imported :data:`FORK_PRELOAD` and forks a kernel on request.

    One per process that runs notebooks, started at the first kernel, with the kernels'
    environment (:func:`kernel_env`), stopped at exit.  A kernel it forks sets its own
    environment, working folder and session, then runs ``ipykernel`` as
    ``python -m ipykernel_launcher -f <connection file>`` would; the server reaps it.
    """

    _instance: _ForkServer | None = None

    def __init__(self):
        import atexit

        self.process = subprocess.Popen(
            [sys.executable, "-c", _FORK_SERVER_CODE, json.dumps(list(FORK_PRELOAD))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=kernel_env(), text=True, bufsize=1)
        self.ready = False
        atexit.register(self.stop)

    @classmethod
    def get(cls) -> _ForkServer:
        """The running server; started now if there is none (its imports run meanwhile)."""
        if cls._instance is None or cls._instance.process.poll() is not None:
            cls._instance = cls()
        return cls._instance

    def fork(self, args: list[str], env: dict, cwd: str) -> int:
        if not self.ready:
            if self.process.stdout.readline().strip() != "ready":
                raise NotebookError("the kernel fork server did not start (set HLSTUDY_FORK=0)")
            self.ready = True
        request = {"argv0": "ipykernel_launcher", "args": args, "env": env, "cwd": cwd}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    #: Seconds :meth:`stop` waits for the server to end after its input is closed (it may be
    #: still importing :data:`FORK_PRELOAD` on a loaded machine) before killing it.
    STOP_TIMEOUT = 10.0

    def stop(self) -> None:
        """End the server at exit, quietly: close its input (it ends once its imports are
        done), wait :data:`STOP_TIMEOUT` seconds, then kill it.  Never raises: it runs as an
        ``atexit`` callback, after the run has said what it had to say (a data error), and a
        traceback of a slow server would bury that message.  The kernels it forked run in
        sessions of their own and are not killed with it."""
        if self.process.poll() is not None:
            return
        try:
            self.process.stdin.close()
        except OSError:   # the pipe is broken: the server is ending anyway
            pass
        try:
            self.process.wait(timeout=self.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            try:
                self.process.wait(timeout=self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass   # not reaped: the operating system does it when this process ends


class _ForkedKernel:
    """The ``Popen`` interface jupyter_client uses, for a kernel forked by :class:`_ForkServer`
    (not a child of this process: alive while its pid exists; the server reaps it)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self):
        import signal

        self.send_signal(signal.SIGKILL)

    def terminate(self):
        import signal

        self.send_signal(signal.SIGTERM)


@functools.cache
def _ready_client_class():
    """``AsyncKernelClient`` that does not wait 0.2 s for IOPub to fall silent once ready, and
    starts no heartbeat channel (its kernel manager tells whether the kernel is alive).

    jupyter_client's ``wait_for_ready`` ends by reading IOPub until no message has come for
    0.2 s, whatever the kernel does; nbclient reads only the messages of its own requests
    (by parent message id), so the wait only delays every notebook.  This client waits as
    jupyter_client does (kernel_info reply on the shell channel, then one IOPub message, so
    that IOPub is known to be connected) and then drops only what IOPub already holds.
    """
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
        def start_channels(self, shell=True, iopub=True, stdin=True, hb=True, control=True):
            # no heartbeat: the kernel manager that made this client says whether the kernel
            # lives (jupyter_client's is_alive asks it first), and the heartbeat's thread opened
            # its socket while a kernel that died at start was being cleaned up ("ZMQError: Too
            # many open files" in that thread, seen in full test runs)
            super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.time() + (float("inf") if timeout is None else timeout)
            while True:
                if not await self._async_is_alive():   # ended already: no 1 s wait for a reply
                    raise RuntimeError("Kernel died before replying to kernel_info")
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    msg = None
                if msg is not None and msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)   # IOPub connected
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            while True:   # drop the status messages already delivered, without waiting
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except Empty:
                    break

    return ReadyClient


def _kernel_manager_class():
    """``AsyncKernelManager`` whose kernels are forked from :class:`_ForkServer` and whose
    client does not wait for IOPub to fall silent (:func:`_ready_client_class`)."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            args = cmd[cmd.index("-f"):]      # [python, -m, ipykernel_launcher, -f, file, ...]
            pid = _ForkServer.get().fork(args, dict(kwargs.get("env") or kernel_env()),
                                         str(kwargs.get("cwd") or Path.cwd()))
            self.process = _ForkedKernel(pid)
            self.pid, self.pgid = pid, None   # its own session; signals go to the pid
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    client = _ready_client_class()

    class ForkKernelManager(AsyncKernelManager):
        def _client_factory_default(self):
            return client

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # after the kill, look for the kernel's end every 10 ms, not every 100 ms (the
            # fork server reaps it at once); the next notebook waits for this
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))

        async def _async_pre_start_kernel(self, **kw):
            import uuid

            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            if self.provisioner is None:
                self.provisioner = ForkProvisioner(kernel_id=self.kernel_id,
                                                   kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    return ForkKernelManager


def _client(source: Path, cwd: Path | None):
    from nbclient import NotebookClient

    nb = read_source(source)
    extra = {"kernel_manager_class": _kernel_manager_class()} if fork_enabled() else {}
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(cwd or source.parent)}},
        allow_errors=False,
        shutdown_kernel=SHUTDOWN,
        **extra,
    )
    return nb, client


def _failure(source: Path, nb, exc: BaseException) -> NotebookError:
    from nbclient.exceptions import CellExecutionError

    if isinstance(exc, CellExecutionError):
        index = _failing_cell(nb)
        where = _cell_label(nb, index) if index is not None else "a cell"
        return NotebookError(f"{source.name}: {where} failed:\n{_short_error(exc)}")
    return NotebookError(f"{source.name}: execution failed: {type(exc).__name__}: {exc}")


#: kernel start-up failures that are tried once more: the kernel died or stayed silent before
#: any cell ran (e.g. a port that jupyter_client found free and another process took first)
_START_FAILURES = ("Kernel died before replying to kernel_info", "Kernel didn't respond")


def _start_failed(nb, exc: BaseException) -> bool:
    """True when ``exc`` ended the kernel's start, before any cell ran."""
    ran = any(c.get("execution_count") or c.get("outputs") for c in nb.cells if c.cell_type == "code")
    return isinstance(exc, RuntimeError) and not ran and any(m in str(exc) for m in _START_FAILURES)


def _forget_cleanup(client) -> None:
    """Drop the exit handler nbclient leaves behind when a kernel fails to start: it has
    already shut that kernel down, and the handler would fail at exit (``assert self.km``)."""
    import atexit

    atexit.unregister(client._cleanup_kernel)


def _retry_or_raise(source: Path, nb, client, exc: BaseException, attempt: int) -> None:
    """After a failed execution: return (the caller starts the kernel once more) when the
    kernel died before any cell ran on the first attempt, said on stderr; else raise the
    :class:`NotebookError` naming the notebook and the failing cell."""
    _forget_cleanup(client)
    if attempt == 1 and _start_failed(nb, exc):
        print(f"[runner] {source.name}: the kernel did not start ({exc}); starting it once more",
              file=sys.stderr, flush=True)
        return
    raise _failure(source, nb, exc) from None


def execute(source: Path, *, env_extra: dict | None = None, cwd: Path | None = None):
    """Execute a notebook script; return ``(notebook, stderr_texts)``.

    A kernel that dies before any cell ran is started once more (said on stderr).
    Raises :class:`NotebookError` naming the notebook and the failing cell.
    """
    for attempt in (1, 2):
        nb, client = _client(source, cwd)
        try:
            # the kernel process's own stderr carries only start-up chatter; cell output
            # (including errors and warnings) arrives through the notebook protocol
            client.execute(env=kernel_env(env_extra), stderr=subprocess.DEVNULL)
        except Exception as exc:  # a cell failed, the kernel died, timeout...
            _retry_or_raise(source, nb, client, exc, attempt)
            continue
        return normalise(nb)


async def execute_async(source: Path, *, env_extra: dict | None = None, cwd: Path | None = None):
    """:func:`execute` as a coroutine, so that several kernels run at once."""
    for attempt in (1, 2):
        nb, client = _client(source, cwd)
        try:
            await client.async_execute(env=kernel_env(env_extra), stderr=subprocess.DEVNULL)
        except Exception as exc:
            _retry_or_raise(source, nb, client, exc, attempt)
            continue
        return normalise(nb)


def default_jobs(n: int) -> int:
    """Concurrent kernels: ``HLSTUDY_JOBS``, else the CPU cores, never more than ``n``."""
    raw = os.environ.get("HLSTUDY_JOBS", "").strip()
    if raw:
        try:
            jobs = int(raw)
        except ValueError:
            raise NotebookError(f"HLSTUDY_JOBS must be a whole number, got {raw!r}") from None
    else:
        jobs = os.cpu_count() or 1
    return max(1, min(jobs, max(n, 1)))


def recorded_seconds(path: Path | None = None) -> dict[str, float]:
    """Wall seconds per notebook stem of the previous ``reproduce`` (empty if none); ``path``
    defaults to :data:`TIMES_FILE` as it is when called."""
    path = TIMES_FILE if path is None else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def record_seconds(seconds: dict[str, float], path: Path | None = None) -> None:
    """Merge ``seconds`` into the timing record (ignored when the folder is read-only)."""
    path = TIMES_FILE if path is None else path
    merged = {**recorded_seconds(path), **{k: round(v, 2) for k, v in seconds.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n", encoding="utf-8")
    except OSError:
        pass


def longest_first(paths: Sequence[Path], seconds: dict[str, float] | None = None) -> list[Path]:
    """``paths`` by recorded wall time, longest first; unrecorded ones first, by script size.

    With two kernels, starting the longest notebook first keeps the run's wall time near
    ``max(longest, total / 2)`` instead of ending on a long notebook started last.
    """
    seconds = recorded_seconds() if seconds is None else seconds

    def key(path: Path):
        known = path.stem in seconds
        return (known, -seconds.get(path.stem, 0.0), -path.stat().st_size, path.name)

    return sorted(paths, key=key)


def execute_many(
    paths: Sequence[Path],
    *,
    jobs: int | None = None,
    env_extra: Callable[[Path], dict] | dict | None = None,
    on_done: Callable[[Path, tuple, float], None] | None = None,
) -> dict[Path, tuple]:
    """Execute notebooks, at most ``jobs`` kernels at a time, in the order given.

    Returns ``{path: (notebook, stderr_texts, seconds)}``.  ``env_extra`` is a dict or a
    function of the path; ``on_done(path, (notebook, stderr), seconds)`` is called in the
    calling thread as each notebook finishes.  After a failure no new notebook starts,
    those running finish, and the first failure (in the order given) is raised as
    :class:`NotebookError`.
    """
    paths = list(paths)
    jobs = default_jobs(len(paths)) if jobs is None else max(1, int(jobs))

    def env_for(path):
        return env_extra(path) if callable(env_extra) else env_extra

    results: dict[Path, tuple] = {}
    failures: dict[Path, NotebookError] = {}
    # one code path for every number of kernels (jobs = 1 is one worker)
    async def run_all():
        queue = list(reversed(paths))

        async def worker():
            while queue and not failures:
                path = queue.pop()
                start = time.perf_counter()
                try:
                    nb, stderr = await execute_async(path, env_extra=env_for(path))
                except NotebookError as exc:
                    failures[path] = exc
                    return
                seconds = time.perf_counter() - start
                results[path] = (nb, stderr, seconds)
                if on_done:
                    on_done(path, (nb, stderr), seconds)

        await asyncio.gather(*(worker() for _ in range(min(jobs, len(paths)))))

    asyncio.run(run_all())
    if failures:
        raise next(failures[p] for p in paths if p in failures)
    return results


def _failing_cell(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return i
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")   # the kernel's traceback colours


def _short_error(exc) -> str:
    """The last 12 non-blank lines of a cell's error, without terminal colour codes (the
    message is also written to logs and files, where they show as ``[38;5;28m`` clutter)."""
    text = _ANSI.sub("", str(exc))
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-12:])


def normalise(nb):
    """Strip volatile metadata and stderr; return ``(notebook, stderr_texts)``."""
    nb = copy.deepcopy(nb)
    stderr: list[str] = []
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL},
        "language_info": {"name": "python"},
    }
    count = 0
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i + 1}"
        cell["metadata"] = {}
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        count += 1
        cell["execution_count"] = count
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                stderr.append(f"{_cell_label(nb, i)}: {output.get('text', '')}")
                continue
            if "execution_count" in output:
                output["execution_count"] = count
            kept.append(output)
        cell["outputs"] = kept
    nb.nbformat = 4
    nb.nbformat_minor = 5
    return nb, stderr


def write(nb, path: Path) -> bool:
    """Write ``nb`` to ``path`` (only if the bytes change); return True if written."""
    import nbformat

    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def text_outputs(nb) -> list[list[dict]]:
    """Per code cell, the outputs that must reproduce exactly (text, tables, stdout)."""
    result = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                text = "".join(output.get("text", ""))
                # consecutive chunks of one stream are one output: how the kernel splits
                # printed text into messages depends on timing, not on the notebook
                if outs and outs[-1].get("stream") == output.get("name"):
                    outs[-1] = {"stream": output.get("name"), "text": outs[-1]["text"] + text}
                else:
                    outs.append({"stream": output.get("name"), "text": text})
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                outs.append({m: _joined(data[m]) for m in TEXT_MIMES if m in data})
            elif kind == "error":
                outs.append({"error": output.get("ename")})
        result.append(outs)
    return result


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def cell_sources(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def check_pairing(source: Path) -> list[str]:
    """Problems with the pairing of ``NN_slug.py`` and its committed ``.ipynb``."""
    import nbformat

    target = source.with_suffix(".ipynb")
    if not target.exists():
        return [f"{target.name} is missing: run 'python3 make.py reproduce' and commit it"]
    committed = nbformat.read(target, as_version=4)
    expected = read_source(source)
    problems = []
    if cell_sources(committed) != cell_sources(expected):
        problems.append(f"{target.name} does not match {source.name}: re-run 'python3 make.py reproduce'")
    if committed.metadata.get("kernelspec", {}).get("name") != KERNEL:
        problems.append(f"{target.name}: kernel is not {KERNEL!r}")
    for i, cell in enumerate(committed.cells):
        if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None:
            problems.append(f"{target.name}: cell {i + 1} has not been executed")
            break
    return problems


INDEX_NAME = "index.csv"
INDEX_COLUMNS = ("file", "kind", "formats", "notebook", "cell", "title")
README_START = "<!-- figures:start -->"
README_END = "<!-- figures:end -->"


def _read_log(path: Path, nb) -> list[dict]:
    """Exports logged by :mod:`hlstudy.export` during one notebook run, with cell numbers."""
    if not path.exists():
        return []
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        count = entry.get("cell")
        cell = code_cells[count - 1] + 1 if isinstance(count, int) and 0 < count <= len(code_cells) else ""
        rows.append({"file": entry["stem"], "kind": entry["kind"], "formats": " ".join(entry["formats"]),
                     "cell": cell, "title": " ".join(str(entry.get("title", "")).split())})
    return rows


def read_index(figures: Path) -> list[dict]:
    import csv

    path = figures / INDEX_NAME
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def exported_files(rows) -> list[str]:
    """The file names ``index.csv`` rows say were written (each ``file`` in each of its
    ``formats``), sorted."""
    return sorted({f"{row['file']}.{fmt}" for row in rows for fmt in row["formats"].split()})


def update_index(figures: Path, notebook: str, rows: list[dict]) -> None:
    """Replace ``notebook``'s rows of ``figures/index.csv`` and delete its stale files.

    A file of the notebook's prefix is stale when the run did not write it: a stem no longer
    exported, or a format no longer written (e.g. ``.svg`` once SVG is not asked for).
    """
    import csv

    kept = [r for r in read_index(figures) if r["notebook"] != notebook]
    new = {}
    for row in rows:
        new[(row["file"], row["kind"])] = {**row, "notebook": notebook}
    produced = set(exported_files(new.values()))
    prefix = notebook[:3]
    for path in figures.glob(f"{prefix}*"):
        if path.is_file() and path.name not in produced:
            path.unlink()
    every = sorted(kept + list(new.values()), key=lambda r: (r["notebook"], r["file"], r["kind"]))
    with (figures / INDEX_NAME).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=INDEX_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in every:
            writer.writerow({k: row.get(k, "") for k in INDEX_COLUMNS})


def readme_table(figures: Path) -> str:
    """The README's table mapping each exported file to the notebook and cell that makes it."""
    lines = [
        "| file (figures/) | kind | formats | notebook | cell | title |",
        "|---|---|---|---|---|---|",
    ]
    for row in read_index(figures):
        title = row["title"].replace("|", "/")
        lines.append(f"| `{row['file']}` | {row['kind']} | {row['formats']} | `{row['notebook']}` | {row['cell']} | {title} |")
    return "\n".join(lines)


def update_readme(figures: Path, readme: Path) -> bool:
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{readme_table(figures)}\n{README_END}{tail}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
        return True
    return False


@dataclass(frozen=True)
class OutputPlan:
    """Where a ``reproduce`` run writes.

    ``committed`` is True only for the committed data (``data/raw``) with no
    ``HLSTUDY_FIGURES``: then the notebooks go to ``notebooks/``, figures and tables to
    ``figures/`` and the README's figure table is refreshed.  Any other run (own data, or an
    explicit ``HLSTUDY_FIGURES``) writes figures, tables and ``index.csv`` to ``figures``
    and the executed notebooks to ``figures/notebooks/``, and touches no committed file.
    """

    committed: bool
    own_data: bool
    figures: Path
    notebooks: Path
    readme: Path | None

    def describe(self) -> str:
        if self.committed:
            return "committed data: notebooks -> notebooks/, figures and tables -> figures/"
        what = "own data or instrument" if self.own_data else "HLSTUDY_FIGURES set"
        return (f"{what}: figures and tables -> {_shown(self.figures)}, executed notebooks -> "
                f"{_shown(self.notebooks)} (committed notebooks/ and figures/ untouched)")


def _shown(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix() + "/"
    except ValueError:
        return str(path)


def output_plan() -> OutputPlan:
    """Resolve where ``reproduce`` writes (see :class:`OutputPlan`).

    ``own_data`` is :func:`hlstudy.paths.own_study`: own exports (``HLSTUDY_DATA``,
    ``[data] source``) or an own instrument folder (``HLSTUDY_INSTRUMENT``, ``[instrument]
    folder``).  Raises :class:`NotebookError` when such a run would write inside the
    repository anywhere but under ``build/`` (it would overwrite committed files).
    """
    from hlstudy.paths import FIGURES, output_dir, own_study

    own = own_study()
    explicit = bool(os.environ.get("HLSTUDY_FIGURES", "").strip())
    if not own and not explicit:
        return OutputPlan(True, False, FIGURES, NOTEBOOKS, ROOT / "README.md")
    figures = output_dir()
    if own:
        root, build = ROOT.resolve(), (ROOT / "build").resolve()
        inside = figures == root or root in figures.parents
        if inside and not (figures == build or build in figures.parents):
            raise NotebookError(
                f"HLSTUDY_FIGURES={figures} is inside the repository but not under build/: a run "
                "on your own data would overwrite committed files. Choose a folder under build/ "
                "or outside the repository, or unset HLSTUDY_FIGURES (default build/own-data/).")
    return OutputPlan(False, own, figures, figures / "notebooks", None)


def warm_study_cache(out=None, *, reference_year: bool = False) -> float:
    """Read or build the ``load_study`` cache once, before the kernels start; return seconds.

    Otherwise two kernels starting together on a cold cache would both clean the data.
    An export that does not fit its instrument (:class:`SurveyDataError`: the file, row,
    column and the fix) is raised here, before any kernel starts: every notebook that reads
    the study would stop on it, each with a traceback around the same message.  Other errors
    are left to the notebooks, which report them in context.  The workbook sheet read when
    none is named after its instrument (:func:`hlstudy.study.sheet_notes`) is printed to
    ``out`` (default ``sys.stdout``): the kernels' own output of ``load_study`` is not shown
    by ``reproduce``, and a sheet chosen unseen could be the wrong one.  With
    ``reference_year`` (a notebook to run needs it) and a personnel register (every use of the
    year is the register's) the survey's reference year (:func:`hlstudy.study.reference_year`)
    is checked too: without submission times and without the setting, the run stops here with
    its fix, not at the notebook that needs it.  Without the register no year is needed.
    """
    import contextlib
    import io
    import warnings

    out = sys.stdout if out is None else out
    start = time.perf_counter()
    try:
        from hlstudy.study import load_study, sheet_notes

        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = load_study()
    except SurveyDataError:
        raise
    except Exception:  # the notebook that loads the study reports it in context
        return time.perf_counter() - start
    for note in sheet_notes(study):
        print(note, file=out, flush=True)
    if reference_year and study.has("personnel"):   # only the register's parts count years
        from hlstudy.study import reference_year as year_of

        year_of(study)   # SurveyDataError naming the column and the setting
    return time.perf_counter() - start


def needs_reference_year(sources: list[Path]) -> bool:
    """Whether a notebook of ``sources`` asks for the survey's reference year
    (:func:`hlstudy.study.reference_year`, called in its code)."""
    return any("reference_year(study)" in path.read_text(encoding="utf-8") for path in sources)


def reproduce(selected: list[str] | None = None, *, out=None,
              plan: OutputPlan | None = None, jobs: int | None = None) -> list[NotebookRun]:
    """Execute the notebooks, write their .ipynb files and the figure index.

    Where they go is :func:`output_plan`: the committed ``notebooks/`` and ``figures/`` only
    for the committed data, otherwise the output folder (own data never rewrites a
    committed file).  ``jobs`` kernels run at once (:func:`default_jobs`), longest first
    (:func:`longest_first`); the outputs do not depend on ``jobs``.  Returns the runs in
    notebook order.
    """
    import tempfile

    out = sys.stdout if out is None else out   # the stream of the moment, not of the import
    plan = plan or output_plan()
    print(f"writing: {plan.describe()}", file=out, flush=True)
    all_sources = sources()
    if selected:
        all_sources = [p for p in all_sources if any(p.name.startswith(s) for s in selected)]
        if not all_sources:
            raise NotebookError(f"no notebook matches {selected}")
    total = len(all_sources)
    jobs = default_jobs(total) if jobs is None else max(1, int(jobs))
    order = longest_first(all_sources) if jobs > 1 else all_sources
    if fork_enabled():
        _ForkServer.get()   # imports its libraries while the study cache is read or built
    try:
        warm = warm_study_cache(out, reference_year=needs_reference_year(all_sources))
    except SurveyDataError:
        print(f"FAILED: the data cannot be analysed as they are; no notebook was run (the notebooks "
              f"and files in {_shown(plan.figures)} are from an earlier run, if any)",
              file=out, flush=True)
        raise
    # the output folders only once the data are known to fit (a failed run creates nothing)
    plan.figures.mkdir(parents=True, exist_ok=True)
    plan.notebooks.mkdir(parents=True, exist_ok=True)
    print(f"study cache ready in {warm:.1f} s; {total} notebook(s) on {jobs} kernel(s) at once"
          + (f", longest first: {', '.join(p.stem[:2] for p in order)}" if jobs > 1 else ""),
          file=out, flush=True)
    runs: dict[Path, NotebookRun] = {}
    with tempfile.TemporaryDirectory() as tmp:
        logs = {source: Path(tmp) / f"{source.stem}.jsonl" for source in all_sources}

        def env_for(source):
            return {"HLSTUDY_EXPORT_LOG": str(logs[source]), "HLSTUDY_FIGURES": str(plan.figures)}

        def done(source, result, seconds):
            nb, stderr = result
            update_index(plan.figures, source.stem, _read_log(logs[source], nb))
            target = plan.notebooks / f"{source.stem}.ipynb"
            changed = write(nb, target)
            print(f"[{len(runs) + 1}/{total}] {source.stem} {seconds:.1f} s"
                  f"{' (updated)' if changed else ''}", file=out, flush=True)
            for text in stderr:
                print(f"    stderr from {source.stem} {text.rstrip()[:500]}", file=out)
            runs[source] = NotebookRun(source, target, seconds, tuple(stderr))

        try:
            execute_many(order, jobs=jobs, env_extra=env_for, on_done=done)
        except NotebookError as exc:
            print(f"FAILED: {str(exc).splitlines()[0]}", file=out, flush=True)
            stale = [p.stem for p in all_sources if p not in runs]
            print(f"not rewritten by this run: {', '.join(stale)} (their notebooks and files in "
                  f"{_shown(plan.figures)} are from an earlier run, if any, or missing)",
                  file=out, flush=True)
            raise
        finally:
            mine = {r.source.stem: r.seconds for r in runs.values() if r.source.parent == NOTEBOOKS}
            if mine and plan.committed:  # the compendium's own notebooks on its own data only
                record_seconds(mine)
    if plan.readme is not None:
        update_readme(plan.figures, plan.readme)
    return [runs[s] for s in all_sources]


def export_language(lang: str, out_dir: Path, *, out=None, jobs: int | None = None) -> Path:
    """Execute every notebook with labels in ``lang``, writing exports to ``out_dir`` only.

    The committed notebooks and ``figures/`` are left untouched (``out_dir`` may not be
    ``figures/``); this is how the thesis author gets the English (or Vietnamese) versions of
    every figure and table.  As :func:`reproduce` does, ``out_dir/index.csv`` says which
    notebook and cell made each file, with its title in ``lang`` (:func:`update_index`:
    sorted, the same bytes whatever ``jobs``), and files of a notebook's prefix that the run no
    longer writes are removed.

    A notebook whose every input is as it was at an earlier export (its source, hlstudy's
    source, the libraries, the data, the settings: :func:`hlstudy._keptexport.key`) is not run
    again: the files that export wrote, kept in ``data/processed/cache/exports``, are written
    instead (``HLSTUDY_EXPORT_CACHE=0`` runs every notebook).  Said on ``out`` per notebook;
    the study is read first either way (:func:`warm_study_cache`), so a workbook's sheet note
    is printed at every export.
    """
    import tempfile

    from hlstudy.paths import FIGURES

    out = sys.stdout if out is None else out

    if lang not in ("vi", "en"):
        raise NotebookError(f"language must be 'vi' or 'en', got {lang!r}")
    if Path(out_dir).resolve() == FIGURES.resolve():
        raise NotebookError(f"the {lang} export would overwrite the committed figures/: choose "
                            "another folder (default build/figures-<lang>/)")
    from hlstudy import _keptexport

    all_sources = sources()
    total = len(all_sources)
    jobs = default_jobs(total) if jobs is None else max(1, int(jobs))
    # a notebook whose inputs are those of an earlier export writes what that export kept
    # (hlstudy._keptexport); the others run
    settings = {"HLSTUDY_LANG": lang, "HLSTUDY_FIGURES": str(out_dir)}
    keys = {source: _keptexport.key(source, kernel_env(settings)) for source in all_sources}
    kept = {source: found for source in all_sources if (found := _keptexport.read(keys[source])) is not None}
    to_run = [source for source in all_sources if source not in kept]
    if to_run and fork_enabled():
        _ForkServer.get()
    # also when every notebook is kept: it prints the workbook sheet read without being named
    # after its instrument, which the kept files cannot say (reads the cached study: ~0.1 s)
    warm_study_cache(out)
    out_dir.mkdir(parents=True, exist_ok=True)  # only once the data are known to fit
    count = []
    if kept:   # said once: a first export after the tests finds the suite's export kept
        print(f"{len(kept)} of {total} notebooks have the inputs of an earlier {lang} export in this "
              f"checkout (the test suite makes one), kept in {_shown(_keptexport.folder())}: their "
              "files are written as kept, without running them (HLSTUDY_EXPORT_CACHE=0 runs them)",
              file=out, flush=True)
    for source, (rows, files) in kept.items():
        _keptexport.restore(files, out_dir)
        update_index(out_dir, source.stem, rows)
        count.append(source)
        print(f"[{len(count)}/{total}] {source.stem} ({lang}) unchanged since an earlier export: "
              f"its {len(files)} files written as kept", file=out, flush=True)
    if not to_run:
        return out_dir
    with tempfile.TemporaryDirectory() as tmp:
        logs = {source: Path(tmp) / f"{source.stem}.jsonl" for source in to_run}

        def env_for(source):
            return {**settings, "HLSTUDY_EXPORT_LOG": str(logs[source])}

        def done(source, result, seconds):
            count.append(source)
            rows = _read_log(logs[source], result[0])
            update_index(out_dir, source.stem, rows)
            _keptexport.keep(keys[source], rows, out_dir)
            print(f"[{len(count)}/{total}] {source.stem} ({lang}) {seconds:.1f} s", file=out, flush=True)

        execute_many(longest_first(to_run) if jobs > 1 else to_run, jobs=jobs,
                     env_extra=env_for, on_done=done)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlstudy.runner")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="execute notebooks and write .ipynb")
    rep.add_argument("notebooks", nargs="*", help="numbers or names to run (default: all)")
    rep.add_argument("--jobs", "-j", type=int, default=None,
                     help="kernels at once (default HLSTUDY_JOBS or the CPU cores)")
    sub.add_parser("check", help="check .py / .ipynb pairing")
    exp = sub.add_parser("export", help="export every figure and table in one language elsewhere")
    exp.add_argument("--lang", default="en", choices=("vi", "en"))
    exp.add_argument("--out", default=None, help="output folder (default build/figures-<lang>)")
    exp.add_argument("--jobs", "-j", type=int, default=None, help="kernels at once")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.command == "export":
        target = Path(args.out) if args.out else ROOT / "build" / f"figures-{args.lang}"
        if not args.out and os.environ.get("HLSTUDY_FIGURES", "").strip():
            # HLSTUDY_FIGURES says where reproduce writes; an export goes where --out says
            print(f"note: HLSTUDY_FIGURES is where reproduce writes; this export writes to {target} "
                  "(choose its folder with --out)", flush=True)
        try:
            export_language(args.lang, target.resolve(), jobs=args.jobs)
        except (NotebookError, SurveyDataError) as exc:
            print(f"\nERROR {exc}", file=sys.stderr)
            return 1
        print(f"figures, tables and index.csv ({args.lang}) written to {target}")
        return 0
    if args.command == "reproduce":
        try:
            plan = output_plan()
            start = time.perf_counter()
            runs = reproduce(args.notebooks or None, plan=plan, jobs=args.jobs)
        except (NotebookError, SurveyDataError) as exc:
            print(f"\nERROR {exc}", file=sys.stderr)
            return 1
        total = sum(r.seconds for r in runs)
        print(f"{len(runs)} notebook(s) executed in {time.perf_counter() - start:.1f} s "
              f"(kernels' wall times add up to {total:.1f} s)")
        if not plan.committed:
            print(f"figures, tables and index.csv written to {plan.figures}")
            print(f"executed notebooks written to {plan.notebooks}")
        return 0
    problems = [p for s in sources() for p in check_pairing(s)]
    for p in problems:
        print(p)
    print(json.dumps({"notebooks": len(sources()), "problems": len(problems)}))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
