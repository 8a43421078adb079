"""A researcher's own study: own-data runs, partial studies, own instrument, thesis-sized data.

Issue 12, sections 3 and 4.  Inputs are built by the simulator (no real people).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy import config, paths, runner
from hlstudy.errors import ModelError, SurveyDataError

FIXTURES = Path(__file__).parent / "fixtures" / "ownstudy"


# --------------------------------------------------------------------------- own-data runs


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No data source, no output override, and no hlstudy.toml (config read from tmp)."""
    monkeypatch.delenv("HLSTUDY_DATA", raising=False)
    monkeypatch.delenv("HLSTUDY_FIGURES", raising=False)
    monkeypatch.delenv("HLSTUDY_INSTRUMENT", raising=False)
    cfg_root = tmp_path / "cfgroot"
    cfg_root.mkdir()
    monkeypatch.setattr(config, "ROOT", cfg_root)
    return cfg_root


def test_clean_tables_of_own_data_go_to_the_output_folder(clean_env, monkeypatch, tmp_path):
    """Notebook 02's ``write_processed()`` never replaces the demonstration's tables."""
    from hlstudy.study import load_study

    assert paths.processed_dir() == paths.PROCESSED          # the committed data
    study = load_study()                                      # any study: only where it goes
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "exports"))
    out = tmp_path / "out"
    monkeypatch.setenv("HLSTUDY_FIGURES", str(out))
    assert paths.processed_dir() == out.resolve() / "processed"
    before = {p.name: p.stat().st_mtime_ns for p in paths.PROCESSED.glob("*.csv")}
    written = study.write_processed()
    assert {p.parent for p in written.values()} == {out.resolve() / "processed"}
    assert {p.name: p.stat().st_mtime_ns for p in paths.PROCESSED.glob("*.csv")} == before


def test_committed_run_writes_committed_folders(clean_env):
    plan = runner.output_plan()
    assert plan.committed and not plan.own_data
    assert plan.figures == paths.FIGURES and plan.notebooks == paths.NOTEBOOKS
    assert plan.readme == paths.ROOT / "README.md"
    assert paths.output_dir() == paths.FIGURES


def test_own_data_goes_to_build(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "exports"))
    assert paths.own_data()
    plan = runner.output_plan()
    assert not plan.committed and plan.own_data and plan.readme is None
    assert plan.figures == paths.OWN_OUTPUT
    assert plan.notebooks == paths.OWN_OUTPUT / "notebooks"
    assert "build/own-data/" in plan.describe()


def test_own_data_from_toml(clean_env, tmp_path):
    (clean_env / "hlstudy.toml").write_text('[data]\nsource = "my/exports"\n', encoding="utf-8")
    assert config.data_source().origin == "config file"
    assert paths.own_data()
    assert runner.output_plan().figures == paths.OWN_OUTPUT


def test_data_raw_named_explicitly_is_committed_data(clean_env, monkeypatch):
    monkeypatch.setenv("HLSTUDY_DATA", str(paths.RAW))
    assert not paths.own_data()
    assert runner.output_plan().committed


def test_own_data_with_output_folder(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "exports"))
    monkeypatch.setenv("HLSTUDY_FIGURES", str(tmp_path / "out"))
    plan = runner.output_plan()
    assert plan.figures == (tmp_path / "out").resolve()
    assert plan.notebooks == (tmp_path / "out" / "notebooks").resolve()


@pytest.mark.parametrize("inside", ["figures", "notebooks", "."])
def test_own_data_refuses_committed_output(clean_env, monkeypatch, tmp_path, inside):
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "exports"))
    monkeypatch.setenv("HLSTUDY_FIGURES", str(paths.ROOT / inside))
    with pytest.raises(runner.NotebookError, match="overwrite committed files"):
        runner.output_plan()


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.xdist_group("notebooks")   # it starts a kernel: on the worker whose fork server runs
def test_reproduce_on_own_data_touches_no_committed_file(clean_env, monkeypatch, tmp_path):
    """A real kernel run of a small notebook: outputs land in the output folder only."""
    script = tmp_path / "nbs" / "01_tiny.py"
    script.parent.mkdir()
    script.write_text(
        "# %%\nimport pandas as pd\nfrom hlstudy import export, paths\n"
        "print(paths.own_data(), paths.figures_dir().name)\n"
        "export.save_table(pd.DataFrame({'a': [10, 20]}), '01_tiny', title='t', simulated=False)\n",
        encoding="utf-8")
    monkeypatch.setattr(runner, "sources", lambda *a, **k: [script])
    monkeypatch.setattr(runner, "NOTEBOOKS", script.parent)   # as if it were a compendium notebook
    monkeypatch.setattr(runner, "TIMES_FILE", tmp_path / "notebook-seconds.json")
    # an own export folder that fits the instrument (one that does not stops the run before
    # any notebook: test_an_export_that_does_not_fit_stops_the_run_before_any_notebook)
    import shutil

    (tmp_path / "exports").mkdir()
    for name in ("officials.csv", "citizens.csv", "personnel.csv"):
        shutil.copy(paths.RAW / name, tmp_path / "exports" / name)
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path / "exports"))
    out = tmp_path / "out"
    monkeypatch.setenv("HLSTUDY_FIGURES", str(out))
    committed = {name: _digests(paths.ROOT / name) for name in ("figures", "notebooks")}
    readme = (paths.ROOT / "README.md").read_bytes()
    import io

    log = io.StringIO()
    runs = runner.reproduce(out=log)
    assert [r.notebook for r in runs] == [out.resolve() / "notebooks" / "01_tiny.ipynb"]
    assert (out / "01_tiny.csv").is_file() and (out / "01_tiny.docx").is_file()
    index = pd.read_csv(out / "index.csv")
    assert list(index["file"]) == ["01_tiny"] and list(index["notebook"]) == ["01_tiny"]
    nb = json.loads((out / "notebooks" / "01_tiny.ipynb").read_text(encoding="utf-8"))
    assert "True out" in "".join(nb["cells"][0]["outputs"][0]["text"])
    assert "own data" in log.getvalue() and str(out.resolve()) in log.getvalue()
    assert not script.with_suffix(".ipynb").exists()
    assert {name: _digests(paths.ROOT / name) for name in ("figures", "notebooks")} == committed
    assert (paths.ROOT / "README.md").read_bytes() == readme
    # own data take other times: the demonstration's recorded order is left as it was
    assert not (tmp_path / "notebook-seconds.json").exists()


