"""Figure export made cheaper without changing a byte (issue 15).

* The simulated-data mark is placed without a layout draw (``export._settle_layout``): on
  every figure shape below the mark lands where it landed after
  ``Figure.draw_without_rendering`` (same place, alignment, size, box and score), and the
  saved files are byte-identical.  Shapes where a draw moves more than limits and aspect
  (layout engines, inset and secondary axes, expanding legends) still draw first.
* Text metrics are shared between the renderers of one ``save_figure`` call
  (``export._shared_text_metrics``): the files are byte-identical with and without the
  sharing, renderers of another class or resolution never share, and the sharing measures
  fewer texts (so it is really used).
* Fonts are looked up and their line-height tables read once per call
  (``export._shared_font_tables``): the same answers as matplotlib's, another font size or
  family is another lookup, and matplotlib's names are back afterwards.

What the former way (layout draw first, nothing shared) placed and wrote on these shapes is
read from ``tests/fixtures/speed/figures_former.json``, written by the former way itself,
kept unchanged in ``tests/fixtures/speed/make_figures_former.py`` (positions as exact JSON
numbers, files as SHA-256 digests); every test still computes the new way.  The tests run
on matplotlib's default rcParams and the default label language, as the script does.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import RendererAgg  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

from hlstudy import export  # noqa: E402

GENERATOR = "tests/fixtures/speed/make_figures_former.py"


@functools.cache
def _former() -> dict:
    """The former way's results on these shapes (read once; the generator imports this
    module before the file exists)."""
    return json.loads((Path(__file__).parent / "fixtures" / "speed" / "figures_former.json")
                      .read_text(encoding="utf-8"))


def _versions() -> dict[str, str]:
    """The libraries whose output the former way's references are."""
    from importlib.metadata import version

    from matplotlib import ft2font

    return {"matplotlib": matplotlib.__version__, "freetype": ft2font.__freetype_version__,
            "numpy": np.__version__, "pillow": version("pillow"),
            "fonttools": version("fonttools")}


def _as_stored(value):
    """``value`` as the generator stored it: its JSON text read back (tuples become lists,
    every double exactly the same)."""
    return json.loads(json.dumps(value))


def _not_former(what: str) -> str:
    return (f"{what}: not what the former way gave, as recorded by {GENERATOR} with "
            f"{_former()['versions']} (installed: {_versions()}); rerun it only if the former "
            "way's own output changed (another matplotlib, font or figure shape)")


@pytest.fixture(autouse=True)
def _default_style(monkeypatch):
    """Matplotlib's default rcParams and the default label language, whatever a test that
    ran before in this process left (the references were made so)."""
    monkeypatch.setattr(export, "_language", None)
    monkeypatch.delenv("HLSTUDY_LANG", raising=False)
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        yield


# --------------------------------------------------------------------------- figure shapes

def _line_best_legend():
    fig, ax = plt.subplots(figsize=(5, 3.5))
    x = np.linspace(0, 10, 60)
    ax.plot(x, np.sin(x), label="sin")
    ax.plot(x, 0.3 * x - 1, "o", ms=3, label="trend")
    ax.legend(loc="best")
    return fig


