"""The CFA/SEM estimation warnings carry their parts and word themselves in Vietnamese.

Seen on an own export of 100 officials (officials only, seed 7): notebook 05 appended the raw
English "the information matrix could not be inverted (smallest scaled eigenvalue ...)" to its
Vietnamese prose.  Each warning (non-convergence, scale, identification, Heywood) now has an
:class:`EstimationProblem` (or :class:`HeywoodCase`) with its parts and a ``text(lang)``, its
English ``str`` unchanged; the notebooks word caught warnings with ``warning_text(w, "vi")``.
"""

from __future__ import annotations

import ast
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy import _figurekey, _resultcache
from hlstudy.cfa import (
    ESTIMATION_KINDS,
    ConvergenceWarning,
    EstimationProblem,
    HeywoodWarning,
    IdentificationWarning,
    ScaleWarning,
    cfa,
)
from hlstudy.cfa.core import HeywoodCase, huge_se_problems
from hlstudy.errors import ModelError, warning_text
from hlstudy.sem import sem

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures" / "lavaan"
HS = pd.read_csv(FIX / "hs1939.csv")
OK = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6 + x7"
BAD = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nsolo =~ x7"  # solo: not identified
CFA_MODEL = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"]}


def _caught(function, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function(*args, **kwargs)
    return [w.message for w in caught]


def _one(messages, category):
    found = [m for m in messages if isinstance(m, category)]
    assert len(found) == 1, messages
    return found[0]


def _no_english(text: str) -> None:
    for word in ("the ", "information matrix", "standard errors", "did not converge",
                 "variances", "Heywood case(s)", "negative", "model"):
        assert word not in text, (word, text)


def test_not_inverted_sem_parts_and_words():
    w = _one(_caught(sem, HS, BAD, estimator="MLR"), IdentificationWarning)
    p = w.problem
    assert isinstance(p, EstimationProblem) and str(w) == str(p)
    assert p.kind == "not_inverted" and p.detail == "se_mlr"
    assert p.names == ("solo~~solo", "x7~~x7")
    assert p.value is not None and abs(p.value) < 1e-8
    assert str(w).startswith("the information matrix could not be inverted (smallest scaled "
                             f"eigenvalue {p.value:.1e}): the model may not be identified")
    assert str(w).endswith("(the .scaled and .robust ones)")   # the English unchanged
    assert w.text("en") == str(w)
    vi = w.text("vi")
    assert vi == warning_text(w, "vi") == p.text("vi")
    assert vi.startswith("ma trận thông tin không nghịch đảo được (giá trị riêng nhỏ nhất sau "
                         f"chuẩn hóa {p.value:.1e}".replace(".", ","))
    assert "các tham số liên quan: solo~~solo, x7~~x7; vì vậy không có sai số chuẩn, thống kê "\
           "kiểm định robust (MLR)" in vi
    _no_english(vi.replace("solo~~solo", "").replace("x7~~x7", ""))


@pytest.mark.parametrize("options, detail, tail", [
    ({}, "se", "; vì vậy không có sai số chuẩn"),
    ({"missing": "ml"}, "se_fiml", "các chỉ số phù hợp .robust hiệu chỉnh cho FIML"),
])
def test_not_inverted_says_what_is_nan(options, detail, tail):
    data = pd.read_csv(FIX / "hs1939_missing.csv") if options else HS
    p = _one(_caught(sem, data, BAD, **options), IdentificationWarning).problem
    assert p.detail == detail
    assert p.text("vi").endswith(tail)


def test_not_inverted_cfa_parts():
    data = pd.read_csv(FIX / "orthogonal_pair.csv")   # w1, w2 unrelated to the rest
    model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "extra": ["w1", "w2"]}
    w = _one(_caught(cfa, data, model), IdentificationWarning)
    p = w.problem
    assert p.kind == "not_inverted" and p.detail == "" and abs(p.value) < 1e-8
    assert "extra=~w2" in p.names and "extra~~extra" in p.names
    assert str(w).endswith("parameters involved: " + ", ".join(p.names))
    assert w.text("vi").endswith("các tham số liên quan: " + ", ".join(p.names))


def test_huge_se_parts_and_words():
    (p,) = huge_se_problems(np.array([0.1, 5e5]), np.array([1.0, 0.5]), [np.eye(2)], ["a=~x", "b~~b"])
    assert (p.kind, p.names, p.value) == ("huge_se", ("b~~b",), 1e4)
    assert str(p) == ("standard errors are extremely large for b~~b: the model is (empirically) "
                      "not identified on these data")
    assert p.text("vi") == ("sai số chuẩn cực lớn ở b~~b: mô hình không được xác định (theo "
                            "thực nghiệm) trên dữ liệu này")


