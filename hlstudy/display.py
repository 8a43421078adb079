"""How the notebooks show the numbers of the data frames they display.

pandas prints a float column with six decimals, or in scientific notation as soon as one value
is large or small (``1.779446e+03`` for a χ² beside ``9.838075e-07`` for its p-value), and a
count held as a float as ``1504.000000``.  :func:`show_numbers_as_read` sets pandas'
``display.float_format`` to :func:`float_text` for the notebook's kernel: whole numbers without
decimals, small values in scientific notation, the rest with three decimals, as lavaan's and
psych's printed summaries round.  Only what a notebook *shows* changes: the values, the
exported tables (:mod:`hlstudy.export`, which formats each column itself) and the prose
(:func:`hlstudy.export.number`) are untouched.  The decimal mark is the point: a displayed data
frame is the program's view, beside its English column names.
"""

from __future__ import annotations

import math

#: Decimals of a displayed float (lavaan's ``summary()`` and psych's ``print`` round to 3)
DECIMALS = 3


def float_text(x: float, decimals: int = DECIMALS) -> str:
    """One float of a displayed data frame, as a reader reads it.

    * a whole number (below 10^15 in absolute value): no decimals, ``1504``; zero (also
      ``-0.0``) as ``0``: a value that is zero, not one rounded to zero;
    * a non-zero value that would round to zero at ``decimals`` decimals: scientific notation
      with two decimals, ``9.84e-07`` (a non-zero p-value is never shown as ``0.000``; a data
      frame rounded before it is displayed loses this, so the notebooks display them unrounded);
    * otherwise ``decimals`` decimals, ``0.757``; ``NaN`` and infinities as pandas prints them.

    Raises :class:`hlstudy.export.ExportError` for a ``decimals`` that is not a non-negative
    whole number.

    >>> [float_text(v) for v in (1504.0, 0.757419, 9.838075e-07, -0.0004, float("nan"), 1779.446363)]
    ['1504', '0.757', '9.84e-07', '-4.00e-04', 'NaN', '1779.446']
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        from hlstudy.export import ExportError

        raise ExportError(f"decimals must be a non-negative whole number, got {decimals!r}")
    value = float(x)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"   # never "-0"
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.0f}"
    text = f"{value:.{decimals}f}"
    if float(text) == 0:   # non-zero (a whole number returned above) but rounds to zero
        return f"{value:.2e}"
    return text


def show_numbers_as_read(decimals: int = DECIMALS) -> None:
    """Let pandas display every float with :func:`float_text` (``decimals`` decimals) and
    every text and column in full, in this process: ``pd.set_option("display.float_format",
    ...)``, ``display.max_colwidth`` and ``display.max_columns`` ``None`` (pandas cuts a text
    at 50 characters with "..." and a frame at 20 columns: a hypothesis, a cleaning reason or
    a note was shown as its first words).  Each notebook calls it once, after its imports.
    Raises :class:`hlstudy.export.ExportError` as :func:`float_text` does.

    >>> import pandas as pd
    >>> show_numbers_as_read()
    >>> print(pd.DataFrame({"chi2": [1779.446363], "df": [1504.0], "p": [9.838075e-07]}).to_string(index=False))
        chi2   df        p
    1779.446 1504 9.84e-07
    >>> for option in ("display.float_format", "display.max_colwidth", "display.max_columns"):
    ...     pd.reset_option(option)
    """
    import pandas as pd

    float_text(0.0, decimals)   # the argument checked once, here

    def shown(x: float) -> str:
        return float_text(x, decimals)

    pd.set_option("display.float_format", shown)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", None)
