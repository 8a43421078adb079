"""The thesis page's room for a figure at its natural size (the page rule of the figures
task: a figure wider than the text is shrunk on the page, its labels printed under 6 pt).

``page_faults(fig)``: what keeps a drawn figure from fitting, as saved by
``hlstudy.export.save_figure`` (tight bounding box padded by ``savefig.pad_inches``): its size
beyond 155 x 220 mm, and every text under 6 pt but the plot areas' simulated-data marks."""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.text import Text

from hlstudy import export

#: The text width of ``hlstudy.export.DOCX_PAGE_MM`` and the text block's height less the
#: caption and source line (mm); the smallest text (pt).
WIDTH_MM, HEIGHT_MM, SMALLEST_PT = 155.0, 220.0, 6.0


def saved_mm(fig) -> tuple[float, float]:
    """Width and height (mm) of ``fig`` as saved, in its layout as last drawn."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    pad = 2 * float(mpl.rcParams["savefig.pad_inches"])
    return (box.width + pad) * 25.4, (box.height + pad) * 25.4


def page_faults(fig) -> list[str]:
    """Nothing when ``fig`` (drawn) fits the page at its natural size with readable text."""
    faults = [f"{t.get_text()!r} at {t.get_fontsize():.1f} pt" for t in fig.findobj(Text)
              if t.get_visible() and t.get_text().strip()
              and t.get_text() != export.SIMULATED_MARK and t.get_fontsize() < SMALLEST_PT]
    width, height = saved_mm(fig)
    if width > WIDTH_MM or height > HEIGHT_MM:
        faults.append(f"{width:.0f} x {height:.0f} mm")
    return faults
