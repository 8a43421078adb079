"""The common-latent-factor fit of notebook 03 reaches lavaan's optimum, quickly (issue 15).

On the demonstration data (simulated officials, 207 complete answers to 58 items) Fisher
scoring crawls towards a poorer stationary point of the CLF model; ``cfa._estimate.fit_ml``
hands over to BFGS after ``SCORING_FIRST`` iterations and must land where lavaan does.
Reference: ``tests/fixtures/clf_demo/make_fixtures.R`` (lavaan 0.6-14 ``cfa``,
``fitMeasures``, ``parameterEstimates``, ``standardizedSolution``).
"""

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy.cfa import _estimate, common_method_factor

FIX = Path(__file__).parent / "fixtures" / "clf_demo"
TOL = 1e-3  # lavaan's own convergence; the measured differences are far smaller


@pytest.fixture(scope="module")
def result():
    """The CLF comparison fitted once, with every ``_damped_newton`` call of the fit recorded
    (max_iter, status) by a pass-through wrapper (its outputs are the original's)."""
    data = pd.read_csv(FIX / "officials_items.csv")
    spec = pd.read_csv(FIX / "model.csv")
    model = {f: list(g["item"]) for f, g in spec.groupby("factor", sort=False)}
    calls = []
    original = _estimate._damped_newton

    def counting(problem, x, f, curvature, **kw):
        out = original(problem, x, f, curvature, **kw)
        calls.append((kw["max_iter"], out[3]))
        return out

    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore")
        mp.setattr(_estimate, "_damped_newton", counting)
        start = time.process_time()
        res = common_method_factor(data, model)
        seconds = time.process_time() - start
    return res, seconds, calls


def test_clf_fit_measures_match_lavaan(result):
    res, _, _ = result
    ref = pd.read_csv(FIX / "lavaan_fit.csv")
    for name, fit in (("base", res.base), ("clf", res.with_clf)):
        assert fit.converged
        ours = fit.fit_measures()
        for measure, value in ref[ref["model"] == name][["measure", "value"]].itertuples(index=False):
            assert ours[measure] == pytest.approx(value, abs=TOL, rel=1e-6), (name, measure)
    # the optimum itself: F = 2 * lavaan's fmin, to 1e-8
    fmin = ref.set_index(["model", "measure"])["value"]
    assert res.with_clf.fit_measures()["fmin"] == pytest.approx(fmin[("clf", "fmin")], abs=1e-8)


def test_clf_estimates_match_lavaan(result):
    res, _, _ = result
    ref = pd.read_csv(FIX / "lavaan_estimates.csv")
    ref = ref[ref["model"] == "clf"]
    est = res.with_clf.estimates
    ours = {(a, b, c): (e, s) for a, b, c, e, s in zip(est["lhs"], est["op"], est["rhs"], est["est"],
                                                        est["std_all"], strict=True)}
    assert set(ours) == set(zip(ref["lhs"], ref["op"], ref["rhs"], strict=True))
    worst = 0.0
    for lhs, op, rhs, e, s in ref[["lhs", "op", "rhs", "est", "std.all"]].itertuples(index=False):
        mine_e, mine_s = ours[(lhs, op, rhs)]
        assert mine_e == pytest.approx(e, abs=TOL), (lhs, op, rhs)
        if not np.isnan(s):
            assert mine_s == pytest.approx(s, abs=TOL), (lhs, op, rhs)
        worst = max(worst, abs(mine_e - e))
    assert worst < TOL


def test_clf_fit_takes_the_bfgs_route_without_the_finite_difference_fallback(result):
    _, seconds, calls = result      # the calls of the fit the two tests above compare with R
    # base model: scoring converges; CLF model: scoring stops after SCORING_FIRST steps, BFGS,
    # then Newton polish converges -- the slow route (up to 100 Newton steps on a differenced
    # Hessian from where scoring stopped, then BFGS) is never entered
    assert [c[1] for c in calls] == ["converged", "maximum number of iterations reached", "converged"]
    assert calls[1][0] == _estimate.SCORING_FIRST
    assert seconds < 3, f"CLF comparison took {seconds:.1f} s of CPU (7.6 s before issue 15, 0.7 s after)"
