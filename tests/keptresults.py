"""Library figures and ledgers for the tests that check their properties, as the notebooks get them.

``with kept_results(): fig = ipma_figure(...)`` calls the library with its result cache on
(:mod:`hlstudy._resultcache`, as the notebook runner's kernels call it): the result is the
read-back of the kept result of the same call, or, the first time, computed, kept and read
back.  The key holds hlstudy's source, every argument's value, the data and reference files,
the label language, every rcParam, the fonts and every installed library's version, so a
change to any of them draws (fits) again: what is checked is always what the current code
makes, and a run after ``make.py reproduce`` or an earlier test run need not draw the
adjustText figures again (issue 15: the figure checks drew each slow figure 3-4 times a run;
``tests/test_result_cache.py`` and ``tests/test_figure_readback.py`` check that a kept
figure is the figure drawn).

Only for calls whose result a test *reads*.  A test that compares two calls (the same bytes
twice, a result that does not depend on the number of workers) or that patches hlstudy
before the call (the key does not see a patch) calls the library directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def kept_results() -> Iterator[None]:
    """Calls in the block use hlstudy's result cache (``HLSTUDY_RESULT_CACHE=1``); the
    setting is put back afterwards."""
    before = os.environ.get("HLSTUDY_RESULT_CACHE")
    os.environ["HLSTUDY_RESULT_CACHE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HLSTUDY_RESULT_CACHE", None)
        else:
            os.environ["HLSTUDY_RESULT_CACHE"] = before
