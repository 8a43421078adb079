"""Method validation (notebook 07): the whole pipeline finds the truth it was given.

* :func:`recovery`, :func:`replicate`, :func:`scenarios` — simulate, clean, measure, model
  and judge many studies with a known truth (:mod:`hlstudy.validation.replications`);
"""

from hlstudy.validation.replications import (
    COLUMNS,
    KINDS,
    Scenario,
    claim_truths,
    latent_covariance,
    population_coefficients,
    recovery,
    replicate,
    scenarios,
    truth_verdict,
)

__all__ = ["COLUMNS", "KINDS", "Scenario", "claim_truths", "latent_covariance",
           "population_coefficients", "recovery", "replicate", "scenarios", "truth_verdict"]
