"""hlstudy.sem at the edge of the positive-definite region: no raw numpy error.

A FIML fit whose estimate lies where a small step makes one pattern's implied covariance
indefinite (seen on a simulated study of the validation's "missing" scenario) used to stop
with numpy's matmul ValueError inside the observed Hessian.  The gradient is now NaN where
the objective is undefined, and the Hessian takes the one-sided difference on the defined side.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy.sem import sem

HSM = pd.read_csv(Path(__file__).parent / "fixtures" / "lavaan" / "hs1939_missing.csv")
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sem(HSM, MODEL, missing="ml")
    return res, res._fitinfo["problem"], res._fitinfo["x"].copy()


def _theta_index(res, name):
    names = {f"{p.lhs}{p.op}{p.rhs}": p.pid for p in res.model.pars if p.pid >= 0}
    return names[name]


def test_gradient_is_nan_where_the_objective_is_undefined(fitted):
    res, prob, x = fitted
    bad = x.copy()
    bad[_theta_index(res, "x1~~x1")] = -50.0  # an implied variance below zero
    assert prob.objective(bad) == np.inf
    g = prob.gradient(bad)
    assert g.shape == x.shape and np.isnan(g).all()
    assert np.isfinite(prob.gradient(x)).all()


def test_hessian_uses_the_defined_side_at_a_boundary(fitted, monkeypatch):
    res, prob, x = fitted
    k = _theta_index(res, "x2~~x2")
    full = prob.observed_hessian(x)
    exact = prob.gradient
    # pretend every step below x[k] leaves the positive-definite region
    monkeypatch.setattr(prob, "gradient",
                        lambda z: np.full(len(z), np.nan) if z[k] < x[k] else exact(z))
    one_sided = prob.observed_hessian(x)
    assert np.isfinite(one_sided).all()
    # forward differences agree with central ones to the step's order
    np.testing.assert_allclose(one_sided[k], full[k], rtol=1e-3, atol=1e-4)
    others = [j for j in range(len(x)) if j != k]
    np.testing.assert_allclose(one_sided[np.ix_(others, others)], full[np.ix_(others, others)],
                               rtol=1e-3, atol=1e-4)


def test_quasi_newton_fallback_reaches_lavaans_optimum(monkeypatch):
    """When damped scoring stalls, L-BFGS-B from the start values plus Newton polish takes
    over (hlstudy.sem.core._quasi_newton); the estimates are lavaan's (hs_sem_fiml of
    tests/fixtures/lavaan/sem_reference.json, every est and se)."""
    import json

    from hlstudy.sem import core

    ref = json.loads((Path(__file__).parent / "fixtures" / "lavaan" / "sem_reference.json").read_text())
    model = ref["models"]["hs_sem"]
    real = core._damped_newton
    calls = {"n": 0}

    def stalled_first(prob, x, f, curvature, **kw):
        calls["n"] += 1
        if calls["n"] == 1:  # the first (scoring) run stops after 3 iterations, unconverged
            out = real(prob, x, f, curvature, **{**kw, "max_iter": 3})
            return (*out[:3], "maximum number of iterations reached", out[4])
        return real(prob, x, f, curvature, **kw)

    monkeypatch.setattr(core, "_damped_newton", stalled_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sem(HSM, model, missing="ml")
    assert calls["n"] >= 2 and res.converged
    pe = res.parameter_estimates()
    want = pd.DataFrame(ref["fits"]["hs_sem_fiml"]["pe"])
    key = ["lhs", "op", "rhs"]
    m = want[key + ["est", "se"]].merge(pe[key + ["est", "se"]], on=key, suffixes=("_r", ""))
    assert len(m) == len(want)
    np.testing.assert_allclose(m["est"], m["est_r"], atol=1e-3)
    np.testing.assert_allclose(m["se"], m["se_r"], atol=1e-3)