def test_hlstudy_toml_is_git_ignored():
    lines = (paths.ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "hlstudy.toml" in lines and "build/" in lines


# --------------------------------------------------------------------------- HTMT with zeros

HTMT_MODELS = {"AB": {"A": ["a1", "a2"], "B": ["b1", "b2"]},
               "ABC": {"A": ["a1", "a2"], "B": ["b1", "b2"], "C": ["c1", "c2"]}}


def _semtools_htmt():
    ref = pd.read_csv(FIXTURES / "htmt_semtools.csv", dtype={"value": str})
    ref["value"] = ref["value"].astype(float)  # "Inf" / "NaN" read as R wrote them
    return ref


@pytest.mark.parametrize("model", sorted(HTMT_MODELS))
@pytest.mark.parametrize("geometric", [True, False])
def test_htmt_zero_correlations_match_semtools(model, geometric):
    from hlstudy.cfa import htmt

    data = pd.read_csv(FIXTURES / "htmt_data.csv")
    out = htmt(data, HTMT_MODELS[model], geometric=geometric)
    ref = _semtools_htmt().query("model == @model and htmt2 == @geometric")
    assert len(ref) == out.size
    for row in ref.itertuples(index=False):
        got = out.loc[row.lhs, row.rhs]
        if np.isnan(row.value):
            assert np.isnan(got), (row.lhs, row.rhs)
        elif np.isinf(row.value):
            assert got == row.value, (row.lhs, row.rhs)
        else:
            assert got == pytest.approx(row.value, abs=1e-12), (row.lhs, row.rhs)


def test_htmt_issue_example_is_finite_and_noted():
    from hlstudy.cfa import htmt

    data = pd.read_csv(FIXTURES / "htmt_data.csv")
    geo = htmt(data, HTMT_MODELS["AB"])
    assert np.isfinite(geo.to_numpy()).all()
    assert geo.loc["A", "B"] == 0.0
    notes = geo.attrs["notes"]
    assert len(notes) == 1 and "A/B" in notes[0] and "a1-b1" in notes[0]
    assert htmt(data, HTMT_MODELS["AB"], geometric=False).attrs["notes"] == []
    within = htmt(data, HTMT_MODELS["ABC"]).attrs["notes"]
    assert any(n.startswith("C: zero correlation within") and "c1-c2" in n for n in within)


def test_htmt_notes_carry_their_parts_and_a_vietnamese_wording():
    """Each note is the English sentence with its parts (``HTMTNote``), so notebook 03 words
    it in Vietnamese (an own export of 100 officials printed 'TRAIN/RES: zero correlation
    between the constructs ...' in English)."""
    import pickle

    from hlstudy.cfa import htmt

    data = pd.read_csv(FIXTURES / "htmt_data.csv")
    (between,) = htmt(data, HTMT_MODELS["AB"]).attrs["notes"]
    assert (between.kind, between.names, between.geometric) == ("between", ("A", "B"), True)
    assert ("a1", "b1") in between.pairs and between.text() == str(between)
    assert between.text("vi").startswith("A/B: tương quan bằng 0 giữa hai khái niệm (a1-b1")
    assert "HTMT2, bằng 0" in between.text("vi")
    within = [n for n in htmt(data, HTMT_MODELS["ABC"]).attrs["notes"] if n.kind == "within"]
    assert [n.names for n in within] == [("C",)]
    assert within[0].text("vi").startswith("C: tương quan bằng 0 trong cùng khái niệm (c1-c2")
    back = pickle.loads(pickle.dumps(between))   # the result cache keeps HTMT tables
    assert back == between and back.text("vi") == between.text("vi")
    with pytest.raises(ModelError, match="lang"):
        between.text("fr")


def test_htmt_of_one_factor_is_an_error_not_an_empty_table():
    from hlstudy.cfa import htmt

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=list("abc"))
    with pytest.raises(ModelError, match="at least 2 factors, got 1"):
        htmt(X, {"f": ["a", "b", "c"]})