def _pending_autoscale():
    """Data added after the limits were last read: the limits are stale until settled."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    ax.get_xlim()
    ax.scatter([5, 6, 7], [10, 12, 11], s=30)
    ax.plot([-3, 8], [4, 4], "--")
    return fig


def _outside_legend_and_texts():
    fig, ax = plt.subplots(figsize=(6, 3.5))
    rng = np.random.default_rng(1)
    ax.scatter(rng.normal(size=40), rng.normal(size=40), label="communes")
    ax.axhline(0, color="grey")
    ax.axvline(0, color="grey")
    ax.text(1.5, 1.5, "high–high", ha="center")
    ax.text(-1.5, -1.5, "low–low", ha="center")
    ax.annotate("outlier", xy=(0.2, 0.3), xytext=(1.2, -1.2),
                arrowprops={"arrowstyle": "->"})
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def _equal_aspect_map_with_colorbar():
    fig, ax = plt.subplots(figsize=(5, 4))
    theta = np.linspace(0, 2 * np.pi, 9)
    for k in range(3):
        ax.fill(np.cos(theta) + 2 * k, np.sin(theta) + k, alpha=0.5)
    sc = ax.scatter([0, 2, 4], [0, 1, 2], c=[1, 2, 3])
    ax.set_aspect(1 / np.cos(np.deg2rad(21.5)))
    fig.colorbar(sc, ax=ax, shrink=0.7, label="score")
    ax.text(0.0, -0.02, "a long note under the map that wraps " * 3, transform=ax.transAxes,
            fontsize=7, va="top", wrap=True)
    fig.tight_layout()
    return fig


def _datalim_aspect():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1, 2], [0, 4, 1], marker="s")
    ax.set_aspect("equal", adjustable="datalim")
    return fig


def _shared_panels():
    fig, axes = plt.subplots(2, 3, figsize=(8, 5), sharex=True, sharey="row")
    rng = np.random.default_rng(2)
    for k, ax in enumerate(axes.flat):
        y = rng.normal(size=12).cumsum()
        ax.errorbar(np.arange(12), y, yerr=0.5, fmt="o", ms=2)
        ax.axvspan(2, 4, color="grey", alpha=0.2)
        ax.set_title(f"panel {k}")
    fig.legend(["mean"], loc="lower center", ncol=1)
    fig.suptitle("shared axes")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _bars_log_inverted_twin():
    fig, (a, b) = plt.subplots(1, 2, figsize=(7, 3))
    a.barh(["one", "two", "three"], [3, 1, 2])
    a.invert_yaxis()
    b.plot([1, 10, 100, 1000], [1, 3, 2, 5], "o-")
    b.set_xscale("log")
    c = b.twinx()
    c.plot([1, 10, 100, 1000], [10, 8, 9, 4], color="C3")
    c.fill_between([1, 1000], [5, 5], [6, 6], alpha=0.2)
    return fig


def _heatmap():
    fig, ax = plt.subplots(figsize=(5, 4))
    img = ax.imshow(np.arange(48).reshape(6, 8) % 5, aspect="auto")
    fig.colorbar(img, ax=ax)
    ax.pcolormesh(np.arange(9) - 0.5, np.arange(7) - 0.5, np.ones((6, 8)), alpha=0.0)
    return fig


def _arrows_drawn_before():
    """Arrows clipped to boxes, shrunk and with heads (their path scales with the dpi of
    their last draw), after a save at another resolution left them scaled for 300 dpi; one
    reaches past the plot area, so it makes the figure's tight box."""
    from matplotlib.patches import FancyArrowPatch

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    box = {"boxstyle": "round", "fc": "white"}
    a = ax.text(1, 5, "training", bbox=box)
    b = ax.text(7, 5, "quality", bbox=box)
    ax.add_patch(FancyArrowPatch((1.5, 5), (7.5, 5), arrowstyle="-|>", mutation_scale=14,
                                 shrinkA=6, shrinkB=6, patchA=a.get_bbox_patch(),
                                 patchB=b.get_bbox_patch(), lw=2))
    ax.add_patch(FancyArrowPatch((0.2, 0.3), (9.8, 0.4), arrowstyle="->", mutation_scale=20,
                                 connectionstyle="arc3,rad=0.2"))
    ax.annotate("a note", xy=(9.7, 0.5), xytext=(6, 2.5),
                arrowprops={"arrowstyle": "-|>", "shrinkA": 4, "shrinkB": 8, "lw": 1.5})
    # reaching past the plot area: the tight box of a save ends at this arrow's head
    ax.annotate("beyond", xy=(1.35, 0.5), xycoords="axes fraction", xytext=(0.55, 0.3),
                textcoords="axes fraction", annotation_clip=False,
                bbox={"boxstyle": "round", "fc": "white"},
                arrowprops={"arrowstyle": "-|>", "mutation_scale": 30, "shrinkB": 12, "lw": 2})
    ax.legend(handles=[plt.Line2D([], [], label="path")], loc="best")
    # what a save at 300 dpi leaves behind (a layout draw at 300 dpi runs the same drawing
    # code as the raster draw of a PNG, without its pixels)
    with matplotlib.cbook._setattr_cm(fig, dpi=300):
        fig.draw_without_rendering()
    return fig


