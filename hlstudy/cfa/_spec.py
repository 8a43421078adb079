"""Model specification: turn ``{factor: [items]}`` into parameter slots.

A *slot* is one entry of one model matrix of one group (a loading, a residual
variance, a latent (co)variance, an intercept, a latent mean).  A slot is either
fixed (``pid == -1``, value ``fixed``) or free, pointing at an element of the
parameter vector.  Slots sharing a ``pid`` are constrained equal (this is how
``group.equal`` is expressed), which gives the same estimates, standard errors
and degrees of freedom as lavaan's equality constraints.

The identification rules are lavaan's defaults (``lavaan::cfa``):

* marker variable: the first loading of every factor is fixed to 1, latent
  variances are free (``std.lv = TRUE`` instead fixes latent variances to 1 and
  frees every loading);
* latent covariances are free; residual covariances are zero;
* no mean structure with one group; with several groups intercepts are free in
  every group and latent means are fixed to 0, unless intercepts are held equal,
  in which case latent means are free in groups 2, 3, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hlstudy.errors import ModelError

#: ``group.equal`` keywords understood by :func:`hlstudy.cfa.cfa` (lavaan's names).
EQUAL_KEYWORDS = (
    "loadings",
    "intercepts",
    "residuals",
    "lv.variances",
    "lv.covariances",
    "means",
    "residual.covariances",
)


@dataclass(frozen=True)
class Slot:
    """One model-matrix entry of one group."""

    matrix: str  # "lambda", "theta", "thetacov", "phi", "nu", "alpha"
    group: int  # 0-based
    row: int
    col: int
    lhs: str
    op: str  # "=~", "~~", "~1"
    rhs: str
    pid: int  # -1 when fixed
    fixed: float


@dataclass
class Spec:
    """Everything the estimator needs to know about a model (no data)."""

    factors: list[str]
    observed: list[str]
    model: dict[str, list[str]]
    n_groups: int
    meanstructure: bool
    slots: list[Slot] = field(default_factory=list)
    n_free: int = 0

    @property
    def p(self) -> int:
        return len(self.observed)

    @property
    def m(self) -> int:
        return len(self.factors)

    def n_sample_stats(self) -> int:
        p = self.p
        per_group = p * (p + 1) // 2 + (p if self.meanstructure else 0)
        return self.n_groups * per_group


def parse_cfa_syntax(text: str) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """A measurement model in lavaan syntax -> (``{factor: [items]}``, residual covariances).

    Accepts ``=~`` statements without modifiers, residual covariances ``x1 ~~ x2`` between
    items and (redundant) residual variances ``x1 ~~ x1``; anything else (regressions,
    labels, fixed values, ``:=``) belongs to :func:`hlstudy.sem.sem` and is a ModelError.
    """
    from hlstudy.sem.syntax import parse_model

    model: dict[str, list[str]] = {}
    pairs: list[tuple[str, str]] = []
    for st in parse_model(text):
        if st.label or st.fixed is not None or st.free:
            raise ModelError(f"model syntax, line {st.line}: modifiers (labels, fixed values, NA*) "
                             "are not supported by cfa(); use hlstudy.sem.sem()")
        if st.op == "=~":
            model.setdefault(st.lhs, []).append(st.rhs)
        elif st.op == "~~":
            if st.lhs != st.rhs:
                pairs.append((st.lhs, st.rhs))
        else:
            raise ModelError(f"model syntax, line {st.line}: {st.lhs} {st.op} {st.rhs} is not "
                             "part of a measurement model; use hlstudy.sem.sem()")
    if not model:
        raise ModelError("model syntax has no '=~' statement")
    factors = set(model)
    for a, b in pairs:
        if a in factors or b in factors:
            raise ModelError(f"{a} ~~ {b}: covariances of factors are free by default in cfa(); "
                             "use hlstudy.sem.sem() to constrain them")
    return model, pairs


def normalise_model(model) -> dict[str, list[str]]:
    """Check a ``{factor: [items]}`` mapping and return it as a plain dict of lists.

    A lavaan-syntax string with ``=~`` statements only is accepted too.
    """
    if isinstance(model, str):
        model, pairs = parse_cfa_syntax(model)
        if pairs:
            raise ModelError("residual covariances ('~~') are not part of a {factor: items} "
                             "mapping; pass them to cfa()")
    if not isinstance(model, Mapping) or len(model) == 0:
        raise ModelError(
            "model must be a non-empty mapping factor -> list of items, "
            "e.g. {'visual': ['x1', 'x2', 'x3']}"
        )
    out: dict[str, list[str]] = {}
    for factor, items in model.items():
        if not isinstance(factor, str) or not factor:
            raise ModelError(f"factor names must be non-empty strings, got {factor!r}")
        if isinstance(items, str) or not isinstance(items, Sequence | np.ndarray | tuple):
            raise ModelError(
                f"factor {factor!r}: items must be a list of column names, got {items!r}"
            )
        items = [str(i) for i in items]
        if len(set(items)) != len(items):
            raise ModelError(f"factor {factor!r} lists an item twice: {items}")
        out[factor] = items
    observed = _observed_order(out)
    clash = sorted(set(out) & set(observed))
    if clash:
        raise ModelError(f"names used both as factor and as item: {clash}")
    return out


def _observed_order(model: Mapping[str, list[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for items in model.values():
        for item in items:
            seen.setdefault(item, None)
    return list(seen)


def _residual_pairs(pairs, observed: list[str]) -> list[tuple[str, str]]:
    """Validate residual-covariance pairs; return them in model order, without repeats."""
    pos = {o: i for i, o in enumerate(observed)}
    out: list[tuple[str, str]] = []
    for pair in pairs:
        if isinstance(pair, str) or len(pair) != 2:
            raise ModelError(f"residual covariances are pairs of items, got {pair!r}")
        a, b = (str(v) for v in pair)
        missing = [v for v in (a, b) if v not in pos]
        if missing:
            raise ModelError(f"residual covariance {a} ~~ {b}: {missing} not an item of the model")
        if a == b:
            raise ModelError(f"residual covariance needs two different items, got {a} ~~ {b}")
        a, b = (a, b) if pos[a] < pos[b] else (b, a)
        if (a, b) in out:
            raise ModelError(f"residual covariance {a} ~~ {b} listed twice")
        out.append((a, b))
    return out


def build_spec(
    model: Mapping[str, list[str]],
    *,
    n_groups: int = 1,
    equal: Sequence[str] = (),
    std_lv: bool = False,
    meanstructure: bool | None = None,
    unit_loading_factors: Sequence[str] = (),
    orthogonal_factors: Sequence[str] = (),
    residual_covariances: Sequence[tuple[str, str]] = (),
) -> Spec:
    """Translate a model mapping into slots (see module docstring).

    ``unit_loading_factors`` get every loading fixed to 1 (equal loadings, free
    variance: the common latent factor of a method-bias check);
    ``orthogonal_factors`` are uncorrelated with every other factor.
    """
    model = normalise_model(model)
    equal = tuple(equal)
    unknown = sorted(set(equal) - set(EQUAL_KEYWORDS))
    if unknown:
        raise ModelError(f"unknown equality constraint(s) {unknown}; use {list(EQUAL_KEYWORDS)}")
    if equal and n_groups < 2:
        raise ModelError("equal= constraints need a grouping variable (group=)")
    if meanstructure is None:
        meanstructure = n_groups > 1
    factors = list(model)
    observed = _observed_order(model)
    unit = set(unit_loading_factors)
    orth = set(orthogonal_factors)
    for factor, items in model.items():
        if len(items) < 2 and factor not in unit:
            raise ModelError(
                f"factor {factor!r} has {len(items)} item(s) ({items}); a factor needs at "
                "least 2 indicators (3 or more for a stand-alone factor) to be identified"
            )
    pairs = _residual_pairs(residual_covariances, observed)
    spec = Spec(
        factors=factors,
        observed=observed,
        model=model,
        n_groups=n_groups,
        meanstructure=bool(meanstructure),
    )
    keys: dict[tuple, int] = {}

    def pid_for(key: tuple, shared: bool, g: int) -> int:
        full = key if shared else key + (g,)
        if full not in keys:
            keys[full] = len(keys)
        return keys[full]

    fidx = {f: k for k, f in enumerate(factors)}
    oidx = {o: i for i, o in enumerate(observed)}
    eq_load = "loadings" in equal
    for g in range(n_groups):
        # loadings
        for f in factors:
            for pos, item in enumerate(model[f]):
                i, k = oidx[item], fidx[f]
                if f in unit:
                    pid, fixed = -1, 1.0
                elif pos == 0 and not std_lv:
                    pid, fixed = -1, 1.0
                else:
                    pid, fixed = pid_for(("lambda", f, item), eq_load, g), np.nan
                spec.slots.append(Slot("lambda", g, i, k, f, "=~", item, pid, fixed))
        # residual variances
        for item in observed:
            i = oidx[item]
            pid = pid_for(("theta", item), "residuals" in equal, g)
            spec.slots.append(Slot("theta", g, i, i, item, "~~", item, pid, np.nan))
        # residual covariances
        for a, b in pairs:
            pid = pid_for(("thetacov", a, b), "residual.covariances" in equal, g)
            spec.slots.append(Slot("thetacov", g, oidx[a], oidx[b], a, "~~", b, pid, np.nan))
        # latent variances and covariances
        for a, fa in enumerate(factors):
            for b in range(a, len(factors)):
                fb = factors[b]
                if a == b:
                    fix_var = std_lv and fa not in unit
                    if fix_var and g > 0 and eq_load and "lv.variances" not in equal:
                        fix_var = False  # lavaan frees them once loadings identify the scale
                    if fix_var:
                        pid, fixed = -1, 1.0
                    else:
                        pid = pid_for(("phi", fa, fa), "lv.variances" in equal, g)
                        fixed = np.nan
                elif fa in orth or fb in orth:
                    pid, fixed = -1, 0.0
                else:
                    pid = pid_for(("phi", fa, fb), "lv.covariances" in equal, g)
                    fixed = np.nan
                spec.slots.append(Slot("phi", g, a, b, fa, "~~", fb, pid, fixed))
        if spec.meanstructure:
            for item in observed:
                i = oidx[item]
                pid = pid_for(("nu", item), "intercepts" in equal, g)
                spec.slots.append(Slot("nu", g, i, 0, item, "~1", "", pid, np.nan))
            for f in factors:
                k = fidx[f]
                free_mean = (
                    g > 0
                    and "intercepts" in equal
                    and "means" not in equal
                    and f not in unit
                )
                if free_mean:
                    pid, fixed = pid_for(("alpha", f), False, g), np.nan
                else:
                    pid, fixed = -1, 0.0
                spec.slots.append(Slot("alpha", g, k, 0, f, "~1", "", pid, fixed))
    spec.n_free = len(keys)
    return spec
