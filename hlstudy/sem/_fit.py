"""ML and FIML estimation of a RAM model; information matrices and casewise scores.

Objective (lavaan ``estimator = "ML"``; ``fmin`` of lavaan is F / 2)::

    complete data   F = log|Sigma| + tr(S Sigma^-1) - log|S| - p + (ybar - mu)' Sigma^-1 (ybar - mu)
    FIML            F = (1/N) sum_k n_k [log|Sigma_k| + tr(Sigma_k^-1 (S_k + d_k d_k'))] - F_h1

with S_k, ybar_k the moments (divisor n_k) of the rows of missingness pattern k,
Sigma_k, mu_k the model moments of the variables observed in that pattern,
d_k = ybar_k - mu_k, and F_h1 the same quantity at the saturated (EM) estimates,
so that chi-square = N F in both cases (lavaan ``missing = "ml"``; Arbuckle 1996).

Units follow lavaan: the "unit information" is the Hessian (observed) or its
expectation (expected) of -logL / N = F / 2 + const; vcov = (unit information)^-1 / N.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from hlstudy.cfa._estimate import cho_factor, cho_solve
from hlstudy.sem._model import RAM


@dataclass
class Pattern:
    obs: np.ndarray  # indices of observed variables
    y: np.ndarray  # n_k x p_o raw values
    n: int
    mean: np.ndarray
    cov: np.ndarray  # divisor n_k


@dataclass
class Data:
    """Sample information: complete-data moments, or missingness patterns for FIML."""

    n: int
    p: int
    cov: np.ndarray  # sample (complete) or EM (FIML) covariance, divisor N
    mean: np.ndarray
    y: np.ndarray  # N x p, NaN for missing
    fiml: bool
    patterns: list[Pattern] = field(default_factory=list)
    h1_loglik: float = np.nan
    em_iterations: int = 0
    blocks: list = field(default_factory=list)  # patterns stacked by number of observed items

    def __post_init__(self):
        by: dict[int, list[Pattern]] = {}
        for pt in self.patterns:
            by.setdefault(pt.obs.size, []).append(pt)
        for _, pts in sorted(by.items()):
            o = np.stack([pt.obs for pt in pts])
            self.blocks.append((o, np.array([pt.n for pt in pts], dtype=float),
                                np.stack([pt.mean for pt in pts]),
                                np.stack([pt.cov for pt in pts])))

    @functools.cached_property
    def _stacked(self):
        """``(rows, mask, missing_sets)``: the rows stacked in pattern order, missing cells as
        0, and the patterns grouped by number of missing items (for the Schur-complement
        FIML).  Built when first asked for: the complete-data fits (every bootstrap draw of
        a complete-data model) never ask."""
        rows = np.vstack([np.where(np.isnan(full := self._embed(pt)), 0.0, full)
                          for pt in self.patterns])
        mask = np.vstack([np.broadcast_to(np.isin(np.arange(self.p), pt.obs),
                                          (pt.n, self.p)) for pt in self.patterns])
        missing_sets = []  # (missing items (k, m), rows, pattern of each row, n_k)
        groups: dict[int, list] = {}
        start = 0
        for pt in self.patterns:
            mis = np.setdiff1d(np.arange(self.p), pt.obs)
            if mis.size:
                groups.setdefault(mis.size, []).append((mis, start, pt.n))
            start += pt.n
        for _, items in sorted(groups.items()):
            r = np.concatenate([np.arange(st, st + n) for _, st, n in items])
            pat = np.concatenate([np.full(n, k) for k, (_, _, n) in enumerate(items)])
            missing_sets.append((np.stack([m for m, _, _ in items]), r, pat,
                                 np.array([n for _, _, n in items], dtype=float)))
        return rows, mask, missing_sets

    @property
    def rows(self) -> np.ndarray:
        return self._stacked[0]

    @property
    def mask(self) -> np.ndarray:
        return self._stacked[1]

    @property
    def missing_sets(self) -> list:
        return self._stacked[2]

    def _embed(self, pt: Pattern) -> np.ndarray:
        out = np.full((pt.n, self.p), np.nan)
        out[:, pt.obs] = pt.y
        return out

    @classmethod
    def complete(cls, y: np.ndarray) -> Data:
        n, p = y.shape
        mean = y.mean(axis=0)
        cen = y - mean
        cov = cen.T @ cen / n
        pat = Pattern(np.arange(p), y, n, mean, cov)
        d = cls(n=n, p=p, cov=cov, mean=mean, y=y, fiml=False, patterns=[pat])
        _, ld = np.linalg.slogdet(cov)
        d.h1_loglik = float(-n / 2 * (p * np.log(2 * np.pi) + ld + p))
        return d

    @classmethod
    def missing(cls, y: np.ndarray, *, em: bool = True) -> Data:
        n, p = y.shape
        obs = ~np.isnan(y)
        keys, inverse = np.unique(obs, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        patterns = []
        for k in range(keys.shape[0]):
            o = np.flatnonzero(keys[k])
            if o.size == 0:
                continue
            rows = y[inverse == k][:, o]
            m = rows.mean(axis=0)
            c = rows - m
            patterns.append(Pattern(o, rows, rows.shape[0], m, c.T @ c / rows.shape[0]))
        mean0 = np.nanmean(y, axis=0)
        cov0 = np.diag(np.nanvar(y, axis=0))
        d = cls(n=n, p=p, cov=cov0, mean=mean0, y=y, fiml=True, patterns=patterns,
                h1_loglik=0.0)
        if em:  # moments for starting values only when not (bootstrap draws start at estimates)
            d.mean, d.cov, d.h1_loglik, d.em_iterations = em_saturated(d)
        return d


def _sigma_pieces(d: Data, sigma) -> dict | None:
    """The parts of :func:`fiml_sums` that depend on Sigma only: V = Sigma^-1 and per group
    of patterns chol(V_MM) and Q' (and, when first asked for, the log-determinants and
    sum_k n_k Q_k'Q_k).  Remembered on ``d`` for the last Sigma, keyed by its bytes: a
    finite-difference step in a mean parameter, or the gradient after the objective at the
    same point, leaves Sigma bit-identical and reuses them (the same arrays, so the same
    floats).  None when Sigma, or one pattern's block of it, is not positive definite."""
    key = sigma.tobytes()
    memo = getattr(d, "_sigma_memo", None)
    if memo is not None and memo[0] == key:
        return memo[1]
    pieces = None
    try:
        ch = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        ch = None
    if ch is not None:
        v = np.linalg.inv(sigma)
        v = 0.5 * (v + v.T)
        sets = []
        for mis, _rows, pat, _n_k in d.missing_sets:  # patterns stacked by number missing
            vmm = v[mis[:, :, None], mis[:, None, :]]
            try:
                cm = np.linalg.cholesky(vmm)
            except np.linalg.LinAlgError:
                sets = None
                break
            qt = np.linalg.solve(cm, v[mis])  # (k, m, p): Q' = L^-1 V[M, :], L L' = V_MM
            sets.append((cm, qt, qt[pat]))
        if sets is not None:
            pieces = {"ch": ch, "v": v, "sets": sets}
    d._sigma_memo = (key, pieces)
    return pieces


