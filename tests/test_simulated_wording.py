"""Simulated survey data are never read as findings about the real communes (or officials).

The communes are real and named; the survey microdata of the demonstration are simulated.
Every sentence of the committed notebooks that names a commune in bold (a result: "PRO is
lowest in **Tuấn Sơn**") carries :func:`hlstudy.study.simulated_qualifier`, and none
recommends action for a named commune from simulated data."""

from __future__ import annotations

import json
import re

import pytest

from hlstudy.errors import SurveyDataError
from hlstudy.study import SIMULATED_QUALIFIERS, Study, simulated_qualifier


def test_qualifier_is_said_for_simulated_data_and_empty_for_real_data():
    assert simulated_qualifier(True) == (
        "(dữ liệu mô phỏng: minh họa phương pháp, không phải kết quả về xã này)")
    assert "simulated data" in simulated_qualifier(True, "officials", lang="en")
    for about in SIMULATED_QUALIFIERS:
        for lang in ("vi", "en"):
            assert simulated_qualifier(True, about, lang=lang)
            assert simulated_qualifier(False, about, lang=lang) == ""
    import pandas as pd

    empty = pd.DataFrame()
    real = Study(empty, empty, empty, empty, {}, simulated=False)
    sim = Study(empty, empty, empty, empty, {}, simulated=True)
    assert real.qualifier("communes") == "" and simulated_qualifier(real) == ""
    assert sim.qualifier("communes") == simulated_qualifier(True, "communes")
    with pytest.raises(SurveyDataError, match="unknown subject"):
        simulated_qualifier(True, "province")
    with pytest.raises(SurveyDataError, match="language"):
        simulated_qualifier(True, lang="fr")
    with pytest.raises(SurveyDataError, match="Study or a bool"):
        simulated_qualifier("yes")


def _markdown_outputs(path) -> list[tuple[int, str]]:
    out = []
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        for o in cell.get("outputs", []):
            text = o.get("data", {}).get("text/markdown")
            if text is not None:
                out.append((i, "".join(text) if isinstance(text, list) else text))
    return out


def _names_a_commune(text: str, names) -> list[str]:
    return [n for n in names if f"**{n}**" in text]


def test_committed_notebooks_qualify_every_result_naming_a_commune():
    from hlstudy.communes import communes
    from hlstudy.paths import NOTEBOOKS, RAW

    manifest = RAW / "manifest.json"
    if not manifest.is_file():
        pytest.skip("data/raw not generated yet")
    simulated = json.loads(manifest.read_text(encoding="utf-8")).get("simulated") is True
    reg = communes()
    names = sorted(set(reg["name"]) | set(reg["commune_2025"]))
    phrases = [simulated_qualifier(simulated, about) for about in SIMULATED_QUALIFIERS]
    unqualified, recommending, naming = {}, {}, 0
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        for cell, text in _markdown_outputs(path):
            if not _names_a_commune(text, names):
                continue
            naming += 1
            if simulated and not any(p in text for p in phrases):
                unqualified[f"{path.name} cell {cell}"] = text[:120]
            if simulated and re.search(r"Các xã thấp nhất (nên|là nơi)", text):
                recommending[f"{path.name} cell {cell}"] = text[:120]
    assert naming >= 9   # notebook 04's 8-commune sentence, notebook 06's S1–S8
    assert unqualified == {} and recommending == {}


def test_committed_findings_about_the_officials_are_qualified():
    """Notebook 04 states counts about the officials (D1: "104/214 công chức ..."): each
    finding D1–D5, the two readings of the exception, the staffing and the women's shares
    carry the qualifier."""
    from hlstudy.paths import NOTEBOOKS, RAW

    manifest = RAW / "manifest.json"
    if not manifest.is_file():
        pytest.skip("data/raw not generated yet")
    if json.loads(manifest.read_text(encoding="utf-8")).get("simulated") is not True:
        pytest.skip("real data: nothing to qualify")
    texts = [t for _, t in _markdown_outputs(NOTEBOOKS / "04_commune_diagnostic.ipynb")]
    findings = [t for t in texts if re.match(r"\*\*D[1-5]\.\*\*", t)]
    assert len(findings) == 5
    phrase = simulated_qualifier(True, "officials")
    assert all(phrase in t for t in findings)
    for opening in ("Hai cách đọc ngoại lệ", "Tổng số", "Nữ chiếm", "Số xã dưới mức tối đa"):
        said = [t for t in texts if opening in t]
        assert said and all(phrase in t for t in said), opening
