"""Real platforms' exports read right, and nothing lost silently (issue 12, sections 1 and 2;
issue 14, kind 5).

Every input is built from a simulated study (``hlstudy.synthetic.simulate``, about 120
officials — a thesis-sized census) and rewritten in the shape a platform exports: Google Forms
CSV and XLSX (grid headers ``Title [item]``, an "Địa chỉ email" column, an English-locale
timestamp), KoboToolbox CSV (group prefixes, metadata columns, ``start``/``end`` with UTC
offsets), SPSS ``.sav`` (variable labels, value labels, a text variable with value labels).
No real person is in any of them.  Expected values are computed from the simulated data
(read through the plain export), never typed in; the SPSS text-label case is checked against
``haven`` (tests/fixtures/spss_labels/make_fixtures.R).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy import cleaning, config, ingest
from hlstudy.codebook import load_codebook
from hlstudy.errors import SurveyDataError
from hlstudy.synthetic import simulate

FIXTURES = Path(__file__).parent / "fixtures" / "spss_labels"
LABELS = {1: "Hoàn toàn không đồng ý", 2: "Không đồng ý", 3: "Trung lập", 4: "Đồng ý", 5: "Hoàn toàn đồng ý"}


# --------------------------------------------------------------------------- simulated exports


@pytest.fixture(scope="module")
def sim():
    return simulate(7, response_rate=0.25, n_citizens_per_commune=3)


@pytest.fixture(scope="module")
def raw(sim) -> pd.DataFrame:
    """The officials' export as the simulator writes it (Vietnamese headers, strings)."""
    return sim.raw("officials").copy()


@pytest.fixture(scope="module")
def baseline(raw, tmp_path_factory):
    """The plain export read by ingest: what every platform shape must give back."""
    folder = tmp_path_factory.mktemp("baseline")
    raw.to_csv(folder / "officials.csv", index=False)
    return ingest.read_instrument(folder / "officials.csv", "officials")


@pytest.fixture(scope="module")
def variable_of(baseline, raw) -> dict[str, str]:
    """Raw header → codebook variable, from the baseline's header report."""
    return {raw.columns[c - 1]: v for c, v in zip(baseline.headers["column"], baseline.headers["variable"], strict=True)}


@pytest.fixture(scope="module")
def cb() -> pd.DataFrame:
    return load_codebook("officials")


def likert_columns(raw: pd.DataFrame, variable_of: dict, cb: pd.DataFrame) -> list[str]:
    likert = set(cb.loc[cb["type"] == "likert", "variable"])
    return [h for h in raw.columns if variable_of.get(h) in likert]


def header_of(raw, variable_of, variable: str) -> str:
    return next(h for h in raw.columns if variable_of.get(h) == variable)