def fiml_sums(d: Data, sigma, mu, *, gradient: bool):
    """Sum over rows of log|Sigma_oo| + r' Sigma_oo^-1 r (or, with ``gradient``, the pair
    (sum_i d/dSigma, sum_i d/dmu) of that sum), through V = Sigma^-1 and per pattern the Schur
    complement: inv(Sigma_oo) embedded = V - Q Q', Q = V[:, M] chol(V_MM)^-T, and
    log|Sigma_oo| = log|Sigma| + log|V_MM| (M the pattern's missing items).  Returns
    None when Sigma is not positive definite.  The parts that depend on Sigma alone come
    from :func:`_sigma_pieces` (computed once per Sigma)."""
    pieces = _sigma_pieces(d, sigma)
    if pieces is None:
        return None
    v = pieces["v"]
    r = np.where(d.mask, d.rows - mu, 0.0)
    z = r @ v
    for (_mis, rows, _pat, _n_k), (_cm, _qt, qr) in zip(d.missing_sets, pieces["sets"],
                                                        strict=True):
        rq = np.einsum("ip,imp->im", r[rows], qr)
        z[rows] -= np.einsum("im,imp->ip", rq, qr)
    if not gradient:  # the log-determinants enter the objective only
        if "logdet" not in pieces:
            logdet = np.full(d.n, 2.0 * np.sum(np.log(np.diag(pieces["ch"]))))
            for (_mis, rows, pat, _n_k), (cm, _qt, _qr) in zip(d.missing_sets, pieces["sets"],
                                                               strict=True):
                ld = 2.0 * np.sum(np.log(np.diagonal(cm, axis1=1, axis2=2)), axis=1)
                logdet[rows] += ld[pat]
            pieces["logdet"] = float(np.sum(logdet))
        return float(pieces["logdet"] + np.einsum("ij,ij->", r, z))
    if "qq_sum" not in pieces:
        qq_sum = np.zeros_like(v)
        for (_mis, _rows, _pat, n_k), (_cm, qt, _qr) in zip(d.missing_sets, pieces["sets"],
                                                            strict=True):
            # = einsum("k,kmp,kmq->pq", n_k, qt, qt), the same products summed in the same
            # order (k, then m), as a two-operand einsum (4x faster)
            qq_sum += np.einsum("kmp,kmq->pq", qt * n_k[:, None, None], qt)
        pieces["qq_sum"] = qq_sum
    return d.n * v - pieces["qq_sum"] - z.T @ z, -2.0 * z.sum(axis=0)


