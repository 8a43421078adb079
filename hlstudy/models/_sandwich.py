"""Sandwich covariance matrices for linear models: naive, HC1, CR1 and CR2 (Bell–McCaffrey).

CR2 and its Satterthwaite degrees of freedom follow Bell & McCaffrey (2002, *Survey
Methodology* 28(2)) as generalised by Pustejovsky & Tipton (2018, *JBES* 36(4), 672–683) and
implemented in R ``clubSandwich`` (``vcovCR(fit, cluster, type = "CR2")``, ``coef_test(...,
test = "Satterthwaite")``), with the working model Φ = I that clubSandwich uses for ``lm``
fits (with or without weights).

Notation (weights w, W = diag(w); unweighted: W = I):
  M = (X'WX)⁻¹, H = X M X'W, e = y − Xb, rows of cluster j indexed by j.
  B_j = [(I − H)(I − H)']_jj,   A_j = B_j^{-1/2}  (symmetric; eigenvalues < 1e-12 → 0)
  V_CR2 = M (Σ_j X_j'W_j A_j e_j e_j' A_j W_j X_j) M
  For a coefficient c: g_j = (I − H)_j' A_j W_j X_j M c  (an N-vector), G = [g_1 … g_m],
  P = G'G, ν_c = (tr P)² / ‖P‖²_F   (Pustejovsky & Tipton 2018, eq. 11; clubSandwich
  ``Satterthwaite``: 2·E²/V with E = tr P, V = 2‖P‖²_F).
  V_CR1 = G/(G−1) · (N−1)/(N−K) · M (Σ_j X_j'W_j e_j e_j'W_j X_j) M  (``sandwich::vcovCL(type =
  "HC1")``, Stata's CR1), df G − 1.
  V_HC1 = N/(N−K) · M (Σ_i w_i² e_i² x_i x_i') M, df N − K.  Naive: σ̂²M, df N − K.
"""

from __future__ import annotations

import numpy as np


def _bread(X: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    XtW = X.T if w is None else X.T * w
    return np.linalg.inv(XtW @ X)


def wls(X: np.ndarray, y: np.ndarray, w: np.ndarray | None):
    """Coefficients, residuals and M = (X'WX)⁻¹ of (weighted) least squares."""
    M = _bread(X, w)
    XtW = X.T if w is None else X.T * w
    b = M @ (XtW @ y)
    return b, y - X @ b, M


def vcov_naive(X, e, w, M):
    n, k = X.shape
    ww = np.ones(n) if w is None else w
    sigma2 = float(np.sum(ww * e**2) / (n - k))
    return sigma2 * M


def vcov_hc1(X, e, w, M):
    n, k = X.shape
    s = X * (e if w is None else w * e)[:, None]
    return n / (n - k) * M @ (s.T @ s) @ M


def _cluster_scores(X, e, w, cluster, n_clusters):
    s = X * (e if w is None else w * e)[:, None]
    out = np.zeros((n_clusters, X.shape[1]))
    np.add.at(out, cluster, s)
    return out


def vcov_cr1(X, e, w, M, cluster, n_clusters):
    n, k = X.shape
    u = _cluster_scores(X, e, w, cluster, n_clusters)
    adj = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
    return adj * M @ (u.T @ u) @ M


def _inv_sqrt_psd(B: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((B + B.T) / 2)
    inv = np.where(vals > 1e-12, 1 / np.sqrt(np.clip(vals, 1e-300, None)), 0.0)
    return (vecs * inv) @ vecs.T


def cr2(X: np.ndarray, e: np.ndarray, w: np.ndarray | None, M: np.ndarray,
        cluster: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance matrix and the Satterthwaite df of every coefficient.

    Returns ``(V, df)`` with V (K×K) and df (K,).  Cost O(N²K) memory-light loops over clusters.
    """
    n, k = X.shape
    XtW = X.T if w is None else X.T * w           # K×N
    ww = np.ones(n) if w is None else w
    # (I - H) with H = X M X'W
    IH = -(X @ M @ XtW)
    IH[np.diag_indices(n)] += 1.0
    order = [np.flatnonzero(cluster == j) for j in range(n_clusters)]
    meat = np.zeros((k, k))
    Q = np.zeros((n_clusters, n, k))              # g_j for every coefficient: Q[j] = (I-H)_j' A_j W_j X_j M
    for j, idx in enumerate(order):
        rows = IH[idx, :]
        if w is None:
            B = rows[:, idx]                      # (I - H) is symmetric idempotent
        else:
            B = rows @ rows.T
        A = _inv_sqrt_psd(B)
        WXM = (ww[idx, None] * X[idx]) @ M        # n_j × K
        AWXM = A @ WXM
        u = AWXM.T @ e[idx]                       # M X_j'W_j A_j e_j
        meat += np.outer(u, u)
        Q[j] = rows.T @ AWXM
    V = meat                                      # already includes M on both sides
    df = np.empty(k)
    for c in range(k):
        G = Q[:, :, c]                            # m × N
        P = G @ G.T
        df[c] = np.trace(P) ** 2 / np.sum(P * P)
    return V, df
