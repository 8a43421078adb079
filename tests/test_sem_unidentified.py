"""hlstudy.sem on a model the data cannot identify (its information matrix cannot be inverted).

Seen on a study of ~100 officials (seed 7): notebook 05's FIML/MLR model gave no ``.scaled``
fit measures at all and the notebook died on ``fm["cfi.scaled"]``.  A fit that cannot be
completed keeps every name of a successful fit, NaN where the inverse is needed, and says so.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy.cfa import IdentificationWarning
from hlstudy.sem import sem

FIX = Path(__file__).parent / "fixtures" / "lavaan"
HS = pd.read_csv(FIX / "hs1939.csv")
HSM = pd.read_csv(FIX / "hs1939_missing.csv")

# The same observed variables (so the same baseline model) in both: x7 loads on textual in
# OK; in BAD it is the single indicator of its own factor, whose variance and x7's residual
# variance only enter var(x7) through their sum: a null direction of the information matrix
# on any data.
OK = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6 + x7"
BAD = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nsolo =~ x7"
COVARIATE = "\ntextual ~ ageyr"  # a fixed-x covariate, as notebook 05's EDU and TENURE

CASES = {  # name: (data, options, with the covariate)
    "complete_mlr": (HS, {"estimator": "MLR"}, False),
    "fiml_mlr": (HSM, {"missing": "ml", "estimator": "MLR"}, False),
    "fiml_mlr_fixed_x": (HSM, {"missing": "ml", "estimator": "MLR"}, True),  # notebook 05
    "fiml_ml": (HSM, {"missing": "ml"}, False),  # raised numpy's LinAlgError before
}


def _fit(data, model, options):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = sem(data, model, **options)
    return res, rec


def _needs_inverse(names) -> set[str]:
    """The measures of the robust test and the FIML-corrected indices: all but the baseline's
    scaled statistic (the independence model's own) and df.scaled (= df)."""
    return {k for k in names
            if (k.endswith((".scaled", ".robust")) and not k.startswith("baseline.")
                and k != "df.scaled")
            or k in ("chisq.scaling.factor", "scaling.factor.h1", "scaling.factor.h0")}


@pytest.mark.parametrize("case", CASES)
def test_unidentified_fit_has_every_measure_of_a_successful_one(case):
    data, options, covariate = CASES[case]
    ok, ok_warnings = _fit(data, OK + (COVARIATE if covariate else ""), options)
    bad, bad_warnings = _fit(data, BAD + (COVARIATE if covariate else ""), options)
    assert ok.identified and ok.converged and not ok_warnings  # the reference is a success
    assert not bad.identified and not bad.converged
    good, fm = ok.fit_measures(), bad.fit_measures()
    assert list(fm.index) == list(good.index)  # the same names, in the same order
    nan = _needs_inverse(fm.index)
    robust = options.get("estimator") == "MLR"
    assert ("cfi.scaled" in nan) == robust
    assert ("cfi.robust" in nan) == (not covariate)  # FIML-corrected: none with fixed-x
    assert set(fm.index[fm.isna()]) == nan  # NaN exactly there; the ML measures computed
    assert np.isfinite(fm["chisq"]) and fm["chisq"] > 0 and fm["df"] > 0
    assert fm["df"] + fm["npar"] == good["df"] + good["npar"]  # the same sample moments
    if robust:
        assert fm["df.scaled"] == fm["df"]
        # the baseline's scaled statistic is the one of the identified model's baseline
        base = ["baseline.chisq", "baseline.chisq.scaled", "baseline.chisq.scaling.factor",
                "baseline.df.scaled", "baseline.pvalue.scaled"]
        np.testing.assert_allclose(fm[base].to_numpy(), good[base].to_numpy(), rtol=1e-9)
    pe = bad.parameter_estimates()
    free = pe["op"].isin(["=~", "~~", "~"]) & (pe["se"] != 0)
    assert pe.loc[free, "se"].isna().all() and np.isfinite(pe.loc[free, "est"]).all()
    # the warning says what is NaN
    ident = [str(w.message) for w in bad_warnings if w.category is IdentificationWarning]
    assert len(ident) == 1 and "solo~~solo" in ident[0] and "standard errors are NaN" in ident[0]
    assert ("robust (MLR) test statistic" in ident[0]) == robust
    assert ("FIML-corrected" in ident[0]) == (case == "fiml_ml")
    assert "NOT CONVERGED" in bad.summary()