def _boxed_arrows_on_stale_limits():
    """Boxed texts in data coordinates joined by arrows, drawn once, then more data: the
    limits are stale until settled, and the boxes and arrows must follow them."""
    from matplotlib.patches import FancyArrowPatch

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([0, 4], [0, 3], "o")
    box = {"boxstyle": "round", "fc": "white"}
    a = ax.text(0.5, 2.5, "cause", bbox=box)
    b = ax.text(3.0, 0.5, "effect", bbox=box)
    ax.add_patch(FancyArrowPatch((0.7, 2.5), (3.2, 0.6), arrowstyle="-|>", mutation_scale=12,
                                 patchA=a.get_bbox_patch(), patchB=b.get_bbox_patch()))
    ax.annotate("why", xy=(3.2, 2.8), xytext=(1.5, 1.2), bbox=box,
                arrowprops={"arrowstyle": "->", "patchB": b.get_bbox_patch()})
    fig.draw_without_rendering()
    ax.scatter([9, 10], [8, 9])   # stale limits until the next draw (or settling)
    return fig


SETTLED = [_line_best_legend, _arrows_drawn_before, _boxed_arrows_on_stale_limits, _pending_autoscale, _outside_legend_and_texts,
           _equal_aspect_map_with_colorbar, _datalim_aspect, _shared_panels,
           _bars_log_inverted_twin, _heatmap]


def _arrow_of_the_figure():
    from matplotlib.patches import FancyArrowPatch

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    fig.add_artist(FancyArrowPatch((0.1, 0.1), (0.9, 0.9), transform=fig.transFigure,
                                   arrowstyle="->", mutation_scale=15))
    return fig


def _constrained():
    fig, axes = plt.subplots(1, 2, figsize=(6, 3), layout="constrained")
    for ax in axes:
        ax.plot([0, 1], [1, 0], label="x")
        ax.legend(loc="best")
    return fig


def _inset():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1])
    inner = ax.inset_axes([0.6, 0.1, 0.35, 0.35])
    inner.plot([0, 1], [1, 0])
    return fig


def _secondary():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1])
    ax.secondary_xaxis("top", functions=(lambda x: 2 * x, lambda x: x / 2))
    return fig


def _expanding_legend():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1], label="a")
    ax.plot([0, 1], [1, 0], label="b")
    ax.legend(loc="lower left", mode="expand", ncol=2, bbox_to_anchor=(0, 1.02, 1, 0.1))
    return fig


DRAWN = [_constrained, _inset, _secondary, _expanding_legend, _arrow_of_the_figure]


def _marks(fig) -> list[tuple]:
    """Every plot area's mark as placed: position, alignment, size, box and its data score."""
    out = []
    for ax in fig.axes:
        for t in ax.texts:
            if export.is_simulated_mark(t):
                box = t.get_bbox_patch()
                out.append((fig.axes.index(ax), t.get_position(), t.get_ha(), t.get_va(),
                            t.get_fontsize(), box is not None,
                            getattr(t, "_hlstudy_data_overlap", "unset")))
    return out


#: The shapes saved by ``test_files_are_byte_identical_to_the_former_way``, which also
#: checks their marks as this test does, on the figures it saves (placed inside
#: ``save_figure``, the way every figure is marked); the other shapes are checked here.
SAVED = [_outside_legend_and_texts, _equal_aspect_map_with_colorbar, _arrows_drawn_before]
MARKED = [b for b in SETTLED + DRAWN if b not in SAVED]


def _name(build) -> str:
    return build.__name__.strip("_")


