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

A value alone cannot say how many decimals its column shows: a column of means read ``4``
for a mean of exactly 4 beside ``3.750``.  In a notebook kernel :func:`show_numbers_as_read`
therefore also has IPython display every data frame (and series) column by column
(:func:`column_formatter`): a numeric column whose every value is a whole number shows no
decimals, any other numeric column the same ``decimals`` in every cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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


def _real(value) -> bool:
    import numpy as np

    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_))


def column_formatter(values, decimals: int = DECIMALS) -> Callable[[object], str] | None:
    """How a displayed column shows each of its numbers: one number of decimals for the whole
    column, or ``None`` for a column that is not numeric (its cells are shown as pandas shows
    them).

    A column of floats, or of numbers held as objects, whose every finite value is a whole
    number shows them without decimals (``1504``); any other numeric column shows every value
    with ``decimals`` decimals (``4.000`` beside ``3.750``, never ``4``), a non-zero value that
    would round to zero in scientific notation (``9.84e-07``), missing values as ``NaN``.

    >>> f = column_formatter([3.75, 4.0, float("nan")])
    >>> [f(v) for v in (3.75, 4.0, float("nan"), 0.0, -2e-06)]
    ['3.750', '4.000', 'NaN', '0.000', '-2.00e-06']
    >>> [column_formatter([1504.0, 3.0])(v) for v in (1504.0, -0.0)], column_formatter(["a", 1.5])
    (['1504', '0'], None)
    """
    import numpy as np
    import pandas as pd

    float_text(0.0, decimals)   # the argument checked
    values = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        return None   # integers print as integers already
    present = [v for v in values.tolist() if v is not None and v is not pd.NA
               and not (isinstance(v, float | np.floating) and math.isnan(v))]
    if not present or not all(_real(v) for v in present):
        return None
    if not any(isinstance(v, float | np.floating) for v in present):
        return None   # integers held as objects: pandas prints them as integers
    finite = [float(v) for v in present if math.isfinite(float(v))]
    whole = all(v.is_integer() and abs(v) < 1e15 for v in finite)

    def shown(x) -> str:
        if x is None or x is pd.NA:
            return "<NA>" if x is pd.NA else "None"   # as pandas shows them
        value = float(x)
        if math.isnan(value) or math.isinf(value) or whole:
            return float_text(value, decimals)
        text = f"{value:.{decimals}f}"
        if value == 0:
            return f"{0.0:.{decimals}f}"   # never "-0.000"
        if float(text) == 0:
            return f"{value:.2e}"
        return text

    return shown


def _as_before(value, shown, decimals: int) -> bool:
    """Does ``shown`` write ``value`` as pandas did without it (a float by :func:`float_text`,
    an integer held as an object by ``str``)?"""
    if isinstance(value, float):
        return shown(value) == float_text(value, decimals)
    if _real(value):
        return shown(value) == str(value)
    return True


def frame_formatters(frame, decimals: int = DECIMALS) -> list:
    """:func:`column_formatter` of each column of ``frame``, by position, for
    ``DataFrame.to_string(formatters=...)``; ``None`` for a column pandas shows as it is: one
    that is not numeric, or whose every value :func:`float_text` already shows as its column
    does (pandas then lays the column out as before, its sign space included)."""
    out = []
    for j in range(frame.shape[1]):
        shown = column_formatter(frame.iloc[:, j], decimals)
        if shown is not None and all(_as_before(v, shown, decimals)
                                     for v in frame.iloc[:, j].tolist()):
            shown = None
        out.append(shown)
    return out


def frame_text(frame, decimals: int = DECIMALS) -> str:
    """``frame`` as ``repr`` shows it (pandas' display options), each numeric column with one
    number of decimals (:func:`column_formatter`)."""
    from pandas.io.formats import format as fmt

    return frame.to_string(formatters=frame_formatters(frame, decimals),
                           **fmt.get_dataframe_repr_params())


def frame_html(frame, decimals: int = DECIMALS) -> str:
    """``frame`` as a notebook shows it (pandas' ``_repr_html_``, its display options), each
    numeric column with one number of decimals (:func:`column_formatter`)."""
    import pandas as pd
    from pandas.io.formats import format as fmt

    formatter = fmt.DataFrameFormatter(
        frame, na_rep="NaN", formatters=frame_formatters(frame, decimals),
        float_format=pd.get_option("display.float_format"), index_names=True, header=True,
        index=True, bold_rows=True, escape=True, max_rows=pd.get_option("display.max_rows"),
        min_rows=pd.get_option("display.min_rows"),
        max_cols=pd.get_option("display.max_columns"),
        show_dimensions=pd.get_option("display.show_dimensions"), decimal=".")
    return fmt.DataFrameRenderer(formatter).to_html(notebook=True)


def series_text(series, decimals: int = DECIMALS) -> str:
    """``series`` as ``repr`` shows it, its numbers with one number of decimals."""
    from pandas.io.formats import format as fmt

    shown = column_formatter(series, decimals)
    return series.to_string(**({"float_format": shown} if shown else {}),
                            **fmt.get_series_repr_params())


def _show_in_ipython(decimals: int) -> None:
    """Have the running IPython shell (a notebook's kernel) display data frames with
    :func:`frame_html` / :func:`frame_text` and series with :func:`series_text`; nothing
    outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:   # pragma: no cover - IPython is a dependency of the notebooks
        return
    shell = get_ipython()
    if shell is None:
        return
    import pandas as pd

    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, lambda df: frame_html(df, decimals))
    formatters["text/plain"].for_type(
        pd.DataFrame, lambda df, p, cycle: p.text(frame_text(df, decimals)))
    formatters["text/plain"].for_type(
        pd.Series, lambda s, p, cycle: p.text(series_text(s, decimals)))


def show_numbers_as_read(decimals: int = DECIMALS) -> None:
    """Let pandas display every float with :func:`float_text` (``decimals`` decimals) and
    every text and column in full, in this process: ``pd.set_option("display.float_format",
    ...)``, ``display.max_colwidth`` and ``display.max_columns`` ``None`` (pandas cuts a text
    at 50 characters with "..." and a frame at 20 columns: a hypothesis, a cleaning reason or
    a note was shown as its first words).  In an IPython shell (a notebook's kernel) data
    frames and series are also displayed column by column, each numeric column with one
    number of decimals (:func:`column_formatter`).  Each notebook calls it once, after its
    imports.
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
    _show_in_ipython(decimals)
