"""The thesis page's room for a figure at its natural size (the page rule of the figures
task: a figure wider than the text is shrunk on the page, its labels printed under 6 pt).

``page_faults(fig)``: what keeps a drawn figure from fitting, as saved by
``hlstudy.export.save_figure`` (tight bounding box padded by ``savefig.pad_inches``): its size
beyond 155 x 220 mm, and every text under 6 pt but the plot areas' simulated-data marks."""

from __future__ import annotations

from matplotlib.text import Text

from hlstudy import export

#: The smallest text a printed figure may hold (pt); the page is ``export.FIGURE_MAX_MM``.
SMALLEST_PT = 6.0


def page_faults(fig) -> list[str]:
    """Nothing when ``fig`` (drawn) fits the page at its natural size with readable text."""
    faults = [f"{t.get_text()!r} at {t.get_fontsize():.1f} pt" for t in fig.findobj(Text)
              if t.get_visible() and t.get_text().strip()
              and t.get_text() != export.SIMULATED_MARK and t.get_fontsize() < SMALLEST_PT]
    width, height = export.saved_size_mm(fig)
    if not export.fits_page(width, height):
        faults.append(f"{width:.0f} x {height:.0f} mm")
    return faults
