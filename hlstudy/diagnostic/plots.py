"""Figures of the commune diagnostic: caterpillar plot and share bars with intervals.

Functions take the tidy tables of :mod:`hlstudy.diagnostic` and return a matplotlib figure;
labels are passed in by the caller (use :func:`hlstudy.export.tr` for the language), so the
library stays language-neutral.  Export with :func:`hlstudy.export.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hlstudy.errors import ModelError


def caterpillar(table: pd.DataFrame, *, label: str, xlabel: str = "", title: str = "",
                reference: float | None = None, reference_label: str = "",
                threshold: float | None = None, threshold_label: str = "",
                show_n: bool = True, min_cell: int | None = None, ax=None):
    """Commune estimates with their intervals, sorted (a caterpillar plot).

    ``table`` has ``estimate, lo, hi, n`` and the column ``label`` (one row per commune, one
    variable), as returned by :func:`hlstudy.diagnostic.quality.commune_means` filtered to one
    variable.  ``reference`` draws the district mean, ``threshold`` the cut-off for "weak".
    With ``min_cell``, communes with fewer people are left out (the small-cell rule).
    """
    import matplotlib.pyplot as plt

    need = ["estimate", "lo", "hi", "n", label]
    absent = [c for c in need if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    if table[label].duplicated().any():
        raise ModelError("one row per commune expected (filter to one variable first)")
    # Rounded far below what the figure can show, so that last-bit differences between BLAS
    # kernels cannot move an axis limit (and with it the files' bytes) on another machine.
    t = table.assign(**{c: table[c].astype(float).round(10) for c in ("estimate", "lo", "hi")})
    t = t.sort_values(["estimate", label], ascending=[True, True]).reset_index(drop=True)
    if reference is not None:
        reference = round(float(reference), 10)
    if min_cell is not None:
        t = t[pd.to_numeric(t["n"], errors="coerce") >= min_cell].reset_index(drop=True)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.5, 0.26 * len(t) + 1.2))
    else:
        fig = ax.figure
    y = np.arange(len(t))
    lo = (t["estimate"] - t["lo"]).clip(lower=0).fillna(0)
    hi = (t["hi"] - t["estimate"]).clip(lower=0).fillna(0)
    ax.errorbar(t["estimate"], y, xerr=[lo, hi], fmt="o", color="#1f4e79", ecolor="#7f9fbf",
                elinewidth=1.6, capsize=2, markersize=4)
    names = [f"{a} (n={b})" if show_n else str(a) for a, b in zip(t[label], t["n"], strict=True)]
    ax.set_yticks(y, names)
    if reference is not None:
        ax.axvline(reference, color="grey", linestyle="--", linewidth=1, label=reference_label)
    if threshold is not None:
        ax.axvline(threshold, color="#b22222", linestyle=":", linewidth=1.2, label=threshold_label)
    if (reference is not None and reference_label) or (threshold is not None and threshold_label):
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.set_ylim(-0.7, len(t) - 0.3)
    if own:
        fig.tight_layout()
    return fig


def share_bars(table: pd.DataFrame, *, label: str, xlabel: str = "", title: str = "",
               order: Sequence[str] | None = None, percent: bool = True,
               min_cell: int | None = None, suppressed_label: str = "<5", ax=None):
    """Horizontal bars of ``share`` with Wilson error bars (``lo``, ``hi``), one per ``label``.

    With ``min_cell``, a bar whose ``k`` or ``n`` counts 1 to ``min_cell − 1`` people is not
    drawn and is marked ``suppressed_label`` instead — the figure keeps the tables'
    small-cell rule (:func:`hlstudy.export.suppress_small_cells`).  A table already
    suppressed (cells equal to ``suppressed_label``, e.g. from
    :func:`hlstudy.diagnostic.profile.suppress_shares`, which also hides complementary
    cells) is drawn with the same bars hidden; a complementary cell is marked ``x``.
    """
    import matplotlib.pyplot as plt

    absent = [c for c in ("share", "lo", "hi", label) if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    t = table.copy()
    if order is not None:
        t = t.set_index(label).reindex(list(order)).reset_index()
    scale = 100.0 if percent else 1.0
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.5, 0.35 * len(t) + 1.2))
    else:
        fig = ax.figure
    y = np.arange(len(t))[::-1]
    if min_cell is not None:
        from hlstudy.export import COMPLEMENTARY

        small = pd.Series(False, index=t.index)
        mark = pd.Series(suppressed_label, index=t.index, dtype=object)
        for c in ("k", "n", "share"):
            if c in t.columns:
                small |= t[c].astype(object).eq(suppressed_label)
                comp = t[c].astype(object).eq(COMPLEMENTARY)
                mark[comp & ~small] = COMPLEMENTARY   # hidden to protect another cell
                small |= comp
        for c in ("k", "n"):
            if c in t.columns:
                v = pd.to_numeric(t[c], errors="coerce")
                small |= (v >= 1) & (v < min_cell)
        for c in ("share", "lo", "hi"):
            t[c] = pd.to_numeric(t[c].astype(object).where(~small), errors="coerce")
        for yi, m in zip(y[small.to_numpy()], mark[small], strict=True):
            ax.text(1.0 if percent else 0.01, yi, m, va="center", fontsize=7)
    s = t["share"].astype(float) * scale
    err = [(s - t["lo"].astype(float) * scale).clip(lower=0).fillna(0),
           (t["hi"].astype(float) * scale - s).clip(lower=0).fillna(0)]
    ax.barh(y, s.fillna(0), color="#6c8ebf", xerr=err, ecolor="#333333", capsize=2)
    ax.set_yticks(y, [str(v) for v in t[label]])
    ax.set_xlabel(xlabel)
    if percent:
        ax.set_xlim(0, 100)
    if title:
        ax.set_title(title)
    if own:
        fig.tight_layout()
    return fig


def staffing_plot(table: pd.DataFrame, *, label: str, xlabel: str = "", title: str = "",
                  kind_labels: tuple[str, str] = ("cán bộ", "công chức"),
                  quota_label: str = "", ax=None):
    """Headcount per commune (bars, cán bộ and công chức stacked) against its quota (marker).

    ``table``: :func:`hlstudy.diagnostic.staffing.staffing_vs_quota` output; ``kind_labels``
    name the two stacked parts in the legend (pass English labels for an English figure).
    """
    import matplotlib.pyplot as plt

    absent = [c for c in ("n_can_bo", "n_cong_chuc", "n_staff", "quota", label)
              if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    t = table.sort_values(["gap", label] if "gap" in table else [label]).reset_index(drop=True)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.5, 0.26 * len(t) + 1.8))
    else:
        fig = ax.figure
    y = np.arange(len(t))
    ax.barh(y, t["n_can_bo"], color="#6c8ebf", label=kind_labels[0])
    ax.barh(y, t["n_cong_chuc"], left=t["n_can_bo"], color="#a9c4e4", label=kind_labels[1])
    ax.scatter(t["quota"], y, marker="|", s=160, color="#b22222", zorder=3, label=quota_label)
    ax.set_yticks(y, [str(v) for v in t[label]])
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.26 * len(t) + 1.8) - 0.04),
              ncol=3, fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    if own:
        fig.tight_layout()
    return fig
