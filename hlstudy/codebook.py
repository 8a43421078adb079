"""The three instruments' codebooks (``data/instrument/``) as validated tables.

Files (schema in ``docs/architecture.md``)
    ``codebook.csv``      one row per variable of the officials' questionnaire, the citizens'
                          questionnaire and the personnel register: item code, construct,
                          type, the Vietnamese wording exactly as printed (also the export's
                          column header), English gloss, value set, reverse-keying, admissible
                          range, required and personal-data flags, and the thesis claims
                          (ids of ``claims.csv``) each variable serves.
    ``value_labels.csv``  ``value_set, code, label_vi, label_en``; Likert sets have consecutive
                          integer codes (1–5 for the thesis' scales; 1–7 works the same way);
                          optional ``aliases_vi``: other names accepted at ingest (``;``-separated).
    ``claims.csv``        verbatim copy of the project's claims ledger seed
                          (``../shared/seed/claims.csv``), so that the claim ids can be checked
                          without anything outside the repository.

Every loader validates what it reads and raises :class:`hlstudy.errors.SurveyDataError`
naming the file, the row (spreadsheet numbering, header = row 1) and the column of the first
problem: unknown instrument or type, duplicated variable codes or printed wordings, Likert
items without a construct or with a value set whose codes are not consecutive integers (at
least :data:`LIKERT_MIN_POINTS`), constructs with fewer
than three items, value sets or claim ids that do not exist, text not in Unicode NFC.

Example
-------
>>> from hlstudy import codebook
>>> codebook.constructs("officials")[:3]
['TRAIN', 'COMP', 'ENV']
>>> codebook.items("officials", "RES")
['RES1', 'RES2', 'RES3', 'RES4', 'RES5']
>>> codebook.value_labels("agree5")["label_vi"].iloc[0]
'Hoàn toàn không đồng ý'

The R equivalent is a plain ``read.csv("data/instrument/codebook.csv", encoding = "UTF-8")``;
nothing here is statistical.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hlstudy.errors import SurveyDataError
from hlstudy.paths import INSTRUMENT

INSTRUMENTS = ("officials", "citizens", "personnel")
TYPES = ("likert", "category", "integer", "year", "date", "text", "timestamp", "duration", "commune")
CODEBOOK_COLUMNS = [
    "instrument", "variable", "order", "construct", "type", "question_vi", "gloss_en",
    "value_set", "reverse", "min", "max", "required", "pii", "claims",
]
LABEL_COLUMNS = ["value_set", "code", "label_vi", "label_en"]
MIN_ITEMS = 3
LIKERT_CODES = ("1", "2", "3", "4", "5")  # the thesis' scales; any run of integers is accepted
LIKERT_MIN_POINTS = 3


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise SurveyDataError("codebook file not found", file=path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.ParserError as exc:  # e.g. an unquoted comma inside a text field
        raise SurveyDataError(f"is not a well-formed CSV file ({str(exc).split('. ', 1)[-1].strip()}); a "
                              "field that contains a comma must be in double quotes",
                              file=path.name) from None
    except UnicodeDecodeError:
        raise SurveyDataError("is not UTF-8 text; save it as 'CSV UTF-8'", file=path.name) from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SurveyDataError(f"missing columns {missing}", file=path.name)
    for col in df.columns:
        for i, text in enumerate(df[col], start=2):
            if text != unicodedata.normalize("NFC", text):
                raise SurveyDataError("text is not in Unicode NFC", file=path.name, row=i, column=col)
            if text != text.strip():
                raise SurveyDataError("leading or trailing white space", file=path.name, row=i,
                                      column=col)
    return df


def _fail(message: str, name: str, df: pd.DataFrame, mask, column: str | None = None):
    rows = [int(i) + 2 for i in df.index[pd.Series(mask, index=df.index)]]
    raise SurveyDataError(message, file=name, row=rows[0] if rows else None, column=column)


def claim_ids(folder: Path | None = None) -> list[str]:
    """Claim ids of ``claims.csv`` (sorted)."""
    df = _read(Path(folder or INSTRUMENT) / "claims.csv", ["claim_id", "kind", "text_vi"])
    return sorted(df["claim_id"])


def validate(codebook: pd.DataFrame, labels: pd.DataFrame, claims: list[str]) -> None:
    """Raise :class:`SurveyDataError` at the first rule of the codebook contract broken.

    ``codebook`` and ``labels`` are the raw string tables (row ``i`` of the frame is
    spreadsheet row ``i + 2``).
    """
    cb, name = codebook.reset_index(drop=True), "codebook.csv"
    bad = ~cb["instrument"].isin(INSTRUMENTS)
    if bad.any():
        _fail(f"instrument must be one of {INSTRUMENTS}", name, cb, bad, "instrument")
    bad = ~cb["type"].isin(TYPES)
    if bad.any():
        _fail(f"type must be one of {TYPES}", name, cb, bad, "type")
    bad = cb["variable"].eq("") | ~cb["variable"].str.fullmatch(r"[A-Za-z][A-Za-z0-9_]*")
    if bad.any():
        _fail("variable code must be an identifier", name, cb, bad, "variable")
    bad = cb.duplicated(["instrument", "variable"], keep="first")
    if bad.any():
        _fail("duplicated variable code within an instrument", name, cb, bad, "variable")
    key = cb["question_vi"].str.casefold().str.split().str.join(" ")
    bad = pd.Series(False, index=cb.index)
    for _, group in cb.assign(_k=key).groupby("instrument"):
        bad |= group.duplicated("_k").reindex(cb.index, fill_value=False)
    if bad.any():
        _fail("duplicated printed wording within an instrument (headers must be unique)",
              name, cb, bad, "question_vi")
    bad = cb["question_vi"].eq("")
    if bad.any():
        _fail("every variable needs its printed wording", name, cb, bad, "question_vi")
    order = pd.to_numeric(cb["order"], errors="coerce")
    bad = order.isna() | cb.assign(_o=order).duplicated(["instrument", "_o"])
    if bad.any():
        _fail("order must be a unique number within an instrument", name, cb, bad, "order")
    for col in ("reverse", "required", "pii"):
        bad = ~cb[col].isin(["0", "1"])
        if bad.any():
            _fail("flag must be 0 or 1", name, cb, bad, col)
    if "identity" in cb.columns:  # optional: groups of personal data that identify a person
        bad = cb["identity"].ne("") & cb["pii"].ne("1")
        if bad.any():
            _fail("an identity group may hold personal data only (pii = 1)", name, cb, bad, "identity")
    for col in ("min", "max"):
        bad = cb[col].ne("") & pd.to_numeric(cb[col], errors="coerce").isna()
        if bad.any():
            _fail("range bound must be a number", name, cb, bad, col)
    likert = cb["type"].eq("likert")
    bad = likert & cb["construct"].eq("")
    if bad.any():
        _fail("a Likert item needs a construct", name, cb, bad, "construct")
    bad = ~likert & cb["construct"].ne("")
    if bad.any():
        _fail("only Likert items belong to a construct", name, cb, bad, "construct")
    bad = cb["reverse"].eq("1") & ~likert
    if bad.any():
        _fail("only Likert items can be reverse-keyed", name, cb, bad, "reverse")
    counts = cb[likert].groupby(["instrument", "construct"]).size()
    small = counts[counts < MIN_ITEMS]
    if len(small):
        inst, construct = small.index[0]
        mask = (cb["instrument"] == inst) & (cb["construct"] == construct)
        _fail(f"construct {construct!r} has {small.iloc[0]} items (at least {MIN_ITEMS} needed)",
              name, cb, mask, "construct")
    coded = cb["type"].isin(["likert", "category"])
    bad = coded & cb["value_set"].eq("")
    if bad.any():
        _fail("Likert and category variables need a value set", name, cb, bad, "value_set")
    sets = set(labels["value_set"])
    bad = coded & ~cb["value_set"].isin(sets)
    if bad.any():
        _fail("value set absent from value_labels.csv", name, cb, bad, "value_set")
    known = set(claims)
    lists = cb["claims"].map(lambda s: [c for c in s.split(";") if c] if s else [])
    bad = lists.map(lambda ids: any(c not in known for c in ids))
    if bad.any():
        _fail(f"claim id not in claims.csv ({sorted(known)})", name, cb, bad, "claims")

    lb, lname = labels.reset_index(drop=True), "value_labels.csv"
    bad = lb.duplicated(["value_set", "code"])
    if bad.any():
        _fail("duplicated code within a value set", lname, lb, bad, "code")
    bad = lb.assign(_k=lb["label_vi"].str.casefold()).duplicated(["value_set", "_k"])
    if bad.any():
        _fail("duplicated label within a value set", lname, lb, bad, "label_vi")
    bad = lb["label_vi"].eq("") | lb["label_en"].eq("")
    if bad.any():
        _fail("every code needs Vietnamese and English labels", lname, lb, bad, "label_vi")
    if "aliases_vi" in lb.columns:  # other accepted names of a code (e.g. the thị trấn title)
        names = {(vs, t.casefold()): c for vs, c, t in zip(lb["value_set"], lb["code"], lb["label_vi"],
                                                          strict=True)}
        bad = pd.Series([
            any(names.get((vs, a.strip().casefold()), c) != c for a in aliases.split(";") if a.strip())
            for vs, c, aliases in zip(lb["value_set"], lb["code"], lb["aliases_vi"], strict=True)
        ], index=lb.index)
        if bad.any():
            _fail("alias is the label of another code in the value set", lname, lb, bad, "aliases_vi")
    for value_set in sorted(set(cb.loc[likert, "value_set"])):
        codes = list(lb.loc[lb["value_set"] == value_set, "code"])
        numbers = sorted(int(c) for c in codes if c.lstrip("-").isdigit())
        if (len(numbers) != len(codes) or len(numbers) < LIKERT_MIN_POINTS
                or numbers != list(range(numbers[0], numbers[0] + len(numbers)))):
            _fail(f"Likert value set {value_set!r} must have at least {LIKERT_MIN_POINTS} "
                  f"consecutive integer codes (e.g. 1..5 or 1..7), has {sorted(codes)}",
                  lname, lb, lb["value_set"] == value_set, "code")


@lru_cache(maxsize=4)
def _load(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = Path(folder)
    cb = _read(base / "codebook.csv", CODEBOOK_COLUMNS)
    labels = _read(base / "value_labels.csv", LABEL_COLUMNS)
    validate(cb, labels, claim_ids(base))
    cb = cb.copy()
    cb["order"] = pd.to_numeric(cb["order"]).astype("int64")
    for col in ("reverse", "required", "pii"):
        cb[col] = cb[col].astype("int64")
    for col in ("min", "max"):
        cb[col] = pd.to_numeric(cb[col].replace("", None), errors="coerce").astype("Float64")
    return cb, labels


def _check_instrument(instrument: str) -> None:
    if instrument not in INSTRUMENTS:
        raise SurveyDataError(f"unknown instrument {instrument!r}; expected one of {INSTRUMENTS}")


def load_codebook(instrument: str | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """The validated codebook, all instruments or one, sorted by instrument then ``order``.

    ``order``, ``reverse``, ``required``, ``pii`` are integers, ``min``/``max`` nullable
    floats, the rest strings ("" when empty).
    """
    if instrument is not None:
        _check_instrument(instrument)
    return _sorted_codebook(str(folder or INSTRUMENT), instrument).copy()


@lru_cache(maxsize=16)
def _sorted_codebook(folder: str, instrument: str | None) -> pd.DataFrame:
    """:func:`load_codebook`'s table, made once per folder and instrument (callers get copies)."""
    cb, _ = _load(folder)
    if instrument is not None:
        cb = cb[cb["instrument"] == instrument]
    rank = {name: i for i, name in enumerate(INSTRUMENTS)}
    return cb.sort_values(["instrument", "order"], key=lambda s: s.map(rank) if s.name ==
                          "instrument" else s, ignore_index=True)