def fiml_loglik(d: Data, sigma, mu) -> float:
    tot = fiml_sums(d, sigma, mu, gradient=False)
    if tot is None:
        return -np.inf
    return float(-0.5 * (d.mask.sum() * np.log(2 * np.pi) + tot))


def em_saturated(d: Data, *, tol=1e-11, max_iter=5000):
    """Saturated mean and covariance under MAR by EM (lavaan
    ``lav_mvnorm_missing_h1_estimate_moments``).  E-step through the precision matrix:
    E[y_M | y_O] = mu_M - V_MM^-1 V_MO (y_O - mu_O), Cov[y_M | y_O] = V_MM^-1."""
    p, n = d.p, d.n
    mu = np.nanmean(d.y, axis=0)
    sigma = np.diag(np.nanvar(d.y, axis=0))
    ll_old = fiml_loglik(d, sigma, mu)
    it = 0
    while it < max_iter:
        it += 1
        v = np.linalg.inv(sigma)
        v = 0.5 * (v + v.T)
        r = np.where(d.mask, d.rows - mu, 0.0)
        yhat = np.where(d.mask, d.rows, mu)
        extra = np.zeros((p, p))
        for mis, rows, pat, n_k in d.missing_sets:
            vmm_inv = np.linalg.inv(v[mis[:, :, None], mis[:, None, :]])  # (k, m, m)
            vmo_r = np.einsum("imp,ip->im", v[mis][pat], r[rows])
            adj = -np.einsum("imj,ij->im", vmm_inv[pat], vmo_r)
            yhat[rows[:, None], mis[pat]] = mu[mis[pat]] + adj
            np.add.at(extra, (mis[:, :, None], mis[:, None, :]), n_k[:, None, None] * vmm_inv)
        mu = yhat.mean(axis=0)
        sigma = (yhat.T @ yhat + extra) / n - np.outer(mu, mu)
        sigma = 0.5 * (sigma + sigma.T)
        ll = fiml_loglik(d, sigma, mu)
        if abs(ll - ll_old) < tol * max(1.0, abs(ll)):
            ll_old = ll
            break
        ll_old = ll
    return mu, sigma, ll_old, it


def pattern_loglik(patterns, sigma, mu) -> float:
    """Observed-data log-likelihood sum_i log N(y_i,o; mu_o, Sigma_oo)."""
    total = 0.0
    for pt in patterns:
        o = pt.obs
        s = sigma[np.ix_(o, o)]
        try:
            c = cho_factor(s)
        except (np.linalg.LinAlgError, ValueError):
            return -np.inf
        ld = 2.0 * np.sum(np.log(np.diag(c[0])))
        d = pt.mean - mu[o]
        tr = np.trace(cho_solve(c, pt.cov + np.outer(d, d)))
        total += -0.5 * pt.n * (o.size * np.log(2 * np.pi) + ld + tr)
    return float(total)


def em_saturated_reference(patterns, p, *, tol=1e-11, max_iter=5000):
    """Saturated mean and covariance under MAR by EM (lavaan ``lav_mvnorm_missing_h1_estimate_moments``)."""
    n = sum(pt.n for pt in patterns)
    # start: available-case means and variances, zero covariances
    s1 = np.zeros(p)
    cnt = np.zeros(p)
    s2 = np.zeros(p)
    for pt in patterns:
        s1[pt.obs] += pt.mean * pt.n
        cnt[pt.obs] += pt.n
    mu = s1 / np.maximum(cnt, 1)
    for pt in patterns:
        s2[pt.obs] += pt.n * (np.diag(pt.cov) + (pt.mean - mu[pt.obs]) ** 2)
    sigma = np.diag(s2 / np.maximum(cnt, 1))
    ll_old = pattern_loglik(patterns, sigma, mu)
    it = 0
    while it < max_iter:
        it += 1
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for pt in patterns:
            o = pt.obs
            mis = np.setdiff1d(np.arange(p), o)
            if mis.size == 0:
                t1 += pt.n * pt.mean
                t2 += pt.n * (pt.cov + np.outer(pt.mean, pt.mean))
                continue
            soo = sigma[np.ix_(o, o)]
            smo = sigma[np.ix_(mis, o)]
            b = np.linalg.solve(soo, smo.T).T  # regression of missing on observed
            yhat = np.empty((pt.n, p))
            yhat[:, o] = pt.y
            yhat[:, mis] = mu[mis] + (pt.y - mu[o]) @ b.T
            resid = sigma[np.ix_(mis, mis)] - b @ smo.T
            t1 += yhat.sum(axis=0)
            t2 += yhat.T @ yhat
            t2[np.ix_(mis, mis)] += pt.n * resid
        mu = t1 / n
        sigma = t2 / n - np.outer(mu, mu)
        sigma = 0.5 * (sigma + sigma.T)
        ll = pattern_loglik(patterns, sigma, mu)
        if abs(ll - ll_old) < tol * max(1.0, abs(ll)):
            ll_old = ll
            break
        ll_old = ll
    return mu, sigma, ll_old, it


