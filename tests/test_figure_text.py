"""Figure labels are wrapped at word boundaries and never shortened (issue 13, kind 8).

Every label's full text must be found among the rendered figure's texts (with line breaks
read as spaces): a label cut mid-word or ended with "…" fails.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hlstudy import drivers, framework, pathplot  # noqa: E402
from hlstudy.errors import ModelError  # noqa: E402

LONG = ("Đánh giá của người dân về thái độ, tinh thần trách nhiệm và kết quả giải quyết công "
        "việc của công chức (SIPAS)")


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def rendered_texts(fig) -> list[str]:
    """Every text the figure draws: axes texts, tick labels, titles, legends, figure texts."""
    fig.canvas.draw()
    out = [t.get_text() for t in fig.texts]
    if getattr(fig, "_suptitle", None) is not None:
        out.append(fig._suptitle.get_text())
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [_flat(t) for t in out if t]


@pytest.mark.parametrize("width", [1, 8, 20, 34, 200])
def test_wrap_label_keeps_every_word_and_breaks_only_between_words(width):
    text = LONG + " siêu-dài-không-gạch-nối-được-cắt"
    wrapped = pathplot.wrap_label(text, width)
    assert _flat(wrapped) == _flat(text)          # nothing dropped, nothing added
    words = set(text.split())
    for line in wrapped.split("\n"):
        # a line is whole words; only a single word longer than the width may exceed it
        assert all(w in words for w in line.split())
        assert len(line) <= width or len(line.split()) == 1
    assert "…" not in wrapped


def test_wrap_label_rejects_a_bad_width():
    for bad in (0, -3, 2.5, "10"):
        with pytest.raises(ModelError, match="width"):
            pathplot.wrap_label("a b", bad)


def test_estimated_path_diagram_shows_every_subtitle_in_full():
    st = drivers.structure()
    rng = np.random.default_rng(3)
    est = pd.DataFrame([{"lhs": e, "op": "~", "rhs": c, "std.all": rng.normal(0.1, 0.1),
                         "pvalue": 0.01} for e, ps in st.items() for c in ps])
    nodes = sorted({n for e, ps in st.items() for n in [e, *ps]})
    labels = {n: f"{LONG} {n}" for n in nodes}   # far longer than a box
    fig = pathplot.path_diagram(est, st, node_labels=labels)
    texts = rendered_texts(fig)
    for n, label in labels.items():
        assert _flat(label) in texts, n
    assert not any("…" in t for t in texts)
    plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_conceptual_model_shows_every_construct_label_in_full(lang):
    fig = framework.path_diagram(lang=lang)
    texts = rendered_texts(fig)
    for node, label in framework._node_labels(lang).items():
        if node in framework._layout():
            assert _flat(label) in texts, node
    plt.close(fig)


def _parts(n_inf=7, n_des=4):
    rng = np.random.default_rng(5)
    verdicts = ["supported", "not supported", "inconclusive", "not testable"]
    rows = []
    for k in range(n_inf + n_des):
        est = float(rng.normal(0.1, 0.2))
        rows.append({"claim_id": f"C{k}", "inferential": k < n_inf, "estimate": est,
                     "ci_low": est - 0.1, "ci_high": est + 0.1,
                     "verdict": verdicts[k % 4], "threshold": 0.5,
                     "part_vi": f"thành phần số {k}: " + LONG[: 30 + 9 * k]})
    return pd.DataFrame(rows)


def test_verdict_figure_labels_are_whole_and_every_part_is_drawn():
    parts = _parts()
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi", width=40,
                                  verdict_labels={"supported": "được ủng hộ"}, title="T",
                                  xlabels=("a", "b"))
    texts = rendered_texts(fig)
    for r in parts.itertuples():
        assert _flat(f"{r.claim_id}: {r.part_vi}") in texts
    ax1, ax2 = fig.axes
    assert len(ax1.get_yticklabels()) == int(parts["inferential"].sum())
    assert len(ax2.get_yticklabels()) == int((~parts["inferential"]).sum())
    # every tick label is wrapped: no line longer than the width unless one long word
    for t in ax1.get_yticklabels() + ax2.get_yticklabels():
        assert all(len(line) <= 40 or " " not in line for line in t.get_text().split("\n"))
    # rows with more lines are further apart than one-line rows (labels cannot collide)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax1.get_yticklabels()]
    assert all(not a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["được ủng hộ", "not supported", "inconclusive", "not testable"]
    plt.close(fig)


def test_verdict_figure_rejects_bad_input():
    parts = _parts()
    with pytest.raises(ModelError, match="lacks columns"):
        pathplot.verdict_figure(parts.drop(columns="threshold"), colours={"supported": "g"})
    with pytest.raises(ModelError, match="no colour"):
        pathplot.verdict_figure(parts, colours={"supported": "g"}, label="part_vi")
