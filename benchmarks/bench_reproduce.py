"""How long ``make.py reproduce`` and ``make.py test`` take, beside the targets of issue 15.

Run:  .venv/bin/python benchmarks/bench_reproduce.py [--repeat 3] [--jobs 1 2] [--no-tests]
      [--no-sequential] [--no-cold-test] [--test-workers auto] [--commit HEAD] [--keep]
      [--notebooks 01 02 ...] [--env KEY=VALUE ...]

Everything runs in a throw-away ``git worktree`` of ``--commit`` (default ``HEAD``) under
the system temp folder, with this checkout's ``.venv``, so the committed ``notebooks/`` and
``figures/`` of the working tree are never rewritten.  For each ``--jobs`` value the
notebooks are executed ``--repeat`` times (``python -m hlstudy.runner reproduce --jobs N``,
what ``make.py reproduce`` runs after installation; ``--jobs 0`` passes no flag, for commits
whose runner had none), and once more before that for the first value: that first run
builds the study cache of the fresh worktree and fills its export and fit caches, and is
reported apart.  ``--keep`` leaves the worktree in place.  The recorded notebook and
test-group seconds of this checkout (``data/processed/*-seconds.json``) are copied into the
worktree, so that notebooks and test groups start longest first as they do here.  Every
command gets the environment the commit's ``make.py`` gives it (:func:`commit_environment`).  ``--env``
sets variables for every command, e.g. ``HLSTUDY_FORK=0`` (fresh kernel processes) or
``HLSTUDY_FIGURE_FORMATS=pdf,png,svg`` (SVG too), to measure one lever at one commit.  Then the test command
of ``make.py test`` (ruff, then ``pytest -n <workers> --dist loadgroup``, with the plugins
``make.py`` switches off and without the hash seed the notebooks get) runs once, reported apart
(it executes the English export of ``tests/test_english_tables.py``, which the suite keeps), then
``--repeat`` times, and once with ``-n 0`` (in-process, as before issue 15) unless ``--no-sequential``; and once
in a second fresh worktree, before anything has filled its caches (the study cache and the export
caches of ``data/processed/cache``), as on CI's clean clone, unless ``--no-cold-test``.  The
reproduce runs after the first, and the test runs after them, find the caches the first run
filled: a researcher's second run.

Printed: the median wall time of each configuration beside the target (reproduce <= 30 s,
test <= 60 s), the CPU seconds of all child processes (independent of how busy the machine
is) and the load average, because the machine may be shared; before each test run, the CPU
seconds of a fixed workload (:func:`machine_speed`), because this shared machine's speed
drifts by a third within hours and the same suite's CPU seconds with it; whether ``git status`` is
clean after the reproduce runs (byte-identical outputs, when the commit's outputs are
current).  The target lines come last; earlier measurements are in ``benchmarks/README.md``.

Issue 15's measurement:  .venv/bin/python benchmarks/bench_reproduce.py --repeat 3 --no-sequential --no-cold-test
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"reproduce": 30.0, "test": 60.0}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds of the children, return code, last output lines)."""
    cpu0, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
    lines = (result.stdout + result.stderr).strip().splitlines()
    notebooks = [line for line in lines if line.startswith("[") and "/" in line.split("]")[0]]
    tail = "\n".join(notebooks + [line for line in lines[-3:] if line not in notebooks])
    return wall, cpu, result.returncode, tail


def worktree(commit: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="hlstudy-bench-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), commit], cwd=ROOT, check=True,
                   capture_output=True)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


def commit_environment(folder: Path, env: dict) -> dict:
    """``env`` changed as the commit's ``make.py`` changes the environment of its commands.

    From this issue's fifth part on, ``make.py`` lets its commands keep compiled bytecode
    where ``PYTHONDONTWRITEBYTECODE`` is set (``make.project_env``); an older commit's
    ``make.py`` has no such function and runs its commands in the environment as it is.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_of_commit", folder / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "project_env"):
        return dict(env)
    given = module.project_env()
    changed = {k: v for k, v in given.items() if os.environ.get(k) != v}
    return {**{k: v for k, v in env.items() if k in given or k not in os.environ}, **changed}


def remove(folder: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def row(name: str, walls: list[float], cpus: list[float], target: float | None) -> str:
    median = statistics.median(walls)
    verdict = "" if target is None else ("  MET" if median <= target else "  NOT MET")
    spread = f"{min(walls):.1f}-{max(walls):.1f}" if len(walls) > 1 else f"{walls[0]:.1f}"
    return (f"{name:<44} {median:7.1f} s  (runs {spread}; CPU {statistics.median(cpus):6.1f} s)"
            + (f"  target {target:.0f} s{verdict}" if target else ""))


def _unused_plugins(folder: Path) -> list[str]:
    """The plugins the commit's ``make.py test`` switches off (``-p no:anyio`` since this
    issue's twelfth part), so that the benchmark runs the command a user runs."""
    text = (folder / "make.py").read_text(encoding="utf-8")
    return ["-p", "no:anyio"] if '"no:anyio"' in text else []


