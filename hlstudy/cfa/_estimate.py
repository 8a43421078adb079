"""Maximum-likelihood estimation of a CFA (LISREL all-y parameterisation).

Model per group g:  Sigma_g = Lambda Phi Lambda' + Theta,  mu_g = nu + Lambda alpha.

Discrepancy (lavaan ``estimator = "ML"``, ``likelihood = "normal"``), with the
sample covariance S_g computed with divisor N_g::

    F_g = log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p + (ybar_g - mu_g)' Sigma_g^-1 (ybar_g - mu_g)
    F   = sum_g (N_g / N) F_g,         chi-square = N F

F is minimised by Fisher scoring (Gauss-Newton with the expected information
``E[d2F] = tr(Sigma^-1 dSigma_a Sigma^-1 dSigma_b) + 2 dmu_a' Sigma^-1 dmu_b``,
computed in closed form) with Levenberg-Marquardt damping, from lavaan's
default starting values; hard cases (improper solutions, flat ridges) fall
back to BFGS and Newton steps on the observed Hessian (see :func:`fit_ml`).
Standard errors come from the expected information (lavaan's default
``information = "expected"``):  vcov = 2 / N * H^-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy import optimize
from scipy.linalg import lapack

from hlstudy.cfa._spec import Spec


def cho_factor(a) -> tuple[np.ndarray, bool]:
    """``scipy.linalg.cho_factor(a, lower=True, check_finite=False)``: the same LAPACK
    ``dpotrf`` call on the same operand (the same floats, upper triangle left as given) and
    the same errors (``LinAlgError`` when ``a`` is not positive definite), without scipy's
    batch wrapper and argument handling (13 -> 3 us on an 11 x 11 matrix; the objective of
    every CFA and SEM fit calls it).  Anything but a square float64 matrix goes to scipy."""
    a = np.asarray(a)
    if a.dtype != np.float64 or a.ndim != 2 or a.shape[0] != a.shape[1] or not a.size:
        return sla.cho_factor(a, lower=True, check_finite=False)
    c, info = lapack.dpotrf(a, lower=1, clean=0, overwrite_a=0)
    if info > 0:
        raise np.linalg.LinAlgError(
            f"{info}-th leading minor of the array is not positive definite")
    if info < 0:
        raise ValueError(f"LAPACK reported an illegal value in {-info}-th argument on entry "
                         f'to "POTRF".')
    return c, True


def cho_solve(c_and_lower, b) -> np.ndarray:
    """``scipy.linalg.cho_solve(c_and_lower, b, check_finite=False)``: the same LAPACK
    ``dpotrs`` call (the same floats), without scipy's wrapper (25 -> 5 us).  Anything but
    float64 operands of matching shapes goes to scipy."""
    c, lower = c_and_lower
    b = np.asarray(b)
    if (c.dtype != np.float64 or b.dtype != np.float64 or c.ndim != 2 or b.ndim not in (1, 2)
            or c.shape[0] != c.shape[1] or b.shape[0] != c.shape[1] or not b.size):
        return sla.cho_solve(c_and_lower, b, check_finite=False)
    x, info = lapack.dpotrs(c, b, lower=int(lower), overwrite_b=0)
    if info != 0:
        raise ValueError(f"illegal value in {-info}th argument of internal potrs")
    return x


@dataclass
class SampleStats:
    cov: list[np.ndarray]  # divisor N_g
    mean: list[np.ndarray]
    n: list[int]

    @property
    def n_total(self) -> int:
        return int(sum(self.n))


@dataclass
class Matrices:
    lam: np.ndarray
    phi: np.ndarray
    theta: np.ndarray  # vector (diagonal)
    nu: np.ndarray
    alpha: np.ndarray
    sigma: np.ndarray
    mu: np.ndarray


@dataclass
class Estimate:
    x: np.ndarray
    fmin: float
    converged: bool
    iterations: int
    max_gradient: float
    hessian: np.ndarray  # expected information of F (not yet scaled by N/2)
    matrices: list[Matrices]
    message: str


class _Slots:
    """Slots of one group split by matrix, as index arrays for fast filling."""

    def __init__(self, spec: Spec, g: int):
        by = {name: [s for s in spec.slots if s.group == g and s.matrix == name]
              for name in ("lambda", "theta", "thetacov", "phi", "nu", "alpha")}
        self.by = by

        def arrays(slots):
            rows = np.array([s.row for s in slots], dtype=int)
            cols = np.array([s.col for s in slots], dtype=int)
            pids = np.array([s.pid for s in slots], dtype=int)
            fixed = np.array([s.fixed for s in slots], dtype=float)
            return rows, cols, pids, fixed

        self.arr = {name: arrays(slots) for name, slots in by.items()}
        # the free slots of each matrix and every index grid the derivatives use: they depend
        # on the model only, so they are built once here instead of at every iteration
        free = {}
        for name, (rows, cols, pids, _) in self.arr.items():
            keep = pids >= 0
            free[name] = (rows[keep], cols[keep], pids[keep])
        self.free = free
        li, lk, lp = free["lambda"]
        pa, pb, pp = free["phi"]
        ti, _, tp = free["theta"]
        ci, cj, cp = free["thetacov"]
        ni, _, np_ = free["nu"]
        ak, _, ap = free["alpha"]
        self.half = np.where(pa == pb, 0.5, 1.0)
        self.pids_cov = np.concatenate([lp, pp, tp, cp])
        self.pids_mean = np.concatenate([lp, pp, tp, cp, np_, ap])
        self.distinct = {False: len(np.unique(self.pids_cov)) == len(self.pids_cov),
                         True: len(np.unique(self.pids_mean)) == len(self.pids_mean)}
        self.hess_ix = {False: np.ix_(self.pids_cov, self.pids_cov),
                        True: np.ix_(self.pids_mean, self.pids_mean)}
        # the same placement by slices where the slots' parameters form a few runs of
        # consecutive numbers (as build_spec numbers them): a slice add instead of a gather
        # and scatter through index arrays, the same additions element by element
        self.runs = {ms: _runs(pids) if self.distinct[ms] else None
                     for ms, pids in ((False, self.pids_cov), (True, self.pids_mean))}
        # what build_matrices fills, with the free entries' positions found once
        self.fill = {}
        for name, (rows, cols, pids, fixed) in self.arr.items():
            free = pids >= 0
            self.fill[name] = (rows, cols, fixed, free, pids[free], bool(free.all()))
        ix = np.ix_
        self.ix = {
            "li_li": ix(li, li), "lk_lk": ix(lk, lk), "li_lk": ix(li, lk),
            "lk_pa": ix(lk, pa), "li_pb": ix(li, pb), "lk_pb": ix(lk, pb), "li_pa": ix(li, pa),
            "ti_lk": ix(ti, lk), "li_ti": ix(li, ti),
            "pb_pa": ix(pb, pa), "pa_pb": ix(pa, pb), "pb_pb": ix(pb, pb), "pa_pa": ix(pa, pa),
            "ti_pa": ix(ti, pa), "ti_pb": ix(ti, pb), "ti_ti": ix(ti, ti),
            "ci_lk": ix(ci, lk), "li_cj": ix(li, cj), "cj_lk": ix(cj, lk), "li_ci": ix(li, ci),
            "cj_pa": ix(cj, pa), "ci_pb": ix(ci, pb), "cj_pb": ix(cj, pb), "ci_pa": ix(ci, pa),
            "ti_ci": ix(ti, ci), "ti_cj": ix(ti, cj),
            "cj_ci": ix(cj, ci), "ci_cj": ix(ci, cj), "cj_cj": ix(cj, cj), "ci_ci": ix(ci, ci),
        }


def _runs(pids: np.ndarray, most: int = 8):
    """Runs of consecutive parameter numbers in ``pids``: ``[(start, stop, first pid)]``
    (positions ``start:stop`` hold ``first pid, first pid + 1, ...``); None when there are
    more than ``most`` runs (index arrays are then cheaper than many small slices)."""
    if len(pids) == 0:
        return []
    cut = np.flatnonzero(np.diff(pids) != 1) + 1
    if len(cut) + 1 > most:
        return None
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [len(pids)]])
    return [(int(a), int(b), int(pids[a])) for a, b in zip(starts, stops, strict=True)]


def build_matrices(spec: Spec, slots: _Slots, x: np.ndarray, sample_mean: np.ndarray) -> Matrices:
    p, m = spec.p, spec.m

    def values(name):
        rows, cols, fixed, free, pids_free, all_free = slots.fill[name]
        if all_free:
            return rows, cols, x[pids_free]
        vals = fixed.copy()
        vals[free] = x[pids_free]
        return rows, cols, vals

    lam = np.zeros((p, m))
    r, c, v = values("lambda")
    lam[r, c] = v
    phi = np.zeros((m, m))
    r, c, v = values("phi")
    phi[r, c] = v
    phi[c, r] = v
    theta = np.zeros(p)
    r, _, v = values("theta")
    theta[r] = v
    sigma = lam @ phi @ lam.T
    sigma[np.diag_indices(p)] += theta
    r, c, v = values("thetacov")
    sigma[r, c] += v
    sigma[c, r] += v
    if spec.meanstructure:
        nu = np.zeros(p)
        r, _, v = values("nu")
        nu[r] = v
        alpha = np.zeros(m)
        r, _, v = values("alpha")
        alpha[r] = v
        mu = nu + lam @ alpha
    else:
        nu = np.full(p, np.nan)
        alpha = np.full(m, np.nan)
        mu = sample_mean
    return Matrices(lam, phi, theta, nu, alpha, sigma, mu)


def _chol_logdet(a: np.ndarray):
    try:
        c = cho_factor(a)
    except (np.linalg.LinAlgError, ValueError):
        return None, np.nan
    return c, 2.0 * np.sum(np.log(np.diag(c[0])))


class Problem:
    """Objective, gradient and expected information of one model on one data set."""

    def __init__(self, spec: Spec, stats: SampleStats):
        self.spec = spec
        self.stats = stats
        self.slots = [_Slots(spec, g) for g in range(spec.n_groups)]
        self.w = np.array(stats.n, dtype=float) / stats.n_total
        self.logdet_s = []
        for s in stats.cov:
            _, ld = _chol_logdet(s)
            self.logdet_s.append(ld)
        # the last gradient and information computed (x's bytes, gradient, information):
        # the optimiser asks for them again at the point where it stops (see derivatives)
        self._last = None
        self._built = None

    def matrices(self, x):
        """The model matrices of every group at ``x``.  The last ones built are kept (keyed
        on the bytes of ``x``): the optimisers evaluate F and its derivatives at the same
        point one after the other.  Treat them as read-only."""
        key = np.ascontiguousarray(x, dtype=float).tobytes()
        if self._built is not None and self._built[0] == key:
            return self._built[1]
        mats = [build_matrices(self.spec, self.slots[g], x, self.stats.mean[g])
                for g in range(self.spec.n_groups)]
        self._built = (key, mats)
        return mats

    def objective(self, x) -> float:
        p = self.spec.p
        total = 0.0
        for g, mats in enumerate(self.matrices(x)):
            c, ld = _chol_logdet(mats.sigma)
            if c is None or not np.isfinite(ld):
                return np.inf
            s = self.stats.cov[g]
            tr = np.trace(cho_solve(c, s))
            f = ld + tr - self.logdet_s[g] - p
            if self.spec.meanstructure:
                d = self.stats.mean[g] - mats.mu
                f += d @ cho_solve(c, d)
            total += self.w[g] * f
        return float(total)

    def derivatives(self, x, *, hessian: bool = True):
        """Gradient of F and its expected Hessian (Fisher information of F).

        Closed forms per pair of slot types, with V = Sigma^-1, B = Lambda Phi and
        dSigma = e_i b_k' + b_k e_i' (loading), L_a L_b' + L_b L_a' (latent
        covariance; half of it for a variance), e_i e_i' (residual variance), e.g.
        ``tr(V dS_ik V dS_jl) = 2 (V_ij (B'VB)_kl + (VB)_il (VB)_jk)``.  The slot
        values are then summed into parameters (equality constraints share one).

        The last result with ``hessian=True`` is kept (copies, keyed on the bytes of ``x``):
        asked again at the same point, the same numbers are returned without recomputing
        them (as copies); a gradient alone at that point is taken from it too.
        """
        key = np.ascontiguousarray(x, dtype=float).tobytes()
        last = self._last
        if last is not None and last[0] == key:
            return last[1].copy(), (last[2].copy() if hessian else None)
        grad, hess = self._derivatives(x, hessian)
        if hessian:
            self._last = (key, grad.copy(), hess.copy())
        return grad, hess

    def _derivatives(self, x, hessian: bool):
        q = self.spec.n_free
        grad = np.zeros(q)
        hess = np.zeros((q, q)) if hessian else None
        ms = self.spec.meanstructure
        for g, mats in enumerate(self.matrices(x)):
            gs, hs, pids = self._slot_derivatives(g, mats, hessian)
            sl = self.slots[g]
            if sl.distinct[ms]:
                grad[pids] += self.w[g] * gs  # np.add.at's additions when no pid repeats
            else:
                np.add.at(grad, pids, self.w[g] * gs)
            if hessian:
                if sl.distinct[ms] and np.isfinite(hs).all():
                    # distinct parameters (the usual case, equality constraints join slots
                    # of different groups): E' H E with the 0/1 slot-to-parameter matrix E
                    # only places H's cells, exactly, so place them directly
                    whs = self.w[g] * hs
                    runs = sl.runs[ms]
                    if runs is None:
                        hess[sl.hess_ix[ms]] += whs
                    else:
                        for a0, a1, da in runs:
                            for b0, b1, db in runs:
                                hess[da:da + a1 - a0, db:db + b1 - b0] += whs[a0:a1, b0:b1]
                else:
                    e = np.zeros((len(pids), q))
                    e[np.arange(len(pids)), pids] = 1.0
                    hess += self.w[g] * (e.T @ hs @ e)
        if hessian:
            hess = hess + hess.T
            hess *= 0.5  # 0.5 * (H + H'), without a third matrix
        return grad, hess

    def gradients(self, xs: np.ndarray, *, chunk: int = 64) -> np.ndarray:
        """Gradient of F at each row of ``xs`` (B x q -> B x q), all rows at once.

        Row k equals ``derivatives(xs[k], hessian=False)[0]`` bit for bit: the same
        elementwise operations, and the stacked matrix products and inverses that numpy
        computes slice by slice with the same BLAS/LAPACK calls as for one matrix (tested).
        Used by the finite-difference Hessian of :func:`fit_ml` (one gradient per parameter).
        Models with a mean structure, or with a parameter repeated within a group, take the
        gradients one by one.
        """
        xs = np.asarray(xs, dtype=float)
        if self.spec.meanstructure or not all(sl.distinct[False] for sl in self.slots):
            return np.array([self.derivatives(x, hessian=False)[0] for x in xs]).reshape(
                xs.shape)
        out = np.empty_like(xs)
        for start in range(0, len(xs), chunk):
            out[start:start + chunk] = self._gradients_cov(xs[start:start + chunk])
        return out

    def _gradients_cov(self, xs: np.ndarray) -> np.ndarray:
        b_, q = xs.shape
        p, m = self.spec.p, self.spec.m
        grad = np.zeros((b_, q))
        diag = np.arange(p)
        for g, sl in enumerate(self.slots):
            def values(name, sl=sl):
                rows, cols, fixed, free, pids_free, all_free = sl.fill[name]
                if all_free:
                    return rows, cols, xs[:, pids_free]
                vals = np.repeat(fixed[None, :], b_, axis=0)
                vals[:, free] = xs[:, pids_free]
                return rows, cols, vals

            # build_matrices, stacked
            lam = np.zeros((b_, p, m))
            r, c, v = values("lambda")
            lam[:, r, c] = v
            phi = np.zeros((b_, m, m))
            r, c, v = values("phi")
            phi[:, r, c] = v
            phi[:, c, r] = v
            theta = np.zeros((b_, p))
            r, _, v = values("theta")
            theta[:, r] = v
            lam_t = np.swapaxes(lam, 1, 2)
            sigma = lam @ phi @ lam_t
            sigma[:, diag, diag] += theta
            r, c, v = values("thetacov")
            sigma[:, r, c] += v
            sigma[:, c, r] += v
            # _slot_derivatives without a mean structure (d = 0: subtracting its zero outer
            # product leaves every value as it is)
            vinv = np.linalg.inv(sigma)
            vinv = 0.5 * (vinv + np.swapaxes(vinv, 1, 2))
            w = vinv @ (sigma - self.stats.cov[g]) @ vinv
            b = lam @ phi
            wb, lwl = w @ b, lam_t @ w @ lam
            li, lk, _ = sl.free["lambda"]
            pa, pb, _ = sl.free["phi"]
            ti, _, _ = sl.free["theta"]
            ci, cj, _ = sl.free["thetacov"]
            gs = np.concatenate([2.0 * wb[:, li, lk], 2.0 * sl.half * lwl[:, pa, pb],
                                 w[:, ti, ti], 2.0 * w[:, ci, cj]], axis=1)
            grad[:, sl.pids_cov] += self.w[g] * gs
        return grad

    def _slot_derivatives(self, g: int, mats: Matrices, hessian: bool):
        sl = self.slots[g]
        ix = sl.ix
        p = self.spec.p
        lam, phi = mats.lam, mats.phi
        v = np.linalg.inv(mats.sigma)
        v = 0.5 * (v + v.T)
        d = self.stats.mean[g] - mats.mu if self.spec.meanstructure else np.zeros(p)
        w = v @ (mats.sigma - self.stats.cov[g] - np.outer(d, d)) @ v
        b = lam @ phi

        li, lk, lp = sl.free["lambda"]
        pa, pb, pp = sl.free["phi"]
        ti, _, tp = sl.free["theta"]
        ci, cj, cp = sl.free["thetacov"]
        half = sl.half
        # gradient (covariance part)
        wb, lwl = w @ b, lam.T @ w @ lam
        g_parts = [2.0 * wb[li, lk], 2.0 * half * lwl[pa, pb], w[ti, ti], 2.0 * w[ci, cj]]
        if self.spec.meanstructure:
            ni, _, np_ = sl.free["nu"]
            ak, _, ap = sl.free["alpha"]
            pids = sl.pids_mean
        else:
            pids = sl.pids_cov
        # mean-structure Jacobian rows (one per slot, same order as pids)
        if self.spec.meanstructure:
            dmu = np.zeros((len(pids), p))
            n_l, n_p, n_t, n_n = len(lp), len(pp), len(tp), len(np_)
            dmu[np.arange(n_l), li] = mats.alpha[lk]
            off = n_l + n_p + n_t + len(cp)
            dmu[off + np.arange(n_n), ni] = 1.0
            dmu[off + n_n:] = lam[:, ak].T
            vd = v @ d
            g_parts += [np.zeros(n_n), np.zeros(len(ap))]
        gs = np.concatenate(g_parts)
        if self.spec.meanstructure:
            gs = gs - 2.0 * dmu @ vd
        if not hessian:
            return gs, None, pids
        vb, vl = v @ b, v @ lam
        bvb, bvl, lvl = b.T @ vb, b.T @ vl, lam.T @ vl
        # loading x loading
        xlk = vb[ix["li_lk"]]  # [s, t] = VB[i_s, k_t]
        h_ll = 2.0 * (v[ix["li_li"]] * bvb[ix["lk_lk"]] + xlk * xlk.T)
        # loading x latent (co)variance
        h_lp = 2.0 * (bvl[ix["lk_pa"]] * vl[ix["li_pb"]]
                      + bvl[ix["lk_pb"]] * vl[ix["li_pa"]]) * half[None, :]
        # loading x residual variance
        h_lt = 2.0 * vb[ix["ti_lk"]].T * v[ix["li_ti"]]
        # latent x latent
        h_pp = 2.0 * (lvl[ix["pb_pa"]] * lvl[ix["pa_pb"]]
                      + lvl[ix["pb_pb"]] * lvl[ix["pa_pa"]])
        h_pp *= half[:, None] * half[None, :]
        # latent x residual
        h_pt = 2.0 * vl[ix["ti_pa"]].T * vl[ix["ti_pb"]].T * half[:, None]
        # residual x residual
        h_tt = v[ix["ti_ti"]] ** 2
        # residual covariances (dSigma = e_i e_j' + e_j e_i') with everything else
        h_lc = 2.0 * (vb[ix["ci_lk"]].T * v[ix["li_cj"]]
                      + vb[ix["cj_lk"]].T * v[ix["li_ci"]])
        h_pc = 2.0 * half[:, None] * (vl[ix["cj_pa"]].T * vl[ix["ci_pb"]].T
                                      + vl[ix["cj_pb"]].T * vl[ix["ci_pa"]].T)
        h_tc = 2.0 * v[ix["ti_ci"]] * v[ix["ti_cj"]]
        h_cc = 2.0 * (v[ix["cj_ci"]] * v[ix["ci_cj"]]
                      + v[ix["cj_cj"]] * v[ix["ci_ci"]])
        # the covariance-structure blocks copied into place (what np.block builds, without
        # its per-call checking)
        blocks = [[h_ll, h_lp, h_lt, h_lc],
                  [h_lp.T, h_pp, h_pt, h_pc],
                  [h_lt.T, h_pt.T, h_tt, h_tc],
                  [h_lc.T, h_pc.T, h_tc.T, h_cc]]
        edges = [0]
        for part in (li, pa, ti, ci):
            edges.append(edges[-1] + len(part))
        hs = np.zeros((len(pids), len(pids)))
        for r_, row in enumerate(blocks):
            for c_, blk in enumerate(row):
                hs[edges[r_]:edges[r_ + 1], edges[c_]:edges[c_ + 1]] = blk
        if self.spec.meanstructure:
            hs += 2.0 * dmu @ v @ dmu.T
        return gs, hs, pids

    def derivatives_reference(self, x, *, hessian: bool = True):
        """Same as :meth:`derivatives` from explicit dSigma/dx (slow; for tests)."""
        q = self.spec.n_free
        p = self.spec.p
        grad = np.zeros(q)
        hess = np.zeros((q, q)) if hessian else None
        for g, mats in enumerate(self.matrices(x)):
            ds, dmu = self._jacobian(g, mats, q)
            sinv = np.linalg.inv(mats.sigma)
            s = self.stats.cov[g]
            d = self.stats.mean[g] - mats.mu if self.spec.meanstructure else np.zeros(p)
            w_mat = sinv @ (mats.sigma - s - np.outer(d, d)) @ sinv
            gg = np.tensordot(ds, w_mat, axes=([1, 2], [0, 1]))
            if self.spec.meanstructure:
                gg -= 2.0 * dmu @ (sinv @ d)
            grad += self.w[g] * gg
            if hessian:
                a = np.matmul(sinv, ds)  # (q, p, p)
                hg = a.reshape(q, -1) @ a.transpose(0, 2, 1).reshape(q, -1).T
                if self.spec.meanstructure:
                    hg += 2.0 * dmu @ sinv @ dmu.T
                hess += self.w[g] * hg
        if hessian:
            hess = 0.5 * (hess + hess.T)
        return grad, hess

    def _jacobian(self, g: int, mats: Matrices, q: int):
        p = self.spec.p
        ds = np.zeros((q, p, p))
        dmu = np.zeros((q, p))
        lam, phi = mats.lam, mats.phi
        lp = lam @ phi
        arr = self.slots[g].arr
        rows, cols, pids, _ = arr["lambda"]
        for i, k, pid in zip(rows, cols, pids, strict=True):
            if pid < 0:
                continue
            col = lp[:, k]
            ds[pid, i, :] += col
            ds[pid, :, i] += col
            if self.spec.meanstructure:
                dmu[pid, i] += mats.alpha[k]
        rows, cols, pids, _ = arr["phi"]
        for a, b, pid in zip(rows, cols, pids, strict=True):
            if pid < 0:
                continue
            o = np.outer(lam[:, a], lam[:, b])
            ds[pid] += o if a == b else o + o.T
        rows, _, pids, _ = arr["theta"]
        for i, pid in zip(rows, pids, strict=True):
            if pid >= 0:
                ds[pid, i, i] += 1.0
        rows, cols, pids, _ = arr["thetacov"]
        for i, j, pid in zip(rows, cols, pids, strict=True):
            if pid >= 0:
                ds[pid, i, j] += 1.0
                ds[pid, j, i] += 1.0
        if self.spec.meanstructure:
            rows, _, pids, _ = arr["nu"]
            for i, pid in zip(rows, pids, strict=True):
                if pid >= 0:
                    dmu[pid, i] += 1.0
            rows, _, pids, _ = arr["alpha"]
            for k, pid in zip(rows, pids, strict=True):
                if pid >= 0:
                    dmu[pid] += lam[:, k]
        return ds, dmu


def _one_factor_start(s: np.ndarray, std_lv: bool) -> np.ndarray:
    """Starting loadings of one factor from the covariances of its items.

    Marker scale (first loading 1).  Two or three items: the closed-form
    three-indicator solution (a two-item factor borrows a pseudo third item);
    four or more: Hagglund's (1982) FABIN 3 instrumental-variable estimator.
    Loadings are bounded so that the implied factor variance stays above a
    tenth of the marker's variance; a negative triad falls back to unit
    loadings.  This mirrors lavaan's default starting values
    (``lav_start``); with ``std_lv`` loadings are rescaled by the implied
    factor standard deviation.
    """
    k = s.shape[0]
    s11 = s[0, 0]
    lower_psi = 0.1 * s11
    if k < 4:
        if k == 2:
            extra = np.array([np.mean(np.diag(s)), s[1, 0]])
            s = np.block([[s, extra[:, None]], [extra[None, :], np.max(np.diag(s))]])
        s21, s31, s32 = s[1, 0], s[2, 0], s[2, 1]
        if s21 * s31 * s32 < 0 or min(abs(s21), abs(s31), abs(s32)) == 0:
            return np.full(k, 0.7 if std_lv else 1.0)
        psi = s21 * s31 / s32
        lam = np.array([1.0, s32 / s31, s32 / s21])
        psi = min(max(psi, lower_psi), s11)
        for i in (1, 2):
            bound = np.sqrt(s[i, i] / lower_psi)
            lam[i] = min(max(-bound, lam[i]), bound)
        lam = lam[:k]
    else:
        lam = np.ones(k)
        for i in range(1, k):
            rest = [j for j in range(k) if j not in (0, i)]
            s_r1 = s[np.ix_(rest, [0])][:, 0]
            s_ir = s[i, rest]
            try:
                w = np.linalg.solve(s[np.ix_(rest, rest)], s_r1)
                val = (s_ir @ w) / (s_r1 @ w)
            except np.linalg.LinAlgError:
                val = (s_ir @ s_r1) / (s_r1 @ s_r1)
            bound = np.sqrt(s[i, i] / lower_psi)
            lam[i] = min(max(-bound, val), bound) if np.isfinite(val) else 1.0
        if not std_lv:
            return lam
        d = np.outer(lam, lam) / np.sum(lam**2)
        try:
            theta = np.linalg.solve(np.eye(k) - d * d, np.diag(s - d @ s @ d))
        except np.linalg.LinAlgError:
            return np.full(k, 0.7)
        l2 = np.sum(lam**2)
        psi = lam @ (s - np.diag(theta)) @ lam / (l2 * l2)
    if std_lv:
        lam = lam * np.sign(psi) * np.sqrt(abs(psi))
    return lam


def start_values(spec: Spec, stats: SampleStats) -> np.ndarray:
    """Starting values as lavaan's defaults (``start = "default"``).

    Loadings from :func:`_one_factor_start` on each factor's items, latent
    variances 0.05, latent covariances 0, residual variances half of the
    observed variances, intercepts the sample means, latent means 0.
    """
    x = np.full(spec.n_free, np.nan)
    fixed_var = {(s.group, s.lhs): s.pid < 0 for s in spec.slots
                 if s.matrix == "phi" and s.lhs == s.rhs}
    oidx = {o: i for i, o in enumerate(spec.observed)}
    for g in range(spec.n_groups):
        s = stats.cov[g]
        lam_start: dict[tuple[str, str], float] = {}
        for f, items in spec.model.items():
            idx = [oidx[i] for i in items]
            lam = _one_factor_start(s[np.ix_(idx, idx)], fixed_var.get((g, f), False))
            for item, val in zip(items, lam, strict=True):
                lam_start[(f, item)] = float(val) if np.isfinite(val) else 1.0
        for slot in spec.slots:
            if slot.group != g or slot.pid < 0 or np.isfinite(x[slot.pid]):
                continue
            if slot.matrix == "lambda":
                x[slot.pid] = lam_start[(slot.lhs, slot.rhs)]
            elif slot.matrix == "theta":
                x[slot.pid] = 0.5 * s[slot.row, slot.row]
            elif slot.matrix == "thetacov":
                x[slot.pid] = 0.0
            elif slot.matrix == "phi":
                x[slot.pid] = 0.05 if slot.lhs == slot.rhs else 0.0
            elif slot.matrix == "nu":
                x[slot.pid] = stats.mean[g][slot.row]
            elif slot.matrix == "alpha":
                x[slot.pid] = 0.0
    x[~np.isfinite(x)] = 0.05
    return x


def _damped_newton(problem: Problem, x, f, curvature, *, max_iter, step_tol, grad_tol):
    """Levenberg-Marquardt damped Newton iterations with a trust ratio.

    ``curvature(x)`` returns (gradient, curvature matrix).  The step solves
    (C + mu diag(C)) s = g; mu shrinks after good steps and grows after poor
    ones, so the method moves like scoring near the optimum and like a short
    gradient step far from it.
    """
    mu = 1e-3
    grad, curv = curvature(x)
    status = "maximum number of iterations reached"
    it = 0
    for it in range(1, max_iter + 1):
        diag = np.clip(np.abs(np.diag(curv)), 1e-8, None)
        # C + mu diag(C) without forming the diagonal matrix: adding the 0.0 of its
        # off-diagonal cells keeps what that sum did to them (-0.0 becomes 0.0)
        damped = curv + 0.0
        at = np.diag_indices_from(curv)
        cd = np.diag(curv)
        accepted = False
        for _ in range(60):
            damped[at] = cd + mu * diag  # only the diagonal changes with mu (solve copies)
            try:
                step = np.linalg.solve(damped, grad)
            except np.linalg.LinAlgError:
                mu *= 10
                continue
            if not np.all(np.isfinite(step)):
                mu *= 10
                continue
            if np.max(np.abs(step)) < step_tol and mu <= 1e-3:
                return x, f, grad, "converged", it
            predicted = step @ grad - 0.5 * step @ curv @ step
            x_new = x - step
            f_new = problem.objective(x_new)
            actual = f - f_new
            if np.isfinite(f_new) and predicted > 0 and actual > 1e-4 * predicted:
                accepted = True
                ratio = actual / predicted
                if ratio > 0.75:
                    mu = max(mu / 5, 1e-12)
                elif ratio < 0.25:
                    mu *= 2
                break
            if np.isfinite(f_new) and abs(actual) <= 1e-14 * max(1.0, abs(f)) \
                    and (np.max(np.abs(grad)) < grad_tol or _decrement(curv, grad) < 1e-12):
                return x, f, grad, "converged", it  # at the noise floor of F
            mu = mu * 4 if mu > 0 else 1e-6
        if not accepted:
            status = "no acceptable step"
            break
        x, f = x_new, f_new
        grad, curv = curvature(x)
    return x, f, grad, status, it


def _decrement(curv: np.ndarray, grad: np.ndarray) -> float:
    """Newton decrement g' C^-1 g: the predicted decrease of F (times 2), scale-free.

    Unlike max |gradient| it does not depend on the units of the items, so an item
    measured in cents converges by the same rule as one measured in euros.
    """
    try:
        return float(grad @ np.linalg.solve(curv, grad))
    except np.linalg.LinAlgError:
        return np.inf


SCORING_FIRST = 50


def fit_ml(problem: Problem, x0: np.ndarray, *, max_iter: int = 500,
           step_tol: float = 1e-9, grad_tol: float = 1e-5) -> Estimate:
    """Minimise F: damped Fisher scoring, then BFGS and Newton on the observed Hessian.

    Fisher scoring (expected information) is fast and stable from rough starting
    values; when the model fits poorly or the solution is improper it converges
    slowly.  If it has not converged after :data:`SCORING_FIRST` iterations (and
    ``max_iter`` exceeds 200), BFGS from the starting values (like lavaan's nlminb)
    is polished by damped Newton steps on the Hessian of F obtained by differencing
    the analytic gradient; only if that fails does scoring get its remaining
    iterations, followed by the same Newton steps from where it stopped, and the
    best converged result is kept.  Stops when the full step is below ``step_tol``
    in every parameter; convergence also needs max |dF/dx| < ``grad_tol``.
    """
    x = x0.copy()
    f = problem.objective(x)
    if not np.isfinite(f):
        # start with a safe diagonal: inflate residual variances until Sigma is PD
        for _ in range(30):
            for s in problem.spec.slots:
                if s.matrix == "theta" and s.pid >= 0:
                    x[s.pid] = abs(x[s.pid]) * 2 + 0.1
            f = problem.objective(x)
            if np.isfinite(f):
                break
    phase1 = min(max_iter, 200)
    # scoring that has not converged in SCORING_FIRST iterations is crawling (an improper
    # solution, a ridge): hand over to BFGS at once when the fallback is allowed, and give
    # scoring its remaining iterations only if BFGS fails
    first = min(phase1, SCORING_FIRST) if max_iter > phase1 else phase1
    x1, f1, _, msg1, it1 = _damped_newton(
        problem, x, f, problem.derivatives, max_iter=first, step_tol=step_tol,
        grad_tol=grad_tol)
    x, f, message, iterations = x1, f1, msg1, it1
    if message != "converged" and max_iter > phase1 and np.isfinite(f):
        # hard case (improper solution, flat ridge): try two routes and keep the best
        def observed(xx):
            # row k: (gradient at xx + e_k - gradient at xx) / e_k, e_k = 1e-6 max(1, |x_k|);
            # all the shifted gradients at once (Problem.gradients, bit for bit the same)
            g0, _ = problem.derivatives(xx, hessian=False)
            ax = np.abs(xx)
            steps = 1e-6 * np.where(ax > 1.0, ax, 1.0)
            h = (problem.gradients(xx[None, :] + np.diag(steps)) - g0) / steps[:, None]
            return g0, 0.5 * (h + h.T)

        def gradient(xx):
            return problem.derivatives(xx, hessian=False)[0]

        budget = max_iter - phase1
        candidates = []
        # (b) first: quasi-Newton (BFGS, like lavaan's nlminb) from the starting values, then
        # Newton on the observed Hessian; it is cheap (analytic gradient only) and, where
        # scoring crawls towards a poorer stationary point (a common latent factor with an
        # improper variance), it finds lavaan's optimum
        with np.errstate(all="ignore"):
            qn = optimize.minimize(problem.objective, x0, jac=gradient, method="BFGS",
                                   options={"gtol": 1e-7, "maxiter": 20 * budget})
        if np.isfinite(qn.fun):
            xb, fb, _, mb, ib = _damped_newton(problem, qn.x, float(qn.fun), observed,
                                               max_iter=min(budget, 100), step_tol=step_tol,
                                               grad_tol=grad_tol)
            candidates.append((mb != "converged", fb, xb, mb, it1 + qn.nit + ib))
        if (not candidates or candidates[0][0]) and phase1 > first:
            # (b) failed: scoring's remaining iterations
            x1, f1, _, msg1, it2 = _damped_newton(
                problem, x1, f1, problem.derivatives, max_iter=phase1 - first,
                step_tol=step_tol, grad_tol=grad_tol)
            it1 += it2
            candidates.append((msg1 != "converged", f1, x1, msg1, it1))
        if not candidates or all(c[0] for c in candidates):
            # (a) only when neither converged: Newton on the observed Hessian from where
            # scoring stopped (each step differences the gradient once per parameter)
            xa, fa, _, ma, ia = _damped_newton(problem, x1, f1, observed,
                                               max_iter=min(budget, 100), step_tol=step_tol,
                                               grad_tol=grad_tol)
            candidates.append((ma != "converged", fa, xa, ma, it1 + ia))
        candidates.sort(key=lambda c: (c[0], c[1]))
        _, f, x, message, iterations = candidates[0]
    grad, hess = problem.derivatives(x)
    small_grad = np.max(np.abs(grad), initial=0) < grad_tol or _decrement(hess, grad) < 1e-12
    return Estimate(
        x=x,
        fmin=f,
        converged=bool(message == "converged" and np.all(np.isfinite(x)) and small_grad),
        iterations=iterations,
        max_gradient=float(np.max(np.abs(grad))) if grad.size else 0.0,
        hessian=hess,
        matrices=problem.matrices(x),
        message=message,
    )
