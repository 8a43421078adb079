"""Wild cluster restricted bootstrap (WCR) through the ``wildboottest`` library.

The bootstrap itself — Rademacher or Webb weights, the restricted (null-imposed) residuals,
the CR1 t statistic of each draw and the two-sided p-value — is ``wildboottest`` 0.3
(``WildboottestCL``, bootstrap type "11", the WCR11 of MacKinnon, Nielsen & Webb 2023,
*J. Econometrics* 232(2), as in Stata ``boottest`` and R ``fwildclusterboot``).  hlstudy adds
two things the library lacks:

* the **confidence interval by test inversion**, as ``fwildclusterboot::boottest`` and
  ``boottest`` compute it: H0: β_j = r is tested with the library on y − r·x_j (same seed,
  so the same weights for every r) and the interval is {r : p(r) > α}; its two ends are
  found by bisection to 1e-4 standard errors, starting from the CR1 interval;
* a memo of the numba kernel: the library compiles its kernel anew on every call (≈0.3 s);
  while hlstudy calls it, ``njit`` is replaced by a memo keyed on the kernel's code, so one
  compilation serves every call (≈20 ms per test instead of 0.3 s), and numba's disk cache
  serves the next processes.  Results are identical.
* the inversion's ≈35 tests of one coefficient share everything that does not depend on
  the null value r (:class:`_Inversion`): the library's set-up, scores and weights are run
  once (same seed, so the same draws), and each test repeats only the library's own
  operations that involve y − r·x_j, in the library's order (every product associates
  left to right, as in its code).  The bootstrap denominators are the library's
  ``compute_denom`` loop with the draws as the inner loop (:func:`_denominators`): each
  draw's sums are taken in the same order, so the floats are the same, 5× faster.  Every
  t-statistic and p-value equals the library's bit for bit (``tests/test_models.py``).
* the bisection only needs to know on which side of α each p-value falls, and every
  quantity of the test is linear in the null value r (Y = y − r·x_j): the bootstrap
  numerators and the draws' cluster sums are N0 − r·N1 and Z0 − r·Z1, so each denominator
  is a quadratic in r, and t = (b_j − r)/se.  :meth:`_Inversion.pvalue_fast` counts the
  rejections from these forms in O(B) and returns that count only when every draw is
  farther from the rejection threshold than a margin of 10⁻⁹ of the magnitudes of its
  sums (about 10⁵ times their rounding error); otherwise (a near-tie: with full
  enumeration the draw v = 1 reproduces the sample t exactly) it runs the library-order
  test.  Its p-values are therefore the library's floats, and the interval the one of the
  library-order bisection to the bit (``tests/test_speed_sem.py``), ≈7× faster.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from hlstudy.errors import ModelError

_KERNELS: dict = {}


@contextlib.contextmanager
def _memoized_njit():
    import wildboottest.wildboottest as wb

    original = wb.njit

    def njit(*args, **kwargs):
        def decorate(func):
            key = (func.__code__, tuple(sorted(kwargs.items())))
            if key not in _KERNELS:
                # cached on disk by numba (keyed on the kernel's code): a new process loads
                # the compiled kernel instead of compiling it again (~2 s)
                _KERNELS[key] = original(**{"cache": True, **kwargs})(func)
            return _KERNELS[key]

        if args and callable(args[0]):
            return decorate(args[0])
        return decorate

    wb.njit = njit
    try:
        yield
    finally:
        wb.njit = original


def weights_type_for(n_clusters: int) -> str:
    """Rademacher weights, or Webb's six-point weights when there are 12 clusters or fewer."""
    return "webb" if n_clusters <= 12 else "rademacher"


