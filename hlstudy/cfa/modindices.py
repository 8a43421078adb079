"""Modification indices (score tests for fixed parameters), as ``lavaan::modindices``.

For each candidate parameter fixed at zero in a fitted single-group CFA — a
loading of an item on another factor (``=~``) or a covariance between two
residuals (``~~``) — the univariate score (Lagrange multiplier) test is

    MI = N g_j^2 / (2 Q_j),   Q_j = H_jj - H_j1 H_11^-1 H_1j,   EPC = -g_j / Q_j

with g the gradient of the ML discrepancy F and H its expected Hessian, both
evaluated at the estimates with the candidate freed (Sorbom 1989).  ``sepc_all``
standardizes the expected change as ``std.all`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlstudy.cfa._estimate import Problem
from hlstudy.cfa._spec import build_spec
from hlstudy.cfa.core import CFAResult, chisq_sf
from hlstudy.errors import ModelError


def modification_indices(result: CFAResult, *, minimum: float = 0.0) -> pd.DataFrame:
    """Modification indices of a single-group CFA, largest first.

    Columns: ``lhs, op, rhs, mi, epc, sepc_all, p`` (p of the 1-df chi-square
    test).  Candidates: every loading of an item on a factor it does not
    measure and every residual covariance not in the model (lavaan's default
    set for a CFA).  Rows with ``mi < minimum`` are dropped.

    Free a residual covariance only when the two items share wording or method
    and the change is theoretically defensible; report every such change.

    Example
    -------
    >>> modification_indices(cfa(hs, model), minimum=10)     # doctest: +SKIP

    R equivalent: ``modindices(fit, sort. = TRUE, minimum.value = minimum)``.
    """
    if not isinstance(result, CFAResult) or result._spec is None:
        raise ModelError("modification_indices needs a CFAResult returned by hlstudy.cfa.cfa")
    spec = result._spec
    if spec.n_groups > 1:
        raise ModelError("modification indices are implemented for single-group CFAs only")
    unit = {s.lhs for s in spec.slots if s.matrix == "lambda" and s.pid < 0
            and all(t.pid < 0 for t in spec.slots if t.matrix == "lambda" and t.lhs == s.lhs)}
    extended = {f: list(items) for f, items in spec.model.items()}
    cand_load = []
    for f in spec.factors:
        if f in unit:
            continue
        for item in spec.observed:
            if item not in extended[f]:
                extended[f].append(item)
                cand_load.append((f, item))
    existing = [(s.lhs, s.rhs) for s in spec.slots if s.matrix == "thetacov"]
    cand_cov = [(a, b) for i, a in enumerate(spec.observed) for b in spec.observed[i + 1:]
                if (a, b) not in existing]
    orth = [f for f in spec.factors
            if any(s.matrix == "phi" and s.pid < 0 and s.lhs != s.rhs and f in (s.lhs, s.rhs)
                   for s in spec.slots)]
    std_lv = any(s.matrix == "phi" and s.lhs == s.rhs and s.pid < 0 and s.lhs not in unit
                 for s in spec.slots)
    ext = build_spec(extended, std_lv=std_lv, unit_loading_factors=sorted(unit),
                     orthogonal_factors=orth, residual_covariances=existing + cand_cov)
    # map the estimates onto the extended parameter vector; candidates start at 0
    key = {(s.matrix, s.lhs, s.rhs): s.pid for s in spec.slots if s.pid >= 0}
    x = np.zeros(ext.n_free)
    is_candidate = np.ones(ext.n_free, dtype=bool)
    for s in ext.slots:
        if s.pid >= 0 and (s.matrix, s.lhs, s.rhs) in key:
            x[s.pid] = result._x[key[(s.matrix, s.lhs, s.rhs)]]
            is_candidate[s.pid] = False
    problem = Problem(ext, result._stats)
    grad, hess = problem.derivatives(x)
    free = ~is_candidate
    h11 = hess[np.ix_(free, free)]
    h21 = hess[np.ix_(is_candidate, free)]
    q = np.diag(hess)[is_candidate] - np.einsum("ij,ij->i", h21, np.linalg.solve(h11, h21.T).T)
    g = grad[is_candidate]
    n = result.n_obs
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = n * g**2 / (2 * q)
        epc = -g / q
    mats = problem.matrices(x)[0]
    sd_obs = np.sqrt(np.diag(mats.sigma))
    with np.errstate(invalid="ignore"):
        sd_lv = np.sqrt(np.diag(mats.phi))
    fidx = {f: k for k, f in enumerate(ext.factors)}
    oidx = {o: i for i, o in enumerate(ext.observed)}
    cand_slots = {s.pid: s for s in ext.slots if s.pid >= 0 and is_candidate[s.pid]}
    rows = []
    for j, pid in enumerate(np.flatnonzero(is_candidate)):
        s = cand_slots[pid]
        if s.matrix == "lambda":
            sepc = epc[j] * sd_lv[fidx[s.lhs]] / sd_obs[oidx[s.rhs]]
        else:
            den = mats.theta[oidx[s.lhs]] * mats.theta[oidx[s.rhs]]
            sepc = epc[j] / np.sqrt(den) if den > 0 else np.nan
        rows.append({"lhs": s.lhs, "op": s.op, "rhs": s.rhs, "mi": float(mi[j]),
                     "epc": float(epc[j]), "sepc_all": float(sepc),
                     "p": float(chisq_sf(mi[j], 1)) if np.isfinite(mi[j]) else np.nan})
    out = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "mi", "epc", "sepc_all", "p"])
    out = out[out["mi"] >= minimum] if minimum > 0 else out
    return out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
