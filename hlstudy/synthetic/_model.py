"""Structural model of the simulator: latent constructs, paths, commune random effects.

Everything is on the standardized latent scale: every latent variable has total variance 1,
so a path coefficient is a standardized effect (lavaan's ``std.all``).  See the package
docstring of :mod:`hlstudy.synthetic` for the stated parameter values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hlstudy.errors import ModelError

#: Exogenous factors of the officials' questionnaire (latent).
FACTORS = ("TRAIN", "COMP", "ENV", "FAC", "LEAD", "SUP", "REC", "RES")
#: Observed exogenous backgrounds (standardized in the simulated census): professional
#: education rank and years in the current post.
OBSERVED = ("EDU", "TENURE")
#: Endogenous constructs of the officials' model, in causal order.
ENDOGENOUS = ("MOT", "STAY", "ETH", "PRO", "SKL", "RSP")
QUALITY = ("ETH", "PRO", "SKL", "RSP")
#: Citizens' model: QUAL is the commune mean of the officials' latent quality (mean of the
#: four quality dimensions over all officials of the commune), standardized over the 23
#: communes; the rest are the citizens' constructs, in causal order.
CITIZEN_EXOGENOUS = ("QUAL", "CFB")
CITIZEN_ENDOGENOUS = ("SIPAS", "CTRUST", "CSAT")

#: Standardized structural effects "CAUSE->EFFECT" (defaults).  Unequal on purpose: some
#: are strong, some small, some zero, so that not every claim of the thesis is supported.
DEFAULT_EFFECTS: dict[str, float] = {
    # motivation (T5, S3, S4, S5)
    "ENV->MOT": 0.30, "COMP->MOT": 0.22, "REC->MOT": 0.18, "LEAD->MOT": 0.08,
    "TRAIN->MOT": 0.05,
    # intention to stay (T6, S3)
    "COMP->STAY": 0.30, "MOT->STAY": 0.28, "ENV->STAY": 0.08,
    # political quality and ethics
    "MOT->ETH": 0.15, "ENV->ETH": 0.05, "FAC->ETH": 0.00, "LEAD->ETH": 0.15,
    "SUP->ETH": 0.12, "RES->ETH": -0.05,
    # professional competence (T2, T4, S2, D8)
    "TRAIN->PRO": 0.25, "EDU->PRO": 0.20, "TENURE->PRO": 0.12, "MOT->PRO": 0.20,
    "ENV->PRO": 0.05, "FAC->PRO": 0.06, "LEAD->PRO": 0.05, "SUP->PRO": 0.03,
    "RES->PRO": -0.15,
    # skills (T2, S1, D2)
    "TRAIN->SKL": 0.20, "TENURE->SKL": 0.10, "MOT->SKL": 0.18, "ENV->SKL": 0.10,
    "FAC->SKL": 0.02, "LEAD->SKL": 0.08, "SUP->SKL": 0.00, "RES->SKL": -0.12,
    # responsibility and initiative (D5, S6)
    "MOT->RSP": 0.35, "ENV->RSP": 0.08, "FAC->RSP": 0.03, "LEAD->RSP": 0.10,
    "SUP->RSP": 0.04, "RES->RSP": -0.20,
    # citizens (T1, T7, S8)
    "QUAL->SIPAS": 0.35, "CFB->SIPAS": 0.15,
    "CFB->CTRUST": 0.35, "SIPAS->CTRUST": 0.30,
    "CFB->CSAT": 0.25, "SIPAS->CSAT": 0.45,
}

#: Correlations among the exogenous factors (both levels): 0.30 by default, 0.45 within
#: the organisational block ENV/LEAD/SUP/REC, and these exceptions; RES correlates -0.15.
FACTOR_CORRELATION_BASE = 0.30
FACTOR_CORRELATION_PAIRS: dict[tuple[str, str], float] = {
    ("ENV", "LEAD"): 0.45, ("ENV", "SUP"): 0.45, ("ENV", "REC"): 0.45, ("LEAD", "SUP"): 0.45,
    ("LEAD", "REC"): 0.45, ("SUP", "REC"): 0.45, ("COMP", "REC"): 0.35,
    ("TRAIN", "LEAD"): 0.40, ("FAC", "ENV"): 0.35, ("COMP", "FAC"): 0.20,
}
RES_CORRELATION = -0.15
#: Residual correlation among the four quality dimensions (a common quality component).
QUALITY_RESIDUAL_CORRELATION = 0.35

#: Share of each exogenous factor's variance (and of each endogenous residual's variance)
#: that lies between communes.  Facilities and leadership are largely commune matters; pay
#: is set by the province and hardly varies.
COMMUNE_SHARE: dict[str, float] = {
    "TRAIN": 0.10, "COMP": 0.05, "ENV": 0.15, "FAC": 0.30, "LEAD": 0.20, "SUP": 0.10,
    "REC": 0.10, "RES": 0.05, "EDU": 0.0, "TENURE": 0.0,
    "MOT": 0.05, "STAY": 0.05, "ETH": 0.05, "PRO": 0.08, "SKL": 0.05, "RSP": 0.05,
    "CFB": 0.15, "SIPAS": 0.05, "CTRUST": 0.05, "CSAT": 0.05,
}


def parse_path(path: str) -> tuple[str, str]:
    """Split ``"CAUSE->EFFECT"``; raise :class:`ModelError` on anything else."""
    parts = [p.strip() for p in str(path).split("->")]
    if len(parts) != 2 or not all(parts):
        raise ModelError(f"path {path!r} is not of the form 'CAUSE->EFFECT'")
    return parts[0], parts[1]


def merge_effects(effects: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults updated by ``effects``; only paths of the model can be overridden."""
    out = dict(DEFAULT_EFFECTS)
    for path, value in dict(effects or {}).items():
        cause, effect = parse_path(path)
        key = f"{cause}->{effect}"
        if key not in out:
            raise ModelError(
                f"unknown structural path {path!r}; paths of the model: {sorted(out)}"
            )
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ModelError(f"effect of {path!r} must be a number, got {value!r}") from None
        if not np.isfinite(value) or abs(value) >= 1:
            raise ModelError(f"standardized effect of {path!r} must lie in (-1, 1), got {value}")
        out[key] = value
    return out