@pytest.mark.parametrize("which", ["CFA", "SEM"])
def test_not_converged_parts_and_words(which):
    messages = (_caught(cfa, HS, CFA_MODEL, max_iter=1) if which == "CFA"
                else _caught(sem, HS, OK, max_iter=1))
    w = _one(messages, ConvergenceWarning)
    p = w.problem
    assert (p.kind, p.model) == ("not_converged", which)
    assert p.value > 0 and p.detail and p.detail in str(w)
    assert str(w).startswith(f"{which} did not converge ({p.detail}, max |gradient| {p.value:.2e})")
    vi = w.text("vi")
    assert vi.startswith(f"ước lượng {which} không hội tụ (gradient lớn nhất theo trị tuyệt đối "
                         + f"{p.value:.2e}".replace(".", ","))
    assert vi.endswith("; các ước lượng không đáng tin cậy") == (which == "CFA")
    _no_english(vi)


@pytest.mark.parametrize("which", ["CFA", "SEM"])
def test_scale_parts_and_words(which):
    data = HS.assign(x1=HS["x1"] * 1000)
    messages = (_caught(cfa, data, CFA_MODEL) if which == "CFA" else _caught(sem, data, OK))
    w = _one(messages, ScaleWarning)
    p = w.problem
    assert p.kind == "variance_scale" and p.names[0] == "x1"
    assert p.values[0] == pytest.approx(data["x1"].var(ddof=0))
    assert p.values[1] == pytest.approx(data[p.names[1]].var(ddof=0))
    assert str(w).startswith("some observed variances are (at least) a factor 1000")
    vi = w.text("vi")
    big = f"{p.values[0]:.4g}".replace(".", ",")
    assert vi.startswith("phương sai của một số biến quan sát lớn hơn của các biến khác ít nhất "
                         f"1000 lần (x1: {big}, {p.names[1]}: ")
    _no_english(vi)


def test_sem_heywood_cases_have_parts():
    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(30, 4)), columns=list("abcd"))
    w = _one(_caught(sem, data, "F =~ a + b + c + d\nF ~~ F\na ~~ b"), HeywoodWarning)
    assert all(isinstance(c, HeywoodCase) for c in w.cases) and w.cases
    case = w.cases[0]
    assert (case.kind, case.names) == ("factor_variance", ("F",)) and case.value < 0
    assert str(w) == "Heywood case(s) / improper solution: " + "; ".join(w.cases)
    assert w.text("vi") == ("trường hợp Heywood / nghiệm không hợp lệ: phương sai của nhân tố F "
                            "không dương (" + f"{case.value:.4f}".replace(".", ",").replace("-", "\u2212") + ")")


def test_every_kind_is_worded_in_both_languages():
    made = {
        "not_converged": EstimationProblem("x", "not_converged", value=1.5e-3, detail="m", model="SEM"),
        "variance_scale": EstimationProblem("x", "variance_scale", names=("a", "b"), values=(2e3, 1.5)),
        "not_inverted": EstimationProblem("x", "not_inverted", names=("p",), value=-2e-12),
        "huge_se": EstimationProblem("x", "huge_se", names=("p", "q"), value=1e4),
    }
    assert set(made) == set(ESTIMATION_KINDS)
    for p in made.values():
        assert p.text("en") == "x"
        assert p.text("vi") and p.text("vi") != "x"
        back = pickle.loads(pickle.dumps(p))
        assert (type(back), str(back), back.kind, back.names, back.value, back.values, back.detail,
                back.model) == (EstimationProblem, "x", p.kind, p.names, p.value, p.values,
                                p.detail, p.model)
        with pytest.raises(ModelError, match="lang"):
            p.text("fr")
    assert made["variance_scale"].text("vi").startswith(
        "phương sai của một số biến quan sát lớn hơn của các biến khác ít nhất 1000 lần "
        "(a: 2000, b: 1,5)")
    with pytest.raises(ModelError, match="kind"):
        EstimationProblem("x", "unknown")


def test_warnings_pickle_with_their_parts():
    p = EstimationProblem("msg", "huge_se", names=("p",), value=1e4)
    for w in (IdentificationWarning(p), ScaleWarning(p), ConvergenceWarning(p),
              HeywoodWarning("h", [HeywoodCase("c", "factor_variance", ("F",), value=-0.5)])):
        back = pickle.loads(pickle.dumps(w))
        assert type(back) is type(w) and str(back) == str(w)
        assert back.text("vi") == w.text("vi")


def test_warning_text_of_other_warnings():
    plain = IdentificationWarning("issued from a plain string")   # no parts: English only
    assert plain.problem is None
    with pytest.raises(ModelError, match="without its parts"):
        plain.text("vi")
    assert warning_text(plain, "vi") == ("cảnh báo IdentificationWarning (chưa có bản tiếng Việt): "
                                         "issued from a plain string")
    assert warning_text(RuntimeWarning("overflow"), "en") == "overflow"
    assert "chưa có bản tiếng Việt" in warning_text(RuntimeWarning("overflow"), "vi")
    with pytest.raises(ModelError, match="lang"):
        warning_text(plain, "de")
    with pytest.raises(ModelError, match="needs a warning"):
        warning_text("a string", "vi")


