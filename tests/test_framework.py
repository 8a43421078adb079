"""Tests of hlstudy.framework (notebook 01's tables and figures)."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from hlstudy import codebook, framework
from hlstudy.errors import ModelError

matplotlib.use("Agg")


def test_hypothesized_paths_are_paths_of_the_simulator():
    from hlstudy.synthetic import DEFAULT_EFFECTS

    paths = framework.hypothesized_paths()
    keys = set(paths["cause"] + "->" + paths["effect"])
    assert keys <= set(DEFAULT_EFFECTS)
    assert not paths.duplicated(["cause", "effect"]).any()
    res = paths[paths["cause"] == "RES"]
    assert set(res["sign"]) == {"-"} and set(res["effect"]) == {"ETH", "PRO", "SKL", "RSP"}
    assert set(paths.loc[paths["sign"] == "+", "cause"]).isdisjoint({"RES"})


def test_instruments_table_counts_the_codebook():
    t = framework.instruments_table()
    cb = codebook.load_codebook()
    assert t["n_items"].sum() == (cb["type"] == "likert").sum()
    assert t["n_reverse"].sum() == cb["reverse"].sum()
    assert framework.instruments_table(lang="en").loc[0, "label"] == "Training and refresher courses"


def test_reform_table_partitions_the_23_units():
    t = framework.reform_table()
    assert len(t) == 8 and t["n_units"].sum() == 23
    units = [u for s in t["units_merged"] for u in s.split(", ")]
    assert len(units) == len(set(units)) == 23
    assert "TT Hữu Lũng" in t.set_index("commune_2025").at["Hữu Lũng", "units_merged"]


def test_hypotheses_table_follows_claims_order():
    t = framework.hypotheses_table()
    claims = pd.read_csv(codebook.INSTRUMENT / "claims.csv")
    assert t["claim_id"].tolist() == claims["claim_id"].tolist()
    assert t["hypothesis"].str.len().gt(20).all()


def test_figures_draw_and_reject_unknown_nodes():
    fig = framework.path_diagram(lang="en")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"TRAIN", "PRO", "SIPAS", "QUAL"} <= texts
    fig2 = framework.reform_figure()
    assert len(fig2.axes[0].collections) == 16  # 8 communes: points + centre star each
    bad = pd.DataFrame({"cause": ["MOON"], "effect": ["PRO"], "sign": ["+"], "claims": ["T1"]})
    with pytest.raises(ModelError, match="MOON"):
        framework.path_diagram(paths=bad)


@pytest.mark.parametrize("module", ["hlstudy.codebook", "hlstudy.communes", "hlstudy.district",
                                    "hlstudy.framework", "hlstudy.synthetic"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_sample_size_rules():
    # Slovin: N = 10 000, e = 5 % gives 384.6… → 385 (textbook value)
    assert framework.slovin(10_000, 0.05) == 385
    assert framework.slovin(121_735, 0.05) == 399
    assert framework.regression_min_n(8) == 114
    with pytest.raises(ModelError):
        framework.slovin(0)
    with pytest.raises(ModelError):
        framework.slovin(100, 1.5)
    with pytest.raises(ModelError):
        framework.regression_min_n(0)


def test_vi_number_writes_vietnamese_digits_and_rejects_non_numbers():
    assert framework.vi_number(1_234_567.891, 2) == "1.234.567,89"
    assert framework.vi_number(0.05, percent=True) == "5%"
    assert framework.vi_number(0.4445, 1, percent=True) == "44,5%"
    assert framework.vi_number(999) == "999"
    for bad in (None, "abc", float("nan"), float("inf")):
        with pytest.raises(ModelError):
            framework.vi_number(bad)
    with pytest.raises(ModelError):
        framework.vi_number(1.0, -1)