def test_htmt_without_zeros_has_no_notes_and_constant_item_is_an_error():
    from hlstudy.cfa import htmt

    rng = np.random.default_rng(3)
    f = rng.normal(size=(200, 2))
    data = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(size=200) for i in range(6)})
    out = htmt(data, {"F": ["x0", "x1", "x2"], "G": ["x3", "x4", "x5"]})
    assert out.attrs["notes"] == [] and 0 < out.loc["F", "G"] < 1
    data["x5"] = 3.0
    with pytest.raises(ModelError, match="x5"):
        htmt(data, {"F": ["x0", "x1", "x2"], "G": ["x3", "x4", "x5"]})


# --------------------------------------------------------------------------- invariance, small groups

def _two_factor(n, seed):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    return pd.DataFrame({f"x{i}": f[:, i // 4] + rng.normal(scale=0.8, size=n) for i in range(8)})


MODEL8 = {"F": ["x0", "x1", "x2", "x3"], "G": ["x4", "x5", "x6", "x7"]}


def test_invariance_with_a_group_smaller_than_the_model_is_skipped_with_the_n_needed():
    from hlstudy.cfa import measurement_invariance
    from hlstudy.cfa.compare import invariance_group_sizes

    data = _two_factor(160, 5)
    data["kind"] = ["can_bo"] * 8 + ["cong_chuc"] * 152
    data.loc[3, "x2"] = np.nan  # 7 complete answers among 8 cán bộ
    sizes = invariance_group_sizes(data, MODEL8, "kind")
    assert sizes.to_dict("list") == {"group": ["can_bo", "cong_chuc"], "n": [8, 152],
                                     "n_complete": [7, 152], "n_needed": [9, 9],
                                     "free_parameters": [6 + 8 + 3 + 8] * 2}
    res = measurement_invariance(data, MODEL8, "kind")
    assert "group 'can_bo' has 7 complete answers" in res.skipped
    assert "at least 9 complete answers in every group" in res.skipped
    assert res.highest_level is None and res.fits == {} and res.table.empty
    assert "not tested" in res.summary() and "7 complete answers" in res.summary()


def test_invariance_with_large_groups_is_fitted():
    from hlstudy.cfa import measurement_invariance

    data = _two_factor(400, 6)
    data["kind"] = np.repeat(["a", "b"], 200)
    res = measurement_invariance(data, MODEL8, "kind")
    assert res.skipped == "" and list(res.table.index) == ["configural", "metric", "scalar"]
    assert res.group_sizes["n_complete"].tolist() == [200, 200]


def test_invariance_item_without_variance_in_a_group_is_skipped():
    from hlstudy.cfa import measurement_invariance

    data = _two_factor(400, 7)
    data["kind"] = np.repeat(["a", "b"], 200)
    data.loc[data["kind"] == "a", "x5"] = 3.0
    res = measurement_invariance(data, MODEL8, "kind")
    assert "cannot be fitted" in res.skipped and "x5" in res.skipped


def test_invariance_group_sizes_bad_input():
    from hlstudy.cfa.compare import invariance_group_sizes

    data = _two_factor(20, 8)
    with pytest.raises(ModelError, match="grouping column 'kind'"):
        invariance_group_sizes(data, MODEL8, "kind")
    data["kind"] = "a"
    with pytest.raises(ModelError, match="zz"):
        invariance_group_sizes(data, {"F": ["x0", "zz", "x1"]}, "kind")


# --------------------------------------------------------------------------- partial studies

@pytest.fixture(scope="module")
def sim120():
    from hlstudy.synthetic import simulate

    return simulate(seed=12, response_rate=120 / 455, n_citizens_per_commune=10)


@pytest.fixture(scope="module")
def sim120_files(sim120):
    """``sim120.files()``: what ``sim120.write`` writes, encoded once for the module."""
    return sim120.files()


def write_officials_only(files: dict[str, bytes], folder: Path) -> Path:
    """The folder ``sim120.write(folder)`` leaves once its citizens' and personnel exports
    are deleted (the officials' export, the manifest and the truth, byte for byte)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if name not in ("citizens.csv", "personnel.csv"):
            (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def officials_only(sim120_files, tmp_path):
    return write_officials_only(sim120_files, tmp_path / "officials_only")


@pytest.fixture(scope="module")
def officials_only_study(sim120_files, tmp_path_factory):
    """The officials-only folder read once (cache=False) for the tests that only read the
    study; tests that edit the folder use ``officials_only``."""
    from hlstudy import load_study

    folder = write_officials_only(sim120_files, tmp_path_factory.mktemp("officials_only"))
    return load_study(folder, cache=False)


def test_officials_only_study(officials_only_study, sim120):
    from hlstudy.study import empty_table

    study = officials_only_study
    assert study.instruments == ("officials",) and study.absent == ("citizens", "personnel")
    assert study.has("officials") and not study.has("citizens") and not study.has("personnel")
    # every row the simulator wrote is received (about 120: the response rate is a probability)
    written = len(sim120.officials_raw)
    assert 100 <= written <= 140
    assert study.received == {"officials": written, "citizens": 0, "personnel": 0}
    assert len(study.officials) == study.kept["officials"] > 100
    assert study.citizens.empty and list(study.citizens.columns) == list(empty_table("citizens").columns)
    assert "SIPAS1" in study.citizens.columns and study.citizens["SIPAS1"].dtype == float
    assert set(study.cleaning_log["instrument"]) == {"officials"}
    assert "citizens   absent (no export in the data folder)" in study.summary()
    with pytest.raises(SurveyDataError, match="unknown instrument 'staff'"):
        study.has("staff")


def test_empty_table_has_the_columns_of_a_real_one(sim120, tmp_path):
    from hlstudy import load_study
    from hlstudy.study import empty_table

    study = load_study(sim120, cache=False)
    assert study.instruments == ("officials", "citizens", "personnel") and study.absent == ()
    for name in ("officials", "citizens", "personnel"):
        assert list(empty_table(name).columns) == list(study.table(name).columns)


def test_misnamed_export_is_not_taken_for_an_absent_instrument(officials_only):
    from hlstudy import load_study

    (officials_only / "nguoi_dan.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"no export for instrument 'citizens'.*"
                                              r"\['nguoi_dan.csv'\] is not named after an instrument"):
        load_study(officials_only, cache=False)


def test_the_officials_export_is_required(officials_only):
    from hlstudy import load_study

    (officials_only / "officials.csv").rename(officials_only / "citizens.csv")
    with pytest.raises(SurveyDataError, match=r"no export for instrument 'officials'.*files found: "
                                              r"\['citizens.csv', 'manifest.json', 'truth.json'\]"):
        load_study(officials_only, cache=False)


def test_processed_folder_has_no_table_of_a_survey_not_given(officials_only_study, officials_only,
                                                             sim120_files, tmp_path):
    """``write_processed`` of an officials-only study writes no ``citizens.csv``/``personnel.csv``
    (header-only, they read as "given, every record dropped") and removes those an earlier
    call left; a survey given whose records were all dropped keeps its header-only table."""
    import io

    from hlstudy import load_study

    out = tmp_path / "processed"
    out.mkdir()
    earlier = "record_id,source_row,commune_code\nC-1,1,12345\n"      # a run with every survey
    (out / "citizens.csv").write_text(earlier, encoding="utf-8")
    (out / "personnel.csv").write_text(earlier.replace("C-1", "P-1"), encoding="utf-8")
    written = officials_only_study.write_processed(out)
    assert list(written) == ["officials", "cleaning_log", "flow", "missing"]
    assert sorted(p.name for p in out.iterdir()) == ["cleaning_log.csv", "flow.csv", "missing.csv",
                                                     "officials.csv"]
    assert set(pd.read_csv(written["flow"])["instrument"]) == {"officials"}
    # a file that is not a clean table (here a personnel export) is never removed
    other = tmp_path / "other"
    other.mkdir()
    export_bytes = "Họ tên cán bộ,Chức vụ\nNguyễn Văn A,Chủ tịch\n".encode()
    (other / "personnel.csv").write_bytes(export_bytes)
    # citizens surveyed, every record dropped (no commune): a header-only table, and flow says why
    rows = pd.read_csv(io.BytesIO(sim120_files["citizens.csv"]), dtype=str, keep_default_na=False)
    rows = rows.iloc[:3].copy()
    rows[rows.columns[1]] = ""                                       # the commune question
    rows.to_csv(officials_only / "citizens.csv", index=False)
    study = load_study(officials_only, cache=False)
    assert study.instruments == ("officials", "citizens") and study.kept["citizens"] == 0
    written = study.write_processed(other)
    assert list(written) == ["officials", "citizens", "cleaning_log", "flow", "missing"]
    assert (other / "personnel.csv").read_bytes() == export_bytes
    citizens = pd.read_csv(written["citizens"])
    assert citizens.empty and list(citizens.columns) == list(study.citizens.columns)
    flow = pd.read_csv(written["flow"])
    last = flow[flow["instrument"] == "citizens"].iloc[-1]
    assert (last["n_after"], flow.loc[flow["instrument"] == "citizens", "dropped"].sum()) == (0, 3)


# --------------------------------------------------------------------------- the researcher's own instrument

DIG_ITEMS = [  # the worked example of the README: a digital-skills scale replaces FAC and SUP
    ("DIG1", 101, "Tôi sử dụng thành thạo các phần mềm dùng chung của xã",
     "I use the commune's shared software proficiently"),
    ("DIG2", 102, "Tôi xử lý được hồ sơ trên Cổng dịch vụ công trực tuyến",
     "I can process applications on the online public-service portal"),
    ("DIG3", 103, "Tôi tự tìm được văn bản pháp luật cần thiết trên mạng",
     "I find the legal documents I need online by myself"),
    ("DIG4", 104, "Tôi được hướng dẫn kịp thời khi có phần mềm mới",
     "I get timely guidance when new software is introduced"),
]


def _csv(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _write(df, path):
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def own_instrument(folder: Path, *, fix_hypotheses: bool = True, fix_constructs: bool = True,
                   seven_point: bool = False) -> Path:
    """The README's worked example, done by code: copy data/instrument, drop FAC and SUP, add DIG."""
    import shutil

    folder.mkdir(parents=True)
    for name in ("codebook.csv", "value_labels.csv", "constructs.csv", "hypotheses.csv",
                 "claims.csv"):
        shutil.copy(paths.DEFAULT_INSTRUMENT / name, folder / name)
    cb = _csv(folder / "codebook.csv")
    cb = cb[~cb["construct"].isin(["FAC", "SUP"])]
    new = pd.DataFrame([{"instrument": "officials", "variable": v, "order": str(o), "construct": "DIG",
                         "type": "likert", "question_vi": q, "gloss_en": g, "value_set": "agree5",
                         "reverse": "0", "min": "", "max": "", "required": "1", "pii": "0",
                         "claims": "X1"} for v, o, q, g in DIG_ITEMS])
    cb = pd.concat([cb, new], ignore_index=True)
    if seven_point:
        cb.loc[(cb["value_set"] == "agree5") & (cb["instrument"] == "officials"),
               "value_set"] = "agree7"
        labels = _csv(folder / "value_labels.csv")
        seven = pd.DataFrame({"value_set": "agree7", "code": [str(c) for c in range(1, 8)],
                              "label_vi": ["Hoàn toàn không đồng ý", "Không đồng ý",
                                           "Hơi không đồng ý", "Trung lập", "Hơi đồng ý",
                                           "Đồng ý", "Hoàn toàn đồng ý"],
                              "label_en": ["Strongly disagree", "Disagree", "Somewhat disagree",
                                           "Neutral", "Somewhat agree", "Agree", "Strongly agree"]})
        _write(pd.concat([labels, seven], ignore_index=True).fillna(""), folder / "value_labels.csv")
    _write(cb, folder / "codebook.csv")
    if fix_constructs:
        cons = _csv(folder / "constructs.csv")
        cons = cons[~cons["construct"].isin(["FAC", "SUP"])]
        cons = pd.concat([cons, pd.DataFrame([{
            "instrument": "officials", "construct": "DIG", "role": "factor", "label_vi": "Kỹ năng số",
            "label_en": "Digital skills", "part": "1.2"}])], ignore_index=True)
        _write(cons, folder / "constructs.csv")
    claims = _csv(folder / "claims.csv")
    claims = pd.concat([claims, pd.DataFrame([{
        "claim_id": "X1", "section": "I", "kind": "premise",
        "text_vi": "Kỹ năng số nâng cao năng lực chuyên môn của cán bộ, công chức cấp xã.",
        "gloss_en": "Digital skills raise commune officials' professional competence.",
        "evidence_hint": "Path DIG->PRO."}])], ignore_index=True)
    _write(claims, folder / "claims.csv")
    hyp = _csv(folder / "hypotheses.csv")
    if fix_hypotheses:  # D7 (facilities) and S6 (supervision) lose their scales: not testable
        hyp.loc[hyp["claim_id"].isin(["D7", "S6"]), ["constructs", "paths", "expected_sign"]] = ""
    hyp = pd.concat([hyp, pd.DataFrame([{
        "claim_id": "X1", "test_type": "path", "constructs": "DIG;PRO", "paths": "DIG->PRO",
        "expected_sign": "+", "hypothesis_vi": "Kỹ năng số có tác động dương đến năng lực chuyên môn.",
        "hypothesis_en": "Digital skills raise professional competence."}])], ignore_index=True)
    _write(hyp, folder / "hypotheses.csv")
    return folder


@pytest.fixture
def use_instrument(monkeypatch):
    """Point every reader of the instrument folder at ``folder`` (as HLSTUDY_INSTRUMENT does)."""
    from hlstudy import codebook, ingest, study

    def use(folder):
        for module in (codebook, ingest, study):
            monkeypatch.setattr(module, "INSTRUMENT", folder)
        return folder
    return use


def test_instrument_folder_setting(clean_env, monkeypatch, tmp_path):
    assert paths.instrument_dir() == paths.DEFAULT_INSTRUMENT
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("HLSTUDY_INSTRUMENT", str(mine))
    assert paths.instrument_dir() == mine == config.instrument_folder()
    monkeypatch.delenv("HLSTUDY_INSTRUMENT")
    (clean_env / "hlstudy.toml").write_text('[instrument]\nfolder = "inst"\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"instrument folder \(from hlstudy.toml \[instrument\] "
                                              r"folder\) does not exist"):
        paths.instrument_dir(clean_env)
    (clean_env / "inst").mkdir()
    assert paths.instrument_dir(clean_env) == clean_env / "inst"
    (clean_env / "hlstudy.toml").write_text('[instrument]\nfolder = 3\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match="must be a non-empty string"):
        paths.instrument_dir(clean_env)


def test_own_instrument_flows_downstream(tmp_path, use_instrument):
    import matplotlib

    matplotlib.use("Agg")
    from hlstudy import codebook, framework
    from hlstudy.scales import scale_items

    use_instrument(own_instrument(tmp_path / "inst"))
    assert "DIG" in codebook.constructs("officials") and "FAC" not in codebook.constructs("officials")
    assert scale_items("officials")["DIG"] == ["DIG1", "DIG2", "DIG3", "DIG4"]
    paths_ = framework.hypothesized_paths()
    assert {"cause": "DIG", "effect": "PRO", "sign": "+", "claims": "X1"} in paths_.to_dict("records")
    assert not paths_["cause"].isin(["FAC", "SUP"]).any()
    layout = framework._layout(paths_)
    assert layout["DIG"][0] == 0.0 and "FAC" not in layout  # a factor: first column
    fig = framework.path_diagram(paths=paths_)
    assert "DIG" in {t.get_text() for t in fig.axes[0].texts}
    inst = framework.instruments_table().set_index("construct")
    assert inst.at["DIG", "n_items"] == 4 and inst.at["DIG", "claims"] == "X1"
    # D7 and S6 lost their constructs: no scale serves them, whatever the items still cite
    assert not inst["claims"].str.split(", ").map(lambda cs: {"D7", "S6"} & set(cs)).any()
    assert framework.hypotheses_table().set_index("claim_id").at["X1", "paths"] == "DIG → PRO"


def test_forgotten_hypothesis_names_what_is_inconsistent(tmp_path, use_instrument):
    from hlstudy import codebook, framework

    use_instrument(own_instrument(tmp_path / "inst", fix_hypotheses=False))
    with pytest.raises(SurveyDataError, match=r"hypotheses.csv, row \d+, column 'constructs': "
                                              r"unknown construct\(s\) \['FAC'\]$"):
        codebook.hypotheses()
    with pytest.raises(SurveyDataError, match="unknown construct"):
        framework.path_diagram()


def test_forgotten_constructs_file_names_what_is_inconsistent(tmp_path, use_instrument):
    from hlstudy import codebook

    use_instrument(own_instrument(tmp_path / "inst", fix_constructs=False))
    with pytest.raises(SurveyDataError, match=r"only in codebook \[\('officials', 'DIG'\)\], "
                                              r"only in constructs.csv \[\('officials', 'FAC'\), "
                                              r"\('officials', 'SUP'\)\]"):
        codebook.construct_labels()


def test_diagram_places_an_unknown_role_and_rejects_unknown_names(tmp_path, use_instrument):
    from hlstudy import framework

    use_instrument(own_instrument(tmp_path / "inst"))
    bad = pd.DataFrame({"cause": ["MOON"], "effect": ["PRO"], "sign": ["+"], "claims": ["X1"]})
    with pytest.raises(ModelError, match=r"\['MOON'\].*constructs.csv"):
        framework._layout(bad)


def test_seven_point_scale_works_once_its_value_set_is_defined(tmp_path, use_instrument,
                                                              sim120_files):
    from hlstudy import codebook, load_study

    folder = use_instrument(own_instrument(tmp_path / "inst", seven_point=True))
    assert codebook.likert_range("officials") == (1, 7)
    assert codebook.likert_range("officials", "DIG") == (1, 7)
    assert codebook.likert_range("citizens") == (1, 5)
    md = codebook.questionnaire_markdown("officials", folder=folder)
    assert "| Câu | Nội dung | 1 | 2 | 3 | 4 | 5 | 6 | 7 |" in md
    # an officials-only export answered on 1-7, with the DIG items
    data = write_officials_only(sim120_files, tmp_path / "data")
    raw = pd.read_csv(data / "officials.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(4)
    cb = codebook.load_codebook("officials", folder=folder)
    default = codebook.load_codebook("officials", folder=paths.DEFAULT_INSTRUMENT)
    dropped = default.loc[default["construct"].isin(["FAC", "SUP"]), "question_vi"].tolist()
    raw = raw.drop(columns=[h for h in raw.columns if any(h.endswith(q) for q in dropped)])
    spread = {"1": "1", "2": "2", "3": "4", "4": "6", "5": "7"}  # 5-point answers spread over 1-7
    for h in (h for h in raw.columns if h.startswith("Câu ")):
        raw[h] = raw[h].map(lambda v: spread.get(v, v))
    for _v, o, q, _g in DIG_ITEMS:
        raw[f"Câu {o}. {q}"] = [str(x) for x in rng.integers(1, 8, len(raw))]
    raw.to_csv(data / "officials.csv", index=False)
    study = load_study(data, cache=False)
    items = cb.loc[cb["type"] == "likert", "variable"].tolist()
    values = pd.Series(study.officials[items].to_numpy().ravel()).dropna()
    assert values.max() == 7 and values.min() == 1 and set(values) <= set(range(1, 8))
    assert "DIG1" in study.officials.columns and "FAC1" not in study.officials.columns
    # reverse-keyed items are recoded min + max - x = 8 - x on a 1-7 scale
    rev = cb.loc[cb["reverse"] == 1, ["variable", "order", "question_vi"]].iloc[0]
    header = f"Câu {rev['order']}. {rev['question_vi']}"
    raw_by_row = pd.to_numeric(pd.Series(raw[header].to_numpy(), index=range(2, len(raw) + 2)),
                               errors="coerce")  # some answers are exported as labels
    kept = study.officials.set_index("source_row")[rev["variable"]].dropna()
    coded = raw_by_row[kept.index].dropna()
    assert len(coded) > 50 and (kept[coded.index] == 8 - coded).all()
    out = study.cleaning_log[(study.cleaning_log["rule"] == "out_of_range")
                             & study.cleaning_log["column"].isin(items)]
    # 6 and 7 are valid answers of a 7-point value set: only the simulator's injected faults
    # (codes outside 1-7) are out of range
    assert not out["old_value"].isin([str(c) for c in range(1, 8)] + [f"{c}.0" for c in range(1, 8)]).any()


def test_own_instrument_alone_also_protects_committed_files(clean_env, monkeypatch, tmp_path):
    mine = tmp_path / "inst"
    mine.mkdir()
    monkeypatch.setenv("HLSTUDY_INSTRUMENT", str(mine))
    assert not paths.own_data() and paths.own_study()
    plan = runner.output_plan()
    assert not plan.committed and plan.figures == paths.OWN_OUTPUT
    assert "own data or instrument" in plan.describe()


def test_unquoted_comma_in_an_instrument_file_is_named(tmp_path):
    from hlstudy import codebook

    folder = own_instrument(tmp_path / "inst")
    with (folder / "claims.csv").open("a", encoding="utf-8") as handle:
        handle.write("X2,I,premise,Cán bộ, công chức trẻ học nhanh hơn.,Young officials learn faster.,\n")
    with pytest.raises(SurveyDataError, match=r"claims.csv: is not a well-formed CSV file "
                                              r"\(C error: Expected 6 fields in line 26, saw 7\); "
                                              r"a field that contains a comma must be in double quotes"):
        codebook.load_codebook(folder=folder)


def test_skip_note_names_the_absent_instrument_in_vietnamese(officials_only_study):
    study = officials_only_study
    assert study.skip_note("Mục 2.1.2", "officials") == ""
    note = study.skip_note("Mục 2.1.2 (tiêu chuẩn)", "officials", "personnel")
    assert note.startswith("> **Bỏ qua — Mục 2.1.2 (tiêu chuẩn):** cần danh sách trích ngang")
    assert "`personnel.csv|xlsx|sav`" in note and "không kiểm định được" in note
    assert "người dân" not in note
    with pytest.raises(SurveyDataError, match="unknown instrument 'register'"):
        study.skip_note("x", "register")


@pytest.fixture(scope="module")
def officials_only_ledger(officials_only_study):
    """The claims ledger of the officials-only study (no register, no citizens), computed
    once (kept: tests/keptresults.py)."""
    from keptresults import kept_results

    from hlstudy.evidence import Rules, evaluate

    with kept_results():
        return evaluate(officials_only_study, rules=Rules(bootstrap=0))


def test_officials_only_ledger_judges_each_part_on_the_data_it_needs(officials_only_study,
                                                                    officials_only_ledger):
    """A fresh user's officials-only study: D1's "share of ETH / PRO below the cut-off" and
    D2's "SKL minus the other dimensions" need the survey only, yet were "không kiểm định
    được — nghiên cứu không có danh sách trích ngang" (D5's share of RSP was computed).  Only the
    parts that read the register are not testable now; the others carry the survey's
    numbers, the same as the finding computed from the scores alone."""
    from hlstudy import drivers
    from hlstudy.diagnostic import findings as fd

    parts = officials_only_ledger.parts
    d1 = parts[parts["claim_id"] == "D1"].set_index("part")
    d2 = parts[parts["claim_id"] == "D2"].set_index("part")
    register = [d1.loc["share of civil servants not meeting ≥ 1 Decree 33 standard"],
                d2.loc["share with short tenure"]]
    for row in register:
        assert row["verdict"] == "not testable"
        assert row["reason_vi"] == "nghiên cứu không có danh sách trích ngang"
    data = drivers.driver_data(officials_only_study)
    shares = fd.finding_d1_shares(None, data, group="commune_code", dims=["PRO", "ETH"])
    assert not any(k.startswith("cs_") for k in shares)
    for dim in ("ETH", "PRO"):
        row = d1.loc[f"share with {dim} below the cut-off"]
        assert row["verdict"] != "not testable", row["reason"]
        assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx(
            (shares[f"{dim}_weak_share"], shares[f"{dim}_weak_lo"], shares[f"{dim}_weak_hi"]))
        assert row["n"] == shares[f"{dim}_n"] > 100
    diff = d2.loc["SKL minus the other dimensions (points)"]
    assert diff["verdict"] != "not testable", diff["reason"]
    assert np.isfinite([diff["estimate"], diff["ci_low"], diff["ci_high"], diff["p_value"]]).all()
    # D4 reads the register alone: not testable, every part
    assert set(parts.loc[parts["claim_id"] == "D4", "verdict"]) == {"not testable"}


def test_likert_range_bad_input():
    from hlstudy import codebook

    assert codebook.likert_range("officials", "TRAIN") == (1, 5)
    with pytest.raises(SurveyDataError, match="no Likert items in the personnel codebook"):
        codebook.likert_range("personnel")
    with pytest.raises(SurveyDataError, match="no construct 'MOON'"):
        codebook.likert_range("officials", "MOON")


def test_an_export_that_does_not_fit_stops_the_run_before_any_notebook(clean_env, monkeypatch,
                                                                       tmp_path, capfd):
    """A renamed header in an own export: every notebook that reads the study stopped on
    it, the first reported as "04_commune_diagnostic.py: cell 2 failed" with a traceback.
    ``reproduce`` now says once, before any kernel starts, which file and column do not fit
    and how to fix it, and writes nothing."""
    import shutil

    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("officials.csv", "citizens.csv", "personnel.csv"):
        shutil.copy(paths.RAW / name, exports / name)
    text = (exports / "officials.csv").read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    assert "Giới tính" in header
    (exports / "officials.csv").write_text(header.replace("Giới tính", "Giới tính của bạn", 1)
                                           + "\n" + rest, encoding="utf-8")
    out = tmp_path / "out"
    monkeypatch.setenv("HLSTUDY_DATA", str(exports))
    monkeypatch.setenv("HLSTUDY_FIGURES", str(out))
    monkeypatch.setenv("HLSTUDY_FORK", "0")
    monkeypatch.chdir(tmp_path)
    assert runner.main(["reproduce"]) == 1
    captured = capfd.readouterr()
    assert "no notebook was run" in captured.out
    error = captured.err.strip()
    assert error.startswith("ERROR") and "officials.csv" in error
    assert "Giới tính của bạn" in error and "Traceback" not in error
    assert "cell" not in error.split("officials.csv")[0]   # not a notebook's failing cell
    assert not out.exists()  # nothing created, not even an empty notebooks/ folder


def test_the_worked_example_ledger_keeps_the_claims_that_lost_their_scale(tmp_path,
                                                                         use_instrument,
                                                                         sim120_files):
    """The README's worked example: D7 (facilities) and S6 (supervision) lose their scale
    (``constructs``, ``paths`` and ``expected_sign`` emptied) and "stay in the ledger as not
    testable".  The ledger stopped instead (``ModelError: threshold must be a number``, a
    fresh-user trial), so notebook 06 failed on every such instrument."""
    from hlstudy import codebook, load_study
    from hlstudy.evidence import Rules, evaluate

    folder = use_instrument(own_instrument(tmp_path / "inst"))
    data = write_officials_only(sim120_files, tmp_path / "data")
    raw = pd.read_csv(data / "officials.csv", dtype=str, keep_default_na=False)
    default = codebook.load_codebook("officials", folder=paths.DEFAULT_INSTRUMENT)
    dropped = default.loc[default["construct"].isin(["FAC", "SUP"]), "question_vi"].tolist()
    raw = raw.drop(columns=[h for h in raw.columns if any(h.endswith(q) for q in dropped)])
    rng = np.random.default_rng(5)
    for _v, o, q, _g in DIG_ITEMS:
        raw[f"Câu {o}. {q}"] = [str(x) for x in rng.integers(1, 6, len(raw))]
    raw.to_csv(data / "officials.csv", index=False)
    study = load_study(data, cache=False)
    assert codebook.load_codebook("officials", folder=folder)["construct"].eq("DIG").sum() == 4
    led = evaluate(study, rules=Rules(bootstrap=0)).claims.set_index("claim_id")
    for claim in ("D7", "S6"):
        assert led.at[claim, "verdict"] == "not testable", led.loc[claim, "reason"]
        assert "no construct" in led.at[claim, "reason"]
        assert "không có thang đo" in led.at[claim, "reason_vi"]
    assert led.at["X1", "verdict"] in ("supported", "not supported", "inconclusive")


def test_the_simulator_names_the_constructs_of_an_own_instrument_it_cannot_draw(
        tmp_path, use_instrument):
    """With the README's worked example in use the simulator stopped on a raw KeyError
    ('DIG'); it now says it draws the thesis instrument's constructs and names the new one."""
    from hlstudy.synthetic import simulate

    use_instrument(own_instrument(tmp_path / "inst"))
    with pytest.raises(ModelError, match=r"constructs it does not know: \['DIG'\].*unset "
                                         r"HLSTUDY_INSTRUMENT"):
        simulate(seed=1, n_citizens_per_commune=1)
