"""Model frames: which variables a formula needs, listwise deletion counted, design matrices."""

from __future__ import annotations

import ast
import builtins
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from hlstudy.errors import ModelError

_KNOWN_CALLABLES = {"C", "I", "Q", "center", "standardize", "scale", "bs", "cr", "cc", "te",
                    "Treatment", "Sum", "Diff", "Helmert", "Poly", "np", "numpy", "log", "exp",
                    "sqrt", "abs"}


def formula_variables(formula: str) -> list[str]:
    """Names of the data columns a patsy formula refers to, in order of first appearance.

    Functions (``C(...)``, ``np.log(...)``, ``I(...)``) and the contrast names patsy knows are
    not variables; ``Q("name")`` refers to the column ``name``.
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelError(f"formula must be a string 'outcome ~ predictors', got {formula!r}")
    return list(_formula_variables(formula))


@functools.lru_cache(maxsize=512)
def _formula_variables(formula: str) -> tuple[str, ...]:
    """:func:`formula_variables` of a string formula, parsed once per formula (a pure
    function of the text; a formula that fails raises every time, as it is not kept)."""
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise ModelError(f"cannot parse formula {formula!r}: {exc}") from None
    if not desc.lhs_termlist:
        raise ModelError(f"formula {formula!r} has no outcome on the left of '~'")
    names: list[str] = []
    for term in list(desc.lhs_termlist) + list(desc.rhs_termlist):
        for factor in term.factors:
            code = factor.code
            try:
                tree = ast.parse(code, mode="eval")
            except SyntaxError:
                raise ModelError(f"cannot parse {code!r} in formula {formula!r}") from None
            called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Q":
                    if node.args and isinstance(node.args[0], ast.Constant):
                        names.append(str(node.args[0].value))
                if (isinstance(node, ast.Name) and id(node) not in called
                        and node.id not in _KNOWN_CALLABLES and not hasattr(builtins, node.id)):
                    names.append(node.id)
                # attribute bases such as np in np.log are Names inside Attribute: skip them
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    base = node.value.id
                    if base in names and base in _KNOWN_CALLABLES:
                        names.remove(base)
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return tuple(seen)


@dataclass(frozen=True)
class ModelFrame:
    """What a fit uses: outcome, design, clusters, weights, and what was dropped."""

    y: np.ndarray
    X: np.ndarray
    columns: list[str]            # design column names (patsy's)
    term_columns: dict[str, list[int]]   # term name -> design column positions (no intercept)
    outcome: str
    data: pd.DataFrame            # the complete rows used, original index
    cluster: np.ndarray | None    # integer cluster codes 0..G-1
    cluster_labels: np.ndarray | None
    weights: np.ndarray | None
    n_dropped: int                # rows dropped for a missing value in a model variable


def check_columns(data: pd.DataFrame, names: list[str], what: str) -> None:
    missing = [n for n in names if n not in data.columns]
    if missing:
        raise ModelError(f"{what} not in the data: {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(map(str, data.columns[:30]))}"
                         f"{', ...' if len(data.columns) > 30 else ''})")


def model_frame(data: pd.DataFrame, formula: str, *, cluster: str | None = None,
                weights: str | None = None, min_cluster_size: int = 2) -> ModelFrame:
    """Complete cases of the formula's variables (+ cluster, weights) and the design matrices.

    Raises :class:`ModelError` for a non-DataFrame, unknown variables, no complete row, fewer
    complete rows than parameters, a rank-deficient design (naming the aliased columns), fewer
    than 2 clusters or a cluster with fewer than ``min_cluster_size`` rows (naming it), and
    non-positive or missing weights.
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    variables = formula_variables(formula)
    check_columns(data, variables, "variables of the formula")
    extra = [c for c in (cluster, weights) if c is not None]
    check_columns(data, extra, "cluster/weights variable")
    used = list(dict.fromkeys(variables + extra))
    frame = data[used]
    complete = frame.notna().all(axis=1).to_numpy()
    n_dropped = int((~complete).sum())
    if not complete.any():
        raise ModelError(f"no complete row: all {len(frame)} rows miss at least one of {used}")
    frame = frame.loc[complete]
    simple = _numeric_main_effects(formula, frame)
    if simple is not None:
        outcome, columns, term_columns, y, X = simple
    else:
        try:
            y_df, X_df = patsy.dmatrices(formula, frame, return_type="dataframe",
                                         NA_action="raise", eval_env=1)
        except patsy.PatsyError as exc:
            raise ModelError(f"cannot build the design of {formula!r}: {exc}") from None
        lhs = formula.split("~", 1)[0].strip()
        if lhs in frame and not _is_plain_numeric(frame[lhs]):
            raise ModelError(f"outcome {lhs!r} is not numeric (dtype {frame[lhs].dtype}): a "
                             "regression needs a numeric outcome; convert it (pd.to_numeric) "
                             "or choose a numeric column")
        if y_df.shape[1] != 1:
            raise ModelError(f"the outcome of {formula!r} must be one numeric column, "
                             f"got {list(y_df.columns)}")
        outcome, columns = str(y_df.columns[0]), [str(c) for c in X_df.columns]
        term_columns = {name: list(range(sl.start, sl.stop))
                        for name, sl in X_df.design_info.term_name_slices.items()
                        if name != "Intercept"}
        y = y_df.iloc[:, 0].to_numpy(dtype=float)
        X = X_df.to_numpy(dtype=float)
    if not (np.isfinite(y).all() and np.isfinite(X).all()):
        raise ModelError(f"the design of {formula!r} has infinite values (log of zero?)")
    n, k = X.shape
    if n <= k:
        raise ModelError(f"{n} complete rows for {k} coefficients: the model cannot be estimated "
                         f"({n_dropped} rows dropped for missing values)")
    rank = np.linalg.matrix_rank(X)
    if rank < k:
        aliased = _aliased_columns(X, columns)
        raise ModelError(f"the design is rank deficient (rank {rank} < {k} columns): "
                         f"{', '.join(aliased)} are linear combinations of the other columns")
    codes = labels = None
    if cluster is not None:
        raw = frame[cluster]
        labels, codes = np.unique(raw.astype(str).to_numpy(), return_inverse=True)
        if len(labels) < 2:
            raise ModelError(f"cluster variable {cluster!r} has {len(labels)} cluster(s) among the "
                             f"complete rows; cluster-robust inference needs at least 2")
        sizes = np.bincount(codes)
        small = [str(labels[i]) for i in np.flatnonzero(sizes < min_cluster_size)]
        if small:
            raise ModelError(f"cluster variable {cluster!r}: cluster(s) with fewer than "
                             f"{min_cluster_size} complete rows: {', '.join(small)} "
                             f"(a cluster of one gives no within-cluster information; merge or drop it)")
    w = None
    if weights is not None:
        w = pd.to_numeric(frame[weights], errors="coerce").to_numpy(dtype=float)
        if not (np.isfinite(w).all() and (w > 0).all()):
            raise ModelError(f"weights {weights!r} must be positive finite numbers")
    return ModelFrame(y=y, X=X, columns=columns, term_columns=term_columns,
                      outcome=outcome, data=frame, cluster=codes,
                      cluster_labels=labels, weights=w, n_dropped=n_dropped)


