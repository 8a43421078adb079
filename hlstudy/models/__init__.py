"""Drivers of quality: regressions on scale scores with respondents nested in communes.

* :func:`ols` — least squares with CR2/Satterthwaite (clubSandwich), CR1 (sandwich), HC1 or
  classical SEs, the wild cluster restricted bootstrap (wildboottest), standardized
  coefficients, VIFs (car), residual diagnostics (:func:`diagnostics_table`: for a reader,
  in Vietnamese or English).
* :func:`mixed` — random-intercept model (statsmodels MixedLM, REML) with Satterthwaite df
  as ``lmerTest::lmer`` reports them, and the ICC.
* :func:`sensitivity` — Cinelli & Hazlett (2020) partial R² and robustness values, bounds
  benchmarked on observed covariates.
* :func:`min_detectable_effect` — minimum detectable standardized effect at a given power.

Formulas, sources, the R calls matched and the tolerances: ``docs/models.md``.
"""

from hlstudy.models.mixed import MixedResult, mixed
from hlstudy.models.ols import (
    DIAGNOSTIC_LABELS,
    FewClustersWarning,
    OLSResult,
    diagnostics_table,
    ols,
)
from hlstudy.models.power import min_detectable_effect
from hlstudy.models.sensitivity import robustness_value, sensitivity

__all__ = ["DIAGNOSTIC_LABELS", "FewClustersWarning", "MixedResult", "OLSResult", "diagnostics_table",
           "min_detectable_effect", "mixed", "ols",
           "robustness_value", "sensitivity"]
