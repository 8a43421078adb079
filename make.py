#!/usr/bin/env python3
"""Task script of the hlstudy compendium (standard library only: needs nothing but python3).

    python3 make.py reproduce   set up .venv, execute every notebook, regenerate figures/
                                (kernels in parallel: --jobs N or HLSTUDY_JOBS, default the cores)
                                (with HLSTUDY_DATA or hlstudy.toml: own data, outputs to
                                HLSTUDY_FIGURES or build/own-data/, committed files untouched)
    python3 make.py test        set up .venv, lint, run the whole test suite (incl. notebooks)
                                on parallel workers (HLSTUDY_TEST_WORKERS, default auto)
    python3 make.py lab         open JupyterLab on notebooks/ with the project's environment
    python3 make.py export --lang en [--out DIR]
                                every figure and table with English labels (default build/figures-en/)
    python3 make.py data        regenerate the simulated demonstration exports in data/raw/
    python3 make.py validate [--replications N] [--workers K] [--out DIR]
                                method validation: N simulated studies per scenario through the
                                whole chain, results to data/validation/ (read by notebook 07)
    python3 make.py lock        re-pin requirements.lock from the current .venv (maintainers)

Set-up: ``.venv/`` is created with ``python3 -m venv`` when missing, and the project is
installed into it with the pinned versions of ``requirements.lock`` whenever
``pyproject.toml`` or the lock file changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".hlstudy-installed"
EXTRAS = "notebooks,dev"


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def log(message: str) -> None:
    print(f"[make] {message}", flush=True)


def project_env() -> dict[str, str]:
    """The environment of the project's own commands: Python may keep its compiled bytecode.

    Some environments set ``PYTHONDONTWRITEBYTECODE`` (CI images often do).  Then no process
    keeps what it compiled: each test worker compiles hlstudy again and pytest rewrites the
    asserts of every test module again (3.7 of the 7.2 s a worker spends collecting the
    suite), and so does every kernel and subprocess.  The commands below therefore let
    Python write ``__pycache__`` folders, which ``.gitignore`` excludes; nothing else about
    the environment changes.  The installer runs with the environment as it is.

    On an x86-64 CPU with AVX2 the commands also get ``OPENBLAS_CORETYPE=Haswell``
    (``hlstudy/_blas.py``): OpenBLAS then uses the same kernels on every such CPU, and the
    notebooks write the committed bytes on an AVX-512 machine as well.  A value already set
    is kept.

    This checkout comes first on ``PYTHONPATH``: every command, test subprocess and kernel
    imports this checkout's ``hlstudy``, also where ``.venv`` is another checkout's (linked
    or copied), whose editable install points there.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(_blas().pinned_env(env))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                      if p and Path(p).resolve() != ROOT]])
    return env


def _blas():
    """``hlstudy/_blas.py`` loaded as a file (standard library only), without the package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hlstudy_blas", ROOT / "hlstudy" / "_blas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(cmd: list[str], *, installer: bool = False, **kwargs) -> None:
    if not installer:
        kwargs.setdefault("env", project_env())
    result = subprocess.run(cmd, cwd=ROOT, **kwargs)
    if result.returncode != 0:
        log(f"command failed ({result.returncode}): {' '.join(str(c) for c in cmd)}")
        raise SystemExit(result.returncode)


def install_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def shared_venv_note() -> str | None:
    """A note when ``.venv`` is a link to another checkout's environment, else None."""
    if not VENV.is_symlink():
        return None
    return (f"note: .venv links to {VENV.resolve()}, another checkout's environment; this checkout's code "
            "is what runs (it comes first on PYTHONPATH), but a lock file that differs reinstalls that "
            "environment: remove the link (rm .venv) to give this checkout its own")