def test_the_result_cache_replays_the_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(_resultcache, "folder", lambda: tmp_path / "results")
    monkeypatch.setattr(_resultcache, "package_digest", lambda: "settled-source")
    monkeypatch.setattr(_figurekey, "package_digest", lambda: "settled-source")
    monkeypatch.setenv("HLSTUDY_RESULT_CACHE", "1")
    monkeypatch.delenv("HLSTUDY_FIT_CACHE", raising=False)
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    first = _one(_caught(sem, HS, BAD), IdentificationWarning)
    assert list((tmp_path / "results").iterdir()), "the fit was kept"
    again = _one(_caught(sem, HS, BAD), IdentificationWarning)   # read back from the cache
    assert str(again) == str(first)
    assert again.text("vi") == first.text("vi")


def test_no_notebook_joins_a_raw_warning_message():
    """A notebook words a caught warning with warning_text(w, lang), never its raw
    (English) message: no ``.message`` attribute is read in any notebook source."""
    for path in sorted((ROOT / "notebooks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        raw = [node.lineno for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr == "message"]
        assert not raw, f"{path.name}: lines {raw} read a warning's raw message"


def test_clf_summary_in_vietnamese():
    """Notebook 03 printed MethodFactorResult.summary(), an English printout, in its
    Vietnamese section 7; summary(lang="vi") says the same in Vietnamese."""
    from hlstudy.cfa import common_method_factor

    model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeywoodWarning)
        r = common_method_factor(HS, model)
    en, vi = r.summary().splitlines(), r.summary(lang="vi").splitlines()
    assert r.summary(lang="en") == r.summary() and en[0].startswith("Common-method bias")
    assert len(vi) == len(en)   # line for line
    c = r.comparison
    assert vi[0] == "Sai lệch do phương pháp chung: nhân tố tiềm ẩn chung không đo lường (CLF)"
    assert vi[2] == ("  mô hình gốc    χ² = " + f"{c.loc['substantive', 'chi2']:9.3f}".replace(".", ",")
                     + f"  df = {c.loc['substantive', 'df']:4.0f}  CFI = "
                     + f"{c.loc['substantive', 'cfi']:.3f}".replace(".", ",")
                     + "  RMSEA = " + f"{c.loc['substantive', 'rmsea']:.3f}".replace(".", ",")
                     + "  SRMR = " + f"{c.loc['substantive', 'srmr']:.3f}".replace(".", ","))
    assert vi[3].startswith("  có CLF         χ² = ")
    assert vi[4] == ("  Δχ² = " + f"{r.delta_chi2:.3f}".replace(".", ",") + ", Δdf = 1, p < 0,001; "
                     "ΔCFI = " + f"{r.delta_cfi:.3f}".replace(".", ","))
    assert "  hệ số tải chuẩn hóa thay đổi quá 0,20 khi thêm CLF:" in vi
    heywood = [line for line in vi if line.startswith("!! mô hình có CLF: TRƯỜNG HỢP HEYWOOD: ")]
    assert heywood == ["!! mô hình có CLF: TRƯỜNG HỢP HEYWOOD: " + h.text("vi")
                       for h in r.with_clf.heywood] and heywood
    for line in vi:
        for word in ("chi2", "delta", "loading", "model", "CASE", "variance"):
            assert word not in line, (word, line)
    with pytest.raises(ModelError, match="lang"):
        r.summary(lang="fr")


def test_no_notebook_prints_an_english_summary():
    """A notebook shows a result's summary in Vietnamese: every ``.summary(...)`` call in the
    notebooks' sources passes ``lang="vi"``."""
    for path in sorted((ROOT / "notebooks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        english = [node.lineno for node in ast.walk(tree)
                   if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                   and node.func.attr == "summary"
                   and not any(k.arg == "lang" and isinstance(k.value, ast.Constant)
                               and k.value.value == "vi" for k in node.keywords)]
        assert not english, f"{path.name}: lines {english} show an English summary()"


def test_the_result_cache_keeps_every_warnings_parts():
    """The cache keeps a call's warnings as warnings (it kept their text only): OmegaWarning
    and FewClustersWarning come back with their parts too."""
    from hlstudy.models.ols import FewClustersWarning
    from hlstudy.reliability import OmegaProblem, OmegaWarning

    for w in (OmegaWarning("m", OmegaProblem(heywood=("a",), scale="S")),
              FewClustersWarning("m", 3, {"x": 1.5})):
        kept = _resultcache._kept_message(w)
        assert kept is w
        back = pickle.loads(pickle.dumps(kept))
        assert back.__dict__ == w.__dict__ and str(back) == "m"


class _Unpicklable(UserWarning):
    def __init__(self, message):
        super().__init__(message)
        self.hook = lambda: None   # a lambda does not pickle


def test_a_warning_that_does_not_pickle_is_kept_as_its_text():
    assert _resultcache._kept_message(_Unpicklable("as text")) == "as text"
