"""Commune diagnostic (thesis part II): Decree 33/2023 compliance, staffing against quota,
workforce profile, quality by commune with intervals, ICC, aggregation to the 2025 communes,
map, and the computed findings for claims D1–D5.

Submodules: :mod:`~hlstudy.diagnostic.intervals`, :mod:`~hlstudy.diagnostic.compliance`.
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
