"""Method validation (notebook 07): the whole pipeline finds the truth it was given.

* :func:`recovery`, :func:`replicate`, :func:`scenarios` — simulate, ingest, clean, measure,
  model and judge many studies with a known truth, in parallel
  (:mod:`hlstudy.validation.replications`); :func:`population_coefficients`,
  :func:`truth_verdict`, :func:`claim_truths` — the truth of each estimand and verdict;
  :func:`estimand_truth`, :func:`attach_estimand`, :func:`attach_icc_estimand` — the
  pseudo-truth of the regressions on scale scores and of the scores' commune ICCs (one very
  large pooled study; :mod:`hlstudy.validation.estimand`);
* :func:`summarize`, :func:`coverage_by_method`, :func:`verdict_confusion`,
  :func:`verdict_rates`, :func:`false_positive_rate` — bias, RMSE, coverage with Monte Carlo
  standard errors, verdict confusion, power, false positives
  (:mod:`hlstudy.validation.summary`);
* :func:`r_agreement`, :func:`r_versions`, :func:`python_versions` — agreement with R
  recomputed from the committed fixtures, software versions (:mod:`hlstudy.validation.ragree`);
* ``python3 make.py validate --replications N`` — the full study, written to
  ``data/validation/`` (:mod:`hlstudy.validation.run`).

See ``docs/validation.md``.
"""

from hlstudy.validation.estimand import (
    attach_estimand,
    attach_icc_estimand,
    estimand_truth,
    pooled_scores,
)
from hlstudy.validation.ragree import python_versions, r_agreement, r_versions
from hlstudy.validation.replications import (
    COLUMNS,
    KINDS,
    LATENT_SEM,
    Scenario,
    claim_truths,
    latent_covariance,
    population_coefficients,
    recovery,
    replicate,
    scenarios,
    truth_verdict,
)
from hlstudy.validation.summary import (
    coverage_by_method,
    coverage_table,
    false_positive_rate,
    summarize,
    verdict_confusion,
    verdict_rates,
)

__all__ = ["COLUMNS", "KINDS", "LATENT_SEM", "Scenario", "attach_estimand", "attach_icc_estimand", "claim_truths",
           "coverage_by_method", "coverage_table", "estimand_truth", "pooled_scores",
           "false_positive_rate", "latent_covariance", "population_coefficients",
           "python_versions", "r_agreement", "r_versions", "recovery", "replicate", "scenarios",
           "summarize", "truth_verdict", "verdict_confusion", "verdict_rates"]
