"""load_study: data-source precedence, caching without staleness, accounting, formats."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import pytest
import rawfactory as rf

import hlstudy
from hlstudy import cleaning, config, ingest
from hlstudy import study as study_mod
from hlstudy.errors import SurveyDataError
from hlstudy.paths import ROOT


@pytest.fixture
def reference(monkeypatch, tmp_path):
    return rf.install_reference(monkeypatch, tmp_path)


def test_public_api():
    assert hlstudy.load_study is study_mod.load_study
    assert issubclass(hlstudy.SurveyDataError, ValueError)
    assert hlstudy.Study is study_mod.Study


def test_data_source_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("HLSTUDY_DATA", raising=False)
    assert config.data_source(root=tmp_path).origin == "default"
    (tmp_path / "hlstudy.toml").write_text('[data]\nsource = "exports/2024"\n', encoding="utf-8")
    resolved = config.data_source(root=tmp_path)
    assert (resolved.origin, resolved.path) == ("config file", tmp_path / "exports" / "2024")
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "env"))
    assert config.data_source(root=tmp_path).path == tmp_path / "env"
    assert config.data_source(tmp_path / "arg", root=tmp_path).origin == "argument"
    fake = rf.FakeSimulation()
    assert config.data_source(fake, root=tmp_path).study is fake


def test_bad_config_and_source(monkeypatch, tmp_path):
    monkeypatch.delenv("HLSTUDY_DATA", raising=False)
    (tmp_path / "hlstudy.toml").write_text("[data\nsource=", encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"hlstudy\.toml: is not valid TOML"):
        config.data_source(root=tmp_path)
    (tmp_path / "hlstudy.toml").write_text("[data]\nsource = 3\n", encoding="utf-8")
    with pytest.raises(SurveyDataError, match="non-empty string"):
        config.data_source(root=tmp_path)
    with pytest.raises(SurveyDataError, match="must be a folder or a simulated study"):
        config.data_source(42)


def test_load_study_accounts_for_every_record(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=16, manifest={"simulated": True, "seed": 3})
    off = pd.read_csv(folder / "officials.csv", dtype=str)
    off = pd.concat([off, off.iloc[[2, 3]]], ignore_index=True)  # two duplicate submissions
    off.to_csv(folder / "officials.csv", index=False)
    study = hlstudy.load_study(folder, cache=False)
    assert study.simulated is True
    assert study.received == {"officials": 18, "citizens": 16, "personnel": 16}
    for name in ("officials", "citizens", "personnel"):
        assert study.received[name] == study.kept[name] + study.dropped[name]
    assert study.dropped["officials"] == 2
    flow = study.flow[study.flow["instrument"] == "officials"]
    assert flow["n_before"].iloc[0] == 18 and flow["n_after"].iloc[-1] == len(study.officials)
    assert {"record_id", "commune_code", "commune", "commune_2025"} <= set(study.personnel.columns)
    assert "read    18  kept    16" in study.summary().replace("  read", "read")


def test_manifestless_folder_is_real_data(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=6)
    assert hlstudy.load_study(folder, cache=False).simulated is False


def test_simulated_object_as_source(reference, tmp_path):
    study = hlstudy.load_study(rf.FakeSimulation(n=8), cache_dir=tmp_path / "c")
    assert study.simulated and study.received["citizens"] == 8
    assert "simulated study" in study.source


def test_environment_variable_is_used(reference, tmp_path, monkeypatch):
    folder = rf.make_folder(tmp_path / "envdata", "csv", n=5)
    monkeypatch.setenv("HLSTUDY_DATA", str(folder))
    study = hlstudy.load_study(cache=False)
    assert study.received["officials"] == 5 and "environment" in study.source


def test_csv_xlsx_sav_give_identical_studies(reference, tmp_path):
    # one CSV study compared with both other formats (it was read once for each)
    a = hlstudy.load_study(rf.make_folder(tmp_path / "csv", "csv", n=14), cache=False)
    for fmt in ("xlsx", "sav"):
        b = hlstudy.load_study(rf.make_folder(tmp_path / fmt, fmt, n=14), cache=False)
        for name in ("officials", "citizens", "personnel"):
            pd.testing.assert_frame_equal(a.table(name), b.table(name), obj=f"{fmt} {name}")
        pd.testing.assert_frame_equal(a.cleaning_log, b.cleaning_log, obj=f"{fmt} cleaning_log")


def test_cache_is_used_and_never_stale(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=10)
    cache = tmp_path / "cache"
    first = hlstudy.load_study(folder, cache_dir=cache)
    files = list(cache.glob("study-*.pkl"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = hlstudy.load_study(folder, cache_dir=cache)
    assert files[0].stat().st_mtime_ns == stamp  # served from cache
    pd.testing.assert_frame_equal(first.officials, second.officials)
    # change one raw answer: a new key, a rebuilt study
    off = pd.read_csv(folder / "officials.csv", dtype=str)
    off.iloc[0, off.columns.get_loc("Năm sinh")] = "1800"
    off.to_csv(folder / "officials.csv", index=False)
    third = hlstudy.load_study(folder, cache_dir=cache)
    assert len(list(cache.glob("study-*.pkl"))) == 2
    assert (third.cleaning_log["rule"] == "out_of_range").sum() == 1
    # different thresholds: a different key as well
    relaxed = cleaning.Rules(max_missing_share=0.2)
    assert study_mod.cache_key(folder, relaxed) != study_mod.cache_key(folder, cleaning.Rules())


def test_corrupt_cache_is_rebuilt(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=6)
    cache = tmp_path / "cache"
    hlstudy.load_study(folder, cache_dir=cache)
    path = next(cache.glob("study-*.pkl"))
    path.write_bytes(b"garbage")
    study = hlstudy.load_study(folder, cache_dir=cache)
    assert study.received["officials"] == 6
    assert path.read_bytes() != b"garbage"


def test_write_processed(reference, tmp_path):
    study = hlstudy.load_study(rf.make_folder(tmp_path / "raw", "csv", n=6), cache=False)
    paths = study.write_processed(tmp_path / "processed")
    assert set(paths) == {"officials", "citizens", "personnel", "cleaning_log", "flow", "missing"}
    back = pd.read_csv(paths["officials"], dtype={"commune_code": str})
    assert len(back) == len(study.officials) and back["commune_code"].str.len().eq(5).all()


def test_load_is_fast_on_small_data(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=60)
    start = time.perf_counter()
    hlstudy.load_study(folder, cache=False)
    assert time.perf_counter() - start < 3


def test_coverage_and_figures(reference, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = rf.make_folder(tmp_path / "raw", "csv", n=8)
    per = pd.read_csv(folder / "personnel.csv", dtype=str)
    per = pd.concat([per, per.iloc[[0]].assign(**{"Họ tên cán bộ": "Người Mới"})], ignore_index=True)
    per.to_csv(folder / "personnel.csv", index=False)
    study = hlstudy.load_study(folder, cache=False)
    cov = study_mod.coverage_by_commune(study)
    from hlstudy.communes import collation_key
    names = list(cov["commune"])
    assert names == sorted(names, key=collation_key)  # Vietnamese order (Đ after D), as printed
    # on the district's 23 units the folded order (Đồng Tân among the D-names) differs
    registry = pd.read_csv(ROOT / "data" / "reference" / "communes.csv", dtype=str,
                           keep_default_na=False)
    real = list(study_mod.coverage_by_commune(study, registry)["commune"])
    assert len(real) == 23 and real == sorted(real, key=collation_key)
    assert real != sorted(real, key=ingest.sort_key)
    cov = cov.set_index("commune")
    assert len(cov) == len(rf.REGISTRY)
    first = study.personnel["commune"].iloc[0]
    assert cov.at[first, "register"] == 3  # 2 rows + one more record for the same commune
    assert cov.at[first, "coverage"] == pytest.approx(cov.at[first, "officials"] / 3)
    fig = cleaning.flow_figure(study.flow)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("n = 9" in t for t in texts) and any("n = 8" in t for t in texts)
    plt.close(fig)
    fig = cleaning.missing_heatmap(study.missing, "officials")
    assert len(fig.axes[0].get_yticklabels()) == study.missing.query("instrument == 'officials'")["variable"].nunique()
    plt.close(fig)


def test_missing_heatmap_panels(reference, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    study = hlstudy.load_study(rf.make_folder(tmp_path / "raw", "csv", n=8), cache=False)
    fig = cleaning.missing_heatmap(study.missing, {"officials": ["TRAIN1", "PRO2"], "citizens": None})
    heat = [ax for ax in fig.axes if ax.get_title()]
    assert [len(ax.get_yticklabels()) for ax in heat] == [2, 8]  # None: 6 items + age + visit date
    plt.close(fig)


def test_records_by_commune_is_the_groupby_table():
    """``Study.received_by_commune``'s counting pass gives the groupby's table: the pairs in
    sorted order with a missing code or name after every text, the dtypes, the index (other
    dtypes and empty tables take the groupby itself)."""
    import random

    rng = random.Random(5)
    codes = ["06217", "06256", "A", "a", "Á", "", None, "06217 "]
    names = ["Hữu Lũng", "Hữu Liên", "", "Yên Bình", "yên bình", None]
    sizes = [0, 1, 2, 5, 9, 14, 20, 25, 25, 25, 25, 25]
    counted = 0
    for trial, n in enumerate(sizes):
        for dtype in ("string", "str", object) if trial < 2 else ("string",):
            data = pd.DataFrame({
                "commune_code": pd.array([rng.choice(codes) for _ in range(n)], dtype=dtype),
                "commune": pd.array([rng.choice(names) for _ in range(n)], dtype=dtype),
                "other": range(n),
            })
            expected = data.groupby(["commune_code", "commune"], dropna=False).size().rename("n").reset_index()
            got = study_mod._records_by_commune(data)
            pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=f"{trial} {dtype}")
            assert type(got.index) is type(expected.index)
            counted += bool(data["commune_code"].isna().any() and data["commune"].isna().any())
    assert counted >= 6  # missing codes and names met several times


def test_reproduce_prints_the_sheet_it_chose(reference, tmp_path, monkeypatch, capsys):
    """The sheet read when none is named after the instrument is shown by ``reproduce``'s
    study load before the kernels (``runner.warm_study_cache``), which swallows what
    ``load_study`` prints (seen: a Google Sheets workbook read unseen)."""
    import io

    from openpyxl import load_workbook

    from hlstudy import runner

    folder = rf.make_folder(tmp_path / "sheets", "xlsx", n=6)
    book = load_workbook(folder / "officials.xlsx")
    book.active.title = "Câu trả lời biểu mẫu 1"
    book.create_sheet("Sheet2")
    book.save(folder / "officials.xlsx")
    monkeypatch.setenv("HLSTUDY_DATA", str(folder))
    monkeypatch.setattr(study_mod, "PROCESSED", tmp_path / "processed")
    out = io.StringIO()
    runner.warm_study_cache(out)
    shown = out.getvalue()
    assert "officials.xlsx: read sheet 'Câu trả lời biểu mẫu 1', the only sheet with data" in shown
    assert "citizens" not in shown  # only the sheets chosen without their name saying so
    assert "Câu trả lời biểu mẫu 1" not in capsys.readouterr().out  # printed to ``out`` only
    study = hlstudy.load_study()  # load_study prints the same line
    assert study_mod.sheet_notes(study) == [shown.strip()]


def _without_submission_times(folder):
    off = pd.read_csv(folder / "officials.csv", dtype=str, keep_default_na=False)
    off.drop(columns=["Thời gian nộp"]).to_csv(folder / "officials.csv", index=False)
    return folder


def test_reference_year_from_the_setting_else_the_submissions_else_a_clear_error(reference, tmp_path, monkeypatch):
    """An export typed in Excel or saved from SPSS has no submission time: notebook 04 stopped
    on ``int(pd.to_datetime(officials["submitted_at"])...)`` with "cannot convert float NaN to
    integer" and no fix."""
    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR", raising=False)
    folder = rf.make_folder(tmp_path / "raw", "csv", n=6)
    study = hlstudy.load_study(folder, cache=False)
    assert study_mod.reference_year(study, root=tmp_path) == 2024 == study.officials["submitted_at"].dt.year.max()
    (tmp_path / "hlstudy.toml").write_text("[study]\nreference_year = 2023\n", encoding="utf-8")
    assert study_mod.reference_year(study, root=tmp_path) == 2023     # the setting wins
    monkeypatch.setenv("HLSTUDY_REFERENCE_YEAR", "2022")
    assert study_mod.reference_year(study, root=tmp_path) == 2022     # the environment first
    monkeypatch.setenv("HLSTUDY_REFERENCE_YEAR", "20255")
    with pytest.raises(SurveyDataError, match=r"HLSTUDY_REFERENCE_YEAR='20255': the reference year must be"):
        study_mod.reference_year(study, root=tmp_path)
    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR")
    (tmp_path / "hlstudy.toml").write_text('[study]\nreference_year = "năm nay"\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"hlstudy\.toml: \[study\] reference_year = 'năm nay'"):
        study_mod.reference_year(study, root=tmp_path)
    (tmp_path / "hlstudy.toml").unlink()
    # what ingest gives for an export without the column (tested below), or with it blank
    typed = dataclasses.replace(study, officials=study.officials.assign(submitted_at=pd.NaT))
    with pytest.raises(SurveyDataError) as err:
        study_mod.reference_year(typed, root=tmp_path)
    message = str(err.value)
    assert "reference year is unknown" in message and "'submitted_at'" in message
    assert "HLSTUDY_REFERENCE_YEAR=2025" in message and "reference_year = 2025" in message
    monkeypatch.setenv("HLSTUDY_REFERENCE_YEAR", "2025")
    assert study_mod.reference_year(typed, root=tmp_path) == 2025


def test_reproduce_checks_the_reference_year_before_any_kernel(reference, tmp_path, monkeypatch):
    import io

    from hlstudy import runner

    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR", raising=False)
    monkeypatch.setattr(config, "ROOT", tmp_path)   # no hlstudy.toml of the checkout
    folder = _without_submission_times(rf.make_folder(tmp_path / "raw", "csv", n=6))
    monkeypatch.setenv("HLSTUDY_DATA", str(folder))
    monkeypatch.setattr(study_mod, "PROCESSED", tmp_path / "processed")
    runner.warm_study_cache(io.StringIO())   # no notebook needing the year: no check
    with pytest.raises(SurveyDataError, match="reference year is unknown"):
        runner.warm_study_cache(io.StringIO(), reference_year=True)
    asking, other = tmp_path / "04_x.py", tmp_path / "02_x.py"
    asking.write_text("REFERENCE_YEAR = reference_year(study)\n", encoding="utf-8")
    other.write_text("study = load_study()\n", encoding="utf-8")
    assert runner.needs_reference_year([other, asking]) and not runner.needs_reference_year([other])
    assert runner.needs_reference_year(runner.sources())   # notebook 04 asks for it


def test_one_reference_year_rule_for_cleaning_and_the_notebooks(reference, tmp_path, monkeypatch):
    """Cleaning and ``reference_year`` (notebook 04, the ledger) take the year by one rule:
    ``Rules.survey_year``, else the setting, else the officials' submission times.  The
    register was cleaned in a year of its own (its latest start year, here none: ages never
    checked), and ``reference_year`` ignored an explicit ``Rules.survey_year``."""
    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR", raising=False)
    monkeypatch.setattr(config, "ROOT", tmp_path)
    folder = rf.make_folder(tmp_path / "raw", "csv", n=6)
    pers = pd.read_csv(folder / "personnel.csv", dtype=str, keep_default_na=False)
    pers.loc[1, "Năm sinh cán bộ"] = "2004"   # "Đại học": a degree at 20 in 2024
    pers.to_csv(folder / "personnel.csv", index=False)
    study = hlstudy.load_study(folder, cache=False)
    assert study_mod.reference_year(study) == 2024      # the officials' submission times
    log = study.cleaning_log.query("instrument == 'personnel' and rule == 'inconsistent'")
    assert log["reason"].str.contains("degree at age 20").any(), log   # counted in 2024
    assert not study.flow.query("instrument == 'personnel' and rule == 'inconsistent'")[
        "unchecked"].astype(bool).any()
    # an explicit year wins everywhere, over the setting too
    monkeypatch.setenv("HLSTUDY_REFERENCE_YEAR", "2023")
    explicit = hlstudy.load_study(folder, rules=cleaning.Rules(survey_year=2030), cache=False)
    assert study_mod.reference_year(explicit) == 2030
    log = explicit.cleaning_log.query("instrument == 'personnel' and rule == 'inconsistent'")
    assert not log["reason"].str.contains("degree at age").any()   # 26 in 2030
    # the register's own years are never the survey's: no officials' times, no setting, no year
    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR")
    assert cleaning.reference_year(cleaning.Rules(), None) is None
    registers = pd.DataFrame({"start_year": [2019, 2021], "birth_year": [1990, 2000]})
    assert cleaning._survey_year(registers, ingest.instrument_spec("personnel"), cleaning.Rules()) is None


def test_an_export_without_the_register_needs_no_reference_year(reference, tmp_path, monkeypatch):
    """Every use of the year is the register's: an officials-only export without submission
    times used to stop the whole reproduce before any notebook."""
    import io

    from hlstudy import runner

    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR", raising=False)
    monkeypatch.setattr(config, "ROOT", tmp_path)
    folder = _without_submission_times(rf.make_folder(tmp_path / "raw", "csv", n=6))
    (folder / "personnel.csv").unlink()
    monkeypatch.setenv("HLSTUDY_DATA", str(folder))
    monkeypatch.setattr(study_mod, "PROCESSED", tmp_path / "processed")
    runner.warm_study_cache(io.StringIO(), reference_year=True)   # no register: no check