def write_csv(frame: pd.DataFrame, folder: Path, name: str = "officials.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / name, index=False, encoding="utf-8")
    return folder / name


def read(frame: pd.DataFrame, folder: Path, **kw) -> ingest.InstrumentTable:
    return ingest.read_instrument(write_csv(frame, folder), "officials", **kw)


def code_of(cell: str) -> int | None:
    """The Likert code a simulated cell holds (a number or one of the five labels, any form)."""
    text = unicodedata.normalize("NFC", str(cell)).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return {label: code for code, label in LABELS.items()}.get(text)


def same_data(table, baseline, columns=None):
    columns = columns or [c for c in baseline.data.columns if not c.startswith("_")]
    pd.testing.assert_frame_equal(table.data[columns], baseline.data[columns])


# --------------------------------------------------------------------------- 1. never lose answers silently


def test_seven_point_scale_is_a_file_error_naming_columns_and_share(raw, variable_of, cb, tmp_path):
    rng = np.random.default_rng(1)
    frame = raw.copy()
    columns = likert_columns(raw, variable_of, cb)
    for h in columns:
        answered = frame[h].astype(str).str.strip() != ""
        frame.loc[answered, h] = rng.integers(1, 8, answered.sum()).astype(str)
    cells = pd.concat([frame.loc[frame[h].astype(str).str.strip() != "", h] for h in columns])
    share = cells.isin(["6", "7"]).mean()
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    message = str(err.value)
    assert f"values 6 and 7 in {share:.0%} of the answers of {len(columns)} Likert column(s)" in message
    assert "a 7-point scale? define its value set" in message
    assert variable_of[columns[0]] in message and "codes 1–5" in message
    # a fault of the file's columns, not of a row: the prefix names the file only
    assert err.value.row is None and err.value.column is None
    assert message.startswith(f"{err.value.file}: values 6 and 7 in ")


def test_one_column_on_seven_points_beside_a_stray_code_is_a_seven_point_scale(
        raw, variable_of, cb, tmp_path):
    """One item answered on 1–7 and, in another column, one respondent's 44 (logged by
    out_of_range): the message guessed "a 44-point scale" from every unreadable code of the
    file (a fresh-user trial).  It now names the flagged column's values and the scale they
    run up to without a gap."""
    rng = np.random.default_rng(2)
    frame = raw.copy()
    seven, stray = likert_columns(raw, variable_of, cb)[:2]
    answered = frame[seven].astype(str).str.strip() != ""
    frame.loc[answered, seven] = rng.integers(1, 8, answered.sum()).astype(str)
    first = frame.index[frame[stray].astype(str).str.strip() != ""][0]
    frame.loc[first, stray] = "44"
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    message = str(err.value)
    assert re.search(r"values? (.*?) in \d+% of the answers", message).group(1) == "6 and 7"
    assert "a 7-point scale? define its value set" in message and "44-point" not in message
    assert f"1 Likert column(s) ({variable_of[seven]})" in message
    # the column's fault: file and column, no row (the prefix named the row of the stray 44,
    # a cell of another column)
    assert err.value.row is None and err.value.column == seven
    assert message.startswith(f"{err.value.file}, column {seven!r}: values 6 and 7 in ")


def test_one_seven_point_item_among_five_point_ones_is_named(raw, variable_of, cb, tmp_path):
    frame = raw.copy()
    h = likert_columns(raw, variable_of, cb)[3]
    rng = np.random.default_rng(2)
    answered = frame[h].astype(str).str.strip() != ""
    frame.loc[answered, h] = rng.integers(1, 8, answered.sum()).astype(str)
    with pytest.raises(SurveyDataError, match=rf"Likert column\(s\) \({variable_of[h]}\)") as err:
        read(frame, tmp_path)
    assert err.value.column == h


def test_codes_counted_from_zero_are_a_file_error(raw, variable_of, cb, tmp_path):
    frame = raw.copy()
    for h in likert_columns(raw, variable_of, cb):
        frame[h] = [str(c - 1) if c is not None and 1 <= c <= 5 else "" for c in map(code_of, frame[h])]
    with pytest.raises(SurveyDataError, match=r"value 0 in .*codes counted from 0 \(0–4 instead of 1–5\)"):
        read(frame, tmp_path)


def test_scattered_out_of_range_codes_stay_logged_cleaning_changes(raw, baseline, variable_of, cb, tmp_path):
    frame = raw.copy()
    columns = likert_columns(raw, variable_of, cb)
    frame.loc[0, columns[0]] = "7"
    frame.loc[5, columns[9]] = "6"
    table = read(frame, tmp_path)  # no error: rare and scattered
    assert table.data.loc[0, variable_of[columns[0]]] == 7.0
    # the drop rules before out_of_range are skipped so that both records reach it
    log = cleaning.clean(table.data, "officials", cleaning.Rules(skip=("duplicates", "missing_required", "speeders"))).log
    mine = log[(log["rule"] == "out_of_range") & log["column"].isin([variable_of[columns[0]], variable_of[columns[9]]])
               & log["source_row"].isin([2, 7])]
    assert sorted(mine["old_value"]) == ["6", "7"]


def test_a_repeated_unknown_label_is_a_file_error_with_counts(raw, variable_of, cb, tmp_path):
    frame = raw.copy()
    columns = likert_columns(raw, variable_of, cb)
    hit = {h: frame[h].map(code_of).eq(1) & ~frame[h].astype(str).str.strip().str.isdigit() for h in columns}
    n_cells = int(sum(m.sum() for m in hit.values()))
    n_columns = sum(bool(m.any()) for m in hit.values())
    assert n_cells >= 20 and n_columns >= 10
    for h in columns:
        frame.loc[hit[h], h] = "Hoàn toàn phản đối"
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    message = str(err.value)
    assert f"'Hoàn toàn phản đối' in {n_cells} cells of {n_columns} column(s)" in message
    assert "closest spelling 'Hoàn toàn không đồng ý'" in message and "aliases_vi" in message
    # labels repeated across the file's columns: the file in the prefix, the first cell in the text
    assert err.value.row is None and err.value.column is None
    assert message.startswith(f"{err.value.file}: 1 answer label(s) not in the codebook repeat")
    first = min(frame.index[hit[h]][0] for h in columns if hit[h].any()) + 2  # header: row 1
    assert re.search(rf"First such cell: row {first}, column '[^']+'\.  Fix: ", message), message


def test_an_unknown_label_fix_points_to_a_copied_instrument_never_a_wrong_mapping(raw, variable_of, cb,
                                                                                  tmp_path, monkeypatch):
    """Seen on own data: labels of another scale (Kém / Trung bình / Khá / Tốt) got "add 'Khá'
    to the aliases_vi of the code labelled 'Trung lập'" and an edit of the committed
    instrument.  The fix names a copy set with HLSTUDY_INSTRUMENT; the closest label is shown
    as a spelling, not proposed as the mapping."""
    from hlstudy.paths import DEFAULT_INSTRUMENT

    frame = raw.copy()
    columns = likert_columns(raw, variable_of, cb)[:2]
    for h in columns:
        frame[h] = ["Khá", "Trung bình", "Tốt", "Kém"] * (len(frame) // 4) + ["Khá"] * (len(frame) % 4)
    monkeypatch.setattr(ingest, "INSTRUMENT", DEFAULT_INSTRUMENT)
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    message = str(err.value)
    assert "'Khá' in" in message and "closest spelling 'Trung lập'" in message
    assert "not of meaning" in message and "no suggestion" in message
    assert "aliases_vi of the code labelled" not in message and "if that is what it means" not in message
    assert "cp -r data/instrument my_instrument" in message and "HLSTUDY_INSTRUMENT=my_instrument" in message
    assert "never in the committed data/instrument" in message and "another scale" in message
    import shutil

    own = shutil.copytree(DEFAULT_INSTRUMENT, tmp_path / "my_instrument")
    monkeypatch.setattr(ingest, "INSTRUMENT", own)
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    assert f"in {own / 'value_labels.csv'}, the instrument in use" in str(err.value)
    assert "cp -r" not in str(err.value)


def test_rare_unknown_labels_stay_logged_unreadable_with_the_right_hint(raw, variable_of, cb, tmp_path):
    frame = raw.copy()
    columns = likert_columns(raw, variable_of, cb)
    frame.loc[1, columns[2]] = "Cực kỳ đồng ý"
    frame.loc[4, columns[7]] = "Đồng ý một phần"
    table = read(frame, tmp_path)
    cells = {(v, raw_): reason for entry in table.data[ingest.UNREADABLE].dropna() for v, raw_, reason in entry}
    assert "closest spelling 'Hoàn toàn đồng ý'" in cells[(variable_of[columns[2]], "Cực kỳ đồng ý")]
    log = cleaning.clean(table.data, "officials").log
    assert len(log[log["rule"] == "unreadable"]) == 2


def test_closest_label_points_to_the_intended_label():
    labels = list(LABELS.values())
    assert ingest.closest_label("Rất đồng ý", labels) == "Hoàn toàn đồng ý"  # not 'Không đồng ý'
    assert ingest.closest_label("Rat khong dong y", labels) == "Hoàn toàn không đồng ý"
    assert ingest.closest_label("Khong dong y lam", labels) == "Không đồng ý"
    assert ingest.closest_label("anything", []) == "none"
    # the same words in another order (a fresh-user trial: the hint pointed to 'Đồng ý',
    # which would have turned every 5 into a 4)
    assert ingest.closest_label("Đồng ý hoàn toàn", labels) == "Hoàn toàn đồng ý"
    assert ingest.closest_label("Không đồng ý hoàn toàn", labels) == "Hoàn toàn không đồng ý"
    assert ingest.closest_label("Đồng ý", labels) == "Đồng ý"


def test_load_study_prints_the_cleaning_summary_from_the_log(raw, tmp_path, capsys, monkeypatch):
    from hlstudy import export, load_study

    monkeypatch.setattr(export, "_language", "en")   # the summary is worded in the label language
    write_csv(raw, tmp_path / "own")
    study = load_study(tmp_path / "own", cache=False)
    out = capsys.readouterr().out
    log = study.cleaning_log
    n = int(((log["instrument"] == "officials") & (log["rule"] == "out_of_range")).sum())
    assert n > 0 and f"out_of_range {n}" in out
    assert f"{len(raw)} read, {len(study.officials)} kept" in out


def test_change_summary_rejects_a_table_that_is_no_log():
    with pytest.raises(SurveyDataError, match="columns"):
        cleaning.change_summary(pd.DataFrame({"x": [1]}))


# --------------------------------------------------------------------------- 2. wordings


def test_built_in_agreement_aliases_read_as_codes(raw, baseline, variable_of, cb, tmp_path):
    frame = raw.copy()
    words = {"Hoàn toàn không đồng ý": "Rất không đồng ý", "Trung lập": "Phân vân", "Hoàn toàn đồng ý": "Rất đồng ý"}
    for h in likert_columns(raw, variable_of, cb):
        frame[h] = [words.get(unicodedata.normalize("NFC", str(c)), c) for c in frame[h]]
    mid = likert_columns(raw, variable_of, cb)
    frame.loc[frame[mid[0]].map(code_of).eq(3), mid[0]] = "Bình thường"
    frame.loc[frame[mid[1]].map(code_of).eq(3), mid[1]] = "Không ý kiến"
    same_data(read(frame, tmp_path), baseline)


def test_numbered_labels_read_as_their_number(raw, baseline, variable_of, cb, tmp_path):
    frame = raw.copy()
    columns = likert_columns(raw, variable_of, cb)
    for j, h in enumerate(columns):
        codes = frame[h].map(code_of)
        style = ("{n} - {label}", "{n}. {label}", "({n}) {label}")[j % 3]
        frame[h] = [style.format(n=c, label=LABELS[c]) if c in LABELS else cell for c, cell in zip(codes, frame[h], strict=True)]
    # an unknown wording behind a valid number is read as the number
    c0 = frame[columns[0]].map(lambda s: int(re.match(r"\(?(\d)", s).group(1)) if re.match(r"\(?\d", str(s)) else None)
    frame.loc[c0.eq(5), columns[0]] = "5 - Rất rất đồng ý"
    same_data(read(frame, tmp_path), baseline)


def test_a_number_contradicting_a_known_label_is_unreadable(raw, variable_of, cb, tmp_path):
    frame = raw.copy()
    h = likert_columns(raw, variable_of, cb)[0]
    frame.loc[0, h] = "2 - Hoàn toàn đồng ý"
    table = read(frame, tmp_path)
    (entry,) = table.data.loc[0, ingest.UNREADABLE]
    assert entry[0] == variable_of[h] and "contradicts the label" in entry[2]


# --------------------------------------------------------------------------- 2. Google Forms


def google_forms(raw: pd.DataFrame, variable_of: dict, cb: pd.DataFrame) -> pd.DataFrame:
    """Grid questions as 'Group title [item text]', an e-mail column after the timestamp."""
    constructs = pd.read_csv(Path(ingest.INSTRUMENT) / "constructs.csv", dtype=str)
    titles = dict(zip(constructs["construct"], constructs["label_vi"], strict=True))
    info = cb.set_index("variable")
    frame = raw.copy()
    renamed = {}
    for h in likert_columns(raw, variable_of, cb):
        v = variable_of[h]
        renamed[h] = f"{titles[info.at[v, 'construct']]} [{info.at[v, 'question_vi']}]"
    frame = frame.rename(columns=renamed)
    frame.insert(1, "Địa chỉ email", [f"nguoi{i:03d}@example.org" for i in range(len(frame))])
    return frame


def test_google_forms_csv_grid_headers_and_email(raw, baseline, variable_of, cb, tmp_path):
    frame = google_forms(raw, variable_of, cb)
    table = read(frame, tmp_path)
    same_data(table, baseline)
    assert (table.headers["how"] == "grid item").sum() == len(likert_columns(raw, variable_of, cb))
    assert "Địa chỉ email" in table.pii_dropped
    text = table.data.astype(str).to_csv()
    assert "@example.org" not in text


def test_google_forms_xlsx_grid_headers(raw, baseline, variable_of, cb, tmp_path):
    from openpyxl import Workbook

    frame = google_forms(raw, variable_of, cb)
    numeric = {h for h in frame.columns if variable_of.get(h) in {"birth_year", "years_in_post", "trainings_24m", "duration_s"}}
    wb = Workbook()
    ws = wb.active
    ws.title = "Câu trả lời biểu mẫu 1"  # Google Sheets' sheet name: the only sheet
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([int(v) if (h in numeric and str(v).isdigit()) else (v or None)
                   for h, v in zip(frame.columns, row, strict=True)])
    tmp_path.mkdir(exist_ok=True)
    wb.save(tmp_path / "officials.xlsx")
    table = ingest.read_instrument(tmp_path / "officials.xlsx", "officials")
    same_data(table, baseline)
    assert table.format == "xlsx" and "Địa chỉ email" in table.pii_dropped


def test_english_locale_timestamp_header_and_month_first_dates(raw, baseline, variable_of, tmp_path):
    frame = raw.copy()
    h = header_of(raw, variable_of, "submitted_at")
    stamps = pd.to_datetime(frame[h], format="%d/%m/%Y %H:%M:%S")
    assert (stamps.dt.day > 12).any()
    frame[h] = [f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}:{t.second:02d}" for t in stamps]
    frame = frame.rename(columns={h: "Timestamp"})
    table = read(frame, tmp_path)
    same_data(table, baseline)
    assert table.headers.set_index("variable").at["submitted_at", "how"] == "platform"


def test_ambiguous_day_month_is_an_error_listing_formats(raw, variable_of, tmp_path):
    frame = raw.copy()
    h = header_of(raw, variable_of, "submitted_at")
    frame[h] = [f"{1 + i % 12}/{1 + (i * 5) % 12}/2025 9:{i % 60:02d}:00" for i in range(len(frame))]
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    message = str(err.value)
    assert "ambiguous timestamps, e.g. '1/1/2025 9:00:00' in row 2" in message
    for accepted in ("ISO 8601", "DD/MM/YYYY HH:MM:SS", "Excel serial"):
        assert accepted in message


def test_a_column_mixing_day_first_and_month_first_is_an_error(raw, variable_of, tmp_path):
    frame = raw.copy()
    h = header_of(raw, variable_of, "submitted_at")
    frame.loc[0, h] = "25/3/2025 9:00:00"
    frame.loc[1, h] = "3/25/2025 9:00:00"
    with pytest.raises(SurveyDataError, match="mixes day-first dates"):
        read(frame, tmp_path)


@pytest.mark.parametrize("style", ["iso", "iso_offset", "excel_serial"])
def test_timestamps_in_platform_formats(raw, baseline, variable_of, tmp_path, style):
    frame = raw.copy()
    h = header_of(raw, variable_of, "submitted_at")
    stamps = pd.to_datetime(frame[h], format="%d/%m/%Y %H:%M:%S")
    if style == "iso":
        frame[h] = [t.strftime("%Y-%m-%dT%H:%M:%S") for t in stamps]
    elif style == "iso_offset":
        frame[h] = [t.strftime("%Y-%m-%dT%H:%M:%S.123+07:00") for t in stamps]
    else:
        days = (stamps - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
        frame[h] = [f"{d:.10f}" for d in days]
    same_data(read(frame, tmp_path), baseline)


# --------------------------------------------------------------------------- 2. KoboToolbox


def kobo(raw: pd.DataFrame, variable_of: dict, cb: pd.DataFrame) -> pd.DataFrame:
    """KoboToolbox CSV ('XML values and headers', groups kept): ``group/…`` headers, metadata.

    Likert items are named by their codes inside ``grp_<construct>/``, background questions
    keep their label inside ``grp_background/``; the platform's own timestamp and duration
    columns replace the survey's: ``start``/``end`` with a +07:00 offset, ``_submission_time``
    in UTC.
    """
    info = cb.set_index("variable")
    ts = header_of(raw, variable_of, "submitted_at")
    du = header_of(raw, variable_of, "duration_s")
    stamps = pd.to_datetime(raw[ts], format="%d/%m/%Y %H:%M:%S")
    seconds = pd.to_numeric(raw[du])
    frame = pd.DataFrame({
        "start": [(t - pd.Timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.000+07:00") for t, s in zip(stamps, seconds, strict=True)],
        "end": [t.strftime("%Y-%m-%dT%H:%M:%S.000+07:00") for t in stamps],
        "today": [t.strftime("%Y-%m-%d") for t in stamps],
        "deviceid": [f"collect:{i:016d}" for i in range(len(raw))],
    })
    for h in raw.columns:
        v = variable_of.get(h)
        if h in (ts, du) or v is None:
            continue
        if info.at[v, "type"] == "likert":
            frame[f"grp_{info.at[v, 'construct'].lower()}/{v}"] = raw[h].values
        else:
            frame[f"grp_background/{h}"] = raw[h].values
    frame["_id"] = range(1000, 1000 + len(raw))
    frame["_uuid"] = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(len(raw))]
    frame["_submission_time"] = [(t - pd.Timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S") for t in stamps]
    frame["_validation_status"] = ""
    frame["_status"] = "submitted_via_web"
    frame["__version__"] = "vGx8nB3TqR"
    frame["_index"] = range(1, len(raw) + 1)
    return frame


def test_kobotoolbox_csv_with_groups_and_metadata(raw, baseline, variable_of, cb, tmp_path):
    frame = kobo(raw, variable_of, cb)
    table = read(frame, tmp_path)
    kept = [c for c in baseline.data.columns if not c.startswith("_") and c not in ("submitted_at", "duration_s")]
    same_data(table, baseline, kept)
    # _submission_time (UTC) is the submission time; end − start is the duration
    expected_time = baseline.data["submitted_at"] - pd.Timedelta(hours=7)
    pd.testing.assert_series_equal(table.data["submitted_at"], expected_time, check_names=False)
    pd.testing.assert_series_equal(table.data["duration_s"], baseline.data["duration_s"], check_names=False)
    ignored = set(table.ignored["header"])
    assert {"start", "end", "today", "_id", "_uuid", "_status", "__version__", "_validation_status", "_index"} <= ignored
    assert "deviceid" in table.pii_dropped
    assert (table.headers["how"] == "group prefix").sum() == len(frame.columns) - 11


def test_kobotoolbox_semicolon_csv_is_read(raw, baseline, variable_of, cb, tmp_path):
    """KoboToolbox's CSV export separates fields by semicolons (and quotes every field)."""
    import csv

    frame = kobo(raw, variable_of, cb)
    tmp_path.mkdir(exist_ok=True)
    frame.to_csv(tmp_path / "officials.csv", sep=";", index=False, quoting=csv.QUOTE_ALL)
    table = ingest.read_instrument(tmp_path / "officials.csv", "officials")
    kept = [c for c in baseline.data.columns if not c.startswith("_") and c not in ("submitted_at", "duration_s")]
    same_data(table, baseline, kept)


# --------------------------------------------------------------------------- 2. SPSS


def spss(raw, variable_of, cb, path: Path) -> None:
    """SPSS as a researcher saves it: Q1…Qn with the headers as variable labels, Likert items
    numeric with value labels worded otherwise ("Rất đồng ý"; 4 deliberately mislabelled, the
    stored code must win), gender as TEXT '1'/'2' with value labels Nam/Nữ."""
    import pyreadstat

    out = pd.DataFrame()
    labels, value_labels = [], {}
    likert = set(likert_columns(raw, variable_of, cb))
    numeric = {"birth_year", "years_in_post", "trainings_24m", "duration_s"}
    for j, h in enumerate(raw.columns, start=1):
        name, v = f"Q{j}", variable_of.get(h)
        if h in likert:
            out[name] = [float(c) if c is not None else np.nan for c in raw[h].map(code_of)]
            value_labels[name] = {1.0: "Rất không đồng ý", 2.0: "Không đồng ý", 3.0: "Bình thường",
                                  4.0: "Hoàn toàn đồng ý", 5.0: "Rất đồng ý"}
        elif v in numeric:
            out[name] = pd.to_numeric(raw[h], errors="coerce").astype(float)
        elif v == "gender":
            out[name] = raw[h].map(lambda s: unicodedata.normalize("NFC", str(s))).map({"Nam": "1", "Nữ": "2"}).fillna("-99")
            value_labels[name] = {"1": "Nam", "2": "Nữ", "-99": "Không trả lời"}
        else:
            out[name] = raw[h].astype(str)
        labels.append(h)
    pyreadstat.write_sav(out, str(path), column_labels=labels, variable_value_labels=value_labels)


def test_spss_sav_labels_and_stored_codes(raw, baseline, variable_of, cb, tmp_path):
    out_of_set = [h for h in likert_columns(raw, variable_of, cb) if raw[h].map(code_of).isin([0, 6, 7, 44, 55]).any()]
    assert out_of_set  # the simulated data-entry slips are in the SPSS file too
    tmp_path.mkdir(exist_ok=True)
    spss(raw, variable_of, cb, tmp_path / "officials.sav")
    table = ingest.read_instrument(tmp_path / "officials.sav", "officials")
    same_data(table, baseline)
    assert (table.headers["how"] == "spss label").sum() == len(raw.columns)


#: The codebook's columns, for the small codebooks of the tests below
CODEBOOK_COLUMNS = ["instrument", "variable", "order", "construct", "type", "question_vi",
                    "value_set", "reverse", "min", "max", "required", "pii"]


def _codebook(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


def test_spss_text_variable_with_value_labels_matches_haven(tmp_path):
    """Issue 14 kind 5: '1'/'2' stored as text with labels Nam/Nữ (and '-99' = Không trả lời)."""
    reference = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
    codebook = _codebook([
        ["officials", "gender", "1", "", "category", "Giới tính", "gender", "0", "", "", "0", "0"],
        ["officials", "TRAIN1", "2", "TRAIN", "likert", "Tôi được cử đi đào tạo, bồi dưỡng đầy đủ", "agree5", "0", "", "", "0", "0"],
    ])
    _, value_labels = ingest.codebook_frames()
    table = ingest.read_instrument(FIXTURES / "text_labels.sav", "officials", codebook=codebook,
                                   value_labels=value_labels)
    names = dict(zip(value_labels.loc[value_labels["value_set"] == "gender", "code"],
                     value_labels.loc[value_labels["value_set"] == "gender", "label_vi"], strict=True))
    counts = table.data["gender"].map(names).value_counts().to_dict()
    expected = {k: v for k, v in reference["gender_counts"].items() if k in ("Nam", "Nữ")}
    assert counts == expected  # haven::as_factor: Nam 58, Nữ 53
    missing = reference["gender_na"] + reference["gender_labelled_missing"]
    assert int(table.data["gender"].isna().sum()) == missing
    assert ingest.UNREADABLE not in table.data  # nothing unreadable: labels keyed as text
    assert table.data["TRAIN1"].astype(int).tolist() == reference["likert_codes"]  # code wins


# --------------------------------------------------------------------------- 2. column mapping


def renamed_export(raw, variable_of):
    frame = raw.copy()
    h = header_of(raw, variable_of, "trainings_24m")
    frame = frame.rename(columns={h: "Số khóa học đã dự (24 tháng)"})
    frame["Ghi chú của điều tra viên"] = ""
    return frame


def test_unknown_columns_are_all_listed_with_the_mapping_line(raw, variable_of, tmp_path):
    frame = renamed_export(raw, variable_of)
    with pytest.raises(SurveyDataError) as err:
        read(frame, tmp_path)
    message = str(err.value)
    assert "2 unknown column(s), not in the officials codebook" in message
    assert "Số khóa học đã dự (24 tháng),trainings_24m" in message
    assert "Ghi chú của điều tra viên,ignore" in message


def test_columns_csv_in_the_export_folder_maps_and_ignores(raw, baseline, variable_of, tmp_path):
    from hlstudy.study import build_study

    folder = tmp_path / "own"
    write_csv(renamed_export(raw, variable_of), folder)
    (folder / "columns.csv").write_text(
        "header,variable\nSố khóa học đã dự (24 tháng),trainings_24m\nGhi chú của điều tra viên,ignore\n",
        encoding="utf-8")
    tables = ingest.read_folder(folder)
    same_data(tables["officials"], baseline)
    assert tables["officials"].headers.set_index("variable").at["trainings_24m", "how"] == "mapping"
    assert list(tables["officials"].ignored["why"]) == ["column mapping: ignore"]
    assert "columns.csv" in ingest.raw_digests(folder)  # a changed mapping rebuilds the cached study
    assert len(build_study(folder).officials) > 0


def test_columns_table_in_hlstudy_toml(raw, baseline, variable_of, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hlstudy.toml").write_text(
        '[columns]\n"Số khóa học đã dự (24 tháng)" = "trainings_24m"\n"Ghi chú của điều tra viên" = "ignore"\n',
        encoding="utf-8")
    monkeypatch.setattr(config, "ROOT", root)
    assert config.column_settings() == {"Số khóa học đã dự (24 tháng)": "trainings_24m",
                                        "Ghi chú của điều tra viên": "ignore"}
    folder = tmp_path / "own"
    write_csv(renamed_export(raw, variable_of), folder)
    same_data(ingest.read_folder(folder)["officials"], baseline)
    assert "[columns]" in ingest.raw_digests(folder)


@pytest.mark.parametrize(("mapping", "pattern"), [
    ("header,variable\nSố khóa học đã dự (24 tháng),trainings_24\n", r"not a codebook variable \(closest: trainings_24m"),
    ("header,variable\nSố khóa học đã dự (24 tháng),\n", "every line needs a header and a variable"),
    ("tiêu đề,biến\nx,y\n", "must have the columns header,variable"),
])
def test_bad_column_mappings_are_errors(raw, variable_of, tmp_path, mapping, pattern):
    folder = tmp_path / "own"
    write_csv(renamed_export(raw, variable_of), folder)
    (folder / "columns.csv").write_text(mapping, encoding="utf-8")
    with pytest.raises(SurveyDataError, match=pattern):
        ingest.read_folder(folder)


def test_toml_and_columns_csv_must_agree(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hlstudy.toml").write_text('[columns]\n"A" = "trainings_24m"\n', encoding="utf-8")
    (tmp_path / "columns.csv").write_text("header,variable\nA,ignore\n", encoding="utf-8")
    with pytest.raises(SurveyDataError, match="mapped to 'ignore' here but to 'trainings_24m'"):
        ingest.column_mapping(tmp_path, root=root)
    (root / "hlstudy.toml").write_text('[columns]\n"A" = 3\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"\[columns\]"):
        ingest.column_mapping(tmp_path, root=root)


@pytest.mark.parametrize("module", ["hlstudy._text", "hlstudy.ingest.fit", "hlstudy.ingest.values",
                                    "hlstudy.ingest.instrument", "hlstudy.ingest.headers", "hlstudy.config"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_spss_code_labelled_dont_know_is_nonresponse(tmp_path):
    """An SPSS code labelled "Không biết" (9, outside the value set) is a "don't know" answer,
    logged by ``dont_know``, not a Likert code 9 for ``out_of_range``; a code of the value set
    keeps its value whatever its label says (the stored code wins)."""
    import pyreadstat

    codebook = _codebook([
        ["officials", "TRAIN1", "1", "TRAIN", "likert", "Tôi được cử đi đào tạo, bồi dưỡng đầy đủ", "agree5", "0", "", "", "0", "0"],
        ["officials", "TRAIN2", "2", "TRAIN", "likert", "Nội dung bồi dưỡng sát thực tế", "agree5", "0", "", "", "0", "0"],
    ])
    _, value_labels = ingest.codebook_frames()
    out = pd.DataFrame({"TRAIN1": [1.0, 4.0, 9.0, 9.0, 5.0, 3.0], "TRAIN2": [2.0, 2.0, 3.0, 9.0, 1.0, 4.0]})
    labels = {"TRAIN1": {1.0: "Hoàn toàn không đồng ý", 9.0: "Không biết"},
              "TRAIN2": {3.0: "Không biết"}}   # a mislabelled code of the value set
    pyreadstat.write_sav(out, str(tmp_path / "officials.sav"), variable_value_labels=labels)
    table = ingest.read_instrument(tmp_path / "officials.sav", "officials", codebook=codebook,
                                   value_labels=value_labels)
    assert table.data["TRAIN1"].tolist()[:2] == [1.0, 4.0] and table.data["TRAIN1"].iloc[2:4].isna().all()
    assert table.data["TRAIN2"].tolist()[2] == 3.0 and table.data["TRAIN2"].tolist()[3] == 9.0
    noted = [(v, raw_) for entry in table.data[ingest.DONT_KNOW].dropna() for v, raw_, _ in entry]
    assert noted == [("TRAIN1", "9 = Không biết"), ("TRAIN1", "9 = Không biết")]
