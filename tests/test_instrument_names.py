"""Each instrument has one name in Vietnamese, worded in one place.

The personnel register is a form titled "DANH SÁCH TRÍCH NGANG CÁN BỘ, CÔNG CHỨC CẤP XÃ"
(``data/instrument/register_personnel.md``).  It was called "danh sách trích ngang" in the
framework, "danh sách nhân sự (trích ngang)" in the skip notes, "hồ sơ nhân sự" (personnel
files, which the study does not read) in the ledger's reasons, the findings and notebook 06,
"Danh sách nhân sự" in notebook 02's tables and figures, "hồ sơ cán bộ, công chức" in notebook
04's notes and "trích ngang" in notebook 07: six names for one instrument in one thesis.  The
names now come from :data:`hlstudy.codebook.INSTRUMENT_NOUNS` (in sentences) and
:data:`hlstudy.codebook.INSTRUMENT_LABELS` (in tables and figures).
"""

from __future__ import annotations

import re
from pathlib import Path

from hlstudy import cleaning, codebook, framework, study
from hlstudy.diagnostic import findings
from hlstudy.evidence import ledger

ROOT = Path(__file__).resolve().parents[1]
#: Names the personnel register no longer goes by.
OTHER_NAMES = re.compile(r"hồ sơ nhân sự|hồ sơ cán bộ|toàn bộ hồ sơ|danh sách nhân sự|"
                         r"\(trích ngang\)", re.IGNORECASE)


def _texts():
    """Library and notebook sources, the committed notebooks, tables and README."""
    for pattern in ("hlstudy/**/*.py", "notebooks/*.py", "notebooks/*.ipynb", "figures/*.csv",
                    "figures/*.tex", "README.md", "docs/*.md"):
        for path in sorted(ROOT.glob(pattern)):
            yield path, path.read_text(encoding="utf-8")


def _joined(text: str) -> str:
    """The text with line breaks, comment marks and runs of spaces as one space, so that a
    name broken over two lines ("danh sách\n# nhân sự") is found."""
    return re.sub(r"\s*\n\s*(?:#\s*)?|\s+", " ", text)


def test_the_personnel_register_has_one_name_in_the_code_notebooks_and_outputs():
    hits = []
    for path, text in _texts():
        if path.name == "codebook.py":   # its comment says which names are not used
            text = "\n".join(line for line in text.splitlines()
                             if not line.lstrip().startswith("#:"))
        hits += [f"{path.relative_to(ROOT)}: …{m.group(0)}…" for m in
                 OTHER_NAMES.finditer(_joined(text))]
    assert not hits, "\n".join(hits)


def test_the_check_finds_each_former_name():
    for former in ("7 hồ sơ nhân sự", "Danh sách nhân sự", "danh sách nhân sự (trích ngang)",
                   "Hồ Sơ Nhân Sự", "toàn bộ hồ sơ cán bộ, công chức", "% (toàn bộ hồ sơ)"):
        assert OTHER_NAMES.search(former), former
    assert not OTHER_NAMES.search("danh sách trích ngang cán bộ, công chức")
    # a name broken over two lines of a comment is found once joined
    assert OTHER_NAMES.search(_joined("số người trong danh sách\n# nhân sự (sau làm sạch)"))
    assert not OTHER_NAMES.search("số người trong danh sách\n# nhân sự")


def test_notes_reasons_findings_and_labels_take_the_codebook_names():
    nouns = {name: vi for name, (vi, _en) in codebook.INSTRUMENT_NOUNS.items()}
    assert set(nouns) == {"officials", "citizens", "personnel"} == set(codebook.INSTRUMENT_LABELS)
    assert nouns["personnel"] == "danh sách trích ngang"
    assert codebook.TITLES["personnel"][0].lower().startswith(nouns["personnel"])
    assert study.INSTRUMENT_NAMES_VI == nouns
    assert nouns["personnel"] in ledger.NO_YEAR_VI
    assert findings.NO_REGISTER == (
        "không tính được (cần danh sách trích ngang, không có trong dữ liệu)",
        "not computed (needs the personnel register, absent from this study)")
    assert nouns["citizens"] in findings.NO_CITIZENS[0]
    assert framework.INSTRUMENT_LABELS is codebook.INSTRUMENT_LABELS
    for name, label in codebook.INSTRUMENT_LABELS.items():
        assert cleaning.TABLE_NAMES[name] == label
        # a label is the noun, capitalised, or the noun's people ("Người dân" of "phiếu
        # khảo sát người dân")
        assert label[0].lower() in codebook.INSTRUMENT_NOUNS[name][0]
