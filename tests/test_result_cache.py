"""The notebooks' result cache (issue 15): a kept result is the fitted result, warnings
included; anything the result depends on changes the key; off outside the notebook kernels."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy import _figurekey, _resultcache, runner
from hlstudy.cfa import HeywoodWarning
from hlstudy.sem import sem

FIX = Path(__file__).parent / "fixtures" / "lavaan"
HSM = pd.read_csv(FIX / "hs1939_missing.csv")
HS_SEM = json.loads((FIX / "sem_reference.json").read_text())["models"]["hs_sem"]
LOG: dict[str, Path] = {}   # where the probe logs its calls in the running test


class ProbeWarning(UserWarning):
    pass


def probe(data: pd.DataFrame, k: int = 1, *, log: Path) -> dict:
    """A fit stand-in: logs its calls (to a file: what it reads is part of the key), warns."""
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"{len(data)} {k}\n")
    warnings.warn(f"probe warning {k}", ProbeWarning, stacklevel=1)
    return {"sums": data.sum().to_numpy() * k, "k": k}


def failing(data: pd.DataFrame) -> None:
    warnings.warn("before failing", ProbeWarning, stacklevel=1)
    raise ValueError("no fit")


@pytest.fixture
def kept(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    monkeypatch.setattr(_resultcache, "folder", lambda: folder)
    monkeypatch.setattr(_resultcache, "package_digest", lambda: "settled-source")
    monkeypatch.setattr(_figurekey, "package_digest", lambda: "settled-source")   # figure keys
    monkeypatch.setenv("HLSTUDY_RESULT_CACHE", "1")
    monkeypatch.delenv("HLSTUDY_FIT_CACHE", raising=False)
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    monkeypatch.setitem(LOG, "path", tmp_path / "calls.log")
    return folder


def _calls() -> list[str]:
    log = LOG["path"]
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _call(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _resultcache.call(probe, *args, log=LOG["path"], **kwargs)
    return result, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def test_off_unless_the_kernels_switch_it_on(monkeypatch):
    monkeypatch.delenv("HLSTUDY_RESULT_CACHE", raising=False)
    assert not _resultcache.enabled()
    monkeypatch.setenv("HLSTUDY_RESULT_CACHE", "1")
    assert _resultcache.enabled()
    for switch in ("HLSTUDY_FIT_CACHE", "HLSTUDY_EXPORT_CACHE"):
        monkeypatch.setenv(switch, "0")
        assert not _resultcache.enabled(), switch
        monkeypatch.delenv(switch)
    assert runner.kernel_env()["HLSTUDY_RESULT_CACHE"] == "1"
    monkeypatch.setenv("HLSTUDY_RESULT_CACHE", "0")
    assert runner.kernel_env()["HLSTUDY_RESULT_CACHE"] == "0", "a user's 0 reaches the kernels"


def test_kept_result_and_warnings_are_the_fitted_ones(kept):
    data = pd.DataFrame({"a": [1.0, 2.0, 3.5], "b": [0.5, np.nan, 2.0]})
    first, first_warned = _call(data, k=2)
    again, again_warned = _call(data.copy(), k=2)
    assert _calls() == ["3 2"], "fitted once, then read back"
    np.testing.assert_array_equal(again["sums"], first["sums"])
    assert again["k"] == 2
    assert first_warned == again_warned and len(first_warned) == 1
    category, message, filename, lineno = first_warned[0]
    assert (category, message) == (ProbeWarning, "probe warning 2")
    assert filename == __file__ and lineno == probe.__code__.co_firstlineno + 4, "from where it was issued"
    assert len(list(kept.iterdir())) == 1


def test_any_change_of_what_the_result_depends_on_fits_again(kept, monkeypatch):
    data = pd.DataFrame({"a": [1.0, 2.0, 3.5], "b": [0.5, np.nan, 2.0]})
    _call(data, k=2)
    changed = data.copy()
    changed.iloc[0, 0] = 1.0000000001
    _call(changed, k=2)                         # a data value
    _call(data.rename(columns={"b": "c"}), k=2)  # a column name
    _call(data, k=3)                            # an argument
    _call(data, 2)                              # the same argument given by position
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    _call(data, k=2)                            # the machine's BLAS setting
    monkeypatch.setattr(_resultcache, "package_digest", lambda: "edited-source")
    _call(data, k=2)                            # hlstudy's source
    assert len(_calls()) == 7
    monkeypatch.setattr(_resultcache, "package_digest", lambda: None)   # edited during this process
    _call(data, k=2)
    _call(data, k=2)
    assert len(_calls()) == 9, "no key, no cache"


def test_a_failing_fit_warns_raises_and_keeps_nothing(kept):
    with warnings.catch_warnings(record=True) as caught, pytest.raises(ValueError, match="no fit"):
        warnings.simplefilter("always")
        _resultcache.call(failing, pd.DataFrame({"a": [1.0]}))
    assert [str(w.message) for w in caught] == ["before failing"]
    assert not kept.exists() or not list(kept.iterdir())


def test_damaged_or_unpicklable_results_are_fitted_again(kept, monkeypatch):
    data = pd.DataFrame({"a": [1.0, 2.0]})
    _call(data)
    (entry,) = kept.iterdir()
    damaged = bytearray(entry.read_bytes())
    damaged[40] ^= 0xFF
    entry.write_bytes(bytes(damaged))
    _call(data)
    assert len(_calls()) == 2 and entry.read_bytes() != bytes(damaged), "fitted and kept again"
    # a result pickle refuses is returned as it is, and not kept
    import threading

    lock = threading.Lock()
    assert _resultcache.call(lambda d: lock, data) is lock
    assert len(list(kept.iterdir())) == 1


def test_a_kept_sem_is_the_fitted_sem(kept):
    kw = {"missing": "ml", "estimator": "MLR"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeywoodWarning)
        fresh = sem(HSM, HS_SEM, **kw)                       # off: fitted as always
        first = _resultcache.call(sem.__wrapped__, HSM, HS_SEM, **kw)
        again = _resultcache.call(sem.__wrapped__, HSM, HS_SEM, **kw)
    assert len(list(kept.iterdir())) == 1
    for result in (first, again):
        pd.testing.assert_frame_equal(result.parameter_estimates(), fresh.parameter_estimates(), check_exact=True)
        pd.testing.assert_series_equal(result.fit_measures(), fresh.fit_measures(), check_exact=True)
        assert result.summary() == fresh.summary()
    # the decorated function goes through the cache when it is on
    assert sem(HSM, HS_SEM, **kw).summary() == fresh.summary()
    assert len(list(kept.iterdir())) == 1


def test_sem_pickle_leaves_out_the_saturated_information_memo():
    fit = sem(HSM, HS_SEM, missing="ml", estimator="MLR")
    assert fit._fitinfo.get("_h1") is not None, "made by the robust fit measures"
    back = pickle.loads(pickle.dumps(fit))
    assert "_h1" not in back._fitinfo and fit._fitinfo.get("_h1") is not None, "the original keeps it"
    from hlstudy.sem.core import _h1_factor

    keep = np.ones(fit._fitinfo["_h1"][0].shape[0], dtype=bool)
    a1, s1, _ = _h1_factor(back._fitinfo, keep)   # made again when needed: the same numbers
    np.testing.assert_array_equal(a1, fit._fitinfo["_h1"][0])
    np.testing.assert_array_equal(s1, fit._fitinfo["_h1"][2])


def test_the_key_names_the_function_and_its_state(kept):
    data = pd.DataFrame({"a": [1.0, 2.0]})
    base = _resultcache.key(probe, (data,), {})
    assert base == _resultcache.key(probe, (data.copy(),), {})
    assert base != _resultcache.key(failing, (data,), {})
    assert _figurekey.state_bytes(probe) is not None


# --- what a function reads besides its arguments, and figures (kept(figure=True)) ---------

def test_what_functions_read_besides_their_arguments_is_in_the_key(kept, monkeypatch, tmp_path):
    from hlstudy import export, paths

    data = pd.DataFrame({"a": [1.0, 2.0]})
    base = _resultcache.key(probe, (data,), {})
    monkeypatch.setenv("HLSTUDY_FIGURES", str(tmp_path / "elsewhere"))   # where files go: no input
    monkeypatch.setenv("HLSTUDY_PROGRESS", "1")
    assert _resultcache.key(probe, (data,), {}) == base
    monkeypatch.setenv("HLSTUDY_DATA", str(tmp_path))                    # which data: an input
    assert _resultcache.key(probe, (data,), {}) != base
    monkeypatch.delenv("HLSTUDY_DATA")
    assert _resultcache.key(probe, (data,), {}) == base
    monkeypatch.setattr(export, "_language", "en" if export.language() == "vi" else "vi")
    assert _resultcache.key(probe, (data,), {}) != base, "the label language (set_language)"
    monkeypatch.setattr(export, "_language", None)
    assert _resultcache.key(probe, (data,), {}) == base
    # a reference file's bytes (read by the functions through their own readers)
    reference = tmp_path / "reference"
    reference.mkdir()
    for path in paths.REFERENCE.iterdir():
        (reference / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(paths, "REFERENCE", reference)
    assert _resultcache.key(probe, (data,), {}) == base, "the same bytes elsewhere"
    target = reference / "title_limits.csv"
    target.write_bytes(target.read_bytes() + b"\n")
    assert _resultcache.key(probe, (data,), {}) != base
    monkeypatch.setenv("HLSTUDY_LANG", "xx")                              # invalid: no key
    assert _resultcache.key(probe, (data,), {}) is None


def probe_figure(values: list[float], *, title: str, log: Path):
    """A plotting stand-in: a new pyplot figure, its calls logged."""
    import matplotlib.pyplot as plt

    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"figure {title}\n")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(values, "o-", label="values")
    ax.set_title(title)
    ax.legend()
    return fig


def _png(fig) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50, metadata={"Software": None})
    return buffer.getvalue()


def test_a_kept_figure_draws_as_the_fresh_one_and_replaces_it_in_pyplot(kept):
    import matplotlib
    import matplotlib.pyplot as plt

    plt.close("all")
    fresh = probe_figure([1.0, 3.0, 2.0], title="T", log=LOG["path"])
    expected = _png(fresh)
    plt.close("all")
    first = _resultcache.call(probe_figure, [1.0, 3.0, 2.0], title="T", log=LOG["path"], _figure=True)
    assert plt.get_fignums() == [first.number], "the call's own figure gave way to its copy"
    again = _resultcache.call(probe_figure, [1.0, 3.0, 2.0], title="T", log=LOG["path"], _figure=True)
    assert _calls() == ["figure T", "figure T"], "drawn once directly, once for the cache"
    assert again is not first and sorted(plt.get_fignums()) == sorted([first.number, again.number])
    assert _png(first) == expected and _png(again) == expected
    with matplotlib.rc_context({"lines.linewidth": 3.0}):   # the drawing environment is in the key
        _resultcache.call(probe_figure, [1.0, 3.0, 2.0], title="T", log=LOG["path"], _figure=True)
    assert len(_calls()) == 3
    plt.close("all")


def draw_into(ax, values: list[float], *, log: Path):
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("drawn\n")
    ax.plot(values)
    return ax.figure


def grow(values: list[float], *, log: Path) -> int:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("grown\n")
    values.append(0.0)   # changes its argument: cannot be replayed from a stored result
    return len(values)


def test_calls_drawing_into_or_changing_their_arguments_are_not_kept(kept):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    for _ in range(2):
        assert _resultcache.call(draw_into, ax, [1.0, 2.0], log=LOG["path"], _figure=True) is fig
    assert len(ax.lines) == 2, "each call drew into the axes it was given"
    plt.close(fig)
    values = [1.0]
    assert _resultcache.call(grow, values, log=LOG["path"]) == 2
    assert _resultcache.call(grow, values, log=LOG["path"]) == 3
    assert _calls() == ["drawn", "drawn", "grown", "grown"]
    assert not kept.exists() or not list(kept.iterdir())


def test_library_figures_with_tick_formatters_are_kept_and_draw_the_same(kept):
    import matplotlib.pyplot as plt

    from hlstudy import pathplot

    rng = np.random.default_rng(3)
    link = pd.DataFrame({"commune": [f"Xã {k}" for k in range(4)],   # few labels to place
                         "QUAL": rng.normal(3.5, 0.3, 4), "SIPAS": rng.normal(3.2, 0.3, 4)})
    fresh = _png(pathplot.commune_scatter.__wrapped__(link, "QUAL", "SIPAS", fit_label="fit"))
    plt.close("all")
    first = pathplot.commune_scatter(link, "QUAL", "SIPAS", fit_label="fit")
    again = pathplot.commune_scatter(link, "QUAL", "SIPAS", fit_label="fit")
    assert len(list(kept.iterdir())) == 1, "the figure pickles (no local lambda in it)"
    assert _png(first) == fresh and _png(again) == fresh
    assert first.axes[0].xaxis.get_major_formatter()(-0.5, 0) == "−0,50"
    plt.close("all")


def test_an_unchanged_kept_figure_is_named_by_its_call_in_the_figure_key(kept):
    """A read-back figure serialises differently right after it was computed and in a later
    run (pickle interns attribute names), so the figure cache names an unchanged one by the
    call that returned it; a figure changed after the call is named by its state."""
    import matplotlib.pyplot as plt

    first = _resultcache.call(probe_figure, [1.0, 2.0], title="K", log=LOG["path"], _figure=True)
    again = _resultcache.call(probe_figure, [1.0, 2.0], title="K", log=LOG["path"], _figure=True)
    name = _resultcache.key(probe_figure, ([1.0, 2.0],), {"title": "K", "log": LOG["path"]}, figure=True)
    for fig in (first, again):
        assert _resultcache.kept_origin(fig, _figurekey.state_bytes(fig)) == name
    assert _figurekey.figure_key(first, "x") == _figurekey.figure_key(again, "x")
    unchanged = _figurekey.figure_key(again, "x")
    again.axes[0].set_title("changed after the call")
    assert _resultcache.kept_origin(again, _figurekey.state_bytes(again)) is None
    assert _figurekey.figure_key(again, "x") != unchanged
    direct = probe_figure([1.0, 2.0], title="K", log=LOG["path"])   # not from a kept call
    assert _resultcache.kept_origin(direct, _figurekey.state_bytes(direct)) is None
    plt.close("all")


# --- pandas objects in a key: by content, not by pandas' internal layout --------------------

def _mixed_frame() -> pd.DataFrame:
    frame = pd.DataFrame({"a": [1, 2, 3], "g": [0.1, 0.2, 0.3], "b": ["x", "y", None],
                          "f": pd.array([1, None, 3], dtype="Int64"),
                          "d": pd.Categorical(["u", "v", "u"], categories=["v", "u"])})
    frame = frame.assign(c=pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"]).tz_localize("Asia/Ho_Chi_Minh"))
    frame["e"] = [1.5, np.nan, -0.0]   # a second float block: the frame is not consolidated
    return frame


def test_pandas_state_is_content_not_layout_or_memos():
    frame = _mixed_frame()
    before = _figurekey.state_bytes(frame)
    consolidated = frame.copy()
    consolidated._consolidate_inplace()
    assert len(consolidated._mgr.blocks) < len(frame._mgr.blocks), "the layouts differ"
    assert _figurekey.state_bytes(consolidated) == before
    _ = frame["c"].dt.year, frame["c"].array.is_normalized, frame.index.is_unique   # memoised
    frame.sum(numeric_only=True)                                         # may consolidate in place
    assert _figurekey.state_bytes(frame) == before
    # read from the blocks as the public column-by-column route reads it
    assert (pickle.dumps(_figurekey._columns_state(frame))
            == pickle.dumps([_figurekey._values_state(frame.iloc[:, i]) for i in range(frame.shape[1])]))
    series = frame["c"]
    assert _figurekey.state_bytes(series) == _figurekey.state_bytes(series.copy())
    # a dtype's memoised properties (pandas' cache_readonly) are not its content
    dtype = pd.Int64Dtype()
    getattr(dtype, "_cache", {}).clear()   # as a fresh process has it (pandas keeps one instance)
    fresh = _figurekey.state_bytes((dtype, frame["f"].array, frame["d"].dtype))
    _ = dtype.numpy_dtype, frame["d"].dtype.categories.is_unique, frame["f"].array._hasna
    assert getattr(dtype, "_cache", None), "pandas memoised a property on the dtype"
    assert _figurekey.state_bytes((dtype, frame["f"].array, frame["d"].dtype)) == fresh
    assert _figurekey.state_bytes(pd.Int64Dtype()) != _figurekey.state_bytes(pd.Int32Dtype())
    assert (_figurekey.state_bytes(pd.StringDtype("python", na_value=np.nan))
            != _figurekey.state_bytes(pd.StringDtype("python")))


@pytest.mark.parametrize("change", [
    lambda f: f.assign(e=[1.5, np.nan, 0.0]),                        # -0.0 against 0.0
    lambda f: f.assign(a=f["a"].astype(float)),                     # a dtype, same numbers
    lambda f: f[list(f.columns[::-1])],                             # column order
    lambda f: f.set_axis([0, 1, 5]),                                # an index label
    lambda f: f.rename(columns={"a": "A"}),                         # a column label
    lambda f: f.assign(d=f["d"].cat.reorder_categories(["u", "v"])),  # categories' order
    lambda f: f.assign(c=f["c"].dt.tz_convert("UTC")),              # the time zone
    lambda f: f.assign(f=pd.array([1, 2, 3], dtype="Int64")),        # a missing value
])
def test_pandas_state_changes_with_content(change):
    frame = _mixed_frame()
    assert _figurekey.state_bytes(change(frame)) != _figurekey.state_bytes(frame)
    assert _figurekey.state_bytes(change(frame)["a"] if "a" in change(frame) else frame["b"]) is not None


def consolidating(frame: pd.DataFrame, *, log: Path) -> float:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("summed\n")
    frame._consolidate_inplace()    # what many pandas operations do: not a change of content
    return float(frame["a"].sum())


def test_a_call_that_only_reorganises_a_frame_is_kept(kept):
    frame = _mixed_frame()
    assert _resultcache.call(consolidating, frame, log=LOG["path"]) == 6.0
    assert _resultcache.call(consolidating, _mixed_frame(), log=LOG["path"]) == 6.0
    assert _calls() == ["summed"]


# --- options of the decorator: seeds, files read, calls inside calls --------------------------

@_resultcache.kept
def inner(data: pd.DataFrame, *, log: Path) -> float:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("inner\n")
    return float(data["a"].sum())


@_resultcache.kept
def outer(data: pd.DataFrame, *, log: Path) -> float:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("outer\n")
    return inner(data, log=log) + inner(data * 2, log=log)


@_resultcache.kept(seeds=("seed",))
def draws(n: int, seed: int | None = None, *, log: Path) -> list[float]:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"draws {seed}\n")
    return np.random.default_rng(seed).normal(size=n).tolist()


@_resultcache.kept(paths=("folder",))
def reads(folder: Path | None = None, *, log: Path) -> str:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("read\n")
    return "".join(p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.txt")))


def test_only_the_outermost_kept_call_is_kept(kept):
    data = pd.DataFrame({"a": [1.0, 2.0]})
    assert outer(data, log=LOG["path"]) == 9.0
    assert outer(data, log=LOG["path"]) == 9.0
    assert _calls() == ["outer", "inner", "inner"]
    assert len(list(kept.iterdir())) == 1, "the inner calls ran inside the outer one, not kept"
    assert inner(data, log=LOG["path"]) == 3.0 and inner(data, log=LOG["path"]) == 3.0
    assert _calls().count("inner") == 3 and len(list(kept.iterdir())) == 2


def test_unseeded_draws_are_not_kept_and_seeded_ones_are(kept):
    first, again = draws(3, log=LOG["path"]), draws(3, log=LOG["path"])
    assert first != again, "fresh entropy each time"
    assert draws(3, seed=5, log=LOG["path"]) == draws(3, seed=5, log=LOG["path"])
    assert _calls() == ["draws None", "draws None", "draws 5"]


def test_the_files_a_call_reads_are_in_its_key(kept, tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "a.txt").write_text("one", encoding="utf-8")
    assert reads(folder, log=LOG["path"]) == "one"
    assert reads(folder, log=LOG["path"]) == "one"
    assert _calls() == ["read"]
    (folder / "b.txt").write_text("two", encoding="utf-8")          # a new file
    assert reads(folder, log=LOG["path"]) == "onetwo"
    (folder / "a.txt").write_text("ONE", encoding="utf-8")          # a changed file
    assert reads(folder, log=LOG["path"]) == "ONEtwo"
    assert len(_calls()) == 3
    for _ in range(2):   # no such file or folder: nothing to name it by, so not kept
        assert reads(tmp_path / "missing", log=LOG["path"]) == ""
    assert len(_calls()) == 5
