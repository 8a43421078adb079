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


@pytest.fixture
def officials_only(sim120, tmp_path):
    folder = tmp_path / "officials_only"
    sim120.write(folder)
    (folder / "citizens.csv").unlink()
    (folder / "personnel.csv").unlink()
    return folder


def test_officials_only_study(officials_only):
    from hlstudy import load_study
    from hlstudy.study import empty_table

    study = load_study(officials_only, cache=False)
    assert study.instruments == ("officials",) and study.absent == ("citizens", "personnel")
    assert study.has("officials") and not study.has("citizens") and not study.has("personnel")
    assert study.received == {"officials": 120, "citizens": 0, "personnel": 0}
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
