"""Figures print at their natural size: none is larger than an A4 thesis page's text block.

:data:`hlstudy.export.FIGURE_MAX_MM` (155 × 220 mm) is the text block of the Word page
(:data:`hlstudy.export.DOCX_PAGE_MM`) less room for the caption; a larger figure is shrunk when
inserted and its labels print smaller than the house style's 10 pt.  ``save_figure`` warns
(:class:`hlstudy.export.FigureSizeWarning`); the committed figures all fit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from hlstudy import errors, export  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def house_style():
    """The rcParams notebooks save with (tight bounding box, its padding), whatever other tests set."""
    with matplotlib.rc_context(export.style_rc()):
        yield


def _figure(width_in: float, height_in: float):
    """A figure whose tight bounding box is the whole figure (a frame at its edges)."""
    fig = plt.figure(figsize=(width_in, height_in))
    fig.add_artist(matplotlib.patches.Rectangle((0, 0), 1, 1, transform=fig.transFigure,
                                                fill=False, linewidth=0.5))
    return fig


def test_the_limit_is_the_word_page_text_block_less_the_caption():
    page = export.DOCX_PAGE_MM
    assert export.FIGURE_MAX_MM["width"] == export.docx_text_width_mm() == 155
    assert export.FIGURE_MAX_MM["height"] == page["height"] - page["top"] - page["bottom"] - 27 == 220


def test_size_is_read_alike_from_pdf_png_and_svg(tmp_path):
    fig = _figure(2.0, 1.0)
    paths = export.save_figure(fig, "99_size", simulated=False, directory=tmp_path, show=False,
                               formats=("pdf", "png", "svg"))
    plt.close(fig)
    sizes = {fmt: export.figure_size_mm({fmt: path.read_bytes()}) for fmt, path in paths.items()}
    for width, height in sizes.values():
        # 2 × 1 inch, and the tight box's padding (savefig.pad_inches) on every side
        pad = 2 * 25.4 * matplotlib.rcParams["savefig.pad_inches"]
        assert width == pytest.approx(50.8 + pad, abs=0.3) and height == pytest.approx(25.4 + pad, abs=0.3)
    with pytest.raises(export.ExportError, match="no figure size"):
        export.figure_size_mm({"png": b"not a png"})


def test_a_figure_wider_than_the_page_warns_with_its_size_and_print_scale(tmp_path):
    fig = _figure(8.0, 3.0)   # 203 mm wide with its padding: shrunk to 155 / 208 of its size
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export.save_figure(fig, "99_wide", simulated=False, directory=tmp_path, show=False,
                           formats=("pdf",))
    plt.close(fig)
    sized = [w for w in caught if issubclass(w.category, export.FigureSizeWarning)]
    assert len(sized) == 1, [str(w.message) for w in caught]
    warning = sized[0].message
    assert warning.stem == "99_wide" and warning.width == pytest.approx(208.3, abs=0.3)
    assert warning.scale == pytest.approx(155 / warning.width)
    assert sized[0].filename == __file__   # points at the caller of save_figure
    assert "'99_wide' is 208 × 81 mm" in str(warning) and "74%" in str(warning)
    vi = errors.warning_text(sized[0], "vi")
    assert "208 × 81 mm" in vi and "7,4 pt" in vi and "trang luận văn" in vi


def test_a_figure_that_fits_gives_no_warning(tmp_path):
    fig = _figure(5.9, 8.4)   # 155.0 × 218.4 mm with the padding
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export.save_figure(fig, "99_fits", simulated=False, directory=tmp_path, show=False,
                           formats=("pdf",))
    plt.close(fig)
    assert not [w for w in caught if issubclass(w.category, export.FigureSizeWarning)]


def committed_sizes(folder: Path) -> dict[str, tuple[float, float]]:
    return {p.stem: export.figure_size_mm({"pdf": p.read_bytes()}) for p in sorted(folder.glob("*.pdf"))}


def too_big(sizes: dict[str, tuple[float, float]]) -> list[str]:
    limit = export.FIGURE_MAX_MM
    return [f"{stem}: {w:.0f} × {h:.0f} mm" for stem, (w, h) in sizes.items()
            if w > limit["width"] + 0.1 or h > limit["height"] + 0.1]


def test_every_committed_figure_fits_the_page():
    sizes = committed_sizes(ROOT / "figures")
    assert len(sizes) >= 20
    assert not too_big(sizes), "figures larger than 155 × 220 mm:\n" + "\n".join(too_big(sizes))