@pytest.mark.parametrize("build", MARKED, ids=_name)
def test_mark_lands_where_it_landed_after_a_layout_draw(build, monkeypatch):
    """Same place as after a layout draw (the former way's marks: ``figures_former.json``,
    ``marks``); the shapes of ``SETTLED`` are placed without any layout draw (and need
    none), those of ``DRAWN`` with exactly one."""
    new = build()
    try:
        if build in SETTLED:
            assert not export._needs_full_draw(new)
        calls = []
        original = type(new).draw_without_rendering
        with monkeypatch.context() as m:
            m.setattr(type(new), "draw_without_rendering",
                      lambda self: calls.append(self) or original(self))
            export._mark_simulated(new)
        assert calls == ([] if build in SETTLED else [new])
        marks = _marks(new)
        assert len(marks) >= 1
        assert _as_stored(marks) == _former()["marks"][_name(build)], _not_former("the marks")
        corner = [t for t in new.texts if export.is_simulated_mark(t)]
        assert len(corner) == 1
    finally:
        plt.close(new)


ARROWS = [_arrows_drawn_before, _boxed_arrows_on_stale_limits]


@pytest.mark.parametrize("build", ARROWS, ids=_name)
def test_arrows_are_scaled_as_a_draw_would_scale_them(build):
    """A save at 300 dpi left the arrows scaled for 300 dpi; the mark is placed at 100 dpi,
    where a draw would rescale them: their extents are those after a draw, and differ from
    the stale ones (so the rescaling is needed, and done).  The draw stays here, not in
    ``figures_former.json``: extents in display units pass through the transforms' matrix
    products (BLAS), whose last bits may differ on another CPU."""
    fig = build()
    try:
        ax = fig.axes[0]
        parts = [*ax.patches, *[t for t in ax.texts if t.get_text() in ("a note", "why")]]
        renderer = fig.canvas.get_renderer()   # 100 dpi, as the mark's placement measures
        stale = [p.get_window_extent(renderer).bounds for p in parts]
        export._settle_layout(fig)
        settled = [p.get_window_extent(renderer).bounds for p in parts]
        fig.draw_without_rendering()
        drawn = [p.get_window_extent(renderer).bounds for p in parts]
        assert settled == drawn
        assert all(a != b for a, b in zip(stale, drawn, strict=True))
    finally:
        plt.close(fig)


def test_pending_autoscale_is_settled_before_measuring():
    """Without settling, the transforms would still use the limits read before the scatter:
    the data would map outside the plot area and every place would look free."""
    fig = _pending_autoscale()
    ax = fig.axes[0]
    try:
        stale = ax.transData.transform((6, 11))
        export._settle_layout(fig)
        settled = ax.transData.transform((6, 11))
        assert not np.allclose(stale, settled)
        area = ax.get_window_extent()
        assert area.x0 <= settled[0] <= area.x1 and area.y0 <= settled[1] <= area.y1
    finally:
        plt.close(fig)


def _saved(fig, tmp_path, name) -> dict[str, bytes]:
    """PDF and PNG as the notebooks save them (house style: ``savefig.bbox="tight"``)."""
    with matplotlib.rc_context(export.style_rc()):
        paths = export.save_figure(fig, f"01_{name}", simulated=True, formats=("pdf", "png"),
                                   directory=tmp_path, show=False)
    return {fmt: p.read_bytes() for fmt, p in paths.items()}