def factor_correlation() -> np.ndarray:
    """The stated correlation matrix of :data:`FACTORS` (positive definite)."""
    k = len(FACTORS)
    r = np.full((k, k), FACTOR_CORRELATION_BASE)
    for (a, b), v in FACTOR_CORRELATION_PAIRS.items():
        i, j = FACTORS.index(a), FACTORS.index(b)
        r[i, j] = r[j, i] = v
    res = FACTORS.index("RES")
    r[res, :] = r[:, res] = RES_CORRELATION
    np.fill_diagonal(r, 1.0)
    return r


def _system(names_exo, names_endo, effects, phi, resid_corr):
    """Γ, B and the residual covariance Ψ making every endogenous variance 1.

    ``phi`` is the exogenous covariance matrix; residual variances are solved in causal
    order: Var(η_k) = 1 ⇒ ψ_kk = 1 − Var(explained part of η_k).
    """
    ne, nn = len(names_exo), len(names_endo)
    gamma = np.zeros((nn, ne))
    beta = np.zeros((nn, nn))
    for path, value in effects.items():
        cause, effect = parse_path(path)
        if effect not in names_endo:
            continue
        k = names_endo.index(effect)
        if cause in names_exo:
            gamma[k, names_exo.index(cause)] = value
        elif cause in names_endo:
            if names_endo.index(cause) >= k:
                raise ModelError(f"path {path} goes against the causal order {names_endo}")
            beta[k, names_endo.index(cause)] = value
    psi = np.zeros((nn, nn))
    # covariance of [ξ, η] built up variable by variable
    n = ne + nn
    cov = np.zeros((n, n))
    cov[:ne, :ne] = phi
    coef = np.zeros((nn, n))  # η_k = coef_k · [ξ, η] + ζ_k
    coef[:, :ne] = gamma
    coef[:, ne:] = beta
    for k in range(nn):
        c = coef[k]
        # Var(η_k) = c Σ c' + ψ_kk: a residual is uncorrelated with the causes of its variable
        # (residual covariances only link quality dimensions, which do not cause each other)
        explained = float(c @ cov @ c)
        var_resid = 1.0 - explained
        if var_resid <= 0.05:
            raise ModelError(
                f"effects on {names_endo[k]} explain {explained:.2f} of its variance; "
                "standardized effects must leave a residual (reduce them)"
            )
        psi[k, k] = var_resid
        for j in range(k):
            r = resid_corr.get(frozenset((names_endo[k], names_endo[j])), 0.0)
            psi[k, j] = psi[j, k] = r * np.sqrt(var_resid * psi[j, j])
        # covariances of η_k with every variable before it: Cov(cX + ζ_k, ·)
        idx = ne + k
        cov[idx, :idx] = c[:idx] @ cov[:idx, :idx]
        cov[idx, ne:idx] += psi[k, :k]
        cov[:idx, idx] = cov[idx, :idx]
        cov[idx, idx] = 1.0
    return gamma, beta, psi, cov


