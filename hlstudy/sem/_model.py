"""From parsed lavaan syntax to a parameter table and RAM matrices (lavaan ``sem()`` defaults).

Every variable (observed first, then latent) is a node of a RAM model (McArdle &
McDonald 1984)::

    v = A v + u,   Cov(u) = S,   E(u) = M
    Sigma = F (I - A)^-1 S (I - A)^-T F',     mu = F (I - A)^-1 M

A loading ``f =~ x`` is ``A[x, f]``, a regression ``y ~ x`` is ``A[y, x]``, a
(residual) (co)variance ``a ~~ b`` is ``S[a, b]``, an intercept ``y ~ 1`` is
``M[y]``.  This is equivalent to lavaan's LISREL representation with phantom
latents for observed variables in regressions, and gives the same parameter
table (the one ``parameterEstimates`` prints).

Defaults added as lavaan's ``sem()``/``cfa()`` (``lavaanify`` with
``auto.fix.first``, ``auto.var``, ``auto.cov.lv.x``, ``auto.cov.y``, ``fixed.x``):

* the first loading of every latent is fixed to 1 (unless ``std_lv``, which
  fixes the (residual) variance of every latent to 1 and frees the loadings);
* residual variances of every observed variable that is not an exogenous
  covariate, and (residual) variances of every latent, are free;
* covariances among exogenous latents are free;
* residual covariances among the "pure" outcomes (dependent in a regression,
  predictor in none, indicator of no latent) are free;
* observed exogenous covariates (predictors only) have their (co)variances and
  means fixed to the sample values (``fixed.x = TRUE``);
* with a mean structure, intercepts of observed variables are free and latent
  means are fixed to 0.

A label shared by several parameters constrains them equal (one free parameter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hlstudy.errors import ModelError
from hlstudy.sem.syntax import Statement, defined_names, parse_model


@dataclass
class Par:
    """One row of the parameter table."""

    lhs: str
    op: str
    rhs: str
    label: str
    pid: int  # index into the free-parameter vector, -1 if fixed
    fixed: float  # value when fixed (NaN when free, or to be filled from the data)
    kind: str  # "A", "S", "M" or "def"
    i: int = -1  # row node index (A: target, S: first, M: node)
    j: int = -1  # column node index (A: source, S: second)
    user: bool = True
    exo: bool = False  # fixed.x row (value from the sample)
    expr: str = ""


@dataclass
class Model:
    observed: list[str]
    latent: list[str]
    ov_x: list[str]
    pars: list[Par]
    n_free: int
    meanstructure: bool
    defined: list[Par] = field(default_factory=list)
    free_labels: list[str] = field(default_factory=list)  # label of each free parameter ('' if none)

    @property
    def nodes(self) -> list[str]:
        return self.observed + self.latent

    @property
    def p(self) -> int:
        return len(self.observed)

    def n_moments(self) -> int:
        p = self.p
        return p * (p + 1) // 2 + (p if self.meanstructure else 0)

    def n_moments_x(self) -> int:
        """Moments of the fixed exogenous covariates (not counted in df, as lavaan)."""
        k = len(self.ov_x)
        return k * (k + 1) // 2 + (k if self.meanstructure else 0)


def build_model(statements: list[Statement] | str, *, std_lv: bool = False,
                meanstructure: bool = False, fixed_x: bool = True) -> Model:
    """Parameter table of a lavaan model (see the module docstring for the defaults)."""
    if isinstance(statements, str):
        statements = parse_model(statements)
    stm = [s for s in statements if s.op != ":="]
    defs = [s for s in statements if s.op == ":="]
    latent = list(dict.fromkeys(s.lhs for s in stm if s.op == "=~"))
    lat = set(latent)
    names: dict[str, None] = {}
    for s in stm:
        if s.op == "=~":
            names.setdefault(s.rhs, None)
    for s in stm:
        for v in (s.lhs, s.rhs):
            if v:
                names.setdefault(v, None)
    observed = [v for v in names if v not in lat]
    indicators = {s.rhs for s in stm if s.op == "=~"}
    eqs_y = {s.lhs for s in stm if s.op == "~"}
    eqs_x = {s.rhs for s in stm if s.op == "~"}
    ov_x = [v for v in observed if v in eqs_x and v not in eqs_y and v not in indicators]
    if not fixed_x:
        ov_x = []
    obs_set = set(observed)
    # a variable in '~~' or '~1' only, unknown elsewhere, is observed (lavaan does the same)
    lv_x = [f for f in latent if f not in eqs_y and f not in indicators]
    pure_y = [v for v in list(names) if v in eqs_y and v not in eqs_x and v not in indicators]
    if not latent and not any(s.op == "~" for s in stm) and not any(s.op == "~~" for s in stm):
        raise ModelError("the model has no '=~', '~' or '~~' statement")
    nodes = observed + latent
    idx = {v: k for k, v in enumerate(nodes)}
    x_set = set(ov_x)

    pars: list[Par] = []
    first_seen: set[str] = set()
    specified_cov: set[tuple[str, str]] = set()
    for s in stm:
        fixed = np.nan if s.fixed is None else float(s.fixed)
        if s.op == "=~":
            if s.lhs in indicators and s.lhs not in lat:
                pass
            if s.lhs not in first_seen:
                first_seen.add(s.lhs)
                if s.fixed is None and not s.free and not std_lv:
                    fixed = 1.0
            pars.append(Par(s.lhs, "=~", s.rhs, s.label, 0, fixed, "A", idx[s.rhs], idx[s.lhs]))
        elif s.op == "~":
            pars.append(Par(s.lhs, "~", s.rhs, s.label, 0, fixed, "A", idx[s.lhs], idx[s.rhs]))
        elif s.op == "~~":
            a, b = s.lhs, s.rhs
            specified_cov.add((a, b))
            specified_cov.add((b, a))
            pars.append(Par(a, "~~", b, s.label, 0, fixed, "S", idx[a], idx[b]))
        elif s.op == "~1":
            pars.append(Par(s.lhs, "~1", "", s.label, 0, fixed, "M", idx[s.lhs]))
    user_x_rows = [p for p in pars if p.kind == "S" and (p.lhs in x_set or p.rhs in x_set)]
    if user_x_rows:
        for p in user_x_rows:
            if not (p.lhs in x_set and p.rhs in x_set):
                raise ModelError(
                    f"{p.lhs} ~~ {p.rhs}: {p.lhs if p.lhs in x_set else p.rhs} is an exogenous "
                    "covariate (fixed.x); its covariance with a modelled variable is not a parameter")
    # auto.var
    for v in observed:
        if (v, v) in specified_cov:
            continue
        if v in x_set:
            continue
        pars.append(Par(v, "~~", v, "", 0, np.nan, "S", idx[v], idx[v], user=False))
    for f in latent:
        if (f, f) in specified_cov:
            continue
        pars.append(Par(f, "~~", f, "", 0, 1.0 if std_lv else np.nan, "S", idx[f], idx[f],
                        user=False))
    # auto.cov.lv.x
    for a in range(len(lv_x)):
        for b in range(a + 1, len(lv_x)):
            fa, fb = lv_x[a], lv_x[b]
            if (fa, fb) not in specified_cov:
                pars.append(Par(fa, "~~", fb, "", 0, np.nan, "S", idx[fa], idx[fb], user=False))
    # auto.cov.y
    for a in range(len(pure_y)):
        for b in range(a + 1, len(pure_y)):
            ya, yb = pure_y[a], pure_y[b]
            if (ya, yb) not in specified_cov:
                pars.append(Par(ya, "~~", yb, "", 0, np.nan, "S", idx[ya], idx[yb], user=False))
    # intercepts
    has_mean_rows = any(p.kind == "M" for p in pars)
    meanstructure = bool(meanstructure or has_mean_rows)
    if meanstructure:
        have = {p.lhs for p in pars if p.kind == "M"}
        for v in observed:
            if v not in have and v not in x_set:
                pars.append(Par(v, "~1", "", "", 0, np.nan, "M", idx[v], user=False))
        for f in latent:
            if f not in have:
                pars.append(Par(f, "~1", "", "", 0, 0.0, "M", idx[f], user=False))
    # fixed.x rows (values filled from the sample by the caller)
    for a in range(len(ov_x)):
        for b in range(a, len(ov_x)):
            xa, xb = ov_x[a], ov_x[b]
            pars.append(Par(xa, "~~", xb, "", -1, np.nan, "S", idx[xa], idx[xb], user=False,
                            exo=True))
    if meanstructure:
        for v in ov_x:
            pars.append(Par(v, "~1", "", "", -1, np.nan, "M", idx[v], user=False, exo=True))
    # free parameter ids (shared label -> equality)
    label_pid: dict[str, int] = {}
    free_labels: list[str] = []
    n_free = 0
    for p in pars:
        if p.exo:
            p.pid = -1
            continue
        if np.isfinite(p.fixed):
            p.pid = -1
            continue
        if p.label and p.label in label_pid:
            p.pid = label_pid[p.label]
            continue
        p.pid = n_free
        free_labels.append(p.label)
        if p.label:
            label_pid[p.label] = n_free
        n_free += 1
    labels = {p.label for p in pars if p.label}
    clash = sorted(labels & set(nodes))
    if clash:
        raise ModelError(f"label(s) {clash} are also variable names; use other labels")
    defined = []
    for s in defs:
        if s.lhs in labels or s.lhs in idx:
            raise ModelError(f"model syntax, line {s.line}: defined parameter {s.lhs!r} reuses a "
                             "label or variable name")
        for name in defined_names(s.expr, s.line):
            if name not in labels and name not in {d.lhs for d in defined}:
                raise ModelError(
                    f"model syntax, line {s.line}: {name!r} in '{s.lhs} := {s.expr}' is not a "
                    f"label of the model (labels: {sorted(labels)})")
        defined.append(Par(s.lhs, ":=", s.expr, s.lhs, -1, np.nan, "def", expr=s.expr))
    _check_structure(observed, latent, stm, obs_set)
    return Model(observed=observed, latent=latent, ov_x=ov_x, pars=pars, n_free=n_free,
                 meanstructure=meanstructure, defined=defined, free_labels=free_labels)


def _check_structure(observed, latent, stm, obs_set) -> None:
    counts = {f: 0 for f in latent}
    for s in stm:
        if s.op == "=~":
            counts[s.lhs] += 1
    # a latent needs indicators; one indicator is allowed when the user fixes something
    for f, k in counts.items():
        if k == 0:
            raise ModelError(f"latent variable {f!r} has no indicator")


class RAM:
    """Fills A, S, M from a parameter vector and differentiates Sigma and mu."""

    def __init__(self, model: Model):
        self.model = model
        self.n = len(model.nodes)
        self.p = model.p
        rows = [p for p in model.pars if p.kind in ("A", "S", "M")]
        self.rows = rows

        def arrays(kind):
            sel = [p for p in rows if p.kind == kind]
            return (np.array([p.i for p in sel], dtype=int), np.array([p.j for p in sel], dtype=int),
                    np.array([p.pid for p in sel], dtype=int),
                    np.array([p.fixed for p in sel], dtype=float))

        self.a = arrays("A")
        self.s = arrays("S")
        self.m = arrays("M")

    def set_fixed_x(self, cov: np.ndarray, mean: np.ndarray) -> None:
        """Fill fixed.x rows from the sample moments of the observed variables."""
        pos = {v: k for k, v in enumerate(self.model.observed)}
        for p in self.model.pars:
            if p.exo and p.kind == "S":
                p.fixed = float(cov[pos[p.lhs], pos[p.rhs]])
            elif p.exo and p.kind == "M":
                p.fixed = float(mean[pos[p.lhs]])
        self.a = self._refresh(self.a, "A")
        self.s = self._refresh(self.s, "S")
        self.m = self._refresh(self.m, "M")

    def _refresh(self, arr, kind):
        sel = [p for p in self.rows if p.kind == kind]
        return arr[0], arr[1], arr[2], np.array([p.fixed for p in sel], dtype=float)

    @staticmethod
    def _values(arr, x):
        _, _, pids, fixed = arr
        vals = fixed.copy()
        free = pids >= 0
        vals[free] = x[pids[free]]
        return vals

    def _free_slots(self):
        """Per kind (A, S, M): (slots of free parameters, their parameter ids), for
        :meth:`matrices`; constant for the model (set_fixed_x changes fixed values only)."""
        if getattr(self, "_free", None) is None:
            self._free = tuple((np.flatnonzero(arr[2] >= 0), arr[2][arr[2] >= 0])
                               for arr in (self.a, self.s, self.m))
        return self._free

    def matrices(self, x):
        n = self.n
        x = np.asarray(x)
        (fa, pa), (fs, ps), (fm, pm) = self._free_slots()
        a = np.zeros((n, n))
        ai, aj, _, _ = self.a
        av = self.a[3].copy()   # = _values(self.a, x): fixed values, free slots from x
        av[fa] = x[pa]
        a[ai, aj] = av
        s = np.zeros((n, n))
        si, sj, _, _ = self.s
        sv = self.s[3].copy()
        sv[fs] = x[ps]
        s[si, sj] = sv
        s[sj, si] = sv
        m = np.zeros(n)
        mi, _, _, _ = self.m
        mv = self.m[3].copy()
        mv[fm] = x[pm]
        m[mi] = mv
        return a, s, m

    def implied(self, x):
        """(Sigma, mu, E, Sigma_all, mu_all) at parameter vector x.

        E = (I - A)^-1 is remembered for the last A (keyed by its bytes): a step in a
        variance, covariance or mean parameter leaves A bit-identical (the same E)."""
        a, s, m = self.matrices(x)
        key = a.tobytes()
        memo = getattr(self, "_e_memo", None)
        if memo is not None and memo[0] == key:
            e = memo[1]
        else:
            e = np.linalg.inv(np.eye(self.n) - a)
            self._e_memo = (key, e)
        sall = e @ s @ e.T
        sall = 0.5 * (sall + sall.T)
        mall = e @ m
        p = self.p
        return sall[:p, :p], mall[:p], e, sall, mall

    def jacobian(self, x, e=None, sall=None, mall=None):
        """dSigma (q, p, p) and dmu (q, p) with respect to the free parameters."""
        if e is None:
            _, _, e, sall, mall = self.implied(x)
        p, q = self.p, self.model.n_free
        c = e[:p, :]  # p x n
        g = sall[:, :p]  # n x p
        d_sig = np.zeros((q, p, p))
        d_mu = np.zeros((q, p))
        ai, aj, apid, _ = self.a
        k = apid >= 0
        if k.any():
            u = c[:, ai[k]].T  # (s, p)
            v = g[aj[k], :]  # (s, p)
            blk = u[:, :, None] * v[:, None, :]
            np.add.at(d_sig, apid[k], blk + blk.transpose(0, 2, 1))
            np.add.at(d_mu, apid[k], u * mall[aj[k]][:, None])
        si, sj, spid, _ = self.s
        k = spid >= 0
        if k.any():
            u = c[:, si[k]].T
            v = c[:, sj[k]].T
            blk = u[:, :, None] * v[:, None, :]
            same = (si[k] == sj[k])[:, None, None]
            np.add.at(d_sig, spid[k], np.where(same, blk, blk + blk.transpose(0, 2, 1)))
        mi, _, mpid, _ = self.m
        k = mpid >= 0
        if k.any():
            np.add.at(d_mu, mpid[k], c[:, mi[k]].T)
        return d_sig, d_mu

    def slot_matrix(self):
        """0/1 matrix (slots x free parameters) summing slot derivatives into parameters."""
        if getattr(self, "_smat", None) is None:
            q = self.model.n_free
            pids = np.concatenate([self.a[2], self.s[2], self.m[2]])
            keep = pids >= 0
            mat = np.zeros((len(pids), q))
            mat[np.flatnonzero(keep), pids[keep]] = 1.0
            self._smat = mat
        return self._smat

    def slot_index(self):
        """Slot of each free parameter when every free parameter has exactly one slot (no
        equality labels), else None.  Then ``y @ slot_matrix() == y[..., slot_index()]`` to
        the bit (each column of the 0/1 matrix has one 1: the products add exact zeros)."""
        if not hasattr(self, "_sidx"):
            smat = self.slot_matrix()
            ok = smat.shape[1] == 0 or bool(np.all(smat.sum(axis=0) == 1))
            self._sidx = np.argmax(smat, axis=0) if ok else None
        return self._sidx

    def to_params(self, y):
        """Slot values (..., slots) summed into free parameters: ``y @ slot_matrix()``."""
        sidx = self.slot_index()
        return y[..., sidx] if sidx is not None else y @ self.slot_matrix()

    def contract(self, w, gmu, e, sall, mall):
        """Gradient sum_k (sum(W * dSigma_k) + gmu' dmu_k) without forming the Jacobian.

        A slot (i <- j): dSigma = u v' + v u' with u = F E e_i, v = F Sigma_all e_j, so
        sum(W * dSigma) = 2 u' W v; S slot (i, j): 2 u_i' W u_j (once on the diagonal).
        """
        p = self.p
        c = e[:p, :]
        g = sall[:, :p]
        cw = c.T @ w  # n x p
        ai, aj, _, _ = self.a
        si, sj, _, _ = self.s
        mi, _, _, _ = self.m
        cg = c.T @ gmu
        ga = 2.0 * np.sum(cw[ai] * g[aj], axis=1) + cg[ai] * mall[aj]
        cwc = cw @ c
        if getattr(self, "_s_weight", None) is None:   # constant: once per model
            self._s_weight = np.where(si == sj, 1.0, 2.0)
        gs = self._s_weight * cwc[si, sj]
        gm = cg[mi]
        return self.to_params(np.concatenate([ga, gs, gm]))

    def _info_indices(self):
        """Index grids of :meth:`expected_info` (constant for the model; built once).  With
        one slot per free parameter only the free parameters' slots are indexed (the
        slot-to-parameter sum is then that selection)."""
        if getattr(self, "_info_idx", None) is None:
            n = self.n
            ai, aj, _, _ = self.a
            si, sj, _, _ = self.s
            mi, _, _, _ = self.m
            al = np.concatenate([ai, si, mi])
            be = np.concatenate([n + aj, sj, mi])
            w = np.concatenate([np.ones(len(ai)), np.where(si == sj, 0.5, 1.0),
                                np.zeros(len(mi))])
            sel = self.slot_index()
            if sel is not None:
                al, be, w = al[sel], be[sel], w[sel]
            self._info_idx = (np.ix_(al, al), np.ix_(be, be), np.ix_(al, be), np.ix_(be, al),
                              2.0 * np.outer(w, w), sel)
        return self._info_idx

    def expected_info(self, v, e, sall, mall, meanstructure: bool):
        """tr(V dSigma_a V dSigma_b) + 2 dmu_a' V dmu_b for all free parameters, from the
        rank-2 slot derivatives dSigma_s = w_s (u_s v_s' + v_s u_s'), u, v columns of
        B = [F E, F Sigma_all]: with M = B' V B,
        tr(...) = 2 w_s w_t (M[u_s,u_t] M[v_s,v_t] + M[u_s,v_t] M[v_s,u_t]).
        Cost O(n^2 p + slots^2) instead of O(q^2 p^2) through the Jacobian."""
        p = self.p
        b = np.hstack([e[:p, :], sall[:p, :]])  # p x 2n
        m = b.T @ v @ b
        aj = self.a[1]
        ix_aa, ix_bb, ix_ab, ix_ba, ww, sel = self._info_indices()
        h = ww * (m[ix_aa] * m[ix_bb] + m[ix_ab] * m[ix_ba])
        if meanstructure:
            kap = np.concatenate([mall[aj], np.zeros(len(self.s[0])), np.ones(len(self.m[0]))])
            if sel is not None:
                kap = kap[sel]
            h += 2.0 * np.outer(kap, kap) * m[ix_aa]
        if sel is None:
            smat = self.slot_matrix()
            h = smat.T @ h @ smat
        return 0.5 * (h + h.T)
