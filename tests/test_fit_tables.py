"""The committed fit tables print RMSEA with its 90% interval in columns of their own.

A thesis reads a fit table row by row: each index with its value, the interval where one is
reported (RMSEA, lavaan ``fitMeasures`` ``rmsea.ci.lower`` / ``rmsea.ci.upper``) and the cut-off
it is judged by.  Notebook 03 once printed the interval as a row of its own, in the cut-off
column; notebook 05 printed no interval at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hlstudy import export

FIGURES = Path(__file__).resolve().parents[1] / "figures"
TABLES = sorted(p.name for p in FIGURES.glob("*.csv") if re.match(r"0[35]_(cfa|sem)_fit", p.name))


def test_the_fit_tables_are_found():
    assert {"03_cfa_fit_officials.csv", "03_cfa_fit_citizens.csv", "05_sem_fit.csv"} <= set(TABLES)


@pytest.mark.parametrize("name", TABLES)
def test_rmsea_row_holds_its_interval_and_no_other_row_does(name):
    t = export.read_table_csv(FIGURES / name)
    index, value = t.columns[0], t.columns[1]
    low = [c for c in t.columns if re.search(r"(KTC|CI) 90%.*(dưới|lower|low)\b", c)]
    high = [c for c in t.columns if re.search(r"(KTC|CI) 90%.*(trên|upper|high)\b", c)]
    assert len(low) == 1 and len(high) == 1, list(t.columns)
    has = t[low[0]].notna() | t[high[0]].notna()
    assert t.loc[has, index].str.startswith("RMSEA").all() and has.sum() == 1, t[index].tolist()
    row = t[has].iloc[0]
    assert row[low[0]] <= row[value] <= row[high[0]]
    cutoff = [c for c in t.columns if c.startswith(("Ngưỡng", "Cut-off"))]
    for c in cutoff:   # cut-offs only ("≤ 0,08"), never an interval; one header for all of them
        assert c == "Ngưỡng", c   # "Ngưỡng (quy ước 0,90)" stood over ≤ 3 and ≤ 0,08 too
        assert t[c].dropna().map(lambda s: re.fullmatch(r"[≤≥] \d+(,\d+)?", s) is not None).all()
    met = [c for c in t.columns if c == "Đạt"]
    for c in met:   # a verdict a reader reads, never True/False
        assert set(t[c].dropna()) <= {"có", "không"}, set(t[c].dropna())
