"""Thesis export: publication figures and tables, written deterministically.

Figures
    :func:`save_figure` writes ``<figures>/<stem>.pdf`` (vector, TrueType fonts embedded, so
    text stays searchable: for LaTeX and print) and ``.png`` (300 dpi: for Word); ``.svg``
    (vector, for editing in Inkscape or the web) only on request (:func:`figure_formats`:
    ``HLSTUDY_FIGURE_FORMATS=pdf,png,svg`` or ``[export] figure_formats`` in ``hlstudy.toml``),
    because it costs a third of the saving time and no thesis template needs it.  The house style
    (:func:`use_style`) is seaborn's ``whitegrid`` on the DejaVu Sans font that ships with
    matplotlib, which covers every Vietnamese precomposed letter.  Drawing a glyph the font
    lacks is an :class:`ExportError`, not a silently wrong figure.  Files are byte-identical
    from run to run: volatile metadata (creation dates, software versions in PNG chunks) are
    left out and the SVG id salt is fixed.  A figure is meant to print at its natural size:
    one larger than the 155 × 220 mm of an A4 thesis page's text block (:data:`FIGURE_MAX_MM`)
    is saved with a :class:`FigureSizeWarning`.

Tables
    :func:`save_table` writes ``<stem>.csv`` (UTF-8; title, note and data-status lines first,
    each starting with ``#``; read it back with :func:`read_table_csv`), ``<stem>.tex``
    (booktabs) and ``<stem>.docx`` (APA-like: title above, note below, numbers right-aligned
    with consistent decimals).  Columns that count people are passed as ``count_columns``:
    any cell describing 1–4 people is suppressed (shown as ``<5``), together with the cells
    derived from it (``dependent``), so that no official can be singled out.  A cell hidden
    only to protect another one (complementary suppression) is shown as ``x``, never as
    ``<5``, and the note counts the hidden cells of each kind (:func:`hidden_cells`).
    In Vietnamese (the default) numbers in ``.tex`` and ``.docx`` are printed the Vietnamese
    way: decimal comma, dot between thousands (:func:`format_number`); the CSV stays
    machine-readable (decimal point).

Simulated data
    Every export takes a required keyword ``simulated``.  When it is true the figure carries
    the visible mark ``Dữ liệu mô phỏng / simulated data`` and the table's note says so.  In
    each plot area the mark stands where it covers no legend or text and hides the least
    data (points, lines, error bars, bars, bands); where it must cover data it is drawn
    without its white box.

Language
    Labels are Vietnamese by default; ``set_language("en")`` or ``HLSTUDY_LANG=en`` switches
    every :func:`tr` call to English, so both versions of a figure can be exported.

Example
-------
>>> import matplotlib.pyplot as plt
>>> from hlstudy import export
>>> export.use_style()
>>> fig, ax = plt.subplots()
>>> _ = ax.bar(["Nam", "Nữ"], [3, 4]); _ = ax.set_ylabel(export.tr("Số người", "People"))
>>> paths = export.save_figure(fig, "99_example", simulated=True)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import struct
import sys
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hlstudy import _bincache, _fontdata
from hlstudy._bincache import prune as _prune  # noqa: F401 - this module's names for them
from hlstudy._bincache import touch as _touch  # noqa: F401
from hlstudy.errors import FigureSizeWarning as _FigureSizeWarning
from hlstudy.errors import HlstudyError
from hlstudy.paths import figures_dir

if TYPE_CHECKING:   # pandas is imported where a table is handled: saving a figure needs none
    import pandas as pd

SIMULATED_MARK = "Dữ liệu mô phỏng / simulated data"
#: The mark on two lines, for a plot area narrower than the mark on one (a panel of several).
SIMULATED_MARK_LINES = SIMULATED_MARK.replace(" / ", " /\n")
#: The smallest text (points) a figure prints: figures are printed at 100 % of their saved
#: size (sized to the thesis' 155-mm text width), and text under 7 pt is too small on paper.
#: Every text of the library's figures is at least this large, the simulated-data marks
#: included (``tests/pagefit.py``, ``tests/test_figure_text.py``).
MIN_TEXT_PT = 7.0
SUPPRESSED = "<5"
#: Mark of a cell hidden to protect another (complementary or secondary suppression): its
#: true value may be 5 or more, so it must not read "<5".  Statistical offices print "x"
#: with a note (e.g. Statistics Canada, Eurostat's "c"); Hundepool et al. (2012), ch. 4.
COMPLEMENTARY = "x"
HIDDEN_MARKS = (SUPPRESSED, COMPLEMENTARY)
MIN_CELL = 5
#: Every format :func:`save_figure` can write.
FIGURE_FORMATS = ("pdf", "svg", "png")
#: What it writes by default (:func:`figure_formats`): vector PDF for LaTeX and print,
#: 300-dpi PNG for Word.  SVG is opt-in.
DEFAULT_FIGURE_FORMATS = ("pdf", "png")
TABLE_FORMATS = ("csv", "tex", "docx")
DPI = 300
FONT = "DejaVu Sans"
_STEM = re.compile(r"^\d{2}_[a-z0-9][a-z0-9_]*$")
_LANGS = ("vi", "en")
_language: str | None = None


class ExportError(HlstudyError, ValueError):
    """A figure or table cannot be exported as asked."""


#: defined in :mod:`hlstudy.errors` (imported without numpy, so that pytest's warning filter in
#: ``pyproject.toml`` can name it before ``tests/conftest.py`` sets up BLAS); named here too
FigureSizeWarning = _FigureSizeWarning


# --------------------------------------------------------------------------- language


def set_language(lang: str) -> None:
    """Set the label language for :func:`tr` (``"vi"`` or ``"en"``)."""
    global _language
    if lang not in _LANGS:
        raise ExportError(f"language must be one of {_LANGS}, got {lang!r}")
    _language = lang


def language() -> str:
    """The active label language: :func:`set_language`, else ``HLSTUDY_LANG``, else ``"vi"``."""
    if _language is not None:
        return _language
    env = os.environ.get("HLSTUDY_LANG", "vi").strip().lower() or "vi"
    if env not in _LANGS:
        raise ExportError(f"HLSTUDY_LANG must be one of {_LANGS}, got {env!r}")
    return env


def tr(vi: str, en: str) -> str:
    """Return the Vietnamese or English label according to :func:`language`.

    >>> set_language("en"); tr("Xã", "Commune")
    'Commune'
    >>> set_language("vi"); tr("Xã", "Commune")
    'Xã'
    """
    return en if language() == "en" else vi


#: The minus sign of every printed negative number (U+2212), in both languages' prose and
#: printed tables (``.tex``, ``.docx``), as the figures' tick labels print it; the hyphen-minus
#: ``-`` is a hyphen to a reader ("D1-D5", "2025-07-01").  Machine-readable CSV columns keep
#: their numbers as numbers.
MINUS = "\u2212"


def minus_sign(text: str) -> str:
    """``text``, a number just formatted by Python, with its leading hyphen-minus written as
    the minus sign :data:`MINUS`.

    >>> minus_sign("-0.25"), minus_sign("0.25")
    ('\u22120.25', '0.25')
    """
    text = str(text)
    return MINUS + text[1:] if text.startswith("-") else text


def number(x, decimals: int = 0, *, percent: bool = False, lang: str | None = None) -> str:
    """A number for prose in the label language: Vietnamese ``12.345,6`` or English ``12,345.6``.

    Digits are grouped by thousands from 10,000 up, as the tables print them
    (:func:`format_number`; SI/ISO 80000), so that a χ² of 1771,034 in a table is 1771,0 in the
    prose beside it, not 1.771,0.  ``percent=True`` multiplies by 100 and appends ``%``.
    Missing or non-finite values print as ``–``; a value that rounds to zero never prints as
    ``-0``; a negative number prints with the minus sign :data:`MINUS` (``−0,05``), never a
    hyphen.

    >>> number(121735, lang="vi"), number(806.74, 2, lang="vi"), number(0.523, 1, percent=True, lang="vi")
    ('121.735', '806,74', '52,3%')
    >>> number(1234.5, 1, lang="en"), number(12345.5, 1, lang="en"), number(float("nan"))
    ('1234.5', '12,345.5', '–')
    >>> number(-0.052, 2, lang="vi") == "\u22120,05"
    True
    """
    import pandas as pd
    if not isinstance(decimals, int | np.integer) or isinstance(decimals, bool) or decimals < 0:
        raise ExportError(f"decimals must be a non-negative integer, got {decimals!r}")
    if x is None or x is pd.NA:
        return "–"
    try:
        value = float(x)
    except (TypeError, ValueError) as err:
        raise ExportError(f"number() needs a number, got {x!r}") from err
    if not math.isfinite(value):
        return "–"
    if percent:
        value *= 100
    return _grouped(f"{value:.{decimals}f}", lang=lang) + ("%" if percent else "")


def _grouped(text: str, *, lang: str | None = None) -> str:
    """A number already printed with a decimal point (``f"{x:.1f}"``) as the thesis prints it,
    in prose (:func:`number`) and in tables (:func:`format_number`) alike: digits grouped by
    thousands from 10,000 up, tested on the printed (rounded) value, so that 9999.96 with one
    decimal prints ``10.000,0`` wherever it appears; Vietnamese ``12.345,6`` / English
    ``12,345.6``; no ``-0``; a negative number with :data:`MINUS`.

    >>> _grouped("9999.96", lang="vi"), _grouped(f"{9999.96:.1f}", lang="vi"), _grouped("-0.0", lang="en")
    ('9999,96', '10.000,0', '0.0')

    Raises :class:`ExportError` for a text that is not a printed number.
    """
    try:
        value = float(text)
    except (TypeError, ValueError) as err:
        raise ExportError(f"_grouped() needs a number printed with a point, got {text!r}") from err
    if value == 0:
        text = text.lstrip("-")
    if math.isfinite(value) and abs(value) >= 10_000:
        whole, point, frac = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        text = f"{sign}{int(whole.lstrip('-+')):,d}{point}{frac}"
    if (lang or language()) == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return minus_sign(text)


def people_count(k, *, lang: str | None = None) -> str:
    """A count of people for prose, with the tables' small-cell rule: 1 to ``MIN_CELL − 1``
    prints ``dưới 5`` / ``fewer than 5``; 0 and larger counts print as numbers.

    >>> people_count(3, lang="vi"), people_count(0, lang="vi"), people_count(11, lang="en")
    ('dưới 5', '0', '11')
    """
    try:
        n = int(k)
    except (TypeError, ValueError) as err:
        raise ExportError(f"people_count() needs a whole number, got {k!r}") from err
    if n != k or n < 0:
        raise ExportError(f"people_count() needs a whole number of people, got {k!r}")
    if 0 < n < MIN_CELL:
        return f"dưới {MIN_CELL}" if (lang or language()) == "vi" else f"fewer than {MIN_CELL}"
    return number(n, lang=lang)


def number_beside(x, cutoff, decimals: int = 2, *, lang: str | None = None, most: int = 4) -> str:
    """:func:`number` with as many decimals (from ``decimals`` up to ``most``) as it takes for
    ``x`` not to print equal to ``cutoff`` unless it is: a CR of 0.6951 against a cut-off of
    0.70 prints ``0,695``, never ``0,70``, which reads as meeting it.

    >>> number_beside(0.6951, 0.70, lang="vi"), number_beside(0.68, 0.70, lang="vi"), number_beside(0.7, 0.7, lang="vi")
    ('0,695', '0,68', '0,70')
    """
    d = decimals
    try:
        value, cut = float(x), float(cutoff)
    except (TypeError, ValueError) as err:
        raise ExportError(f"number_beside() needs numbers, got {x!r} and {cutoff!r}") from err
    while d < most and value != cut and f"{value:.{d}f}" == f"{cut:.{d}f}":
        d += 1
    return number(value, d, lang=lang)


def p_text(p: float, decimals: int = 3, *, lang: str | None = None) -> str:
    """A p-value for prose: ``< 0,001`` below the smallest printable value, else ``= 0,023``.

    >>> p_text(0.0001, lang="vi"), p_text(0.0234, lang="en")
    ('< 0,001', '= 0.023')
    """
    floor = 10.0 ** -decimals
    if p is None or not math.isfinite(float(p)):
        return "–"
    if not 0 <= float(p) <= 1:
        raise ExportError(f"a p-value lies in [0, 1], got {p!r}")
    if float(p) < floor:
        return "< " + number(floor, decimals, lang=lang)
    return "= " + number(p, decimals, lang=lang)


# --------------------------------------------------------------------------- Vietnamese order

_VI_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
#: tone marks in the dictionary order: none, huyền, hỏi, ngã, sắc, nặng
_VI_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_VI_LETTER_MARKS = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê",
                    ("o", "\u0302"): "ô", ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}


def vi_sort_key(text) -> tuple:
    """Sort key in Vietnamese alphabetical order (TCVN 5712; dictionary order).

    Letters first, in the Vietnamese alphabet (``a ă â b c d đ e ê … o ô ơ … u ư …``), so
    that Đ follows D and Hòa precedes Hồ; tone marks only break ties (none, huyền, hỏi, ngã,
    sắc, nặng); case is ignored.  Prefixes such as "TT " count as written.

    >>> sorted(["Đồng Tân", "Hồ Sơn", "Hòa Thắng", "Cai Kinh", "Dương"], key=vi_sort_key)
    ['Cai Kinh', 'Dương', 'Đồng Tân', 'Hòa Thắng', 'Hồ Sơn']
    """
    import unicodedata

    letters, tones = [], []
    for ch in unicodedata.normalize("NFC", str(text)).casefold():
        parts = unicodedata.normalize("NFD", ch)
        base, marks = parts[0], parts[1:]
        tone = 0
        for m in marks:
            if m in _VI_TONES:
                tone = _VI_TONES[m]
            elif (base, m) in _VI_LETTER_MARKS:
                base = _VI_LETTER_MARKS[(base, m)]
        if base in _VI_ALPHABET:
            letters.append((0, _VI_ALPHABET.index(base)))
        elif base == " ":
            letters.append((-1, 0))   # "Yên Bình" before "Yênbinh": word boundary first
        else:
            letters.append((1, ord(base)))
        tones.append(tone)
    return tuple(letters), tuple(tones)


def vi_sorted(values) -> list:
    """``values`` sorted with :func:`vi_sort_key`."""
    return sorted(values, key=vi_sort_key)


# --------------------------------------------------------------------------- style


def style_rc() -> dict:
    """The matplotlib rcParams of the house style (also applied by :func:`use_style`)."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [FONT],
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "figure.dpi": 100,
        "savefig.dpi": DPI,
        "savefig.bbox": "tight",
        "pdf.fonttype": 42,  # embed TrueType: searchable, correct Vietnamese text
        "ps.fonttype": 42,
        "svg.fonttype": "path",  # glyphs as paths: the SVG looks the same everywhere
        "svg.hashsalt": "hlstudy",
        "axes.unicode_minus": True,
    }


def use_style(lang: str | None = None) -> None:
    """Apply the house style (seaborn ``whitegrid``, ``paper`` context, DejaVu Sans).

    ``lang`` optionally sets the label language at the same time.  matplotlib then reads its
    fonts from memory (:func:`hlstudy._fontdata.install`: the same figures, less CPU).
    """
    import matplotlib as mpl
    import seaborn as sns

    if lang is not None:
        set_language(lang)
    _fontdata.install()   # matplotlib reads its fonts from memory (hlstudy._fontdata)
    sns.set_theme(context="paper", style="whitegrid", palette="deep", rc=style_rc())
    mpl.rcParams.update(style_rc())


#: A decimal point between digits, not part of a longer dotted run (a date 01.12.2026, a
#: version 0.6.17 or a section number 2.1.3 stays as written) nor of a number already
#: written with a decimal comma (1.234,5).
_POINT_DECIMAL = re.compile(r"(?<![\d.,])(\d+)\.(\d+)(?![\d]|[.,]\d)")
#: ``1.234``: a Vietnamese thousands separator (:func:`number`), not a decimal point.
_THOUSANDS = re.compile(r"[1-9]\d{0,2}")


def decimal_comma(text: str, *, thousands: bool = True) -> str:
    r"""``text`` with each decimal point between digits written as a comma (Vietnamese).

    With ``thousands`` (the default, for texts that may hold counts :func:`number` wrote) a
    point followed by exactly three digits after a number from 1 to 999 is read as the
    Vietnamese thousands separator (``n = 1.234``) and kept; ``thousands=False`` is for
    numbers that have no thousands separator, such as the tick labels of matplotlib's
    numeric formatters (``1.025`` on an axis from 1 to 1.1 is one and 25 thousandths).  In
    mathtext (``$...$``) the comma is braced, so that it gets no space after it.

    >>> decimal_comma("3.0"), decimal_comma("−0.25 and 21.65"), decimal_comma("NĐ 33/2023")
    ('3,0', '−0,25 and 21,65', 'NĐ 33/2023')
    >>> decimal_comma("01.12.2026 v0.6.17"), decimal_comma(r"$\mathdefault{2.5}$")
    ('01.12.2026 v0.6.17', '$\\mathdefault{2{,}5}$')
    >>> decimal_comma("n = 1.234; 1.234,5; 0.125; 106.30")
    'n = 1.234; 1.234,5; 0,125; 106,30'
    >>> decimal_comma("1.025", thousands=False)
    '1,025'
    """
    text = str(text)
    comma = "{,}" if len(text) > 1 and text.startswith("$") and text.endswith("$") else ","

    def swap(m):
        whole, frac = m.group(1), m.group(2)
        if thousands and len(frac) == 3 and _THOUSANDS.fullmatch(whole):
            return m.group(0)   # 1.234 people, as number() writes them in Vietnamese
        return f"{whole}{comma}{frac}"

    return _POINT_DECIMAL.sub(swap, text)


def _formatter_base():
    from matplotlib.ticker import Formatter

    return Formatter


def _numeric_formatters() -> tuple[type, ...]:
    """matplotlib's formatters that write a number with a decimal point and no thousands
    separator (``axes.formatter.use_locale`` is off in the house style)."""
    from matplotlib import ticker

    return (ticker.ScalarFormatter, ticker.LogFormatter, ticker.EngFormatter,
            ticker.PercentFormatter, ticker.FormatStrFormatter)


