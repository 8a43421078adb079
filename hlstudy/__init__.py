"""hlstudy: research compendium for a thesis on commune-level officials in Huu Lung, Lang Son.

``hlstudy.load_study`` and ``hlstudy.Study`` (from :mod:`hlstudy.study`) and every subpackage
(``hlstudy.cleaning``, ``hlstudy.sem``, ...) are imported when first used, not when the
package is: ``python -m hlstudy.runner`` or ``from hlstudy.paths import ROOT`` then need
neither pandas nor the cleaning code (0.45 s of CPU per process that does not use them).
``from hlstudy import load_study`` and ``import hlstudy; hlstudy.load_study(...)`` work as
before.
"""

from __future__ import annotations

import importlib
import time

#: When this process began to read hlstudy's code (``time.time()`` as the package's first line
#: ran), inherited by a process forked from it together with the modules it had imported:
#: a source file modified earlier is the code running (:func:`hlstudy._codekey.code_read_from`)
_CODE_READ_FROM = time.time()

__version__ = "0.1.0"

from hlstudy import _blas  # noqa: E402
from hlstudy.errors import SurveyDataError  # noqa: E402

_blas.pin_this_process()  # one set of BLAS kernels on every x86-64 CPU (see hlstudy._blas)

__all__ = ["Study", "SurveyDataError", "load_study"]

#: names defined in a submodule, imported from it at first use
_FROM_STUDY = ("Study", "load_study")


def __getattr__(name: str):
    """``Study``/``load_study`` from :mod:`hlstudy.study`; any other name as a submodule."""
    if name in _FROM_STUDY:
        from hlstudy import study

        value = getattr(study, name)
        globals()[name] = value   # bound once, as an import at the top would
        return value
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")   # sets the attribute itself
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
