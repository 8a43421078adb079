"""Loader of the R reference values written by tests/fixtures/psych/make_fixtures.R."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures" / "psych"


@cache
def reference() -> dict:
    return json.loads((FIXTURES / "psych_reference.json").read_text(encoding="utf-8"))


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name)


def bfi() -> pd.DataFrame:
    return _csv("bfi.csv").copy()


def bfi_items() -> pd.DataFrame:
    return bfi().iloc[:, :25]


def bfi_keyed() -> pd.DataFrame:
    """bfi items with the reverse-keyed ones turned (7 - x), as the R script does."""
    x = bfi_items()
    for v in reference()["meta"]["reverse_keyed"]:
        x[v] = 7 - x[v]
    return x


def hs() -> pd.DataFrame:
    return _csv("hs1939.csv").copy()


def hs_items() -> pd.DataFrame:
    return hs()[[f"x{i}" for i in range(1, 10)]]


def twolevel() -> pd.DataFrame:
    return _csv("twolevel.csv").copy()


def matrix(m: dict) -> pd.DataFrame:
    """A matrix written by the R script (rows, cols, row-wise values); one-column matrices
    arrive unboxed by jsonlite and are boxed again here."""
    rows, cols, values = m["rows"], m["cols"], m["values"]
    if isinstance(cols, str):
        cols = [cols]
    if isinstance(rows, str):
        rows = [rows]
    values = [v if isinstance(v, list) else [v] for v in values]
    arr = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    return pd.DataFrame(arr, index=rows, columns=cols)


def series(d: dict) -> pd.Series:
    return pd.Series({k: (np.nan if v is None else v) for k, v in d.items()}, dtype=float)