class _DecimalCommaFormatter(_formatter_base()):
    """Any tick formatter, its labels (and offset text) written with :func:`decimal_comma`.

    The labels of matplotlib's numeric formatters have no thousands separator, so every
    point between their digits is a decimal point (``1.025``); the labels of any other
    formatter (a function, fixed labels) may hold counts :func:`number` wrote (``1.234``)."""

    def __init__(self, inner):
        self.inner = inner
        self.thousands = not isinstance(inner, _numeric_formatters())

    def set_axis(self, axis):
        self.axis = axis
        self.inner.set_axis(axis)

    def _comma(self, text):
        return decimal_comma(text, thousands=self.thousands)

    def __call__(self, x, pos=None):
        return self._comma(self.inner(x, pos))

    def format_ticks(self, values):
        return [self._comma(t) for t in self.inner.format_ticks(values)]

    def format_data(self, value):
        return self._comma(self.inner.format_data(value))

    def format_data_short(self, value):
        return self._comma(self.inner.format_data_short(value))

    def get_offset(self):
        return self._comma(self.inner.get_offset())

    def set_locs(self, locs):
        self.locs = locs
        self.inner.set_locs(locs)

    def fix_minus(self, s):
        return self.inner.fix_minus(s)


def localise_numbers(fig, lang: str | None = None) -> None:
    """Write the numbers of ``fig`` the way the label language does, in one place.

    In Vietnamese (``lang``, default :func:`language`) every axis's tick labels and offset
    text (whatever formatter made them) and every number in the figure's own texts (axes
    and figure texts, titles, axis labels, legends) use the decimal comma
    (:func:`decimal_comma`); in English nothing changes.  :func:`save_figure` calls it, so
    no figure needs its own comma formatter.  Calling it twice changes nothing more."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    lang = lang or language()
    if lang not in _LANGS:
        raise ExportError(f"language must be one of {_LANGS}, got {lang!r}")
    if lang != "vi":
        return
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                formatter = get()
                if not isinstance(formatter, _DecimalCommaFormatter):
                    put(_DecimalCommaFormatter(formatter))
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
             for t in axis.get_ticklabels(which="both")}
    for text in fig.findobj(lambda a: isinstance(a, Text) and not isinstance(a, Legend)):
        if id(text) in ticks:
            continue   # made by the formatters at each draw
        old = text.get_text()
        new = decimal_comma(old)
        if new != old:
            text.set_text(new)


# --------------------------------------------------------------------------- formats


def _parse_formats(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v for v in re.split(r"[\s,;]+", value.strip().lower()) if v]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = [v.strip().lower() for v in value]
    else:
        raise ExportError(f"{where} must be a list of formats among {FIGURE_FORMATS}, got {value!r}")
    bad = [v for v in items if v not in FIGURE_FORMATS]
    if bad or not items:
        raise ExportError(f"{where}: figure formats must be among {FIGURE_FORMATS}, got {items}")
    return tuple(f for f in FIGURE_FORMATS if f in items)


def figure_formats() -> tuple[str, ...]:
    """The figure formats :func:`save_figure` writes when ``formats`` is not given.

    ``HLSTUDY_FIGURE_FORMATS`` (e.g. ``pdf,png,svg``), else ``figure_formats`` of the
    ``[export]`` table of ``hlstudy.toml`` (e.g. ``["pdf", "png", "svg"]``), else
    :data:`DEFAULT_FIGURE_FORMATS`; always in the order of :data:`FIGURE_FORMATS`.  An
    unknown format raises :class:`ExportError`.

    >>> figure_formats()  # doctest: +SKIP
    ('pdf', 'png')
    """
    raw = os.environ.get("HLSTUDY_FIGURE_FORMATS", "").strip()
    if raw:
        return _parse_formats(raw, "HLSTUDY_FIGURE_FORMATS")
    from hlstudy.config import _settings

    path, settings = _settings()
    section = (settings or {}).get("export", {})
    if not isinstance(section, dict):
        raise ExportError(f"{path}: [export] must be a table")
    if "figure_formats" in section:
        return _parse_formats(section["figure_formats"], f"{path}: [export] figure_formats")
    return DEFAULT_FIGURE_FORMATS


# --------------------------------------------------------------------------- provenance


def _record(stem: str, kind: str, paths: dict[str, Path], title: str = "") -> None:
    """Append what was exported to ``HLSTUDY_EXPORT_LOG`` (set by the notebook runner).

    Each line is JSON with the stem, the formats and the notebook cell (the execution count
    of the running cell) that made it; the runner turns it into ``figures/index.csv``.  The
    count is that of the execution in progress (``displayhook.exec_result``), not
    ``shell.execution_count``, which IPython 9 advances before the cell runs (it named the
    next code cell).
    """
    log_path = os.environ.get("HLSTUDY_EXPORT_LOG")
    if not log_path:
        return
    import json

    cell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
        running = getattr(getattr(shell, "displayhook", None), "exec_result", None)
        cell = getattr(running, "execution_count", None)
    except ImportError:  # pragma: no cover - IPython ships with the notebook extra
        cell = None
    entry = {"stem": stem, "kind": kind, "formats": sorted(paths), "cell": cell, "title": title}
    with open(log_path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- figures


def _check_stem(stem: str) -> None:
    if not isinstance(stem, str) or not _STEM.match(stem):
        raise ExportError(
            f"file stem {stem!r} must look like '04_caterpillar_quality': two-digit notebook "
            "number, underscore, then lower-case letters, digits and underscores"
        )


#: Places in a plot area where the simulated-data mark may stand, in order of preference:
#: the four corners, the middles of the bottom and top edges, then their quarters (used only
#: when the mark fits there inside the plot area).  The mark goes to the place that no
#: legend or text of the plot covers and that hides the least data (:func:`_data_overlap`);
#: ties keep this order, so the choice is deterministic.
_MARK_CORNERS = ((0.01, 0.01, "left", "bottom"), (0.99, 0.01, "right", "bottom"),
                 (0.01, 0.99, "left", "top"), (0.99, 0.99, "right", "top"),
                 (0.5, 0.01, "center", "bottom"), (0.5, 0.99, "center", "top"),
                 (0.25, 0.01, "center", "bottom"), (0.75, 0.01, "center", "bottom"),
                 (0.25, 0.99, "center", "top"), (0.75, 0.99, "center", "top"))
_MARK_EDGE_PLACES = 6   # the first places, used even where the mark is wider than the area
#: Weight of covered area (bars, bands, filled polygons; per whole box covered) against a
#: covered point or a stretch of line as long as the box is tall (weight 1 each).
_AREA_WEIGHT = 0.25
#: A plot area is full of data when its data areas (a heatmap's cells, bars, bands, images)
#: cover the whole box of the mark at every place of :data:`_MARK_CORNERS` it was measured at
#: (:func:`_covered_share`, on a grid of this many points a side): no place inside hides
#: nothing, so its mark stands just above it, in the band of its title, at the first of
#: these ends (x in axes coordinates, alignment) that no title, legend, text or other plot
#: area takes, :data:`_MARK_ABOVE_GAP` points above the plot area.
_FULL_GRID = 5
_MARK_ABOVE = ((1.0, "right"), (0.0, "left"))
_MARK_ABOVE_GAP = 2.0
#: Share of its plot area's width (and height) the mark may take.
_MARK_ROOM = 0.96


def _segments_inside(segs: np.ndarray, box) -> float:
    """Total length (pixels) of the display-space segments ``segs`` (k × 2 × 2) inside
    ``box`` (Liang–Barsky clipping, vectorised)."""
    if len(segs) == 0:
        return 0.0
    p0, p1 = segs[:, 0, :], segs[:, 1, :]
    d = p1 - p0
    ps = np.stack([-d[:, 0], d[:, 0], -d[:, 1], d[:, 1]], axis=1)
    qs = np.stack([p0[:, 0] - box.x0, box.x1 - p0[:, 0], p0[:, 1] - box.y0, box.y1 - p0[:, 1]],
                  axis=1)
    t0, t1 = np.zeros(len(segs)), np.ones(len(segs))
    outside = np.zeros(len(segs), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = qs / ps
    for k in range(4):
        p, q, r = ps[:, k], qs[:, k], ratio[:, k]
        outside |= (p == 0) & (q < 0)
        t0 = np.where(p < 0, np.maximum(t0, r), t0)
        t1 = np.where(p > 0, np.minimum(t1, r), t1)
    keep = ~outside & (t1 > t0)
    return float(np.sum((t1 - t0)[keep] * np.hypot(d[keep, 0], d[keep, 1])))


def _polyline(xy: np.ndarray) -> np.ndarray:
    """Consecutive finite vertices of a display-space polyline as segments (k × 2 × 2)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) < 2:
        return np.empty((0, 2, 2))
    segs = np.stack([xy[:-1], xy[1:]], axis=1)
    return segs[np.isfinite(segs).all(axis=(1, 2))]


def _data_shapes(ax, renderer) -> tuple[np.ndarray, np.ndarray, list]:
    """What a plot area draws as data, in display space: ``points`` (n × 3: x, y, radius),
    line ``segments`` (k × 2 × 2: the vertices of each line, never its bounding box, so that
    a reference line spanning the axes covers only where it passes) and ``areas`` (window
    extents of bars, bands such as ``axvspan``, filled polygons).  Images are not counted
    (they fill the plot area wherever the mark stands)."""
    from matplotlib.collections import LineCollection, PathCollection

    scale = ax.figure.dpi / 72.0
    points, segments, areas = [], [], []
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = np.asarray(line.get_xydata(), dtype=float).reshape(-1, 2)
        if len(xy) == 0:
            continue
        disp = line.get_transform().transform(xy)
        if line.get_linestyle() not in ("None", "none", " ", "") and line.get_linewidth() > 0:
            segments.append(_polyline(disp))
        if line.get_marker() not in (None, "None", "none", " ", ""):
            radius = 0.5 * line.get_markersize() * scale
            ok = np.isfinite(disp).all(axis=1)
            points += [(x, y, radius) for x, y in disp[ok]]
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, LineCollection):
            transform = coll.get_transform()
            for seg in coll.get_segments():
                if len(seg):
                    segments.append(_polyline(transform.transform(np.asarray(seg, float))))
        elif isinstance(coll, PathCollection) and len(coll.get_offsets()):
            disp = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), float))
            sizes = np.asarray(coll.get_sizes(), dtype=float)
            sizes = sizes if len(sizes) else np.array([36.0])
            for i, (x, y) in enumerate(disp):
                if np.isfinite(x) and np.isfinite(y):
                    points.append((x, y, 0.5 * np.sqrt(sizes[i % len(sizes)]) * scale))
        else:
            transform = coll.get_transform()
            for path in coll.get_paths():
                if len(path.vertices):
                    areas.append(path.get_extents(transform))
    for patch in ax.patches:
        if patch.get_visible():
            areas.append(patch.get_window_extent(renderer))
    segs = np.concatenate(segments) if segments else np.empty((0, 2, 2))
    return np.asarray(points, dtype=float).reshape(-1, 3), segs, areas


def _data_overlap(box, shapes) -> float:
    """How much data the box ``box`` (display space) hides: covered points (each 1), covered
    line length (per box height), covered area (per box area, weighted :data:`_AREA_WEIGHT`).
    0 means the box hides no data."""
    points, segs, areas = shapes
    score = 0.0
    if len(points):
        x, y, r = points[:, 0], points[:, 1], points[:, 2]
        score += float(np.sum((x + r >= box.x0) & (x - r <= box.x1)
                              & (y + r >= box.y0) & (y - r <= box.y1)))
    score += _segments_inside(segs, box) / max(box.height, 1.0)
    box_area = max(box.width * box.height, 1.0)
    for a in areas:
        w = min(box.x1, a.x1) - max(box.x0, a.x0)
        h = min(box.y1, a.y1) - max(box.y0, a.y0)
        if w > 0 and h > 0:
            score += _AREA_WEIGHT * w * h / box_area
    return score


def _covered_share(box, paths, extents) -> float:
    """Share of the box ``box`` (display space) that the display-space ``paths`` (filled
    shapes: a heatmap's cells, bars, a map's communes, by their outline, not their bounding
    box) and the display boxes ``extents`` (images) cover, sampled on a :data:`_FULL_GRID` ×
    :data:`_FULL_GRID` grid of points inside it (overlapping shapes count once; a point on
    the edge two cells share is covered)."""
    t = (np.arange(_FULL_GRID) + 0.5) / _FULL_GRID
    gx, gy = np.meshgrid(box.x0 + t * box.width, box.y0 + t * box.height)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    inside = np.zeros(len(points), dtype=bool)
    for e in extents:
        inside |= ((points[:, 0] >= e.x0) & (points[:, 0] <= e.x1)
                   & (points[:, 1] >= e.y0) & (points[:, 1] <= e.y1))
    for path in paths:
        if inside.all():
            break
        if not path.get_extents().overlaps(box):
            continue
        rest = ~inside
        # the sign of ``radius`` that widens a path depends on its orientation: both are tried
        inside[rest] = (path.contains_points(points[rest], radius=0.5)
                        | path.contains_points(points[rest], radius=-0.5))
    return float(inside.mean())


def _filled_paths(ax) -> list:
    """The display-space outlines of what a plot area fills: its patches (bars, bands,
    polygons) and the paths of its collections other than lines and points (a heatmap's
    mesh, a map's communes)."""
    from matplotlib.collections import LineCollection, PathCollection

    paths = []
    for coll in ax.collections:
        if coll.get_visible() and not isinstance(coll, LineCollection | PathCollection):
            transform = coll.get_transform()
            paths += [transform.transform_path(p) for p in coll.get_paths() if len(p.vertices)]
    for patch in ax.patches:
        if patch.get_visible():
            paths.append(patch.get_transform().transform_path(patch.get_path()))
    return paths


def _full_of_data(ax, renderer, boxes) -> bool:
    """True when what ``ax`` fills (:func:`_filled_paths`, and its images) covers every box
    of ``boxes`` (the mark at each place it was measured at): see :data:`_FULL_GRID`."""
    if not boxes:
        return False
    paths = _filled_paths(ax)
    images = [im.get_window_extent(renderer) for im in ax.images if im.get_visible()]
    return all(_covered_share(b, paths, images) >= 1.0 for b in boxes)


def _mark_above(fig, ax, mark, renderer, covered) -> bool:
    """Put ``mark`` just above the plot area ``ax`` (:data:`_MARK_ABOVE`), where no plot
    area's title, text of the figure, legend or text of ``covered`` and no other plot area
    stands;
    False (the mark unchanged) when both ends are taken."""
    from matplotlib.transforms import offset_copy

    titles = [t for t in (*(t for a in fig.axes for t in (a.title, a._left_title, a._right_title)),
                          *fig.texts)
              if t is not mark and t.get_visible() and t.get_text().strip()]
    taken = [*covered, *(t.get_window_extent(renderer) for t in titles),
             *(other.get_window_extent(renderer) for other in fig.axes
               if other is not ax and other.get_visible())]
    old = (mark.get_position(), mark.get_transform(), mark.get_ha(), mark.get_va())
    mark.set_transform(offset_copy(ax.transAxes, fig=fig, y=_MARK_ABOVE_GAP, units="points"))
    mark.set_va("bottom")
    for x, ha in _MARK_ABOVE:
        mark.set_position((x, 1.0))
        mark.set_ha(ha)
        box = mark.get_window_extent(renderer).padded(1.0)
        if not any(box.overlaps(c) for c in taken):
            return True
    position, transform, ha, va = old
    mark.set_position(position)
    mark.set_transform(transform)
    mark.set_ha(ha)
    mark.set_va(va)
    return False


def is_simulated_mark(text) -> bool:
    """True when the matplotlib ``text`` is a simulated-data mark, on one line or two
    (:data:`SIMULATED_MARK_LINES`)."""
    return " ".join(text.get_text().split()) == SIMULATED_MARK


def _wrap_mark(mark, area, renderer) -> None:
    """Break the plot area's mark onto two lines (:data:`SIMULATED_MARK_LINES`) when on one
    line it is wider than :data:`_MARK_ROOM` of the plot area ``area`` (display box): a panel
    of a figure of several, where the 7-pt mark no longer fits (its size is kept: no text of
    a printed figure under :data:`MIN_TEXT_PT`)."""
    if mark.get_window_extent(renderer).width > _MARK_ROOM * area.width:
        mark.set_text(SIMULATED_MARK_LINES)


def _fit_mark(fig, ax, mark) -> None:
    """Shrink the plot area's mark when, even on two lines (:func:`_wrap_mark`), it is wider
    or taller than a narrow plot area (e.g. a square map panel), so that the whole mark stays
    inside it (H5, issue 13 kind 8)."""
    renderer = fig.canvas.get_renderer()   # measuring needs no full drawing
    ax.apply_aspect()                      # the plot area as drawn (equal-aspect maps)
    box, area = mark.get_window_extent(renderer), ax.get_window_extent(renderer)
    scale = min(1.0, _MARK_ROOM * area.width / box.width, _MARK_ROOM * area.height / box.height)
    if scale < 1.0:
        mark.set_fontsize(mark.get_fontsize() * scale)


