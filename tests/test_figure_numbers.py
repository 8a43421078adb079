"""Numbers in figures are written the label language's way (the decimal comma in Vietnamese).

``export.save_figure`` writes every figure's numbers through ``export.localise_numbers``:
tick labels (whatever formatter made them), offset texts and the figure's own texts.  The
library figures are checked here as saved: in Vietnamese no number has a decimal point
(``3.0``, ``21.65`` was drawn by the caterpillar plots and the 2025 map), in English none has
a decimal comma.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from keptresults import kept_results  # noqa: E402

from hlstudy import export  # noqa: E402
from hlstudy.errors import HlstudyError  # noqa: E402

FIX = Path(__file__).parent / "fixtures"
POINT = re.compile(r"\d\.\d")   # a decimal point between digits
COMMA = re.compile(r"\d,\d")    # a decimal comma (no figure here has thousands)
DECIMAL = {"vi": POINT, "en": COMMA}   # what the language must not write


@pytest.fixture(autouse=True)
def _house_style():
    """The house style and label language as the notebooks use them, put back afterwards."""
    before = export._language
    with matplotlib.rc_context():
        export.use_style()
        yield
    export._language = before


def numbers_drawn(fig) -> list[str]:
    """Every text the figure draws that has a digit: tick labels (major and minor), offset
    texts, axes and figure texts, titles, axis labels, legends, in the layout as drawn."""
    from matplotlib.text import Text

    fig.draw_without_rendering()   # tick labels are made by the formatters while drawing
    texts = [t for t in fig.findobj(Text) if t.get_visible()]
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            texts += [t for t in axis.get_ticklabels(which="both") if t.get_visible()]
            texts.append(axis.get_offset_text())
    return sorted({t.get_text() for t in texts if re.search(r"\d", t.get_text())})


def _library_figure(name: str, lang: str):
    """The library's figures, built the way the notebooks build them in ``lang``."""
    from hlstudy import communes as cm
    from hlstudy import framework, pathplot
    from hlstudy.diagnostic import mapping, plots

    export.set_language(lang)
    decimal = "," if lang == "vi" else "."
    rng = np.random.default_rng(7)
    reg = cm.communes()
    t = pd.DataFrame({"c": reg["name"], "estimate": rng.normal(3.6, 0.25, len(reg))})
    t = t.assign(lo=t["estimate"] - 0.2, hi=t["estimate"] + 0.2, n=20)
    if name == "caterpillar":
        return plots.caterpillar(t, label="c", reference=3.5, reference_label="mean",
                                 threshold=3.0, threshold_label="3")
    if name == "caterpillar_panels":
        return plots.caterpillar_panels(
            [{"table": t, "title": "A", "reference": 3.5, "reference_label": "mean"},
             {"table": t, "title": "B"}], label="c")
    if name == "map":
        return mapping.plot_map(reg, dict(zip(reg["code"], t["estimate"], strict=True)),
                                label="QUAL")
    if name == "reform_map":
        return framework.reform_figure(lang=lang)
    if name == "scatter":
        link = pd.DataFrame({"commune": reg["name"], "QUAL": rng.normal(3.8, 0.1, len(reg)),
                             "SIPAS": rng.normal(3.6, 0.2, len(reg))})
        return pathplot.commune_scatter(link, "QUAL", "SIPAS", fit_label="fit",
                                        decimal=decimal)
    if name == "coefficients":
        coef = pd.DataFrame([{"outcome": o, "term": x, "method": m, "estimate": 0.1,
                              "ci_low": -0.15, "ci_high": 0.35}
                             for o in "AB" for x in "xy" for m in ("SEM", "CR2")])
        return pathplot.coefficient_plot(coef, outcomes=list("AB"), terms=list("xy"),
                                         methods=["SEM", "CR2"], decimal=decimal)
    assert name == "ipma"
    from hlstudy.evidence import ipma_figure
    from hlstudy.evidence.ipma import ipma

    data = pd.read_csv(FIX / "evidence" / "ipma_data.csv")
    return ipma_figure(ipma(data, "QUAL"), lang=lang, title="IPMA")


#: Every library figure in Vietnamese; in English, one figure of each way of writing tick
#: labels (matplotlib's own formatter, a colour bar, pathplot's, IPMA's), as building the
#: slow ones (adjustText) twice would check the same formatter twice.
LIBRARY = [(name, "vi") for name in ("caterpillar", "caterpillar_panels", "map", "reform_map",
                                     "scatter", "coefficients", "ipma")]
