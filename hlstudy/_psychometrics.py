"""Numerical core shared by :mod:`hlstudy.reliability` and :mod:`hlstudy.factor`.

Private module: input checks, pairwise-complete correlations (also batched with bootstrap
weights), squared multiple correlations and the factor-extraction fits of psych's ``fa``
(minres, principal axis, maximum likelihood).  Each routine names the R code whose numbers it
reproduces; the public modules document the user-facing behaviour.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from hlstudy.errors import ModelError

# psych::fa bounds the uniquenesses of its optimised fits to [0.005, max(smc, 1)].
PSI_LOWER = 0.005
# psych's ``Pinv`` rank tolerance: singular values below sqrt(eps) * the largest are dropped.
PINV_TOL = float(np.sqrt(np.finfo(float).eps))
# A pairwise overlap has no variance when its sum of squares about the overlap mean is below
# this share of the sum of squares about the column's centre (one-pass formulas leave
# rounding noise of ~1e-16 instead of R's exact 0).
OVERLAP_VAR_TOL = 1e-10


def as_items(items, *, min_items: int = 2, what: str = "items") -> pd.DataFrame:
    """Validate an items table: a DataFrame of numeric columns, at least ``min_items`` of them.

    Returns a float64 copy (NaN for missing).  Raises :class:`ModelError` on anything else.
    """
    if isinstance(items, np.ndarray):
        if items.ndim != 2:
            raise ModelError(f"{what} must be a 2-D table (respondents x items), got {items.ndim}-D")
        items = pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    if not isinstance(items, pd.DataFrame):
        raise ModelError(f"{what} must be a pandas DataFrame (respondents x items), "
                         f"got {type(items).__name__}")
    if items.shape[1] < min_items:
        raise ModelError(f"{what} needs at least {min_items} columns, got {items.shape[1]}")
    if items.columns.duplicated().any():
        dup = sorted(map(str, items.columns[items.columns.duplicated()]))
        raise ModelError(f"{what} has duplicated column names: {dup}")
    bad = [str(c) for c, dt in zip(items.columns, items.dtypes, strict=True)
           if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
    if bad:
        raise ModelError(f"{what} must be numeric; non-numeric columns: {bad}")
    out = items.astype("float64")
    out.columns = [str(c) for c in out.columns]
    if out.shape[0] < 3:
        raise ModelError(f"{what} needs at least 3 respondents, got {out.shape[0]}")
    values = out.to_numpy()
    if np.isinf(values).any():
        raise ModelError(f"{what} contains infinite values")
    n_valid = np.sum(~np.isnan(values), axis=0)
    if (n_valid < 2).any():
        empty = [c for c, k in zip(out.columns, n_valid, strict=True) if k < 2]
        raise ModelError(f"{what}: columns with fewer than 2 answers: {empty}")
    sd = np.nanstd(values, axis=0)
    if (sd <= 0).any():
        const = [c for c, s in zip(out.columns, sd, strict=True) if s <= 0]
        raise ModelError(f"{what}: columns without variance (every answer the same): {const}")
    return out


#: Unweighted pairwise moments already computed, keyed on the data's shape and bytes
#: (least recently used dropped beyond :data:`_MOMENTS_MAX`).
_MOMENTS: OrderedDict = OrderedDict()
_MOMENTS_MAX = 32


def pairwise_moments(x: np.ndarray, weights: np.ndarray | None = None):
    """Pairwise-complete covariance and correlation, as R's ``cov/cor(x, use = "pairwise")``.

    ``x`` is n x k with NaN for missing.  ``weights`` (B x n, non-negative counts) gives B
    weighted versions at once: a bootstrap draw is the weight vector of how often each row
    was drawn, so B resampled matrices cost a few matrix products.  Returns ``(cov, cor, n)``
    with shape k x k (or B x k x k).  Means are taken over the rows where both items are
    observed, exactly as R does for ``use = "pairwise"``.

    Without weights the result is kept by content (the SHA-256 of ``x``'s bytes and its
    shape): alpha, its bootstrap, omega, the EFA and parallel analysis of one scale ask for
    the same matrices; each caller gets its own copies.
    """
    x = np.asarray(x, dtype=float)
    if weights is not None:
        return _pairwise_moments(x, weights)
    key = (x.shape, hashlib.sha256(np.ascontiguousarray(x).tobytes()).digest())
    kept = _MOMENTS.get(key)
    if kept is None:
        kept = tuple(np.array(a, copy=True) for a in _pairwise_moments(x, None))
        _MOMENTS[key] = kept
        if len(_MOMENTS) > _MOMENTS_MAX:
            _MOMENTS.popitem(last=False)
    else:
        _MOMENTS.move_to_end(key)
    return tuple(a.copy() for a in kept)


def _pairwise_moments(x: np.ndarray, weights: np.ndarray | None):
    mask = ~np.isnan(x)
    complete = bool(mask.all())
    # Centre first: the one-pass formulas below then lose no precision.
    centre = np.nanmean(x, axis=0)
    z = np.where(mask, x - centre, 0.0)
    m = mask.astype(float)
    k = x.shape[1]
    if weights is None:
        if complete:
            n = float(x.shape[0])
            s = z.sum(axis=0)
            sxy = z.T @ z
            cov = (sxy - np.outer(s, s) / n) / (n - 1)
            sd = np.sqrt(np.diag(cov))
            cor = cov / np.outer(sd, sd)
            np.fill_diagonal(cor, 1.0)
            return cov, cor, np.full((k, k), n)
        n = m.T @ m
        sx = z.T @ m  # [i, j]: sum of x_i over rows where x_i and x_j are both observed
        sxx = (z * z).T @ m
        sxy = z.T @ z
    else:
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        if complete:
            n = w.sum(axis=1)[:, None, None]
            s = w @ z  # B x k
            sxy = _weighted_outer(w, z, z)
            with np.errstate(invalid="ignore", divide="ignore"):
                cov = (sxy - s[:, :, None] * s[:, None, :] / n) / (n - 1)
                var = np.einsum("bii->bi", cov)
                raw = np.einsum("bii->bi", sxy) / (n[:, :, 0] - 1)
                sd = np.where(var <= OVERLAP_VAR_TOL * raw, np.nan, np.sqrt(np.abs(var)))
                cor = cov / (sd[:, :, None] * sd[:, None, :])
            idx = np.arange(k)
            cor[:, idx, idx] = np.where(np.isnan(sd), np.nan, 1.0)
            return cov, cor, np.broadcast_to(n, cov.shape)
        # Full-column sums, then subtract what the rows with a missing partner contribute:
        # only rows with some missing answer enter the (k^2-wide) corrections.
        sxy = _weighted_outer(w, z, z)
        s1 = w @ z
        s2 = np.einsum("bii->bi", sxy)
        tot = w.sum(axis=1)
        part = ~mask.all(axis=1)
        nm = (~mask[part]).astype(float)
        zp, wp = z[part], w[:, part]
        k1 = wp @ nm  # weighted count of missing answers per item
        n = tot[:, None, None] - k1[:, :, None] - k1[:, None, :] + _weighted_outer(wp, nm, nm)
        sx = s1[:, :, None] - _weighted_outer(wp, zp, nm)
        sxx = s2[:, :, None] - _weighted_outer(wp, zp * zp, nm)
    syx = np.swapaxes(sx, -1, -2)
    syy = np.swapaxes(sxx, -1, -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cxy = sxy - sx * syx / n
        cov = np.where(n >= 2, cxy / (n - 1), np.nan)
        vx = sxx - sx * sx / n
        vy = syy - syx * syx / n
        # no variance of one item within the overlap (R: NA, "the standard deviation is
        # zero"): NaN, never the +-inf of 0/0 in rounding noise
        flat = (vx <= OVERLAP_VAR_TOL * sxx) | (vy <= OVERLAP_VAR_TOL * syy) | (n < 2)
        cor = np.where(flat, np.nan, cxy / np.sqrt(vx * vy))
    idx = np.arange(k)
    cor[..., idx, idx] = np.where(n[..., idx, idx] >= 2, 1.0, np.nan)
    return cov, cor, n


def _weighted_outer(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out[b, i, j] = sum_r w[b, r] a[r, i] b[r, j]`` in row blocks (bounded memory)."""
    rows, k = a.shape
    out = np.zeros((w.shape[0], k, k))
    step = max(1, int(4e6 // max(k * k, 1)))
    for start in range(0, rows, step):
        blk = slice(start, start + step)
        prod = (a[blk, :, None] * b[blk, None, :]).reshape(-1, k * k)
        out += (w[:, blk] @ prod).reshape(-1, k, k)
    return out


def cov2cor(c: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(c))
    r = c / np.outer(sd, sd)
    np.fill_diagonal(r, 1.0)
    return r


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)``, as ``psych::smc`` (pseudo-inverse,
    values clipped to [0, 1])."""
    r = np.asarray(r, dtype=float)
    if np.isnan(r).any():
        raise ModelError("the correlation matrix has missing cells (some item pairs were never "
                         "answered together); drop those items")
    inv = psych_pinv(r)
    with np.errstate(divide="ignore"):
        out = 1.0 - 1.0 / np.diag(inv)
    return np.clip(out, 0.0, 1.0)


def psych_pinv(a: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse as ``psych::Pinv`` (singular values below ``sqrt(eps)`` times the
    largest are dropped); works on a stack of matrices.  For a well-conditioned matrix this is
    the inverse; for the singular correlation matrix of fewer respondents than items it is
    what psych's ``smc`` uses."""
    return np.linalg.pinv(np.asarray(a, dtype=float), rcond=PINV_TOL, hermitian=True)


def undefined_correlations(r: np.ndarray, n: np.ndarray, names, *, what: str) -> ModelError | None:
    """The error to raise when a pairwise correlation matrix has undefined (NaN) cells, or None.

    The message names every pair with its number of shared answers and the reason: never
    answered together, a single shared answer, or no variance of one item within the shared
    answers (R's ``cor(x, use = "pairwise")`` returns NA there with the warning "the standard
    deviation is zero"; psych then stops and asks to drop the items).
    """
    bad = np.argwhere(np.triu(np.isnan(r), 1))
    if bad.size == 0:
        return None
    parts = []
    for i, j in bad[:8]:
        k = int(n[i, j])
        if k == 0:
            why = "never answered together"
        elif k == 1:
            why = "only 1 shared answer"
        else:
            why = (f"no variance within their {k} shared answers: R gives NA with 'the "
                   "standard deviation is zero'")
        parts.append(f"{names[i]} & {names[j]} ({why})")
    more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
    return ModelError(
        f"{what}: the pairwise correlation of {len(bad)} item pair(s) is undefined: "
        + "; ".join(parts) + more + "; drop one item of each pair (psych: 'Please drop "
        "those variables and try again')")


def indefinite_items(r: np.ndarray, names, *, tol: float = PINV_TOL) -> tuple[float, list[str]] | None:
    """``(smallest eigenvalue, items)`` when ``r`` has an eigenvalue clearly below zero
    (below ``-tol`` times the largest), else None.

    A matrix of pairwise-complete correlations can be indefinite, because its cells come from
    different subsets of respondents; that is not collinearity.  The items named are those
    with a weight above .3 in the eigenvector of the smallest eigenvalue.
    """
    vals, vecs = np.linalg.eigh(np.asarray(r, dtype=float))
    if vals[0] >= -tol * vals[-1]:
        return None
    v = vecs[:, 0]
    return float(vals[0]), [names[i] for i in np.nonzero(np.abs(v) > 0.3)[0]]


def collinear_items(r: np.ndarray, names, *, tol: float = PINV_TOL) -> list[list[str]] | None:
    """Groups of items that are (numerically) linear combinations of each other, or None
    when ``r`` has no eigenvalue within ``tol`` times the largest of zero.

    Scale-free (on the correlation matrix): an eigenvalue below ``tol`` times the largest
    marks a dependency; the items with a non-negligible weight (|v| > .05) in its
    eigenvector form one group (a duplicated item gives the pair, x7 = x1 + x2 the three).
    """
    vals, vecs = np.linalg.eigh(np.asarray(r, dtype=float))
    null = np.abs(vals) <= tol * vals[-1]
    if not null.any():
        return None
    groups = []
    for v in vecs[:, null].T:
        members = [names[i] for i in np.nonzero(np.abs(v) > 0.05)[0]]
        if members not in groups:
            groups.append(members)
    return groups


def eigh_desc(a: np.ndarray):
    """Eigen decomposition of a symmetric (stack of) matrix with values in decreasing order."""
    vals, vecs = np.linalg.eigh(a)
    return vals[..., ::-1], vecs[..., ::-1]


@dataclass
class Extraction:
    """Unrotated solution of one fit."""

    loadings: np.ndarray
    converged: bool
    iterations: int
    message: str
    psi: np.ndarray | None = None  # optimised uniquenesses (minres, ml)
    values: np.ndarray | None = None  # eigenvalues psych reports as ``$values``
    communality_iterations: list | None = None


def _loadings_from(vecs, vals, nf):
    return vecs[:, :nf] * np.sqrt(np.maximum(vals[:nf], 0.0))


def _minres_objective(x, s, nf, scale):
    psi = x * scale
    sstar = s.copy()
    np.fill_diagonal(sstar, 1.0 - psi)
    vals, vecs = eigh_desc(sstar)
    vals = np.where(vals < np.finfo(float).eps, 100 * np.finfo(float).eps, vals)
    lam = vecs[:, :nf] * np.sqrt(vals[:nf])
    res = s - lam @ lam.T
    low = res[np.tril_indices_from(res, -1)]
    return float(np.sum(low * low))


def _minres_gradient(x, s, nf, scale):
    psi = x * scale
    vals, vecs = eigh_desc(s - np.diag(psi))
    lam = _loadings_from(vecs, vals, nf)
    g = np.einsum("ij,ij->i", lam, lam) + psi - np.diag(s)
    return g * scale


def _ml_objective(x, s, nf, scale):
    psi = x * scale
    sc = 1.0 / np.sqrt(psi)
    e = np.linalg.eigvalsh(s * np.outer(sc, sc))[::-1][nf:]
    return float(-(np.sum(np.log(e) - e) - nf + s.shape[0]))


def _ml_loadings(psi, s, nf):
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = eigh_desc(s * np.outer(sc, sc))
    load = vecs[:, :nf] * np.sqrt(np.maximum(vals[:nf] - 1.0, 0.0))
    return np.sqrt(psi)[:, None] * load


def _ml_gradient(x, s, nf, scale):
    psi = x * scale
    load = _ml_loadings(psi, s, nf)
    g = np.einsum("ij,ij->i", load, load) + psi - np.diag(s)
    return g / psi**2 * scale


def fit_optim(r: np.ndarray, nf: int, method: str) -> Extraction:
    """minres or ML extraction as psych's internal ``fit()`` in ``fa``.

    The uniquenesses are optimised with L-BFGS-B from ``1 - smc``, bounds [0.005, 1]
    (``max(smc, 1)``), ``parscale = 0.01``, the objective and gradient of psych 2.2.9
    (minres: squared lower-triangle residuals of the reduced matrix with psych's gradient;
    ml: the ``factanal`` likelihood), ``factr = 1e7``, ``lmm = 5``, ``maxit = 100`` as R's
    ``optim`` defaults.  Loadings are then the top eigenvectors of ``R - diag(psi)`` (minres)
    or the scaled ML solution.
    """
    s = np.asarray(r, dtype=float)
    sm = smc(s)
    upper = max(float(sm.max()), 1.0)
    start = np.diag(s) - sm
    scale = 0.01
    if method == "minres":
        fun, jac = _minres_objective, _minres_gradient
    elif method == "ml":
        fun, jac = _ml_objective, _ml_gradient
    else:  # pragma: no cover - guarded by callers
        raise ModelError(f"unknown extraction method {method!r}")
    x0 = np.clip(start, PSI_LOWER, upper) / scale
    res = optimize.minimize(
        fun, x0, args=(s, nf, scale), jac=jac, method="L-BFGS-B",
        bounds=[(PSI_LOWER / scale, upper / scale)] * len(start),
        options={"maxcor": 5, "ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxiter": 100},
    )
    psi = res.x * scale
    if method == "minres":
        vals, vecs = eigh_desc(s - np.diag(psi))
        lam = _loadings_from(vecs, vals, nf)
    else:
        lam = _ml_loadings(psi, s, nf)
    return Extraction(loadings=lam, converged=bool(res.success), iterations=int(res.nit),
                      message=str(res.message), psi=psi)


def fit_pa(r: np.ndarray, nf: int, *, min_err: float = 0.001, max_iter: int = 50) -> Extraction:
    """Iterated principal axis as psych's ``fa(fm = "pa")``: start from SMCs, replace the
    diagonal by the communalities of the ``nf`` leading eigenvectors until the sum of the
    communalities changes by less than ``min_err`` (at most ``max_iter`` passes)."""
    s = np.asarray(r, dtype=float)
    rmat = s.copy()
    np.fill_diagonal(rmat, smc(s))
    comm = float(np.trace(rmat))
    err = comm
    i = 1
    history = []
    converged = True
    vals = None
    lam = None
    while err > min_err:
        vals, vecs = eigh_desc(rmat)
        with np.errstate(invalid="ignore"):
            lam = vecs[:, :nf] * np.sqrt(vals[:nf])
        new = np.einsum("ij,ij->i", lam, lam)
        comm1 = float(new.sum())
        np.fill_diagonal(rmat, new)
        err = abs(comm - comm1)
        if np.isnan(err):
            raise ModelError("principal axis factoring met a negative eigenvalue (imaginary "
                             "loadings); use method='minres' or fewer factors")
        comm = comm1
        history.append(comm1)
        i += 1
        if i > max_iter:
            converged = err <= min_err
            err = 0.0
    return Extraction(loadings=lam, converged=converged, iterations=len(history),
                      message="converged" if converged else f"maximum iteration ({max_iter}) exceeded",
                      values=vals, communality_iterations=history)


def minres_one_factor_batch(r: np.ndarray, *, tol: float = 1e-8, max_iter: int = 300,
                            singular: bool = False) -> np.ndarray:
    """Eigenvalues of the reduced matrices of one-factor minres fits of a stack of correlation
    matrices (B x k x k) -> B x k, decreasing.

    Parallel analysis needs psych's ``fa(R, nfactors = 1)$values`` for every simulated matrix.
    The minres solution is the fixed point where the reduced diagonal equals the model
    communalities.  All matrices are iterated at once from the SMCs (psych's start): each
    step updates the leading eigenvector by a power step (warm start, so no full
    decomposition) and sets the communalities to ``lambda v^2``, kept in [0, 0.995] (psych's
    bounds on the uniquenesses).  This descends into the same solution as psych's L-BFGS-B
    (checked to ~1e-4 on random matrices).  Matrices not converged after ``max_iter`` steps
    are finished by Newton's method on the fixed-point equations from where the iteration
    stopped, and if that fails, refitted with :func:`fit_optim`, psych's own optimiser.
    ``singular=True`` (fewer respondents than items) takes the SMCs from psych's
    pseudo-inverse, as ``psych::smc`` does.
    """
    r = np.asarray(r, dtype=float)
    b, p, _ = r.shape
    idx = np.arange(p)
    inv = psych_pinv(r) if singular else np.linalg.inv(r)
    h = np.clip(1.0 - 1.0 / np.einsum("bii->bi", inv), 0.0, 0.995)
    a = r.copy()
    a[:, idx, idx] = h
    v = np.linalg.eigh(a)[1][:, :, -1]
    # work on compact copies of the still-active matrices; write back when some converge
    ids = np.arange(b)
    aa, vv, hh = a, v, h
    for _ in range(max_iter):
        vv = np.matmul(aa, vv[:, :, None])[:, :, 0]
        vv /= np.sqrt(np.einsum("bi,bi->b", vv, vv))[:, None]
        lam = np.einsum("bi,bi->b", vv, np.matmul(aa, vv[:, :, None])[:, :, 0])
        new = np.clip(lam[:, None] * vv**2, 0.0, 0.995)
        delta = np.abs(new - hh).max(axis=1)
        hh = new
        aa[:, idx, idx] = new
        done = delta < tol
        if done.any():
            a[ids[done]] = aa[done]
            keep = ~done
            ids, aa, vv, hh = ids[keep], aa[keep], vv[keep], hh[keep]
            if ids.size == 0:
                break
    if ids.size:
        a[ids] = aa
    for i in ids:
        h_i = _newton_one_factor(r[i], a[i, idx, idx].copy(), tol=tol)
        if h_i is None:  # psych's own optimiser for the hard cases
            lam = fit_optim(r[i], 1, "minres").loadings
            h_i = (lam**2).sum(axis=1)
        a[i, idx, idx] = h_i
    return np.linalg.eigvalsh(a)[:, ::-1]


def _newton_one_factor(r: np.ndarray, h: np.ndarray, *, tol: float, max_iter: int = 12,
                       upper: float = 0.995):
    """Newton polish of the one-factor fixed point ``h = lambda_1 v_1^2`` (communalities at
    the bound ``upper`` or 0 held fixed), from a point near it.  Returns None unless it ends
    at a fixed point whose bound coordinates are pushed outward (a KKT point)."""
    p = len(h)
    eye = np.eye(p)
    for _ in range(max_iter):
        a = r.copy()
        np.fill_diagonal(a, h)
        w, vec = np.linalg.eigh(a)
        lam, v = w[-1], vec[:, -1]
        target = lam * v**2
        at_upper = (h >= upper - 1e-12) & (target >= upper)
        at_zero = (h <= 1e-12) & (target <= 0)
        free = ~(at_upper | at_zero)
        f = target - h
        if np.abs(f[free]).max(initial=0.0) < tol:
            return h
        k = (vec[:, :-1] / (lam - w[:-1])) @ vec[:, :-1].T
        jac = np.outer(v**2, v**2) + 2 * lam * v[:, None] * k * v[None, :] - eye
        step = np.zeros(p)
        try:
            step[free] = np.linalg.solve(jac[np.ix_(free, free)], f[free])
        except np.linalg.LinAlgError:
            return None
        h = np.clip(h - step, 0.0, upper)
    return None


def wishart_correlations(n_mats: int, n_obs: int, p: int, rng: np.random.Generator) -> np.ndarray:
    """Correlation matrices of ``n_mats`` independent n_obs x p standard-normal samples.

    Drawn without generating the data: the centred cross-product matrix of such a sample is
    Wishart(n_obs - 1, I), sampled by Bartlett's decomposition W = A A' (A lower triangular,
    chi-square diagonal with n_obs - 1 - i degrees of freedom, normal below), so the matrices
    have exactly the distribution of ``cor(matrix(rnorm(n * p), n))`` that psych uses.
    With ``n_obs <= p`` (no Wishart density) the normal data are drawn and correlated.
    """
    if n_obs - 1 < p:
        # Bartlett's decomposition needs n_obs - 1 >= p degrees of freedom; with fewer
        # respondents than items draw the data as psych does (rank-deficient matrices).
        z = rng.standard_normal((n_mats, n_obs, p))
        z -= z.mean(axis=1, keepdims=True)
        w = np.swapaxes(z, 1, 2) @ z
        d = 1.0 / np.sqrt(np.einsum("bii->bi", w))
        out = w * d[:, :, None] * d[:, None, :]
        out[:, np.arange(p), np.arange(p)] = 1.0
        return out
    a = np.zeros((n_mats, p, p))
    low = np.tril_indices(p, -1)
    a[:, low[0], low[1]] = rng.standard_normal((n_mats, len(low[0])))
    dfs = n_obs - 1 - np.arange(p)
    a[:, np.arange(p), np.arange(p)] = np.sqrt(rng.chisquare(dfs, size=(n_mats, p)))
    w = a @ np.swapaxes(a, 1, 2)
    d = 1.0 / np.sqrt(np.einsum("bii->bi", w))
    out = w * d[:, :, None] * d[:, None, :]
    out[:, np.arange(p), np.arange(p)] = 1.0
    return out


def resampled_correlations(x: np.ndarray, n_mats: int, rng: np.random.Generator) -> np.ndarray:
    """Pairwise correlations of ``n_mats`` data sets whose columns are resampled independently
    with replacement (missing values travel with the draws), as ``fa.parallel`` resamples.

    The centred values, their squares and the answered-mask are gathered together and all the
    pairwise sums come from one matrix product per data set (same formulas as
    :func:`pairwise_moments`).  A draw leaving some pair undefined (never answered together, or
    without variance in the shared answers: NA in R, here tested with a tolerance, never
    +-inf) is redrawn, as psych does; endless redrawing is a :class:`ModelError`.
    """
    n, p = x.shape
    mask = ~np.isnan(x)
    zf = np.where(mask, x - np.nanmean(x, axis=0), 0.0).ravel()
    nf = (~mask).ravel()
    wide = n * p >= 2**31
    cols = np.arange(p, dtype=np.int64 if wide else np.int32)
    out = np.empty((n_mats, p, p))
    dtype = np.int16 if n < 2**15 else np.int64
    i = 0
    failed = 0
    while i < n_mats:
        if failed > 20 * n_mats + 100:
            raise ModelError(
                f"parallel analysis: {failed} column resamples left some item pair "
                "without variance in its shared answers; an item has too few (or too uniform) "
                "answers to be resampled - drop it")
        draws = rng.integers(0, n, size=(n, p), dtype=dtype)
        flat = draws.astype(cols.dtype) * p + cols
        zr, miss = zf[flat], nf[flat]
        sxy = zr.T @ zr
        s1, s2 = zr.sum(axis=0), np.diag(sxy)
        rows = miss.any(axis=1)
        mr, zm = miss[rows].astype(float), zr[rows]
        sx = s1[:, None] - zm.T @ mr
        sxx = s2[:, None] - (zm * zm).T @ mr
        k = mr.sum(axis=0)
        cnt = n - k[:, None] - k[None, :] + mr.T @ mr
        with np.errstate(invalid="ignore", divide="ignore"):
            cxy = sxy - sx * sx.T / cnt
            c = cxy / np.sqrt((sxx - sx * sx / cnt) * (sxx.T - sx.T * sx.T / cnt))
            degenerate = ((sxx - sx * sx / cnt <= OVERLAP_VAR_TOL * sxx)
                          | (sxx.T - sx.T * sx.T / cnt <= OVERLAP_VAR_TOL * sxx.T) | (cnt < 2))
        np.fill_diagonal(c, 1.0)
        if degenerate.any() or not np.isfinite(c).all():
            failed += 1  # psych redraws until no NA
            continue
        out[i] = c
        i += 1
    return out


def psych_skew(x: np.ndarray) -> np.ndarray:
    """Sample skewness, type 3 of ``psych::skew`` (= e1071 type 3): ``g1 * ((n-1)/n)^(3/2)``."""
    out = []
    for col in x.T:
        v = col[~np.isnan(col)]
        n = v.size
        d = v - v.mean()
        g = np.sqrt(n) * np.sum(d**3) / np.sum(d**2) ** 1.5
        out.append(g * ((n - 1) / n) ** 1.5)
    return np.array(out)


def psych_kurtosis(x: np.ndarray) -> np.ndarray:
    """Excess kurtosis, type 3 of ``psych::kurtosi``: ``(b2) * (1 - 1/n)^2 - 3``."""
    out = []
    for col in x.T:
        v = col[~np.isnan(col)]
        n = v.size
        d = v - v.mean()
        b2 = n * np.sum(d**4) / np.sum(d**2) ** 2
        out.append(b2 * (1 - 1 / n) ** 2 - 3)
    return np.array(out)
