"""English export of notebooks 05 and 07: no Vietnamese label reaches an English table.

Cheap static checks (no notebook is executed): the notebooks' sources are parsed and

* every string literal with Vietnamese letters in a code cell is either the Vietnamese half
  of an ``export.tr(vi, en)`` call or of a ``(vi, en)`` label pair, or prose (a
  ``Markdown``/``print`` argument, or a variable that only feeds the prose);
* every label pair has an English half without Vietnamese letters, and the English labels
  of one map are distinct (they become column headings);
* the code → label maps cover every code they translate (scenarios, methods and verdicts
  of the committed validation run, the evidence module's verdicts).
"""

from __future__ import annotations

import ast
import re

import pytest

from hlstudy.paths import ROOT

VI_LETTERS = re.compile(
    "[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.IGNORECASE)
NOTEBOOKS = {"05": ROOT / "notebooks" / "05_drivers_of_quality.py",
             "07": ROOT / "notebooks" / "07_method_validation.py"}
#: variables (and functions) whose Vietnamese text only feeds the notebook's (Vietnamese) prose
PROSE_NAMES = {"05": {"sfx_vi", "verdict", "both_text", "_how_sure", "_HOW_SURE", "_rejected",
                      "beyond_text"},
               "07": {"summary_lines", "pooled_text", "_commits", "_currency_vi", "_via_vi",
                      "_more_vi", "_WHY_VI"}}
#: label maps ``{code: (vi, en)}`` of each notebook
PAIR_MAPS = {"05": ["COVARIATE_LABELS", "_HEAD", "_READING"],
             "07": ["_HEAD", "_SCEN", "_METHOD", "_VERD", "_FP_LEVEL", "_CLEAN_METRIC",
                    "_INSTRUMENT"]}
PROSE_CALLS = {"Markdown", "print"}


def _tree(key: str) -> ast.Module:
    return ast.parse(NOTEBOOKS[key].read_text(encoding="utf-8"))


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        f = node.func
        return f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
    return ""


def _is_pair(node: ast.AST) -> bool:
    return (isinstance(node, ast.Tuple) and len(node.elts) == 2
            and all(isinstance(e, ast.Constant | ast.JoinedStr) for e in node.elts))


def _allowed(const: ast.Constant, parents, prose_names) -> bool:
    """Is this Vietnamese literal a tr()/pair Vietnamese half, or prose?"""
    child, node = const, parents.get(const)
    if isinstance(node, ast.JoinedStr):
        child, node = node, parents.get(node)
    while node is not None:
        if _call_name(node) == "tr" and node.args and node.args[0] is child:
            return True
        if _call_name(node) in PROSE_CALLS:
            return True
        if _is_pair(node) and node.elts[0] is child:
            return True
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in prose_names for t in node.targets):
            return True
        if (isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)
                and node.target.id in prose_names):   # text += "…": more of the same prose
            return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "append" and isinstance(node.func.value, ast.Name)
                and node.func.value.id in prose_names):
            return True
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node) and child is node.body[0]:
            return True
        if isinstance(node, ast.FunctionDef) and node.name in prose_names:
            return True   # a function whose text only feeds the prose
        child, node = node, parents.get(node)
    return False


def _pair_map(key: str, name: str) -> dict:
    from hlstudy.validation import LATENT_SEM, scenarios

    for node in _tree(key).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in node.targets):
            return eval(compile(ast.Expression(node.value), name, "eval"),  # noqa: S307
                        {"LATENT_SEM": LATENT_SEM, "N_SMALL": scenarios()["small"].n_officials})
    raise AssertionError(f"notebook {key} has no map {name}")


@pytest.mark.parametrize("key", sorted(NOTEBOOKS))
def test_no_untranslated_vietnamese_literal(key):
    tree = _tree(key)
    parents = _parents(tree)
    bad = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and VI_LETTERS.search(node.value)
                and not _allowed(node, parents, PROSE_NAMES[key])):
            bad.append(f"line {node.lineno}: {node.value[:60]!r}")
    assert not bad, f"notebook {key}: Vietnamese text outside export.tr / label pairs:\n" + \
        "\n".join(bad)