LIBRARY += [(name, "en") for name in ("caterpillar", "map", "coefficients", "ipma")]


@pytest.mark.parametrize(("name", "lang"), LIBRARY)
def test_library_figure_numbers_use_the_language_decimal_mark(name, lang):
    with kept_results():   # as the notebooks get them (tests/keptresults.py)
        fig = _library_figure(name, lang)
    export.localise_numbers(fig)   # what save_figure does to every figure it saves
    drawn = numbers_drawn(fig)
    assert any(re.search(r"\d", t) for t in drawn)    # the figure has numbers to check
    assert [t for t in drawn if DECIMAL[lang].search(t)] == []
    plt.close(fig)


def _plain(lang: str):
    """A figure with the default tick formatter, decimal ticks on both axes, an offset,
    a log axis and a number in a text, the legend and the title."""
    export.set_language(lang)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(5, 2.5))
    ax.plot([3.0, 3.3], [21.6, 21.7], label="slope 0.25")
    ax.legend()
    ax.set_title("mean 3.45")
    ax.text(3.1, 21.65, "21.65")
    ax2.plot([100000.1, 100000.4], [0.01, 10])
    ax2.set_yscale("log")
    return fig


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_save_figure_writes_the_language_decimal_mark(lang, tmp_path):
    fig = _plain(lang)
    export.save_figure(fig, "99_numbers", simulated=False, formats=("png",), directory=tmp_path,
                       show=False)
    drawn = numbers_drawn(fig)
    assert [t for t in drawn if DECIMAL[lang].search(t)] == []
    other = COMMA if lang == "vi" else POINT
    assert {"3,0", "21,65", "slope 0,25", "mean 3,45"} <= set(drawn) if lang == "vi" else \
        {"3.0", "21.65", "slope 0.25", "mean 3.45"} <= set(drawn)
    assert any(other.search(t) for t in drawn)
    plt.close(fig)


def test_unlocalised_figures_fail_the_check():
    """The checks above catch the former drawing: matplotlib's own formatter writes points."""
    fig = _plain("vi")
    assert [t for t in numbers_drawn(fig) if POINT.search(t)] != []
    plt.close(fig)
    fig = _library_figure("caterpillar", "vi")
    assert [t for t in numbers_drawn(fig) if POINT.search(t)] != []
    plt.close(fig)


def test_localise_numbers_twice_changes_nothing_more_and_keeps_other_texts():
    fig = _plain("vi")
    fig.axes[0].text(3.0, 21.6, "NĐ 33/2023, 01.12.2026, lavaan 0.6.17, n = 1.234")
    export.localise_numbers(fig)
    first = numbers_drawn(fig)
    export.localise_numbers(fig)
    assert numbers_drawn(fig) == first
    assert "NĐ 33/2023, 01.12.2026, lavaan 0.6.17, n = 1.234" in first
    plt.close(fig)
    with pytest.raises(HlstudyError, match="language"):
        export.localise_numbers(plt.figure(), lang="fr")
    plt.close("all")


def test_tick_labels_with_three_decimals_are_decimals_and_counts_stay_counts():
    """On an axis from 1.0 to 1.1 matplotlib writes ``1.025``, ``1.050``: decimals, which the
    Vietnamese thousands rule of the figure's texts (``n = 1.234``) left as they were (read
    as one thousand and twenty-five).  Labels of matplotlib's numeric formatters now always
    get the decimal comma; labels a function or fixed labels write may hold counts
    ``export.number`` wrote, which stay as written."""
    from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter

    export.set_language("vi")
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(6, 2.5))
    ax.plot([0, 1], [1.0, 1.1])
    ax.yaxis.set_major_locator(FixedLocator([1.0, 1.025, 1.05, 1.075, 1.1]))
    ax.xaxis.set_major_locator(FixedLocator([0, 1]))
    ax.xaxis.set_major_formatter(FixedFormatter(["n = 1.234", "2.5"]))
    ax2.plot([10000, 30000], [0, 1])
    ax2.xaxis.set_major_locator(FixedLocator([12340, 24680]))
    ax2.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: export.number(int(v))))
    export.localise_numbers(fig)
    fig.draw_without_rendering()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["1,000", "1,025", "1,050", "1,075", "1,100"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["n = 1.234", "2,5"]
    assert [t.get_text() for t in ax2.get_xticklabels()] == [export.number(12340),
                                                            export.number(24680)]
    assert export.number(12340) == "12.340"   # the Vietnamese thousands separator, kept
    plt.close(fig)
