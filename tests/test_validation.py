"""hlstudy.validation: recovery replications, summaries, the R-agreement table.

Replications are slow (a simulated study through ingest, cleaning, models and ledger):
these tests run few of them, with small citizen samples, and only the parts they check.
"""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest

from hlstudy import drivers
from hlstudy.errors import ModelError
from hlstudy.synthetic import DEFAULT_EFFECTS, simulate
from hlstudy.validation import (
    COLUMNS,
    Scenario,
    latent_covariance,
    population_coefficients,
    recovery,
    scenarios,
    truth_verdict,
)
from hlstudy.validation.ragree import CHECKS, FIXTURES, r_agreement, r_versions
from hlstudy.validation.run import read_results, write_results
from hlstudy.validation.summary import (
    claim_truth_status,
    clopper_pearson,
    coverage_by_method,
    false_positive_rate,
    summarize,
    verdict_confusion,
    verdict_rates,
)

#: Small and fast: about 200 officials answer, 2 citizens per commune.
FAST = Scenario("fast", "test scenario: 200 officials, 2 citizens per commune",
                n_citizens_per_commune=2, n_officials=200)
STRONG = 0.45  # REC->MOT switched on strongly enough to be supported at n = 200
PARTS = ("path", "cleaning", "verdict")


# ---------------------------------------------------------------------- truth


@pytest.fixture(scope="module")
def truth4():
    """The truth of one simulated study, read by the tests below: the demonstration's
    ``data/raw/truth.json`` as notebook 07 reads it (any simulated truth shows these
    properties; reading it costs ~0.02 s, simulating a study ~0.2 s)."""
    from hlstudy.paths import RAW
    from hlstudy.synthetic import Truth

    if not (RAW / "truth.json").is_file():
        return simulate(4, n_citizens_per_commune=2).truth
    return Truth.from_json(RAW / "truth.json")


def test_population_coefficients_of_the_research_model_are_the_true_paths(truth4):
    truth = truth4
    cov = latent_covariance(truth)
    # the covariance is a correlation matrix (every latent variable has variance 1)
    np.testing.assert_allclose(np.diag(cov.to_numpy()), 1.0, atol=1e-12)
    struct = drivers.structure()
    for y, preds in struct.items():
        b = population_coefficients(cov, y, preds)
        want = [truth.effects.get(f"{x}->{y}", 0.0) for x in preds]
        np.testing.assert_allclose(b.to_numpy(), want, atol=1e-10, err_msg=y)
    # STAY on COMP alone absorbs the paths through MOT and the COMP–ENV correlation
    b = float(population_coefficients(cov, "STAY", ["COMP"])["COMP"])
    assert b == pytest.approx(float(cov.loc["COMP", "STAY"]))
    assert abs(b - DEFAULT_EFFECTS["COMP->STAY"]) > 0.05
    with pytest.raises(ModelError, match="no population covariance"):
        population_coefficients(cov, "STAY", ["NOPE"])


def test_population_coefficients_by_position_are_the_label_based_ones_bit_for_bit(truth4):
    """The cells are taken by position; the coefficients equal those from ``cov.loc`` by
    label exactly, for every regression of the research model, the QUAL mean, a covariance
    whose columns are in another order, and a covariance lacking a column (label path)."""
    def by_label(cov, outcome, predictors):
        outs = [outcome] if isinstance(outcome, str) else list(outcome)
        preds = list(predictors)
        w = np.full(len(outs), 1 / len(outs))
        s_pp = cov.loc[preds, preds].to_numpy(float)
        s_py = cov.loc[preds, outs].to_numpy(float) @ w
        var_y = float(w @ cov.loc[outs, outs].to_numpy(float) @ w)
        beta = np.linalg.solve(s_pp, s_py) * np.sqrt(np.diag(s_pp)) / np.sqrt(var_y)
        beta[np.abs(beta) < 1e-12] = 0.0
        return beta

    cov = latent_covariance(truth4)
    quality = drivers.constructs_by_role()["quality"]
    cases = [(y, ps) for y, ps in drivers.structure().items()]
    cases += [(quality, drivers.structure()[quality[0]]), ("STAY", ["COMP"]),
              (["PRO", "ETH"], ["TRAIN", "MOT"])]
    shuffled = cov[list(cov.columns[::-1])]
    for y, ps in cases:
        want = by_label(cov, y, ps)
        for c in (cov, shuffled):
            got = population_coefficients(c, y, ps)
            assert list(got.index) == list(ps)
            assert np.array_equal(got.to_numpy(), want), (y, ps)
    with pytest.raises(KeyError):                      # as cov.loc: a column it lacks
        population_coefficients(cov.drop(columns="MOT"), "PRO", ["TRAIN", "MOT"])


def test_truth_verdict_follows_the_ledger_rule():
    assert truth_verdict(0.25, direction="+", sesoi=0.10) == "supported"
    assert truth_verdict(-0.25, direction="-", sesoi=0.10) == "supported"
    assert truth_verdict(0.05, direction="+", sesoi=0.10) == "not supported"
    assert truth_verdict(0.0, direction="+", sesoi=0.10) == "not supported"
    assert truth_verdict(-0.25, direction="+", sesoi=0.10) == "not supported"
    assert truth_verdict(np.nan, direction="+", sesoi=0.10) == ""


# ---------------------------------------------------------------------- replications