@pytest.mark.parametrize("build", SAVED, ids=_name)
def test_files_are_byte_identical_to_the_former_way(build, tmp_path, monkeypatch):
    """Former way (its files' digests and its marks: ``figures_former.json``, ``saved``):
    layout draw before the mark, metrics per renderer (matplotlib's cache), fonts looked up
    and their tables read for every text layout, every text laid out each time it is
    measured, and savefig's own layout draw before the tight box.  The three shapes settle that draw (no
    layout draw at all: only the real draw of each format), with boxed texts, an annotation
    whose arrow, scaled for another resolution, makes the tight box, an outside legend, an
    equal-aspect area, wrapped text and a colour bar's rasterised solids.  Their marks are
    checked as by ``test_mark_lands_where_it_landed_after_a_layout_draw``: placed without
    any layout draw (none of the calls counted below), where the former way placed them."""
    from matplotlib.figure import Figure

    former = _former()["saved"][_name(build)]
    calls = []
    original = Figure.draw
    fig = build()
    assert build in SETTLED and not export._needs_full_draw(fig)
    with monkeypatch.context() as m:
        m.setattr(Figure, "draw", lambda self, renderer: calls.append(
            export._draw_is_disabled(renderer)) or original(self, renderer))
        new = _saved(fig, tmp_path / "new", "shape")
    # asked of the saved figure (a save adds only the marks, plain texts): one build less
    assert export._layout_draw_can_settle(fig)
    assert calls == [False, False]   # the PDF's and the PNG's real draws, no layout draw
    marks = _marks(fig)
    assert len(marks) >= 1
    assert _as_stored(marks) == former["marks"], _not_former("the marks")
    assert len([t for t in fig.texts if export.is_simulated_mark(t)]) == 1
    assert hashlib.sha256(new["png"]).hexdigest() == former["png"], _not_former("the PNG")
    assert hashlib.sha256(new["pdf"]).hexdigest() == former["pdf"], _not_former("the PDF")
    plt.close("all")


# --------------------------------------------------------------------------- savefig's layout draw

def _layout_draws(fig, fmt, monkeypatch) -> tuple[list, bytes]:
    """Save ``fig`` (tight box, low resolution: the count does not depend on it) with the
    layout draw settled where it can be; return whether each call of ``Figure.draw`` had
    its drawing disabled, in order, and the bytes."""
    import io

    from matplotlib.figure import Figure

    calls = []
    original = Figure.draw

    def counted(self, renderer):
        calls.append(export._draw_is_disabled(renderer))
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    buffer = io.BytesIO()
    with export._settled_layout_draws(fig), export._cached_font_subsets():
        fig.savefig(buffer, format=fmt, dpi=40, bbox_inches="tight",
                    metadata={"Software": None} if fmt == "png" else {"CreationDate": None})
    assert "draw" not in vars(fig)   # the figure's own draw is back
    return calls, buffer.getvalue()


def _quiver():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.quiver([0, 1], [0, 1], [1, 0], [0, 1])   # a PolyCollection that sets itself up when drawn
    return fig


def _listened():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    fig.canvas.mpl_connect("draw_event", lambda event: None)
    return fig


@pytest.mark.parametrize("build", [_constrained, _quiver, _listened],
                         ids=lambda f: f.__name__.strip("_"))
def test_figures_a_layout_draw_would_change_keep_it(build, monkeypatch):
    fig = build()
    assert not export._layout_draw_can_settle(fig)
    calls, _ = _layout_draws(fig, "png", monkeypatch)
    assert calls == [True, False]   # layout draw, then the real one
    plt.close("all")


def test_arrows_the_settling_cannot_place_get_the_layout_draw(monkeypatch):
    """An arrow among the figure's own artists: the hook is in place but falls back."""
    fig = _arrow_of_the_figure()
    assert export._layout_draw_can_settle(fig)
    calls, _ = _layout_draws(fig, "png", monkeypatch)
    assert calls == [True, False]
    plt.close("all")


def test_draw_disabled_is_recognised_on_agg_and_pdf_renderers():
    from matplotlib.backends.backend_mixed import MixedModeRenderer
    from matplotlib.backends.backend_pdf import PdfFile, RendererPdf

    fig = plt.figure(figsize=(1, 1))
    agg = RendererAgg(10, 10, 72)
    import io

    pdf = MixedModeRenderer(fig, 1, 1, 72, RendererPdf(PdfFile(io.BytesIO()), 72, 1, 1))
    for renderer in (agg, pdf):
        assert not export._draw_is_disabled(renderer)
        with renderer._draw_disabled():
            assert export._draw_is_disabled(renderer)
        assert not export._draw_is_disabled(renderer)
    plt.close(fig)


# --------------------------------------------------------------------------- text metrics

