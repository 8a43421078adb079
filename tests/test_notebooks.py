"""Every notebook executes, and what is committed is what the code produces.

For each ``notebooks/NN_slug.py``: the committed ``.ipynb`` has the same cells, executing the
script reproduces the committed text and table outputs exactly, and the figure and table
files it exports are byte-identical to the committed ones under ``figures/``.

Each notebook is executed **once per test session** (:func:`executed`), and both the
output-equality and the export-equality tests read that one execution.  The tests of the
notebooks, and this module's other tests (which start kernels too), carry
``xdist_group("notebooks")``, so under ``pytest -n 2 --dist loadgroup``
(what ``make.py test`` runs) they land on one worker, which shares one execution per notebook
between its tests and starts one kernel fork server (:class:`hlstudy.runner._ForkServer`,
about 3 s of CPU to import the libraries) instead of one per worker; ``tests/conftest.py``
puts the group first.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hlstudy import export, runner
from hlstudy.paths import ROOT

SOURCES = runner.sources()
NOTEBOOK_GROUP = "notebooks"   # every test here on one worker: one kernel fork server
pytestmark = pytest.mark.xdist_group(NOTEBOOK_GROUP)
_RUNS: dict[Path, tuple] = {}  # per test process: source -> (notebook, stderr, out_dir) or error
_CACHE_STATE: dict[str, str] = {}  # the caches as the first notebook found them (for a mismatch report)


def _per_notebook():
    return [pytest.param(p, id=p.stem, marks=pytest.mark.xdist_group(NOTEBOOK_GROUP))
            for p in SOURCES]


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """``executed(source)`` -> ``(notebook, stderr, export_dir)``, one execution per session."""

    def run(source: Path):
        if source not in _RUNS:
            if not _RUNS:
                _CACHE_STATE["first run"] = cache_state()
                runner.warm_study_cache()   # as reproduce does: kernels read, not rebuild, the study
            out = tmp_path_factory.mktemp(f"exports-{source.stem[:2]}")
            try:
                nb, stderr = runner.execute(source, env_extra={"HLSTUDY_FIGURES": str(out)})
                _RUNS[source] = (nb, stderr, out)
            except runner.NotebookError as exc:
                _RUNS[source] = exc
        result = _RUNS[source]
        if isinstance(result, Exception):
            raise result
        return result

    return run


def test_notebook_sources_are_numbered_and_known():
    expected = [
        "01_theoretical_framework", "02_survey_cleaning", "03_measurement_model",
        "04_commune_diagnostic", "05_drivers_of_quality", "06_solution_evidence", "07_method_validation",
    ]
    stems = [p.stem for p in SOURCES]
    assert stems == [s for s in expected if s in stems], f"unexpected notebooks or order: {stems}"


@pytest.mark.parametrize("source", _per_notebook())
def test_committed_notebook_is_paired_with_its_script(source):
    assert runner.check_pairing(source) == []


@pytest.mark.parametrize("source", _per_notebook())
def test_notebook_reexecutes_to_its_committed_outputs(source, executed):
    import nbformat

    nb, _stderr, _out = executed(source)
    committed = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    fresh, old = runner.text_outputs(nb), runner.text_outputs(committed)
    assert len(fresh) == len(old)
    for i, (a, b) in enumerate(zip(fresh, old, strict=True), start=1):
        assert a == b, f"{source.stem}: code cell {i} output differs from the committed notebook"


@pytest.mark.parametrize("source", _per_notebook())
def test_notebook_reexecutes_to_its_committed_exports(source, executed):
    _nb, _stderr, out = executed(source)
    produced = sorted(p.name for p in out.iterdir())
    assert all(name.startswith(source.stem[:3]) for name in produced), produced
    differing = {}
    for name in produced:
        committed_file = ROOT / "figures" / name
        assert committed_file.exists(), f"{name} is produced by {source.stem} but not committed"
        fresh, old = (out / name).read_bytes(), committed_file.read_bytes()
        if fresh != old:  # a bool first: the slow description only for a differing file
            differing[name] = describe_difference(name, fresh, old)
    if differing:
        # every differing file named, where it differs, and kept (a cold-cache run that fails
        # once in a while must leave what it produced)
        kept = keep_mismatch(out, list(differing))
        pytest.fail(f"{source.stem}: {sorted(differing)} not reproduced byte for byte; kept with the "
                    f"committed files in {kept} (caches as the session's first notebook found them: "
                    f"{_CACHE_STATE.get('first run', '?')})\n" + "\n".join(differing.values()), pytrace=False)
    committed = sorted(p.name for p in (ROOT / "figures").glob(f"{source.stem[:3]}*"))
    assert committed == produced, f"committed files {source.stem} no longer makes: {sorted(set(committed) - set(produced))}"


# --------------------------------------------------------------------------- mismatch reports

def cache_state(root: Path | None = None) -> str:
    """Which of ``data/processed``'s caches exist and how many files each holds (for a report)."""
    cache = (root or ROOT / "data" / "processed") / "cache"
    if not cache.is_dir():
        return "no data/processed/cache"
    parts = []
    for entry in sorted(cache.iterdir()):
        if entry.is_dir():
            parts.append(f"{entry.name}: {sum(1 for p in entry.rglob('*') if p.is_file())}")
        else:
            parts.append(entry.name.split("-", 1)[0])
    return ", ".join(sorted(set(parts))) or "empty data/processed/cache"