def _is_plain_numeric(series: pd.Series) -> bool:
    dt = series.dtype
    return isinstance(dt, np.dtype) and dt.kind in "fiu"


def _numeric_main_effects(formula: str, frame: pd.DataFrame):
    """The design patsy builds, without patsy, for ``y ~ a + b + ...`` (with or without the
    intercept) when every name is a column of plain numeric dtype (no bool, category, text,
    function, interaction or transformation): columns ``Intercept, a, b, ...`` in formula
    order, each the column's values as float64, as ``patsy.dmatrices`` gives them.  Returns
    ``(outcome, columns, term_columns, y, X)`` or None for anything else (patsy then)."""
    shape = _main_effects_shape(formula)
    if shape is None:
        return None
    outcome, names, intercept = shape
    names = list(names)
    for name in [outcome, *names]:
        if not (name.isidentifier() and name in frame.columns
                and _is_plain_numeric(frame[name])) or frame.columns.tolist().count(name) != 1:
            return None
    if len(set(names)) != len(names):
        return None
    n = len(frame)
    X = np.empty((n, int(intercept) + len(names)), order="F")   # patsy's layout: by column
    if intercept:
        X[:, 0] = 1.0
    for k, c in enumerate(names):
        X[:, int(intercept) + k] = frame[c].to_numpy(dtype=float)
    columns = (["Intercept"] if intercept else []) + names
    first = int(intercept)
    term_columns = {c: [first + k] for k, c in enumerate(names)}
    return outcome, columns, term_columns, frame[outcome].to_numpy(dtype=float), X


@functools.lru_cache(maxsize=512)
def _main_effects_shape(formula: str) -> tuple[str, tuple[str, ...], bool] | None:
    """``(outcome, predictor names, intercept)`` of a formula ``y ~ a + b + ...`` whose every
    term is one factor (with or without the intercept, first), else None; parsed once per
    formula (a pure function of the text)."""
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError:
        return None
    if len(desc.lhs_termlist) != 1 or len(desc.lhs_termlist[0].factors) != 1:
        return None
    terms = list(desc.rhs_termlist)
    intercept = bool(terms) and not terms[0].factors
    names = []
    for term in terms[1:] if intercept else terms:
        if len(term.factors) != 1:
            return None        # interaction, or an intercept elsewhere than first
        names.append(term.factors[0].code)
    outcome = desc.lhs_termlist[0].factors[0].code
    if not names and not intercept:
        return None
    return outcome, tuple(names), intercept


def _aliased_columns(X: np.ndarray, names: list[str]) -> list[str]:
    """Columns that add nothing to the span of the columns before them (like R's NA coefficients)."""
    out, kept = [], []
    for j in range(X.shape[1]):
        trial = kept + [j]
        if np.linalg.matrix_rank(X[:, trial]) < len(trial):
            out.append(names[j])
        else:
            kept.append(j)
    return out
