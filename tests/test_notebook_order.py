"""Notebook order follows the argument (issue 13 §6): the measurement model (03) validates
the scale scores before the commune diagnostic (04) uses them, every exported file carries
the number of the notebook that makes it, and the diagnostic states the validity results it
relies on before its first use of the scores."""

from __future__ import annotations

import ast
import csv
import json
import re

from hlstudy import runner
from hlstudy.paths import FIGURES, NOTEBOOKS, ROOT

STEM = re.compile(r"^(\d{2})_[a-z]")


def _number(path_or_stem) -> str:
    return str(getattr(path_or_stem, "stem", path_or_stem))[:2]


def test_measurement_model_comes_before_the_diagnostic():
    stems = [p.stem for p in runner.sources()]
    meas = [s for s in stems if s.endswith("_measurement_model")]
    diag = [s for s in stems if s.endswith("_commune_diagnostic")]
    assert meas == ["03_measurement_model"] and diag == ["04_commune_diagnostic"]
    assert stems.index(meas[0]) < stems.index(diag[0])
    # the numbers are the executed notebooks' too, and the README's notebook table follows
    assert (NOTEBOOKS / "03_measurement_model.ipynb").is_file()
    assert (NOTEBOOKS / "04_commune_diagnostic.ipynb").is_file()
    assert not list(NOTEBOOKS.glob("03_commune_diagnostic.*"))
    assert not list(NOTEBOOKS.glob("04_measurement_model.*"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Notebooks"):readme.index("## Using your own")]
    assert table.index("`03_measurement_model`") < table.index("`04_commune_diagnostic`")


def _string_stems(source: str) -> set[str]:
    """Every string constant of the notebook's code that looks like an export stem
    (``NN_word…``); f-strings count by their literal head."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if STEM.match(node.value):
                found.add(node.value)
    return found


def test_no_notebook_writes_a_stem_with_another_notebooks_number():
    seen = {}
    for path in runner.sources():
        stems = _string_stems(path.read_text(encoding="utf-8"))
        wrong = sorted(s for s in stems if _number(s) != _number(path))
        assert not wrong, f"{path.name} names stems of another notebook: {wrong}"
        seen[path.stem] = stems
    # the test reads real stems: both swapped notebooks export under their own number
    assert any(s.startswith("03_cfa_fit") for s in seen["03_measurement_model"])
    assert "04_caterpillar_quality" in seen["04_commune_diagnostic"]


def test_index_rows_carry_their_notebooks_number():
    with (FIGURES / "index.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    wrong = [(r["file"], r["notebook"]) for r in rows if _number(r["file"]) != _number(r["notebook"])]
    assert wrong == []
    by_nb = {r["notebook"] for r in rows}
    assert {"03_measurement_model", "04_commune_diagnostic"} <= by_nb
    assert not {"03_commune_diagnostic", "04_measurement_model"} & by_nb
    # files on disk: a 03_/04_ file belongs to the notebook of its number
    files = {r["file"] for r in rows}
    for path in FIGURES.glob("0[34]_*"):
        assert path.stem in files, f"{path.name} is not in figures/index.csv"


def _cells(nb_path):
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]


def test_diagnostic_states_the_validity_results_before_using_the_scores():
    cells = _cells(NOTEBOOKS / "04_commune_diagnostic.ipynb")

    def first(pred):
        return next((i for i, c in enumerate(cells) if pred(c)), None)

    def outputs(c):
        return "".join("".join(o.get("data", {}).get("text/markdown", []))
                       for o in c.get("outputs", []))

    stated = first(lambda c: "Kết quả đo lường (notebook 03)" in outputs(c))
    used = first(lambda c: c["cell_type"] == "code"
                 and "commune_means(scores" in "".join(c["source"]))
    assert stated is not None and used is not None
    assert stated < used
    text = outputs(cells[stated])
    # computed, not typed: the cell calls the measurement functions of notebook 03
    src = "".join(cells[stated]["source"])
    assert "reliability.reliability_table" in src and "average_variance_extracted" in src
    for scale in ("ETH", "PRO", "SKL", "RSP"):
        assert scale in text
    assert "Giá trị hội tụ" in text and "Độ tin cậy" in text
    # a verdict on each criterion and what it means for the commune comparisons
    assert re.search(r"đạt ở: ", text) and "so sánh giữa các xã" in text