def keep_mismatch(out: Path, names: list[str], committed: Path = ROOT / "figures",
                  base: Path | None = None) -> Path:
    """Copy the differing produced files and their committed versions out of pytest's
    temporary folders (which keep only the last runs) into a folder of their own, under
    ``base`` (default: the system's temporary folder)."""
    import shutil
    import tempfile

    base = Path(tempfile.gettempdir()) / "hlstudy-export-mismatches" if base is None else base
    kept = base / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    kept.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(out / name, kept / name)
        shutil.copy2(committed / name, kept / f"committed-{name}")
    return kept


def _first_difference(a: bytes, b: bytes) -> int:
    """The first offset where ``a`` and ``b`` differ (the shorter one's length if one is a prefix)."""
    n, step, at = min(len(a), len(b)), 4096, 0
    while at < n and a[at:at + step] == b[at:at + step]:
        at += step
    while at < n and a[at] == b[at]:
        at += 1
    return at


def _pdf_objects(data: bytes) -> dict[int, bytes]:
    """A PDF's indirect objects by number, each stream inflated when it is Flate-encoded."""
    import re
    import zlib

    objects = {}
    for match in re.finditer(rb"(\d+) 0 obj\b(.*?)\bendobj", data, re.S):
        body = match.group(2)
        start = body.find(b"stream")
        if start >= 0 and b"/FlateDecode" in body[:start]:
            raw = body[start + 6:].lstrip(b"\r\n")
            try:
                body = body[:start] + b"stream\n" + zlib.decompressobj().decompress(raw)
            except zlib.error:
                pass
        objects[int(match.group(1))] = body
    return objects


def _around(data: bytes, at: int, width: int = 80) -> str:
    return repr(data[max(0, at - width):at + width])


def describe_difference(name: str, fresh: bytes, old: bytes) -> str:
    """Where a produced file differs from the committed one: sizes, the first differing byte
    and the bytes around it; for a PDF the first differing object, inflated; for a PNG
    whether the pixels differ, and where."""
    at = _first_difference(fresh, old)
    lines = [f"{name}: {len(fresh)} bytes produced, {len(old)} committed; first difference at byte {at}",
             f"  produced:  {_around(fresh, at)}", f"  committed: {_around(old, at)}"]
    try:
        if name.endswith(".pdf"):
            new_objs, old_objs = _pdf_objects(fresh), _pdf_objects(old)
            for number in sorted(set(new_objs) | set(old_objs)):
                a, b = new_objs.get(number, b""), old_objs.get(number, b"")
                if a != b:
                    where = _first_difference(a, b)
                    lines += [f"  first differing PDF object: {number} (inflated), at its byte {where}",
                              f"    produced:  {_around(a, where, 160)}", f"    committed: {_around(b, where, 160)}"]
                    break
        elif name.endswith(".png"):
            import io

            import numpy as np
            from PIL import Image

            a, b = (np.asarray(Image.open(io.BytesIO(d)).convert("RGBA")) for d in (fresh, old))
            if a.shape != b.shape:
                lines.append(f"  PNG sizes differ: {a.shape[1::-1]} produced, {b.shape[1::-1]} committed")
            else:
                rows, cols = np.nonzero((a != b).any(axis=2))
                if rows.size == 0:
                    lines.append("  the pixels are the same: only the encoding differs")
                else:
                    lines.append(f"  {rows.size} pixels differ, in x {cols.min()}..{cols.max()}, "
                                 f"y {rows.min()}..{rows.max()} (of {a.shape[1]}x{a.shape[0]})")
    except Exception as exc:  # noqa: BLE001 - the description must not hide the mismatch itself
        lines.append(f"  (could not look inside: {exc!r})")
    return "\n".join(lines)


