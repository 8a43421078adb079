"""Speed levers of the notebooks' own computations, each checked against the direct computation.

* :func:`hlstudy.validation.ragree.r_agreement` keeps its table on disk by content (notebook
  07 refitted every lavaan/psych fixture model at every run, ~2 s): a kept table is the
  computed one to the bit, a hit computes nothing, and any change of a fixture file, of the
  package's source or of the switch computes again.

The fixture folders used here are copies of two quick families, evidence and collation
(their checks pass, with nonzero and with zero differences; every other check then fails fast
with "fixture not found", which puts error rows with NaN into the kept table).  Each test
computes the whole table several times, and the caching does not depend on which checks
pass: the diagnostic, review and drivers families (about half of a table's CPU) are left out.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from hlstudy.validation import ragree

QUICK = ("evidence", "collation")


@pytest.fixture
def fixtures(tmp_path):
    root = tmp_path / "fixtures"
    for name in QUICK:   # without evidence's IPMA data: its path model is the slowest check
        shutil.copytree(ragree.FIXTURES / name, root / name, ignore=shutil.ignore_patterns("ipma_*"))
    return root


@pytest.fixture(scope="module")
def settled_package(tmp_path_factory):
    """A copy of the package's source whose files are an hour old.

    The cache is not used while a source file is newer than the process's reading of the
    package (the code running may not be the code on disk), and this copy is written after it."""
    package = tmp_path_factory.mktemp("settled") / "hlstudy"
    shutil.copytree(ragree.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    past = time.time() - 3600
    for f in package.rglob("*.py"):
        os.utime(f, (past, past))
    return package


@pytest.fixture
def processed(tmp_path, monkeypatch, settled_package):
    """The cache under a temporary ``data/processed`` (the real switch logic of _cache_dir),
    keyed on a settled copy of the package's source (the same bytes)."""
    import hlstudy.paths

    monkeypatch.setattr(ragree, "PACKAGE", settled_package)
    monkeypatch.setattr(hlstudy.paths, "PROCESSED", tmp_path / "processed")
    monkeypatch.delenv("HLSTUDY_FIT_CACHE", raising=False)
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    return tmp_path / "processed" / "cache" / "r-agreement"


@pytest.fixture
def calls(monkeypatch):
    """Every check's run counted (the checks themselves unchanged)."""
    counted: list[str] = []

    def counting(check):
        def run(root, acc):
            counted.append(check.routine)
            return check.run(root, acc)
        return dataclasses.replace(check, run=run)

    monkeypatch.setattr(ragree, "CHECKS", tuple(counting(c) for c in ragree.CHECKS))
    return counted


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.dtypes.to_dict() == b.dtypes.to_dict()
    for col in ("worst_difference", "tolerance"):   # the doubles to the bit, NaN included
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert [v.hex() for v in x] == [v.hex() for v in y]


def test_kept_table_is_the_computed_one_and_a_hit_computes_nothing(fixtures, processed, calls):
    direct = ragree._compute(fixtures, ragree.CHECKS)
    assert len(calls) == len(ragree.CHECKS)
    assert direct["within"].any() and direct["worst_difference"].isna().any(), \
        "the copy has both passing checks and failing ones (NaN rows)"
    first = ragree.r_agreement(fixtures)                     # miss: computed and kept
    assert len(calls) == 2 * len(ragree.CHECKS)
    assert len(list(processed.glob("*.json"))) == 1
    again = ragree.r_agreement(fixtures)                     # hit: read back
    assert len(calls) == 2 * len(ragree.CHECKS), "a kept table is read, not computed"
    _same(direct, first)
    _same(direct, again)


def test_a_changed_fixture_value_is_computed_again(fixtures, processed, calls):
    before = ragree.r_agreement(fixtures).set_index("routine")
    assert before.loc["evidence.adjust", "within"]
    path = fixtures / "evidence" / "padjust.csv"
    ref = pd.read_csv(path)
    column = next(c for c in ("holm", "BH", "bh") if c in ref.columns)
    ref.loc[0, column] += 0.25          # a planted difference
    ref.to_csv(path, index=False)
    n = len(calls)
    after = ragree.r_agreement(fixtures).set_index("routine")
    assert len(calls) == n + len(ragree.CHECKS), "another fixture content is another key"
    assert not after.loc["evidence.adjust", "within"]
    assert after.loc["evidence.adjust", "worst_difference"] == pytest.approx(0.25, abs=1e-9)
    assert len(list(processed.glob("*.json"))) == 2