def officials_system(effects: Mapping[str, float], edu_tenure_corr: float = 0.0):
    """(Γ, B, Ψ, Σ) of the officials' model; Σ is the covariance of [ξ…, η…]."""
    names_exo = FACTORS + OBSERVED
    k = len(names_exo)
    phi = np.eye(k)
    phi[: len(FACTORS), : len(FACTORS)] = factor_correlation()
    phi[-2, -1] = phi[-1, -2] = edu_tenure_corr
    resid = {frozenset((a, b)): QUALITY_RESIDUAL_CORRELATION
             for i, a in enumerate(QUALITY) for b in QUALITY[i + 1:]}
    return _system(names_exo, ENDOGENOUS, effects, phi, resid)


def citizens_system(effects: Mapping[str, float]):
    """(Γ, B, Ψ, Σ) of the citizens' model (QUAL and CFB exogenous, independent)."""
    return _system(CITIZEN_EXOGENOUS, CITIZEN_ENDOGENOUS, effects, np.eye(2), {})


def commune_shares(gamma, beta, psi, phi_shares, resid_shares, phi) -> np.ndarray:
    """Between-commune share of each endogenous variable's variance (analytic).

    The between part of every exogenous variable has covariance ``D_b Φ D_b`` with
    ``D_b = diag(sqrt(share))``; residual ``k`` puts ``share_k`` of its variance between
    communes; the structural equations act on both levels alike.
    """
    db = np.diag(np.sqrt(phi_shares))
    phi_b = db @ phi @ db
    rb = np.sqrt(resid_shares)
    psi_b = psi * np.outer(rb, rb)
    inv = np.linalg.inv(np.eye(len(beta)) - beta)
    sigma_b = inv @ (gamma @ phi_b @ gamma.T + psi_b) @ inv.T
    return np.diag(sigma_b)


def draw_two_level(rng, n_groups, group, cov, shares):
    """Draws with covariance ``cov`` split into between (shares) and within parts.

    Returns an (n, p) array: ``between[group] + within`` with between covariance
    ``D_b cov D_b`` and within covariance ``D_w cov D_w`` (``D = diag(sqrt(share))``).
    """
    p = cov.shape[0]
    shares = np.asarray(shares, dtype=float)
    db, dw = np.sqrt(shares), np.sqrt(1 - shares)
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(p))
    between = rng.standard_normal((n_groups, p)) @ chol.T * db
    within = rng.standard_normal((len(group), p)) @ chol.T * dw
    return between[group] + within