class Problem:
    """Objective, gradient and information of one RAM model on one data set."""

    def __init__(self, ram: RAM, data: Data, meanstructure: bool):
        self.ram = ram
        self.data = data
        self.ms = meanstructure
        self.q = ram.model.n_free
        self._memo = None
        self._inv_memo = None
        if data.fiml:
            self.const = -2.0 * data.h1_loglik / data.n - sum(
                pt.n * pt.obs.size for pt in data.patterns) * np.log(2 * np.pi) / data.n
        else:
            _, self.logdet_s = np.linalg.slogdet(data.cov)

    def _implied(self, x):
        """``ram.implied(x)``, remembered for the last x (by value): an optimiser asks for the
        objective, the gradient and the curvature at the same point in turn.  The arrays are
        returned as computed (the same floats) and never written to by this class."""
        key = np.asarray(x, dtype=float).tobytes()
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        out = self.ram.implied(x)
        self._memo = (key, out)
        return out

    def _sigma_inverse(self, sigma):
        """``np.linalg.inv(sigma)``, remembered for the last Sigma (keyed by its bytes): the
        gradient and the expected information of one point (``curvature``) both need it.
        The same array is returned (the same floats); callers never write to it."""
        key = sigma.tobytes()
        if self._inv_memo is not None and self._inv_memo[0] == key:
            return self._inv_memo[1]
        v = np.linalg.inv(sigma)
        self._inv_memo = (key, v)
        return v

    # ---------------------------------------------------------------- objective
    def objective(self, x) -> float:
        try:
            sigma, mu, *_ = self._implied(x)
        except np.linalg.LinAlgError:
            return np.inf
        return self.objective_moments(sigma, mu)

    def objective_moments(self, sigma, mu) -> float:
        d = self.data
        if not d.fiml:
            try:
                c = cho_factor(sigma)
            except (np.linalg.LinAlgError, ValueError):
                return np.inf
            ld = 2.0 * np.sum(np.log(np.diag(c[0])))
            f = ld + np.trace(cho_solve(c, d.cov)) - self.logdet_s - d.p
            if self.ms:
                r = d.mean - mu
                f += r @ cho_solve(c, r)
            return float(f)
        return self._fiml_terms(sigma, mu, gradient=False)

    def _fiml_terms(self, sigma, mu, *, gradient: bool):
        out = fiml_sums(self.data, sigma, mu, gradient=gradient)
        n = self.data.n
        if out is None:
            return np.inf if not gradient else (None, None)
        if not gradient:
            return float(out / n - self.const)
        return out[0] / n, out[1] / n

    def objective_reference(self, sigma, mu) -> float:
        """FIML objective pattern by pattern (slow; for tests)."""
        d = self.data
        total = 0.0
        for o, n, m, c in d.blocks:
            sb = sigma[o[:, :, None], o[:, None, :]]
            try:
                ch = np.linalg.cholesky(sb)
            except np.linalg.LinAlgError:
                return np.inf
            ld = 2.0 * np.log(np.diagonal(ch, axis1=1, axis2=2)).sum(axis=1)
            r = m - mu[o]
            cc = c + r[:, :, None] * r[:, None, :]
            tr = np.trace(np.linalg.solve(sb, cc), axis1=1, axis2=2)
            total += float(n @ (ld + tr))
        return float(total / d.n - self.const) if np.isfinite(total) else np.inf

    # ---------------------------------------------------------------- gradient
    def moment_gradient(self, sigma, mu):
        """dF/dSigma (full symmetric p x p, as the matrix W with dF = sum(W * dSigma)) and dF/dmu."""
        d = self.data
        p = d.p
        if not d.fiml:
            v = self._sigma_inverse(sigma)
            r = d.mean - mu if self.ms else np.zeros(p)
            w = v @ (sigma - d.cov - np.outer(r, r)) @ v
            gmu = -2.0 * v @ r if self.ms else np.zeros(p)
            return w, gmu
        return self._fiml_terms(sigma, mu, gradient=True)

    def moment_gradient_reference(self, sigma, mu):
        """FIML moment gradient pattern by pattern (slow; for tests)."""
        d = self.data
        p = d.p
        w = np.zeros((p, p))
        gmu = np.zeros(p)
        for o, n, m, c in d.blocks:
            v = np.linalg.inv(sigma[o[:, :, None], o[:, None, :]])
            r = m - mu[o]
            cc = c + r[:, :, None] * r[:, None, :]
            wk = n[:, None, None] * (v - v @ cc @ v)
            k = o.shape[0]
            full = np.zeros((k, p, p))
            kk = np.arange(k)[:, None, None]
            full[kk, o[:, :, None], o[:, None, :]] = wk  # indices unique within a pattern
            w += full.sum(axis=0)
            fm = np.zeros((k, p))
            fm[np.arange(k)[:, None], o] = -2.0 * n[:, None] * np.einsum("kij,kj->ki", v, r)
            gmu += fm.sum(axis=0)
        return w / d.n, gmu / d.n

    def gradient(self, x):
        """Analytic gradient of F; NaN where F is undefined (an implied covariance, or with
        FIML one pattern's block of it, not positive definite: ``objective`` is then inf)."""
        try:
            sigma, mu, e, sall, mall = self._implied(x)
        except np.linalg.LinAlgError:
            return np.full(len(x), np.nan)
        w, gmu = self.moment_gradient(sigma, mu)
        if w is None:
            return np.full(len(x), np.nan)
        return self.ram.contract(w, gmu, e, sall, mall)

    def gradient_reference(self, x):
        """Same as :meth:`gradient` through the full Jacobian (slow; for tests)."""
        sigma, mu, e, sall, mall = self.ram.implied(x)
        ds, dm = self.ram.jacobian(x, e, sall, mall)
        w, gmu = self.moment_gradient(sigma, mu)
        return np.tensordot(ds, w, axes=([1, 2], [0, 1])) + dm @ gmu

    def expected_hessian(self, x):
        """E[d2F] for complete data at the model moments: tr(V dS_a V dS_b) + 2 dmu_a' V dmu_b.

        For FIML it is used as the scoring metric only (the complete-data form).
        """
        sigma, mu, e, sall, mall = self._implied(x)
        v = self._sigma_inverse(sigma)
        return self.ram.expected_info(0.5 * (v + v.T), e, sall, mall, self.ms)

    def expected_hessian_reference(self, x):
        """Same as :meth:`expected_hessian` through the full Jacobian (slow; for tests)."""
        sigma, mu, e, sall, mall = self.ram.implied(x)
        ds, dm = self.ram.jacobian(x, e, sall, mall)
        v = np.linalg.inv(sigma)
        a = np.matmul(v, ds)  # (q, p, p)
        q = ds.shape[0]
        h = a.reshape(q, -1) @ a.transpose(0, 2, 1).reshape(q, -1).T
        if self.ms:
            h += 2.0 * dm @ v @ dm.T
        return 0.5 * (h + h.T)

    def curvature(self, x):
        return self.gradient(x), self.expected_hessian(x)

    def observed_hessian(self, x):
        """Hessian of F by differences of the analytic gradient.

        Central differences (step 1e-5 max(1, |x|)) up to 100 parameters; above, forward
        differences (step 1e-6 max(1, |x|); relative error about 1e-6, far below the 1e-3
        tolerance of the reported standard errors) to halve the cost on large models.
        """
        q = len(x)
        h = np.empty((q, q))
        central = q <= 100
        g0 = None if central else self.gradient(x)
        for k in range(q):
            step = (1e-5 if central else 1e-6) * max(1.0, abs(x[k]))
            xp = x.copy()
            xp[k] += step
            gp = self.gradient(xp)
            if central:
                xm = x.copy()
                xm[k] -= step
                gm = self.gradient(xm)
                if np.all(np.isfinite(gp)) and np.all(np.isfinite(gm)):
                    h[k] = (gp - gm) / (2 * step)
                    continue
                # at a boundary (a step leaves the positive-definite region): the one-sided
                # difference on the defined side; NaN if neither side is defined
                g0 = self.gradient(x) if g0 is None else g0
                h[k] = (gp - g0) / step if np.all(np.isfinite(gp)) else (g0 - gm) / step
            else:
                if not np.all(np.isfinite(gp)):
                    xm = x.copy()
                    xm[k] -= step
                    h[k] = (g0 - self.gradient(xm)) / step
                else:
                    h[k] = (gp - g0) / step
        return 0.5 * (h + h.T)

    # ---------------------------------------------------------------- scores
    def casewise_scores(self, x):
        """n x q matrix of d log L_i / d theta (rows in pattern order).

        d log L_i = dmu' V r + (r' V dSigma V r - tr(V dSigma)) / 2 per slot, with the
        rank-2 form of dSigma (see :meth:`RAM.contract`); slots summed into parameters.
        """
        sigma, mu, e, sall, mall = self._implied(x)
        if not self.ms:
            mu = self.data.mean
        ram = self.ram
        p = self.data.p
        c_all = e[:p, :]  # p x n
        g_all = sall[:, :p].T  # p x n  (column j = F Sigma_all e_j)
        ai, aj, _, _ = ram.a
        si, sj, _, _ = ram.s
        mi, _, _, _ = ram.m
        out = []
        for pt in self.data.patterns:
            o = pt.obs
            v = np.linalg.inv(sigma[np.ix_(o, o)])
            z = (pt.y - mu[o]) @ v  # n_k x p_o
            c = c_all[o]
            g = g_all[o]
            zu = z @ c
            zv = z @ g
            cvc = c.T @ v @ c
            cvg = c.T @ v @ g
            sa = zu[:, ai] * zv[:, aj] - cvg[ai, aj]
            if self.ms:
                sa = sa + zu[:, ai] * mall[aj]
            diag = si == sj
            ss = np.where(diag, 0.5, 1.0) * (zu[:, si] * zu[:, sj] - cvc[si, sj])
            sm = zu[:, mi] if self.ms else np.zeros((pt.n, len(mi)))
            out.append(ram.to_params(np.hstack([sa, ss, sm])))
        return np.vstack(out)

    def casewise_scores_reference(self, x):
        """Same as :meth:`casewise_scores` through the full Jacobian (slow; for tests)."""
        sigma, mu, e, sall, mall = self.ram.implied(x)
        ds, dm = self.ram.jacobian(x, e, sall, mall)
        if not self.ms:
            mu = self.data.mean
        out = []
        for pt in self.data.patterns:
            o = pt.obs
            v = np.linalg.inv(sigma[np.ix_(o, o)])
            z = (pt.y - mu[o]) @ v
            dso = ds[:, o][:, :, o]
            t1 = z @ dm[:, o].T if self.ms else 0.0
            zd = np.einsum("ij,qjl->iql", z, dso)
            quad = np.einsum("iql,il->iq", zd, z)
            tr = np.einsum("jl,qlj->q", v, dso)
            out.append(t1 + 0.5 * (quad - tr[None, :]))
        return np.vstack(out)