def _needs_full_draw(fig) -> bool:
    """True when a draw would move something the mark's placement reads, beyond what
    :func:`_settle_layout` settles: a layout engine (it moves the axes when drawn), subfigures,
    an axes placed by a locator (inset axes; colour bars are skipped by the mark and move only
    themselves), or a legend in ``mode="expand"`` (its width is set when drawn)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()   # tight_layout() leaves a placeholder that does nothing
    if engine is not None and type(engine) is not PlaceHolderLayoutEngine:
        return True
    if getattr(fig, "subfigs", None):
        return True
    for ax in fig.axes:
        if ax.get_animated():
            return True   # not drawn by a draw that does not save
        if ax.get_axes_locator() is not None and ax.get_label() != "<colorbar>":
            return True
        if any(hasattr(c, "apply_aspect") for c in ax.get_children()):
            return True   # a child axes (secondary axis, inset) placed at draw time
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return any(leg is not None and getattr(leg, "_mode", None) == "expand" for leg in legends)


def _settle_layout(fig):
    """Settle what the mark's placement reads, as a draw would, without drawing; return the
    canvas renderer.

    Everything :func:`_mark_simulated` measures is computed on request from the figure's
    transforms: window extents of legends (their ``loc``, ``"best"`` included), texts and
    annotations, the data's display coordinates and the plot area.  What a draw settles first
    is the view limits (autoscaling is lazy: the transforms read the limits as they stand,
    :attr:`Axes.viewLim` settles them) and each plot area's aspect (``apply_aspect``, the same
    calls in the same order as ``Figure.draw``: every axes, then each axes as drawn, by
    zorder); then, on those limits, the text boxes and arrows a draw would place and scale
    (:func:`_drawn_arrows`).  Figures where a draw does more (:func:`_needs_full_draw`, or
    arrows elsewhere) are drawn without rendering, as before.  ``tests/test_speed_figures.py``
    places the mark both ways on every figure shape of the project.
    """
    if _needs_full_draw(fig):
        fig.draw_without_rendering()   # lays out legends, texts and limits; nothing is rasterised
        return fig.canvas.get_renderer()
    renderer = fig.canvas.get_renderer()
    if not _settle(fig, renderer):
        fig.draw_without_rendering()   # limits and aspects settle again to the same values
        return fig.canvas.get_renderer()
    return renderer


def _settle(fig, renderer) -> bool:
    """Settle, for ``renderer``, what a layout draw of ``fig`` settles (view limits, aspects,
    text boxes and arrows; see :func:`_settle_layout`); False when some arrow's fate is not
    plain (:func:`_drawn_arrows`), and then a draw must follow."""
    for ax in fig.axes:   # Figure._get_draw_artists
        locator = ax.get_axes_locator()
        ax.apply_aspect(locator(ax, renderer) if locator else None)
    for ax in sorted(fig.axes, key=lambda a: a.get_zorder()):   # Axes.draw, in drawing order
        if ax.get_visible():
            ax.viewLim  # noqa: B018 - the property settles pending autoscaling
            locator = ax.get_axes_locator()
            ax.apply_aspect(locator(ax, renderer) if locator else None)
    arrows = _drawn_arrows(fig, renderer)   # text boxes and arrows, on the settled limits
    if arrows is None:
        return False
    for arrow in arrows:   # FancyArrowPatch.draw: shrink, head and width scale with the dpi
        arrow._dpi_cor = renderer.points_to_pixels(1.0)
    return True


def _plain_artist_types() -> frozenset:
    """The artists (exact classes) whose draw leaves nothing behind that a save reads,
    besides what :func:`_settle` settles: their window extents are computed on request.
    A subclass is not assumed plain (a quiver, a polar plot area set themselves up when
    drawn)."""
    from matplotlib import (
        axis,
        collections,
        colorbar,
        image,
        legend,
        lines,
        offsetbox,
        patches,
        spines,
    )
    from matplotlib import text as mtext
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    names = [(colorbar, "_ColorbarSpine"), (collections, "FillBetweenPolyCollection")]
    return frozenset([
        Figure, Axes, axis.XAxis, axis.YAxis, axis.XTick, axis.YTick, mtext.Text,
        mtext.Annotation, lines.Line2D, spines.Spine, patches.Rectangle, patches.Polygon,
        patches.PathPatch, patches.Ellipse, patches.Circle, patches.Wedge,
        patches.FancyBboxPatch, patches.FancyArrowPatch, collections.PathCollection,
        collections.LineCollection, collections.PolyCollection, collections.QuadMesh,
        collections.PatchCollection, image.AxesImage, legend.Legend, offsetbox.VPacker,
        offsetbox.HPacker, offsetbox.DrawingArea, offsetbox.TextArea,
        *(getattr(module, name) for module, name in names if hasattr(module, name))])


def _layout_draw_can_settle(fig) -> bool:
    """True when the layout draw that ``savefig(bbox_inches="tight")`` makes before measuring
    the tight box can be replaced by :func:`_settle`: nothing a draw would move beyond it
    (:func:`_needs_full_draw`), only artists of :func:`_plain_artist_types`, no
    ``draw_event`` listener (the draw would call it).  Rasterised artists (a colour bar's
    solids) are no exception: in a PDF a layout draw rasterises them into a renderer of its
    own, which it drops, and puts the figure's resolution back."""
    if _needs_full_draw(fig):
        return False
    callbacks = getattr(getattr(fig, "_canvas_callbacks", None), "callbacks", {})
    if callbacks.get("draw_event"):
        return False
    plain = _plain_artist_types()
    return all(type(artist) in plain for artist in fig.findobj())


def _draw_is_disabled(renderer) -> bool:
    """True inside ``renderer._draw_disabled()`` (its drawing methods replaced by no-ops),
    as in the layout draw of ``savefig`` (also through a PDF ``MixedModeRenderer``)."""
    from matplotlib.backend_bases import RendererBase

    try:
        group = renderer.open_group
    except AttributeError:  # pragma: no cover - not a renderer
        return False
    return getattr(group, "__wrapped__", None) is RendererBase.open_group


@contextlib.contextmanager
def _settled_layout_draws(fig):
    """While ``fig`` is saved, settle its layout instead of drawing it without rendering.

    With ``savefig.bbox="tight"``, ``savefig`` draws the whole figure with its drawing
    methods disabled (``renderer._draw_disabled()``), measures the tight box, crops, and
    draws it again for real: the first draw runs every artist's drawing code (tick layout,
    text layout, images resampled) to leave the figure in its drawn state, about a quarter
    of a save's CPU.  The tight box reads only what :func:`_settle` settles (limits,
    aspects, text boxes and arrows at the saving renderer's resolution): every other extent
    is computed on request, and the real draw recomputes everything it draws.  So on figures
    where :func:`_layout_draw_can_settle` holds, the figure's ``draw`` answers that layout
    draw by settling, for the same renderer; any other draw is the figure's own.  The files
    are the same bytes (``tests/test_speed_figures.py`` saves every figure shape both ways).
    """
    if not _layout_draw_can_settle(fig) or "draw" in vars(fig):
        yield
        return

    def draw(renderer):
        if _draw_is_disabled(renderer) and _settle(fig, renderer):
            fig.stale = False   # as Figure.draw leaves it
            return None
        return type(fig).draw(fig, renderer)

    fig.draw = draw
    try:
        yield
    finally:
        if vars(fig).get("draw") is draw:
            del fig.draw


