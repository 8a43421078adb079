"""The PDF export keeps each font subset it made (issue 15) without changing a byte."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends import _backend_pdf_ps as pdfps  # noqa: E402

from hlstudy import export  # noqa: E402


@pytest.fixture(autouse=True)
def _style(monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setattr(export, "_SUBSETS", {})
    folder = tmp_path / "font-subsets"
    monkeypatch.setattr(export, "_cache_dir", lambda name: folder if name == "font-subsets" else None)
    export.use_style()
    yield
    plt.close("all")


def _figure(title: str):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], [3, 1, 2], label="Đường xu hướng")
    ax.set_title(title)
    ax.legend()
    export._mark_simulated(fig)   # the italic mark: a second embedded font
    export.localise_numbers(fig)  # the tick labels as save_figure writes them (decimal commas)
    return fig


def _pdf(fig, cached: bool) -> bytes:
    buffer = io.BytesIO()
    with export._cached_font_subsets() if cached else _nothing():
        fig.savefig(buffer, format="pdf", metadata=export._figure_metadata("pdf"))
    return buffer.getvalue()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _mark_only():
    """A figure whose only text is the simulated-data mark: one embedded font, the italic
    one, with the glyphs of the mark in ``_figure`` (so the subset ``_figure``'s PDF made);
    for the tests of what the cache does with a subset, whatever the font (fontTools makes
    the italic subset in half the time of the regular one, which has more tables)."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.axis("off")
    export._mark_simulated(fig)
    return fig


TITLE = "Chất lượng cán bộ cấp xã"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A first run: one PDF of ``_figure(TITLE)`` through the cache from nothing (empty
    memory, empty folder).  Returns its bytes, the subsets it made and the files it wrote;
    made once for the tests that go on from that state (each works on its own copies)."""
    folder = tmp_path_factory.mktemp("made") / "font-subsets"
    calls = []
    make = pdfps.get_glyphs_subset
    with pytest.MonkeyPatch.context() as m:
        m.setenv("SOURCE_DATE_EPOCH", "0")
        m.setattr(export, "_SUBSETS", {})
        m.setattr(export, "_cache_dir", lambda name: folder if name == "font-subsets" else None)
        m.setattr(pdfps, "get_glyphs_subset", lambda f, g: calls.append(f) or make(f, g))
        export.use_style()
        pdf = _pdf(_figure(TITLE), cached=True)
        subsets = dict(export._SUBSETS)
        plt.close("all")
    files = {p.name: p.read_bytes() for p in folder.glob("*.pkl")}
    # fontTools ran once per font: the regular text and the italic mark, each kept on disk
    assert len(calls) == 2 and len(subsets) == 2 and len(files) == 2
    return pdf, subsets, files


def _first_run_files(files: dict[str, bytes]):
    """The files of a first run (fixture ``made``) in this test's cache folder."""
    folder = export._cache_dir("font-subsets")
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_cached_subsets_give_the_bytes_of_fresh_ones_and_each_is_made_once(made):
    """Also: a subset is made once and reused (one test, so that the cached files compared
    with the fresh ones are the ones whose subsets are counted)."""
    titles = [TITLE, TITLE, "Ứng xử với người dân"]
    # one fresh file per distinct title: the second title's fresh file is the first one's
    # (the same figure; fresh files are byte-identical run to run, tests/test_export.py)
    fresh = {t: _pdf(_figure(t), cached=False) for t in dict.fromkeys(titles)}
    assert export._SUBSETS == {}
    # made (the first run, fixture ``made``), reused from memory, made
    first, subsets, _ = made                              # 2 subsets: regular text, italic mark
    export._SUBSETS.update(subsets)
    kept = dict(export._SUBSETS)
    cached = [first, _pdf(_figure(titles[1]), cached=True)]
    assert export._SUBSETS == kept                        # same glyphs: nothing new
    cached.append(_pdf(_figure(titles[2]), cached=True))
    assert len(export._SUBSETS) == 3                      # new regular subset, the mark's reused
    assert all(export._SUBSETS[k] is v for k, v in kept.items())   # the kept ones, not made again
    assert cached == [fresh[t] for t in titles]
    assert fresh[titles[0]] != fresh[titles[2]]   # the comparison can fail: other text, other subset


def test_matplotlib_functions_are_restored_after_the_save():
    make, as_file = pdfps.get_glyphs_subset, pdfps.font_as_file
    with pytest.raises(RuntimeError):
        with export._cached_font_subsets():
            assert pdfps.get_glyphs_subset is not make
            raise RuntimeError("a failing save")
    assert (pdfps.get_glyphs_subset, pdfps.font_as_file) == (make, as_file)


def test_save_figure_writes_the_same_pdf_twice(made, monkeypatch, tmp_path):
    # the subsets of the first run in memory (fixture ``made``, the same texts): fontTools
    # runs only if the export does not go through the cache
    export._SUBSETS.update(made[1])
    calls = _counting(monkeypatch)
    paths = export.save_figure(_figure(TITLE), "99_font_subset", simulated=False,
                               formats=["pdf"], directory=tmp_path / "a", show=False)
    first = paths["pdf"].read_bytes()
    assert calls == []                # the export went through the cache
    again = export.save_figure(_figure(TITLE), "99_font_subset", simulated=False,
                               formats=["pdf"], directory=tmp_path / "b", show=False)
    assert again["pdf"].read_bytes() == first


def _counting(monkeypatch):
    calls = []
    make = pdfps.get_glyphs_subset

    def counted(fontfile, glyphs):
        calls.append(fontfile)
        return make(fontfile, glyphs)

    monkeypatch.setattr(pdfps, "get_glyphs_subset", counted)
    return calls


def test_the_next_run_reads_the_subsets_from_disk(made, monkeypatch):
    fresh, _, files = made
    _first_run_files(files)                               # a new process: memory empty
    calls = _counting(monkeypatch)
    assert _pdf(_figure(TITLE), cached=True) == fresh
    assert calls == [], "fontTools ran again although the subsets were on disk"
    monkeypatch.setattr(export, "_SUBSETS", {})           # the mark's subset is on disk...
    _pdf(_mark_only(), cached=True)
    assert calls == [] and len(export._SUBSETS) == 1
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")          # ...but another key: made again
    monkeypatch.setattr(export, "_SUBSETS", {})
    _pdf(_mark_only(), cached=True)
    assert len(calls) == 1


def test_a_damaged_cache_file_is_made_again(made, monkeypatch):
    fresh, _, files = made
    damaged, intact = sorted(_first_run_files(files).glob("*.pkl"))   # one of the two fonts
    damaged.write_bytes(b"not a pickle")
    calls = _counting(monkeypatch)
    assert _pdf(_figure(TITLE), cached=True) == fresh
    assert len(calls) == 1                                # the damaged one only
    assert damaged.read_bytes() == files[damaged.name]     # and written again


def test_no_disk_cache_when_switched_off(monkeypatch):
    monkeypatch.undo()                                    # the real _cache_dir, switched off
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setattr(export, "_SUBSETS", {})
    monkeypatch.setenv("HLSTUDY_EXPORT_CACHE", "0")
    assert export._cache_dir("font-subsets") is None
    _pdf(_mark_only(), cached=True)
    assert len(export._SUBSETS) == 1                      # memory only