def h1_information_reference(data: Data, keep: np.ndarray):
    """A1 and B1 of the saturated model at the h1 (sample or EM) moments, in (mu, vech Sigma).

    A1: unit observed information (-Hessian of logL / N); B1: mean cross-product of the
    casewise scores.  ``keep`` masks the moments of fixed-x covariates (lavaan drops them).
    """
    p = data.p
    mu, sigma = data.mean, data.cov
    tri = np.tril_indices(p)
    nv = len(tri[0])
    dim = p + nv
    hess = np.zeros((dim, dim))
    scores = []
    vpos = np.full((p, p), -1)
    vpos[tri] = np.arange(nv)
    vpos[tri[1], tri[0]] = np.arange(nv)
    for pt in data.patterns:
        o = pt.obs
        po = o.size
        v = np.linalg.inv(sigma[np.ix_(o, o)])
        r = pt.y - mu[o]
        z = r @ v
        # scores
        sc = np.zeros((pt.n, dim))
        sc[:, o] = z
        g = 0.5 * (z[:, :, None] * z[:, None, :] - v[None])  # n x po x po
        ot = np.tril_indices(po)
        fac = np.where(ot[0] == ot[1], 1.0, 2.0)
        sc[:, p + vpos[o[ot[0]], o[ot[1]]]] = g[:, ot[0], ot[1]] * fac
        scores.append(sc)
        # Hessian (sum over the pattern's rows), directly in vech coordinates:
        # d2 l[E, F] = tr(V E V F) / 2 - tr(V E V F V C) (E, F symmetric), i.e. for
        # E = e_a e_b' + e_b e_a', F = e_c e_d' + e_d e_c' the entry
        # V_ac X_bd + V_ad X_bc + V_bc X_ad + V_bd X_ac with X = V / 2 - V C V
        # (halved once for a == b and once for c == d)
        dbar = pt.mean - mu[o]
        c = pt.cov + np.outer(dbar, dbar)
        xm = 0.5 * v - v @ c @ v
        w = v @ dbar
        idx_m = o
        idx_v = p + vpos[o[ot[0]], o[ot[1]]]
        a_, b_ = ot
        half = np.where(a_ == b_, 0.5, 1.0)
        vad = v[np.ix_(a_, b_)]
        xad = xm[np.ix_(a_, b_)]
        blk = (v[np.ix_(a_, a_)] * xm[np.ix_(b_, b_)] + vad * xad.T + vad.T * xad
               + v[np.ix_(b_, b_)] * xm[np.ix_(a_, a_)])
        blk *= pt.n * half[:, None] * half[None, :]
        hess[np.ix_(idx_v, idx_v)] += blk
        hess[np.ix_(idx_m, idx_m)] += -pt.n * v
        # mu x vech: d/dSigma[E] of V r summed = -n V E w
        mv = -pt.n * (v[:, a_] * w[b_][None, :] + v[:, b_] * w[a_][None, :]) * half[None, :]
        hess[np.ix_(idx_m, idx_v)] += mv
        hess[np.ix_(idx_v, idx_m)] += mv.T
    a1 = -hess / data.n
    s = np.vstack(scores)
    b1 = s.T @ s / data.n
    return a1[np.ix_(keep, keep)], b1[np.ix_(keep, keep)]


