"""Figures of the results and of the method's validation fit the thesis page at their natural
size (``tests/pagefit.py``): as saved, at most 155 mm wide and 220 mm tall, no text under
7 pt (``export.MIN_TEXT_PT``), the simulated-data marks included.  A figure 25 cm wide was shrunk to 60% on the
page, its 6.5-pt labels printed at 4 pt.

The coefficient plot, whose height follows its terms, is checked on an input as large as the
committed study's; the verdict summary, the importance–performance map and the scree plot
where their modules' tests build them (test_mark_placement, test_figure_legends,
test_factor).  Every committed figure as saved: ``tests/test_figure_size.py``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from pagefit import page_faults

from hlstudy import pathplot


def test_coefficient_plot_of_four_outcomes_fits_the_page():
    """05_coefficients was 18 x 23 cm; its legend of long method names stood in one line."""
    terms = ["TRAIN", "COMP", "ENV", "FAC", "LEAD", "SUP", "REC", "RES", "MOT", "EDU", "TENURE"]
    methods = {"SEM": "SEM (FIML, MLR)", "CR2": "OLS, CR2 interval",
               "wild": "OLS, wild bootstrap interval"}
    outcomes = {"A": "Political quality and ethics", "B": "Professional competence",
                "C": "Management, communication and problem-solving skills",
                "D": "Responsibility and initiative"}
    coef = pd.DataFrame([{"outcome": o, "term": x, "method": m, "estimate": 0.1,
                          "ci_low": -0.2, "ci_high": 0.4}
                         for o in outcomes for x in terms for m in methods])
    fig = pathplot.coefficient_plot(coef, outcomes=list(outcomes), terms=terms,
                                    methods=list(methods), outcome_labels=outcomes,
                                    method_labels=methods, xlabel="Standardized β (95% CI)",
                                    zero_label="No effect", title="Standardized coefficients "
                                    "of the drivers on the four quality dimensions")
    fig.draw_without_rendering()
    assert page_faults(fig) == []
    # the legend's entries are whole, on as many lines as the width needs
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [*methods.values(), "No effect"]
    assert legend.get_window_extent(fig.canvas.get_renderer()).width <= fig.bbox.width
    # the terms are named once a row, on the left; a long outcome name wraps in its column
    left, right = fig.axes[0], fig.axes[1]
    assert [t.get_text() for t in left.get_yticklabels()] == terms
    assert not any(t.get_visible() for t in right.get_yticklabels())
    assert "\n" in fig.axes[2].get_title()
    plt.close(fig)