def _drawn_arrows(fig, renderer) -> list | None:
    """Bring the figure's arrows to the state a draw would leave them in; return them, or
    None (nothing changed) when some arrow's fate is not plain.

    An arrow (``FancyArrowPatch``) is scaled by the resolution of its last draw (its shrink,
    head and line width), and clipped by the boxes of the texts it joins, which are placed
    when the text is drawn (``Text.update_bbox_position_size``).  A draw would redo both for
    what it draws, so this does the same for the same artists: every visible arrow among the
    patches of a visible plot area, the visible arrow of every annotation that is drawn
    (visible, its point shown), and the box of every text drawn there (visible, not empty,
    at a finite place; an annotation's box whenever the annotation is drawn, after its
    position: an annotation's transform is made for the renderer it is drawn with, and its
    box is placed in display space through it).  Any other
    arrow (in a legend, a colour bar, among the figure's own artists, hidden, animated), or
    an arrow clipped by a text box elsewhere, sends the figure to the full draw.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.text import Annotation

    arrows, boxed, ends, annotations = [], [], [], []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for patch in ax.patches:
            if isinstance(patch, FancyArrowPatch) and patch.get_visible() \
                    and not patch.get_animated():
                arrows.append(patch)
                ends += [patch.patchA, patch.patchB]
        for text in ax.texts:
            if text.get_animated() or not text.get_visible():
                continue
            if isinstance(text, Annotation):
                if not text._check_xy(renderer):
                    continue
                arrow = text.arrow_patch
                if arrow is not None and arrow.get_visible():
                    arrows.append(arrow)   # patch A: the annotation's own box or rectangle
                    ends += [(text.arrowprops or {}).get("patchA"), arrow.patchB]
                annotations.append(text)
                drawn = True
            else:
                xy = text.get_transform().transform(text.get_unitless_position())
                drawn = text.get_text() != "" and bool(np.isfinite(xy).all())
            if drawn and text.get_bbox_patch() is not None:
                boxed.append(text)
    placed = {id(t.get_bbox_patch()) for t in boxed}
    if any(isinstance(p, FancyArrowPatch) or (isinstance(p, FancyBboxPatch)
                                               and id(p) not in placed)
           for p in ends if p is not None):
        return None
    ids = {id(a) for a in arrows}
    if any(id(a) not in ids for a in fig.findobj(FancyArrowPatch)):
        return None
    for text in annotations:   # Annotation.draw: its transform (placed for this renderer) first
        text.update_positions(renderer)
    for text in boxed:
        text.update_bbox_position_size(renderer)
    return arrows


def _mark_simulated(fig) -> None:
    """The simulated-data mark at the figure's corner *and* inside every plot area (so that it
    survives cropping a figure to its axes; issue 13, kind 8).  Colour bars are skipped.

    One plot area that reaches the figure's bottom-right corner, where the figure's mark
    stands (:func:`_reaches_corner`; a diagram drawn with its axis off on the whole figure),
    is the figure: both marks would stand one above the other, so it carries the one mark,
    in the figure mark's size, and the figure gets no second one.  Where there are several
    plot areas, the figure keeps its mark and no plot area's mark stands next to it.  The
    figure's mark moves down under a legend or text that reaches its corner
    (:func:`_clear_of_texts`).

    Inside a plot area the mark goes to the first place of :data:`_MARK_CORNERS` that no
    legend or text covers and that hides the least data (points, lines, error bars, bars,
    bands: :func:`_data_overlap`).  A plot area full of data, whose data areas cover the mark
    at every such place (a heatmap), carries its mark just above it, in its title's band
    (:func:`_full_of_data`, :func:`_mark_above`).  When every free place hides some data
    otherwise, the mark is drawn without its white box, so the data stay visible through it.  The mark is measured in 10
    places per plot area: fonts and text layouts are shared while it is placed
    (:func:`_shared_font_tables`, :func:`_shared_text_layouts`; the same floats)."""
    if getattr(fig, "_hlstudy_simulated_mark", False):
        return
    with _shared_font_tables(), _shared_text_layouts():
        _place_marks(fig)
    fig._hlstudy_simulated_mark = True


def text_ink(text, renderer=None):
    """The ink of ``text`` as drawn: the extent (display units) of its glyphs' outlines
    (matplotlib's ``TextPath`` in the text's font and size, each line at the baseline the
    text's layout gives it, turned by its rotation), not the layout box ``get_window_extent``
    gives, which is the font's line height: Vietnamese stacked marks ("Đồng", "Thắng") reach
    above it, and a name without marks or descenders fills it only in part.  The outlines'
    points bound the ink (fonts put a point at each extreme of a glyph: for the DejaVu glyphs
    of the commune names the same extent as the curves', and 20 times faster).  A text
    without ink (blank) is a zero-size box at its position."""
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D, Bbox

    fig = text.get_figure(root=True)
    renderer = renderer or fig.canvas.get_renderer()
    x, y = text.get_transform().transform(text.get_unitless_position())
    px = fig.dpi / 72.0
    boxes = []
    for line, _, (dx, dy) in text._get_layout(renderer)[1]:
        if line.strip():
            outline = TextPath((0, 0), line, prop=text.get_fontproperties())
            points = outline.vertices[outline.codes != Path.CLOSEPOLY]
            drawn = Affine2D().scale(px).rotate_deg(text.get_rotation()).translate(
                x + dx, y + dy).transform(points)
            boxes.append(Bbox([drawn.min(axis=0), drawn.max(axis=0)]))
    return Bbox.union(boxes) if boxes else Bbox.from_bounds(x, y, 0, 0)


def spread_labels(labels, gap: float, renderer=None) -> list[float]:
    """Shift the turned tick labels ``labels`` (one axis's, in order along it) sideways so
    that the ink of each two neighbours (:func:`text_ink`) is ``gap`` points apart or more,
    each label as little as that allows: the least largest shift (bisection, 60 steps), each
    label then as near its tick as the others let it.  The shifts (points) are applied as an
    offset of each label's transform and returned.  Where the labels' ink already keeps the
    gap, nothing moves.  Deterministic.

    Two turned names drawn at one place move apart, each by half of what it takes; spread
    again, they stay:

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(2, 1))
    >>> names = [ax.text(0.5, 0.5, "ao", rotation=90) for _ in range(2)]
    >>> left, right = spread_labels(names, 1.0)
    >>> bool(left == -right < 0), spread_labels(names, 1.0)
    (True, [0.0, 0.0])
    >>> plt.close(fig)
    """
    from matplotlib.transforms import ScaledTranslation

    labels = list(labels)
    if len(labels) < 2:
        return [0.0] * len(labels)
    fig = labels[0].get_figure(root=True)
    px = fig.dpi / 72.0
    ink = [text_ink(t, renderer) for t in labels]
    # c[i]: how much further label i + 1 must stand from label i (points; negative: slack)
    c = [gap - (b.x0 - a.x1) / px for a, b in zip(ink, ink[1:], strict=False)]
    if max(c) <= 1e-9:   # apart already (to rounding: spread labels are not moved again)
        return [0.0] * len(labels)

    def lowest(d: float) -> list[float]:   # each shift as far left as the bound d allows
        low = [-d]
        for ci in c:
            low.append(max(-d, low[-1] + ci))
        return low

    lo, hi = 0.0, sum(max(ci, 0.0) for ci in c)
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if lowest(mid)[-1] <= mid else (mid, hi)
    low = lowest(hi)
    high = [hi]   # each shift as far right as the bound allows
    for ci in reversed(c):
        high.insert(0, min(hi, high[0] - ci))
    shifts = []
    for k in range(len(labels)):
        floor = max(low[k], shifts[-1] + c[k - 1]) if shifts else low[k]
        shifts.append(min(max(0.0, floor), high[k]))
    for t, dx in zip(labels, shifts, strict=True):
        if dx:
            t.set_transform(t.get_transform() + ScaledTranslation(dx / 72.0, 0,
                                                                  fig.dpi_scale_trans))
    return shifts


#: Width (points) of the white stroke behind a name drawn over lines (:func:`white_halo`).
HALO_WIDTH = 2.2


def white_halo(linewidth: float = HALO_WIDTH) -> list:
    """Path effects that draw a text over a white stroke ``linewidth`` points wide, so that a
    grid or border line behind it breaks instead of running through it: the names of the maps,
    the commune scatter and the IPMA figure, and the in-plot simulated-data mark (2 pt).

    >>> [type(e).__name__ for e in white_halo()]
    ['withStroke']
    """
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=linewidth, foreground="white")]


#: The figure's own mark (at its bottom-right corner) and a plot area's mark: both at
#: :data:`MIN_TEXT_PT`, the smallest text the figures print (the plot area's mark was 5.5 pt,
#: too small to read on paper, where it must say what the figure shows).  It is never larger
#: than a figure's labels and stays unobtrusive by its colour, italics and transparency.
_FIGURE_MARK_STYLE = {"fontsize": MIN_TEXT_PT, "color": "#b03a2e", "alpha": 0.9, "style": "italic"}
_AREA_MARK_STYLE = {"fontsize": MIN_TEXT_PT, "color": "#b03a2e", "alpha": 0.85, "style": "italic"}


def _reaches_corner(corner, area) -> bool:
    """True when the plot area ``area`` (display box) comes within one mark height of the
    figure's mark ``corner`` (its display box): a mark of the plot area in its own corner
    would stand on top of the figure's, and the two read as one doubled mark."""
    return corner.padded(corner.height).overlaps(area)


def _drawn_texts(fig, renderer, skip) -> list:
    """Display boxes of what the figure writes that may reach its bottom-right corner,
    ``skip`` aside: legends (in or outside the plot areas, the figure's own), the figure's
    texts, and the plot areas' texts set outside them (a note under a map).  Tick labels and
    axis labels are not measured: the layout keeps them clear of the figure's edge."""
    boxes = [leg.get_window_extent(renderer)
             for leg in (*fig.legends, *(ax.get_legend() for ax in fig.axes)) if leg is not None
             and leg.get_visible()]
    texts = [*fig.texts, *(t for ax in fig.axes if ax.get_visible() for t in ax.texts
                           if t.get_transform() == ax.transAxes
                           and not (0 <= t.get_position()[0] <= 1
                                    and 0 <= t.get_position()[1] <= 1))]
    boxes += [t.get_window_extent(renderer) for t in texts
              if t is not skip and t.get_visible() and t.get_text().strip()]
    return boxes


def _clear_of_texts(fig, corner, renderer):
    """Move the figure's mark ``corner`` straight down, under whatever legend or text it
    would cover at the figure's bottom-right corner (a figure legend across the bottom that
    reaches the corner: the mark stood on its last entry); the saved figure, cropped to what
    it draws, grows by the mark's height.  Returns the mark's display box."""
    box = corner.get_window_extent(renderer)
    drawn = _drawn_texts(fig, renderer, corner)
    for _ in range(len(drawn)):
        under = [b for b in drawn if box.padded(1.0).overlaps(b)]
        if not under:
            break
        top = min(b.y0 for b in under) - 2.0   # display pixels
        x, _y = corner.get_position()
        corner.set_position((x, fig.transFigure.inverted().transform((0, top))[1]))
        corner.set_va("top")
        box = corner.get_window_extent(renderer)
    return box


def _place_marks(fig) -> None:
    """The marks of :func:`_mark_simulated`, placed."""
    renderer = _settle_layout(fig)
    areas = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    corner = fig.text(0.995, 0.005, SIMULATED_MARK, ha="right", va="bottom",
                      **_FIGURE_MARK_STYLE)
    corner_box = corner.get_window_extent(renderer)
    whole = len(areas) == 1 and _reaches_corner(corner_box, areas[0].get_window_extent(renderer))
    if whole:
        corner.remove()   # the plot area is the figure: its mark is the figure's
    else:
        corner_box = _clear_of_texts(fig, corner, renderer)
    for ax in areas:
        legends = [leg for leg in (ax.get_legend(), *fig.legends) if leg is not None]
        legends += [t for t in ax.texts if t.get_text().strip()]   # e.g. quadrant names
        covered = [leg.get_window_extent(renderer) for leg in legends]
        if not whole:
            covered.append(corner_box.padded(corner_box.height))   # never a doubled mark
        shapes = _data_shapes(ax, renderer)
        style = {"transform": ax.transAxes, "zorder": 10,
                 **(_FIGURE_MARK_STYLE if whole else _AREA_MARK_STYLE)}
        mark = ax.text(0, 0, SIMULATED_MARK, **style)
        mark.set_path_effects(white_halo(2))   # a grid line behind the mark breaks
        ax.apply_aspect()
        area = ax.get_window_extent(renderer)
        _wrap_mark(mark, area, renderer)
        best, measured = None, []
        for k, (x, y, ha, va) in enumerate(_MARK_CORNERS):
            mark.set_position((x, y))
            mark.set_ha(ha)
            mark.set_va(va)
            box = mark.get_window_extent(renderer).padded(1.0)
            if any(box.overlaps(c) for c in covered):
                continue   # the place is taken by a legend, a text or the figure's mark
            if k >= _MARK_EDGE_PLACES and (box.x0 < area.x0 - 1 or box.x1 > area.x1 + 1):
                continue   # a quarter place where the mark would stick out of the area
            measured.append(box)
            key = (round(_data_overlap(box, shapes), 6), k)
            if best is None or key < best:
                best = key
        x, y, ha, va = _MARK_CORNERS[best[1] if best is not None else 0]
        mark.set_position((x, y))
        mark.set_ha(ha)
        mark.set_va(va)
        if best is not None and best[0] > 0 and _full_of_data(ax, renderer, measured) \
                and _mark_above(fig, ax, mark, renderer, covered):
            best = (0.0, best[1])   # above the plot area: it hides nothing
            mark._hlstudy_above = True
        elif best is not None and best[0] == 0:   # hides nothing: a light box for legibility
            mark.set_bbox({"boxstyle": "square,pad=0.15", "facecolor": "white", "alpha": 0.6,
                           "edgecolor": "none"})
        mark._hlstudy_data_overlap = None if best is None else best[0]
        _fit_mark(fig, ax, mark)


class _SubsetFont:
    """A font subset already made once: its file bytes and glyph-index map (see below)."""

    def __init__(self, data: bytes, glyph_index_map: dict):
        # the backend reads ``subset.font`` and hands it to ``font_as_file``: this object
        # stands in for the fontTools font, and the wrapped ``font_as_file`` returns ``data``
        self.font, self.glyph_index_map, self.data = self, glyph_index_map, data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


#: ``(font file, face, glyph ids) -> _SubsetFont``: the PDF backend's TrueType subsets.
_SUBSETS: dict[tuple, _SubsetFont] = {}

# On disk (``_cache_dir("font-subsets")``) a subset is named by the SHA-256 of everything it
# depends on: the font file (path, size, modification time), the face, the glyph ids, the
# matplotlib and fontTools versions and ``SOURCE_DATE_EPOCH`` (fontTools writes it into the
# font's ``head`` table).


def _cache_dir(name: str) -> Path | None:
    """``data/processed/cache/<name>``, or None when ``HLSTUDY_EXPORT_CACHE=0``."""
    if os.environ.get("HLSTUDY_EXPORT_CACHE", "1") == "0":
        return None
    from hlstudy.paths import PROCESSED

    return PROCESSED / "cache" / name


def _content_key(*parts) -> str:
    import hashlib

    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _cache_read(folder: Path | None, key: str | None) -> bytes | None:
    return _bincache.read(folder, key)


def _cache_write(folder: Path | None, key: str | None, data: bytes) -> None:
    if folder is not None:
        _bincache.write(folder, key, data, CACHE_BYTES.get(folder.name, CACHE_BYTES["png"]))


def _disk_key(fontfile, glyphs: set) -> str | None:
    import hashlib

    import fontTools
    import matplotlib

    try:
        st = os.stat(fontfile)
    except OSError:
        return None
    text = repr((str(os.fspath(fontfile)), getattr(fontfile, "face_index", 0), st.st_size,
                 st.st_mtime_ns, sorted(int(g) for g in glyphs), matplotlib.__version__,
                 fontTools.version, os.environ.get("SOURCE_DATE_EPOCH")))
    return hashlib.sha256(text.encode()).hexdigest()


def _read_subset(folder: Path | None, key: str | None) -> _SubsetFont | None:
    import pickle

    raw = _cache_read(folder, None if key is None else f"{key}.pkl")
    if raw is None:
        return None
    try:
        data, glyph_map = pickle.loads(raw)  # our own cache file
    except Exception:  # damaged or from another version: made again
        return None
    if not isinstance(data, bytes) or not isinstance(glyph_map, dict):
        return None
    return _SubsetFont(data, glyph_map)


def _write_subset(folder: Path | None, key: str | None, subset: _SubsetFont) -> None:
    import pickle

    _cache_write(folder, None if key is None else f"{key}.pkl",
                 pickle.dumps((subset.data, subset.glyph_index_map), protocol=4))


@contextlib.contextmanager
def _cached_font_subsets():
    """Make each TrueType subset of the PDF export once (per process and, on disk, per run).

    matplotlib's PDF backend subsets the embedded font with fontTools for every file it
    writes (0.1–0.3 s of CPU per font and file: fontTools decompiles DejaVu Sans' ~6,000
    glyphs).  Many files embed exactly the same subset (the italic simulated-data mark in
    every figure; a figure saved again, in this run or the next), so the subset's bytes are
    kept — in memory and under ``data/processed/cache/font-subsets``
    (``HLSTUDY_EXPORT_CACHE=0`` keeps them in memory only) — and handed back, which gives the same file byte for byte (``tests/test_font_subsets.py``).  This wraps two
    functions of ``matplotlib.backends._backend_pdf_ps`` (pinned matplotlib) only while
    :func:`save_figure` writes a PDF; if their names change, nothing is wrapped.
    """
    try:
        from matplotlib.backends import _backend_pdf_ps as pdfps
    except ImportError:  # pragma: no cover - matplotlib without the module
        yield
        return
    make, as_file = getattr(pdfps, "get_glyphs_subset", None), getattr(pdfps, "font_as_file", None)
    if make is None or as_file is None:  # pragma: no cover - another matplotlib
        yield
        return

    def get_glyphs_subset(fontfile, glyphs):
        glyphs = set(glyphs)
        key = (os.fspath(fontfile), getattr(fontfile, "face_index", 0), frozenset(glyphs))
        cached = _SUBSETS.get(key)
        if cached is None:
            folder = _cache_dir("font-subsets")
            disk_key = _disk_key(fontfile, glyphs) if folder is not None else None
            cached = _read_subset(folder, disk_key)
            if cached is None:
                with make(fontfile, glyphs) as subset:
                    data = as_file(subset.font).getvalue()
                    cached = _SubsetFont(data, dict(subset.glyph_index_map))
                _write_subset(folder, disk_key, cached)
            if len(_SUBSETS) >= 256:
                _SUBSETS.pop(next(iter(_SUBSETS)))
            _SUBSETS[key] = cached
        return cached

    def font_as_file(font):
        return io.BytesIO(font.data) if isinstance(font, _SubsetFont) else as_file(font)

    pdfps.get_glyphs_subset, pdfps.font_as_file = get_glyphs_subset, font_as_file
    try:
        yield
    finally:
        pdfps.get_glyphs_subset, pdfps.font_as_file = make, as_file


#: Disk space each export cache under ``data/processed/cache/`` may take: when a write goes
#: over it, the least recently used files go first (:func:`_prune`).
CACHE_BYTES = {"png": 200 * 2**20, "docx": 50 * 2**20, "font-subsets": 20 * 2**20,
               "preview": 20 * 2**20, "figures": 200 * 2**20}


def _png_key(arr, kwargs: dict) -> str | None:
    """SHA-256 of an Agg canvas (its RGBA pixels and shape) and of everything the encoding
    depends on: imsave's arguments and the matplotlib, Pillow and zlib versions."""
    import hashlib

    import matplotlib
    import PIL
    from PIL import features

    try:
        view = memoryview(arr)
        pixels = hashlib.sha256(view.cast("B") if view.c_contiguous else bytes(view)).hexdigest()
        shape = tuple(view.shape)
    except (TypeError, ValueError):  # not a buffer: encoded every time
        return None
    meta = sorted((str(k), str(v)) for k, v in (kwargs.get("metadata") or {}).items())
    return _content_key("png", pixels, shape, kwargs.get("origin"), kwargs.get("dpi"), meta,
                        repr(kwargs.get("pil_kwargs")), matplotlib.__version__, PIL.__version__,
                        features.version("zlib"))


@contextlib.contextmanager
def _cached_png():
    """Encode each distinct 300-dpi PNG once: the same pixels give the same file.

    A figure's PNG is its Agg canvas compressed by Pillow (zlib, adaptive row filters):
    0.2–0.6 s of CPU per figure, about a tenth of a notebook run.  A figure whose pixels did
    not change since the last run (or the last test run) gets its file from
    ``data/processed/cache/png``, keyed by :func:`_png_key`; the canvas is still drawn, so a
    changed figure is always encoded again (``HLSTUDY_EXPORT_CACHE=0`` switches it off;
    ``tests/test_png_cache.py``).  Wraps ``matplotlib.image.imsave``, which the Agg backend
    calls to write a PNG, only while :func:`save_figure` writes one.
    """
    import matplotlib.image as mimage

    folder = _cache_dir("png")
    imsave = mimage.imsave
    if folder is None:
        yield
        return

    def cached_imsave(fname, arr, *args, **kwargs):
        key = None if args or kwargs.get("format") != "png" or not hasattr(fname, "write") \
            else _png_key(arr, kwargs)
        if key is None:   # not the Agg backend's own call (a path, another format): as asked
            return imsave(fname, arr, *args, **kwargs)
        data = _cache_read(folder, key)
        if data is None:
            out = io.BytesIO()
            imsave(out, arr, *args, **kwargs)
            data = out.getvalue()
            _cache_write(folder, key, data)
        fname.write(data)

    mimage.imsave = cached_imsave
    try:
        yield
    finally:
        mimage.imsave = imsave


def _metrics_renderer_key(renderer) -> tuple:
    """What a renderer's text metrics depend on besides the text and its font: the renderer's
    class and resolution (a PDF renderer's inner renderer too: it measures, and is swapped
    for an Agg one while rasterising)."""
    inner = getattr(renderer, "_renderer", None)
    return (type(renderer), getattr(renderer, "dpi", None), type(inner), getattr(inner, "dpi", None))


@contextlib.contextmanager
def _shared_text_metrics():
    """Measure each text once per renderer class and resolution while a figure is saved.

    matplotlib caches text metrics per renderer *object* (``text._get_text_metrics_with_cache``),
    and saving a figure makes two of each kind: with ``savefig.bbox="tight"`` a first renderer
    lays the figure out and measures its tight box, then a second one, of the cropped size,
    draws it; the second measures every text again (FreeType layout, about 1 ms for a
    40-character label).  A renderer's metrics depend only on its class and ``dpi``
    (``RendererAgg`` and the PDF renderer read the font, its size, the hinting setting and
    the resolution, no state of their own), so within one :func:`save_figure` call the
    second renderer reuses the first one's numbers: the same floats, so the same files
    (``tests/test_speed_figures.py``).  The key is the renderer's class and ``dpi``, the
    text, every field of its font properties, the math mode and the figure's ``dpi`` — the
    key of matplotlib's own cache, with the renderer object replaced by what it measures
    with.  The cache lives for one call, so changed rcParams between calls cannot leak in.
    """
    from matplotlib import text as mtext

    original = getattr(mtext, "_get_text_metrics_with_cache", None)
    if original is None:  # pragma: no cover - another matplotlib
        yield
        return
    cache: dict = {}

    def metrics(renderer, text, fontprop, ismath, dpi):
        try:
            key = (_metrics_renderer_key(renderer), text, type(fontprop),
                   tuple(vars(fontprop).items()), ismath, dpi)
            hash(key)
        except TypeError:  # an unhashable font field: matplotlib's own cache
            return original(renderer, text, fontprop, ismath, dpi)
        found = cache.get(key)
        if found is None:
            found = cache[key] = original(renderer, text, fontprop, ismath, dpi)
        return found

    mtext._get_text_metrics_with_cache = metrics
    try:
        yield
    finally:
        mtext._get_text_metrics_with_cache = original


@contextlib.contextmanager
def _shared_text_layouts():
    """Lay out each text once per renderer kind while a figure is saved.

    ``Text._get_layout`` (the text's lines, their offsets and its rotated, aligned box
    relative to its anchor point) runs every time a text is measured or drawn: by the tight
    box, by the tick and title placement of each draw, by the draw itself, for each format:
    about 0.3 ms each, 700 times per figure.  Its answer depends only on the text, its font
    properties, line spacing, alignments, rotation and rotation mode, math parsing, the
    figure's ``dpi`` and what the renderer measures with (:func:`_metrics_renderer_key`),
    not on where the text stands, so within one :func:`save_figure` call each distinct
    layout is computed once and handed back as a fresh copy (the same floats, so the same
    files: ``tests/test_speed_figures.py``).  Wrapped texts (their lines depend on their
    place in the figure), TeX and any class other than ``Text`` and ``Annotation`` are laid
    out by matplotlib every time.
    """
    from matplotlib import text as mtext

    original = getattr(mtext.Text, "_get_layout", None)
    if original is None:  # pragma: no cover - another matplotlib
        yield
        return
    plain = (mtext.Text, mtext.Annotation)
    cache: dict = {}

    def layout(self, renderer):
        if type(self) not in plain or self.get_wrap() or self.get_usetex():
            return original(self, renderer)
        try:
            key = (_metrics_renderer_key(renderer), type(self), self.get_text(),
                   tuple(vars(self._fontproperties).items()), self._linespacing,
                   self._get_multialignment(), self.get_rotation(), self.get_rotation_mode(),
                   self._horizontalalignment, self._verticalalignment, self.get_parse_math(),
                   self.get_figure(root=True).dpi)
            hash(key)
        except (TypeError, AttributeError):   # an unhashable field: laid out every time
            return original(self, renderer)
        found = cache.get(key)
        if found is None:
            found = cache[key] = original(self, renderer)
        bbox, lines, corner = found
        return bbox.frozen(), list(lines), corner

    mtext.Text._get_layout = layout
    try:
        yield
    finally:
        mtext.Text._get_layout = original


class _FontTables:
    """A font's ``get_sfnt_table`` answers, each read once (see :func:`_shared_font_tables`)."""

    def __init__(self, font):
        self._font, self._tables = font, {}

    def get_sfnt_table(self, name):
        if name not in self._tables:
            self._tables[name] = self._font.get_sfnt_table(name)
        return self._tables[name]

    def __getattr__(self, name):   # anything else: the font itself
        return getattr(self._font, name)


class _FontLookup:
    """``fontManager`` with ``_find_fonts_by_props`` answered once per font properties."""

    def __init__(self, manager):
        self._manager, self._found = manager, {}

    def _find_fonts_by_props(self, prop, *args, **kwargs):
        try:
            key = (type(prop), tuple(vars(prop).items()), args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # not a FontProperties (a pattern string, ...): asked every time
            return self._manager._find_fonts_by_props(prop, *args, **kwargs)
        if key not in self._found:
            self._found[key] = self._manager._find_fonts_by_props(prop, *args, **kwargs)
        return list(self._found[key])

    def __getattr__(self, name):
        return getattr(self._manager, name)


@contextlib.contextmanager
def _shared_font_tables():
    """Look up each font and read its OpenType tables once while a figure is saved.

    Every time matplotlib lays out a text (``Text._get_layout``, 20,000 times for the
    project's 22 figures) it finds the font file for the text's font properties and reads
    the font's ``OS/2`` and ``head`` tables for the line height: about 65 µs, of which 42 µs
    build the two tables as new dicts.  Within one :func:`save_figure` call the font files
    and the rcParams that choose them do not change, and a font file's tables never do, so
    the answers are kept for the call (keyed by every field of the font properties; the
    tables by font).  Only the two names ``matplotlib.text`` uses for this are replaced, and
    only during the call; the numbers are the same, so the files are
    (``tests/test_speed_figures.py``).
    """
    from matplotlib import text as mtext

    get_font, manager = getattr(mtext, "get_font", None), getattr(mtext, "fontManager", None)
    if get_font is None or manager is None:  # pragma: no cover - another matplotlib
        yield
        return
    fonts: dict = {}

    def shared_get_font(paths, *args, **kwargs):
        try:
            key = (tuple(paths), args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return get_font(paths, *args, **kwargs)
        if key not in fonts:
            fonts[key] = _FontTables(get_font(paths, *args, **kwargs))
        return fonts[key]

    mtext.get_font, mtext.fontManager = shared_get_font, _FontLookup(manager)
    try:
        yield
    finally:
        mtext.get_font, mtext.fontManager = get_font, manager


def _figure_metadata(fmt: str) -> dict:
    if fmt == "pdf":
        return {"Creator": "hlstudy", "Producer": "hlstudy", "CreationDate": None, "ModDate": None}
    if fmt == "svg":
        return {"Creator": "hlstudy", "Date": None}
    if fmt == "png":
        return {"Software": None}
    return {}


def figure_title(fig) -> str:
    """The title a figure is listed under: its suptitle, else the title of its only titled
    plot area; a multi-panel figure without a suptitle has no title ("" — a panel's title,
    such as one quality dimension, is not the figure's)."""
    sup = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    if sup:
        return sup
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    return titles[0] if len(titles) == 1 else ""


def save_figure(
    fig,
    stem: str,
    *,
    simulated: bool,
    formats: Sequence[str] | None = None,
    directory: str | os.PathLike | None = None,
    show: bool | None = None,
) -> dict[str, Path]:
    """Save ``fig`` as ``<directory>/<stem>.<ext>`` for each format; return ``{ext: path}``.

    ``formats`` defaults to :func:`figure_formats` (PDF and 300-dpi PNG; SVG on request).

    A figure larger than a thesis page holds at its natural size (:data:`FIGURE_MAX_MM`,
    155 × 220 mm, as saved with its tight bounding box) is written all the same, with a
    :class:`FigureSizeWarning` giving its size and the share it would print at.

    ``simulated=True`` stamps the figure with :data:`SIMULATED_MARK`.  Numbers are written
    the label language's way first (:func:`localise_numbers`: the decimal comma in
    Vietnamese, whatever made the tick labels).  A glyph missing
    from the font (for instance a character outside Vietnamese and Latin) raises
    :class:`ExportError` naming the character, instead of drawing an empty box.

    ``show`` (default: only inside a Jupyter kernel) displays the exported PNG, reduced
    to :data:`PREVIEW_DPI` (:func:`preview_png`), and closes the figure, so the notebook
    does not draw it a second time; ``show=False`` leaves the figure open for the inline
    backend as before.

    A figure saved with ``show`` is closed afterwards, so nothing can look at it again: its
    files and preview are kept under ``data/processed/cache/figures``, named by
    :func:`hlstudy._figurekey.figure_key` (the figure's whole state, hlstudy's source, the
    installed libraries, rcParams, fonts and these arguments), and a later save of a figure
    with the same key writes the kept bytes instead of marking and drawing it again
    (``HLSTUDY_EXPORT_CACHE=0`` switches it off; ``tests/test_figure_cache.py``).  A figure
    saved without ``show`` is always drawn, and stays marked and laid out as drawn.
    """
    if not isinstance(simulated, bool):
        raise ExportError("simulated must be True or False: say whether the figure shows simulated data")
    _check_stem(stem)
    formats = figure_formats() if formats is None else formats
    bad = [f for f in formats if f not in FIGURE_FORMATS]
    if bad or not formats:
        raise ExportError(f"figure formats must be among {FIGURE_FORMATS}, got {list(formats)}")
    out_dir = Path(directory) if directory is not None else figures_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    show = _in_notebook() if show is None else bool(show)
    # a figure closed right after saving (``show``) may get its files from the figure cache:
    # nothing can look at the figure after this call, so it need not be marked and drawn
    folder = _cache_dir("figures") if show else None
    key = None
    if folder is not None:
        from hlstudy import _figurekey

        key = _figurekey.figure_key(fig, "save_figure", simulated, tuple(formats), DPI, PREVIEW_DPI,
                                    [_figure_metadata(f) for f in formats], SIMULATED_MARK, language())
    kept = _unpack(_cache_read(folder, key), (*formats, "preview"))
    if kept is not None:
        paths = {fmt: _write_if_changed(out_dir / f"{stem}.{fmt}", kept[fmt]) for fmt in formats}
        check_figure_size(stem, kept)
        _record(stem, "figure", paths, figure_title(fig))
        _show_preview(fig, kept["preview"])
        return paths
    _fontdata.install()   # fonts read from memory: the same glyphs, fewer system calls
    localise_numbers(fig)
    if simulated:
        _mark_simulated(fig)
    preview = None
    paths: dict[str, Path] = {}
    files: dict[str, bytes] = {}
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        with (warnings.catch_warnings(record=True) as caught, _shared_text_metrics(),
              _shared_font_tables(), _shared_text_layouts(), _settled_layout_draws(fig)):
            warnings.simplefilter("always")
            for fmt in formats:
                buffer = io.BytesIO()
                with (_cached_font_subsets() if fmt == "pdf" else _cached_png() if fmt == "png"
                      else contextlib.nullcontext()):
                    fig.savefig(buffer, format=fmt, dpi=DPI, metadata=_figure_metadata(fmt))
                files[fmt] = buffer.getvalue()
                paths[fmt] = _write_if_changed(out_dir / f"{stem}.{fmt}", files[fmt])
                if show and fmt == "png":
                    preview = preview_png(fig, files[fmt])  # now, while the canvas holds this render
        missing = sorted({str(w.message) for w in caught if "missing from font" in str(w.message)})
        if missing:
            raise ExportError(f"figure {stem!r} uses characters the font cannot draw: {missing[0]}")
        check_figure_size(stem, files)
        _record(stem, "figure", paths, figure_title(fig))
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    if show:
        preview = preview if preview is not None else preview_png(fig)
        _cache_write(folder, key, _pack({**files, "preview": preview}))
        _show_preview(fig, preview)
    return paths


def _write_if_changed(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` unless the file already holds exactly these bytes."""
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def _pack(parts: Mapping[str, bytes]) -> bytes:
    """``{name: bytes}`` as one byte string (names sorted, each part length-prefixed)."""
    out = bytearray()
    for name in sorted(parts):
        for chunk in (name.encode("utf-8"), parts[name]):
            out += len(chunk).to_bytes(8, "little") + chunk
    return bytes(out)


def _unpack(data: bytes | None, names: Iterable[str]) -> dict[str, bytes] | None:
    """The parts :func:`_pack` made, or None when ``data`` is None, malformed or lacks a name."""
    if data is None:
        return None
    parts: dict[str, bytes] = {}
    at, texts = 0, []
    while at < len(data):
        if at + 8 > len(data):
            return None
        size = int.from_bytes(data[at:at + 8], "little")
        chunk = data[at + 8:at + 8 + size]
        if len(chunk) != size:
            return None
        texts.append(chunk)
        at += 8 + size
    if len(texts) % 2:
        return None
    for name, chunk in zip(texts[::2], texts[1::2], strict=True):
        parts[name.decode("utf-8", errors="replace")] = chunk
    return parts if all(n in parts for n in names) else None


#: Resolution of the notebook preview of a figure (matplotlib's inline default).
PREVIEW_DPI = 100


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython already imported, with a kernel attached)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's IHDR chunk, without decoding the image."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def preview_png(fig, png: bytes | None = None) -> bytes:
    """The figure as a PNG at :data:`PREVIEW_DPI`, without drawing it again when possible.

    ``png`` is the figure's export at :data:`DPI`, just written by ``fig.savefig``: the
    Agg canvas still holds that render, which is reduced by ``DPI // PREVIEW_DPI`` (box
    filter, Pillow's ``Image.reduce``).  If the canvas does not match ``png`` the PNG is
    decoded instead; without ``png`` the figure is drawn at :data:`PREVIEW_DPI`.
    Deterministic bytes (no PNG metadata).
    """
    from PIL import Image

    if png is None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=PREVIEW_DPI, metadata={"Software": None})
        return buffer.getvalue()
    size = _png_size(png)
    image = None
    try:
        rgba = np.asarray(fig.canvas.buffer_rgba())
        if size is not None and rgba.shape[:2] == (size[1], size[0]):
            image = Image.fromarray(rgba, mode="RGBA") if rgba.ndim == 3 else None
    except (AttributeError, TypeError, ValueError):
        image = None
    if image is None:
        image = Image.open(io.BytesIO(png))
        image.load()
        image = image.convert("RGBA")
    small = _reduced(image, max(1, DPI // PREVIEW_DPI))
    return _encoded_preview(small)


def _encoded_preview(small) -> bytes:
    """``small`` as PNG bytes, each distinct image encoded once.

    Encoding the preview is most of its cost (30–50 ms).  The bytes depend only on the
    pixels (mode, size, data) and the Pillow and zlib versions, which make the key of
    ``data/processed/cache/preview`` (``HLSTUDY_EXPORT_CACHE=0`` switches it off), so a
    figure whose pixels did not change since the last run is not encoded again."""
    import hashlib

    import PIL
    from PIL import features

    folder = _cache_dir("preview")
    key = None if folder is None else _content_key(
        "preview", small.mode, small.size, hashlib.sha256(small.tobytes()).digest(),
        PIL.__version__, features.version("zlib"))
    data = _cache_read(folder, key)
    if data is None:
        out = io.BytesIO()
        small.save(out, format="PNG")
        data = out.getvalue()
        _cache_write(folder, key, data)
    return data


def _reduced(image, factor: int):
    """``image`` (RGBA) reduced by ``factor`` (box filter), as RGB when the result is opaque.

    Pillow reduces an RGBA image through premultiplied alpha (two full-size conversions,
    most of the preview's cost).  When every pixel is opaque, premultiplying is the identity
    and every reduced pixel is opaque too, so the same bytes come from reducing the RGB
    channels alone (``tests/test_speed_figures.py`` compares both ways)."""
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        return image.convert("RGB").reduce(factor)
    small = image.reduce(factor)
    if small.getextrema()[3][0] == 255:  # opaque: no alpha channel needed
        small = small.convert("RGB")
    return small


def _show_preview(fig, png: bytes) -> None:
    """Display ``png`` in the notebook (text: the figure's repr) and close ``fig``."""
    import matplotlib.pyplot as plt

    text = repr(fig)
    plt.close(fig)
    if _in_notebook():
        from IPython.display import display

        display({"image/png": png, "text/plain": text}, raw=True)


# --------------------------------------------------------------------------- suppression


def suppress_small_cells(
    df: pd.DataFrame,
    count_columns: Iterable[str],
    *,
    min_cell: int = MIN_CELL,
    dependent: Mapping[str, Iterable[str]] | None = None,
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Replace cells that describe fewer than ``min_cell`` people by ``"<5"``.

    ``count_columns`` hold numbers of people.  A cell with 1 to ``min_cell - 1`` people
    (and 0 too when ``suppress_zero``) is suppressed; so are, in the same row, the
    columns listed for it in ``dependent`` (rates, means or intervals computed from those
    people).  Returns a new frame; the input is not modified.  This is primary
    suppression only: when a table also prints row or column totals, a suppressed
    cell may be recoverable by subtraction, and the caller must not print both.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"xa": ["A", "B"], "n": [12, 3], "pct": [50.0, 33.3]})
    >>> suppress_small_cells(t, ["n"], dependent={"n": ["pct"]})["pct"].tolist()
    [50.0, '<5']
    """
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise ExportError("suppress_small_cells expects a pandas DataFrame")
    if not isinstance(min_cell, int | np.integer) or min_cell < 1:
        raise ExportError(f"min_cell must be a positive integer, got {min_cell!r}")
    counts = list(count_columns)
    dependent = {k: list(v) for k, v in (dependent or {}).items()}
    for col in counts + [c for cols in dependent.values() for c in cols] + list(dependent):
        if col not in df.columns:
            raise ExportError(f"column {col!r} is not in the table (columns: {list(df.columns)})")
    out = df.copy()
    for col in counts + list(dependent):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any() and df[col].notna().any():
            non_numeric = df.loc[values.isna() & df[col].notna(), col]
            if len(non_numeric):
                raise ExportError(f"count column {col!r} holds non-numbers, e.g. {non_numeric.iloc[0]!r}")
        low = 0 if suppress_zero else 1
        small = (values >= low) & (values < min_cell)
        if not small.any():
            continue
        targets = ([col] if col in counts else []) + dependent.get(col, [])
        for target in targets:
            out[target] = out[target].astype(object)
            out.loc[small, target] = SUPPRESSED
    return out


# --------------------------------------------------------------------------- tables


def format_number(value, decimals: int = 0, *, lang: str | None = None) -> str:
    """A table cell's number as printed: Vietnamese ``12.345,67`` / English ``12,345.67``.

    Digits are grouped by thousands only from 10,000 up (the SI/ISO 80000 convention, so
    that years such as 2019 and four-digit counts print plainly), tested on the rounded
    value as prose's :func:`number` does (both call :func:`_grouped`).  Integers print without
    decimals.  A negative number prints with the minus sign :data:`MINUS` (U+2212, which the
    ``.tex`` needs a Unicode engine and font for, as its other symbols: XeLaTeX or LuaLaTeX).
    Used by the ``.tex`` and ``.docx`` writers in the label language.

    >>> format_number(0.4567, 2, lang="vi"), format_number(121735, lang="vi"), format_number(2019, lang="vi")
    ('0,46', '121.735', '2019')
    >>> format_number(-12345.678, 1, lang="en") == "\u221212,345.7"
    True
    """
    integer = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    v = int(value) if integer else float(value)
    return _grouped(f"{v:d}" if integer else f"{v:.{decimals}f}", lang=lang)


#: Headers of p-value columns, by the names the tables use: lavaan's ``pvalue`` (also
#: ``pvalue.scaled``), psych's and statsmodels' ``p``, ``p_value``, ``p.value``, a ``p`` qualified
#: in brackets (``p (χ²)``, ``p (Δχ²)``, ``p (CR2)``, ``p (wild bootstrap)``), the Holm-adjusted
#: ``p hiệu chỉnh`` / ``Adjusted p``, and ``giá trị p`` / ``p-value``.  Case is ignored.
P_VALUE_HEADER = re.compile(
    r"^(?:p|pvalue(?:\.scaled)?|p[._ -]?value|p[._]adj(?:usted)?|p hiệu chỉnh|adjusted p|"
    r"giá trị p)(?:\s*\(.+\))?$", re.IGNORECASE)
#: A p-value below this prints as ``< 0,001`` (vi) / ``< 0.001`` (en); others with 3 decimals.
P_FLOOR_DECIMALS = 3


def is_p_column(name) -> bool:
    """Is a column (or, in a two-column "measure, value" table, a row) named as a p-value?

    >>> [is_p_column(n) for n in ("p", "pvalue", "p (χ²)", "p hiệu chỉnh", "Adjusted p", "SE", "pct")]
    [True, True, True, True, True, False, False]
    """
    return bool(P_VALUE_HEADER.match(str(name).strip()))


def format_p(value, *, lang: str | None = None) -> str:
    """A p-value as a thesis prints it in a table: ``< 0,001`` / ``< 0.001`` below 0.001,
    else three decimals (``0,023`` / ``0.023``); missing prints as an empty cell.

    >>> format_p(2.1e-07, lang="vi"), format_p(2.1e-07, lang="en"), format_p(0.0234, lang="vi")
    ('< 0,001', '< 0.001', '0,023')
    """
    import pandas as pd
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        p = float(value)
    except (TypeError, ValueError) as err:
        raise ExportError(f"a p-value cell holds {value!r}, not a number") from err
    if not math.isfinite(p):
        return ""
    if not 0 <= p <= 1:
        raise ExportError(f"a p-value lies in [0, 1], got {value!r}")
    floor = 10.0 ** -P_FLOOR_DECIMALS
    if p < floor:
        return "< " + format_number(floor, P_FLOOR_DECIMALS, lang=lang)
    return format_number(p, P_FLOOR_DECIMALS, lang=lang)


#: Headers (or, in a "measure, value" table, row labels) of counts: lavaan's ``df``,
#: ``npar``, ``ntotal``, a Δ of them, ``n``/``N``/``k``, ``bậc tự do`` and ``số …`` ("number
#: of …"), and the English headers the notebooks give the same columns and rows ("Degrees of
#: freedom", "Respondents used", "Communes", "No. of sources"…: an English table printed
#: ``1618.000`` where the Vietnamese printed ``1618``), with an optional qualifier in
#: brackets.  Case is ignored.  Only a whole number prints without decimals.
COUNT_HEADER = re.compile(
    r"^(?:Δ\s*)?(?:df|npar|ntotal|n|k|bậc tự do|số\b.*"
    r"|degrees of freedom|number\b.*|.*\bnumber|no\.\s.*|respondents\b.*|responses\b.*"
    r"|records\b.*|items\b.*|rows\b.*|.*\bcolumns dropped\b.*|people|communes|(?:former )?units"
    r"|courses|bootstrap draws\b.*|count"
    r"|intervals|values compared|maximum(?: number)?|years in post)(?:\s*\(.+\))?$",
    re.IGNORECASE)


def is_count_column(name) -> bool:
    """Is a column (or a row of a "measure, value" table) named as a count (``df``, ``n``…)?

    >>> [is_count_column(n) for n in ("df", "Δdf", "n", "N (xã)", "npar", "SE", "ndf", "RMSEA")]
    [True, True, True, True, True, False, False, False]
    >>> [is_count_column(n) for n in ("Degrees of freedom", "Respondents used", "Mean", "p")]
    [True, True, False, False]
    """
    return bool(COUNT_HEADER.match(str(name).strip()))


def _whole(value) -> bool:
    return (isinstance(value, float | np.floating) and math.isfinite(value)
            and float(value).is_integer())


def _check_cell_decimals(df: pd.DataFrame, cell_decimals) -> dict[str, list[int]]:
    """``cell_decimals`` of :func:`save_table` checked against the printed frame ``df``:
    ``{column: [decimals of each row]}``."""
    import pandas as pd
    if cell_decimals is None:
        return {}
    if not isinstance(cell_decimals, Mapping):
        raise ExportError("cell_decimals must map a column name to the decimals of each of its "
                          f"rows, got {type(cell_decimals).__name__}")
    out = {}
    for column, places in cell_decimals.items():
        if str(column) not in df.columns:
            raise ExportError(f"cell_decimals names column {column!r}, which the printed table "
                              f"lacks (columns: {list(df.columns)})")
        if isinstance(places, pd.Series | np.ndarray):
            places = places.tolist()
        if isinstance(places, str | bytes) or not isinstance(places, Sequence):
            raise ExportError(f"cell_decimals[{column!r}] must list the decimals of each row, "
                              f"got {places!r}")
        if len(places) != len(df):
            raise ExportError(f"cell_decimals[{column!r}] gives {len(places)} decimals for a "
                              f"table of {len(df)} rows: give one per row")
        bad = [d for d in places if not isinstance(d, int | np.integer) or isinstance(d, bool)
               or d < 0]
        if bad:
            raise ExportError(f"cell_decimals[{column!r}] must be non-negative integers, got "
                              f"{bad[0]!r}")
        out[str(column)] = [int(d) for d in places]
    return out


def _printed_cells(df: pd.DataFrame, decimals: int,
                   cell_decimals: Mapping[str, Sequence[int]] | None = None) -> list[list[str]]:
    """The body of ``df`` as printed in ``.tex``/``.docx``: numbers in the label language,
    p-values (:func:`is_p_column` headers; or a row whose label in the first, text, column
    names a p-value, as in a fit-index table) as :func:`format_p`, hidden marks as they are.
    A whole number in a count column, or in a count row of a table whose columns are
    measures (:func:`is_count_column`: ``df``, ``n``…; a table with count columns of its own
    is read by column), prints without decimals (``1504``, not ``1504,000``), as does a column whose every number is a
    whole number and one of them at least 2 (counts stored as floats beside missing cells; a
    column of shares 0 and 1 keeps its decimals).  ``cell_decimals`` (column → the decimals of
    each row) overrides all of this for the numbers of the columns it names: each prints with
    its own row's decimals (a label–value table whose rows are a count, an area, a share)."""
    per_cell = _check_cell_decimals(df, cell_decimals)
    p_cols = [is_p_column(c) for c in df.columns]
    label_col = len(df.columns) > 1 and not _is_numeric_column(df.iloc[:, 0])
    count_cols = []
    for c in df.columns:
        numbers = [v for v in df[c] if isinstance(v, float | np.floating) and math.isfinite(v)]
        count_cols.append(is_count_column(c) or (bool(numbers) and all(_whole(v) for v in numbers)
                                                 and max(abs(v) for v in numbers) >= 2))
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        p_row = label_col and isinstance(row[0], str) and is_p_column(row[0])
        count_row = (label_col and not any(is_count_column(c) for c in df.columns)
                     and isinstance(row[0], str) and is_count_column(row[0]))
        cells = []
        for j, value in enumerate(row):
            numeric = isinstance(value, int | np.integer | float | np.floating) and not isinstance(value, bool | np.bool_)
            if numeric and df.columns[j] in per_cell:
                cells.append(_format_cell(float(value), per_cell[df.columns[j]][i]))
            elif numeric and (p_cols[j] or (p_row and j > 0)):
                try:
                    cells.append(format_p(value))
                except ExportError as err:
                    raise ExportError(f"column {df.columns[j]!r}: {err}") from None
            elif _whole(value) and not p_cols[j] and (count_cols[j] or (count_row and j > 0)):
                cells.append(_format_cell(int(value), decimals))
            else:
                cells.append(_format_cell(value, decimals))
        rows.append(cells)
    return rows


def _format_cell(value, decimals: int, lang: str | None = None) -> str:
    import pandas as pd
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer | float | np.floating):
        return format_number(value, decimals, lang=lang)
    return str(value)


def hidden_cells(df: pd.DataFrame) -> dict[str, int]:
    """Number of hidden cells of a table: ``{"primary", "complementary", "total", "cells"}``.

    ``primary`` are the ``<5`` cells (fewer than 5 people, or derived from them),
    ``complementary`` the ``x`` cells (hidden to protect another cell), ``cells`` all cells.

    >>> import pandas as pd
    >>> hidden_cells(pd.DataFrame({"k": ["<5", "x", 7]}))
    {'primary': 1, 'complementary': 1, 'total': 2, 'cells': 3}
    """
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise ExportError("hidden_cells expects a pandas DataFrame")
    values = df.astype(object).to_numpy()
    primary = int((values == SUPPRESSED).sum())
    complementary = int((values == COMPLEMENTARY).sum())
    return {"primary": primary, "complementary": complementary,
            "total": primary + complementary, "cells": int(values.size)}


#: Cells and headers of a Vietnamese table that are programme codes, not words: snake_case
#: identifiers (``can_bo``, ``area_km2``), ``premise/path``-like code pairs, and Python
#: reprs (``required=('commune',)``).
_CODE_PATTERNS = (
    re.compile(r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)+$"),
    re.compile(r"^[a-z]+/[a-z]+$"),
    re.compile(r"[A-Za-z_]+=[(\[{']|\(\s*'[^']*',\s*\)|^\['[^']*'(,\s*'[^']*')*\]$"),
)


def english_codes(df: pd.DataFrame, *, allowed: Iterable[str] = ()) -> list[str]:
    """Headers and cells of ``df`` that are programme codes rather than Vietnamese words.

    Returns ``["header: can_bo", "cell: cong_chuc", …]`` (each distinct text once, sorted);
    ``allowed`` lists texts to accept (e.g. construct codes such as ``ETH`` are not flagged
    anyway; a documented code printed on purpose can be allowed).  A Vietnamese export must
    return ``[]`` (issue 13, kind 9).

    >>> import pandas as pd
    >>> english_codes(pd.DataFrame({"kind": ["can_bo", "Cán bộ"], "Số người": [3, 4]}))
    ['cell: can_bo']
    """
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise ExportError("english_codes expects a pandas DataFrame")
    ok = {str(a) for a in allowed}
    found = set()
    for col in df.columns:
        text = str(col)
        if text not in ok and any(p.search(text) for p in _CODE_PATTERNS):
            found.add(f"header: {text}")
    for col in df.columns:
        for v in pd.unique(df[col].astype(object)):
            if isinstance(v, str) and v not in ok and any(p.search(v.strip()) for p in _CODE_PATTERNS):
                found.add(f"cell: {v}")
    return sorted(found)


def _is_numeric_column(series: pd.Series) -> bool:
    import pandas as pd
    values = [v for v in series.tolist() if not (v is None or v is pd.NA or (isinstance(v, str) and v in ("", *HIDDEN_MARKS)))]
    values = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    return bool(values) and all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in values)


#: Abbreviations a table may print, by label language: spelled out in the note of every table
#: that prints one (:func:`abbreviations_note`), as a thesis spells out an abbreviation where a
#: table uses it.  The field's method names (CFA, SEM, FIML, MLR, CR2, ICC) are left to the
#: methods chapter.
ABBREVIATIONS = {
    "vi": {"KTC": "khoảng tin cậy", "CBCC": "cán bộ, công chức", "LLCT": "lý luận chính trị",
           "QLNN": "quản lý nhà nước", "ĐVHC": "đơn vị hành chính", "UBND": "Ủy ban nhân dân",
           "HĐND": "Hội đồng nhân dân",
           "IPMA": "phân tích tầm quan trọng – mức độ thực hiện"},
    "en": {"CI": "confidence interval", "IPMA": "importance-performance map analysis"},
}


def abbreviations_note(texts: Iterable[str], note: str = "", lang: str | None = None) -> str:
    """``"Viết tắt: KTC – khoảng tin cậy; LLCT – lý luận chính trị."`` for the
    :data:`ABBREVIATIONS` of ``lang`` (default :func:`language`) that occur as whole words in
    ``texts`` (a table's title, headers and cells) or ``note`` and whose meaning ``note`` does
    not already give; ``""`` when there is none.  Sorted by abbreviation.

    >>> abbreviations_note(["KTC 95% dưới", "Xã"], lang="vi")
    'Viết tắt: KTC – khoảng tin cậy.'
    >>> abbreviations_note(["KTC 95%"], note="KTC: khoảng tin cậy.", lang="vi")
    ''
    """
    import re

    lang = language() if lang is None else lang
    if lang not in ABBREVIATIONS:
        raise ExportError(f"language must be 'vi' or 'en', got {lang!r}")
    text = "\n".join([*map(str, texts), note])
    used = [(a, meaning) for a, meaning in sorted(ABBREVIATIONS[lang].items())
            if re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text) and meaning.lower() not in note.lower()]
    if not used:
        return ""
    joined = "; ".join(f"{a} – {meaning}" for a, meaning in used)
    return ("Abbreviations: " if lang == "en" else "Viết tắt: ") + joined + "."


def _note_text(note: str, simulated: bool, hidden: Mapping[str, int] | bool,
               abbreviations: str = "") -> str:
    parts = [note.strip()] if note and note.strip() else []
    if abbreviations:
        parts.append(abbreviations)
    if isinstance(hidden, bool):
        hidden = {"primary": int(hidden), "complementary": 0, "total": int(hidden), "cells": 0}
    if hidden["primary"]:
        parts.append(
            tr(
                f"Ô mô tả dưới {MIN_CELL} người được ẩn ({SUPPRESSED}).",
                f"Cells describing fewer than {MIN_CELL} people are suppressed ({SUPPRESSED}).",
            )
        )
    if hidden["complementary"]:
        parts.append(
            tr(
                f"{COMPLEMENTARY}: ô được ẩn để không suy ra được một ô đã ẩn bằng phép trừ "
                f"(giá trị thật có thể từ {MIN_CELL} trở lên).",
                f"{COMPLEMENTARY}: cell hidden so that a suppressed cell cannot be recovered by "
                f"subtraction (its true value may be {MIN_CELL} or more).",
            )
        )
    if hidden["total"] and hidden.get("cells"):
        # each kind of hidden cell the table has, by its mark (a kind it lacks is not named)
        kinds = [(hidden[k], mark) for k, mark in (("primary", SUPPRESSED),
                                                   ("complementary", COMPLEMENTARY)) if hidden[k]]
        parts.append(
            tr(
                f"Số ô bị ẩn: {hidden['total']}/{hidden['cells']} ("
                + ", ".join(f"{n} ô {mark}" for n, mark in kinds) + ").",
                f"Hidden cells: {hidden['total']}/{hidden['cells']} ("
                + ", ".join(f"{n} {mark}" for n, mark in kinds) + ").",
            )
        )
    if simulated:
        parts.append(SIMULATED_MARK + ".")
    return " ".join(parts)


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    # Symbols outside the Vietnamese alphabet: pdfLaTeX's Vietnamese set-up (T5 font encoding
    # with utf8 input) has no text glyph for them, so they are written as commands that every
    # engine typesets (pdfLaTeX, XeLaTeX, LuaLaTeX), in math mode where TeX has them there.
    "–": r"\textendash{}",
    "—": r"\textemdash{}",
    "“": r"\textquotedblleft{}",
    "”": r"\textquotedblright{}",
    "‘": r"\textquoteleft{}",
    "’": r"\textquoteright{}",
    "…": r"\ldots{}",
    "²": r"\textsuperscript{2}",
    "·": r"\ensuremath{\cdot}",
    "×": r"\ensuremath{\times}",
    "−": r"\ensuremath{-}",
    "±": r"\ensuremath{\pm}",
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "≠": r"\ensuremath{\neq}",
    "≈": r"\ensuremath{\approx}",
    "→": r"\ensuremath{\rightarrow}",
    "←": r"\ensuremath{\leftarrow}",
    "↔": r"\ensuremath{\leftrightarrow}",
    "√": r"\ensuremath{\surd}",
    "✗": r"\ensuremath{\times}",   # "not met" marks: the ballot X has no glyph without pifont
    "✓": r"\ensuremath{\surd}",
    "Δ": r"\ensuremath{\Delta}",
    "α": r"\ensuremath{\alpha}",
    "β": r"\ensuremath{\beta}",
    "γ": r"\ensuremath{\gamma}",
    "η": r"\ensuremath{\eta}",
    "λ": r"\ensuremath{\lambda}",
    "ρ": r"\ensuremath{\rho}",
    "σ": r"\ensuremath{\sigma}",
    "τ": r"\ensuremath{\tau}",
    "ω": r"\ensuremath{\omega}",
    "χ": r"\ensuremath{\chi}",
    # the other Greek letters statistics names (κ, μ, ε, δ, ν, θ, …; uppercase where it is
    # not a Latin capital), the micro sign and increment as μ and Δ
    **{ch: rf"\ensuremath{{\{name}}}" for ch, name in (
        ("δ", "delta"), ("ε", "varepsilon"), ("ζ", "zeta"), ("θ", "theta"), ("ι", "iota"),
        ("κ", "kappa"), ("μ", "mu"), ("ν", "nu"), ("ξ", "xi"), ("π", "pi"), ("υ", "upsilon"),
        ("φ", "phi"), ("ψ", "psi"), ("Γ", "Gamma"), ("Θ", "Theta"), ("Λ", "Lambda"),
        ("Ξ", "Xi"), ("Π", "Pi"), ("Σ", "Sigma"), ("Φ", "Phi"), ("Ψ", "Psi"), ("Ω", "Omega"),
        ("µ", "mu"), ("∆", "Delta"), ("∞", "infty"), ("≡", "equiv"), ("∈", "in"),
        ("∼", "sim"), ("⋅", "cdot"))},
    "°": r"\ensuremath{^{\circ}}",
    "′": r"\ensuremath{^{\prime}}",
    "³": r"\textsuperscript{3}",
    "¹": r"\textsuperscript{1}",
    "•": r"\textbullet{}",
    "\u00a0": "~",          # no-break space
    "\u202f": r"\,",       # narrow no-break space
    "\u2009": r"\,",       # thin space
    "\u2010": "-",          # hyphen
    "\u2011": "-",          # no-break hyphen
    "\u2012": r"\textendash{}",   # figure dash
}

#: The base letters and tone marks of the Vietnamese alphabet: every letter they make (NFC) is
#: typeset as text by pdfLaTeX's T5 encoding and by any Vietnamese-capable font.
_VI_BASES = "aăâeêioôơuưy"
_VI_TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _vietnamese_letters() -> frozenset:
    import unicodedata

    letters = {"đ", "Đ"}
    for base in _VI_BASES:
        for tone in _VI_TONE_MARKS:
            for b in (base, base.upper()):
                letters.add(unicodedata.normalize("NFC", b + tone))
    return frozenset(ch for ch in letters if len(ch) == 1)


#: Characters beyond ASCII that a ``.tex`` table may hold as they are (:func:`latex_escape`).
LATEX_TEXT_LETTERS = _vietnamese_letters()


def latex_escape(text: str, *, where: str | None = None) -> str:
    """``text`` as LaTeX source that pdfLaTeX (Vietnamese set-up), XeLaTeX and LuaLaTeX typeset.

    LaTeX's special characters are escaped, and symbols outside the Vietnamese alphabet (arrows,
    Greek letters, ≤, ≥, °, the minus sign, dashes, curly quotes; :data:`_LATEX_ESCAPES`)
    become commands, so that a table compiles with ``\\usepackage[T5]{fontenc}`` and
    ``\\usepackage[vietnamese]{babel}`` under pdfLaTeX as well as with a Unicode font under
    XeLaTeX.  Vietnamese letters (:data:`LATEX_TEXT_LETTERS`, in either Unicode form: the text
    is composed, NFC, first) stay as they are.

    >>> print(latex_escape("β (SUP → MOT) ≥ −0,10 & 5%"))
    \\ensuremath{\\beta} (SUP \\ensuremath{\\rightarrow} MOT) \\ensuremath{\\ge} \\ensuremath{-}0,10 \\& 5\\%
    >>> print(latex_escape("κ = 0,61; ω² ≈ 0,8"))
    \\ensuremath{\\kappa} = 0,61; \\ensuremath{\\omega}\\textsuperscript{2} \\ensuremath{\\approx} 0,8

    Raises :class:`ExportError` for any other character beyond ASCII (pdfLaTeX's T5 set-up
    stops at it), naming it and the text, and ``where`` it is when given (a table's cell).
    """
    import unicodedata

    text = unicodedata.normalize("NFC", str(text))
    out = []
    for ch in text:
        if ch in _LATEX_ESCAPES:
            out.append(_LATEX_ESCAPES[ch])
        elif ord(ch) < 128 or ch in LATEX_TEXT_LETTERS:
            out.append(ch)
        else:
            name = unicodedata.name(ch, "unnamed")
            raise ExportError(
                f"{ch!r} (U+{ord(ch):04X} {name}) in {text!r}"
                + (f" ({where})" if where else "")
                + " has no LaTeX command that pdfLaTeX's Vietnamese set-up (T5) typesets: "
                "write it otherwise or add it to hlstudy.export._LATEX_ESCAPES")
    return "".join(out)


#: Tables with more body rows than this are written as a ``longtable`` (breaks across pages,
#: header repeated) instead of a ``table`` float.  On A4 with 2.5 cm top and bottom margins
#: the text block is about 24.7 cm (700 pt) high; a row of a 12 pt thesis at single spacing
#: takes about 14.5 pt, so with the caption, rules and a two- to four-line note a float of
#: 30 rows fills about 70 % of the page (LaTeX's ``\topfraction``, 0.7): it still sits on a
#: page with text.  Beyond that a float would go to a page of its own and, past about 40
#: rows, overflow it.
LONGTABLE_ROWS = 30


#: The text width of a printed page in characters of a table's body font: A4 with the margins of
#: :data:`DOCX_PAGE_MM` (15.5 cm) holds about 80 characters of Times at 11 pt (a LaTeX thesis of
#: 12 pt on a similar text block about 75); table widths are planned in these units.
LINE_CHARS = 80
#: What the gap between two columns takes, in characters: LaTeX's ``2\tabcolsep`` (12 pt) and
#: Word's default cell margins (2 × 0.19 cm) are both about two characters.
COLUMN_GAP_CHARS = 2
#: A text column whose longest printed cell is longer than this wraps (a paragraph column)
#: when the table is wider than the page; shorter ones (codes, labels) keep one line.
WRAP_CHARS = 20
#: A wrapping column is never narrower than this many characters.
MIN_WRAP_CHARS = 18
#: The type sizes a table too wide for the page is tried in, with how many more characters a
#: line then holds and Word's point size: LaTeX's ``\footnotesize`` and ``\scriptsize`` are 10
#: and 8 pt in a 12 pt thesis (1.2 and 1.5 times as many characters); Word's body is 11 pt.
TABLE_SIZES = (("normalsize", 1.0, 11.0), ("footnotesize", 1.2, 9.0), ("scriptsize", 1.5, 7.5))


#: LaTeX's text width in TeX points: the 15.5 cm of an A4 page with :data:`DOCX_PAGE_MM`'s
#: margins (the README's thesis page).  ``.tex`` tables are planned against it (:func:`column_layout`).
LATEX_TEXT_PT = 155 / 25.4 * 72.27
#: LaTeX's ``\tabcolsep`` (half the gap between two columns), in points: the standard classes'
#: 6 pt, and the narrower gaps of the last resort, tried in turn for a table too wide for the
#: line even in ``\scriptsize`` (:func:`column_layout`; written into the table as ``\setlength``).
LATEX_TABCOLSEP_PT = 6.0
LATEX_NARROW_TABCOLSEPS_PT = (3.0, 2.0)
#: Where TeX may break a word of a wrapping ``.tex`` column that it would otherwise keep whole:
#: after the dots, underscores, ``::``, slashes, hyphens, commas and semicolons of code names,
#: paths, lists and web addresses (``cfa.measurement_invariance``, ``chinhphu.vn``,
#: ``1246/NQ-UBTVQH15``, ``abs≤1,rel>1``) before a letter, and inside a camel-case name
#: (``standardized|Solution``); never inside a number.  The writer puts ``\allowbreak{}``
#: there but after a hyphen, where TeX breaks by itself (:func:`latex_breakable`).
_LATEX_BREAK = re.compile(r"(?:(?<=[._/,;-])|(?<=::))(?=[A-Za-z])|(?<=[a-z])(?=[A-Z][a-z])")
#: The LaTeX type sizes of :data:`TABLE_SIZES` in a 12 pt thesis (the widest case: a 10 or 11 pt
#: thesis sets them smaller on the same text width), in points.
LATEX_SIZE_PT = {"normalsize": 12.0, "footnotesize": 10.0, "scriptsize": 8.0}
#: Advance widths, in ems of the type size, of the characters of pdfLaTeX's Vietnamese set-up
#: (T5 Computer Modern: ``vnr12``, ``vnr10``, ``vnr8``, the 12, 10 and 8 pt designs) and of
#: the commands :func:`latex_escape` writes for symbols, measured with ``\wd`` of an ``\hbox``.
#: A Vietnamese letter with a tone mark is as wide as its letter without it.
_LATEX_EM_WIDTHS = (
    (' -', (0.326, 0.333, 0.354)),
    ("!',.:;[]`il|‘’", (0.272, 0.278, 0.295)),
    ('"', (0.5, 0.5, 0.531)),
    ('#%mΔ', (0.816, 0.833, 0.885)),
    ('$*/0123456789\\ago{}ăơ–', (0.489, 0.5, 0.531)),
    ('&+<=>@OQ_Ơ', (0.761, 0.778, 0.826)),
    ('()t', (0.381, 0.389, 0.413)),
    ('?', (0.462, 0.472, 0.502)),
    ('AHNUVXYƯ', (0.734, 0.75, 0.796)),
    ('B', (0.693, 0.708, 0.752)),
    ('CTw', (0.707, 0.722, 0.767)),
    ('DĐ', (0.748, 0.764, 0.811)),
    ('EP', (0.666, 0.68, 0.722)),
    ('F', (0.639, 0.653, 0.693)),
    ('G', (0.768, 0.785, 0.833)),
    ('I', (0.353, 0.361, 0.383)),
    ('J', (0.503, 0.514, 0.545)),
    ('K', (0.761, 0.778, 0.825)),
    ('L', (0.612, 0.625, 0.663)),
    ('M', (0.897, 0.916, 0.973)),
    ('R', (0.72, 0.736, 0.781)),
    ('Sbdhnpuđư', (0.544, 0.555, 0.59)),
    ('W', (1.006, 1.028, 1.091)),
    ('Z^~', (0.598, 0.611, 0.649)),
    ('cez', (0.435, 0.444, 0.472)),
    ('fj', (0.299, 0.305, 0.325)),
    ('kqvxy', (0.517, 0.528, 0.561)),
    ('r', (0.381, 0.392, 0.414)),
    ('s', (0.386, 0.394, 0.419)),
    ('±×−≈≤≥✗', (0.778, 0.778, 0.826)),
    ('²', (0.396, 0.449, 0.521)),
    ('·', (0.278, 0.278, 0.295)),
    ('α', (0.629, 0.643, 0.682)),
    ('β', (0.608, 0.618, 0.648)),
    ('γ', (0.562, 0.573, 0.606)),
    ('η', (0.519, 0.532, 0.569)),
    ('λ', (0.571, 0.583, 0.62)),
    ('ρ', (0.505, 0.517, 0.544)),
    ('σ', (0.592, 0.607, 0.643)),
    ('τ', (0.537, 0.55, 0.587)),
    ('χ', (0.613, 0.626, 0.66)),
    ('ω', (0.646, 0.658, 0.697)),
    ('—', (0.979, 1.0, 1.062)),
    ('“”', (0.408, 0.417, 0.443)),
    ('…', (1.305, 1.333, 1.416)),
    ('←→↔', (1.0, 1.0, 1.063)),
    ('√✓', (0.833, 0.833, 0.885)),
    ('≠', (0.762, 0.778, 0.826)),
)
_LATEX_WIDTH = {ch: widths for chars, widths in _LATEX_EM_WIDTHS for ch in chars}
#: Characters missing from :data:`_LATEX_EM_WIDTHS` are counted as wide as an M.
_LATEX_WIDTH_DEFAULT = _LATEX_WIDTH["M"]


def latex_breakable(text: str) -> list[str]:
    """``text`` cut where a wrapping ``.tex`` column may break it besides its spaces
    (:data:`_LATEX_BREAK`); the pieces joined make ``text``.

    >>> latex_breakable("cfa.measurement_invariance; 0.5")
    ['cfa.', 'measurement_', 'invariance; 0.5']
    """
    return _LATEX_BREAK.split(str(text))


def latex_text_width(text: str, size: str = "normalsize") -> float:
    """The width in points of ``text`` on one line of a ``.tex`` table in a 12 pt thesis
    (:data:`LATEX_SIZE_PT`), from the fonts' character widths (no kerning, spaces at their
    natural width).

    >>> round(latex_text_width("0,643", "scriptsize"), 2)
    19.35
    """
    if size not in LATEX_SIZE_PT:
        raise ExportError(f"unknown LaTeX type size {size!r}: one of {sorted(LATEX_SIZE_PT)}")
    return _latex_em(str(text), ("normalsize", "footnotesize", "scriptsize").index(size)) \
        * LATEX_SIZE_PT[size]


@functools.lru_cache(maxsize=65536)
def _latex_em(text: str, k: int) -> float:
    import unicodedata

    em = 0.0
    for ch in text:
        widths = _LATEX_WIDTH.get(ch)
        if widths is None:
            widths = _LATEX_WIDTH.get(unicodedata.normalize("NFD", ch)[:1], _LATEX_WIDTH_DEFAULT)
        em += widths[k]
    return em


@dataclass(frozen=True)
class TableLayout:
    """How a printed table is set (:func:`column_layout`).

    ``columns``: ``(kind, share)`` per column; ``kind`` is ``"r"`` (numbers, right-aligned),
    ``"l"`` (text on one line), ``"p"`` (text that wraps, ragged right) or ``"R"`` (numbers,
    right-aligned, in a column whose header wraps); ``share`` is the part of the text width the
    column takes with its gap.  ``size``: the LaTeX type size (``"normalsize"``,
    ``"footnotesize"``, ``"scriptsize"``) and ``points`` Word's.  ``height``: the body's
    printed lines (its rows, each as many lines as its most wrapped cell), counted in lines of
    the normal size.  ``tabcolsep``: LaTeX's half gap between columns, in points (narrower only
    in a ``.tex`` table's last resort).
    """

    columns: tuple
    size: str = "normalsize"
    points: float = 11.0
    height: float = 0.0
    tabcolsep: float = LATEX_TABCOLSEP_PT

    @property
    def width(self) -> float:
        """The shares added up: at most 1 unless even the smallest size cannot fit the table."""
        return sum(share for _, share in self.columns)


def _body_height(cells: list[list[str]], kinds: list[str], widths: list[float], gap: float,
                 scale: float) -> float:
    """The printed lines of a table body whose columns have ``widths`` (characters with the
    gap), each row as many lines as its most wrapped cell, in lines of the normal size."""
    import textwrap

    wrapped = [j for j, k in enumerate(kinds) if k in ("p", "R")]
    lines = 0
    for row in cells:
        lines += max([1] + [len(textwrap.wrap(row[j], max(1, int(widths[j] - gap)))) for j in wrapped])
    return lines / scale


def _fill(room: float, natural: dict, floor: dict) -> dict:
    """Share ``room`` among columns in proportion to the square roots of their one-line widths
    (a compromise between equal widths and the rows' height, which widths in proportion to the
    one-line widths would make least), none above its one-line width nor below its floor
    (water-filling)."""
    widths, open_ = {}, set(natural)
    while open_:
        left = room - sum(widths.values())
        weight = sum(math.sqrt(natural[j]) for j in open_)
        share = {j: left * math.sqrt(natural[j]) / weight for j in open_}
        capped = {j for j in open_ if share[j] >= natural[j] or share[j] <= floor[j]}
        if not capped:
            widths.update(share)
            break
        for j in capped:
            widths[j] = float(natural[j] if share[j] >= natural[j] else floor[j])
        open_ -= capped
    return widths


def column_layout(df: pd.DataFrame, cells: list[list[str]] | None = None, *,
                  line_chars: int = LINE_CHARS, latex: bool = False) -> TableLayout:
    """How each column of a printed table is set so that the table fits the text width.

    Widths are counted in characters (the longest printed cell or header, plus the column gap
    :data:`COLUMN_GAP_CHARS`) against ``line_chars``.  A table that fits keeps every column on
    one line (``l``/``r``).  A wider one, in the first of :data:`TABLE_SIZES` where it fits:
    its long text columns (longest cell over :data:`WRAP_CHARS` characters) wrap, sharing the
    width the other columns leave in proportion to the square roots of their one-line widths
    (none narrower than :data:`MIN_WRAP_CHARS`, but in the last resort); if that is not enough, the headers longer than their columns'
    cells wrap too (``p``, or ``R`` for numbers, still right-aligned).  Numbers never wrap.
    Only a table too wide even in the smallest size goes over the text width.

    ``latex``: plan a ``.tex`` table, whose widths are the printed text's in points
    (:func:`latex_text_width`: an uppercase code, a digit or a math minus is wider than an
    average character) with the gap ``2\\tabcolsep`` (:data:`LATEX_TABCOLSEP_PT`, in points
    whatever the type size) against :data:`LATEX_TEXT_PT`, converted to characters of the line
    (``line_chars`` to the line); a wrapping column is never narrower than its longest word
    (TeX does not break one but where :func:`latex_breakable` allows), and the last resort is
    ``\\scriptsize`` with the narrower gaps of :data:`LATEX_NARROW_TABCOLSEPS_PT`.
    Word tables (``latex=False``) count characters: Word breaks what does not fit.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"Mã": ["T1"], "Nhận định": ["x " * 150], "n": [434]})
    >>> lay = column_layout(t)
    >>> [(k, round(w, 3)) for k, w in lay.columns], lay.size
    ([('l', 0.05), ('p', 0.887), ('r', 0.062)], 'normalsize')
    """
    if cells is None:
        cells = _printed_cells(df, 2)
    headers = [str(c) for c in df.columns]
    numeric = [_is_numeric_column(df[c]) for c in df.columns]
    ncol = len(headers)
    body = [max((len(row[j]) for row in cells), default=0) for j in range(ncol)]
    plain = ["r" if numeric[j] else "l" for j in range(ncol)]
    long_ = [j for j in range(ncol) if not numeric[j] and body[j] > WRAP_CHARS]
    # the pieces of each text column's words TeX can set on a line of their own
    pieces = {j: sorted({piece for text in [row[j] for row in cells] + [headers[j]]
                         for w in set(text.split()) for piece in latex_breakable(w)})
              for j in range(ncol) if not numeric[j]} if latex else {}
    attempt = None
    steps = [(size, scale, points, LATEX_TABCOLSEP_PT) for size, scale, points in TABLE_SIZES]
    if latex:   # the last resort: the smallest size with narrower gaps
        steps += [(*TABLE_SIZES[-1], sep) for sep in LATEX_NARROW_TABCOLSEPS_PT]
    for size, scale, points, tabcolsep in steps:
        line = line_chars * scale
        # the last resort's narrower gaps: every text column may wrap, down to its longest piece
        wrapping = long_ if tabcolsep == LATEX_TABCOLSEP_PT else [j for j in range(ncol)
                                                                   if not numeric[j]]
        if latex:
            # points as characters of this size: LATEX_TEXT_PT is the line
            per_point = line / LATEX_TEXT_PT

            def measure(text, size=size, per_point=per_point):
                return latex_text_width(text, size) * per_point

            gap = 2 * tabcolsep * per_point
        else:
            measure = len
            # the gap is set in points (Word's cell margins): more characters of a smaller type
            gap = COLUMN_GAP_CHARS * scale
        body = [max((measure(row[j]) for row in cells), default=0) for j in range(ncol)]
        natural = [max(measure(headers[j]), body[j]) + gap for j in range(ncol)]
        # a column squeezed to its cells, its header wrapping at its longest word
        tight = [max([body[j]] + [measure(w) for w in headers[j].split()]) + gap for j in range(ncol)]
        # TeX breaks a word only where latex_breakable allows: a wrapping column is at least
        # its longest piece
        words = {j: max([measure(piece) for piece in pieces[j]], default=0) + gap
                 for j in wrapping} if latex else {j: 0.0 for j in wrapping}
        if sum(natural) <= line:
            return TableLayout(tuple((plain[j], natural[j] / line) for j in range(ncol)), size,
                               points, len(cells) / scale, tabcolsep)
        for squeeze_headers in (False, True):
            kinds, widths = list(plain), [float(n) for n in natural]
            others = [j for j in range(ncol) if j not in wrapping]
            if squeeze_headers:
                for j in others:
                    if tight[j] < natural[j]:
                        widths[j], kinds[j] = float(tight[j]), "R" if numeric[j] else "p"
            floor = {j: float(min(natural[j], max([MIN_WRAP_CHARS + gap, words[j]]
                                                  + [measure(w) + gap for w in headers[j].split()])))
                     for j in wrapping}
            room = line - sum(widths[j] for j in others)
            if squeeze_headers and size == TABLE_SIZES[-1][0] and room < sum(floor.values()):
                # the last resort: the long columns share what is left, down to their headers' words
                floor = {j: float(min(natural[j], max(words[j], gap + max(
                    [8, min(MIN_WRAP_CHARS, max((measure(w) for row in cells for w in row[j].split()),
                                                 default=0))]
                    + [measure(w) for w in headers[j].split()])))) for j in wrapping}
                if latex:   # down to the longest piece TeX can set
                    floor = {j: float(min(natural[j], words[j])) for j in wrapping}
            if wrapping:
                filled = _fill(max(room, sum(floor.values())), {j: natural[j] for j in wrapping}, floor)
                for j, w in filled.items():
                    widths[j] = w
                    if w < natural[j]:
                        kinds[j] = "p"
            attempt = (kinds, widths, line, size, points, gap, scale, tabcolsep)
            if sum(widths) <= line + 1e-9:
                break
        else:
            continue
        break
    # the body's height only for the layout chosen (wrapping every attempt's rows is slow)
    kinds, widths, line, size, points, gap, scale, tabcolsep = attempt
    return TableLayout(tuple((kinds[j], widths[j] / line) for j in range(ncol)), size, points,
                       _body_height(cells, kinds, widths, gap, scale), tabcolsep)


def latex_column_spec(layout: TableLayout, *, cell_size: bool = False) -> str:
    r"""The ``tabular``/``longtable`` preamble of a :func:`column_layout`: ``l`` and ``r`` as they
    are; a wrapping column as ``>{\raggedright\arraybackslash}p{\dimexpr 0.4500\linewidth-2\tabcolsep\relax}``
    (``\raggedleft`` for numbers under a wrapping header; needs ``\usepackage{array}``): ragged,
    as narrow columns of words are set, and its share of the line including the column gap, so
    that the shares add up to the line.

    A ``p`` column (rather than tabularx's ``X``) works the same in a ``table`` float and in a
    ``longtable``, which tabularx cannot break across pages.  ``cell_size``: the layout's smaller
    type size set in every cell (``>{\scriptsize}l``), as a ``longtable`` needs it so that its
    caption keeps the normal size.
    """
    size = "\\" + layout.size if cell_size and layout.size != "normalsize" else ""
    parts = []
    for kind, share in layout.columns:
        if kind in ("p", "R"):
            align = r"\raggedright" if kind == "p" else r"\raggedleft"
            # four decimals: the shares, rounded, add up to the line within a tenth of a point
            parts.append(">{" + size + align + r"\arraybackslash}p{\dimexpr " + f"{share:.4f}"
                         + r"\linewidth-2\tabcolsep\relax}")
        else:
            parts.append(">{" + size + "}" + kind if size else kind)
    return "".join(parts)


def table_to_latex(df: pd.DataFrame, *, title: str, label: str, note: str = "", decimals: int = 2,
                   cell_decimals: Mapping[str, Sequence[int]] | None = None) -> str:
    """A booktabs table for ``df`` (needs ``\\usepackage{booktabs}``, and ``array`` for the
    paragraph columns of a table wider than the page: :func:`column_layout`).

    Up to :data:`LONGTABLE_ROWS` rows (printed lines, in lines of the normal size, where
    wrapping cells make rows taller: :attr:`TableLayout.height`): a ``table`` float.  Longer: a
    ``longtable`` (needs
    ``\\usepackage{longtable}``) with its caption, the header repeated on every page under
    "Bảng n (tiếp theo)" / "Table n (continued)", "Tiếp theo ở trang sau" / "Continued on
    next page" at the foot of each page but the last, and the note after the table.
    ``decimals``/``cell_decimals``: as :func:`save_table`.
    """
    printed = _printed_cells(df, decimals, cell_decimals)
    layout = column_layout(df, printed, latex=True)
    # rows that wrap make a body taller than its row count: a float taller than the page cannot
    # break across pages
    long = len(df) > LONGTABLE_ROWS or layout.height > LONGTABLE_ROWS
    # a smaller type size for a table the page holds only so: after the float's caption, or in
    # every cell of a longtable (whose caption is a row of the table)
    spec = latex_column_spec(layout, cell_size=long)
    size = [] if layout.size == "normalsize" or long else [f"\\{layout.size}"]
    # the last resort's narrower gaps, set for this table only (a float is a group; a longtable
    # is put in one)
    gaps = ([rf"\setlength{{\tabcolsep}}{{{layout.tabcolsep:g}pt}}"]
            if layout.tabcolsep != LATEX_TABCOLSEP_PT else [])
    wraps = [kind in ("p", "R") for kind, _ in layout.columns]

    def cell(text, j, where):
        # a wrapping column may break code names and addresses where latex_breakable allows
        # (TeX breaks after a hyphen itself)
        if not wraps[j]:
            return latex_escape(text, where=where)
        pieces = latex_breakable(text)
        return "".join(latex_escape(piece, where=where)
                       + ("" if k == len(pieces) - 1 or piece.endswith("-") else r"\allowbreak{}")
                       for k, piece in enumerate(pieces))

    ncol = len(df.columns)
    header = [r"\toprule", " & ".join(cell(c, j, f"table {label}, header")
                                      for j, c in enumerate(df.columns)) + r" \\", r"\midrule"]
    body = [" & ".join(cell(v, j, f"table {label}, row {i + 1}, column {c!r}")
                       for j, (c, v) in enumerate(zip(df.columns, cells, strict=True))) + r" \\"
            for i, cells in enumerate(printed)]
    caption = latex_escape(title, where=f"table {label}, title")
    note_lines = []
    if note:
        note_text = latex_escape(note, where=f"table {label}, note")
        note_lines = [rf"{{\footnotesize \textit{{{latex_escape(tr('Ghi chú', 'Note'))}.}} {note_text}\par}}"]
    if long:
        continued = tr(r"Bảng \thetable{} (tiếp theo)", r"Table \thetable{} (continued)")
        next_page = tr("Tiếp theo ở trang sau", "Continued on next page")
        lines = [
            *([r"\begingroup", *gaps] if gaps else []),
            r"\begin{longtable}{" + spec + "}",
            rf"\caption{{{caption}}}\label{{tab:{label}}} \\",
            *header,
            r"\endfirsthead",
            rf"\multicolumn{{{ncol}}}{{l}}{{\textit{{{continued}}}}} \\",
            *header,
            r"\endhead",
            r"\midrule",
            rf"\multicolumn{{{ncol}}}{{r}}{{\textit{{{latex_escape(next_page)}}}}} \\",
            r"\endfoot",
            r"\bottomrule",
            r"\endlastfoot",
            *body,
            r"\end{longtable}",
            *([r"\endgroup"] if gaps else []),
        ]
        if note_lines:
            lines += note_lines
        return "\n".join(lines) + "\n"
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{caption}}}",
        rf"\label{{tab:{label}}}",
        *size,
        *gaps,
        rf"\begin{{tabular}}{{{spec}}}",
        *header,
        *body,
        r"\bottomrule",
        r"\end{tabular}",
    ]
    if note_lines:
        lines += [r"\par\smallskip", *note_lines]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


_FIXED_TIME = datetime(2000, 1, 1)


def _set_cell_border(cell, **edges) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge, size in edges.items():
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)