def _pvalue(X, y, cluster, j, reps, seed, weights_type):
    from wildboottest.wildboottest import WildboottestCL

    R = np.zeros(X.shape[1])
    R[j] = 1.0
    boot = WildboottestCL(X=X, Y=y, cluster=cluster, R=R, B=reps, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot.get_weights(weights_type=weights_type)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return float(boot.pvalue), int(boot.B)


_DENOMINATORS = None


def _denominators(Cg, H, v, ssc):
    """``compute_denom`` of ``WildboottestCL.get_denom`` (CRV1), draws in the inner loop.

    For each draw b: ``Z_g = C_g·v_gb − Σ_h v_hb·H_gh`` (h in order, from 0) and
    ``ssc·Σ_g Z_g²`` (g in order, from 0): the library's sums in the library's order, so
    the same floats; the loop over draws is vectorised.  ``v`` is (G, B) float64.
    """
    global _DENOMINATORS
    if _DENOMINATORS is None:
        import numba

        @numba.njit(cache=True)
        def kernel(Cg, H, v, ssc):  # pragma: no cover - compiled
            G, B = v.shape
            vH = np.empty(B)
            Z2 = np.zeros(B)
            for g in range(G):
                vH[:] = 0.0
                for h in range(G):
                    Hgh = H[g, h]
                    for b in range(B):
                        vH[b] += v[h, b] * Hgh
                cg = Cg[g]
                for b in range(B):
                    z = cg * v[g, b] - vH[b]
                    Z2[b] += z * z
            return ssc * Z2

        _DENOMINATORS = kernel
    return _DENOMINATORS(Cg, H, v, ssc)


class _Inversion:
    """The library's WCR11 test of H0: β_j = r for many r, sharing what does not depend on r.

    ``WildboottestCL`` is set up once (``__init__``, ``get_scores("11", impose_null=True)``,
    ``get_weights``); :meth:`pvalue` repeats, for ``y − r·x_j``, exactly the library's
    operations that involve y — cluster cross-products (``__init__``), scores, ``get_numer``,
    ``get_denom`` (:func:`_denominators`), ``get_tboot``, ``get_vcov``, ``get_tstat``,
    ``get_pvalue("two-tailed")`` — with the same operands in the same order.
    """

    def __init__(self, X, y, cluster, j, reps, seed, weights_type):
        from wildboottest.wildboottest import WildboottestCL

        X = np.asarray(X)
        self.X, self.y, self.j = X, np.asarray(y), j
        R = np.zeros(X.shape[1])
        R[j] = 1.0
        boot = WildboottestCL(X=X, Y=self.y, cluster=cluster, R=R, B=reps, seed=seed, parallel=False)
        boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boot.get_weights(weights_type=weights_type)
        if boot.crv_type != "crv1":  # pragma: no cover - fixed by bootstrap_type "11"
            raise ModelError("wild bootstrap: only the CRV1 (type 11) test is inverted")
        self.B, self.G = int(boot.B), boot.G
        self.v = np.ascontiguousarray(boot.v, dtype=np.float64)   # the same values
        self.R, self.tXXinv, self.ssc = R, boot.tXXinv, boot.ssc
        self.rows = [np.where(boot.bootcluster == g) for g in boot.bootclustid]
        self.X_list, self.tXgXg_list = boot.X_list, boot.tXgXg_list
        self.RtXXinv = R @ boot.tXXinv
        A = 1 / (np.transpose(R) @ boot.tXXinv @ R)
        self.tXXinvR_A = boot.tXXinv @ R * A
        # H[g, h] = R @ tXXinv @ tXgXg[g] @ tXXinv @ scores[:, h]: the first four factors
        # (row g of this array; each row contiguous, as the 1-D product it is)
        self.H_rows = np.array([R @ boot.tXXinv @ tXgXg @ boot.tXXinv
                                for tXgXg in boot.tXgXg_list])
        self.n_exact = 0   # tests run in the library's order by pvalue_fast (near-ties)
        self.p0 = self.pvalue_fast(None)

    def pvalue(self, r: float | None) -> float:
        """The library's two-tailed p-value of H0: β_j = r (the same float); ``None``: y itself."""
        t_stat, t_boot = self.statistics(r)
        return float(np.mean(np.abs(t_stat) < abs(t_boot)))                 # get_pvalue

    def _pieces(self, Y, exact: bool = True):
        """The library's y-dependent operations up to the bootstrap: cluster blocks of Y,
        unrestricted and restricted estimates, restricted scores, Cg and H (same floats;
        with ``exact=False`` H is one matrix product, equal up to rounding)."""
        k = self.X.shape[1]
        tXy = np.zeros(k)
        tXgyg_list, Y_list = [], []
        for X_g, rows in zip(self.X_list, self.rows, strict=True):        # __init__
            Y_g = Y[rows]
            tXgyg = np.transpose(X_g) @ Y_g
            Y_list.append(Y_g)
            tXgyg_list.append(tXgyg)
            tXy += tXgyg
        beta_hat = self.tXXinv @ tXy                                         # get_scores
        beta = beta_hat - self.tXXinvR_A * (self.R @ beta_hat - 0)
        scores_mat = np.transpose(np.array([tXgyg - tXgXg @ beta for tXgyg, tXgXg
                                            in zip(tXgyg_list, self.tXgXg_list, strict=True)]))
        Cg = self.RtXXinv @ scores_mat                                       # get_numer
        if not exact:
            return Y_list, beta_hat, beta, Cg, self.H_rows @ scores_mat
        # get_denom: H[g, h] = H_rows[g] @ scores_mat[:, h] for every (g, h), the library's
        # double loop of 1-D products.  np.vecdot runs numpy's same dot routine (BLAS ddot on
        # the same operands with the same strides) for each pair, in one call: the same
        # floats (tests/test_models.py compares every statistic with the library's)
        H = np.vecdot(self.H_rows[:, None, :], scores_mat.T[None, :, :])
        return Y_list, beta_hat, beta, Cg, H

    def statistics(self, r: float | None) -> tuple[np.ndarray, np.ndarray]:
        """``(t_stat, t_boot)`` of the library's test of H0: β_j = r (the same floats)."""
        Y = self.y if r is None else self.y - r * self.X[:, self.j]
        Y_list, beta_hat, _, Cg, H = self._pieces(Y)
        numer = Cg @ self.v
        denom = _denominators(Cg, H, self.v, self.ssc)
        t_boot = numer / np.sqrt(denom)                                      # get_tboot
        se = self._se_of(Y_list, beta_hat)
        t_stat = (np.transpose(self.R) @ beta_hat - 0) / se
        return t_stat, t_boot

    def _se_of(self, Y_list, beta_hat):
        """The library's CR1 standard error (``get_vcov``, ``get_tstat``; the same float)."""
        k = self.X.shape[1]
        meat = np.zeros((k, k))                                              # get_vcov
        for X_g, Y_g in zip(self.X_list, Y_list, strict=True):
            score = np.transpose(X_g) @ (Y_g - X_g @ beta_hat)
            meat += np.outer(score, score)
        vcov = self.tXXinv @ meat @ self.tXXinv
        return np.sqrt(self.ssc * self.R @ vcov @ np.transpose(self.R))     # get_tstat

    # ------------------------------------------------------------------ fast decisions
    def _prepare_linear(self):
        """Everything the test uses is linear in r (Y = y − r·x_j): the bootstrap numerators
        ``N0 − r·N1``, the draws' cluster terms ``Z0 − r·Z1`` (so each denominator is a
        quadratic in r), and t = (b_j − r)/se with se free of r (x_j is a column of X).  With
        them the p-value at any r costs O(B); :meth:`pvalue_fast` uses it only where no draw
        is within a wide rounding margin of the rejection threshold, else the library-order
        computation (:meth:`pvalue`), so its answer is always the library's float.
        """
        v = self.v
        av = np.abs(v)
        habs_rows = np.abs(self.H_rows)
        parts = []
        for Y in (self.y, self.X[:, self.j]):
            Y_list, beta_hat, beta, Cg, H = self._pieces(Y, exact=False)
            z = Cg[:, None] * v - H @ v
            # magnitudes before cancellation: |X_g'||Y_g| + |X_g'X_g||beta| per cluster
            sabs = np.array([np.abs(X_g).T @ np.abs(Y_g) + np.abs(tXgXg) @ np.abs(beta)
                             for X_g, Y_g, tXgXg in zip(self.X_list, Y_list, self.tXgXg_list,
                                                        strict=True)]).T      # k x G
            cabs = np.abs(self.RtXXinv) @ sabs
            habs = habs_rows @ sabs                                           # G x G
            parts.append((Cg @ v, z, cabs @ av, habs.sum(axis=0) @ av, beta_hat, Y_list))
        (n0, z0, a0, h0, bh0, ylist), (n1, z1, a1, h1, _, _) = parts
        ssc = float(self.ssc)
        lin = dict(n0=n0, n1=n1, s00=ssc * np.einsum("gb,gb->b", z0, z0),
                   s01=ssc * np.einsum("gb,gb->b", z0, z1), s11=ssc * np.einsum("gb,gb->b", z1, z1),
                   mn0=a0, mn1=a1, mz0=np.sqrt(ssc) * (a0 + h0), mz1=np.sqrt(ssc) * (a1 + h1))
        lin["as01"] = np.abs(lin["s01"])
        self._lin = lin
        self._lin_max = {k: float(np.max(a)) if a.size else 0.0 for k, a in lin.items()}
        self._bj = float(bh0[self.j])
        self._se = float(self._se_of(ylist, bh0))
        resid = np.concatenate([Y_g - X_g @ bh0 for X_g, Y_g in zip(self.X_list, ylist,
                                                                    strict=True)])
        self._kappa = (float(np.linalg.norm(self.y)), float(np.linalg.norm(self.X[:, self.j])),
                       float(np.linalg.norm(resid)))

    #: margin relative to the magnitudes of the sums (before cancellation): about 10^5 times
    #: their rounding error (eps·(k + G)), so a draw outside it is decided as the library does
    _MARGIN = 1e-9

    def _certain(self, r, t, u, d, w, idx):
        """Which of the draws ``idx`` are decided beyond rounding (u = |numerator|, d the
        denominator, w = |t|·sqrt(d); the library rejects where w < u)."""
        L, m = self._lin, self._MARGIN
        ar, at = abs(r), abs(t)
        ny, nx, nu = self._kappa
        t_err = m * max(1.0, (ny + ar * nx) / nu) * (at + (abs(self._bj) + ar) / self._se)
        # the draws' cluster sums Z carry rounding of order eps·mz; expanding the quadratic
        # adds eps·(S00 + 2|r S01| + r² S11) to the denominator
        mz = L["mz0"][idx] + ar * L["mz1"][idx]
        err_d = m * (L["s00"][idx] + 2.0 * ar * L["as01"][idx] + r * r * L["s11"][idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            sq = np.sqrt(np.maximum(d, 0.0))
            sq_err = np.minimum(np.sqrt(err_d), err_d / sq) + m * mz
            err = m * (L["mn0"][idx] + ar * L["mn1"][idx]) + at * sq_err + t_err * (sq + sq_err)
            return (np.abs(u - w) > err) & (d > err_d) & np.isfinite(w) & np.isfinite(u)

    def pvalue_fast(self, r: float | None) -> float:
        """:meth:`pvalue` (the same float) through the linear forms where that is certain."""
        if not hasattr(self, "_lin"):
            self._prepare_linear()
        se = self._se
        if np.isfinite(se) and se > 0 and self._kappa[2] > 0:
            L, M, m = self._lin, self._lin_max, self._MARGIN
            rr = 0.0 if r is None else float(r)    # y − 0·x_j is y, bit for bit
            t = (self._bj - rr) / se
            u = np.abs(L["n0"] - rr * L["n1"])
            d = L["s00"] - 2.0 * rr * L["s01"] + rr * rr * L["s11"]
            with np.errstate(invalid="ignore"):
                w = abs(t) * np.sqrt(d)
                gap = np.abs(u - w)
            # one bound for every draw (the maxima; sqrt(eps) for the expanded quadratic),
            # then the draws' own bounds where the gap is below it
            ar, at = abs(rr), abs(t)
            ny, nx, nu = self._kappa
            t_err = m * max(1.0, (ny + ar * nx) / nu) * (at + (abs(self._bj) + ar) / se)
            mz = M["mz0"] + ar * M["mz1"]
            e_max = M["s00"] + 2.0 * ar * M["as01"] + rr * rr * M["s11"]
            sq_max = np.sqrt(e_max)
            bound = (m * (M["mn0"] + ar * M["mn1"]) + at * (np.sqrt(m * e_max) + m * mz)
                     + t_err * (sq_max + np.sqrt(m * e_max) + m * mz))
            with np.errstate(invalid="ignore"):
                close = np.flatnonzero(~(gap > 2.0 * bound) | ~(d > 4.0 * m * e_max))
            if close.size == 0 or np.all(self._certain(rr, t, u[close], d[close], w[close], close)):
                return float(np.mean(w < u))
        self.n_exact += 1
        return self.pvalue(r)


def wild_pvalue(X, y, cluster, j, *, null=0.0, reps=9999, seed=0, weights_type=None):
    """p-value of H0: β_j = ``null`` from the WCR bootstrap of ``wildboottest``."""
    n_clusters = int(cluster.max()) + 1
    wt = weights_type or weights_type_for(n_clusters)
    with _memoized_njit():
        p, _ = _pvalue(X, y - null * X[:, j], cluster, j, reps, seed, wt)
    return p


def wild_test(X, y, cluster, j, *, estimate, se_cr1, alpha=0.05, reps=9999, seed=0,
              weights_type=None, tol=1e-4, fast=True):
    """p-value and test-inversion interval of coefficient ``j``.

    Returns ``(p, ci_low, ci_high, reps_used, weights_type)``.  ``se_cr1`` scales the search
    (bisection stops when the bracket is narrower than ``tol·se_cr1``).  ``fast`` decides each
    bisection step with :meth:`_Inversion.pvalue_fast` (the same p-values, so the same
    interval to the bit); ``fast=False`` runs the library-order test at every step (tests).
    """
    if not 0 < alpha < 1:
        raise ModelError(f"alpha must be in (0, 1), got {alpha}")
    n_clusters = int(cluster.max()) + 1
    wt = weights_type or weights_type_for(n_clusters)
    inversion = _Inversion(X, y, cluster, j, reps, seed, wt)
    p_at = inversion.pvalue_fast if fast else inversion.pvalue
    p0, used = inversion.p0, inversion.B
    ends = []
    for sign in (-1.0, 1.0):
        inside = estimate
        step = 2.0 * se_cr1
        outside = estimate + sign * step
        grow = 0
        while p_at(outside) > alpha:
            inside = outside
            step *= 2
            outside = estimate + sign * step
            grow += 1
            if grow > 30:
                raise ModelError("wild bootstrap interval: p-value never falls below alpha "
                                 "(the bootstrap distribution is degenerate; too few clusters?)")
        while abs(outside - inside) > tol * se_cr1:
            mid = (inside + outside) / 2
            if p_at(mid) > alpha:
                inside = mid
            else:
                outside = mid
        ends.append((inside + outside) / 2)
    return p0, ends[0], ends[1], used, wt
