"""How many sources support a value of the reference files (their ``confidence`` column).

Every file of ``data/reference`` (district facts, the legal frame, Decree 33/2023's tables,
the commune registry) gives each row a ``source`` and a ``confidence``: ``2`` two independent
sources agree, ``1`` one source, ``?`` uncertain, ``sim`` simulated, ``assumption`` the
project's assumption (:data:`CONFIDENCE`; :mod:`hlstudy.district` and :mod:`hlstudy.legal` check it when they read
their files).  A thesis
table prints the column as the number of sources (:func:`sources_count`, headed
:data:`SOURCES_COLUMN`), explained in the table's note (:data:`SOURCES_NOTE`).

Example
-------
>>> import pandas as pd
>>> from hlstudy import sourcing
>>> sourcing.sources_count(pd.Series(["2", "1"])).tolist()
[2, 1]
>>> sourcing.SOURCES_COLUMN
('Số nguồn', 'No. of sources')
"""

from __future__ import annotations

import pandas as pd

from hlstudy.errors import SurveyDataError

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
