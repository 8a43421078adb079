"""Read survey exports as their instrument: files in, one typed table per instrument out.

The ingest layer is the only code that sees the exports as received.  It

* reads ``<instrument>.csv`` (UTF-8, UTF-8 with BOM, or Windows-1258 as old Vietnamese
  Excel versions save it — the encoding found is reported), ``<instrument>.xlsx`` (the sheet
  named after the instrument, or the workbook's only sheet) and ``<instrument>.sav`` (SPSS,
  value labels applied);
* maps the platform's Vietnamese headers to the codebook's item codes
  (:func:`map_headers`), tolerant of Unicode NFC/NFD, spacing, case and numbering prefixes
  such as ``"Câu 12."``, strict about anything else: an unknown, missing, duplicated or
  foreign column is a :class:`~hlstudy.errors.SurveyDataError` naming the column and the
  closest codebook item;
* drops every ``pii`` column of the codebook *before* any value is looked at, and gives each
  record a pseudonymous ``record_id`` (:func:`record_id`);
* converts every value to the codebook's type: Likert and category labels to codes (also
  the ``aliases_vi`` of ``value_labels.csv``), numbers, dates and timestamps, text to NFC.
  A single respondent's unreadable cell (an unknown label, text in a year, 31/02/1990) is
  set to missing and passed on for the ``unreadable`` rule of :mod:`hlstudy.cleaning` to
  log; a column with more such cells than ``max_unreadable_share`` allows is an error
  naming the file, the first row and the column;
* matches commune names to the registry (:func:`match_commune`): with or without
  diacritics, ``xã``/``TT``/``thị trấn`` prefixes, small typos; every match that was not
  exact is reported, a name outside Hữu Lũng is an error listing every such value.

The package follows the data's way: :mod:`~hlstudy.ingest.files` reads files (CSV,
XLSX, SAV) and finds a folder's exports, :mod:`~hlstudy.ingest.headers` maps headers,
:mod:`~hlstudy.ingest.values` converts cells, :mod:`~hlstudy.ingest.places` matches
communes, :mod:`~hlstudy.ingest.spec` types the codebook and
:mod:`~hlstudy.ingest.instrument` puts them together (:func:`read_instrument`,
:func:`read_folder`).  Text normalisation (NFC, folding) lives in :mod:`hlstudy._text`,
shared with :mod:`hlstudy.communes`.  Every name is importable from ``hlstudy.ingest``.

Values that can be read but are implausible (a Likert 7, an age of 140) are *not* errors
here: they pass through unchanged and the named rules of :mod:`hlstudy.cleaning` decide,
with a log row.  Raw files are opened read-only and never modified.

Example
-------
>>> from hlstudy import ingest
>>> table = ingest.read_instrument("data/raw/officials.csv")  # doctest: +SKIP
>>> table.data.columns[:3].tolist(), table.encoding  # doctest: +SKIP
(['record_id', 'source_row', 'commune_code'], 'utf-8')
"""

from __future__ import annotations

from pathlib import Path

from hlstudy._text import clean_text, encode_cp1258, fold, nfc, sort_key
from hlstudy.ingest._common import (
    COMMUNE_MATCH,
    DONT_KNOW,
    FORMATS,
    ID_KEY,
    ID_SALT,
    INSTRUMENTS,
    MISSING_TOKENS,
    NONRESPONSE_SET,
    OPTIONAL_TYPES,
    PII_KEY,
    TYPES,
    UNREADABLE,
    UNREADABLE_MAX_SHARE,
    _blank,
    _shorten,
)
from hlstudy.ingest.files import (
    RawTable,
    detect_encoding,
    file_digest,
    find_exports,
    raw_digests,
    read_csv_rows,
    read_manifest,
    read_raw,
    read_sav_rows,
    read_xlsx_rows,
)
from hlstudy.ingest.fit import (
    REPEATED_LABEL_MIN_CELLS,
    REPEATED_LABEL_MIN_COLUMNS,
    SYSTEMATIC_MIN_CELLS,
)
from hlstudy.ingest.headers import (
    IGNORE,
    PLATFORM_METADATA,
    PLATFORM_PII,
    HeaderMap,
    header_key,
    map_headers,
)
from hlstudy.ingest.instrument import (
    COLUMNS_FILE,
    InstrumentTable,
    column_mapping,
    read_folder,
    read_instrument,
    record_id,
)
from hlstudy.ingest.places import CommuneMatch, _registry_frame, match_commune
from hlstudy.ingest.spec import InstrumentSpec, Variable, codebook_frames, instrument_spec
from hlstudy.ingest.values import closest_label, slash_order
from hlstudy.paths import INSTRUMENT

__all__ = [
    "FORMATS", "ID_SALT", "INSTRUMENT", "INSTRUMENTS", "MISSING_TOKENS", "OPTIONAL_TYPES", "PII_KEY", "ID_KEY", "COMMUNE_MATCH", "DONT_KNOW",
    "NONRESPONSE_SET",
    "TYPES", "UNREADABLE", "UNREADABLE_MAX_SHARE", "CommuneMatch", "HeaderMap", "InstrumentSpec",
    "InstrumentTable", "RawTable", "Variable", "clean_text", "codebook_frames", "detect_encoding",
    "encode_cp1258", "file_digest", "find_exports", "fold", "header_key", "instrument_spec",
    "map_headers", "match_commune", "nfc", "raw_digests", "read_csv_rows", "read_folder",
    "read_instrument", "read_manifest", "read_raw", "read_sav_rows", "read_xlsx_rows", "record_id",
    "sort_key", "source_files", "_blank", "_registry_frame", "_shorten",
    "COLUMNS_FILE", "IGNORE", "PLATFORM_METADATA", "PLATFORM_PII", "REPEATED_LABEL_MIN_CELLS",
    "REPEATED_LABEL_MIN_COLUMNS", "SYSTEMATIC_MIN_CELLS", "column_mapping", "closest_label",
    "slash_order",
]


def source_files() -> list[Path]:
    """The Python files whose code decides what ingest reads (this package and
    :mod:`hlstudy._text`), sorted: part of the key of the processed-study cache."""
    here = Path(__file__).parent
    return sorted(here.glob("*.py")) + [here.parent / "_text.py"]