def _kron_vech_blocks(a: np.ndarray, b: np.ndarray, chunk: int):
    """Row blocks (rows, block) of D'(A kron B)D (see :func:`_kron_vech`)."""
    p = a.shape[0]
    i, j = np.tril_indices(p)
    nv = len(i)
    half = np.where(i == j, 0.5, 1.0)
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    for s0 in range(0, nv, chunk):
        r = slice(s0, min(s0 + chunk, nv))
        ai, aj, bi, bj = a[i[r]], a[j[r]], b[i[r]], b[j[r]]
        blk = ai[:, i] * bj[:, j]                      # A_ik B_jl
        blk += ai[:, j] * bt[j[r]][:, i]              # A_il B_jk (B_jk = B'_kj)
        blk += at[j[r]][:, i] * bi[:, j]              # A_jk B_il (A_jk = A'_kj)
        blk += aj[:, j] * bi[:, i]                    # A_jl B_ik
        blk *= half[r, None]
        blk *= half[None, :]
        yield r, blk


def _kron_vech(a: np.ndarray, b: np.ndarray, *, out: np.ndarray | None = None,
               chunk: int = 128) -> np.ndarray:
    """D'(A kron B)D for symmetric A, B: entry ((i,j),(k,l)) = A_ik B_jl + A_il B_jk + A_jk B_il
    + A_jl B_ik, halved once for i == j and once for k == l (vech order of np.tril_indices).

    Computed in blocks of ``chunk`` rows from row gathers of A, B and their transposes (the
    products and sums of the formula in its order, so the floats do not depend on the block
    size), written into ``out`` (nv x nv, a view is fine) when given: no nv x nv temporary.
    """
    nv = a.shape[0] * (a.shape[0] + 1) // 2
    if out is None:
        out = np.empty((nv, nv))
    for r, blk in _kron_vech_blocks(a, b, chunk):
        out[r] = blk
    return out