@pytest.fixture(scope="module")
def switched():
    """S5 (recognition → motivation) strongly on, switched off and reversed (seed 1, in this
    process); the same "on" world for seeds 2 and 1 in two processes (paths, cleaning).
    The switched-off and reversed worlds skip the path model on scale scores (``sem=False``,
    ~0.2 s a replication): their tests read the CR2 rows and the verdicts only.  They run
    first, so that the two worker processes, forked from this one, start with the modules a
    replication imports (each imported them again: ~0.5 s of CPU a run when this module runs
    alone) but without anything computed on the "on" world, which runs last here."""
    out = {}
    for name, value, parts in (("off", 0.0, ("path", "verdict")),
                               ("reversed", -STRONG, ("path", "verdict"))):
        out[name] = recovery([1], {"REC->MOT": value}, scenario=FAST, workers=1, parts=parts,
                             wild=False, show_progress=False, sem=False)
    out["parallel"] = recovery([2, 1], {"REC->MOT": STRONG}, scenario=FAST, workers=2,
                               parts=("path", "cleaning"), wild=False, show_progress=False)
    out["on"] = recovery([1], {"REC->MOT": STRONG}, scenario=FAST, workers=1, parts=PARTS,
                         wild=False, show_progress=False)
    return out


def test_results_do_not_depend_on_the_number_of_workers(switched):
    two, one = switched["parallel"], switched["on"]
    assert list(two.columns) == COLUMNS
    assert sorted(two["seed"].unique()) == [1, 2]          # sorted whatever the order given
    assert list(two["seed"]) == sorted(two["seed"])
    same = one[one["kind"].isin(["path", "cleaning"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(two[two["seed"] == 1].reset_index(drop=True), same)
    # the two replications differ (each is its own simulated study)
    a = two[(two["seed"] == 1) & (two["kind"] == "path")].set_index(["quantity", "method"])
    b = two[(two["seed"] == 2) & (two["kind"] == "path")].set_index(["quantity", "method"])
    assert (a["estimate"] - b["estimate"].reindex(a.index)).abs().max() > 0.01


def test_one_replication_recovers_cleaning_and_paths(switched):
    r = switched["parallel"]
    # cleaning: every injected drop caught by its rule, no clean record dropped
    cl = r[r["kind"] == "cleaning"]
    assert len(cl) > 5
    assert (cl.loc[cl["method"] == "catch rate", "estimate"] == 1.0).all()
    assert (cl.loc[cl["method"] == "false drop rate", "estimate"] == 0.0).all()
    # the CR2 regressions follow the true paths (attenuated by measurement error): strong
    # paths come out with their sign, and estimates track the truth
    cr2 = r[r["method"] == "CR2"]
    assert 150 < cr2["n"].max() < 230                       # about 200 officials answered
    assert np.corrcoef(cr2["truth"], cr2["estimate"])[0, 1] > 0.6
    strong = cr2[cr2["truth"].abs() >= 0.25]
    assert (np.sign(strong["estimate"]) == np.sign(strong["truth"])).all()
    # no estimand table given: truth_estimand is empty for the observed-score methods
    assert cr2["truth_estimand"].isna().all()


def _s5(r):
    return r[(r["kind"] == "verdict") & (r["quantity"] == "S5")].iloc[0]


def test_switching_a_path_off_flips_its_claim(switched):
    on = _s5(switched["on"])
    off, rev = _s5(switched["off"]), _s5(switched["reversed"])
    assert on["verdict_truth"] == "supported" and on["verdict"] == "supported"
    assert off["verdict_truth"] == "not supported" and off["verdict"] != "supported"
    assert rev["verdict_truth"] == "not supported" and rev["verdict"] != "supported"
    # and the path's CR2 interval excludes 0 when on, covers it when off
    path = {k: r[(r["method"] == "CR2") & (r["quantity"] == "REC->MOT")].iloc[0]
            for k, r in switched.items() if k != "parallel"}
    assert path["on"]["ci_low"] > 0
    assert path["off"]["ci_low"] < 0 < path["off"]["ci_high"]
    assert path["reversed"]["ci_high"] < 0
    assert path["on"]["truth"] == pytest.approx(STRONG)
    assert path["off"]["truth"] == 0.0
    # sem=False leaves out the path model on scale scores, and only it
    for k, r in switched.items():
        methods = set(r.loc[r["kind"] == "path", "method"])
        assert {"CR2", "naive"} <= methods, k
        assert ("SEM (FIML, MLR)" in methods) == (k in ("on", "parallel")), k


def test_bad_arguments_raise_model_errors():
    with pytest.raises(ModelError, match="at least one seed"):
        recovery([])
    with pytest.raises(ModelError, match="unknown scenario"):
        recovery([1], scenario="nope")
    with pytest.raises(ModelError, match="workers"):
        recovery([1], workers=0)
    with pytest.raises(ModelError, match="non-negative"):
        recovery([-1])
    with pytest.raises(ModelError, match="distinct"):
        recovery([1, 1])
    with pytest.raises(ModelError, match="unknown parts"):
        recovery([1], parts=("nope",))
    with pytest.raises(ModelError, match="unknown structural path"):
        recovery([1], {"A->B": 0.1})
    assert {"default", "path_off", "path_reversed", "all_zero", "small", "missing"} <= set(
        scenarios())
    assert scenarios()["small"].simulate_kwargs()["response_rate"] == pytest.approx(120 / 455)
    assert all(v == 0 for v in scenarios()["all_zero"].effects.values())
    assert scenarios()["default"].latent_sem and not scenarios()["small"].latent_sem


# ---------------------------------------------------------------------- summaries


def _constructed() -> pd.DataFrame:
    """Two methods, 4 replications each, truth 0.2; coverage 3/4 and 1/4 by design."""
    rows = []
    for seed, (est, lo, hi) in enumerate([(0.1, 0.0, 0.3), (0.3, 0.1, 0.5), (0.2, 0.15, 0.25),
                                          (0.4, 0.3, 0.5)], start=1):
        rows.append({"seed": seed, "scenario": "s", "quantity": "X->Y", "kind": "path",
                     "method": "A", "truth": 0.2, "estimate": est, "ci_low": lo, "ci_high": hi})
        rows.append({"seed": seed, "scenario": "s", "quantity": "X->Y", "kind": "path",
                     "method": "B", "truth": 0.2, "estimate": est, "ci_low": lo + 0.1,
                     "ci_high": hi + 0.1})
    return pd.DataFrame(rows)


def test_summaries_are_computed_right_on_a_constructed_input():
    s = summarize(_constructed()).set_index("method")
    est = np.array([0.1, 0.3, 0.2, 0.4])
    assert s.at["A", "n_rep"] == 4
    assert s.at["A", "bias"] == pytest.approx(est.mean() - 0.2)
    assert s.at["A", "bias_mcse"] == pytest.approx(est.std(ddof=1) / 2)
    assert s.at["A", "rmse"] == pytest.approx(np.sqrt(np.mean((est - 0.2) ** 2)))
    assert s.at["A", "emp_se"] == pytest.approx(est.std(ddof=1))
    assert s.at["A", "coverage"] == pytest.approx(0.75)
    assert s.at["A", "coverage_mcse"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert s.at["B", "coverage"] == pytest.approx(0.5)  # [.1,.4] [.2,.6] cover; [.25,.35] [.4,.6] not
    assert s.at["A", "rejection"] == pytest.approx(0.75)  # the first interval touches 0
    assert s.at["A", "band_low"] == pytest.approx(0.95 - 1.96 * np.sqrt(0.95 * 0.05 / 4))
    assert s.at["A", "mean_width"] == pytest.approx(np.mean([0.3, 0.4, 0.1, 0.2]))
    assert not s.at["B", "coverage_ok"]
    pooled = coverage_by_method(_constructed()).set_index("method")
    assert pooled.at["A", "coverage"] == pytest.approx(0.75)
    with pytest.raises(ModelError, match="lack columns"):
        summarize(_constructed().drop(columns="truth"))
    with pytest.raises(ModelError, match="level"):
        summarize(_constructed(), level=1.5)


def test_verdict_confusion_power_and_false_positives_on_a_constructed_input():
    rows = []
    for seed, (vt, v) in enumerate([("supported", "supported"), ("supported", "inconclusive"),
                                    ("supported", "supported"), ("supported", "supported")], 1):
        rows.append({"seed": seed, "scenario": "s", "quantity": "S5", "kind": "verdict",
                     "method": "ledger", "truth": 0.2, "estimate": 0.2, "ci_low": 0.1,
                     "ci_high": 0.3, "verdict_truth": vt, "verdict": v})
    for seed, v in enumerate(["supported", "not supported", "inconclusive", "not supported"], 1):
        rows.append({"seed": seed, "scenario": "z", "quantity": "S5", "kind": "verdict",
                     "method": "ledger", "truth": 0.0, "estimate": 0.0, "ci_low": -0.1,
                     "ci_high": 0.1, "verdict_truth": "not supported", "verdict": v})
        rows.append({"seed": seed, "scenario": "z", "quantity": "X->Y", "kind": "path",
                     "method": "CR2", "truth": 0.0, "estimate": 0.0,
                     "ci_low": 0.01 if seed == 1 else -0.1, "ci_high": 0.1, "verdict_truth": "",
                     "verdict": ""})
    r = pd.DataFrame(rows)
    conf = verdict_confusion(r).set_index(["scenario", "verdict_truth"])
    assert conf.loc[("s", "supported"), "supported"] == 3
    assert conf.loc[("s", "supported"), "inconclusive"] == 1
    assert conf.loc[("z", "not supported"), "not supported"] == 2
    assert conf.loc[("z", "not supported"), "n"] == 4
    rates = verdict_rates(r).set_index("scenario")
    assert rates.at["s", "power"] == pytest.approx(0.75)
    assert rates.at["z", "false_positive"] == pytest.approx(0.25)
    fp = false_positive_rate(r, scenario="z").set_index(["level", "method"])
    assert fp.at[("claim (per verdict)", "ledger"), "rate"] == pytest.approx(0.25)
    assert fp.at[("path (per interval)", "CR2"), "rate"] == pytest.approx(0.25)
    with pytest.raises(ModelError, match="no results"):
        false_positive_rate(r, scenario="nope")


def test_only_claims_whose_truth_is_not_supported_are_counted_false():
    """Notebook 07 counted as false every claim whose truth-implied verdict is not
    "supported" (15 claims), counting the claims without one (9) and a mixed one."""
    rows = []
    truths = {"T": ["supported"] * 4, "F": ["not supported"] * 4, "N": [""] * 4,
              "M": ["", "not supported", "", "not supported"]}
    called = {"T": "supported", "F": "supported", "N": "supported", "M": "inconclusive"}
    for q, vts in truths.items():
        for seed, vt in enumerate(vts, 1):
            rows.append({"seed": seed, "scenario": "s", "quantity": q, "kind": "verdict",
                         "verdict_truth": vt,
                         "verdict": called[q] if (q != "F" or seed == 1) else "inconclusive"})
    st = claim_truth_status(pd.DataFrame(rows)).set_index("quantity")
    assert dict(st["status"]) == {"F": "false", "M": "mixed", "N": "none", "T": "true"}
    assert (st["status"] == "false").sum() == 1 and (st["n_false"] > 0).sum() == 2
    assert list(st.loc[["F", "M", "N", "T"], "n_false"]) == [4, 2, 0, 0]
    assert st.at["M", "n_none"] == 2 and st.at["N", "n_none"] == 4
    assert st.at["F", "n_false_supported"] == 1
    assert st.at["F", "false_positive"] == pytest.approx(0.25)
    assert np.isnan(st.at["N", "false_positive"])   # no truth: neither false nor true
    assert st.at["M", "false_positive"] == 0
    # exact 95% interval of 1/4 by the beta quantiles (Clopper & Pearson 1934)
    from scipy.stats import beta
    assert st.at["F", "ci_low"] == pytest.approx(beta.ppf(0.025, 1, 4))
    assert st.at["F", "ci_high"] == pytest.approx(beta.ppf(0.975, 2, 3))


def test_clopper_pearson_gives_a_width_where_the_mcse_is_zero():
    """0/25 has MCSE 0; its exact upper bound solves (1 − p)^25 = 0.025."""
    lo, hi = clopper_pearson(0, 25)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 25))
    assert hi == pytest.approx(0.1372, abs=1e-4)
    lo, hi = clopper_pearson(25, 25)
    assert hi == 1 and lo == pytest.approx(0.025 ** (1 / 25))
    lo, hi = clopper_pearson(88, 1375)    # the latent SEM's null rejections in notebook 07
    assert (lo, hi) == pytest.approx((0.05164, 0.07826), abs=1e-5)
    for bad in ((3, 2), (-1, 5), (1, 0)):
        with pytest.raises(ModelError):
            clopper_pearson(*bad)
    with pytest.raises(ModelError):
        clopper_pearson(1, 5, level=1.0)


def test_false_positive_rates_carry_exact_intervals_and_the_band_of_the_nominal_rate():
    rows = []
    for seed in range(1, 26):
        rows.append({"seed": seed, "scenario": "z", "quantity": "S5", "kind": "verdict",
                     "method": "ledger", "truth": 0.0, "estimate": 0.0, "ci_low": -0.1,
                     "ci_high": 0.1, "verdict_truth": "not supported", "verdict": "inconclusive"})
        for j in range(40):   # 1000 zero paths, 64 intervals exclude 0
            rows.append({"seed": seed, "scenario": "z", "quantity": f"X{j}->Y", "kind": "path",
                         "method": "SEM", "truth": 0.0, "estimate": 0.0,
                         "ci_low": 0.01 if (seed - 1) * 40 + j < 64 else -0.1, "ci_high": 0.1,
                         "verdict_truth": "", "verdict": ""})
    fp = false_positive_rate(pd.DataFrame(rows), scenario="z").set_index(["level", "method"])
    fam = fp.loc[("claim (any claim, per replication)", "ledger")]
    assert fam["rate"] == 0 and fam["mcse"] == 0 and fam["n"] == 25
    assert fam["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 25))
    sem = fp.loc[("path (per interval)", "SEM")]
    assert sem["k"] == 64 and sem["rate"] == pytest.approx(0.064)
    half = 1.96 * np.sqrt(0.05 * 0.95 / 1000)
    assert sem["band_high"] == pytest.approx(0.05 + half)    # 6.35%: 6.4% is outside
    assert not bool(sem["in_band"])


def test_r_agreement_label_shows_a_difference_just_under_its_tolerance():
    """sensemakr's difference 4.99e-05 against 5e-05 was labelled "< 1e-04", above the
    tolerance it passes."""
    from hlstudy.validation.ragree import difference_bound

    label = difference_bound(4.993792203649566e-05, 5e-05)
    assert label == "< 4.9938e-05"   # not "4.994…", which reads as a thousands group
    assert 4.993792203649566e-05 < float(label[2:]) < 5e-05
    assert difference_bound(3.2e-05, 5e-05) == "< 3.3e-05"
    assert difference_bound(2.5e-05, 1e-04) == "< 1e-04"    # the power of ten shows it already
    assert difference_bound(2.5e-05) == "< 1e-04"


def test_results_round_trip_byte_identical(tmp_path):
    r = _constructed().assign(n=400.0, truth_estimand=0.15, verdict_truth="", verdict="")
    write_results(r, tmp_path / "a", {"replications": 4})
    write_results(r, tmp_path / "b", {"replications": 4})
    assert (tmp_path / "a" / "recovery.csv.gz").read_bytes() == (
        tmp_path / "b" / "recovery.csv.gz").read_bytes()
    back, manifest = read_results(tmp_path / "a")
    assert manifest == {"replications": 4}
    pd.testing.assert_frame_equal(back[COLUMNS], r[COLUMNS], check_dtype=False)
    with pytest.raises(ModelError, match="no validation results"):
        read_results(tmp_path / "none")


# ---------------------------------------------------------------------- agreement with R


def _check(name):
    return [c for c in CHECKS if c.routine == name]


def test_r_agreement_passes_on_the_committed_fixtures():
    tab = r_agreement(checks=_check("evidence.adjust") + _check("diagnostic.quality.icc"))
    assert tab["within"].all(), tab
    assert (tab["n_values"] > 0).all()


def test_r_agreement_finds_a_planted_difference(tmp_path):
    shutil.copytree(FIXTURES / "evidence", tmp_path / "evidence")
    path = tmp_path / "evidence" / "padjust.csv"
    ref = pd.read_csv(path)
    ref.loc[2, "holm"] += 1e-6
    ref.to_csv(path, index=False)
    tab = r_agreement(tmp_path, checks=_check("evidence.adjust")).iloc[0]
    assert not tab["within"]
    assert tab["worst_difference"] == pytest.approx(1e-6, rel=1e-3)
    assert tab["worst_at"] == "holm[2]"
    # a check whose fixture is missing is reported, not dropped
    missing = r_agreement(tmp_path, checks=_check("diagnostic.quality.icc")).iloc[0]
    assert not missing["within"] and missing["worst_at"].startswith("error")
    with pytest.raises(ModelError, match="not found"):
        r_agreement(tmp_path / "none")


def test_r_versions_are_read_from_the_fixtures():
    v = r_versions()
    got = {(f, s): ver for f, s, ver in zip(v["fixture"], v["software"], v["version"],
                                            strict=True)}
    assert got[("lavaan", "lavaan")] == "0.6.14"
    assert got[("psych", "psych")] == "2.2.9"
    assert got[("models", "clubSandwich")] == "0.5.8"
    # one way of writing a version (R's packageVersion()), whether a JSON or a script's
    # comment gave it: lavaan 0.6-14 in clf_demo's script is 0.6.14 as in the lavaan JSON
    assert got[("clf_demo", "lavaan")] == got[("lavaan", "lavaan")]
    assert got[("ownstudy", "semTools")] == got[("lavaan", "semTools")] == "0.5.6"
    assert not any("-" in ver for ver in v["version"])


def test_r_versions_list_only_folders_made_by_an_r_script(tmp_path):
    # a folder of stored Python outputs (tests/fixtures/speed) records Python libraries'
    # versions: they are not the R the reference values were made with
    for name, script in (("made_by_r", True), ("python_outputs", False), ("r_unrecorded", True)):
        (tmp_path / name).mkdir()
        if script:
            (tmp_path / name / "make_fixtures.R").write_text("x <- 1\n", encoding="utf-8")
    (tmp_path / "made_by_r" / "ref.json").write_text('{"versions": {"lavaan": "0.6-14"}}',
                                                     encoding="utf-8")
    (tmp_path / "python_outputs" / "ref.json").write_text('{"versions": {"numpy": "2.4.6"}}',
                                                          encoding="utf-8")
    v = r_versions(tmp_path)
    assert v.values.tolist() == [["made_by_r", "lavaan", "0.6.14", "ref.json"],
                                 ["r_unrecorded", "", "not recorded", ""]]
    assert "speed" not in set(r_versions()["fixture"])


def test_calibration_coverage_centres_on_the_mean_estimate():
    s = summarize(_constructed(), center="mean").set_index("method")
    # mean estimate 0.25: A's [0,.3] [.1,.5] [.15,.25] cover it, [.3,.5] does not
    assert s.at["A", "truth"] == pytest.approx(0.25)
    assert s.at["A", "bias"] == pytest.approx(0.0, abs=1e-15)
    assert s.at["A", "coverage"] == pytest.approx(0.75)
    assert s.at["B", "coverage"] == pytest.approx(0.75)  # [.1,.4] [.2,.6] [.25,.35]; not [.4,.6]
    with pytest.raises(ModelError, match="center"):
        summarize(_constructed(), center="median")


def test_every_r_fixture_family_has_a_check_in_the_agreement_table(tmp_path):
    # a fixture folder made by an R script but absent from the table would go unreported;
    # spss_labels holds value labels read by haven (text, no number to compare)
    from hlstudy.validation.ragree import r_fixture_folders

    folders = r_fixture_folders()
    assert set(folders["fixture"]) == {p.parent.name for p in FIXTURES.glob("*/*.R")}
    left_out = folders[(folders["checks"] == 0) & (folders["reason"] == "")]
    assert left_out.empty, list(left_out["fixture"])
    assert set(folders.loc[folders["reason"] != "", "fixture"]) == {"spss_labels"}
    # a new folder made by an R script is listed, with no check and no reason
    for name in ("psych", "new_family", "python_only"):
        (tmp_path / name).mkdir()
    (tmp_path / "psych" / "make_fixtures.R").write_text("x <- 1\n", encoding="utf-8")
    (tmp_path / "new_family" / "make_fixtures.R").write_text("x <- 1\n", encoding="utf-8")
    got = r_fixture_folders(tmp_path)
    assert got.values.tolist() == [["new_family", 0, ""], ["psych", len(_check_fixture("psych")), ""]]


def _check_fixture(folder):
    return [c for c in CHECKS if c.fixture == folder]


def test_psych_distributions_omega_and_sensemakr_are_in_the_agreement_table():
    routines = {c.routine for c in CHECKS}
    assert {"reliability.omega_total", "factor.item_distributions", "factor.mardia",
            "factor.harman_test", "models.sensitivity"} <= routines
    # (notebook 07 runs every check; its committed table shows each within its tolerance)


def test_claim_truths_keep_each_regression_once_with_the_same_bits(truth4):
    """``claim_truths`` computes each regression's population coefficients once and shares
    them between parts: every part's truth equals ``part_truth`` computed alone (no memo),
    bit for bit, for paths, QUAL paths, citizens' paths and indirect effects; a part the
    latent model cannot give stays NaN."""
    from hlstudy import codebook
    from hlstudy.evidence import Rules
    from hlstudy.validation.replications import claim_truths, part_truth

    cov = latent_covariance(truth4)
    struct = drivers.structure()
    quality = drivers.constructs_by_role()["quality"]
    cit = codebook.construct_labels("citizens")
    citizen = set(cit.loc[cit["role"] == "citizen", "construct"])
    rows = [(f"P{y}{x}", f"{x} → {y}", "path") for y, ps in struct.items() for x in ps]
    rows += [(f"Q{x}", f"{x} → QUAL", "path") for x in struct[quality[0]]]
    rows += [(f"I{x}{m}{y}", f"{x} → {m} → {y}", "indirect")
             for m in struct for x in struct[m] for y, ps in struct.items() if m in ps]
    rows += [("C1", "CFB → CTRUST", "path"), ("N1", "share below the cut-off", "share")]
    assert sum(k == "indirect" for *_, k in rows) >= 3
    parts = pd.DataFrame(rows, columns=["claim_id", "part", "kind"]).assign(
        sesoi=0.1, direction="+")
    got = claim_truths(parts, cov, Rules(), struct, quality, citizen).set_index("claim_id")
    for cid, part, kind in rows:
        want = part_truth(part, kind, cov, struct, quality, citizen)
        value = got.at[cid, "truth_value"]
        assert (np.isnan(want) and np.isnan(value)) or value == want, (part, value, want)
    assert np.isnan(got.at["N1", "truth_value"]) and np.isfinite(got.at["C1", "truth_value"])


def test_parts_are_read_by_claim_as_the_grouped_rows_were():
    """``claim_truths`` reads the parts by claim from column lists: the same claims, in the
    same order, with the same values as ``groupby("claim_id", sort=False)`` read row by row
    with ``itertuples`` (claims interleaved, a missing claim id dropped, a missing SESOI
    kept, columns the truths do not read ignored)."""
    from hlstudy.validation.replications import _parts_by_claim

    parts = pd.DataFrame({
        "claim_id": ["S5", "T2", "S5", None, "D3", "T2", np.nan],
        "estimate": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        "part": ["REC → MOT", "TRAIN → PRO", "REC → MOT → RSP", "x", "ICC", "TRAIN → SKL", "y"],
        "kind": ["path", "path", "indirect", "path", "icc", "path", "path"],
        "direction": ["+", "+", "+", "-", "+", "+", "+"],
        "sesoi": [0.1, np.nan, 0.01, 0.1, 0.05, 0.1, 0.1],
        "verdict": ["supported"] * 7,
    })
    want = [(cid, [(r.part, r.kind, r.sesoi, r.direction) for r in g.itertuples(index=False)])
            for cid, g in parts.groupby("claim_id", sort=False)]
    got = _parts_by_claim(parts)
    assert [c for c, _ in got] == ["S5", "T2", "D3"] == [c for c, _ in want]
    for (_, g), (_, w) in zip(got, want, strict=True):
        assert len(g) == len(w)
        for a, b in zip(g, w, strict=True):
            assert a[:2] == b[:2] and a[3] == b[3]
            assert a[2] == b[2] or (np.isnan(a[2]) and np.isnan(b[2]))


def test_provenance_names_each_scenarios_commit_and_latent_sem():
    from hlstudy.validation.run import provenance

    manifest = {"replications": {"small": 25, "default": 25, "path_off": 10},
                "git_commit": "new", "git_commits": {"small": "old", "default": "new", "path_off": "old"},
                "latent_sem": ["default", "path_off"]}
    p = provenance(manifest)
    assert list(p["scenario"]) == ["default", "path_off", "small"]      # by commit, then name
    assert list(p["commit"]) == ["new", "old", "old"]
    assert list(p["latent_sem"]) == [True, True, False]
    assert list(p["replications"]) == [25, 10, 25]
    # before git_commits: the one commit for all; nothing recorded: ""
    assert set(provenance({"replications": {"a": 1, "b": 2}, "git_commit": "c"})["commit"]) == {"c"}
    assert set(provenance({"replications": {"a": 1}})["commit"]) == {""}
    assert provenance({}).empty


# ---------------------------------------------------------------------- what the results depend on


def _fake_root(root):
    """A miniature checkout: an entry module importing ``a`` at the top, ``a`` importing ``b``
    inside a function and the summaries for a table, ``c`` imported by nothing, rule files."""
    files = {
        "hlstudy/__init__.py": "",
        "hlstudy/validation/__init__.py": "from hlstudy.validation.summary import summarize\n",
        "hlstudy/validation/run.py": "from hlstudy import a\nimport hlstudy.errors\n",
        "hlstudy/validation/replications.py": "from . import run\n",
        "hlstudy/validation/estimand.py": "from hlstudy.validation.replications import (\n"
                                          "    x,  # a name\n    y,\n)\n",
        "hlstudy/validation/summary.py": "def summarize(): pass\n",
        "hlstudy/errors.py": "",
        "hlstudy/a.py": "def f():\n    from hlstudy import b\n    return b\n",
        "hlstudy/b.py": "K = 1\n",
        "hlstudy/c.py": "K = 1\n",
        "data/instrument/hypotheses.csv": "claim_id,sesoi\nS5,0.1\n",
        "data/instrument/questionnaire_officials.md": "# printed\n",
        "requirements.lock": "numpy==2.0\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_validation_results_name_each_source_and_rule_changed_since_the_run(tmp_path):
    from hlstudy.validation import sources

    _fake_root(tmp_path)
    assert sources.dependency_files(tmp_path) == [
        "data/instrument/hypotheses.csv", "hlstudy/__init__.py", "hlstudy/a.py", "hlstudy/b.py",
        "hlstudy/errors.py", "hlstudy/validation/__init__.py", "hlstudy/validation/estimand.py",
        "hlstudy/validation/replications.py", "hlstudy/validation/run.py", "requirements.lock"]
    digests = sources.source_digests(tmp_path)
    manifest = {"replications": {"default": 2, "small": 2}, "git_commit": "",
                "sources": {"default": sources.set_id(digests), "small": "older"},
                "source_files": {sources.set_id(digests): digests}}

    def status():
        return sources.currency(manifest, tmp_path).set_index("scenario")

    assert status().at["default", "status"] == "current"
    assert status().at["small", "status"] == "unknown"   # no digests, no git: never assumed
    # outside the chain: a module nothing imports, the summaries, a printed questionnaire
    (tmp_path / "hlstudy/c.py").write_text("K = 2\n", encoding="utf-8")
    (tmp_path / "hlstudy/validation/summary.py").write_text("def summarize(): 1\n", encoding="utf-8")
    (tmp_path / "data/instrument/questionnaire_officials.md").write_text("#\n", encoding="utf-8")
    assert status().at["default", "status"] == "current"
    # a module imported inside a function, a rule, a new module, a removed one: each named
    (tmp_path / "hlstudy/b.py").write_text("K = 2\nfrom hlstudy import d\n", encoding="utf-8")
    (tmp_path / "hlstudy/d.py").write_text("", encoding="utf-8")
    (tmp_path / "data/instrument/hypotheses.csv").write_text("claim_id,sesoi\nS5,0.2\n",
                                                            encoding="utf-8")
    (tmp_path / "hlstudy/errors.py").unlink()
    row = status().loc["default"]
    assert row["basis"] == "digest" and row["status"] == "changed"
    assert row["changed"] == ("data/instrument/hypotheses.csv", "hlstudy/b.py", "hlstudy/d.py",
                              "hlstudy/errors.py")
    assert sources.changed_files(sources.currency(manifest, tmp_path)) == list(row["changed"])


def test_validation_results_without_digests_are_compared_through_git(tmp_path):
    import subprocess

    from hlstudy.validation import sources

    _fake_root(tmp_path)

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              cwd=tmp_path, capture_output=True, text=True, check=True).stdout

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "run")
    manifest = {"replications": {"default": 2}, "git_commit": "HEAD"}
    assert sources.currency(manifest, tmp_path).loc[0, "status"] == "current"
    (tmp_path / "hlstudy/a.py").write_text("from hlstudy import b, e\n", encoding="utf-8")
    (tmp_path / "hlstudy/e.py").write_text("", encoding="utf-8")   # not committed
    row = sources.currency(manifest, tmp_path).loc[0]
    assert (row["basis"], row["status"], row["changed"]) == (
        "git", "changed", ("hlstudy/a.py", "hlstudy/e.py"))
    unknown = sources.currency({**manifest, "git_commit": "0" * 40}, tmp_path).loc[0]
    assert (unknown["basis"], unknown["status"]) == ("", "unknown")


def test_the_validation_chain_is_read_from_its_imports():
    from hlstudy.validation import sources

    files = sources.dependency_files()
    chain = [f for f in files if f.startswith("hlstudy/")]
    # the stages a replication runs, imported at the top or inside functions
    for module in ("hlstudy/synthetic/_model.py", "hlstudy/ingest/values.py", "hlstudy/cleaning.py",
                   "hlstudy/scales.py", "hlstudy/cfa/core.py", "hlstudy/sem/core.py",
                   "hlstudy/models/ols.py", "hlstudy/models/_wild.py", "hlstudy/drivers.py",
                   "hlstudy/evidence/ledger.py", "hlstudy/diagnostic/quality.py",
                   "hlstudy/validation/replications.py", "hlstudy/validation/estimand.py"):
        assert module in chain, module
    assert not sources.NOT_RUN & set(chain)
    assert {"data/instrument/hypotheses.csv", "data/reference/communes.csv",
            "requirements.lock"} <= set(files)


def test_coverage_band_is_where_the_wilson_interval_holds_the_nominal_level():
    """The band of a coverage of n intervals is a proportion's: never above 1 (0.865–1.035 at
    n = 25 before), and a coverage k/n lies in it exactly when the Wilson interval of k/n
    holds the nominal level."""
    from scipy.stats import norm
    from statsmodels.stats.proportion import proportion_confint

    from hlstudy.validation.summary import coverage_band

    alpha = 2 * norm.sf(1.96)   # the band's z
    for n in (5, 25, 40, 225):
        low, high = coverage_band(0.95, n)
        assert 0 <= low < 0.95 < high <= 1
        k = np.arange(n + 1)
        wl, wh = proportion_confint(k, n, alpha=alpha, method="wilson")
        inside = (low - 1e-12 <= k / n) & (k / n <= high + 1e-12)
        assert (inside == ((wl <= 0.95) & (0.95 <= wh))).all(), n
    assert coverage_band(0.95, 25)[1] == 1.0
    assert coverage_band(0.95, 400) == pytest.approx((0.95 - 1.96 * np.sqrt(0.95 * 0.05 / 400),
                                                      0.95 + 1.96 * np.sqrt(0.95 * 0.05 / 400)))
    s = summarize(_constructed())
    assert (s["band_high"] <= 1).all() and (s["band_low"] >= 0).all()
    with pytest.raises(ModelError, match="coverage_band"):
        coverage_band(1.5, 25)


def test_measurement_doc_quotes_the_r_agreement_table():
    """docs/measurement.md's measured differences agree with notebook 07's committed table
    (kept equal to the recomputed one by tests/test_notebooks.py): one number for each routine
    the two share (the invariance row read 2e-8 while the table said < 1e-08)."""
    import re

    from hlstudy.paths import ROOT
    from hlstudy.validation.ragree import NOISE

    lines = (ROOT / "figures" / "07_r_agreement.csv").read_text(encoding="utf-8").splitlines()
    table = pd.read_csv(io.StringIO("\n".join(line for line in lines if not line.startswith("#"))),
                        dtype=str)
    bounds = dict(zip(table["Hàm hlstudy"], table["Chênh lệch lớn nhất"], strict=True))
    assert bounds["cfa.measurement_invariance"].startswith("<")
    shared = 0
    for line in (ROOT / "docs" / "measurement.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.match(r"`([\w.]+)`", cells[0]) if len(cells) == 4 else None
        if not name or name.group(1) not in bounds:
            continue
        quoted = re.search(r"(<\s*)?(\d(?:\.\d+)?e-\d+)", cells[3])
        if quoted is None:
            continue
        shared += 1
        bound = bounds[name.group(1)]
        limit = 0.0 if bound == "0" else float(bound.lstrip("< "))
        if limit > NOISE:   # above rounding noise: the table's bound, quoted as it
            assert quoted.group(1) and float(quoted.group(2)) == limit, (line, bound)
        else:
            assert float(quoted.group(2)) < max(limit, NOISE), (line, bound)
    assert shared >= 5


def test_notebook_07_says_the_currency_and_the_simulator_numbers_it_computed():
    """Notebook 07's committed text: whether its results match the code as it is now (as
    ``currency`` says, naming what changed), and the simulator's settings and truth computed,
    not typed (it said "= 0,30" and "about 120 officials" beside the simulator's values)."""
    import json

    from hlstudy import export
    from hlstudy.paths import NOTEBOOKS, ROOT
    from hlstudy.validation.run import read_results
    from hlstudy.validation.sources import changed_files, currency

    nb = json.loads((NOTEBOOKS / "07_method_validation.ipynb").read_text(encoding="utf-8"))
    source = "".join("".join(c["source"]) for c in nb["cells"])
    texts = "\n".join("".join(o["data"]["text/markdown"]) for c in nb["cells"]
                      for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    assert "0,30" not in source and "120" not in source and "một trăm" not in source
    # the coverage level is the LEVEL parameter's, in the prose, a table title and an axis
    # label alike (they typed "95%")
    assert "95%" not in source and "0,95 × 0,05" not in source
    assert "dải 95% ± 1,96 × √(0,95 × 0,05 / R)" in texts   # computed from LEVEL = 0.95
    _, manifest = read_results(ROOT / "data" / "validation")
    cur = currency(manifest)
    if (cur["status"] == "current").all():
        assert "**khớp mã nguồn và quy tắc hiện tại**" in texts
    else:
        assert "không còn khớp mã hiện tại" in texts or "Không kiểm tra được" in texts
        for f in changed_files(cur)[:12]:
            assert f"`{f}`" in texts, f
    small = scenarios()["small"].n_officials
    assert f"Khoảng {small} cán bộ trả lời" in texts or f"khoảng {small} cán bộ trả lời" in texts
    env_mot = export.number(DEFAULT_EFFECTS["ENV->MOT"], 2, lang="vi")
    assert f"môi trường → động lực: tiềm ẩn {env_mot}" in texts


def test_notebook_07_counts_false_claims_and_reads_its_tables_as_the_examiner_asked():
    """Notebook 07 said "(15 luận điểm sai)" (every claim whose truth is not "supported",
    the 9 without a truth among them), "(level `LEVEL`)", "sổ cái", "issue 11", English rule
    codes, that scale-score coefficients are a lower bound, "< 1e-04" against a tolerance of
    5e-05, and nothing on claim S5 with its path switched off or reversed."""
    import json

    from hlstudy.paths import NOTEBOOKS, ROOT

    nb = json.loads((NOTEBOOKS / "07_method_validation.ipynb").read_text(encoding="utf-8"))
    source = "".join("".join(c["source"]) for c in nb["cells"])
    texts = "\n".join("".join(o["data"]["text/markdown"]) for c in nb["cells"]
                      for o in c.get("outputs", []) if "text/markdown" in o.get("data", {}))
    res, _ = read_results(ROOT / "data" / "validation")
    status = claim_truth_status(res[res["scenario"] == "default"])
    n_false, n_none = int((status["status"] == "false").sum()), int((status["status"] == "none").sum())
    assert f"**{n_false}** luận điểm sai ở mọi lần lặp" in texts
    assert f"**{n_none}** luận điểm không có kết luận đúng" in texts
    assert "15 luận điểm sai" not in texts
    assert "level `LEVEL`)" not in source and "**95%**" in texts
    for old in ("sổ cái", "Sổ cái", "issue 11", "β trên điểm thang đo là cận dưới",
                "gần với hệ số suy giảm"):
        assert old not in source + texts, old
    assert "0/25** lần lặp có ít nhất một luận điểm bị gọi nhầm" in texts
    assert "không vượt quá khoảng 14%" in texts            # 0/25: Clopper–Pearson upper bound
    assert "SEM tiềm ẩn (FIML, MLR) 6,4%" in texts          # out of its band, said
    assert "không phân biệt được một tác động khen thưởng → động lực" in texts
    agree = pd.read_csv(ROOT / "figures" / "07_r_agreement.csv", comment="#")
    row = agree[agree.iloc[:, 0] == "models.sensitivity"].iloc[0]
    assert float(str(row.iloc[5]).lstrip("< ")) < float(row.iloc[7])
    clean = pd.read_csv(ROOT / "figures" / "07_cleaning_recovery.csv", comment="#")
    assert not clean.iloc[:, 0].str.contains("duplicates|missing_required|speeders").any()
    assert clean.iloc[:, 0].str.contains("Nộp trùng lặp").any()