def test_shared_metrics_measure_once_per_renderer_kind(monkeypatch):
    from matplotlib import text as mtext

    calls = []
    original = RendererAgg.get_text_width_height_descent

    def counted(self, s, prop, ismath):
        calls.append((self.dpi, s))
        return original(self, s, prop, ismath)

    monkeypatch.setattr(RendererAgg, "get_text_width_height_descent", counted)
    prop = FontProperties(family="DejaVu Sans", size=9)
    first, second, other = RendererAgg(50, 50, 300), RendererAgg(80, 20, 300), RendererAgg(50, 50, 100)
    plain = mtext._get_text_metrics_with_cache
    with export._shared_text_metrics():
        shared = mtext._get_text_metrics_with_cache
        a = shared(first, "Chất lượng đội ngũ", prop, False, 300)
        b = shared(second, "Chất lượng đội ngũ", prop, False, 300)   # another renderer, same kind
        c = shared(other, "Chất lượng đội ngũ", prop, False, 100)    # another resolution
        bigger = prop.copy()
        bigger.set_size(12)
        d = shared(second, "Chất lượng đội ngũ", bigger, False, 300)  # another font size
    assert mtext._get_text_metrics_with_cache is plain   # matplotlib's own cache is back
    assert a == b == original(second, "Chất lượng đội ngũ", prop, False)
    assert c == original(other, "Chất lượng đội ngũ", prop, False) and c != a
    assert d == original(second, "Chất lượng đội ngũ", bigger, False) and d != a
    assert calls == [(300, "Chất lượng đội ngũ"), (100, "Chất lượng đội ngũ"),
                     (300, "Chất lượng đội ngũ")]


def _texts_measured(metrics, folder) -> dict[str, int]:
    """How many texts the raster and the PDF renderers measure while ``save_figure`` saves
    ``_line_best_legend`` with ``metrics`` as its text-metrics sharing."""
    from matplotlib.backends import _backend_pdf_ps

    calls = {"agg": 0, "pdf": 0}
    agg = RendererAgg.get_text_width_height_descent
    pdf = _backend_pdf_ps.RendererPDFPSBase.get_text_width_height_descent

    def on_agg(self, s, prop, ismath):
        calls["agg"] += 1
        return agg(self, s, prop, ismath)

    def on_pdf(self, s, prop, ismath):
        calls["pdf"] += 1
        return pdf(self, s, prop, ismath)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(RendererAgg, "get_text_width_height_descent", on_agg)
        m.setattr(_backend_pdf_ps.RendererPDFPSBase, "get_text_width_height_descent", on_pdf)
        m.setattr(export, "_shared_text_metrics", metrics)
        _saved(_line_best_legend(), folder, "lines")
    plt.close("all")
    return calls


def test_shared_metrics_are_used_when_saving(tmp_path):
    """The sharing is really in force during save_figure: fewer texts are measured, by the
    raster and by the PDF renderers (the default margins make the cropped figure smaller
    than the whole, so each format uses two renderers), than the former way measured, each
    renderer on its own (``figures_former.json``, ``measured``)."""
    own = _former()["measured"]
    shared = _texts_measured(export._shared_text_metrics, tmp_path)
    why = (f"with the sharing {shared} texts measured, not fewer than the former way's {own} "
           f"recorded by {GENERATOR}")
    assert shared["agg"] < own["agg"], why
    assert shared["pdf"] < own["pdf"], why