def table_to_docx_bytes(df: pd.DataFrame, *, title: str, note: str = "", decimals: int = 2,
                        cell_decimals: Mapping[str, Sequence[int]] | None = None) -> bytes:
    """An APA-like Word table: title above, horizontal rules only, note below.

    The .docx package is rewritten with fixed timestamps so that the bytes are
    identical from run to run.  A table made before with the same content, title, note,
    decimals, language, python-docx version and this module's code is read back from
    ``data/processed/cache/docx`` instead of being built again (python-docx takes about
    60 ms of CPU per table; ``HLSTUDY_EXPORT_CACHE=0`` switches the disk caches off).
    ``decimals``/``cell_decimals``: as :func:`save_table`.
    """
    import pickle

    folder = _cache_dir("docx")
    key = None
    if folder is not None:
        import docx

        try:
            frame = pickle.dumps(df, protocol=4)
        except Exception:  # an unpicklable cell: no cache for this table
            frame = None
        if frame is not None:
            key = _content_key(frame, title, note, decimals,
                               sorted(_check_cell_decimals(df, cell_decimals).items()), language(), docx.__version__
                               if hasattr(docx, "__version__") else "", _module_digest())
    data = _cache_read(folder, key)
    if data is None:
        data = _docx_bytes(df, title=title, note=note, decimals=decimals,
                           cell_decimals=cell_decimals)
        _cache_write(folder, key, data)
    return data