def test_describe_difference_names_the_place_of_a_difference(tmp_path):
    import io
    import zlib

    from PIL import Image

    stream = zlib.compress(b"q 54.1 40.5 300.25 200 re W n Q")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n2 0 obj << /Filter /FlateDecode >>\nstream\n" \
        + stream + b"\nendstream\nendobj\n%%EOF\n"
    other = pdf.replace(stream, zlib.compress(b"q 54.1 40.5 300.26 200 re W n Q"))
    text = describe_difference("05_x.pdf", other, pdf)
    assert "first differing PDF object: 2" in text and "300.26 200 re" in text and "300.25 200 re" in text
    images = []
    for colour in ((255, 255, 255), (255, 255, 255), (0, 0, 0)):
        img = Image.new("RGB", (10, 6), "white")
        img.putpixel((7, 2), colour)
        buffer = io.BytesIO()
        img.save(buffer, format="png", compress_level=9 if len(images) == 1 else 1)
        images.append(buffer.getvalue())
    assert images[0] != images[1]
    assert "only the encoding differs" in describe_difference("x.png", images[0], images[1])
    assert "1 pixels differ, in x 7..7, y 2..2 (of 10x6)" in describe_difference("x.png", images[2], images[0])
    assert "first difference at byte 4\n" in describe_difference("x.csv", b"a,b,c", b"a,b,d")
    assert "4 bytes produced, 5 committed; first difference at byte 4" in describe_difference("x.csv", b"a,b,", b"a,b,d")
    for folder, data in (("out", b"a,b,c"), ("committed", b"a,b,d")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.csv").write_bytes(data)
    kept = keep_mismatch(tmp_path / "out", ["x.csv"], tmp_path / "committed", tmp_path / "kept")
    assert kept.parent == tmp_path / "kept"
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == {"x.csv": b"a,b,c", "committed-x.csv": b"a,b,d"}


def test_runner_names_notebook_and_cell_on_failure(tmp_path):
    bad = tmp_path / "98_broken.py"
    bad.write_text("# %% [markdown]\n# Broken\n\n# %%\nx = 1\n\n# %%\nraise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(runner.NotebookError) as info:
        runner.execute(bad)
    message = str(info.value)
    assert "98_broken.py" in message and "cell 3" in message and "boom" in message
    assert "\x1b[" not in message, "the kernel's colour codes are not part of the message"
    assert "RuntimeError: boom" in message


def test_normalised_notebook_has_no_volatile_metadata(tmp_path):
    src = tmp_path / "97_ok.py"
    src.write_text("# %%\nimport sys\nprint('hi'); print('warn', file=sys.stderr)\n\n# %%\n1 + 1\n\n"
                   "# %%\nimport numpy as np\nprint(np.random.default_rng(1).normal(size=3))\n",
                   encoding="utf-8")
    nb, stderr = runner.execute(src)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(cell.metadata == {} for cell in nb.cells)
    assert [c.execution_count for c in nb.cells] == [1, 2, 3]
    outputs = runner.text_outputs(nb)
    assert outputs[:2] == [[{"stream": "stdout", "text": "hi\n"}], [{"text/plain": "2"}]]
    assert outputs[2][0]["stream"] == "stdout" and outputs[2][0]["text"].startswith("[")
    assert len(stderr) == 1 and "warn" in stderr[0]
    path = tmp_path / "97_ok.ipynb"
    assert runner.write(nb, path) is True
    assert runner.write(nb, path) is False, "writing the same notebook twice changes nothing"
    # the coroutine (what execute_many runs) gives the same notebook, seeded draws included
    nb_async, stderr_async = asyncio.run(runner.execute_async(src))
    assert runner.text_outputs(nb_async) == outputs and stderr_async == stderr
    assert runner.write(nb_async, path) is False, "the same bytes as the synchronous run"


def test_every_exported_file_is_indexed_and_listed_in_the_readme():
    figures = ROOT / "figures"
    index = runner.read_index(figures)
    formats: dict[str, set[str]] = {}
    for row in index:
        formats.setdefault(row["file"], set()).update(row["formats"].split())
    for path in sorted(figures.iterdir()):
        if path.name in (runner.INDEX_NAME, ".gitkeep"):
            continue
        assert path.stem in formats, f"figures/{path.name} is not in figures/index.csv: run make.py reproduce"
        assert path.suffix[1:] in formats[path.stem], f"figures/{path.name} is not indexed"
    for stem, exts in formats.items():
        for ext in exts:
            assert (figures / f"{stem}.{ext}").exists(), f"index lists figures/{stem}.{ext}, which is missing"
    for row in index:
        assert row["notebook"] in {p.stem for p in SOURCES}, f"{row['file']} comes from an unknown notebook"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert runner.readme_table(figures) in readme, "README's figure table is stale: run make.py reproduce"


# --------------------------------------------------------------------------- parallel runner

TINY_FIGURE = """# %%
import matplotlib.pyplot as plt
from hlstudy import export
export.use_style()
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([1, 2, 3], [1, 4, 9])
ax.set_title("Chất lượng")
export.save_figure(fig, "{nn}_curve", simulated=True)
print("saved")
plt.show()
"""
TINY_TABLE = """# %%
import pandas as pd
from hlstudy import export
export.save_table(pd.DataFrame({{"a": [10, 20]}}), "{nn}_table", title="t", simulated=False)
print("table")
"""


def _tiny_notebooks(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = [folder / "01_fig.py", folder / "02_tab.py"]
    paths[0].write_text(TINY_FIGURE.format(nn="01"), encoding="utf-8")
    paths[1].write_text(TINY_TABLE.format(nn="02"), encoding="utf-8")
    return paths


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_parallel_reproduce_writes_the_same_bytes_as_a_sequential_run(tmp_path, monkeypatch):
    import io

    scripts = _tiny_notebooks(tmp_path / "nbs")
    monkeypatch.setattr(runner, "sources", lambda *a, **k: scripts)
    monkeypatch.setattr(runner, "TIMES_FILE", tmp_path / "seconds.json")
    trees = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        monkeypatch.setenv("HLSTUDY_FIGURES", str(out))
        log = io.StringIO()
        runs = runner.reproduce(out=log, jobs=jobs)
        assert [r.source for r in runs] == scripts, "runs come back in notebook order"
        assert f"on {jobs} kernel(s)" in log.getvalue()
        trees[jobs] = _tree(out)
    assert trees[1] == trees[2]
    assert sorted(trees[2]) == ["01_curve.pdf", "01_curve.png", "02_table.csv", "02_table.docx",
                                "02_table.tex", "index.csv", "notebooks/01_fig.ipynb", "notebooks/02_tab.ipynb"]
    index = trees[2]["index.csv"].decode().splitlines()
    assert [line.split(",")[:4] for line in index[1:]] == [["01_curve", "figure", "pdf png", "01_fig"],
                                                          ["02_table", "table", "csv docx tex", "02_tab"]]
    assert not (tmp_path / "seconds.json").exists(), "only the compendium's notebooks are timed"
    # the figure is shown once, as the exported PNG reduced to the preview resolution
    nb = json.loads(trees[2]["notebooks/01_fig.ipynb"])
    outputs = nb["cells"][0]["outputs"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the figure is displayed once (no second drawing by the inline backend)"
    assert "".join(images[0]["data"]["text/plain"]) == "<Figure size 300x200 with 1 Axes>"
    assert ["".join(o["text"]) for o in outputs if o["output_type"] == "stream"] == ["saved\n"]
    assert outputs.index(images[0]) == 0, "shown where it is saved"
    import base64

    from PIL import Image

    shown = Image.open(io.BytesIO(base64.b64decode("".join(images[0]["data"]["image/png"]))))
    exported = Image.open(io.BytesIO(trees[2]["01_curve.png"]))
    factor = export.DPI // export.PREVIEW_DPI
    assert shown.size == (-(-exported.size[0] // factor), -(-exported.size[1] // factor))  # ceil
    expected = exported.convert("RGBA").reduce(factor).convert("RGB")
    assert shown.convert("RGB").tobytes() == expected.tobytes()


def test_parallel_failure_names_the_notebook_and_keeps_the_others(tmp_path, monkeypatch):
    import io

    table = _tiny_notebooks(tmp_path / "nbs")[1]
    bad = tmp_path / "nbs" / "03_bad.py"
    bad.write_text("# %%\nx = 1\n\n# %%\nraise ValueError('broken on purpose')\n", encoding="utf-8")
    monkeypatch.setattr(runner, "sources", lambda *a, **k: [table, bad])
    monkeypatch.setattr(runner, "TIMES_FILE", tmp_path / "seconds.json")
    monkeypatch.setenv("HLSTUDY_FIGURES", str(tmp_path / "out"))
    log = io.StringIO()
    with pytest.raises(runner.NotebookError, match=r"03_bad\.py: cell 2 .*broken on purpose"):
        runner.reproduce(out=log, jobs=2)
    assert "FAILED: 03_bad.py" in log.getvalue()
    # the folder now mixes this run's outputs with an earlier run's: the log says which
    stale = [line for line in log.getvalue().splitlines() if line.startswith("not rewritten by this run: ")]
    assert len(stale) == 1 and stale[0].split(": ", 1)[1].startswith("03_bad (their notebooks"), stale
    # the notebook running beside the failing one finished and was written, with its exports
    assert sorted(p.name for p in (tmp_path / "out" / "notebooks").iterdir()) == ["02_tab.ipynb"]
    assert (tmp_path / "out" / "02_table.csv").is_file()


def test_english_export_writes_its_own_sorted_index_and_leaves_figures_alone(tmp_path, monkeypatch):
    """``make.py export --lang en``: an ``index.csv`` beside the English files, written as
    ``reproduce`` writes one (:func:`runner.update_index`, whose rows are sorted: the same bytes
    on 1 or 2 kernels, see the test above) with each file's notebook, cell and English title;
    ``figures/`` is refused as the output folder and its index is not touched."""
    import io

    folder = tmp_path / "nbs"
    folder.mkdir()
    scripts = [folder / "01_fig.py", folder / "02_tab.py"]
    scripts[0].write_text(TINY_FIGURE.format(nn="01").replace(
        '"Chất lượng"', 'export.tr("Đường cong", "Curve")'), encoding="utf-8")
    # the table is saved in the third of four cells (cells 1 and 4 do not export)
    scripts[1].write_text("# %% [markdown]\n# Bảng\n\n# %%\nx = 1\n\n" + TINY_TABLE.format(nn="02").replace(
        'title="t"', 'title=export.tr("Bảng", "Table")') + "\n# %%\nprint(x)\n", encoding="utf-8")
    committed_index = (ROOT / "figures" / runner.INDEX_NAME).read_bytes()
    monkeypatch.setattr(runner, "TIMES_FILE", tmp_path / "seconds.json")
    # refused before any notebook runs (were it not, no notebook is run into figures/)
    monkeypatch.setattr(runner, "sources", lambda *a, **k: pytest.fail("figures/ was not refused"))
    with pytest.raises(runner.NotebookError, match="committed figures/"):
        runner.export_language("en", ROOT / "figures", out=io.StringIO())
    monkeypatch.setattr(runner, "sources", lambda *a, **k: scripts)
    out = tmp_path / "en"
    out.mkdir()
    (out / "01_old.pdf").write_bytes(b"an earlier export's file no notebook writes now")
    runner.export_language("en", out, out=io.StringIO(), jobs=2)
    tree = _tree(out)
    assert sorted(tree) == ["01_curve.pdf", "01_curve.png", "02_table.csv", "02_table.docx",
                            "02_table.tex", "index.csv"]
    assert tree["index.csv"].decode().splitlines() == [
        "file,kind,formats,notebook,cell,title",
        "01_curve,figure,pdf png,01_fig,1,Curve",
        "02_table,table,csv docx tex,02_tab,3,Table"]
    assert (ROOT / "figures" / runner.INDEX_NAME).read_bytes() == committed_index


def test_an_export_with_nothing_changed_writes_the_kept_files_and_runs_no_notebook(tmp_path, monkeypatch):
    """``make.py export`` again with the same inputs: each notebook's files and index rows are
    those the earlier run wrote (:mod:`hlstudy._keptexport`), byte for byte, and no kernel
    starts; a changed notebook runs again, alone (what else makes one run again:
    ``tests/test_kept_export.py``)."""
    import io

    from hlstudy import _keptexport, paths

    scripts = _tiny_notebooks(tmp_path / "nbs")
    monkeypatch.setattr(paths, "NOTEBOOKS", tmp_path / "nbs")   # kept only for the compendium's
    monkeypatch.setattr(_keptexport, "folder", lambda: tmp_path / "kept")
    monkeypatch.setattr(runner, "sources", lambda *a, **k: scripts)
    monkeypatch.setattr(runner, "TIMES_FILE", tmp_path / "seconds.json")
    ran = []
    real = runner.execute_many

    def recording(paths_, **kw):
        ran.append(sorted(p.name for p in paths_))
        return real(paths_, **kw)

    monkeypatch.setattr(runner, "execute_many", recording)
    note = "officials.xlsx: read sheet 'Form Responses 1', the only sheet with data"
    monkeypatch.setattr(runner, "warm_study_cache", lambda out=None: print(note, file=out))
    runner.export_language("en", tmp_path / "first", out=io.StringIO(), jobs=2)
    assert ran == [["01_fig.py", "02_tab.py"]] and len(list((tmp_path / "kept").iterdir())) == 2
    log = io.StringIO()
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "02_old.csv").write_text("an earlier export's file", encoding="utf-8")
    runner.export_language("en", tmp_path / "second", out=log, jobs=2)
    assert ran == [["01_fig.py", "02_tab.py"]], "a notebook ran although nothing changed"
    assert _tree(tmp_path / "second") == _tree(tmp_path / "first")
    assert "01_fig (en) unchanged since an earlier export: its 2 files written as kept" in log.getvalue()
    # why, once: a fresh clone's first export after the tests finds the suite's export
    assert log.getvalue().count("the test suite makes one") == 1
    assert "2 of 2 notebooks have the inputs of an earlier en export in this checkout" in log.getvalue()
    assert note in log.getvalue(), "the sheet note is printed also when every notebook is kept"
    # the figure's notebook changed: it alone runs, and writes its new figure
    scripts[0].write_text(TINY_FIGURE.format(nn="01").replace("[1, 4, 9]", "[1, 2, 3]"), encoding="utf-8")
    runner.export_language("en", tmp_path / "second", out=io.StringIO(), jobs=2)
    assert ran[1:] == [["01_fig.py"]]
    assert _tree(tmp_path / "second")["01_curve.pdf"] != _tree(tmp_path / "first")["01_curve.pdf"]


MEET = """# %%
import os, time
open({here!r}, "w").close()
start = time.monotonic()
while not os.path.exists({other!r}) and time.monotonic() - start < 60:
    time.sleep(0.005)
print("met" if os.path.exists({other!r}) else "alone")
"""


def test_execute_many_runs_kernels_at_once(tmp_path):
    # each kernel leaves a mark and waits (up to 60 s) for the other's: both print "met" only
    # if the two kernels ran at the same time (one after the other, the first prints "alone")
    folder = tmp_path / "nbs"
    folder.mkdir()
    marks = [tmp_path / "mark1", tmp_path / "mark2"]
    scripts = []
    for k in (1, 2):
        script = folder / f"0{k}_meet.py"
        script.write_text(MEET.format(here=str(marks[k - 1]), other=str(marks[2 - k])),
                          encoding="utf-8")
        scripts.append(script)
    finished = []
    start = time.perf_counter()
    results = runner.execute_many(scripts, jobs=2, on_done=lambda p, r, s: finished.append(p))
    wall = time.perf_counter() - start
    assert sorted(finished) == scripts and set(results) == set(scripts)
    assert all(runner.text_outputs(results[p][0]) == [[{"stream": "stdout", "text": "met\n"}]] for p in scripts)
    # each notebook's seconds are its own (the two overlap, so they add up to more than the run)
    kernel_seconds = sum(results[p][2] for p in scripts)
    assert all(0 < results[p][2] <= wall for p in scripts)
    assert wall < kernel_seconds, f"{wall:.2f} s for kernels of {kernel_seconds:.2f} s: no overlap"


def test_longest_first_and_jobs(tmp_path, monkeypatch):
    paths = []
    for name, size in (("01_a.py", 10), ("02_b.py", 30), ("03_c.py", 20), ("04_d.py", 5)):
        path = tmp_path / name
        path.write_text("#" * size, encoding="utf-8")
        paths.append(path)
    times = {"01_a": 5.0, "02_b": 1.0, "03_c": 9.0}
    # unrecorded notebooks first (by size), then by recorded seconds, longest first
    assert [p.stem for p in runner.longest_first(paths, times)] == ["04_d", "03_c", "01_a", "02_b"]
    assert [p.stem for p in runner.longest_first(paths, {})] == ["02_b", "03_c", "01_a", "04_d"]
    record = tmp_path / "sub" / "seconds.json"
    runner.record_seconds({"03_c": 9.123}, record)
    runner.record_seconds({"01_a": 5.0}, record)
    assert runner.recorded_seconds(record) == {"01_a": 5.0, "03_c": 9.12}
    record.write_text("not json", encoding="utf-8")
    assert runner.recorded_seconds(record) == {}
    monkeypatch.setenv("HLSTUDY_JOBS", "3")
    assert runner.default_jobs(7) == 3 and runner.default_jobs(2) == 2
    monkeypatch.setenv("HLSTUDY_JOBS", "two")
    with pytest.raises(runner.NotebookError, match="HLSTUDY_JOBS"):
        runner.default_jobs(7)


def test_preview_png_falls_back_to_the_exported_file_and_to_drawing(tmp_path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    # only the PNG is read back (the PDF would add a second drawing and nothing to check)
    paths = export.save_figure(fig, "99_preview", simulated=False, directory=tmp_path, show=False,
                               formats=("png",))
    png = paths["png"].read_bytes()
    from_canvas = export.preview_png(fig, png)
    fig.savefig(io.BytesIO(), format="png", dpi=72)  # the canvas now holds another render
    from_file = export.preview_png(fig, png)
    assert from_canvas == from_file, "reducing the canvas or the decoded file gives the same bytes"
    drawn = Image.open(io.BytesIO(export.preview_png(fig)))
    reduced = Image.open(io.BytesIO(from_file))
    # drawn at 100 dpi (same bbox rule as the export) or reduced from 300 dpi: the same size
    assert drawn.format == "PNG" and all(abs(a - b) <= 2 for a, b in zip(drawn.size, reduced.size, strict=True)), (
        drawn.size, reduced.size)
    plt.close(fig)
    # show=True outside a kernel displays nothing but still closes the figure
    fig2, _ = plt.subplots(figsize=(5, 4))   # within the page (no FigureSizeWarning)
    export.save_figure(fig2, "99_preview_closed", simulated=False, directory=tmp_path, show=True,
                       formats=("png",))
    assert not plt.fignum_exists(fig2.number)


def test_runner_command_line_checks_jobs():
    # the CLI parses --jobs; a bad count is refused by argparse before any kernel starts, and
    # before pandas or the study code is imported (hlstudy imports them when first used):
    # -X importtime lists on stderr every module the process imported
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "hlstudy.runner", "reproduce",
                             "--jobs", "x"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "--jobs" in result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert {"hlstudy", "hlstudy.paths", "argparse"} <= imported   # (the runner itself runs as __main__)
    assert not imported & {"pandas", "numpy", "hlstudy.study", "hlstudy.cleaning"}, sorted(imported)


def test_export_says_where_it_writes_when_hlstudy_figures_is_set(monkeypatch, capsys, tmp_path):
    """HLSTUDY_FIGURES is reproduce's output folder; an export without --out writes to
    build/figures-<lang> and says so instead of ignoring the setting silently."""
    written = []
    monkeypatch.setattr(runner, "export_language", lambda lang, out, jobs=None: written.append(out))
    monkeypatch.setenv("HLSTUDY_FIGURES", str(tmp_path / "mine"))
    assert runner.main(["export", "--lang", "en"]) == 0
    said = capsys.readouterr().out
    assert written == [(ROOT / "build" / "figures-en").resolve()]
    assert "HLSTUDY_FIGURES is where reproduce writes" in said and "--out" in said
    assert runner.main(["export", "--lang", "en", "--out", str(tmp_path / "en")]) == 0
    assert written[-1] == (tmp_path / "en").resolve() and "HLSTUDY_FIGURES" not in capsys.readouterr().out


def test_package_names_are_imported_when_first_used():
    import hlstudy
    from hlstudy import study

    assert hlstudy.load_study is study.load_study and hlstudy.Study is study.Study
    assert {"Study", "SurveyDataError", "load_study"} <= set(dir(hlstudy))
    from hlstudy import load_study as imported  # the notebooks' import

    assert imported is study.load_study
    assert hlstudy.cleaning.Rules is sys.modules["hlstudy.cleaning"].Rules   # a subpackage by name
    assert not hasattr(hlstudy, "no_such_module")
    with pytest.raises(ImportError, match="no_such_name"):
        from hlstudy import no_such_name  # noqa: F401


def test_read_source_parses_a_text_once_and_hands_out_copies(tmp_path, monkeypatch):
    import jupytext

    script = tmp_path / "95_once.py"
    script.write_text(f"# %%\nx = 1  # {tmp_path.name}\n\n# %% [markdown]\n# Tiêu đề\n", encoding="utf-8")
    parsed = []
    reads = jupytext.reads
    monkeypatch.setattr(jupytext, "reads", lambda text, **kw: parsed.append(text) or reads(text, **kw))
    fresh = jupytext.read(script, fmt="py:percent")   # jupytext's own read, not counted
    first = runner.read_source(script)
    assert runner.cell_sources(first) == runner.cell_sources(fresh) and first.metadata == fresh.metadata
    first.cells[0].source = "x = 2"   # a caller's (nbclient's) changes stay in its copy
    again = runner.read_source(script)
    assert len(parsed) == 1, "the second read of the same text is not parsed again"
    assert again.cells[0].source == fresh.cells[0].source and runner.cell_sources(again) == runner.cell_sources(fresh)
    script.write_text("# %%\nx = 3\n", encoding="utf-8")   # another text: parsed
    assert [c.source for c in runner.read_source(script).cells] == ["x = 3"] and len(parsed) == 2


def test_text_outputs_join_chunks_of_one_stream():
    import nbformat

    def nb(*outputs):
        cell = nbformat.v4.new_code_cell("print('a'); print('b')")
        cell.outputs = [nbformat.v4.new_output("stream", name=n, text=t) for n, t in outputs]
        return nbformat.v4.new_notebook(cells=[cell])

    one = runner.text_outputs(nb(("stdout", "a\nb\n")))
    two = runner.text_outputs(nb(("stdout", "a\n"), ("stdout", "b\n")))
    assert one == two == [[{"stream": "stdout", "text": "a\nb\n"}]]
    other = runner.text_outputs(nb(("stdout", "a\n"), ("stderr", "b\n")))
    assert other != one   # different streams stay apart
    assert runner.text_outputs(nb(("stdout", "a\nc\n"))) != one   # content still compared


def test_update_index_deletes_stems_and_formats_a_run_no_longer_writes(tmp_path):
    for name in ("01_a.pdf", "01_a.svg", "01_a.png", "01_b.png", "02_c.csv"):
        (tmp_path / name).write_bytes(b"x")
    rows = [{"file": "01_a", "kind": "figure", "formats": "pdf png", "cell": 3, "title": "A"}]
    runner.update_index(tmp_path, "01_nb", rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_a.pdf", "01_a.png", "02_c.csv", "index.csv"]
    assert [(r["file"], r["formats"], r["notebook"]) for r in runner.read_index(tmp_path)] == [
        ("01_a", "pdf png", "01_nb")]


FORK_PROBE = """# %%
import gc, os, subprocess, sys, weakref
preloaded = all(name in sys.modules for name in {preload!r})
class Node:
    pass
node = Node()
node.self = node
alive = weakref.ref(node)
del node
gc.collect()
import numpy as np
import pandas as pd
print(os.environ.get("HLSTUDY_PROBE"), os.path.basename(os.getcwd()), os.environ.get("PYTHONHASHSEED"),
      preloaded, gc.get_freeze_count() > 0)
print("a cycle made in the kernel is collected:", alive() is None)
print(subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout)
print(pd.get_option("display.max_columns"), hash("hlstudy"), np.random.default_rng(1).integers(100))

# %%
pd.DataFrame(np.arange(60).reshape(2, 30), columns=[f"column_{{k}}" for k in range(30)])
"""


class _Channel:
    """A kernel client channel holding ``messages``; records the timeout of every read."""

    def __init__(self, messages):
        self.messages, self.timeouts = list(messages), []

    async def get_msg(self, timeout=None):
        from queue import Empty

        self.timeouts.append(timeout)
        if not self.messages:
            raise Empty
        return self.messages.pop(0)


class _Kernel:
    def __init__(self, shell, iopub, alive=True):
        self.shell_channel, self.iopub_channel, self.alive = _Channel(shell), _Channel(iopub), alive
        self.requests, self.info = 0, None

    def kernel_info(self):
        self.requests += 1

    async def _async_is_alive(self):
        return self.alive

    def _handle_kernel_info_reply(self, msg):
        self.info = msg


def test_ready_client_waits_for_the_kernel_but_not_for_iopub_silence():
    wait = runner._ready_client_class().wait_for_ready
    status = [{"msg_type": "status"}] * 3
    kernel = _Kernel([{"msg_type": "other"}, {"msg_type": "kernel_info_reply", "n": 1}], status)
    asyncio.run(wait(kernel, timeout=5))
    assert kernel.requests == 2 and kernel.info == {"msg_type": "kernel_info_reply", "n": 1}
    assert kernel.shell_channel.timeouts == [1, 1]
    # IOPub: one read to know it is connected, then only what it already holds, never a wait
    assert kernel.iopub_channel.timeouts == [0.2, 0, 0, 0] and kernel.iopub_channel.messages == []
    dead = _Kernel([], [], alive=False)
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(wait(dead, timeout=5))
    silent = _Kernel([], [])
    with pytest.raises(RuntimeError, match="didn't respond"):
        asyncio.run(wait(silent, timeout=0))
    assert runner._kernel_manager_class()(kernel_name=runner.KERNEL).client_factory.wait_for_ready is wait


def test_ready_client_starts_every_channel_but_the_heartbeat(monkeypatch):
    """Whether the kernel lives is asked of its kernel manager (a kernel that dies at start is
    found so: ``test_a_kernel_that_dies_at_start_is_started_once_more``); the heartbeat's
    thread is not started, so it cannot open a socket while a dead kernel is cleaned up."""
    from jupyter_client.asynchronous import AsyncKernelClient

    started = []
    monkeypatch.setattr(AsyncKernelClient, "start_channels", lambda self, **kw: started.append(kw))
    runner._ready_client_class()().start_channels()
    assert started == [{"shell": True, "iopub": True, "stdin": True, "hb": False, "control": True}]


def test_forked_kernel_end_is_looked_for_every_10_ms(monkeypatch):
    km = runner._kernel_manager_class()(kernel_name=runner.KERNEL)
    alive = iter([True, True, False])
    sleeps = []

    async def is_alive():
        return next(alive)

    async def sleep(seconds):
        sleeps.append(seconds)

    monkeypatch.setattr(km, "_async_is_alive", is_alive)
    monkeypatch.setattr(asyncio, "sleep", sleep)
    asyncio.run(km._async_wait())
    assert sleeps == [0.01, 0.01]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels are forked on Linux only")
def test_forked_kernels_give_the_outputs_of_fresh_kernels(tmp_path, monkeypatch):
    # the fork server has imported numpy, scipy, matplotlib and IPython before the kernel's
    # environment is known: the kernel must still see its own environment and folder, run
    # subprocesses, and display tables as a fresh kernel does (pandas is imported in the kernel)
    folder = tmp_path / "probe"
    folder.mkdir()
    script = folder / "96_probe.py"
    script.write_text(FORK_PROBE.format(preload=runner.FORK_PRELOAD), encoding="utf-8")
    outputs = {}
    for fork in ("1", "0"):
        monkeypatch.setenv("HLSTUDY_FORK", fork)
        assert runner.fork_enabled() is (fork == "1")
        nb, _ = runner.execute(script, env_extra={"HLSTUDY_PROBE": f"probe-{fork}"})
        outputs[fork] = runner.text_outputs(nb)
    assert runner._ForkServer._instance is not None and runner._ForkServer._instance.process.poll() is None
    forked, fresh = outputs["1"], outputs["0"]
    # forked: the server's libraries are there before the first cell, and the objects they made
    # are frozen out of the kernel's garbage collections (which still free the kernel's own)
    assert forked[0][0]["text"].splitlines()[0] == "probe-1 probe 0 True True"
    assert fresh[0][0]["text"].splitlines()[0] == "probe-0 probe 0 False False"
    assert forked[0][0]["text"].splitlines()[1:] == fresh[0][0]["text"].splitlines()[1:]
    assert "42" in forked[0][0]["text"]
    assert forked[1] == fresh[1], "a wide table is shown the same way (pandas' display options)"
    monkeypatch.setenv("HLSTUDY_FORK", "no")
    assert not runner.fork_enabled()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels are forked on Linux only")
def test_a_kernel_that_dies_at_start_is_started_once_more(tmp_path, monkeypatch, capsys):
    # seen once under load: "Kernel died before replying to kernel_info" before any cell ran
    script = tmp_path / "95_start.py"
    script.write_text("# %%\nprint(6 * 7)\n", encoding="utf-8")
    monkeypatch.setenv("HLSTUDY_FORK", "1")
    real_fork, deaths, dying = runner._ForkServer.fork, [], [1]

    def fork(self, args, env, cwd):
        if len(deaths) < dying[0]:       # the first `dying` kernels "die": an ended process's pid
            deaths.append(1)
            return _ended_pid()
        return real_fork(self, args, env, cwd)

    monkeypatch.setattr(runner._ForkServer, "fork", fork)
    nb, _ = runner.execute(script)
    assert runner.text_outputs(nb)[0][0]["text"] == "42\n"
    assert "95_start.py: the kernel did not start" in capsys.readouterr().err
    # twice: the failure is raised, naming the notebook
    deaths.clear()
    dying[0] = 2
    with pytest.raises(runner.NotebookError, match="95_start.py: execution failed: RuntimeError: Kernel died"):
        runner.execute(script)
    assert capsys.readouterr().err.count("did not start") == 1
    # a cell that fails is not run again
    bad = tmp_path / "94_bad.py"
    bad.write_text("# %%\nraise ValueError('no')\n", encoding="utf-8")
    deaths.clear()
    dying[0] = 0
    with pytest.raises(runner.NotebookError, match="cell 1"):
        runner.execute(bad)
    assert "did not start" not in capsys.readouterr().err


def _ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
