"""Commune diagnostic (thesis part II): Decree 33/2023 compliance, staffing against quota,
workforce profile, quality by commune with intervals, ICC, aggregation to the 2025 communes,
map, and the computed findings for claims D1–D5.

Submodules
    ``intervals``   Wilson (and design-effect Wilson), t, Fisher-z, Monte-Carlo chi-square
    ``compliance``  Decree 33/2023 standards per official: met / not met / not applicable
    ``staffing``    headcount against the quota of the unit's class (classes labelled)
    ``profile``     age, tenure, gender, ethnicity (representation ratio), education, training
    ``quality``     commune means (t or empirical Bayes), ICC (REML and ANOVA), district mean
    ``merger``      aggregation to the 8 communes of 1 July 2025
    ``mapping``     Voronoi map of the 23 units from the registry's coordinates
    ``plots``       caterpillar, share bars, staffing figure
    ``findings``    computed statements for claims D1–D5 (notebook 06's ledger)
    ``columns``     column names (codebook defaults)

Checked against R in ``tests/test_diagnostic.py`` (fixtures in
``tests/fixtures/diagnostic/make_fixtures.R``): ``prop.test(correct = FALSE)``, ``t.test``,
``cor.test``, ``chisq.test``, ``lme4::lmer`` (variance components, fixed effect and its SE,
``ranef(condVar = TRUE)``).
"""

from hlstudy.diagnostic.columns import DEFAULT, Columns
from hlstudy.diagnostic.compliance import (
    ComplianceResult,
    ExceptionPolicy,
    evaluate_standards,
    shares_not_met,
)
from hlstudy.diagnostic.intervals import (
    chisq_mc,
    fisher_correlation,
    share_table,
    t_interval,
    wilson,
    wilson_deff,
)

__all__ = [
    "DEFAULT", "Columns", "ComplianceResult", "ExceptionPolicy", "evaluate_standards",
    "shares_not_met", "share_table", "t_interval", "wilson", "wilson_deff", "chisq_mc",
    "fisher_correlation",
]
