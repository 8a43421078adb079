"""Privacy: no value of a personal-data column survives anywhere downstream of ingest."""

from __future__ import annotations

import pickle

import matplotlib
import pandas as pd
import pytest
import rawfactory as rf

import hlstudy

matplotlib.use("Agg")


@pytest.fixture
def study_and_pii(monkeypatch, tmp_path):
    rf.install_reference(monkeypatch, tmp_path)
    folder = rf.make_folder(tmp_path / "raw", "csv", n=10, manifest={"simulated": True})
    pii_values = set()
    for instrument in ("officials", "citizens", "personnel"):
        rows = rf.make_rows(instrument, n=10, seed=("officials", "citizens", "personnel").index(instrument) + 1)
        for r in rf.spec_rows(instrument):
            if r[11] == 1:
                pii_values |= {str(v) for v in rows[r[1]]}
    # also damage some records so that the log has drops and changes to inspect
    off = pd.read_csv(folder / "officials.csv", dtype=str)
    off = pd.concat([off, off.iloc[[0]]], ignore_index=True)  # a duplicate submission
    off.iloc[1, off.columns.get_loc("Năm sinh")] = "1800"  # out of range
    off.to_csv(folder / "officials.csv", index=False)
    cache = tmp_path / "cache"
    study = hlstudy.load_study(folder, cache_dir=cache)
    return study, pii_values, cache, tmp_path


def _strings(frame: pd.DataFrame) -> set[str]:
    out = set(map(str, frame.columns))
    for column in frame.columns:
        out |= {str(v) for v in frame[column].dropna().tolist()}
    return out


def test_fixture_really_contains_personal_data(study_and_pii):
    study, pii, _, tmp_path = study_and_pii
    raw = (tmp_path / "raw" / "officials.csv").read_text(encoding="utf-8")
    assert "Nguyễn Văn An" in pii and "Nguyễn Văn An" in raw
    assert len(pii) >= 20
    assert len(study.cleaning_log) >= 2  # the log has rows we inspect below


def test_no_pii_value_in_any_study_table(study_and_pii):
    study, pii, _, _ = study_and_pii
    frames = [study.officials, study.citizens, study.personnel, study.cleaning_log, study.flow,
              study.missing, study.communes, study.files, study.headers]
    seen = set().union(*(_strings(f) for f in frames))
    leaked = {v for v in pii if any(v in s for s in seen)}
    assert leaked == set()
    for name in ("full_name", "phone", "comment", "name", "_pii_key"):
        assert name not in study.officials.columns and name not in study.citizens.columns
    assert "Nguyễn" not in repr(study)


def test_no_pii_in_processed_files_or_cache(study_and_pii):
    study, pii, cache, tmp_path = study_and_pii
    out = tmp_path / "processed"
    study.write_processed(out)
    blobs = [p.read_bytes() for p in out.glob("*.csv")] + [p.read_bytes() for p in cache.rglob("*.pkl")]
    assert len(blobs) >= 7
    for blob in blobs:
        for value in pii:
            assert value.encode("utf-8") not in blob
            assert pickle.dumps(value)[2:-1] not in blob or len(value) < 4


def test_no_pii_in_notebook_style_exports(study_and_pii, monkeypatch):
    import matplotlib.pyplot as plt

    from hlstudy import export

    study, pii, _, tmp_path = study_and_pii
    figures = tmp_path / "figures"
    counts = study.officials.groupby("commune").size().rename("n").reset_index()
    export.save_table(counts, "02_privacy_check", title="Check", simulated=True, directory=figures)
    fig, ax = plt.subplots()
    ax.bar(counts["commune"], counts["n"])
    export.save_figure(fig, "02_privacy_check", simulated=True, directory=figures, formats=("svg",))
    plt.close(fig)
    text = "".join(p.read_bytes().decode("utf-8", "ignore") for p in figures.glob("*.csv"))
    assert text and not any(v in text for v in pii)


def test_record_id_does_not_encode_personal_data(study_and_pii):
    study, pii, _, _ = study_and_pii
    ids = pd.concat([study.officials["record_id"], study.citizens["record_id"], study.personnel["record_id"]])
    assert ids.is_unique
    assert ids.str.fullmatch(r"[OCP]-[0-9a-f]{10}").all()


def test_no_pii_of_the_demonstration_data_in_committed_outputs():
    """Names, phone numbers and comments of data/raw appear in no processed or exported file."""
    from hlstudy import ingest
    from hlstudy.paths import NOTEBOOKS, RAW, ROOT

    if not (RAW / "officials.csv").is_file():
        pytest.skip("data/raw not generated yet")
    values = set()
    for name in ("officials", "citizens", "personnel"):
        table = ingest.read_raw(next(RAW.glob(f"{name}.*")), name)
        spec = ingest.instrument_spec(name)
        mapping = ingest.map_headers(table, spec)
        for variable, index in mapping.columns.items():
            if spec.by_name[variable].pii:
                values |= {ingest.clean_text(r[index]) for r in table.rows if isinstance(r[index], str) and len(r[index].strip()) > 4}
    assert len(values) > 500  # names, phones and comments really are in the raw exports
    study = hlstudy.load_study(RAW, cache=False)
    texts = [f.to_csv(index=False) for f in (study.officials, study.citizens, study.personnel, study.cleaning_log)]
    outputs = sorted((ROOT / "figures").glob("02_*.csv")) + sorted((ROOT / "figures").glob("02_*.tex"))
    outputs += [NOTEBOOKS / "02_survey_cleaning.ipynb"]
    texts += [p.read_text(encoding="utf-8") for p in outputs if p.is_file()]
    corpus = "\n".join(texts)
    leaked = sorted(v for v in values if v in corpus)
    assert leaked == []