#: A fixed piece of work in the suite's mix (Python objects, hashing, small numpy arithmetic),
#: run in a fresh interpreter: its CPU seconds say how fast this shared machine is at the moment.
WORKLOAD = """
import hashlib, time
import numpy as np
start = time.process_time()
total, digest, rng = 0, b"", np.random.default_rng(2026)
for k in range(600_000):
    total += len({k: str(k)}) + (k % 7)
    if k % 40 == 0:
        digest = hashlib.sha256(digest + str(k).encode()).digest()
for _ in range(1500):
    a = rng.standard_normal((40, 40))
    total += int(np.linalg.solve(a @ a.T + np.eye(40), a[:, 0]).sum() > 0)
print(f"{time.process_time() - start:.4f}")
"""


def machine_speed(python: str, env: dict, repeat: int = 3) -> float:
    """Median CPU seconds of :data:`WORKLOAD` (lower is faster): printed beside each test run,
    so that runs of different hours can be told apart by the machine's speed, not only by code."""
    times = []
    for _ in range(repeat):
        out = subprocess.run([python, "-c", WORKLOAD], env=env, capture_output=True, text=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def test_run(python: str, folder: Path, env: dict, extra: list[str], name: str) -> tuple[float, float]:
    """ruff, then pytest with ``extra`` (what ``make.py test`` runs); (wall, CPU) seconds."""
    speed = machine_speed(python, env)
    start_cpu, start = _children_cpu(), time.perf_counter()
    lint = subprocess.run([python, "-m", "ruff", "check", "hlstudy", "tests", "benchmarks",
                           "notebooks", "make.py"], cwd=folder, env=env, capture_output=True)
    _, _, rc, tail = timed([python, "-m", "pytest", "-q", *_unused_plugins(folder), *extra], folder, env)
    wall, cpu = time.perf_counter() - start, _children_cpu() - start_cpu
    print(f"  ruff + {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, rc {rc}/{lint.returncode}, "
          f"load {os.getloadavg()[0]:.1f}, fixed workload {speed:.2f} s CPU just before\n"
          f"    {tail.splitlines()[-1] if tail else ''}", flush=True)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[2],
                        help="kernels at once; 0 = no --jobs flag (commits before issue 15)")
    parser.add_argument("--no-tests", action="store_true")
    parser.add_argument("--no-sequential", action="store_true", help="skip the pytest -n 0 run")
    parser.add_argument("--no-cold-test", action="store_true",
                        help="skip the test run in a second fresh worktree (empty caches, as on CI)")
    parser.add_argument("--test-workers", default="auto")
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--keep", action="store_true", help="keep the worktree")
    parser.add_argument("--notebooks", nargs="*", default=[], help="numbers to run (default: all)")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="environment for every command, e.g. HLSTUDY_FORK=0")
    args = parser.parse_args(argv)
    extra_env = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--env takes KEY=VALUE, got {item!r}")
        extra_env[key] = value

    python = str(ROOT / ".venv" / "bin" / "python")
    folder = worktree(args.commit)
    env = commit_environment(folder, dict(os.environ, PYTHONPATH=str(folder), PYTHONHASHSEED="0"))
    for key in ("HLSTUDY_DATA", "HLSTUDY_FIGURES", "HLSTUDY_INSTRUMENT", "HLSTUDY_JOBS", "HLSTUDY_FORK",
                "HLSTUDY_FIGURE_FORMATS", "HLSTUDY_EXPORT_CACHE", "HLSTUDY_FIT_CACHE"):  # --env sets them
        env.pop(key, None)
    env.update(extra_env)
    for name in ("notebook-seconds.json", "test-seconds.json"):   # longest first, as here
        recorded = ROOT / "data" / "processed" / name
        if recorded.is_file():
            (folder / "data" / "processed").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(recorded, folder / "data" / "processed" / name)
    lines = [f"commit {subprocess.run(['git', 'rev-parse', '--short', args.commit], cwd=ROOT, capture_output=True, text=True).stdout.strip()}"
             f", {os.cpu_count()} CPU(s), load average at start {os.getloadavg()[0]:.1f}"
             + (f", env {' '.join(args.env)}" if args.env else "")]
    print(lines[0], flush=True)
    try:
        first = True
        for jobs in args.jobs:
            walls, cpus = [], []
            for k in range(args.repeat + (1 if first else 0)):
                flag = ["--jobs", str(jobs)] if jobs else []  # 0: the commit's default (old runner)
                wall, cpu, rc, tail = timed([python, "-m", "hlstudy.runner", "reproduce", *flag,
                                             *args.notebooks], folder, env)
                if rc != 0:
                    print(f"reproduce --jobs {jobs} failed:\n{tail}")
                    return 1
                label = "cold cache" if first and k == 0 else f"run {len(walls) + 1}"
                print(f"  reproduce --jobs {jobs} ({label}): {wall:.1f} s wall, {cpu:.1f} s CPU, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
                print("    " + "\n    ".join(line for line in tail.splitlines() if line.startswith("[")),
                      flush=True)
                if first and k == 0:
                    continue
                walls.append(wall)
                cpus.append(cpu)
            first = False
            lines.append(row(f"reproduce, {jobs} kernel(s) at once", walls, cpus,
                             TARGETS["reproduce"] if jobs > 1 else None))
        status = "\n".join(   # untracked files count too; the worktree's .venv link is ours
            line for line in subprocess.run(["git", "status", "--porcelain"], cwd=folder,
                                            capture_output=True, text=True).stdout.splitlines()
            if line.strip() and line != "?? .venv")
        lines.append("git status after reproduce: " + ("clean" if not status else
                                                       f"{len(status.splitlines())} file(s) changed"))
        if not args.no_tests:
            runs = [("pytest -n " + args.test_workers + " --dist loadgroup",
                     ["-n", args.test_workers, "--dist", "loadgroup", "--no-loadscope-reorder"],
                     args.repeat, TARGETS["test"])]
            if not args.no_sequential:
                runs.append(("pytest in one process (-n 0)", ["-n", "0"], 1, None))
            # the test command's environment is the user's, as make.py gives it: no hash seed
            test_env = dict(env) if "PYTHONHASHSEED" in extra_env else {
                k: v for k, v in env.items() if k != "PYTHONHASHSEED"}
            for number, (name, extra, repeat, target) in enumerate(runs):
                walls, cpus = [], []
                if number == 0:
                    # the first run after reproduce executes the English export and fills the
                    # suite's own caches (as reproduce's first run fills the study cache): apart
                    wall, cpu = test_run(python, folder, test_env, extra, name + " (first run)")
                    lines.append(row(f"make.py test, first run: ruff + {name}", [wall], [cpu], None))
                for _ in range(repeat):
                    wall, cpu = test_run(python, folder, test_env, extra, name)
                    walls.append(wall)
                    cpus.append(cpu)
                lines.append(row(f"make.py test: ruff + {name}", walls, cpus, target))
            if not args.no_cold_test:
                # a second fresh worktree: no study cache, no export caches, as on CI's clean clone
                cold = worktree(args.commit)
                try:
                    cold_env = dict(env, PYTHONPATH=str(cold))
                    name = "pytest -n " + args.test_workers + ", empty caches (clean clone)"
                    wall, cpu = test_run(python, cold, cold_env, runs[0][1], name)
                    lines.append(row(f"make.py test: ruff + {name}", [wall], [cpu], TARGETS["test"]))
                finally:
                    remove(cold)
    finally:
        if args.keep:
            print(f"worktree kept: {folder}")
        else:
            remove(folder)
    # the target lines last: earlier measurements (other commits, other days) are in
    # benchmarks/README.md, and printing them here made the last lines contradict this run
    print("\n" + "\n".join(lines))
    print("\n(earlier measurements, by commit and date: benchmarks/README.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