def test_checker_flags_a_bare_vietnamese_heading():
    """The check above can fail: a heading written as a bare literal is caught."""
    src = ('t = pd.DataFrame({"Chỉ số": [1]})\n'
           'u = pd.DataFrame({export.tr("Chỉ số", "Measure"): [1]})\n'
           'display(Markdown(f"Có {n} xã"))\n'
           'P = {"a": ("Tỷ lệ", "Share")}\n'
           'label = "x"\n'
           'label += "Nhãn"\n'
           'text = "Câu"\n'
           'text += " tiếp"\n')
    tree = ast.parse(src)
    parents = _parents(tree)
    flagged = [n.lineno for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and VI_LETTERS.search(n.value) and not _allowed(n, parents, {"text"})]
    # a bare heading, and text added to a name that is not prose; prose and its additions pass
    assert sorted(flagged) == [1, 6]


@pytest.mark.parametrize("key,name", [(k, n) for k, names in PAIR_MAPS.items() for n in names])
def test_label_pairs_have_english(key, name):
    pairs = _pair_map(key, name)
    assert pairs, name
    for code, pair in pairs.items():
        assert isinstance(pair, tuple) and len(pair) == 2, (code, pair)
        vi, en = pair
        assert vi.strip() and en.strip(), (code, pair)
        assert not VI_LETTERS.search(en), f"{name}[{code!r}] English label {en!r}"
    ens = [en for _vi, en in pairs.values()]
    vis = [vi for vi, _en in pairs.values()]
    assert len(set(ens)) == len(ens), f"{name}: duplicate English labels"
    assert len(set(vis)) == len(vis), f"{name}: duplicate Vietnamese labels"


def test_notebook_05_readings_and_covariates_cover_the_codes():
    from hlstudy import drivers

    assert set(_pair_map("05", "COVARIATE_LABELS")) == set(drivers.COVARIATES)
    # the readings the notebook assigns are exactly the mapped codes
    src = NOTEBOOKS["05"].read_text(encoding="utf-8")
    assigned = set(re.findall(r'reading = \(?"([a-z]+)"', src)) | set(
        re.findall(r'else "([a-z]+)"', src))
    assert assigned == set(_pair_map("05", "_READING"))


def test_construct_labels_have_english():
    from hlstudy import codebook

    labels = codebook.construct_labels()
    assert labels["label_en"].str.strip().ne("").all()
    assert not labels["label_en"].str.contains(VI_LETTERS).any()


def test_notebook_07_maps_cover_the_committed_run():
    from hlstudy.evidence.rules import VERDICTS
    from hlstudy.validation import scenarios
    from hlstudy.validation.run import read_results

    assert set(_pair_map("07", "_SCEN")) == set(scenarios())
    assert set(_pair_map("07", "_VERD")) == set(VERDICTS)
    res, _manifest = read_results(ROOT / "data" / "validation")
    path_methods = set(res.loc[res["kind"] == "path", "method"])
    assert path_methods <= set(_pair_map("07", "_METHOD")), path_methods
    assert set(res["scenario"]) <= set(_pair_map("07", "_SCEN"))
    clean = res[res["kind"] == "cleaning"]
    assert set(clean["method"]) <= set(_pair_map("07", "_CLEAN_METRIC"))
    instruments = {q.partition(":")[0] for q in clean["quantity"]}
    assert instruments <= set(_pair_map("07", "_INSTRUMENT"))


def test_notebook_07_false_positive_levels_are_mapped():
    import inspect

    from hlstudy.validation import summary

    levels = set(re.findall(r'"((?:claim|path) \([^")]*\))"', inspect.getsource(summary)))
    assert levels and levels == set(_pair_map("07", "_FP_LEVEL"))
