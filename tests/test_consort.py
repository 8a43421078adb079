"""The CONSORT flow diagram (issue 13, kind 8): every box computed, and the boxes add up.

frame = respondents + non-response; received = respondents + repeat submissions;
received = kept + every exclusion; the n each model uses equals what the fitting function
itself uses.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import hlstudy
from hlstudy import cleaning, drivers, export
from hlstudy import study as study_mod
from hlstudy.cfa import cfa
from hlstudy.errors import SurveyDataError
from hlstudy.scales import scale_items
from hlstudy.sem import sem

matplotlib.use("Agg")
synthetic = pytest.importorskip("hlstudy.synthetic")

PER_COMMUNE = 8
#: Half the officials answer (233 of the register's 459, instead of 96 %): the boxes add up
#: whatever their size, and this study still has every exclusion, flag and change of the
#: larger one, and rows the structural model drops for a missing covariate (230 of 233), so
#: the check of each model's n still has something to find; the structural fit on half the
#: rows takes two thirds of the time.
RESPONSE_RATE = 0.5


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    sim = synthetic.simulate(seed=31, n_citizens_per_commune=PER_COMMUNE,
                             response_rate=RESPONSE_RATE)
    folder = tmp_path_factory.mktemp("consort")
    sim.write(folder)
    study = hlstudy.load_study(folder, cache=False)
    frames = {"citizens": PER_COMMUNE * study.personnel["commune_code"].nunique()}
    return sim, folder, study, study_mod.consort_counts(study, frames=frames)


def stage(consort, instrument, name):
    c = consort[(consort["instrument"] == instrument) & (consort["stage"] == name)]
    return c


def one(consort, instrument, name) -> int:
    c = stage(consort, instrument, name)
    assert len(c) == 1, (instrument, name)
    return int(c["n"].iloc[0])


def test_the_boxes_add_up(simulated):
    _, _, study, consort = simulated
    assert list(consort.columns) == study_mod.CONSORT_COLUMNS
    for name in study.instruments:
        frame, received = one(consort, name, "frame"), one(consort, name, "received")
        respondents, duplicate = one(consort, name, "respondents"), one(consort, name, "duplicate")
        nonresponse, kept = one(consort, name, "nonresponse"), one(consort, name, "kept")
        excluded = int(stage(consort, name, "excluded")["n"].sum())
        assert frame == respondents + nonresponse, name
        assert received == respondents + duplicate, name
        assert received == kept + duplicate + excluded, name
        assert received == study.received[name] and kept == len(study.table(name)), name
        assert duplicate + excluded == study.dropped[name], name
        assert nonresponse >= 0, name
    # officials: the frame is the personnel register; citizens: the design's sample
    assert one(consort, "officials", "frame") == len(study.personnel)
    assert one(consort, "citizens", "frame") == PER_COMMUNE * study.personnel["commune_code"].nunique()
    # each exclusion is the rule's own count, named by the rule
    ex = stage(consort, "officials", "excluded").set_index("rule")["n"]
    flow = study.flow[study.flow["instrument"] == "officials"].set_index("rule")["dropped"]
    assert ex.to_dict() == {r: n for r, n in flow.items() if n and r != "duplicates"}


def test_the_simulated_non_response_is_the_simulators(simulated):
    sim, _, study, consort = simulated
    # every simulated official in the register either answered (one or more rows) or did not
    rows = sim.truth.rows.query("instrument == 'officials'")
    answered = rows.loc[rows["duplicate_of_row"].isna(), "person_id"].nunique()
    assert one(consort, "officials", "respondents") == answered
    assert one(consort, "officials", "nonresponse") == len(study.personnel) - answered


def test_flagged_and_changed_boxes_count_the_log(simulated):
    _, _, study, consort = simulated
    log = study.cleaning_log
    for name in ("officials", "citizens"):
        mine = log[log["instrument"] == name]
        flagged = stage(consort, name, "flagged").set_index("rule")["n"].to_dict()
        expect = mine[mine["action"] == "flag"].groupby("rule")["record_id"].nunique().to_dict()
        assert flagged == expect and flagged, name
        changed = stage(consort, name, "changed").set_index("outcome")["n"].to_dict()
        assert changed == mine[mine["action"] == "change"]["outcome"].value_counts().to_dict()


@pytest.mark.filterwarnings("ignore")
def test_the_n_of_each_model_is_the_n_the_model_uses(simulated):
    _, _, study, consort = simulated
    counts = study_mod.analysis_counts(study).set_index(["instrument", "analysis"])["n"]
    cit_scales = scale_items("citizens")
    items = [i for m in cit_scales.values() for i in m]
    syntax = "\n".join(f"{k} =~ " + " + ".join(v) for k, v in cit_scales.items())
    # the rows FIML uses (nobs) are chosen before estimation (sem's _prepare, whatever the
    # estimator): ML here, MLR's robust corrections would only add cost (as below)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fiml = sem(study.citizens[items], syntax, missing="ml", estimator="ML")
        listwise = cfa(study.citizens[items], cit_scales)
    assert counts[("citizens", "cfa_fiml")] == fiml.nobs
    assert counts[("citizens", "cfa_listwise")] == listwise.n_obs
    # notebook 05's structural model: items plus the background covariates (exogenous)
    struct = drivers.structure()
    off_items = scale_items("officials")
    syntax = drivers.lavaan_syntax(struct, items=off_items, defined=drivers.indirect_effects(struct),
                                   correlated_residuals=drivers.quality_residual_pairs())
    data = study.officials[[i for m in off_items.values() for i in m]].copy()
    covariates = drivers.driver_data(study)
    for c in drivers.COVARIATES:
        data[c] = covariates[c].to_numpy()
    # notebook 05 fits it with MLR; the rows FIML uses (nobs) are chosen before estimation,
    # whatever the estimator, and MLR's robust corrections double the cost: ML here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sem(data, syntax, missing="ml", estimator="ML")
    assert counts[("officials", "sem_fiml")] == fit.nobs
    assert counts[("officials", "cfa_fiml")] > fit.nobs > counts[("officials", "cfa_listwise")]
    got = stage(consort, "officials", "analysis").set_index("rule")["n"].to_dict()
    assert got == {k[1]: v for k, v in counts.items() if k[0] == "officials"}


@pytest.fixture(scope="module")
def consort_figures(simulated):
    """02_consort_flow of the simulated study in each label language, built once (with
    ``HLSTUDY_LANG`` set as the notebook's kernel sets it); the checks below only read them."""
    import matplotlib.pyplot as plt

    _, _, _, consort = simulated
    figures = {}
    with pytest.MonkeyPatch.context() as m:
        # the language a kernel reads: HLSTUDY_LANG, not a set_language() left by another
        # test module in this worker (tests/test_export.py leaves "vi")
        m.setattr(export, "_language", None)
        for lang in ("vi", "en"):
            m.setenv("HLSTUDY_LANG", lang)
            figures[lang] = cleaning.consort_figure(consort)
    yield figures
    for fig in figures.values():
        plt.close(fig)


def test_the_figure_prints_every_number(simulated, consort_figures):
    _, _, _, consort = simulated
    fig = consort_figures["vi"]
    texts = "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)
    for name in ("officials", "citizens"):
        for what in ("frame", "received", "nonresponse", "kept"):
            assert f"= {export.number(one(consort, name, what), 0, lang='vi')}" in texts, (name, what)
    for code in cleaning.RULE_NAMES:
        assert code not in texts  # rule names in Vietnamese, never the code
    assert "Không trả lời" in texts and "sửa" not in texts


def test_the_citizens_quota_is_not_called_a_frame_nor_its_shortfall_non_response(consort_figures):
    """The citizens' survey fills a quota (30 a unit × 23 units): an examiner read 'sampling
    frame 690, response 100 %' as a response rate no quota can have."""
    fig = consort_figures["vi"]
    boxes = {ax.get_title(): "\n".join(t.get_text() for t in ax.texts) for ax in fig.axes}
    officials, citizens = (next(v for k, v in boxes.items() if word in k.lower())
                           for word in ("cán bộ", "người dân"))
    assert "Khung mẫu" in officials and "Không trả lời" in officials
    assert "Chỉ tiêu mẫu" in citizens and "Thiếu so với chỉ tiêu" in citizens
    assert "Khung mẫu" not in citizens and "Không trả lời" not in citizens
    english = "\n".join(t.get_text() for ax in consort_figures["en"].axes for t in ax.texts)
    assert "Design quota" in english and "Short of the quota" in english


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_figure_fits_the_page_and_each_box_its_column(consort_figures, monkeypatch, lang):
    """02_consort_flow was drawn 12.9 in wide (324 mm as saved): in the thesis' 155 mm text
    block its 6.5-pt boxes printed at 3 pt.  As saved (tight box) it now fits the text block
    (155 x 220 mm) in both languages, each box inside its instrument's column and clear of
    the other boxes, a count never on a line of its own ("buộc:" / "2")."""
    monkeypatch.setattr(export, "_language", None)
    monkeypatch.setenv("HLSTUDY_LANG", lang)   # drawn in its language, as it was built
    fig = consort_figures[lang]
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    size = export.saved_size_mm(fig)   # as saved
    assert export.fits_page(*size), size
    for ax in fig.axes:
        area = ax.get_window_extent(r)
        boxes = [(t.get_text(), t.get_bbox_patch().get_window_extent(r)) for t in ax.texts
                 if t.get_bbox_patch() is not None]
        assert len(boxes) >= 4
        for k, (text, box) in enumerate(boxes):
            assert area.x0 <= box.x0 and box.x1 <= area.x1, text
            assert not any(box.overlaps(other) for _, other in boxes[k + 1:]), text
            assert not any(line.strip().isdigit() for line in text.split("\n")), text
        assert min(t.get_fontsize() for t in ax.texts) >= export.MIN_TEXT_PT   # as printed


def test_without_a_register_the_frame_is_unknown(simulated, tmp_path):
    _, folder, _, _ = simulated
    for f in ("officials.csv", "manifest.json"):
        (tmp_path / f).write_bytes((folder / f).read_bytes())
    study = hlstudy.load_study(tmp_path, cache=False)
    consort = study_mod.consort_counts(study)
    assert pd.isna(stage(consort, "officials", "frame")["n"].iloc[0])
    assert pd.isna(stage(consort, "officials", "nonresponse")["n"].iloc[0])
    assert set(consort["instrument"]) == {"officials"}
    fig = cleaning.consort_figure(consort)
    assert any("?" in t.get_text() for ax in fig.axes for t in ax.texts)


def test_bad_input():
    with pytest.raises(SurveyDataError, match="consort_counts"):
        cleaning.consort_figure(pd.DataFrame({"instrument": ["officials"], "n": [3]}))


# ------------------------------------------------------------------ against lavaan (R fixture)

FIXTURES = Path(__file__).parent / "fixtures"
HS_ITEMS = [f"x{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def lavaan_n():
    ref = json.loads((FIXTURES / "consort" / "consort_reference.json").read_text(encoding="utf-8"))
    data = pd.read_csv(FIXTURES / "lavaan" / "hs1939_missing.csv")
    data.loc[[r - 1 for r in ref["na_ageyr_rows"]], "ageyr"] = np.nan
    return ref, data


def test_model_n_equals_lavaan_nobs(lavaan_n):
    ref, data = lavaan_n
    assert study_mod.model_n(data, HS_ITEMS) == ref["cfa_fiml"]
    assert study_mod.model_n(data, HS_ITEMS, missing="listwise") == ref["cfa_listwise"]
    assert study_mod.model_n(data, HS_ITEMS, ["ageyr"], missing="listwise") == ref["sem_listwise"]
    # what notebook 05 prints (hlstudy.sem's nobs) is what the flow diagram says: model_n
    # equals lavaan's nobs here and in test_sem_fiml_n_with_covariate_only_rows_equals_lavaan,
    # and hlstudy.sem's nobs of this model (MODEL there) on these very data equals lavaan's in
    # tests/test_sem_covariate_rows.py::test_rows_used_equal_lavaan (its fit is not repeated)
    same = pd.read_csv(FIXTURES / "consort" / "hs1939_missing_covariate.csv")
    cols = [*HS_ITEMS, "ageyr"]
    assert np.array_equal(same[cols].to_numpy(), data[cols].to_numpy(), equal_nan=True)
    assert study_mod.model_n(data, HS_ITEMS, ["ageyr"]) == ref["sem_fiml"]
    with pytest.raises(SurveyDataError, match="missing must be"):
        study_mod.model_n(data, HS_ITEMS, missing="pairwise")
    with pytest.raises(SurveyDataError, match="columns"):
        study_mod.model_n(data, ["x1", "nope"])


def test_sem_fiml_n_with_covariate_only_rows_equals_lavaan(lavaan_n):
    """lavaan keeps rows observed on the covariate only (rows 77 and 150); so does hlstudy."""
    ref, data = lavaan_n
    only_x = data[HS_ITEMS].isna().all(axis=1) & data["ageyr"].notna()
    assert only_x.sum() == 2
    assert study_mod.model_n(data, HS_ITEMS, ["ageyr"]) == ref["sem_fiml"]
    used = {r - 1 for r in ref["sem_fiml_rows"]}
    assert set(data.index[only_x]) <= used