def _kron_vech_inner_tril(a: np.ndarray, b: np.ndarray, m: np.ndarray, *,
                          chunk: int = 128) -> float:
    """tr(K M) = sum(K * M) for K = D'(A kron B)D (A, B symmetric, so K is symmetric) and a
    symmetric nv x nv M of which only the lower triangle is read: the lower triangle of K is
    formed block by block (the formula of :func:`_kron_vech`) and summed with weight 2 off the
    diagonal, without any nv x nv temporary."""
    p = a.shape[0]
    i, j = np.tril_indices(p)
    nv = len(i)
    half = np.where(i == j, 0.5, 1.0)
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    total = 0.0
    for s0 in range(0, nv, chunk):
        s1 = min(s0 + chunk, nv)
        r, c = slice(s0, s1), slice(0, s1)
        ic, jc = i[c], j[c]
        ai, aj, bi, bj = a[i[r]], a[j[r]], b[i[r]], b[j[r]]
        blk = ai[:, ic] * bj[:, jc]
        blk += ai[:, jc] * bt[j[r]][:, ic]
        blk += at[j[r]][:, ic] * bi[:, jc]
        blk += aj[:, jc] * bi[:, ic]
        blk *= half[r, None]
        blk *= half[None, c]
        blk *= m[r, c]
        d = np.arange(s1 - s0)
        total += 2.0 * float(blk[:, :s0].sum()) + 2.0 * float(np.tril(blk[:, s0:], -1).sum()) \
            + float(blk[d, s0 + d].sum())
    return total