def test_shared_layouts_lay_out_each_text_once_per_kind(monkeypatch):
    """Within the context a text is laid out once per (text, font, alignment, rotation,
    renderer kind, dpi); the answer is matplotlib's, handed out as a copy; wrapped texts
    and another alignment, size, renderer or resolution are laid out again."""
    from matplotlib import text as mtext

    calls = []
    original = mtext.Text._get_layout

    def counted(self, renderer):
        calls.append(self.get_text())
        return original(self, renderer)

    monkeypatch.setattr(mtext.Text, "_get_layout", counted)
    fig, ax = plt.subplots(figsize=(3, 2))
    a = ax.text(0.1, 0.2, "Chất lượng\nđội ngũ", ha="center", rotation=30)
    b = ax.text(0.7, 0.9, "Chất lượng\nđội ngũ", ha="center", rotation=30)   # elsewhere
    c = ax.text(0.5, 0.5, "Chất lượng\nđội ngũ", ha="left", rotation=30, multialignment="center")
    d = ax.text(0.5, 0.5, "Chất lượng\nđội ngũ", ha="center", rotation=30, fontsize=14)
    w = ax.text(0.5, 0.5, "Chất lượng đội ngũ " * 8, wrap=True)
    agg, other = RendererAgg(300, 200, 100), RendererAgg(300, 200, 100)
    w._renderer = agg   # wrapping measures with the text's last renderer
    pdfish = RendererAgg(300, 200, 72)
    expected = {t: original(t, agg) for t in (a, c, d)}
    with export._shared_text_layouts():
        first = mtext.Text._get_layout(a, agg)
        first[0].x0 = -99.0   # a caller changing its copy changes nothing kept
        again = [mtext.Text._get_layout(t, r) for t, r in ((a, agg), (b, other))]
        kinds = [mtext.Text._get_layout(t, agg) for t in (c, d)]
        mtext.Text._get_layout(a, pdfish)
        mtext.Text._get_layout(w, agg)
        mtext.Text._get_layout(w, agg)
    assert mtext.Text._get_layout is counted   # the class's own method is back
    assert calls == [a.get_text(), c.get_text(), d.get_text(), a.get_text(), w.get_text(),
                     w.get_text()]
    for got in again:
        assert got[0].bounds == expected[a][0].bounds and got[1:] == expected[a][1:]
    assert kinds[0][0].bounds == expected[c][0].bounds != expected[a][0].bounds
    assert kinds[1][0].bounds == expected[d][0].bounds != expected[a][0].bounds
    plt.close(fig)


def test_shared_font_tables_answer_as_matplotlib_does(monkeypatch):
    from matplotlib import font_manager
    from matplotlib import text as mtext

    asked = []
    find = font_manager.FontManager._find_fonts_by_props

    def counted(self, prop, *args, **kwargs):
        asked.append(prop.get_size_in_points())
        return find(self, prop, *args, **kwargs)

    monkeypatch.setattr(font_manager.FontManager, "_find_fonts_by_props", counted)
    plain_get_font, plain_manager = mtext.get_font, mtext.fontManager
    small, large = FontProperties(size=8), FontProperties(size=12, weight="bold")
    with export._shared_font_tables():
        first = mtext.fontManager._find_fonts_by_props(small)
        again = mtext.fontManager._find_fonts_by_props(small)
        bold = mtext.fontManager._find_fonts_by_props(large)
        font = mtext.get_font(first)
        os2, head = font.get_sfnt_table("OS/2"), font.get_sfnt_table("head")
        assert font.get_sfnt_table("OS/2") is os2          # read once
        assert font.family_name == plain_get_font(first).family_name   # the font itself
    assert mtext.get_font is plain_get_font and mtext.fontManager is plain_manager
    assert asked == [8.0, 12.0]
    assert first == again == plain_manager._find_fonts_by_props(small)
    assert bold == plain_manager._find_fonts_by_props(large) and bold != first
    assert os2 == plain_get_font(first).get_sfnt_table("OS/2")
    assert head == plain_get_font(first).get_sfnt_table("head")


# --------------------------------------------------------------------------- builders

def _diagram_texts(fig) -> list[tuple]:
    return [(t.get_text(), t.get_position(), t.get_ha(), t.get_va()) for ax in fig.axes
            for t in ax.texts]


def _path_estimates(seed):
    from hlstudy import drivers

    st = drivers.structure()
    rng = np.random.default_rng(seed)
    rows = [{"lhs": e, "op": "~", "rhs": c, "std.all": b, "ci.lower": b - 0.12,
             "ci.upper": b + 0.12}
            for e, ps in st.items() for c in ps for b in [rng.normal(0.1, 0.15)]]
    import pandas as pd

    return st, pd.DataFrame(rows)


DIAGRAMS = ["conceptual", "estimated-1"]


