"""hlstudy.validation: recovery replications, summaries, the R-agreement table.

Replications are slow (a simulated study through ingest, cleaning, models and ledger):
these tests run few of them, with small citizen samples, and only the parts they check.
"""

from __future__ import annotations

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


def test_every_r_fixture_family_has_a_check_in_the_agreement_table():
    # a fixture folder made by an R script but absent from the table would go unreported;
    # spss_labels holds value labels read by haven (text, no number to compare)
    not_numeric = {"spss_labels"}
    families = {p.parent.name for p in FIXTURES.glob("*/*.R")}
    checked = {c.fixture for c in CHECKS}
    assert families - not_numeric <= checked, sorted(families - not_numeric - checked)


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
