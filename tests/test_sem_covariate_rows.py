"""hlstudy.sem with FIML and a fixed-x covariate on rows observed on the covariate only.

lavaan 0.6-14 keeps such rows (they carry the covariate's moments, which fixed.x fixes at
their sample values); hlstudy.sem must use the same rows and so give the same estimates.
Reference: tests/fixtures/consort/make_fixtures.R (HS1939 with ~12 % of items deleted and
ageyr deleted in four rows; rows 77 and 150 observed on ageyr only).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy.sem import sem

FIX = Path(__file__).parent / "fixtures" / "consort"
DATA = pd.read_csv(FIX / "hs1939_missing_covariate.csv")
REF_N = json.loads((FIX / "consort_reference.json").read_text())
MODEL = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
textual ~ visual + ageyr
speed ~ ageyr"""
TOL = 1e-3  # absolute for |value| <= 1, relative above; the tolerance of tests/test_sem.py
ITEMS = [f"x{i}" for i in range(1, 10)]


def _close(a, b, tol=TOL):
    a, b = np.asarray(a, float), np.asarray(b, float)
    both_nan = np.isnan(a) & np.isnan(b)
    return both_nan | (np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b)))


def _key(df):
    return [f"{a}|{o}|{r}" for a, o, r in zip(df["lhs"], df["op"], df["rhs"], strict=True)]


@pytest.fixture(scope="module")
def fits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"ml": sem(DATA, MODEL, missing="ml"),
                "mlr": sem(DATA, MODEL, missing="ml", estimator="MLR")}


def test_fixture_has_covariate_only_rows():
    only_x = DATA[ITEMS].isna().all(axis=1) & DATA["ageyr"].notna()
    assert sorted(DATA.index[only_x] + 1) == [77, 150]


@pytest.mark.parametrize("name", ["ml", "mlr"])
def test_rows_used_equal_lavaan(fits, name):
    assert fits[name].nobs == REF_N["sem_fiml"]
    assert fits[name].n_dropped == len(DATA) - REF_N["sem_fiml"]


@pytest.mark.parametrize("name,file", [("ml", "sem_fiml_pe.csv"), ("mlr", "sem_fiml_mlr_pe.csv")])
def test_every_cell_equals_lavaan(fits, name, file):
    ref = pd.read_csv(FIX / file)
    ref.index = _key(ref.fillna({"rhs": ""}))
    mine = fits[name].parameter_estimates()
    mine.index = _key(mine.fillna({"rhs": ""}))
    assert set(ref.index) == set(mine.index)
    mine = mine.loc[ref.index]
    for col in ("est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.lv", "std.all"):
        r, m = ref[col].to_numpy(float), mine[col].to_numpy(float)
        keep = np.isfinite(r) if col in ("z", "pvalue") else np.ones(len(r), bool)
        ok = _close(m[keep], r[keep])
        assert ok.all(), f"{name} {col}: {list(ref.index[keep][~ok])}"


@pytest.mark.parametrize("name,file", [("ml", "sem_fiml_fit.csv"), ("mlr", "sem_fiml_mlr_fit.csv")])
def test_fit_measures_equal_lavaan(fits, name, file):
    ref = pd.read_csv(FIX / file).set_index("measure")["value"]
    mine = fits[name].fit_measures()
    bad = {k: (float(mine[k]), v) for k, v in ref.items() if not _close(mine[k], v)}
    assert not bad, bad
