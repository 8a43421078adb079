"""Progress bars for long computations.

Bootstraps, simulation replications and parallel analysis iterate through
:func:`progress`.  Bars are shown in terminals and JupyterLab; they are switched
off with ``HLSTUDY_PROGRESS=0`` (``make.py`` does so while it executes
notebooks headless, so that committed outputs carry no timings).
"""

from __future__ import annotations

import os
from collections.abc import Iterable


def enabled() -> bool:
    return os.environ.get("HLSTUDY_PROGRESS", "1").strip().lower() not in {"0", "false", "no", "off"}


def progress(iterable: Iterable, *, total: int | None = None, desc: str | None = None, show: bool | None = None):
    """Wrap ``iterable`` in a tqdm bar unless progress display is off.

    ``show=None`` follows ``HLSTUDY_PROGRESS``; ``True``/``False`` force it.
    """
    if show is None:
        show = enabled()
    if not show:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)