def h1_information(data: Data, keep: np.ndarray, *, return_scores: bool = False):
    """A1 and B1 of the saturated model at the h1 (sample or EM) moments, in (mu, vech Sigma).

    A1 is the unit observed information -(1/N) d2 logL (lavaan's ``h1.information =
    "unstructured"`` with ``information = "observed"``); B1 the mean cross-product of the
    casewise scores.  ``keep`` masks the moments of fixed-x covariates (lavaan drops them).
    With ``return_scores`` the result is ``(A1, None, S)``, S the N x dim casewise scores
    (B1 = S'S / N; the callers use S itself, so the dim x dim product is not formed).

    With missing data the sum over patterns of D'(V_k kron X_k)D (V_k the embedded inverse of
    the pattern's covariance, X_k = V_k / 2 - V_k C_k V_k) is computed with V_k = V - Q_k Q_k'
    (Schur complement: Q_k of rank = number of missing items): one full Kronecker term
    D'(V kron R)D plus rank-one terms g g' per missing item and row, so the cost is that of a
    complete-data information plus a low-rank update, not one p^4 term per pattern.  The
    rank-one terms are stacked, scaled by the square roots of their weights, into one matrix
    G and added as G'G (a symmetric rank-k product, BLAS syrk); the pair terms g(q_j1, q_j2)
    are symmetric in (j1, j2), so only j1 <= j2 is stacked (weight n_k for j1 < j2, n_k / 2
    on the diagonal).  The scores are assembled for all rows at once from the embedded
    z_i = V_k r_i and the embedded V_k (the same floats as pattern by pattern).
    """
    p = data.p
    mu, sigma = data.mean, data.cov
    tri = np.tril_indices(p)
    ti, tj = tri
    half = np.where(ti == tj, 0.5, 1.0)
    nv = len(ti)
    dim = p + nv
    vfull = np.linalg.inv(sigma)
    vfull = 0.5 * (vfull + vfull.T)
    n_tot = data.n
    r_mat = 0.5 * n_tot * vfull
    mm = -n_tot * vfull  # mu x mu block
    u = np.zeros(p)  # sum_k n_k w_k
    pats = data.patterns
    n_rows = sum(pt.n for pt in pats)
    zf_all = np.zeros((n_rows, p))  # embedded z of every row (pattern order)
    vk_all = np.empty((len(pats), nv))  # vech of each pattern's embedded inverse
    row_pat = np.empty(n_rows, dtype=np.intp)
    n_mis = [p - pt.obs.size for pt in pats]
    n_g = sum(m * (m + 1) // 2 + m * pt.n for m, pt in zip(n_mis, pats, strict=True))
    gm = np.empty((n_g, nv))  # rank-one terms of the vech x vech block, weights folded in
    q_cols, w_rows = [], []  # n_k q_j1 and g(q_j1, w_k), for the mu x vech block
    start = 0
    qs = []  # (rows of the pattern, Q_k) of the patterns with missing items
    for k, pt in enumerate(pats):
        o = pt.obs
        m = n_mis[k]
        v = np.linalg.inv(sigma[np.ix_(o, o)])
        z = (pt.y - mu[o]) @ v  # n_k x p_o
        rows_k = slice(start, start + pt.n)
        zf = zf_all[rows_k]
        zf[:, o] = z
        row_pat[rows_k] = k
        vk = np.zeros((p, p))
        vk[np.ix_(o, o)] = v
        vk_all[k] = vk[ti, tj]
        start += pt.n
        wf = np.zeros(p)
        wf[o] = v @ (pt.mean - mu[o])
        r_mat -= zf.T @ zf
        u += pt.n * wf
        if m:
            seen = np.zeros(p, dtype=bool)
            seen[o] = True
            mis = np.flatnonzero(~seen)
            vmm = vfull[np.ix_(mis, mis)]
            q = vfull[:, mis] @ np.linalg.cholesky(np.linalg.inv(vmm))  # p x |M|, V_k = V - QQ'
            qq = q @ q.T
            r_mat -= pt.n * qq
            mm += pt.n * qq
            qs.append((rows_k, q, wf))
    # g(a, b) = (a[ti] b[tj] + a[tj] b[ti]) * half, the vech of a b' + b a' (diagonal halved)
    zti, ztj = zf_all[:, ti], zf_all[:, tj]
    g0 = 0
    for rows_k, q, wf in qs:
        m, nk = q.shape[1], rows_k.stop - rows_k.start
        qti, qtj = q[ti].T, q[tj].T  # m x nv
        # g(q_j1, q_j2) for j1 <= j2 (weight n/2 on the diagonal, n off it: the pair appears
        # twice in the full sum), then g(q_j1, z_i) for every row i (weight 1)
        i1, i2 = np.triu_indices(m)
        sw = np.sqrt(np.where(i1 == i2, 0.5 * nk, float(nk)))
        pairs = (qti[i1] * qtj[i2] + qtj[i1] * qti[i2]) * half
        gm[g0:g0 + len(sw)] = pairs * sw[:, None]
        g0 += len(sw)
        rows = (qti[:, None, :] * ztj[rows_k][None] + qtj[:, None, :] * zti[rows_k][None]) * half
        gm[g0:g0 + m * nk] = rows.reshape(m * nk, nv)
        g0 += m * nk
        q_cols.append(nk * q)
        w_rows.append((qti * wf[tj] + qtj * wf[ti]) * half)  # m x nv: g(q_j1, w)
    hess = np.empty((dim, dim))
    hvv = _kron_vech(vfull, r_mat, out=hess[p:, p:])
    if n_g:
        hvv += gm.T @ gm  # numpy forms X'X by syrk: exactly symmetric, half the products
    hmv = -(vfull[:, ti] * u[tj][None, :] + vfull[:, tj] * u[ti][None, :]) * half[None, :]
    if q_cols:
        hmv += np.hstack(q_cols) @ np.vstack(w_rows)  # sum_k sum_j1 n_k q_j1 g(q_j1, w_k)'
    hess[:p, :p] = mm
    hess[:p, p:] = hmv
    hess[p:, :p] = hmv.T
    kidx = np.flatnonzero(keep)
    a1 = hess if kidx.size == dim else hess[np.ix_(kidx, kidx)]
    np.divide(a1, -data.n, out=a1)  # = -hess / N, the same floats
    # scores: z (mu block) and (z_a z_b - V_k[a, b]) / 2, doubled off the diagonal (vech block)
    s = np.empty((n_rows, dim))
    s[:, :p] = zf_all
    sv = s[:, p:]
    np.multiply(zti, ztj, out=sv)
    sv -= vk_all[row_pat]
    sv *= 0.5
    sv *= np.where(ti == tj, 1.0, 2.0)
    if kidx.size != dim:
        s = s[:, kidx]
    if return_scores:
        return a1, None, s
    return a1, s.T @ s / data.n