def _module_digest() -> str:
    """SHA-256 of this module's source: code changes invalidate what the disk caches hold."""
    global _MODULE_DIGEST
    if _MODULE_DIGEST is None:
        import hashlib

        _MODULE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return _MODULE_DIGEST


_MODULE_DIGEST: str | None = None


#: A title that numbers itself ("Bảng 2.1. ...", "Table 3 ..."): its caption gets no field.
_NUMBERED_TITLE = re.compile(r"^(Bảng|Table)\s+\d", re.IGNORECASE)


def _docx_caption(document, title: str) -> None:
    """The title above a Word table as Word's own caption: the paragraph style ``Caption``
    and, unless the title numbers itself, the label ("Bảng"/"Table") and a ``SEQ Table``
    field, so that Word numbers the tables of the thesis and lists them (References >
    Insert Table of Figures, caption label "Table"; press F9 to update the numbers)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = document.add_paragraph(style="Caption")
    if _NUMBERED_TITLE.match(title):
        paragraph.add_run(title)
        return
    paragraph.add_run(tr("Bảng ", "Table "))
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), r" SEQ Table \* ARABIC ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"   # the number shown until Word updates the field
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run(". " + title)


#: The Word page: A4 (210 × 297 mm), as Vietnamese theses are printed, with margins in the
#: usual range there (2.5 cm top, bottom and right, 3 cm left for the binding): a text width of
#: 15.5 cm.  python-docx's default template is US Letter with 1-inch margins.
DOCX_PAGE_MM = {"width": 210, "height": 297, "top": 25, "bottom": 25, "left": 30, "right": 25}


#: The largest figure a thesis page holds at its natural size, in mm: the text block of
#: :data:`DOCX_PAGE_MM` (155 mm wide, 247 mm tall) less 27 mm under the figure for its caption
#: ("Hình 2.1. …") and source line.  A larger figure is shrunk to the text width when inserted,
#: and its 10-pt labels print smaller: :func:`save_figure` warns (:class:`FigureSizeWarning`).
FIGURE_MAX_MM = {"width": float(DOCX_PAGE_MM["width"] - DOCX_PAGE_MM["left"] - DOCX_PAGE_MM["right"]),
                 "height": float(DOCX_PAGE_MM["height"] - DOCX_PAGE_MM["top"] - DOCX_PAGE_MM["bottom"] - 27)}


def figure_size_mm(files: Mapping[str, bytes]) -> tuple[float, float]:
    """``(width, height)`` in mm of a saved figure, read from its bytes as written.

    ``files``: ``{format: bytes}`` as :func:`save_figure` writes them; the PDF's ``/MediaBox``
    (points) is read when there is one, else the PNG's header (pixels at :data:`DPI`), else the
    SVG's ``width``/``height`` (points).  Raises :class:`ExportError` when none can be read.

    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure(figsize=(4, 2))
    >>> buffer = io.BytesIO()
    >>> with plt.rc_context({"savefig.bbox": "standard"}):   # the whole figure, no tight box
    ...     fig.savefig(buffer, format="pdf")
    >>> plt.close(fig)
    >>> [round(v, 1) for v in figure_size_mm({"pdf": buffer.getvalue()})]
    [101.6, 50.8]
    """
    points = 25.4 / 72
    pdf = files.get("pdf")
    if pdf:
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", pdf)
        if box:
            x0, y0, x1, y1 = (float(v) for v in box.groups())
            return (x1 - x0) * points, (y1 - y0) * points
    png = files.get("png")
    if png and png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR":
        width, height = struct.unpack(">II", png[16:24])
        return width * 25.4 / DPI, height * 25.4 / DPI
    svg = files.get("svg")
    if svg:
        head = svg[:2000].decode("utf-8", "replace")
        width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', head, flags=re.S)
        height = re.search(r'<svg[^>]*\sheight="([\d.]+)pt"', head, flags=re.S)
        if width and height:
            return float(width[1]) * points, float(height[1]) * points
    raise ExportError(f"no figure size can be read from the formats {sorted(files)}")


#: A full-width figure's width and its tallest height, in inches, for a builder to draw in:
#: with savefig's 0.1-inch pad on each side (``savefig.pad_inches``) the saved figure stays
#: within :data:`FIGURE_MAX_MM` (5.8 + 0.2 in = 152 mm; 8.4 + 0.2 in = 218 mm).
FIGURE_WIDTH_IN, FIGURE_MAX_HEIGHT_IN = 5.8, 8.4


def fits_page(width: float, height: float) -> bool:
    """True when a figure of ``width`` × ``height`` mm prints at its natural size
    (:data:`FIGURE_MAX_MM`, with a tenth of a millimetre of slack: a PDF's MediaBox is rounded
    to whole points).

    >>> fits_page(155.0, 218.0), fits_page(156.0, 100.0)
    (True, False)
    """
    return width <= FIGURE_MAX_MM["width"] + 0.1 and height <= FIGURE_MAX_MM["height"] + 0.1


def saved_size_mm(fig) -> tuple[float, float]:
    """``(width, height)`` in mm of ``fig`` as :func:`save_figure` writes it, from its layout as
    last drawn: the tight bounding box padded by ``savefig.pad_inches`` on every side (the house
    style's ``savefig.bbox="tight"``), what :func:`figure_size_mm` reads back from the files.
    For checking a figure builder without writing files."""
    import matplotlib as mpl

    box = fig.get_tightbbox(fig.canvas.get_renderer())
    pad = 2 * float(mpl.rcParams["savefig.pad_inches"])
    return (box.width + pad) * 25.4, (box.height + pad) * 25.4


def check_figure_size(stem: str, files: Mapping[str, bytes]) -> tuple[float, float]:
    """The saved size (mm, :func:`figure_size_mm`); a :class:`FigureSizeWarning` when it is larger
    than :data:`FIGURE_MAX_MM` (it would be shrunk on the page)."""
    width, height = figure_size_mm(files)
    if not fits_page(width, height):
        warnings.warn(FigureSizeWarning(stem, width, height), stacklevel=3)
    return width, height


#: Word's table type size (the document's ``Normal`` style), in points.
DOCX_TABLE_POINTS = 11.0


def docx_text_width_mm() -> float:
    """The text width of the Word page (:data:`DOCX_PAGE_MM`): 155 mm."""
    return float(DOCX_PAGE_MM["width"] - DOCX_PAGE_MM["left"] - DOCX_PAGE_MM["right"])


def _docx_column_widths(layout: TableLayout) -> list:
    """Word column widths (EMU) of a :func:`column_layout`: its shares of the text width,
    scaled down to the text width where even the smallest type leaves the table wider, and
    rounded down to whole twentieths of a point (Word's unit) so that they never add up past it."""
    from docx.shared import Mm, Twips

    scale = min(1.0, 1.0 / layout.width) if layout.width else 1.0
    text = Mm(docx_text_width_mm())
    return [Twips(int(text.twips * share * scale)) for _, share in layout.columns]


def _a4_page(document) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    for section in document.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width = Mm(DOCX_PAGE_MM["width"])
        section.page_height = Mm(DOCX_PAGE_MM["height"])
        section.top_margin = Mm(DOCX_PAGE_MM["top"])
        section.bottom_margin = Mm(DOCX_PAGE_MM["bottom"])
        section.left_margin = Mm(DOCX_PAGE_MM["left"])
        section.right_margin = Mm(DOCX_PAGE_MM["right"])


def _repeat_header_row(row) -> None:
    """Mark a Word table's header row to repeat at the top of every page the table runs onto
    (Word's "Repeat as header row", ``w:tblHeader``; LaTeX's longtable does the same)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header)


def _docx_bytes(df: pd.DataFrame, *, title: str, note: str = "", decimals: int = 2,
                cell_decimals: Mapping[str, Sequence[int]] | None = None) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    props = document.core_properties
    props.author = "hlstudy"
    props.last_modified_by = "hlstudy"
    props.created = _FIXED_TIME
    props.modified = _FIXED_TIME
    props.last_printed = _FIXED_TIME
    props.revision = 1
    _a4_page(document)
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(DOCX_TABLE_POINTS)

    _docx_caption(document, title)
    numeric = [_is_numeric_column(df[c]) for c in df.columns]
    printed = _printed_cells(df, decimals, cell_decimals)
    layout = column_layout(df, printed)
    widths, points = _docx_column_widths(layout), layout.points
    table = document.add_table(rows=1 + len(df), cols=len(df.columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # the planned widths, kept by Word (fixed layout): its autofit would widen a column to a
    # long cell's one-line width and push the table past the margin
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    # table.cell(i, j) rebuilds the whole cell grid on every call (quadratic in the table
    # size); take the grid once.  The table has no merged cells, so it is row-major.
    grid = table._cells
    ncol = len(df.columns)
    size = None if points == DOCX_TABLE_POINTS else Pt(points)
    _repeat_header_row(table.rows[0])
    for j, col in enumerate(df.columns):
        cell = grid[j]
        cell.text = str(col)
        cell.width = widths[j]
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric[j] else WD_ALIGN_PARAGRAPH.LEFT
        if size is not None:
            paragraph.runs[0].font.size = size
        _set_cell_border(cell, top=12, bottom=6)
    for i, row in enumerate(printed, start=1):
        for j, text in enumerate(row):
            cell = grid[i * ncol + j]
            cell.text = text
            cell.width = widths[j]
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric[j] else WD_ALIGN_PARAGRAPH.LEFT
            if size is not None and cell.paragraphs[0].runs:
                cell.paragraphs[0].runs[0].font.size = size
            if i == len(df):
                _set_cell_border(cell, bottom=12)
    if note:
        paragraph = document.add_paragraph()
        label = paragraph.add_run(tr("Ghi chú. ", "Note. "))
        label.italic = True
        paragraph.add_run(note)

    raw = io.BytesIO()
    document.save(raw)
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip package with fixed member timestamps (deterministic bytes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


#: Significant digits of floating-point numbers in exported CSV tables.  Full ``repr``
#: precision (17 digits) exposes the last-bit differences that BLAS kernels of different
#: processors produce, so the same analysis would not give the same bytes on another machine;
#: 10 significant digits are far beyond any reported precision and stable across them.
CSV_SIGNIFICANT_DIGITS = 10


def table_to_csv(df: pd.DataFrame, *, title: str, note: str = "") -> str:
    """CSV text: ``# ``-prefixed title and note lines, then the table.

    Floats are written with :data:`CSV_SIGNIFICANT_DIGITS` significant digits.
    """
    header = [f"# {title}"]
    if note:
        header.append(f"# {note}")
    body = df.to_csv(index=False, lineterminator="\n", float_format=f"%.{CSV_SIGNIFICANT_DIGITS}g")
    return "\n".join(header) + "\n" + body


def read_table_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`save_table` (skips its ``#`` header lines)."""
    import pandas as pd
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    skip = 0
    while skip < len(lines) and lines[skip].startswith("# "):
        skip += 1
    return pd.read_csv(io.StringIO("\n".join(lines[skip:]) + "\n"))


def language_columns(df: pd.DataFrame, labels: Mapping[str, tuple[str, str]], *,
                     lang: str | None = None) -> pd.DataFrame:
    """One language's printed view of a bilingual machine table.

    ``labels`` maps a column name to its ``(vi, en)`` header, in print order; where
    ``<name>_vi``/``<name>_en`` exist the column of the label language is printed (also when
    a code column ``<name>`` exists beside them: a verdict code is not a Vietnamese word),
    else ``<name>`` itself.  Every other column (the other language's, codes, JSON) is left out:
    save the result as the table (every format in the label language, as ``04_findings``), or
    pass it as ``printed=`` to :func:`save_table` for a CSV that keeps the whole machine table.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"id": ["D1"], "text_vi": ["Có"], "text_en": ["Yes"], "json": ["{}"]})
    >>> language_columns(t, {"id": ("Mã", "Claim"), "text": ("Kết quả", "Finding")}, lang="en")
      Claim Finding
    0    D1     Yes
    """
    import pandas as pd
    if not isinstance(df, pd.DataFrame):
        raise ExportError("language_columns expects a pandas DataFrame")
    lang = lang or language()
    if lang not in _LANGS:
        raise ExportError(f"language must be one of {_LANGS}, got {lang!r}")
    out = {}
    for name, pair in labels.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ExportError(f"the label of column {name!r} must be a (vi, en) pair, got {pair!r}")
        column = f"{name}_{lang}" if f"{name}_{lang}" in df.columns else name
        if column not in df.columns:
            raise ExportError(f"column {name!r} (or {name}_{lang}) is not in the table "
                              f"(columns: {list(df.columns)})")
        out[pair[0] if lang == "vi" else pair[1]] = df[column].to_numpy()
    return pd.DataFrame(out, index=df.index)


def save_table(
    df: pd.DataFrame,
    stem: str,
    *,
    title: str,
    simulated: bool,
    note: str = "",
    count_columns: Iterable[str] | None = None,
    dependent: Mapping[str, Iterable[str]] | None = None,
    min_cell: int = MIN_CELL,
    decimals: int = 2,
    formats: Sequence[str] = TABLE_FORMATS,
    directory: str | os.PathLike | None = None,
    allowed_codes: Iterable[str] = (),
    strict_codes: bool = False,
    printed: pd.DataFrame | None = None,
    cell_decimals: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, Path]:
    """Write ``df`` as ``<stem>.csv``, ``.tex`` and ``.docx``; return ``{ext: path}``.

    In Vietnamese, a header or cell that is a programme code (:func:`english_codes`) gives a
    ``UserWarning`` naming it, or an :class:`ExportError` with ``strict_codes=True``.
    Cells already hidden by the caller (``<5`` primary, ``x`` complementary, e.g. from
    :func:`hlstudy.diagnostic.profile.suppress_shares`) are counted in the note.

    The index is written only if it is named (``df.reset_index()`` first to keep it).
    ``count_columns``/``dependent`` drive :func:`suppress_small_cells` before anything is
    written.  Floats are printed with ``decimals`` places in LaTeX and Word (CSV keeps
    full precision); p-value columns (:func:`is_p_column`) as :func:`format_p`.
    ``simulated=True`` adds the simulated-data mark to the note; an abbreviation of
    :data:`ABBREVIATIONS` the table prints (title, headers, cells or note) is spelled out in
    it (:func:`abbreviations_note`) unless the note already gives its meaning.  ``printed``: another frame
    for ``.tex`` and ``.docx`` (e.g. :func:`language_columns` of a bilingual machine table),
    the CSV keeping ``df``; the same suppression applies to it.  ``cell_decimals``: for a
    table whose rows measure different things (a count, an area in km², a percentage), the
    decimals of each row's number in the named columns of the printed table, e.g.
    ``{"Giá trị": [2, 0, 1]}`` prints 806.74, 121735 and 52.3 as ``806,74``, ``121.735`` and
    ``52,3`` (right-aligned, in the label language) where ``decimals`` would print
    ``121.735,00``; the CSV keeps the machine values.  A column it does not name, a row count
    other than the table's or a negative number of decimals is an :class:`ExportError`.
    """
    import pandas as pd
    if not isinstance(simulated, bool):
        raise ExportError("simulated must be True or False: say whether the table shows simulated data")
    if not isinstance(df, pd.DataFrame):
        raise ExportError(f"save_table expects a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise ExportError(f"table {stem!r} is empty: nothing to export")
    if not title or not str(title).strip():
        raise ExportError("a table needs a title (it is printed above the table)")
    _check_stem(stem)
    bad = [f for f in formats if f not in TABLE_FORMATS]
    if bad or not formats:
        raise ExportError(f"table formats must be among {TABLE_FORMATS}, got {list(formats)}")
    if not isinstance(decimals, int) or decimals < 0:
        raise ExportError(f"decimals must be a non-negative integer, got {decimals!r}")
    table = df.reset_index() if any(n is not None for n in df.index.names) else df.reset_index(drop=True)
    table.columns = [str(c) for c in table.columns]
    if table.columns.duplicated().any():
        raise ExportError(f"table {stem!r} has duplicated column names: {list(table.columns)}")
    if count_columns is not None or dependent:
        table = suppress_small_cells(table, count_columns or [], min_cell=min_cell, dependent=dependent)
    if language() == "vi":
        codes = english_codes(table, allowed=allowed_codes)
        if codes:
            message = (f"Vietnamese table {stem!r} prints programme codes {codes[:6]}: "
                       "label them in Vietnamese (codebook value labels) or pass allowed_codes")
            if strict_codes:
                raise ExportError(message)
            warnings.warn(message, stacklevel=2)
    shown = table
    if printed is not None:
        if not isinstance(printed, pd.DataFrame) or printed.empty:
            raise ExportError(f"printed= of table {stem!r} must be a non-empty pandas DataFrame")
        shown = printed.reset_index() if any(n is not None for n in printed.index.names) \
            else printed.reset_index(drop=True)
        shown.columns = [str(c) for c in shown.columns]
        if count_columns is not None or dependent:
            shown = suppress_small_cells(shown, count_columns or [], min_cell=min_cell,
                                         dependent=dependent)
    _check_cell_decimals(shown, cell_decimals)
    texts = [str(title), *shown.columns, *table.columns,
             *(v for frame in (shown, table) for column in frame.columns
               if frame[column].dtype == object or isinstance(frame[column].dtype, pd.StringDtype)
               for v in frame[column].dropna().astype(str).unique())]
    full_note = _note_text(note, simulated, hidden_cells(table), abbreviations_note(texts, note or ""))
    out_dir = Path(directory) if directory is not None else figures_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {
        "csv": lambda: table_to_csv(table, title=title, note=full_note).encode("utf-8"),
        "tex": lambda: table_to_latex(shown, title=title, label=stem, note=full_note, decimals=decimals,
                                     cell_decimals=cell_decimals).encode("utf-8"),
        "docx": lambda: table_to_docx_bytes(shown, title=title, note=full_note, decimals=decimals,
                                            cell_decimals=cell_decimals),
    }
    paths = {}
    for fmt in formats:
        data = writers[fmt]()
        path = out_dir / f"{stem}.{fmt}"
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        paths[fmt] = path
    _record(stem, "table", paths, str(title))
    return paths
