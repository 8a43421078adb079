"""Every notebook executes, and what is committed is what the code produces.

For each ``notebooks/NN_slug.py``: the committed ``.ipynb`` has the same cells, executing the
script reproduces the committed text and table outputs exactly, and the figure and table
files it exports are byte-identical to the committed ones under ``figures/``.
"""

import pytest

from hlstudy import runner
from hlstudy.paths import ROOT

SOURCES = runner.sources()


def test_notebook_sources_are_numbered_and_known():
    expected = [
        "01_theoretical_framework", "02_survey_cleaning", "03_commune_diagnostic",
        "04_measurement_model", "05_drivers_of_quality", "06_solution_evidence", "07_method_validation",
    ]
    stems = [p.stem for p in SOURCES]
    assert stems == [s for s in expected if s in stems], f"unexpected notebooks or order: {stems}"


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_committed_notebook_is_paired_with_its_script(source):
    assert runner.check_pairing(source) == []


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_reexecutes_to_its_committed_outputs(source, tmp_path):
    import nbformat

    nb, _stderr = runner.execute(source, env_extra={"HLSTUDY_FIGURES": str(tmp_path)})
    committed = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    fresh, old = runner.text_outputs(nb), runner.text_outputs(committed)
    assert len(fresh) == len(old)
    for i, (a, b) in enumerate(zip(fresh, old, strict=True), start=1):
        assert a == b, f"{source.stem}: code cell {i} output differs from the committed notebook"
    produced = sorted(p.name for p in tmp_path.iterdir())
    assert all(name.startswith(source.stem[:3]) for name in produced), produced
    for name in produced:
        committed_file = ROOT / "figures" / name
        assert committed_file.exists(), f"{name} is produced by {source.stem} but not committed"
        assert (tmp_path / name).read_bytes() == committed_file.read_bytes(), f"{name} is not reproduced byte for byte"


def test_runner_names_notebook_and_cell_on_failure(tmp_path):
    bad = tmp_path / "98_broken.py"
    bad.write_text("# %% [markdown]\n# Broken\n\n# %%\nx = 1\n\n# %%\nraise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(runner.NotebookError) as info:
        runner.execute(bad)
    message = str(info.value)
    assert "98_broken.py" in message and "cell 3" in message and "boom" in message


def test_normalised_notebook_has_no_volatile_metadata(tmp_path):
    src = tmp_path / "97_ok.py"
    src.write_text("# %%\nimport sys\nprint('hi'); print('warn', file=sys.stderr)\n\n# %%\n1 + 1\n", encoding="utf-8")
    nb, stderr = runner.execute(src)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(cell.metadata == {} for cell in nb.cells)
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert runner.text_outputs(nb) == [[{"stream": "stdout", "text": "hi\n"}], [{"text/plain": "2"}]]
    assert len(stderr) == 1 and "warn" in stderr[0]
    path = tmp_path / "97_ok.ipynb"
    assert runner.write(nb, path) is True
    assert runner.write(nb, path) is False, "writing the same notebook twice changes nothing"


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