def setup() -> Path:
    """Create .venv if missing and install the pinned environment if it is out of date."""
    python = venv_python()
    if not python.exists():
        log(f"creating virtual environment {VENV.relative_to(ROOT)}/ with {sys.executable}")
        start = time.perf_counter()
        run([sys.executable, "-m", "venv", str(VENV)], installer=True)
        log(f"created in {time.perf_counter() - start:.1f} s")
    note = shared_venv_note()
    if note:
        log(note)
    fingerprint = install_fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return python
    log("installing hlstudy and its pinned dependencies (requirements.lock) ...")
    start = time.perf_counter()
    quiet = ["--quiet"] if os.environ.get("CI") else []
    run([str(python), "-m", "pip", "install", *quiet, "--disable-pip-version-check", "-c", str(LOCK),
         "-e", f".[{EXTRAS}]"], installer=True)
    STAMP.write_text(fingerprint + "\n")
    log(f"installed in {time.perf_counter() - start:.1f} s")
    return python


def reproduce(args: list[str]) -> None:
    python = setup()
    start = time.perf_counter()
    own = (os.environ.get("HLSTUDY_DATA", "").strip() or os.environ.get("HLSTUDY_INSTRUMENT", "").strip()
           or (ROOT / "hlstudy.toml").is_file())
    if own:
        log("executing notebooks; HLSTUDY_DATA, HLSTUDY_INSTRUMENT or hlstudy.toml may name your own data: then "
            "outputs go to HLSTUDY_FIGURES or build/own-data/ and committed files are not "
            "touched (the runner says below where it writes)")
    else:
        log("executing notebooks (figures and tables are written to figures/)")
    run([str(python), "-m", "hlstudy.runner", "reproduce", *args])
    log(f"reproduce finished in {time.perf_counter() - start:.1f} s")


def test(args: list[str]) -> None:
    python = setup()
    start = time.perf_counter()
    log("lint: ruff check")
    targets = [t for t in ("hlstudy", "tests", "benchmarks", "notebooks", "make.py") if (ROOT / t).exists()]
    run([str(python), "-m", "ruff", "check", *targets])
    # parallel workers (pytest-xdist, pinned in the lock): one group per test module and per
    # notebook (tests/conftest.py), longest first; "-n 0" in args runs everything in-process
    chosen = any(a.startswith(("-n", "--numprocesses")) or a == "no:xdist" for a in args)
    workers = [] if chosen else ["-n", os.environ.get("HLSTUDY_TEST_WORKERS", "auto"),
                                 "--dist", "loadgroup", "--no-loadscope-reorder"]
    # anyio (a dependency of the Jupyter packages) registers a pytest plugin that no test here
    # uses; importing it costs the controller and every worker ~0.07 s of CPU at start-up
    unused = ["-p", "no:anyio"]
    log(f"pytest {' '.join(workers)} (this also executes every notebook)".replace("  ", " "))
    run([str(python), "-m", "pytest", *unused, *workers, *args])
    log(f"tests finished in {time.perf_counter() - start:.1f} s")


def lab(args: list[str]) -> None:
    python = setup()
    run([str(python), "-m", "jupyter", "lab", "--notebook-dir", str(ROOT / "notebooks"), *args])


def export(args: list[str]) -> None:
    python = setup()
    run([str(python), "-m", "hlstudy.runner", "export", *args])


def data(args: list[str]) -> None:
    python = setup()
    run([str(python), "-m", "hlstudy.synthetic", "--write", "data/raw", *args])


def validate(args: list[str]) -> None:
    python = setup()
    start = time.perf_counter()
    # one BLAS thread per process: the replications run in parallel processes
    run([str(python), "-m", "hlstudy.validation", *args],
        env={**project_env(), "OPENBLAS_NUM_THREADS": "1"})
    log(f"validate finished in {time.perf_counter() - start:.1f} s")


def lock(args: list[str]) -> None:
    python = setup()
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    pins = sorted((line for line in frozen if line and not line.lower().startswith("hlstudy")), key=str.lower)
    header = [
        "# Pinned versions of every package hlstudy installs (pip constraints file).",
        "# Regenerate with: python3 make.py lock",
    ]
    LOCK.write_text("\n".join(header + pins) + "\n")
    log(f"wrote {LOCK.name} with {len(pins)} pins")


COMMANDS = {"reproduce": reproduce, "test": test, "lab": lab, "export": export, "data": data,
            "validate": validate, "lock": lock}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    os.chdir(ROOT)
    COMMANDS[argv[0]](argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