@pytest.mark.parametrize("which", DIAGRAMS)
def test_label_placement_needs_no_draw(which, monkeypatch):
    """The path diagrams place their arrow labels without drawing the figure: every extent
    they read (boxes, texts, the title, arrow ends) is computed on request from limits and
    margins fixed before.  A full raster draw before the placement (the former way, whose
    places are ``figures_former.json``, ``labels``; a layout-only draw after it) gives the
    same places, and the builders draw nothing."""
    from matplotlib.figure import Figure

    from hlstudy import framework, pathplot

    draws = []
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: draws.append(
        export._draw_is_disabled(renderer)) or draw(self, renderer))
    if which == "conceptual":
        fig = framework.path_diagram(lang="vi")
    else:
        st, est = _path_estimates(int(which[-1]))
        fig = pathplot.path_diagram(est, st)
    new = _diagram_texts(fig)
    plt.close("all")
    assert draws == []
    assert _as_stored(new) == _former()["labels"][which], _not_former("the labels")


# --------------------------------------------------------------------------- preview

def _reduced_as_pillow_does(image, factor):
    small = image.reduce(factor)
    if small.getextrema()[3][0] == 255:
        small = small.convert("RGB")
    return small


@pytest.mark.parametrize("case", ["opaque", "one-clear-pixel", "translucent", "figure"])
def test_preview_reduction_is_pillows_byte_for_byte(case):
    from PIL import Image

    rng = np.random.default_rng(7)
    if case == "figure":
        fig = _line_best_legend()
        fig.canvas.draw()
        rgba = np.array(fig.canvas.buffer_rgba())
        plt.close(fig)
    else:
        rgba = rng.integers(0, 256, size=(301, 452, 4), dtype=np.uint8)
        rgba[..., 3] = 255
        if case == "one-clear-pixel":
            rgba[17, 40, 3] = 0
        elif case == "translucent":
            rgba[..., 3] = rng.integers(0, 256, size=rgba.shape[:2], dtype=np.uint8)
    image = Image.fromarray(rgba, mode="RGBA")
    for factor in (1, 2, 3):
        fast, slow = export._reduced(image, factor), _reduced_as_pillow_does(image, factor)
        assert fast.mode == slow.mode
        assert fast.size == slow.size
        assert fast.tobytes() == slow.tobytes()
    assert export._reduced(image, 3).mode == ("RGB" if case in ("opaque", "figure") else "RGBA")


def test_preview_encoding_is_cached_by_its_pixels(tmp_path, monkeypatch):
    """A hit gives the bytes a fresh encoding gives; other pixels miss; switched off, no
    file is written."""
    import io

    from PIL import Image

    folder = tmp_path / "preview"
    monkeypatch.setattr(export, "_cache_dir", lambda name: folder if name == "preview" else None)
    encoded = []
    original = Image.Image.save

    def counted(self, fp, *a, **k):
        encoded.append(self.size)
        return original(self, fp, *a, **k)

    monkeypatch.setattr(Image.Image, "save", counted)
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8))
    fresh = io.BytesIO()
    original(image, fresh, format="PNG")

    miss = export._encoded_preview(image)
    assert miss == fresh.getvalue() and len(encoded) == 1 and len(list(folder.iterdir())) == 1
    hit = export._encoded_preview(image.copy())
    assert hit == miss and len(encoded) == 1   # read, not encoded again

    other = image.copy()
    other.putpixel((5, 5), (0, 0, 0) if image.getpixel((5, 5)) != (0, 0, 0) else (1, 1, 1))
    changed = export._encoded_preview(other)
    assert len(encoded) == 2 and changed != miss and len(list(folder.iterdir())) == 2

    (folder / next(p.name for p in folder.iterdir())).write_bytes(b"damaged")
    assert {export._encoded_preview(image), export._encoded_preview(other)} == {miss, changed}

    files = sorted(p.name for p in folder.iterdir())
    monkeypatch.setattr(export, "_cache_dir", lambda name: None)   # HLSTUDY_EXPORT_CACHE=0
    before = len(encoded)
    assert export._encoded_preview(image) == miss
    assert len(encoded) == before + 1 and sorted(p.name for p in folder.iterdir()) == files
