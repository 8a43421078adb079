"""The codebook's tables are read once per file version and handed out as copies (issue 15)."""

import os
import shutil

import pytest

from hlstudy import codebook
from hlstudy.errors import SurveyDataError
from hlstudy.paths import INSTRUMENT


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "instrument"
    shutil.copytree(INSTRUMENT, out)
    return out


def _drop_last_line(path):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    st = path.stat()   # a new version even within the file system's time resolution
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_an_edited_constructs_file_is_read_again(folder):
    assert len(codebook.construct_labels(folder=folder)) == len(codebook.construct_labels())
    _drop_last_line(folder / "constructs.csv")
    with pytest.raises(SurveyDataError, match="constructs.csv and codebook.csv disagree"):
        codebook.construct_labels(folder=folder)


def test_an_edited_hypotheses_file_is_read_again(folder):
    assert list(codebook.hypotheses(folder=folder)["claim_id"]) == list(codebook.hypotheses()["claim_id"])
    _drop_last_line(folder / "hypotheses.csv")
    with pytest.raises(SurveyDataError, match="claim ids differ"):
        codebook.hypotheses(folder=folder)


def test_callers_get_copies():
    first = codebook.load_codebook("officials")
    first.loc[:, "variable"] = "changed"
    assert (codebook.load_codebook("officials")["variable"] != "changed").all()
    hyp = codebook.hypotheses()
    hyp.loc[:, "claim_id"] = "X"
    assert "X" not in set(codebook.hypotheses()["claim_id"])
    labels = codebook.construct_labels("officials")
    labels.loc[:, "construct"] = "Y"
    assert "Y" not in set(codebook.construct_labels("officials")["construct"])


def test_scales_are_the_items_of_each_construct_in_order():
    for instrument in ("officials", "citizens"):
        scales = codebook.scales(instrument)
        assert list(scales) == codebook.constructs(instrument)
        assert all(scales[c] == codebook.items(instrument, c) for c in scales)
        assert all(len(v) >= codebook.MIN_ITEMS for v in scales.values())
