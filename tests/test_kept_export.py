"""What makes a notebook of ``make.py export`` run again (:mod:`hlstudy._keptexport`).

A kept export is written instead of running a notebook only when the key of the run is the
same: every input the notebook's run reads is in it (the notebook, hlstudy's source, the
libraries, the machine, the settings, the data and reference files, the fonts), and what only
says where files go is not.  The runner's use of it (a second export runs no kernel, a changed
notebook runs again) is tested with the notebooks (``tests/test_notebooks.py``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hlstudy import _keptexport, paths, runner

ROWS = [{"file": "01_curve", "kind": "figure", "formats": "pdf png", "cell": 2, "title": "Curve"},
        {"file": "01_table", "kind": "table", "formats": "csv", "cell": 3, "title": "Table"}]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A compendium in ``tmp_path``: one notebook, data, reference and validation folders."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = notebooks / "01_demo.py"
    source.write_text("# %%\nprint(1)\n", encoding="utf-8")
    for name in ("raw", "reference", "validation", "instrument"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / "a.csv").write_text(f"{name}\n1\n", encoding="utf-8")
    monkeypatch.setattr(paths, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "DATA", tmp_path / "data")
    monkeypatch.setattr(paths, "REFERENCE", tmp_path / "data" / "reference")
    monkeypatch.setattr(_keptexport, "folder", lambda: tmp_path / "kept")
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    env = {"HLSTUDY_LANG": "en", "HLSTUDY_FIGURES": str(tmp_path / "out"),
           "HLSTUDY_DATA": str(tmp_path / "data" / "raw"),
           "HLSTUDY_INSTRUMENT": str(tmp_path / "data" / "instrument"), "PYTHONHASHSEED": "0"}
    return source, env


def test_the_key_is_the_same_for_the_same_inputs_wherever_the_files_go(world):
    source, env = world
    first = _keptexport.key(source, env)
    assert first is not None and len(first) == 64
    assert _keptexport.key(source, dict(env)) == first
    # where files go, the log, progress bars, the caches and the number of processes are no inputs
    elsewhere = {**env, "HLSTUDY_FIGURES": "/elsewhere", "HLSTUDY_EXPORT_LOG": "/x.jsonl",
                 "HLSTUDY_PROGRESS": "1", "HLSTUDY_RESULT_CACHE": "0", "HLSTUDY_JOBS": "3",
                 "PATH": "/nowhere", "HOME": "/nobody"}
    assert _keptexport.key(source, elsewhere) == first


@pytest.mark.parametrize("change", [
    "notebook", "hlstudy source", "libraries", "cpu", "language", "figure formats", "a setting",
    "hash seed", "data file", "instrument file", "reference file", "validation file",
    "hlstudy.toml", "fonts", "matplotlibrc"])
def test_every_input_changes_the_key(world, monkeypatch, tmp_path, change):
    source, env = world
    before = _keptexport.key(source, env)
    data = tmp_path / "data"
    if change == "notebook":
        source.write_text("# %%\nprint(2)\n", encoding="utf-8")
    elif change == "hlstudy source":
        monkeypatch.setattr("hlstudy._codekey.package_digest", lambda: "another source")
    elif change == "libraries":
        monkeypatch.setattr("hlstudy._codekey.distributions", lambda: "another matplotlib")
    elif change == "cpu":
        monkeypatch.setattr("hlstudy._codekey.cpu_model", lambda: "another CPU")
    elif change == "language":
        env = {**env, "HLSTUDY_LANG": "vi"}
    elif change == "figure formats":
        env = {**env, "HLSTUDY_FIGURE_FORMATS": "pdf,png,svg"}
    elif change == "a setting":
        env = {**env, "HLSTUDY_SOMETHING_NEW": "1"}
    elif change == "hash seed":
        env = {**env, "PYTHONHASHSEED": "1"}
    elif change in ("data file", "instrument file", "reference file", "validation file"):
        folder = {"data file": "raw", "instrument file": "instrument", "reference file": "reference",
                  "validation file": "validation"}[change]
        (data / folder / "a.csv").write_text(f"{folder}\n2\n", encoding="utf-8")
    elif change == "hlstudy.toml":
        (tmp_path / "hlstudy.toml").write_text("[data]\n", encoding="utf-8")
    elif change == "fonts":
        monkeypatch.setattr("hlstudy._figurekey._fonts", lambda: ["another font"])
    elif change == "matplotlibrc":
        rc = tmp_path / "matplotlibrc"
        rc.write_text("lines.linewidth: 3\n", encoding="utf-8")
        monkeypatch.setattr("matplotlib.matplotlib_fname", lambda: str(rc))
    assert _keptexport.key(source, env) != before


def test_the_data_folder_in_use_is_read(world, tmp_path):
    """Another data folder with other bytes is another key; the same bytes elsewhere are not."""
    source, env = world
    before = _keptexport.key(source, env)
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "data" / "raw", other)
    moved = {**env, "HLSTUDY_DATA": str(other)}
    assert _keptexport.key(source, moved) != before          # the setting's value is an input
    (other / "a.csv").write_text("raw\n3\n", encoding="utf-8")
    changed = _keptexport.key(source, moved)
    (other / "a.csv").write_text("raw\n1\n", encoding="utf-8")
    assert _keptexport.key(source, moved) != changed         # and so are its bytes


def test_no_key_when_switched_off_outside_the_compendium_or_while_the_source_changes(world, monkeypatch, tmp_path):
    source, env = world
    monkeypatch.setenv("HLSTUDY_EXPORT_CACHE", "0")
    assert _keptexport.key(source, env) is None
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE")
    stray = tmp_path / "elsewhere" / "01_demo.py"
    stray.parent.mkdir()
    stray.write_bytes(source.read_bytes())
    assert _keptexport.key(stray, env) is None
    monkeypatch.setattr("hlstudy._codekey.package_digest", lambda: None)   # a file newer than the code read
    assert _keptexport.key(source, env) is None


def test_kept_files_come_back_byte_for_byte_and_damage_is_a_miss(tmp_path, monkeypatch):
    monkeypatch.setattr(_keptexport, "folder", lambda: tmp_path / "kept")
    out = tmp_path / "out"
    out.mkdir()
    files = {"01_curve.pdf": b"%PDF one", "01_curve.png": b"\x89PNG two", "01_table.csv": "Bảng\n".encode()}
    for name, data in files.items():
        (out / name).write_bytes(data)
    _keptexport.keep("k" * 64, ROWS, out)
    assert _keptexport.read("k" * 64) == (ROWS, files)
    assert _keptexport.read("j" * 64) is None
    # a file a notebook's rows name but that is missing: nothing is kept
    (out / "01_curve.png").unlink()
    _keptexport.keep("m" * 64, ROWS, out)
    assert _keptexport.read("m" * 64) is None
    # one byte changed on disk: read as absent (the notebook runs again)
    kept = tmp_path / "kept" / ("k" * 64)
    raw = bytearray(kept.read_bytes())
    raw[-1] ^= 1
    kept.write_bytes(bytes(raw))
    assert _keptexport.read("k" * 64) is None


def test_restore_writes_what_differs_and_leaves_the_rest(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "same.csv").write_bytes(b"same")
    (out / "other.csv").write_bytes(b"old")
    os.utime(out / "same.csv", ns=(1_000_000_000, 1_000_000_000))
    _keptexport.restore({"same.csv": b"same", "other.csv": b"new", "added.tex": b"t"}, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        "same.csv": b"same", "other.csv": b"new", "added.tex": b"t"}
    assert (out / "same.csv").stat().st_mtime_ns == 1_000_000_000


def test_exported_files_names_every_format_of_every_row():
    assert runner.exported_files(ROWS) == ["01_curve.pdf", "01_curve.png", "01_table.csv"]


def test_the_runner_keys_the_compendiums_notebooks():
    """The committed notebooks get a key in the kernel's environment (or none only while a
    source file is newer than this process's reading of hlstudy)."""
    env = runner.kernel_env({"HLSTUDY_LANG": "en", "HLSTUDY_FIGURES": str(Path("/tmp"))})
    keys = {_keptexport.key(s, env) for s in runner.sources()}
    if None in keys:
        from hlstudy._codekey import package_digest

        assert package_digest() is None
    else:
        assert len(keys) == len(runner.sources())
