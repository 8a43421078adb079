"""Confirmatory factor analysis and construct validity, matching lavaan and semTools.

Public API (``cfa`` and ``htmt`` are re-exported by :mod:`hlstudy.factor`,
``composite_reliability`` and ``average_variance_extracted`` by
:mod:`hlstudy.reliability`):

* :func:`cfa` -> :class:`CFAResult` (``lavaan::cfa``, ``fitMeasures``, ``standardizedSolution``);
  the model is ``{factor: [items]}`` or lavaan syntax (``=~`` and residual ``~~``)
* :func:`composite_reliability`, :func:`average_variance_extracted`, :func:`fornell_larcker`
  (of a listwise CFA or a FIML fit: :func:`listwise_fits`, :func:`cfa_fiml`, :func:`validity_fit`,
  :func:`fit_basis`)
* :func:`htmt` (``semTools::htmt``)
* :func:`common_method_factor` (unmeasured common latent factor comparison)
* :func:`measurement_invariance` (configural / metric / scalar, ``lavTestLRT`` style)
* :func:`modification_indices` (``lavaan::modindices``)
"""

from hlstudy.cfa.compare import (
    INVARIANCE_STEPS,
    InvarianceResult,
    MethodFactorResult,
    common_method_factor,
    measurement_invariance,
)
from hlstudy.cfa.core import (
    CUTOFFS,
    ESTIMATION_KINDS,
    FIT_VERDICTS,
    HU_BENTLER,
    LAVAAN_NAMES,
    CFAResult,
    ConvergenceWarning,
    EstimationProblem,
    FitVerdict,
    HeywoodWarning,
    IdentificationWarning,
    ScaleWarning,
    cfa,
    compare_fits,
    fit_verdict,
    rmsea_ci,
)
from hlstudy.cfa.modindices import modification_indices
from hlstudy.cfa.validity import (
    average_variance_extracted,
    cfa_fiml,
    composite_reliability,
    fit_basis,
    fornell_larcker,
    fornell_larcker_met,
    htmt,
    listwise_fits,
    reversed_among_weakest,
    reversed_within_scales,
    standardized_loadings,
    validity_fit,
)

__all__ = [
    "CUTOFFS",
    "ESTIMATION_KINDS",
    "FIT_VERDICTS",
    "HU_BENTLER",
    "INVARIANCE_STEPS",
    "LAVAAN_NAMES",
    "CFAResult",
    "ConvergenceWarning",
    "EstimationProblem",
    "FitVerdict",
    "HeywoodWarning",
    "IdentificationWarning",
    "InvarianceResult",
    "MethodFactorResult",
    "ScaleWarning",
    "average_variance_extracted",
    "cfa",
    "cfa_fiml",
    "common_method_factor",
    "compare_fits",
    "fit_basis",
    "fit_verdict",
    "composite_reliability",
    "fornell_larcker",
    "fornell_larcker_met",
    "htmt",
    "listwise_fits",
    "reversed_among_weakest",
    "reversed_within_scales",
    "measurement_invariance",
    "modification_indices",
    "rmsea_ci",
    "standardized_loadings",
    "validity_fit",
]
