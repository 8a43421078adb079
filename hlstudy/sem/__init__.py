"""Structural equation models as lavaan 0.6 fits them (``lavaan::sem``).

Public API:

* :func:`sem` -> :class:`SEMResult` (ML, FIML ``missing="ml"``, MLR, bootstrap)
* :func:`parse_model` (lavaan model syntax -> statements)
* warnings :class:`IdentificationWarning`, :class:`ScaleWarning`
"""

from hlstudy.sem.core import IdentificationWarning, ScaleWarning, SEMResult, sem
from hlstudy.sem.syntax import Statement, parse_model

__all__ = ["IdentificationWarning", "ScaleWarning", "SEMResult", "Statement", "parse_model", "sem"]
