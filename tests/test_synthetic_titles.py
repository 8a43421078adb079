"""The simulator follows the title limits the diagnostic checks (issue 13 §2).

Decree 08/2016/NĐ-CP Art. 7 as amended by Decree 69/2020/NĐ-CP allows two Phó Chủ tịch UBND
in loại I and II units and one in loại III (``data/reference/title_limits.csv``).  A
simulated register, read back through ingest and cleaning like any export, must have no
title above its limit under :func:`hlstudy.diagnostic.staffing.title_counts` with the unit
classes the simulator drew (the classes the diagnostic notebook draws from the same seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hlstudy
from hlstudy import legal
from hlstudy.communes import communes
from hlstudy.diagnostic import staffing as st
from hlstudy.synthetic import _people, simulate


@pytest.mark.parametrize("seed", [20251, 3, 11])
def test_simulated_register_has_no_title_over_its_limit(seed, tmp_path):
    # the register is the census (every post, whatever the survey's size): a tenth of the
    # officials answering and one citizen per commune make ingest and cleaning cheaper and
    # leave the register as large as ever (469 posts for seed 3)
    sim = simulate(seed=seed, n_citizens_per_commune=1, response_rate=0.1)
    sim.write(tmp_path)
    study = hlstudy.load_study(tmp_path, cache=False)
    uc = sim.truth.unit_classes
    classes = st.UnitClasses(dict(zip(uc["code"].astype(str), uc["unit_class"], strict=True)),
                             basis=str(uc["basis"].iloc[0]))
    # the notebook's classes: simulate_unit_classes with the manifest's seed
    assert classes.classes == st.simulate_unit_classes(uc["code"], seed=seed).classes
    tc = st.title_counts(study.personnel, communes(), classes)
    assert len(tc) == 23 * tc["position_code"].nunique()
    assert not tc["over"].any(), tc[tc["over"]]
    pct = tc[tc["position_code"] == "PCT_UBND"]
    # the rule is not met by never drawing a second deputy: loại I/II units do have two
    assert (pct.loc[pct["unit_class"] == "III", "n"] <= 1).all()
    allowed = pct[pct["unit_class"] != "III"]
    assert (allowed["n"] == 2).any()


def _posts(limit, classes, seeds=range(30)):
    reg = communes()
    out = []
    for s in seeds:
        df = _people.staffing(np.random.default_rng(s), reg, classes, legal.quota, limit)
        out.append(df.assign(seed=s))
    return pd.concat(out, ignore_index=True), reg


@pytest.fixture(scope="module")
def posts_iii():
    """Posts drawn for 30 seeds with every unit loại III and the reference limits (read by two
    tests: drawn once)."""
    return _posts(None, dict.fromkeys(communes()["code"], "III"))[0]


def test_staffing_reads_the_limit_it_is_given(posts_iii):
    reg = communes()
    all_i = dict.fromkeys(reg["code"], "I")
    # the reference limits: loại III never has two deputies, loại I often does
    posts = posts_iii
    n = posts[posts["position_code"] == "PCT_UBND"].groupby(["seed", "commune_code"]).size()
    assert n.max() == 1
    posts, _ = _posts(None, all_i)
    n = posts[posts["position_code"] == "PCT_UBND"].groupby(["seed", "commune_code"]).size()
    assert n.max() == 2 and 0.3 < (n == 2).mean() < 0.7

    # a limit function of one everywhere: no second deputy even in loại I
    def one(position, unit_type, unit_class):
        return 1 if position == "PCT_UBND" else legal.title_limit(position, unit_type, unit_class)

    posts, _ = _posts(one, all_i)
    n = posts[posts["position_code"] == "PCT_UBND"].groupby(["seed", "commune_code"]).size()
    assert n.max() == 1


def test_headcount_ceiling_is_kept_when_the_second_deputy_is_not_allowed(posts_iii):
    """A loại III unit without a second deputy fills that post with a civil servant: the
    unit's size still follows the Decree 33 ceiling (at most one above, two vacancies)."""
    reg = communes()
    posts = posts_iii
    size = posts.groupby(["seed", "commune_code"]).size().reset_index(name="n")
    types = dict(zip(reg["code"], reg["unit_type"], strict=True))
    q = size["commune_code"].map(lambda c: legal.quota(types[c], "III"))
    assert (size["n"] - q).between(-2, 1).all()
    assert (size["n"] - q == 0).mean() > 0.3
