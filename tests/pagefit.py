"""The thesis page's room for a figure at its natural size (the page rule of the figures
task: a figure wider than the text is shrunk on the page, its labels printed under 7 pt).

``page_faults(fig)``: what keeps a drawn figure from fitting, as saved by
``hlstudy.export.save_figure`` (tight bounding box padded by ``savefig.pad_inches``): its size
beyond 155 x 220 mm, and every text under ``export.MIN_TEXT_PT`` (7 pt; the figures print
at 100 % of their size), the simulated-data marks included.  ``small_texts(fig)``: those
texts alone."""

from __future__ import annotations

from matplotlib.text import Text

from hlstudy import export

#: The smallest text a printed figure may hold (pt); the page is ``export.FIGURE_MAX_MM``.
SMALLEST_PT = export.MIN_TEXT_PT


def small_texts(fig) -> list[str]:
    """Every visible text of ``fig`` (drawn: tick labels are made while drawing) smaller than
    :data:`SMALLEST_PT`: tick labels, titles, legends, box labels, the simulated-data marks."""
    return [f"{t.get_text()!r} at {t.get_fontsize():.2f} pt" for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < SMALLEST_PT
            and (t.axes is None or t.axes.get_visible())]


def page_faults(fig) -> list[str]:
    """Nothing when ``fig`` (drawn) fits the page at its natural size with readable text."""
    faults = small_texts(fig)
    width, height = export.saved_size_mm(fig)
    if not export.fits_page(width, height):
        faults.append(f"{width:.0f} x {height:.0f} mm")
    return faults
