"""One set of BLAS kernels on every x86-64 machine, so that results agree to the last bit.

numpy and scipy ship OpenBLAS built for many CPUs at once; at start-up it picks the kernels of
the CPU it finds.  The kernels differ in the order they add numbers, so the last bits of a
fit depend on the CPU: on an AVX-512 machine (e.g. AMD EPYC Zen 4) notebooks 03, 05 and 07
gave SRMR 0.05575926824 where the committed table, made on an AVX2 machine, says
0.05575926844, and 16 committed files changed by such digits.  Forcing OpenBLAS's Haswell
kernels (AVX2 + FMA, which every x86-64 CPU since 2013 has, and which OpenBLAS also uses for
AMD Zen 1-3) gives the committed bytes on both kinds of machine.

The choice is made with the environment variable ``OPENBLAS_CORETYPE``, which OpenBLAS reads
once, when it is loaded.  :func:`pinned_env` gives the setting; ``make.py`` puts it in the
environment of every command, :func:`hlstudy.runner.kernel_env` in every kernel's, and
``import hlstudy`` in its own process when numpy is not yet loaded.  A value the user set is
kept.  A CPU without AVX2 or FMA (where the Haswell kernels would stop the process with an
illegal instruction) and a non-x86 machine get no setting: their last digits may differ from
the committed files.

Standard library only: ``make.py`` loads this file with the system Python, before the
project's environment exists.
"""

from __future__ import annotations

import os
import platform

#: OpenBLAS's core type for the kernels the committed outputs were made with
CORETYPE = "Haswell"
_X86 = {"x86_64", "amd64", "x64"}


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The CPU's feature flags from Linux's ``/proc/cpuinfo`` (or the text given), or None
    when they cannot be read (not Linux)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpuinfo = fh.read()
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return None


def pinned_env(environ: dict | None = None, *, machine: str | None = None,
               flags: set[str] | None | str = "read") -> dict[str, str]:
    """The variables to add to an environment so that OpenBLAS uses the Haswell kernels.

    Returns ``{"OPENBLAS_CORETYPE": "Haswell"}`` on an x86-64 CPU with AVX2 and FMA whose
    environment (``environ``, default ``os.environ``) does not set ``OPENBLAS_CORETYPE``;
    otherwise ``{}``.  ``machine`` (default ``platform.machine()``) and ``flags`` (default
    read from ``/proc/cpuinfo``; None = unknown) are for tests.  On x86-64 without readable
    flags (macOS, Windows) the kernels are pinned only on the word of ``platform``, which
    cannot tell AVX2: nothing is set there.

    Example: ``subprocess.run(cmd, env={**os.environ, **pinned_env()})``.
    """
    environ = os.environ if environ is None else environ
    if environ.get("OPENBLAS_CORETYPE", "").strip():
        return {}
    machine = (platform.machine() if machine is None else machine).lower()
    if machine not in _X86:
        return {}
    flags = cpu_flags() if flags == "read" else flags
    if not flags or not {"avx2", "fma"} <= set(flags):
        return {}
    return {"OPENBLAS_CORETYPE": CORETYPE}


def pin_this_process() -> bool:
    """Set the pin in this process's environment if numpy (and so OpenBLAS) is not loaded yet.

    Returns True when OpenBLAS will load with the pinned kernels (set here or by the user
    before), False when it is too late or the machine gets no pin.
    """
    import sys

    extra = pinned_env()
    if extra and "numpy" not in sys.modules:
        os.environ.update(extra)
        return True
    return bool(os.environ.get("OPENBLAS_CORETYPE", "").strip()) and not extra
