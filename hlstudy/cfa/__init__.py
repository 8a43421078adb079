"""Confirmatory factor analysis and construct validity, matching lavaan and semTools.

Public API (re-exported by :mod:`hlstudy.factor`):

* :func:`cfa` -> :class:`CFAResult` (``lavaan::cfa``, ``fitMeasures``, ``standardizedSolution``)
* :func:`composite_reliability`, :func:`average_variance_extracted`, :func:`fornell_larcker`
* :func:`htmt` (``semTools::htmt``)
* :func:`common_method_factor` (unmeasured common latent factor comparison)
* :func:`measurement_invariance` (configural / metric / scalar, ``lavTestLRT`` style)
"""

from hlstudy.cfa.core import (
    CUTOFFS,
    LAVAAN_NAMES,
    CFAResult,
    ConvergenceWarning,
    HeywoodWarning,
    cfa,
    rmsea_ci,
)

__all__ = [
    "CUTOFFS",
    "LAVAAN_NAMES",
    "CFAResult",
    "ConvergenceWarning",
    "HeywoodWarning",
    "cfa",
    "rmsea_ci",
]
