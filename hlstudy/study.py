"""The study as every analysis sees it: :class:`Study` and :func:`load_study`.

>>> from hlstudy import load_study
>>> study = load_study()            # data/raw, or HLSTUDY_DATA, or hlstudy.toml  # doctest: +SKIP
>>> study.officials.shape, study.received  # doctest: +SKIP
>>> print(study.summary())  # doctest: +SKIP

``load_study`` reads the three exports (:mod:`hlstudy.ingest`), applies the cleaning rules
(:mod:`hlstudy.cleaning`) and returns the clean tables with the full log.  The result is
cached in the git-ignored ``data/processed/cache/`` under a key that hashes the raw files,
the codebook, the commune registry, the cleaning thresholds and the code of the ingest and
cleaning modules, so a cached study is never stale: change any of them and it is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hlstudy import cleaning, codebook, export, ingest
from hlstudy.communes import sort_communes, unit_label
from hlstudy.config import data_source
from hlstudy.errors import SurveyDataError
from hlstudy.paths import INSTRUMENT, PROCESSED, REFERENCE, ROOT

CACHE_VERSION = "3"  # 2: Study.instruments (partial studies); 3: flagged records, log outcome
CACHE_KEEP = 8  # cached studies kept (most recent first)
#: Vietnamese names of the instruments, for the notes of notebooks that skip a part
#: (:data:`hlstudy.codebook.INSTRUMENT_NOUNS`, the one place they are worded).
INSTRUMENT_NAMES_VI = {name: vi for name, (vi, _en) in codebook.INSTRUMENT_NOUNS.items()}


@dataclass
class Study:
    """Clean survey tables with their audit trail.

    ``officials``, ``citizens``, ``personnel``: one row per kept record (``record_id``
    pseudonymous, Likert items reverse-keyed floats, no personal-data column).
    ``cleaning_log``: one row per record dropped, value changed or record flagged (see
    :data:`hlstudy.cleaning.LOG_COLUMNS` and :data:`hlstudy.cleaning.OUTCOMES`).  ``received``: instrument → records read.
    ``flow``: records before/after each rule; ``missing``: item-level missing values by
    commune; ``communes``: every commune value and how it was matched; ``files``: what was
    read (file, format, encoding, SHA-256); ``received_by_commune``: records read per
    instrument and commune, before cleaning.  ``simulated`` follows ``manifest.json``.

    A study may be partial (e.g. officials only): ``instruments`` lists the instruments whose
    export was read, :meth:`has` asks for one, and an absent instrument's table is empty
    (0 rows, the columns it would have) with ``received`` 0.
    """

    officials: pd.DataFrame
    citizens: pd.DataFrame
    personnel: pd.DataFrame
    cleaning_log: pd.DataFrame
    received: dict[str, int]
    simulated: bool = False
    source: str = ""
    manifest: dict = field(default_factory=dict)
    flow: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: pd.DataFrame = field(default_factory=pd.DataFrame)
    communes: pd.DataFrame = field(default_factory=pd.DataFrame)
    files: pd.DataFrame = field(default_factory=pd.DataFrame)
    headers: pd.DataFrame = field(default_factory=pd.DataFrame)
    received_by_commune: pd.DataFrame = field(default_factory=pd.DataFrame)
    rules: cleaning.Rules = field(default_factory=cleaning.Rules)
    instruments: tuple[str, ...] = tuple(ingest.INSTRUMENTS)

    def has(self, instrument: str) -> bool:
        """True when ``instrument``'s export was read (``officials``, ``citizens``, ``personnel``).

        >>> load_study("my/officials-only/folder").has("citizens")  # doctest: +SKIP
        False
        """
        if instrument not in ingest.INSTRUMENTS:
            raise SurveyDataError(f"unknown instrument {instrument!r}; expected one of {ingest.INSTRUMENTS}")
        return instrument in self.instruments

    def skip_note(self, what_vi: str, *needs: str) -> str:
        """A visible Vietnamese note (Markdown) for a part of a notebook that cannot run.

        ``what_vi`` names the part, ``needs`` the instruments it uses; returns ``""`` when all
        of them are present, so ``if note: display(Markdown(note))`` shows nothing then.

        >>> study.skip_note("Mục 2.1.1 (định biên)", "personnel")  # doctest: +SKIP
        '> **Bỏ qua — Mục 2.1.1 (định biên):** cần danh sách trích ngang, ...'
        """
        for name in needs:
            self.has(name)  # unknown names are an error
        missing = [n for n in needs if n not in self.instruments]
        if not missing:
            return ""
        names = " và ".join(INSTRUMENT_NAMES_VI[n] for n in missing)
        return (f"> **Bỏ qua — {what_vi}:** cần {names}, nhưng thư mục dữ liệu không có tệp xuất "
                f"của bộ công cụ này ({', '.join(f'`{n}.csv|xlsx|sav`' for n in missing)}). "
                "Các luận điểm dựa vào phần này là *không kiểm định được* với dữ liệu hiện có.")

    def qualifier(self, about: str = "commune", lang: str = "vi") -> str:
        """:func:`simulated_qualifier` of this study (``""`` for real data)."""
        return simulated_qualifier(self.simulated, about, lang=lang)

    @property
    def absent(self) -> tuple[str, ...]:
        """Instruments without an export in this study (not surveyed)."""
        return tuple(i for i in ingest.INSTRUMENTS if i not in self.instruments)

    def table(self, instrument: str) -> pd.DataFrame:
        """The clean table of ``instrument`` (``officials``, ``citizens`` or ``personnel``)."""
        if instrument not in ingest.INSTRUMENTS:
            raise SurveyDataError(f"unknown instrument {instrument!r}; expected one of {ingest.INSTRUMENTS}")
        return getattr(self, instrument)

    @property
    def kept(self) -> dict[str, int]:
        return {name: len(self.table(name)) for name in ingest.INSTRUMENTS}

    @property
    def dropped(self) -> dict[str, int]:
        log = self.cleaning_log
        drops = log[log["action"] == "drop"]
        return {name: int((drops["instrument"] == name).sum()) for name in ingest.INSTRUMENTS}

    def summary(self) -> str:
        mark = " [simulated data]" if self.simulated else ""
        lines = [f"Study from {self.source}{mark}"]
        for name in ingest.INSTRUMENTS:
            if not self.has(name):
                lines.append(f"  {name:<10} absent (no export in the data folder)")
                continue
            mine = self.cleaning_log[self.cleaning_log["instrument"] == name]
            changes = int((mine["action"] == "change").sum())
            flags = int((mine["action"] == "flag").sum())
            lines.append(
                f"  {name:<10} read {self.received[name]:>5}  kept {self.kept[name]:>5}  "
                f"dropped {self.dropped[name]:>4}  values changed {changes:>4}  flagged {flags:>4}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def write_processed(self, folder: str | os.PathLike | None = None) -> dict[str, Path]:
        """Write the clean tables and the log as UTF-8 CSV to ``folder``; by default
        :func:`hlstudy.paths.processed_dir` (git-ignored: ``data/processed/``, or
        ``build/own-data/processed/`` on one's own data).  Returns ``{table: path}``.

        Only the instruments whose export was read have a table (:attr:`instruments`): an
        instrument that was not surveyed gets no ``<instrument>.csv``, and one that an earlier
        call wrote to ``folder`` (a clean table: its header starts ``record_id,source_row,``) is
        removed, so that the folder never shows a survey that was not given.  A survey given
        whose every record was dropped keeps its header-only table, and ``flow.csv`` says which
        rule dropped them.
        """
        from hlstudy.paths import processed_dir

        out = Path(folder) if folder is not None else processed_dir()
        out.mkdir(parents=True, exist_ok=True)
        for name in self.absent:
            _remove_clean_table(out / f"{name}.csv")
        paths = {}
        frames = {name: self.table(name) for name in ingest.INSTRUMENTS if self.has(name)}
        frames.update(cleaning_log=self.cleaning_log, flow=self.flow, missing=self.missing)
        for name, frame in frames.items():
            path = out / f"{name}.csv"
            _atomic_write(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
            paths[name] = path
        return paths


#: How every clean table written by :meth:`Study.write_processed` begins (an export never does:
#: ``source_row`` is the row number hlstudy gives each record it reads).
CLEAN_TABLE_HEADER = b"record_id,source_row,"


def _remove_clean_table(path: Path) -> None:
    """Delete ``path`` if it is a clean table hlstudy wrote (never any other file)."""
    try:
        with path.open("rb") as handle:
            start = handle.read(len(CLEAN_TABLE_HEADER))
    except FileNotFoundError:
        return
    if start == CLEAN_TABLE_HEADER:
        path.unlink()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: What a sentence built from simulated data is about, and its qualifier (Vietnamese, English).
SIMULATED_QUALIFIERS = {
    "commune": ("(dữ liệu mô phỏng: minh họa phương pháp, không phải kết quả về xã này)",
                "(simulated data: an illustration of the method, not a finding about this "
                "commune)"),
    "communes": ("(dữ liệu mô phỏng: minh họa phương pháp, không phải kết quả về các xã này)",
                 "(simulated data: an illustration of the method, not a finding about these "
                 "communes)"),
    "officials": ("(dữ liệu mô phỏng: minh họa phương pháp, không phải kết quả về đội ngũ cán "
                  "bộ, công chức thật)",
                  "(simulated data: an illustration of the method, not a finding about the "
                  "real officials)"),
}


def simulated_qualifier(simulated, about: str = "commune", *, lang: str = "vi") -> str:
    """The phrase a sentence carries when it names a real commune, or counts the officials,
    from simulated data; ``""`` for real data.

    The communes are real, the survey microdata are simulated: a sentence such as "PRO is
    lowest in Tuấn Sơn" must say that it illustrates the method and is no finding about
    that commune.  ``simulated``: a :class:`Study` or a bool (``Study.simulated``);
    ``about``: ``"commune"`` (one named commune), ``"communes"`` (several) or
    ``"officials"`` (a count about the officials); ``lang``: ``"vi"`` or ``"en"``.

    >>> simulated_qualifier(True, "communes")
    '(dữ liệu mô phỏng: minh họa phương pháp, không phải kết quả về các xã này)'
    >>> simulated_qualifier(False)
    ''
    """
    if isinstance(simulated, Study):
        simulated = simulated.simulated
    if not isinstance(simulated, bool | np.bool_):
        raise SurveyDataError(f"simulated_qualifier expects a Study or a bool, got {simulated!r}")
    if about not in SIMULATED_QUALIFIERS:
        raise SurveyDataError(f"simulated_qualifier: unknown subject {about!r}; expected one of "
                              f"{sorted(SIMULATED_QUALIFIERS)}")
    if lang not in ("vi", "en"):
        raise SurveyDataError(f"simulated_qualifier: unknown language {lang!r}; expected 'vi' or 'en'")
    if not simulated:
        return ""
    return SIMULATED_QUALIFIERS[about][0 if lang == "vi" else 1]


def empty_table(instrument: str) -> pd.DataFrame:
    """The clean table of an instrument that was not surveyed: no rows, its usual columns.

    Columns as :func:`hlstudy.ingest.read_instrument` gives them (``record_id``,
    ``source_row``, ``commune_code``, ``commune``, ``commune_2025``, then every non-pii
    codebook variable), Likert items as floats, so that code selecting columns still works.
    """
    spec = ingest.instrument_spec(instrument)
    cols: dict[str, pd.Series] = {
        "record_id": pd.Series([], dtype="str"), "source_row": pd.Series([], dtype="int64"),
        "commune_code": pd.Series([], dtype="string"), "commune": pd.Series([], dtype="string"),
        "commune_2025": pd.Series([], dtype="string"),
    }
    for v in spec.variables:
        if v.pii or v.type == "commune":
            continue
        dtype = {"likert": "float64", "integer": "Int64", "year": "Int64", "duration": "float64",
                 "timestamp": "datetime64[ns]", "date": "datetime64[ns]"}.get(v.type, "string")
        cols[v.variable] = pd.Series([], dtype=dtype)
    return pd.DataFrame(cols)


def _code_digest() -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for file in [*ingest.source_files(), Path(cleaning.__file__)]:
        digest.update(file.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _reference_digests() -> dict[str, str]:
    files = [INSTRUMENT / "codebook.csv", INSTRUMENT / "value_labels.csv", REFERENCE / "communes.csv",
             REFERENCE / "decree33_positions.csv", REFERENCE / "communes_lang_son_other.csv"]
    return {f.name: ingest.file_digest(f) for f in files if f.is_file()}


def cache_key(folder: Path, rules: cleaning.Rules) -> str:
    """Hash of everything the clean study depends on (raw files, references, rules, the
    reference-year setting, code)."""
    from hlstudy.config import reference_year_setting

    digest = hashlib.sha256()
    # the reference-year setting: cleaning counts ages in it (cleaning.reference_year; the
    # submission times it may take instead are in the raw files' digests)
    for part in (ingest.raw_digests(folder), _reference_digests(), repr(rules), _code_digest(),
                 reference_year_setting()):
        digest.update(repr(part).encode("utf-8"))
    return digest.hexdigest()


def build_study(
    folder: str | os.PathLike,
    *,
    rules: cleaning.Rules | None = None,
    source_label: str | None = None,
) -> Study:
    """Read ``folder`` and clean it (no cache).  See :func:`load_study`."""
    return _build(folder, rules, source_label)[0]


def _build(folder, rules, source_label) -> tuple[Study, dict]:
    """:func:`build_study` and the tables ingest read (for :func:`raw_tables`' cache)."""
    folder = Path(folder)
    rules = rules or cleaning.Rules()
    manifest = ingest.read_manifest(folder)
    tables = ingest.read_folder(folder, max_unreadable_share=rules.unreadable_max_share)
    # one reference year for every instrument (cleaning.reference_year): the officials are
    # cleaned first, and the others count ages in the year of their clean submission times
    # (or the rules' or the setting's), the year notebook 04 and the ledger take
    # (reference_year(study): the same rule on the same clean table)
    cleaned = {}
    if "officials" in tables:
        cleaned["officials"] = cleaning.clean(tables["officials"].data, "officials", rules,
                                              spec=ingest.instrument_spec("officials"))
    year = cleaning.reference_year(rules, cleaned["officials"].data if cleaned else None)
    others = rules if year is None else rules.with_(survey_year=year)
    results = {}
    for name, table in tables.items():   # in the tables' order (the flow's)
        results[name] = cleaned[name] if name in cleaned else cleaning.clean(
            table.data, name, others, spec=ingest.instrument_spec(name))
    logs = [r.log for r in results.values() if len(r.log)]
    log = pd.concat(logs, ignore_index=True) if logs else cleaning.empty_log()
    flow = pd.concat(
        [r.flow.assign(instrument=name) for name, r in results.items()], ignore_index=True
    )[["instrument", "rule", "n_before", "dropped", "changed", "flagged", "n_after", "unchecked"]]
    missing = pd.concat(
        [cleaning.missing_report(r.data, name) for name, r in results.items()], ignore_index=True
    )
    communes = pd.concat(
        [t.communes.assign(instrument=name) for name, t in tables.items()], ignore_index=True
    )
    headers = pd.concat([t.headers.assign(instrument=name) for name, t in tables.items()], ignore_index=True)
    by_commune = pd.concat(
        [_records_by_commune(t.data).assign(instrument=name) for name, t in tables.items()],
        ignore_index=True,
    )[["instrument", "commune_code", "commune", "n"]]
    files = pd.DataFrame([
        {"instrument": name, "file": t.file.name, "format": t.format, "encoding": t.encoding,
         "sheet": t.sheet, "sheet_note": t.sheet_note, "records": t.n, "pii_columns_dropped": len(t.pii_dropped), "sha256": t.digest}
        for name, t in tables.items()
    ])
    present = tuple(name for name in ingest.INSTRUMENTS if name in tables)
    frames = {name: results[name].data if name in results else empty_table(name)
              for name in ingest.INSTRUMENTS}
    study = Study(
        officials=frames["officials"],
        citizens=frames["citizens"],
        personnel=frames["personnel"],
        cleaning_log=log,
        received={name: tables[name].n if name in tables else 0 for name in ingest.INSTRUMENTS},
        simulated=manifest.get("simulated") is True,
        source=source_label or str(folder),
        manifest=manifest,
        flow=flow,
        missing=missing,
        communes=communes,
        files=files,
        headers=headers,
        received_by_commune=by_commune,
        rules=rules,
        instruments=present,
    )
    return study, tables


_BY_COMMUNE = ["commune_code", "commune"]


def _records_by_commune(data: pd.DataFrame) -> pd.DataFrame:
    """Records per (commune code, commune name): ``commune_code, commune, n``.

    The table ``data.groupby(["commune_code", "commune"], dropna=False).size()
    .rename("n").reset_index()`` gives (pairs in sorted order, a missing value after every
    text), counted in one pass over the pairs when both columns are pandas strings: ~10x
    faster on an instrument's few hundred records, where the groupby's fixed cost dominates.
    Other tables take the groupby.
    """
    if not (len(data) and all(c in data and isinstance(data[c].dtype, pd.StringDtype)
                              and data[c].dtype.na_value is pd.NA for c in _BY_COMMUNE)):
        return data.groupby(_BY_COMMUNE, dropna=False).size().rename("n").reset_index()
    counts: dict[tuple, int] = {}
    for pair in zip(*(data[c].to_numpy(dtype=object, na_value=None) for c in _BY_COMMUNE),
                    strict=True):
        counts[pair] = counts.get(pair, 0) + 1
    # sorted as the groupby sorts its keys: by code, then name, a missing value last
    pairs = sorted(counts, key=lambda p: (p[0] is None, p[0] or "", p[1] is None, p[1] or ""))
    return pd.DataFrame({
        c: pd.array([p[k] for p in pairs], dtype=data[c].dtype) for k, c in enumerate(_BY_COMMUNE)
    } | {"n": np.array([counts[p] for p in pairs], dtype=np.int64)})


def load_study(
    source: Any = None,
    *,
    rules: cleaning.Rules | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Study:
    """Load the clean study from ``source`` (see :func:`hlstudy.config.data_source`).

    ``source``: a folder laid out like ``data/raw/``, or the object returned by
    :func:`hlstudy.synthetic.simulate` (written to a temporary folder and read back
    through the same ingest, so simulated and real data take the same path).  Without it,
    ``HLSTUDY_DATA``, then ``hlstudy.toml``, then ``data/raw``.  ``rules`` sets the cleaning
    thresholds.  With ``cache=True`` the result is stored in ``cache_dir`` (default
    ``data/processed/cache``) under :func:`cache_key`; nothing is written when reading fails.
    It prints what cleaning dropped and changed (:func:`hlstudy.cleaning.change_summary`) in the
    label language (:func:`hlstudy.export.language`: Vietnamese in the notebooks).
    """
    resolved = data_source(source)
    rules = rules or cleaning.Rules()
    if resolved.study is not None:
        with tempfile.TemporaryDirectory(prefix="hlstudy-sim-") as tmp:
            resolved.study.write(tmp)
            study = _load_folder(Path(tmp), rules, cache, cache_dir, f"simulated study ({resolved.origin})")
    else:
        study = _load_folder(resolved.path, rules, cache, cache_dir, f"{_shown(resolved.path)} ({resolved.origin})")
    for note in sheet_notes(study):
        print(note)  # the sheet chosen without its name saying so
    # nothing large passes unseen; worded in the label language (the notebooks' language)
    print(cleaning.change_summary(study.cleaning_log, study.flow, lang=export.language()))
    return study


def reference_year(study: Study, *, root: Path | None = None) -> int:
    """The survey's reference year: the year ages and years in post are counted in, by the one
    rule cleaning uses (:func:`hlstudy.cleaning.reference_year`, on the same clean officials'
    table :func:`load_study` cleaned the other instruments by): an explicit
    ``study.rules.survey_year``, else the setting (:func:`hlstudy.config.reference_year_setting`: ``HLSTUDY_REFERENCE_YEAR`` or
    ``[study] reference_year`` in ``hlstudy.toml``), else the year of the latest submission
    time of the officials' survey (its codebook's ``timestamp`` variable, ``submitted_at``).
    An export without submission times (typed by hand in Excel, saved from SPSS, the column
    blank) has no year to take: :class:`SurveyDataError` names the column and the setting.

    >>> reference_year(load_study())  # doctest: +SKIP
    2025
    """
    from hlstudy.config import REFERENCE_YEAR_ENV

    officials = study.officials if study.has("officials") else None
    year = cleaning.reference_year(study.rules, officials, root=root)
    if year is not None:
        return year
    spec = ingest.instrument_spec("officials")
    stamps = [v for v in spec.variables if v.type == "timestamp"]
    column = (f"column {stamps[0].variable!r} ({stamps[0].question_vi!r}, the submission time)"
              if stamps else "a submission-time column")
    why = ("no officials' survey was read" if officials is None else
           f"the officials' export has no {column}, or none of its values is filled in")
    raise SurveyDataError(
        f"the survey's reference year is unknown: {why}, and no reference year is set.  Set it: "
        f"{REFERENCE_YEAR_ENV}=2025 python3 make.py reproduce, or in hlstudy.toml at the "
        "repository root the lines  [study]  and  reference_year = 2025  (the year the survey "
        "was answered; README, 'Using your own survey export')")


def sheet_notes(study: Study) -> list[str]:
    """One line per workbook whose sheet was chosen without being named after its instrument
    (``officials.xlsx: read sheet 'Câu trả lời biểu mẫu 1', the only sheet with data …``):
    what :func:`load_study` prints, and ``make.py reproduce`` before its kernels start
    (:func:`hlstudy.runner.warm_study_cache`), so that the choice is seen either way."""
    if "sheet_note" not in study.files:
        return []
    return [f"{r.file}: read {r.sheet_note}" for r in study.files.dropna(subset=["sheet_note"]).itertuples()]


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (no machine paths in outputs)."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _load_folder(folder: Path, rules, cache: bool, cache_dir, label: str) -> Study:
    if not cache:
        return build_study(folder, rules=rules, source_label=label)
    key = cache_key(folder, rules)
    directory = Path(cache_dir) if cache_dir is not None else PROCESSED / "cache"
    path = directory / f"study-{key[:24]}.pkl"
    if path.is_file():
        try:
            with path.open("rb") as handle:
                study = pickle.load(handle)  # our own cache file, keyed by content
            if isinstance(study, Study):
                study.source = label
                return study
        except Exception:  # a corrupt cache is rebuilt, never trusted
            path.unlink(missing_ok=True)
    study, tables = _build(folder, rules, label)
    _store(path, study, "study-*.pkl")
    raw = _raw_path(folder, rules.unreadable_max_share, cache_dir)
    if not raw.is_file():  # the tables raw_tables would read again
        _store(raw, _raw_of(tables), "raw-*.pkl")
    return study


def coverage_by_commune(study: Study, registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Final sample against the personnel register, for every commune of the registry.

    Columns: ``commune_code, commune, commune_2025, register`` (kept records of the
    personnel register: the commune's headcount), ``officials`` (kept survey responses),
    ``coverage`` (officials / register), ``citizens`` (kept citizen responses).
    Communes with no record at all are kept with zeros, so gaps are visible.  ``commune`` is
    the printed name (:func:`hlstudy.communes.unit_label`: "TT Hữu Lũng", the pre-reform town,
    beside "Hữu Lũng", the 2025 commune).  Rows in Vietnamese alphabetical order
    (:func:`hlstudy.communes.sort_communes`).
    """
    registry = ingest._registry_frame(registry)
    base = pd.DataFrame({
        "commune_code": registry["code"].astype(str).str.strip(),
        "commune": [unit_label(ingest.clean_text(n), t) for n, t in
                    zip(registry["name"], registry.get("unit_type", pd.Series("", index=registry.index)),
                        strict=True)],
        "commune_2025": [ingest.clean_text(n) for n in registry.get("commune_2025", registry["name"])],
    })
    for column, name in (("register", "personnel"), ("officials", "officials"), ("citizens", "citizens")):
        counts = study.table(name).groupby("commune_code").size()
        base[column] = base["commune_code"].map(counts).fillna(0).astype(int)
    base["coverage"] = (base["officials"] / base["register"].where(base["register"] > 0)).astype(float)
    base = sort_communes(base)  # Vietnamese alphabetical order, as printed
    return base[["commune_code", "commune", "commune_2025", "register", "officials", "coverage", "citizens"]]


def raw_tables(
    source: Any = None,
    *,
    rules: cleaning.Rules | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """The typed tables as ingest reads them, before any cleaning rule: instrument → table.

    ``source`` as in :func:`load_study` (folder, simulated study, or the configured default).
    For :func:`hlstudy.cleaning.rule_sensitivity`, which cleans them under several rules.
    Raises what :func:`hlstudy.ingest.read_folder` raises for a bad export.

    The transient personal-data keys (:data:`hlstudy.ingest.PII_KEY` and
    :data:`hlstudy.ingest.ID_KEY`, salted hashes) are each
    replaced by a code per distinct key (``k00001``, … in order of first appearance; equal
    keys, equal codes; blank stays blank), which is all the duplicates rule compares, so no
    hash of personal data is written to disk.  With ``cache=True`` the tables are kept in
    ``cache_dir`` (default ``data/processed/cache``) as ``raw-<key>.pkl``, the key hashing what
    :func:`cache_key` hashes with only ``rules.unreadable_max_share`` (the one threshold ingest
    uses); :func:`load_study` writes them when it builds a study.
    """
    resolved = data_source(source)
    share = (rules or cleaning.Rules()).unreadable_max_share
    if resolved.study is not None:
        with tempfile.TemporaryDirectory(prefix="hlstudy-sim-") as tmp:
            resolved.study.write(tmp)
            return _raw_folder(Path(tmp), share, cache, cache_dir)
    return _raw_folder(resolved.path, share, cache, cache_dir)


def _pii_codes(data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with the personal-data key replaced by codes (see :func:`raw_tables`)."""
    coded = {}
    for column in (ingest.PII_KEY, ingest.ID_KEY):
        if column in data:
            keys = data[column]
            codes = {k: f"k{n:05d}" for n, k in enumerate(pd.unique(keys.dropna()), 1)}
            if column == ingest.ID_KEY:  # the identity group's name (not personal) stays
                codes = {k: f"{k.rpartition(':')[0]}:{c}" for k, c in codes.items()}
            coded[column] = keys.map(codes).astype(keys.dtype)
    return data.assign(**coded) if coded else data


def _raw_path(folder: Path, share: float, cache_dir) -> Path:
    key = cache_key(folder, cleaning.Rules(unreadable_max_share=share))
    directory = Path(cache_dir) if cache_dir is not None else PROCESSED / "cache"
    return directory / f"raw-{key[:24]}.pkl"


def _store(path: Path, value: Any, pattern: str) -> None:
    """Pickle ``value`` to ``path``; keep the :data:`CACHE_KEEP` newest files of ``pattern``."""
    try:
        _atomic_write(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        old = sorted(path.parent.glob(pattern), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in old[CACHE_KEEP:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only checkout still works, only slower


def _raw_of(tables: dict) -> dict[str, pd.DataFrame]:
    return {name: _pii_codes(tables[name].data) for name in ingest.INSTRUMENTS if name in tables}


def _raw_folder(folder: Path, share: float, cache: bool, cache_dir) -> dict[str, pd.DataFrame]:
    if not cache:
        return _raw_of(ingest.read_folder(folder, max_unreadable_share=share))
    path = _raw_path(folder, share, cache_dir)
    if path.is_file():
        try:
            with path.open("rb") as handle:
                tables = pickle.load(handle)  # our own cache file, keyed by content
            if isinstance(tables, dict) and all(isinstance(t, pd.DataFrame) for t in tables.values()):
                return tables
        except Exception:  # a corrupt cache is read again, never trusted
            pass
        path.unlink(missing_ok=True)
    tables = _raw_of(ingest.read_folder(folder, max_unreadable_share=share))
    _store(path, tables, "raw-*.pkl")
    return tables


#: Vietnamese / English names of the analyses whose n the flow diagram reports.
ANALYSES = {
    "cfa_listwise": ("CFA, loại theo danh sách (ML)", "CFA, listwise (ML)"),
    "cfa_fiml": ("CFA, FIML (MLR)", "CFA, FIML (MLR)"),
    "sem_fiml": ("SEM sổ tay 05, FIML (MLR)", "SEM of notebook 05, FIML (MLR)"),
}


def model_n(data: pd.DataFrame, items, covariates=(), *, missing: str = "ml") -> int:
    """Rows a model of ``items`` (indicators) and exogenous ``covariates`` uses, as
    :func:`hlstudy.sem.sem` counts them (``nobs``), without fitting.

    ``missing="listwise"``: rows complete on every item and covariate (lavaan's default).
    ``missing="ml"`` (FIML): without covariates, rows with at least one item answered; with
    covariates (``fixed.x``), rows with every covariate present, whether or not an item was
    answered — lavaan 0.6-14's rule (tests/fixtures/consort), which hlstudy.sem follows.  Raises
    :class:`SurveyDataError` for an unknown ``missing`` or absent columns.
    """
    items, covariates = list(items), list(covariates)
    absent = [c for c in items + covariates if c not in data]
    if absent or not items:
        raise SurveyDataError(f"model_n: columns {absent or 'items'} missing from the table")
    answered = data[items].notna()
    x_ok = data[covariates].notna().all(axis=1) if covariates else pd.Series(True, index=data.index)
    if missing == "listwise":
        return int((answered.all(axis=1) & x_ok).sum())
    if missing == "ml":
        return int(x_ok.sum()) if covariates else int(answered.any(axis=1).sum())
    raise SurveyDataError(f"missing must be 'ml' or 'listwise', got {missing!r}")


def analysis_counts(study: Study) -> pd.DataFrame:
    """The number of respondents each model uses: ``instrument, analysis, n``.

    Computed from the clean tables by the rules the fitting functions apply, without
    fitting: ``cfa_listwise`` — records answering every Likert item of the instrument
    (:func:`hlstudy.cfa.cfa`, lavaan ``missing = "listwise"``); ``cfa_fiml`` — records
    answering at least one item (:func:`hlstudy.sem.sem` with ``missing = "ml"`` drops only
    records without any answer, as lavaan); ``sem_fiml`` (officials) — the structural model
    of notebook 05: at least one item answered and every background covariate
    (:data:`hlstudy.drivers.COVARIATES`, exogenous, ``fixed.x``) present.  Instruments
    without Likert items or without an export are left out.
    """
    from hlstudy import drivers
    from hlstudy.scales import scale_items

    rows = []
    for name in ("officials", "citizens"):
        if not study.has(name) or not len(study.table(name)):
            continue
        data = study.table(name)
        items = [i for members in scale_items(name).values() for i in members if i in data]
        if not items:
            continue
        rows.append({"instrument": name, "analysis": "cfa_listwise", "n": model_n(data, items, missing="listwise")})
        rows.append({"instrument": name, "analysis": "cfa_fiml", "n": model_n(data, items)})
        if name == "officials":
            covariates = drivers.driver_data(study)[list(drivers.COVARIATES)]
            frame = pd.concat([data[items].reset_index(drop=True), covariates.reset_index(drop=True)], axis=1)
            rows.append({"instrument": name, "analysis": "sem_fiml",
                         "n": model_n(frame, items, drivers.COVARIATES)})
    return pd.DataFrame(rows, columns=["instrument", "analysis", "n"])


#: Columns of :func:`consort_counts`.
CONSORT_COLUMNS = ["instrument", "stage", "rule", "outcome", "n"]


def consort_counts(study: Study, *, frames: dict[str, int | None] | None = None) -> pd.DataFrame:
    """Every number of the CONSORT flow diagram, computed: ``instrument, stage, rule, outcome, n``.

    Stages per instrument, in order: ``frame`` (the sampling frame: for officials the
    records of the personnel register, for citizens ``frames["citizens"]``, e.g. the design's
    30 per commune × 23 units; missing when unknown), ``received`` (records in the export),
    ``duplicate`` (repeat submissions dropped), ``respondents`` (= received − duplicate),
    ``nonresponse`` (= frame − respondents), one ``excluded`` row per other rule that drops
    records (``rule`` names it), ``kept`` (= received − every exclusion), one ``changed`` row
    per outcome of altered values (``outcome``: ``set_missing``, ``recoded``; ``n`` values), one
    ``flagged`` row per rule that keeps records with a note (``n`` records; ``outcome``
    ``flagged`` or ``score_missing``), and one ``analysis`` row per model
    (:func:`analysis_counts`; ``rule`` holds the analysis code of :data:`ANALYSES`).

    ``frames`` overrides or supplies frames by instrument.  The identities
    *frame = respondents + nonresponse* and *received = kept + excluded* hold by construction
    and are checked: a failure raises :class:`SurveyDataError`.
    """
    frames = dict(frames or {})
    if "officials" not in frames:
        frames["officials"] = len(study.personnel) if study.has("personnel") else None
    rows = []
    flow = study.flow
    counts = analysis_counts(study)
    for name in study.instruments:
        f = flow[flow["instrument"] == name]
        received = int(study.received[name])
        duplicates = int(f.loc[f["rule"] == "duplicates", "dropped"].sum())
        respondents = received - duplicates
        frame = frames.get(name)
        if name == "personnel":
            frame = received  # the register is the frame itself
        rows.append({"instrument": name, "stage": "frame", "rule": "", "n": frame})
        rows.append({"instrument": name, "stage": "received", "rule": "", "n": received})
        rows.append({"instrument": name, "stage": "duplicate", "rule": "duplicates", "n": duplicates})
        rows.append({"instrument": name, "stage": "respondents", "rule": "", "n": respondents})
        rows.append({"instrument": name, "stage": "nonresponse", "rule": "",
                     "n": None if frame is None else int(frame) - respondents})
        excluded = 0
        for r in f.itertuples():
            if r.rule != "duplicates" and r.dropped:
                rows.append({"instrument": name, "stage": "excluded", "rule": r.rule, "n": int(r.dropped)})
            excluded += int(r.dropped)
        kept = int(study.kept[name])
        if received != kept + excluded:
            raise SurveyDataError(f"{name}: {received} received but {kept} kept + {excluded} excluded")
        rows.append({"instrument": name, "stage": "kept", "rule": "", "n": kept})
        log = study.cleaning_log
        mine = log[log["instrument"] == name]
        for outcome in ("set_missing", "recoded"):
            k = int((mine["outcome"] == outcome).sum())
            if k:
                rows.append({"instrument": name, "stage": "changed", "outcome": outcome, "n": k})
        flagged = mine[mine["action"] == "flag"]
        for rule in cleaning.RULE_NAMES:
            hit = flagged[flagged["rule"] == rule]
            if len(hit):
                rows.append({"instrument": name, "stage": "flagged", "rule": rule,
                             "outcome": hit["outcome"].iloc[0], "n": int(hit["record_id"].nunique())})
        for r in counts[counts["instrument"] == name].itertuples():
            rows.append({"instrument": name, "stage": "analysis", "rule": r.analysis, "n": int(r.n)})
    out = pd.DataFrame(rows, columns=CONSORT_COLUMNS)
    out[["rule", "outcome"]] = out[["rule", "outcome"]].fillna("")
    out["n"] = out["n"].astype("Int64")
    return out
