"""How many sources support a value of the reference files (their ``confidence`` column).

Every file of ``data/reference`` (district facts, the legal frame, Decree 33/2023's tables,
the commune registry) gives each row a ``source`` and a ``confidence``: ``2`` two independent
sources agree, ``1`` one source, ``?`` uncertain, ``sim`` simulated, ``assumption`` the
project's assumption (:data:`CONFIDENCE`; :mod:`hlstudy.district` and :mod:`hlstudy.legal` check it when they read
their files).  A thesis
table prints the column as the number of sources (:func:`sources_count`, headed
:data:`SOURCES_COLUMN`), explained in the table's note (:data:`SOURCES_NOTE`).

``source`` is the full provenance a reviewer checks (sites, mirrors, datasets, the project's
files).  A file whose sources a table prints also carries the short citation a thesis prints,
in each language (:data:`CITATION_COLUMNS`: ``citation_vi``, ``citation_en``), written from
its ``source`` only: document number, date, article and clause, or the publisher and title
of the cited source; never a project file or a URL.  :func:`check_citations` checks them when
the file is read (each one names every document number its ``source`` names,
:func:`document_numbers`); :func:`citations` gives the column of a table's language.

Example
-------
>>> import pandas as pd
>>> from hlstudy import sourcing
>>> sourcing.sources_count(pd.Series(["2", "1"])).tolist()
[2, 1]
>>> sourcing.SOURCES_COLUMN
('Số nguồn', 'No. of sources')
>>> sourcing.document_numbers("Decree 33/2023/NĐ-CP of 10 Jun 2023; law_id 22/2008/qh12")
['22/2008/QH12', '33/2023/NĐ-CP']
"""

from __future__ import annotations

import re

import pandas as pd

from hlstudy.errors import SurveyDataError, check_lang

#: The levels of the ``confidence`` column of every reference file.
CONFIDENCE = frozenset({"2", "1", "?", "sim", "assumption"})

#: The header of the ``confidence`` column of the reference tables printed as the number of
#: sources (:func:`sources_count`): ``(Vietnamese, English)``; not "Sources", beside "Source".
SOURCES_COLUMN = ("Số nguồn", "No. of sources")
#: What that column means, for a table's note: ``(Vietnamese, English)``.
SOURCES_NOTE = (
    f"{SOURCES_COLUMN[0]}: 2 = hai nguồn độc lập cho cùng một giá trị; 1 = chỉ một nguồn (nên "
    "trình bày thận trọng).",
    f"{SOURCES_COLUMN[1]}: 2 = two independent sources agree on the value; 1 = one source only "
    "(to be presented with caution).",
)


def sources_count(confidence: pd.Series) -> pd.Series:
    """The ``confidence`` column of a reference table as the number of sources a table prints
    (:data:`SOURCES_NOTE`): ``"2"`` → 2, ``"1"`` → 1.  Another level (``?``, ``assumption``)
    is no number of sources: a :class:`~hlstudy.errors.SurveyDataError` naming it.

    >>> sources_count(pd.Series(["2", "1"])).tolist()
    [2, 1]
    """
    text = confidence.astype(str)
    bad = sorted(set(text) - {"1", "2"})
    if bad:
        raise SurveyDataError(f"confidence {bad} is not a number of sources (1 or 2): print "
                              "the column as it is, with a note on its levels",
                              column="confidence")
    return text.astype(int)


#: The short printable citations of a reference file whose sources a table prints:
#: ``(Vietnamese, English)`` (the module docstring).
CITATION_COLUMNS = ("citation_vi", "citation_en")

#: A legal document's number: ``33/2023/NĐ-CP``, ``22/2008/qh12``, number and year only
#: (``Decree 138/2020``), or a number without year (``1246/NQ-UBTVQH15``, ``2640/QĐ-BNV``);
#: not a date (``21/11/2019``) nor a URL path.
DOCUMENT_NUMBER = re.compile(
    r"(?<![\w/.])\d{1,4}/(?:\d{4}(?:/[A-ZĐ][A-Z0-9Đ-]*)?|[A-ZĐ][A-Z0-9Đ]*-[A-Z0-9Đ-]+)(?![\w/])",
    re.IGNORECASE)
#: What a printed citation never holds: a project file name or a URL (they stay in ``source``).
_UNPRINTABLE = re.compile(r"\.(csv|md|py|json)\b|://|\bwww\.|\.(vn|com|net|org|asia)/",
                          re.IGNORECASE)


def document_numbers(text: str) -> list[str]:
    """The legal document numbers ``text`` names (:data:`DOCUMENT_NUMBER`), upper-cased, sorted,
    each once.

    >>> document_numbers("Resolution 818/NQ-UBTVQH14 of 21/11/2019; Decree 138/2020")
    ['138/2020', '818/NQ-UBTVQH14']
    """
    return sorted({m.group(0).upper() for m in DOCUMENT_NUMBER.finditer(str(text))})


def check_citations(df: pd.DataFrame, file) -> None:
    """Check the :data:`CITATION_COLUMNS` of a reference file read as text (``df``, one row per
    data row; ``file`` names it in the error): both columns present, no cell empty, no project
    file name or URL in a citation, and every document number the row's ``source`` names
    (:func:`document_numbers`) named by both citations.  Else a
    :class:`~hlstudy.errors.SurveyDataError` naming the file, row (header = row 1) and column.
    """
    for col, lang in zip(CITATION_COLUMNS, ("Vietnamese", "English"), strict=True):
        if col not in df.columns:
            raise SurveyDataError(
                f"missing column {col!r}: the short {lang} citation a table prints, written "
                "from each row's source (document number, article, publisher or title)",
                file=file, column=col)
    for i, (source, *cited) in enumerate(
            zip(df["source"], *(df[c] for c in CITATION_COLUMNS), strict=True), start=2):
        numbers = document_numbers(source)
        for col, text in zip(CITATION_COLUMNS, cited, strict=True):
            text = "" if pd.isna(text) else str(text).strip()
            if not text:
                raise SurveyDataError("empty citation: write the row's source as a table prints "
                                      "it", file=file, row=i, column=col)
            bad = _UNPRINTABLE.search(text)
            if bad:
                raise SurveyDataError(f"citation {text!r} holds {bad.group(0)!r}: a printed "
                                      "citation names no project file and no URL (they stay in "
                                      "source)", file=file, row=i, column=col)
            missing = sorted(set(numbers) - set(document_numbers(text)))
            if missing:
                raise SurveyDataError(f"citation {text!r} does not name {missing}, which the "
                                      "row's source names", file=file, row=i, column=col)


def citations(df: pd.DataFrame, lang: str) -> pd.Series:
    """The citation column of ``lang`` (``"vi"`` → ``citation_vi``, ``"en"`` → ``citation_en``)
    of a reference table, as a table prints it under "Nguồn" / "Source".

    >>> citations(pd.DataFrame({"citation_vi": ["Nghị định 33/2023/NĐ-CP, Điều 10"],
    ...                         "citation_en": ["Decree 33/2023/NĐ-CP, Art. 10"]}), "en").tolist()
    ['Decree 33/2023/NĐ-CP, Art. 10']
    """
    col = CITATION_COLUMNS[0 if check_lang(lang) == "vi" else 1]
    if col not in df.columns:
        raise SurveyDataError(f"the table has no column {col!r} (the reference files whose "
                              "sources a table prints carry it)", column=col)
    return df[col]
