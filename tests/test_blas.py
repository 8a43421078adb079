"""OpenBLAS uses the same (Haswell) kernels on every x86-64 CPU with AVX2 (hlstudy._blas).

Without the pin an AVX-512 machine wrote 16 committed files with other last digits
(SRMR 0.05575926824 for 0.05575926844); with it, the committed bytes.
"""

import ctypes
import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hlstudy import _blas, runner
from hlstudy.paths import ROOT

AVX2 = "flags\t\t: fpu sse2 avx avx2 fma avx512f\n"
OLD = "flags\t\t: fpu sse2 avx\n"
ELIGIBLE = bool(_blas.pinned_env({}))


def test_pinned_env_on_an_avx2_cpu_only():
    flags = _blas.cpu_flags(AVX2)
    assert flags >= {"avx2", "fma", "avx512f"}
    assert _blas.pinned_env({}, machine="x86_64", flags=flags) == {"OPENBLAS_CORETYPE": "Haswell"}
    assert _blas.pinned_env({}, machine="AMD64", flags=flags) == {"OPENBLAS_CORETYPE": "Haswell"}
    # no AVX2 (the Haswell kernels would be an illegal instruction), no flags, not x86
    assert _blas.pinned_env({}, machine="x86_64", flags=_blas.cpu_flags(OLD)) == {}
    assert _blas.pinned_env({}, machine="x86_64", flags=None) == {}
    assert _blas.cpu_flags("processor : 0\n") is None
    assert _blas.pinned_env({}, machine="aarch64", flags=flags) == {}
    # a value the user chose is kept; an empty one is not a choice
    assert _blas.pinned_env({"OPENBLAS_CORETYPE": "Zen"}, machine="x86_64", flags=flags) == {}
    assert _blas.pinned_env({"OPENBLAS_CORETYPE": " "}, machine="x86_64", flags=flags) != {}


def test_project_commands_and_kernels_get_the_pin(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_under_test", ROOT / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    expected = "Haswell" if ELIGIBLE else None
    assert make.project_env().get("OPENBLAS_CORETYPE") == expected
    assert runner.kernel_env().get("OPENBLAS_CORETYPE") == expected
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Zen")
    assert make.project_env()["OPENBLAS_CORETYPE"] == "Zen"
    assert runner.kernel_env()["OPENBLAS_CORETYPE"] == "Zen"


def _corenames_script(first: str) -> str:
    """A script that imports ``first``, then numpy and scipy, and prints the core name each
    bundled OpenBLAS chose."""
    return f"""
import ctypes, glob, os
import {first}
import numpy, scipy.linalg
site = os.path.dirname(os.path.dirname(numpy.__file__))
for pattern, name in (("numpy.libs/libscipy_openblas64_*", "scipy_openblas_get_corename64_"),
                      ("scipy.libs/libscipy_openblas-*", "scipy_openblas_get_corename")):
    found = glob.glob(os.path.join(site, pattern))
    if not found:
        print("absent")
        continue
    fn = getattr(ctypes.CDLL(found[0]), name)
    fn.restype = ctypes.c_char_p
    print(fn().decode())
"""


@pytest.mark.skipif(not ELIGIBLE, reason="this CPU gets no pin (not x86-64 with AVX2, or OPENBLAS_CORETYPE set)")
def test_import_hlstudy_before_numpy_loads_the_haswell_kernels():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    names = subprocess.run([sys.executable, "-c", _corenames_script("hlstudy")], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    if set(names) == {"absent"}:
        pytest.skip("numpy and scipy do not bundle scipy-openblas here")
    assert set(names) - {"absent"} == {"Haswell"}, names
    # too late once numpy is loaded: the pin says so, and the kernels are the CPU's own
    late = subprocess.run([sys.executable, "-c", "import numpy, os\nfrom hlstudy import _blas\n"
                           "print(_blas.pin_this_process(), os.environ.get('OPENBLAS_CORETYPE'))"],
                          env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert late == ["False", "None"]


@pytest.mark.skipif(not ELIGIBLE and not os.environ.get("OPENBLAS_CORETYPE"),
                    reason="this CPU gets no pin")
def test_this_test_process_runs_the_pinned_kernels():
    import numpy

    found = glob.glob(str(Path(numpy.__file__).parent.parent / "numpy.libs" / "libscipy_openblas64_*"))
    if not found:
        pytest.skip("numpy does not bundle scipy-openblas here")
    fn = ctypes.CDLL(found[0]).scipy_openblas_get_corename64_
    fn.restype = ctypes.c_char_p
    assert fn().decode().lower() == (os.environ.get("OPENBLAS_CORETYPE") or "Haswell").lower()


def _openblas_threads() -> dict[str, int]:
    """How many threads each OpenBLAS loaded in this process runs (numpy's and scipy's)."""
    import numpy
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS)

    site = Path(numpy.__file__).parent.parent
    threads = {}
    for pattern, name in (("numpy.libs/libscipy_openblas64_*", "scipy_openblas_get_num_threads64_"),
                          ("scipy.libs/libscipy_openblas-*", "scipy_openblas_get_num_threads")):
        found = glob.glob(str(site / pattern))
        if found:
            threads[pattern.split("/")[0]] = getattr(ctypes.CDLL(found[0]), name)()
    return threads


def test_this_test_process_runs_single_threaded_blas():
    """``tests/conftest.py`` asks for one BLAS thread before numpy loads.  It came too late
    while pytest's warning filters (``pyproject.toml``) imported ``hlstudy.export`` and so
    numpy first: every test process then ran a second OpenBLAS thread, which spun after each
    call on the core the other worker needed (about 9 s of the suite's CPU)."""
    threads = _openblas_threads()
    if not threads:
        pytest.skip("numpy and scipy do not bundle scipy-openblas here")
    assert threads == dict.fromkeys(threads, 1), threads