def test_a_changed_source_is_computed_again_and_a_newer_one_is_never_kept(
        fixtures, processed, calls, tmp_path, monkeypatch):
    package = tmp_path / "package"
    shutil.copytree(ragree.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(ragree, "PACKAGE", package)
    past = time.time() - 3600
    for f in package.rglob("*.py"):
        os.utime(f, (past, past))
    ragree.r_agreement(fixtures)
    ragree.r_agreement(fixtures)
    assert len(calls) == len(ragree.CHECKS)          # kept, then read
    source = package / "reliability.py"
    source.write_text(source.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    os.utime(source, (past, past))
    ragree.r_agreement(fixtures)
    assert len(calls) == 2 * len(ragree.CHECKS), "other source, other key"
    kept = sorted(processed.glob("*.json"))
    assert len(kept) == 2
    # a source file changed after this process read the package: the code running may not be the code
    # on disk, so nothing is read or kept
    source.write_text(source.read_text(encoding="utf-8") + "# again\n", encoding="utf-8")
    assert ragree._cache_path(fixtures) is None
    ragree.r_agreement(fixtures)
    ragree.r_agreement(fixtures)
    assert len(calls) == 4 * len(ragree.CHECKS)
    assert sorted(processed.glob("*.json")) == kept


def test_damaged_switched_off_and_explicit_checks(fixtures, processed, calls, monkeypatch):
    direct = ragree._compute(fixtures, ragree.CHECKS)
    ragree.r_agreement(fixtures)
    (path,) = processed.glob("*.json")
    path.write_text('{"columns": ["routine"], "rows": []}', encoding="utf-8")   # damaged
    n = len(calls)
    _same(direct, ragree.r_agreement(fixtures))
    assert len(calls) == n + len(ragree.CHECKS), "a damaged file is computed again"
    _same(direct, ragree._from_json(path.read_text(encoding="utf-8")))   # and rewritten
    shutil.rmtree(processed)
    for switch in ("HLSTUDY_FIT_CACHE", "HLSTUDY_EXPORT_CACHE"):
        monkeypatch.setenv(switch, "0")
        n = len(calls)
        _same(direct, ragree.r_agreement(fixtures))
        assert len(calls) == n + len(ragree.CHECKS) and not processed.exists()
        monkeypatch.delenv(switch)
    # a chosen list of checks (the tests' planted differences) is never kept
    some = ragree.CHECKS[:2]
    ragree.r_agreement(fixtures, checks=some)
    ragree.r_agreement(fixtures, checks=some)
    assert not processed.exists()


def test_json_keeps_every_double_and_type():
    table = pd.DataFrame([
        {"routine": "a", "r_function": "f", "fixture": "x", "cases": "1, 2", "n_values": 3,
         "worst_difference": 2.5e-17 / 3, "worst_at": "c[0]", "tolerance": 1e-8, "metric": "abs",
         "within": True},
        {"routine": "b", "r_function": "g", "fixture": "y", "cases": "", "n_values": 0,
         "worst_difference": np.nan, "worst_at": "error: Tiếng Việt", "tolerance": 0.0,
         "metric": "abs≤1,rel>1", "within": False}], columns=ragree.COLUMNS)
    _same(table, ragree._from_json(ragree._to_json(table)))
    with pytest.raises(ValueError):
        ragree._from_json('{"columns": ["routine"], "rows": []}')


# --------------------------------------------------------------------------- Cronbach's alpha

def test_alpha_quantiles_are_scipy_stats_doubles():
    """Feldt's interval and the Duhachek z come from special.fdtri / special.ndtri: the same
    doubles as stats.f.ppf / stats.norm.ppf (which evaluate them), edge cases included."""
    from scipy import special, stats

    rng = np.random.default_rng(15)
    q = np.array([0.005, 0.025, 0.05, 0.5, 0.95, 0.975, 0.995, *rng.uniform(size=20)])[:, None]
    d1 = rng.integers(1, 3000, size=400)
    d2 = d1 * rng.integers(1, 40, size=400)
    hexes = np.vectorize(float.hex)
    assert (hexes(special.fdtri(d1, d2, q)) == hexes(stats.f.ppf(q, d1, d2))).all()
    assert (hexes(special.ndtri(q)) == hexes(stats.norm.ppf(q))).all()
    for a, b, p in ((249, 996, 0.975), (249, 996, 0.025), (7, 21, 0.95)):   # scalars, as used
        assert special.fdtri(a, b, p).hex() == float(stats.f.ppf(p, a, b)).hex()
    for d1, d2 in ((0, 0), (0, 5), (3, 0)):          # no degrees of freedom: NaN both ways
        assert np.isnan(special.fdtri(d1, d2, 0.975)) and np.isnan(stats.f.ppf(0.975, d1, d2))


@pytest.mark.parametrize("ci", [0.95, 0.9])
def test_alpha_interval_is_the_stats_formula(ci):
    from scipy import stats

    from hlstudy.reliability import cronbach_alpha

    rng = np.random.default_rng(3)
    f = rng.normal(size=250)
    items = pd.DataFrame({f"Q{i}": np.round(f + rng.normal(size=250) * (1 + i / 3)) for i in range(5)})
    items.iloc[::17, 2] = np.nan
    res = cronbach_alpha(items, ci=ci)
    tail = (1 - ci) / 2
    df1, df2 = res.n_obs - 1, (res.n_obs - 1) * (res.n_items - 1)
    feldt = (1 - (1 - res.alpha) * stats.f.ppf(1 - tail, df1, df2),
             1 - (1 - res.alpha) * stats.f.ppf(tail, df1, df2))
    z = stats.norm.ppf(1 - tail)
    assert [v.hex() for v in res.ci] == [float(v).hex() for v in feldt]
    assert [float(v).hex() for v in res.ci_duhachek] == [float(res.alpha - z * res.ase).hex(),
                                                          float(res.alpha + z * res.ase).hex()]


# --------------------------------------------------------------------------- scale scores

def _scores_by_pandas(data, scales, min_share=0.5,
                      keep=("record_id", "commune_code", "commune", "commune_2025")):
    """The former score_scales: DataFrame.mean(axis=1) per scale (the reference)."""
    return _scores_by_pandas_shares(data, scales, [min_share], keep)[0]


def _scores_by_pandas_shares(data, scales, shares,
                             keep=("record_id", "commune_code", "commune", "commune_2025")):
    """The former score_scales at each of ``shares``: each scale's pandas mean and count of
    answered items are the same whatever the share (only the threshold differs), so they are
    computed once and thresholded per share, with the former route's own operations."""
    from hlstudy.scales import min_items

    outs = [data[[c for c in keep if c in data]].copy() for _ in shares]
    for construct, items in scales.items():
        values = data[list(items)].astype(float)
        answered = values.notna().sum(axis=1)
        mean = values.mean(axis=1, skipna=True)
        for out, share in zip(outs, shares, strict=True):
            out[construct] = mean.where(answered >= min_items(len(items), share), np.nan)
    return outs


def _bits(values: np.ndarray):
    """Each float's bits as float.hex() tells them apart: every NaN alike, else the raw bits."""
    nan = np.isnan(values)
    return nan, np.where(nan, 0, values.view(np.int64))


def _same_frame(a, b):
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for col in a.columns:
        if a[col].dtype == np.float64:
            (na, ba), (nb, bb) = _bits(a[col].to_numpy()), _bits(b[col].to_numpy())
            assert np.array_equal(na, nb) and np.array_equal(ba, bb), col


def test_scale_scores_are_pandas_row_means_to_the_bit():
    from hlstudy.scales import score_scales

    # 24 trials, each kind of input by design rather than by chance (60 random ones before;
    # the cost is per trial, and no check depends on how many trials share a kind): every
    # scale length k = 2..13 with Likert answers and with fractional ones, and every one of
    # the 16 combinations of answers (Likert or fractional), index (range or not), an
    # extension column and an object column (most were absent from the 60 random trials)
    rng = np.random.default_rng(15)
    for trial in range(24):
        n, k = int(rng.integers(1, 300)), 2 + trial // 2
        likert = trial % 2 == 0
        v = rng.integers(1, 6, size=(n, k)).astype(float) if likert else \
            rng.normal(size=(n, k)) * 10 ** rng.uniform(-3, 3, size=k)
        v[rng.uniform(size=(n, k)) < 0.3] = np.nan
        data = pd.DataFrame(v, columns=[f"i{j}" for j in range(k)])
        data.insert(0, "record_id", [f"r{j}" for j in range(n)])
        if trial & 2:
            data.index = rng.permutation(n) + 7          # another index, not a range
        if trial & 4:
            data["i0"] = data["i0"].astype("Float64")    # an extension column with pd.NA
        if trial & 8:
            data["i1"] = data["i1"].astype(object)       # numbers as objects
        cut = int(rng.integers(1, k))
        scales = {"A": [f"i{j}" for j in range(cut)] or ["i0"],
                  "B": [f"i{j}" for j in range(cut - 1, k)],     # shares an item with A
                  "C": [f"i{j}" for j in range(k)][::-1]}
        shares = (0.5, 1.0, 0.01)
        for share, ref in zip(shares, _scores_by_pandas_shares(data, scales, shares), strict=True):
            _same_frame(score_scales(data, scales, min_share=share), ref)


def test_scale_scores_with_duplicate_names_and_bad_input():
    from hlstudy.errors import ModelError
    from hlstudy.scales import score_scales

    data = pd.DataFrame([[1.0, 2.0, np.nan, "x"], [3.0, np.nan, np.nan, "y"], [5.0, 4.0, 2.0, "z"]],
                        columns=["a", "b", "a", "commune"])
    scales = {"S": ["a", "b"], "commune": ["b"]}          # a name selecting two columns; a kept name
    _same_frame(score_scales(data, scales), _scores_by_pandas(data, scales))
    plain = data.iloc[:, [0, 1, 3]]
    with pytest.raises(ModelError, match="not columns"):
        score_scales(plain, {"S": ["a", "zz"]})
    with pytest.raises(ModelError, match="no items"):
        score_scales(plain, {"S": []})
    with pytest.raises(ValueError):                        # text is not a score, as before
        score_scales(plain, {"S": ["a", "commune"]})