def value_labels(value_set: str | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Labels of one value set (``code, label_vi, label_en`` in file order), or all of them."""
    if value_set is None:
        _, labels = _load(str(folder or INSTRUMENT))
        return labels.reset_index(drop=True)
    return _value_set(str(folder or INSTRUMENT), value_set).copy()


@lru_cache(maxsize=256)
def _value_set(folder: str, value_set: str) -> pd.DataFrame:
    """:func:`value_labels` of one set, made once per folder and set (callers get copies)."""
    _, labels = _load(folder)
    out = labels[labels["value_set"] == value_set]
    if out.empty:
        raise SurveyDataError(f"unknown value set {value_set!r}; known: "
                              f"{sorted(set(labels['value_set']))}", file="value_labels.csv")
    return out.drop(columns="value_set").reset_index(drop=True)


def constructs(instrument: str, *, folder: Path | None = None) -> list[str]:
    """Construct codes of an instrument's Likert scales, in questionnaire order."""
    cb = load_codebook(instrument, folder=folder)
    return list(dict.fromkeys(cb.loc[cb["type"] == "likert", "construct"]))


def items(instrument: str, construct: str, *, folder: Path | None = None) -> list[str]:
    """Item codes of one construct, in questionnaire order."""
    cb = load_codebook(instrument, folder=folder)
    out = cb.loc[(cb["type"] == "likert") & (cb["construct"] == construct), "variable"].tolist()
    if not out:
        raise SurveyDataError(f"no construct {construct!r} in the {instrument} codebook; known: "
                              f"{constructs(instrument, folder=folder)}", file="codebook.csv")
    return out


def scales(instrument: str, *, folder: Path | None = None) -> dict[str, list[str]]:
    """Construct → item codes for every scale of ``instrument``."""
    _check_instrument(instrument)
    cb = _sorted_codebook(str(folder or INSTRUMENT), instrument)
    lik = cb[cb["type"] == "likert"]
    out: dict[str, list[str]] = {}
    for construct, variable in zip(lik["construct"], lik["variable"], strict=True):
        out.setdefault(construct, []).append(variable)
    return out


def likert_range(instrument: str, construct: str | None = None, *,
                 folder: Path | None = None) -> tuple[int, int]:
    """Lowest and highest code of the Likert value set(s) of ``instrument`` (or of one construct).

    What plots and thresholds take from the instrument instead of assuming 1–5: axis limits
    and labels, the scale's midpoint ``(lo + hi) / 2``, floor and ceiling.  Raises
    :class:`SurveyDataError` for an instrument without Likert items or an unknown construct.

    >>> likert_range("officials"), likert_range("citizens", "CSAT")
    ((1, 5), (1, 5))
    """
    cb = load_codebook(instrument, folder=folder)
    lik = cb[cb["type"] == "likert"]
    if construct is not None:
        lik = lik[lik["construct"] == construct]
    if lik.empty:
        what = f"construct {construct!r}" if construct is not None else "Likert items"
        raise SurveyDataError(f"no {what} in the {instrument} codebook", file="codebook.csv")
    codes = [int(c) for vs in sorted(set(lik["value_set"]))
             for c in value_labels(vs, folder=folder)["code"]]
    return min(codes), max(codes)


def reverse_items(instrument: str, *, folder: Path | None = None) -> list[str]:
    """Reverse-keyed item codes of ``instrument``."""
    cb = load_codebook(instrument, folder=folder)
    return cb.loc[cb["reverse"] == 1, "variable"].tolist()


def pii_columns(instrument: str, *, folder: Path | None = None) -> list[str]:
    """Personal-data variables (``pii = 1``), dropped at ingest."""
    cb = load_codebook(instrument, folder=folder)
    return cb.loc[cb["pii"] == 1, "variable"].tolist()


def header(instrument: str, variable: str, *, folder: Path | None = None) -> str:
    """The export's column header of ``variable``: ``question_vi``, Likert items prefixed
    ``"Câu N. "`` with ``N`` the item's ``order`` (the printed question number)."""
    cb = load_codebook(instrument, folder=folder).set_index("variable")
    if variable not in cb.index:
        raise SurveyDataError(f"no variable {variable!r} in the {instrument} codebook",
                              file="codebook.csv")
    row = cb.loc[variable]
    return f"Câu {row['order']}. {row['question_vi']}" if row["type"] == "likert" else \
        row["question_vi"]


def claims_served(instrument: str | None = None, *, folder: Path | None = None) -> pd.DataFrame:
    """Long table ``instrument, variable, construct, claim_id``: which variable serves which claim."""
    cb = load_codebook(instrument, folder=folder)
    rows = [
        (r.instrument, r.variable, r.construct, c)
        for r in cb.itertuples(index=False) for c in r.claims.split(";") if c
    ]
    return pd.DataFrame(rows, columns=["instrument", "variable", "construct", "claim_id"]) \
        .sort_values(["claim_id", "instrument", "variable"], ignore_index=True)


# --------------------------------------------------------------------------- constructs, hypotheses

CONSTRUCT_COLUMNS = ["instrument", "construct", "role", "label_vi", "label_en", "part"]
HYPOTHESIS_COLUMNS = ["claim_id", "test_type", "constructs", "paths", "expected_sign",
                      "hypothesis_vi", "hypothesis_en"]
TEST_TYPES = ("path", "measurement", "comparison", "commune_association", "descriptive")
#: The optional column ``ipma`` of ``hypotheses.csv``: what a claim's premise asserts about its
#: driver's place in the importance–performance map, ``;``-separated: ``rank<=K`` (among the K
#: most important drivers; ``rank<=1``: the largest) or ``quadrant=Q`` (Q one of
#: :data:`hlstudy.evidence.ipma.QUADRANTS_VI`'s keys).  Not tested: the claims ledger reports a
#: premise the map contradicts (:func:`hlstudy.evidence.ledger.contradictions`).
IPMA_PREMISE = re.compile(r"rank<=([1-9][0-9]*)|quadrant=(improve|keep|low|overkill)")
#: Names used in hypotheses' paths besides the Likert constructs: education rank, years in
#: post (observed backgrounds) and QUAL, the commune mean of the officials' quality.
PATH_VARIABLES = ("EDU", "TENURE", "QUAL")


def construct_labels(instrument: str | None = None, *, folder: Path | None = None
                     ) -> pd.DataFrame:
    """``constructs.csv``: role and Vietnamese/English name of every construct.

    Validated against the codebook: exactly the constructs of its Likert items.
    """
    df = _construct_labels(str(folder or INSTRUMENT), _stamp(folder, "constructs.csv"))
    if instrument is not None:
        _check_instrument(instrument)
        df = df[df["instrument"] == instrument]
    return df.reset_index(drop=True)


def _stamp(folder: Path | None, *names: str) -> tuple:
    """(modification time, size) of files of the instrument folder: a changed file is re-read."""
    base = Path(folder or INSTRUMENT)
    out = []
    for name in names:
        try:
            st = (base / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


@lru_cache(maxsize=8)
def _construct_labels(folder: str, stamp: tuple) -> pd.DataFrame:
    """``constructs.csv`` read and checked once per folder and file version."""
    base = Path(folder)
    df = _read(base / "constructs.csv", CONSTRUCT_COLUMNS)
    cb = load_codebook(folder=base)
    have = set(zip(cb.loc[cb["type"] == "likert", "instrument"],
                   cb.loc[cb["type"] == "likert", "construct"], strict=True))
    listed = set(zip(df["instrument"], df["construct"], strict=True))
    if have != listed:
        raise SurveyDataError(
            f"constructs.csv and codebook.csv disagree: only in codebook {sorted(have - listed)}, "
            f"only in constructs.csv {sorted(listed - have)}", file="constructs.csv")
    return df


def hypotheses(*, folder: Path | None = None) -> pd.DataFrame:
    """``hypotheses.csv``: one testable hypothesis per claim of ``claims.csv``.

    Columns: ``claim_id, test_type, constructs, paths, expected_sign, hypothesis_vi,
    hypothesis_en`` and, optionally, ``ipma`` (:data:`IPMA_PREMISE`; empty when the file has
    no such column); ``constructs`` and ``paths`` are ``;``-separated, paths written
    ``CAUSE->EFFECT`` over construct codes and :data:`PATH_VARIABLES` (the same names as
    :data:`hlstudy.synthetic.DEFAULT_EFFECTS`).  Sorted as in ``claims.csv``.
    """
    return _hypotheses(str(folder or INSTRUMENT), _stamp(folder, "hypotheses.csv", "claims.csv")).copy()


@lru_cache(maxsize=8)
def _hypotheses(folder: str, stamp: tuple) -> pd.DataFrame:
    """``hypotheses.csv`` read and checked once per folder and file version."""
    base = Path(folder)
    df = _read(base / "hypotheses.csv", HYPOTHESIS_COLUMNS)
    if "ipma" not in df.columns:   # optional: no claim states an IPMA premise
        df["ipma"] = ""
    name = "hypotheses.csv"
    claims = _read(base / "claims.csv", ["claim_id"])["claim_id"].tolist()
    if sorted(df["claim_id"]) != sorted(claims):
        raise SurveyDataError(f"claim ids differ from claims.csv: "
                              f"{sorted(set(df['claim_id']) ^ set(claims))}", file=name)
    bad = ~df["test_type"].isin(TEST_TYPES)
    if bad.any():
        _fail(f"test_type must be one of {TEST_TYPES}", name, df, bad, "test_type")
    cb = load_codebook(folder=base)
    known = set(cb["construct"]) - {""} | set(PATH_VARIABLES)
    for i, r in enumerate(df.itertuples(index=False), start=2):
        names = [c for c in r.constructs.split(";") if c]
        for p in (p for p in r.paths.split(";") if p):
            parts = p.split("->")
            if len(parts) != 2:
                raise SurveyDataError(f"path {p!r} is not CAUSE->EFFECT", file=name, row=i,
                                      column="paths")
            names += parts
        unknown = list(dict.fromkeys(c for c in names if c not in known))
        if unknown:
            raise SurveyDataError(f"unknown construct(s) {unknown}", file=name, row=i,
                                  column="constructs")
        premises = [t for t in getattr(r, "ipma", "").split(";") if t]
        bad = [t for t in premises if not IPMA_PREMISE.fullmatch(t)]
        if bad:
            raise SurveyDataError(f"IPMA premise(s) {bad} not understood: write 'rank<=K' or "
                                  "'quadrant=improve|keep|low|overkill', ';'-separated",
                                  file=name, row=i, column="ipma")
        if premises and not [p for p in r.paths.split(";") if p]:
            raise SurveyDataError("an IPMA premise needs a path naming its driver", file=name,
                                  row=i, column="ipma")
    order = {c: k for k, c in enumerate(claims)}
    return df.sort_values("claim_id", key=lambda s: s.map(order), ignore_index=True)


# --------------------------------------------------------------------------- printable questionnaires

#: What a sentence calls each instrument, ``(vi, en)``: in notes, verdicts, findings and the
#: notebooks' prose.  The personnel register is named as its form is titled (:data:`TITLES`:
#: "DANH SÁCH TRÍCH NGANG …"), not "hồ sơ nhân sự" (personnel files, which the study does not
#: read) nor "danh sách nhân sự".  Table labels: :data:`INSTRUMENT_LABELS`.
INSTRUMENT_NOUNS = {
    "officials": ("phiếu khảo sát cán bộ, công chức", "officials' survey"),
    "citizens": ("phiếu khảo sát người dân", "citizens' survey"),
    "personnel": ("danh sách trích ngang", "personnel register"),
}
#: Printed names of the instruments in tables, figures and panel titles, ``(vi, en)``: the
#: same names as :data:`INSTRUMENT_NOUNS`, short and capitalised.
INSTRUMENT_LABELS = {
    "officials": ("Cán bộ, công chức", "Officials"),
    "citizens": ("Người dân", "Citizens"),
    "personnel": ("Danh sách trích ngang", "Personnel register"),
}

TITLES = {
    "officials": ("PHIẾU KHẢO SÁT CÁN BỘ, CÔNG CHỨC CẤP XÃ",
                  "Về chất lượng đội ngũ cán bộ, công chức cấp xã huyện Hữu Lũng, tỉnh Lạng Sơn "
                  "và các yếu tố ảnh hưởng"),
    "citizens": ("PHIẾU KHẢO SÁT Ý KIẾN NGƯỜI DÂN",
                 "Về cán bộ, công chức và chính quyền cấp xã huyện Hữu Lũng, tỉnh Lạng Sơn"),
    "personnel": ("DANH SÁCH TRÍCH NGANG CÁN BỘ, CÔNG CHỨC CẤP XÃ",
                  "Mẫu hồ sơ do Ủy ban nhân dân xã, thị trấn cung cấp"),
}
INTRO = {
    "officials": (
        "Kính gửi anh/chị! Nhằm đánh giá thực trạng và đề xuất giải pháp nâng cao chất lượng "
        "đội ngũ cán bộ, công chức cấp xã, chúng tôi rất mong anh/chị dành thời gian trả lời "
        "các câu hỏi dưới đây. Thông tin chỉ dùng cho mục đích nghiên cứu; họ tên và số điện "
        "thoại (không bắt buộc) chỉ dùng để tránh phiếu trùng lặp và sẽ bị xóa trước khi phân "
        "tích. Xin trân trọng cảm ơn!"),
    "citizens": (
        "Kính gửi ông/bà! Để góp phần nâng cao chất lượng phục vụ của cán bộ, công chức xã, "
        "xin ông/bà cho biết ý kiến về lần giải quyết công việc gần nhất tại Ủy ban nhân dân "
        "xã, thị trấn. Phiếu không ghi tên; xin đừng ghi họ tên hay số điện thoại của bất kỳ ai "
        "vào phần góp ý. Xin trân trọng cảm ơn!"),
    "personnel": (
        "Mỗi dòng là một cán bộ, công chức đang công tác tại xã, thị trấn. Ngày sinh ghi theo "
        "dạng ngày/tháng/năm; các cột trình độ ghi theo danh mục dưới đây."),
}
BOX = "☐"


def _options(value_set: str, folder) -> str:
    lab = value_labels(value_set, folder=folder)
    return "  ".join(f"{BOX} {t}" for t in lab["label_vi"])


def questionnaire_markdown(instrument: str, *, folder: Path | None = None) -> str:
    """The printable questionnaire (or register template) of ``instrument`` as Markdown.

    Background questions in part A with their answer options; Likert items in part B, one
    table per construct, numbered by ``order`` exactly as the export headers ("Câu N.").
    """
    cb = load_codebook(instrument, folder=folder)
    title, subtitle = TITLES[instrument]
    lines = [f"# {title}", "", f"*{subtitle}*", "", INTRO[instrument], ""]
    meta = cb["type"].isin(["timestamp", "duration"])
    if instrument == "personnel":
        lines += ["| Cột | Nội dung | Cách ghi |", "|---|---|---|"]
        for k, r in enumerate(cb.itertuples(index=False), start=1):
            how = {"date": "ngày/tháng/năm", "year": "năm (4 chữ số)", "integer": "số",
                   "commune": "tên xã, thị trấn", "text": "chữ"}.get(r.type, "")
            if r.type == "category":
                how = "; ".join(value_labels(r.value_set, folder=folder)["label_vi"])
            lines.append(f"| {k} | {r.question_vi} | {how} |")
        return "\n".join(lines) + "\n"
    lines += ["## Phần A. Thông tin chung", ""]
    for r in cb[~meta & (cb["type"] != "likert")].itertuples(index=False):
        if r.type == "category":
            lines += [f"**Câu {r.order}.** {r.question_vi}", "", _options(r.value_set, folder), ""]
        elif r.type == "text" and r.pii and instrument == "citizens":
            continue  # the free-text comment is printed at the end
        else:
            blank = "……………………………………" if r.type in ("text", "commune") else "…………"
            note = " *(không bắt buộc)*" if not r.required else ""
            colon = "" if r.question_vi.endswith("?") else ":"
            lines += [f"**Câu {r.order}.** {r.question_vi}{note}{colon} {blank}", ""]
    lik = cb[cb["type"] == "likert"]
    lines += ["## Phần B. Đánh giá", "",
              "Xin đánh dấu vào một ô phù hợp nhất với ý kiến của mình ở mỗi câu.", ""]
    labels = construct_labels(instrument, folder=folder).set_index("construct")["label_vi"]
    shown = None
    for k, (construct, group) in enumerate(lik.groupby("construct", sort=False), start=1):
        lines += [f"### B{k}. {labels[construct]}", ""]
        vs = group["value_set"].iloc[0]
        if vs != shown:
            lab = value_labels(vs, folder=folder)
            scale = "; ".join(f"{c} = {t}" for c, t in zip(lab["code"], lab["label_vi"],
                                                             strict=True))
            lines += [f"Mức độ: {scale}.", ""]
            shown = vs
        points = list(value_labels(vs, folder=folder)["code"])
        lines += ["| Câu | Nội dung | " + " | ".join(points) + " |",
                  "|---|---|" + "---|" * len(points)]
        for r in group.itertuples(index=False):
            lines.append(f"| {r.order} | {r.question_vi} |" + f" {BOX} |" * len(points))
        lines.append("")
    comment = cb[(cb["type"] == "text") & (cb["pii"] == 1) & (instrument == "citizens")]
    for r in comment.itertuples(index=False):
        lines += ["## Phần C. Góp ý", "", f"**Câu {r.order}.** {r.question_vi}", "",
                  "……………………………………………………………………………………", ""]
    lines += ["*Xin trân trọng cảm ơn!*"]
    return "\n".join(lines) + "\n"


QUESTIONNAIRE_FILES = {"officials": "questionnaire_officials.md",
                       "citizens": "questionnaire_citizens.md",
                       "personnel": "register_personnel.md"}


def write_questionnaires(folder: Path | None = None) -> list[Path]:
    """Write the printable questionnaires next to the codebook (``data/instrument``)."""
    base = Path(folder or INSTRUMENT)
    out = []
    for instrument, name in QUESTIONNAIRE_FILES.items():
        path = base / name
        path.write_text(questionnaire_markdown(instrument, folder=folder), encoding="utf-8")
        out.append(path)
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write-questionnaires"]:
        for p in write_questionnaires():
            print(f"wrote {p}")
    else:
        print("usage: python -m hlstudy.codebook --write-questionnaires")
