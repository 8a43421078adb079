"""Confirmatory factor analysis and construct validity, matching lavaan and semTools.

Public API (``cfa`` and ``htmt`` are re-exported by :mod:`hlstudy.factor`,
``composite_reliability`` and ``average_variance_extracted`` by
:mod:`hlstudy.reliability`):

* :func:`cfa` -> :class:`CFAResult` (``lavaan::cfa``, ``fitMeasures``, ``standardizedSolution``);
  the model is ``{factor: [items]}`` or lavaan syntax (``=~`` and residual ``~~``)
* :func:`composite_reliability`, :func:`average_variance_extracted`, :func:`fornell_larcker`
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
    composite_reliability,
    fornell_larcker,
    fornell_larcker_met,
    htmt,
    reversed_among_weakest,
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
    "common_method_factor",
    "compare_fits",
    "fit_verdict",
    "composite_reliability",
    "fornell_larcker",
    "fornell_larcker_met",
    "htmt",
    "reversed_among_weakest",
    "measurement_invariance",
    "modification_indices",
    "rmsea_ci",
]
