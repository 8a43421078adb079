"""Legends and labels that hide no data (figures a thesis can print).

What a legend hides is measured with the export module's own measure of data under a box
(``export._data_shapes``: bars, points, lines by their vertices; ``export._data_overlap``:
0 when the box hides nothing), on the figures as the notebooks draw them.  Each check is
first shown to catch the former drawing, built here the way the notebook drew it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from keptresults import kept_results  # noqa: E402
from pagefit import page_faults  # noqa: E402

from hlstudy import cleaning, export  # noqa: E402
from hlstudy.errors import SurveyDataError  # noqa: E402


@pytest.fixture(autouse=True)
def _house_style():
    """The figures as the notebooks draw them: the house style (``export.use_style``), put
    back as it was afterwards."""
    with matplotlib.rc_context():
        export.use_style()
        yield


def _legend_faults(fig) -> list[str]:
    """Legends over data, and legends over the figure's texts (tick labels, axis labels,
    titles), in the layout as drawn."""
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    faults = []
    texts = [t for ax in fig.axes for t in (*ax.get_xticklabels(), *ax.get_yticklabels(),
                                            ax.xaxis.label, ax.yaxis.label, ax.title)
             if t.get_visible() and t.get_text().strip()]
    for k, ax in enumerate(fig.axes):
        shapes = export._data_shapes(ax, r)
        for leg in [leg for leg in (ax.get_legend(), *fig.legends) if leg is not None]:
            box = leg.get_window_extent(r)
            hidden = export._data_overlap(box, shapes)
            if hidden > 0:
                faults.append(f"axes {k}: a legend hides data ({hidden:.3f})")
            under = [t.get_text() for t in texts if box.overlaps(t.get_window_extent(r))]
            if under:
                faults.append(f"axes {k}: a legend over {under}")
    return faults


@pytest.fixture(scope="module")
def coverage():
    from hlstudy import load_study
    from hlstudy.study import coverage_by_commune

    return coverage_by_commune(load_study())


@pytest.fixture(scope="module")
def coverage_fig(coverage):
    """02_coverage as the notebook draws it (in the house style: a module fixture is built
    before the tests' ``_house_style``), built once for the two checks that read it."""
    with matplotlib.rc_context():
        export.use_style()
        fig = cleaning.coverage_figure(coverage)
    yield fig
    plt.close(fig)


def test_coverage_legend_hides_no_bar(coverage, coverage_fig):
    old, ax = plt.subplots(figsize=(7.5, 5.2))   # the notebook's former drawing
    district = coverage["officials"].sum() / coverage["register"].sum()
    ordered = coverage.sort_values("coverage")
    ax.barh(ordered["commune"], 100 * ordered["coverage"])
    ax.axvline(100 * district, linestyle="--", label=f"Toàn huyện {district:.0%}")
    ax.legend(loc="lower right")
    assert any("hides data" in f for f in _legend_faults(old))   # the check catches it
    plt.close(old)

    fig = coverage_fig
    assert _legend_faults(fig) == []
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        export.tr(f"Toàn huyện {district:.0%}", f"District {district:.0%}")]
    export._mark_simulated(fig)   # and the plot area keeps a place for the mark that hides nothing
    [mark] = [t for t in fig.axes[0].texts if export.is_simulated_mark(t)]
    assert mark._hlstudy_data_overlap == 0 and mark.get_bbox_patch() is not None


def test_coverage_figure_draws_every_commune_highest_first(coverage, coverage_fig):
    fig = coverage_fig   # its bars, names and line (the mark the check above adds is text)
    ax = fig.axes[0]
    bars = sorted(ax.patches, key=lambda p: -p.get_y())               # top to bottom
    names = [t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    widths = [p.get_width() for p in bars]
    assert len(bars) == len(coverage) == 23
    expected = coverage.assign(w=100 * coverage["coverage"])
    assert dict(zip(names, widths, strict=True)) == pytest.approx(
        dict(zip(expected["commune"], expected["w"], strict=True)))
    assert widths == sorted(widths, reverse=True)
    for w in set(widths):   # ties in Vietnamese alphabetical order, top to bottom
        tied = [n for n, x in zip(names, widths, strict=True) if x == w]
        assert tied == export.vi_sorted(tied)
    district = 100 * coverage["officials"].sum() / coverage["register"].sum()
    assert [line.get_xdata()[0] for line in ax.lines] == [pytest.approx(district)]


def test_coverage_figure_bad_input(coverage):
    with pytest.raises(SurveyDataError, match="coverage_by_commune"):
        cleaning.coverage_figure(coverage.drop(columns="register"))
    with pytest.raises(SurveyDataError, match="register"):
        cleaning.coverage_figure(coverage.assign(register=0))
    assert isinstance(coverage, pd.DataFrame) and np.isfinite(coverage["coverage"]).all()


# --------------------------------------------------------------------------- 2025 reform map

def _name_faults(fig, names=None) -> list[str]:
    """Names of the map (``names``, default every text placed in data coordinates) that
    overlap each other, stand across the plot frame, or cover a point, a star or a line (a
    link line, a border; in the layout as drawn)."""
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    points, segments, _ = export._data_shapes(ax, r)
    area = ax.get_window_extent(r)
    if names is None:
        names = [t for t in ax.texts
                 if t.get_text().strip() and t.get_transform() != ax.transAxes]
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in names]
    faults = []
    for name, box in boxes:
        if not (area.x0 - 0.5 <= box.x0 and box.x1 <= area.x1 + 0.5
                and area.y0 - 0.5 <= box.y0 and box.y1 <= area.y1 + 0.5):
            faults.append(f"{name} across the plot frame")
        x, y = points[:, 0], points[:, 1]
        if np.any((x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)):
            faults.append(f"{name} over a point or star")
        if export._segments_inside(segments, box) > 0:
            faults.append(f"{name} over a link line")
    faults += [f"{a} over {b}" for i, (a, p) in enumerate(boxes) for b, q in boxes[i + 1:]
               if p.overlaps(q)]
    return faults


def _marker_boxes(ax) -> list:
    """Each marker's drawn extent (display space), from its path at the size it was given
    (scatter ``s``, points²) with half its edge: a star of ``s=150`` reaches 6 pt from its
    centre, a dot of ``s=8`` 1.4 pt."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D

    scale = ax.figure.dpi / 72.0
    boxes = []
    for coll in ax.collections:
        if not isinstance(coll, PathCollection) or not len(coll.get_offsets()):
            continue
        disp = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), float))
        paths, sizes, edges = coll.get_paths(), coll.get_sizes(), coll.get_linewidths()
        for i, (x, y) in enumerate(disp):
            side = np.sqrt(sizes[i % len(sizes)]) * scale
            box = paths[i % len(paths)].get_extents(Affine2D().scale(side).translate(x, y))
            boxes.append(box.padded(0.5 * edges[i % len(edges)] * scale))
    return boxes


def _clearance_faults(fig, names, gap: float = 1.0) -> list[str]:
    """Names (``names``: texts) closer than ``gap`` points to a marker (by its drawn extent,
    its own star or dot included), to a line (by its width: link lines, 2025 borders, the
    scale bar), to another name or to another text of the plot (scale, north arrow, the
    simulated-data mark), in the layout as drawn."""
    from matplotlib.collections import LineCollection

    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    px = fig.dpi / 72.0
    lines = [(export._polyline(line.get_transform().transform(line.get_xydata())),
              line.get_linewidth()) for line in ax.lines]
    lines += [(export._polyline(c.get_transform().transform(np.asarray(seg, float))), w)
              for c in ax.collections if isinstance(c, LineCollection)
              for seg, w in zip(c.get_segments(), np.resize(c.get_linewidths(),
                                                             len(c.get_segments())),
                                strict=True)]
    markers = _marker_boxes(ax)
    ids = set(map(id, names))
    others = [(t.get_text(), t.get_window_extent(r)) for t in ax.texts
              if id(t) not in ids and t.get_text().strip()]
    others += [("an arrow", t.arrow_patch.get_window_extent(r)) for t in ax.texts
               if getattr(t, "arrow_patch", None) is not None]
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in names]
    faults = []
    for name, box in boxes:
        near = box.padded(gap * px)
        touched = [m for m in markers if near.overlaps(m)]
        if touched:
            faults.append(f"{name} within {gap} pt of {len(touched)} marker(s)")
        if any(export._segments_inside(segs, box.padded((gap + w / 2) * px)) > 0
               for segs, w in lines):
            faults.append(f"{name} within {gap} pt of a line")
        faults += [f"{name} within {gap} pt of {o!r}" for o, q in others if near.overlaps(q)]
    faults += [f"{a} within {gap} pt of {b}" for i, (a, p) in enumerate(boxes)
               for b, q in boxes[i + 1:] if p.padded(gap * px).overlaps(q)]
    return faults


def test_the_clearance_check_catches_a_name_touching_its_star():
    """01_reform_2025_map: Cai Kinh's bold name touched its star.  The names were kept 2 pt
    from their point's centre, as if every point were a small dot; a star of ``s=150``
    reaches 6 pt from it.  The point-centre check (``_name_faults``) passed it."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.scatter([0.5], [0.5], s=150, marker="*", edgecolor="black", lw=0.5)
    ax.set(xlim=(0, 1), ylim=(0, 1))
    name = ax.annotate("Cai Kinh", (0.5, 0.5), xytext=(2, 0), textcoords="offset points",
                       va="center", fontsize=9, fontweight="bold")
    assert _name_faults(fig, [name]) == []
    assert _clearance_faults(fig, [name]) == ["Cai Kinh within 1.0 pt of 1 marker(s)"]
    plt.close(fig)


def test_names_keep_their_distance_from_the_edge_of_a_large_marker():
    """``_place_names`` measures a name's distance from its marker's edge (a star of any
    size, a dot) and keeps every name clear of the other markers, lines and names."""
    from hlstudy.diagnostic import mapping

    fig, ax = plt.subplots(figsize=(3, 3))
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.plot([0.5, 0.62], [0.5, 0.42], lw=0.8)
    ax.scatter([0.62], [0.42], s=36, edgecolor="white")
    ax.scatter([0.5], [0.5], s=400, marker="*", edgecolor="black", lw=0.5)
    texts = [ax.text(0.5, 0.5, "Cai Kinh", fontsize=9, fontweight="bold"),
             ax.text(0.62, 0.42, "Yên Sơn", fontsize=6.5)]
    mapping._place_names(ax, texts, np.array([[0.5, 0.5], [0.62, 0.42]]), [])
    assert _clearance_faults(fig, texts) == []
    r = fig.canvas.get_renderer()
    star = _marker_boxes(ax)[-1]
    box = texts[0].get_window_extent(r)   # at the first place (above), 2 pt off the star's tip
    assert box.y0 - star.y1 == pytest.approx(2 * fig.dpi / 72, abs=0.01)
    plt.close(fig)


@pytest.fixture(scope="module")
def reform_maps():
    """``framework.reform_figure(lang)`` in both languages, as the notebooks get it
    (tests/keptresults.py), built once for the checks."""
    from hlstudy import framework

    with kept_results():
        maps = {lang: framework.reform_figure(lang) for lang in ("vi", "en")}
    yield maps
    for fig in maps.values():
        plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_reform_map_names_are_clear_of_each_other_the_points_and_the_frame(lang, reform_maps):
    """01_reform_2025_map, also at the thesis' text width: drawn 8.6 in wide it was 218 mm as
    saved; narrowed to the page, adjustText left Thanh Sơn on its point and the note stood
    on the axis label.  The figure as saved (tight box) fits 155 x 220 mm, every name is
    clear, and the note stands under the axis label."""
    from hlstudy.communes import communes, new_communes
    from hlstudy.diagnostic import mapping

    fig = reform_maps[lang]
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.texts if t.get_transform() != ax.transAxes]
    reg = communes()
    flags = mapping.moved_flags(reg)   # the moved point marked as on the commune map
    expected = [*new_communes()["name"],
                *[("TT " if u == "thị trấn" else "") + n + flags.get(str(c), "")
                  for n, u, c in zip(reg["name"], reg["unit_type"], reg["code"], strict=True)]]
    # a dot drawn apart from a star is marked too (test_no_marker_covers_another_...)
    assert sorted(n.rstrip(mapping.MOVED_MARK) for n in names) == sorted(
        n.rstrip(mapping.MOVED_MARK) for n in expected) and len(names) == 31
    assert set(names) - set(expected) <= {n + mapping.MOVED_MARK for n in expected}
    assert _name_faults(fig) == []
    # each name 1 pt or more from every star and dot (its own too), line and other name
    assert _clearance_faults(fig, [t for t in ax.texts if t.get_transform() != ax.transAxes]) == []
    # no leader across a link line or another leader, nor through another name (Thanh Sơn's
    # crossed Vân Nham's pink link line)
    assert _map_leader_faults(fig) == []
    r = fig.canvas.get_renderer()
    size = export.saved_size_mm(fig)   # as saved
    assert export.fits_page(*size), size
    note = next(t for t in ax.texts if t.get_transform() == ax.transAxes)
    assert note.get_window_extent(r).y1 < ax.xaxis.label.get_window_extent(r).y0
    # every kind of mark is explained: the dots, the stars and the coloured link lines
    assert all(w in note.get_text() for w in (("Chấm:", "sao:", "đường:") if lang == "vi"
                                              else ("Dots:", "stars:", "lines:")))
    # every former unit's point is drawn over the stars: Yên Sơn's, 0.004° from Cai Kinh's
    # centre, was hidden under its star
    stars = [c for c in ax.collections if len(c.get_offsets()) == 1 and c.get_sizes()[0] == 150]
    points = [c for c in ax.collections if c not in stars]
    assert len(stars) == 8 and sum(len(c.get_offsets()) for c in points) == 23
    assert min(c.get_zorder() for c in points) > max(c.get_zorder() for c in stars)


def _marker_contacts(ax, gap: float = 0.0) -> list[tuple[int, int]]:
    """Pairs of markers (:func:`_marker_boxes`) whose drawn extents come within ``gap``
    points of each other (0: overlap), in the layout as built (both maps settle theirs
    before they place their names)."""
    boxes = _marker_boxes(ax)
    pad = gap * ax.figure.dpi / 72.0
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].padded(pad).overlaps(boxes[j])]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_marker_covers_another_on_either_map(lang, reform_maps, pro_maps):
    """01_reform_2025_map: Cai Kinh's star (``s=150``, 6 pt from its centre) covered part of
    Yên Sơn's dot, whose registry point lies 0.004° (0.5 km) from the star's centre.  On the
    reform map and on the commune map no two markers' drawn extents come within
    ``mapping.MARKER_CLEARANCE`` of each other.  The dot is drawn apart from the star by the
    least distance that clears it (its extent within 1.5 pt of the star's), its link line
    ends at the drawn dot, its name carries the moved mark and the note says how far from
    which star its point lies and how far, which way, it is drawn."""
    from hlstudy.diagnostic import mapping

    reform = reform_maps[lang]
    for fig in (reform, pro_maps[lang][0]):   # the clearance, to rounding
        assert _marker_contacts(fig.axes[0], mapping.MARKER_CLEARANCE - 1e-6) == []
    ax = reform.axes[0]
    name = next(t for t in ax.texts if t.get_text().startswith("Yên Sơn"))
    assert name.get_text() == "Yên Sơn" + mapping.MOVED_MARK
    note = next(t for t in ax.texts if t.get_transform() == ax.transAxes).get_text()
    said = ("* Yên Sơn: điểm cách sao Cai Kinh", "về phía bắc") if lang == "vi" else (
        "* Yên Sơn: point", "from Cai Kinh's star")
    assert all(part in note for part in said), note
    # drawn just clear of the star, its link line from the drawn dot
    from hlstudy.communes import communes, new_communes

    unit = communes().set_index("name").loc["Yên Sơn", ["lon", "lat"]].to_numpy(float)
    centre = new_communes().set_index("name").loc["Cai Kinh", ["lon", "lat"]].to_numpy(float)
    markers = [(c, i, xy) for c in ax.collections if len(c.get_offsets())
               for i, xy in enumerate(np.asarray(c.get_offsets(), float))]
    boxes = _marker_boxes(ax)
    star = next(k for k, (c, _, xy) in enumerate(markers)
                if c.get_sizes()[0] == 150 and np.allclose(xy, centre))
    dot = min((k for k, (c, _, _) in enumerate(markers) if c.get_sizes()[0] != 150),
              key=lambda k: np.hypot(*(markers[k][2] - unit)))
    px = reform.dpi / 72.0
    a, b = boxes[dot], boxes[star]
    gap = max(a.y0 - b.y1, b.y0 - a.y1, a.x0 - b.x1, b.x0 - a.x1) / px
    assert mapping.MARKER_CLEARANCE - 1e-6 <= gap <= mapping.MARKER_CLEARANCE + 0.5
    assert any(np.allclose(line.get_xydata()[0], markers[dot][2]) for line in ax.lines)


def _haloed(text) -> bool:
    """The text is drawn over a white stroke (as the maps' names): lines behind it break."""
    import matplotlib.colors as mcolors
    from matplotlib import patheffects

    return any(isinstance(e, patheffects.withStroke)
               and mcolors.to_hex(e._gc.get("foreground", "k")) == "#ffffff"
               for e in text.get_path_effects())


def test_the_name_check_catches_names_at_one_offset():
    """The former drawing: every name at one fixed offset from its point (Tuấn Sơn over
    Minh Hòa, Tân Thành and Hòa Sơn across the right edge)."""
    from hlstudy.communes import communes

    reg = communes()
    fig, ax = plt.subplots(figsize=(8.6, 7.6))
    ax.scatter(reg["lon"], reg["lat"], s=36)
    for n, x, y in zip(reg["name"], reg["lon"], reg["lat"], strict=True):
        ax.annotate(n, (x, y), xytext=(4, -9), textcoords="offset points", fontsize=6.5)
    ax.annotate("Tuấn Sơn", (106.35, 21.453), xytext=(6, 6), textcoords="offset points",
                fontsize=9, fontweight="bold")
    ax.set_aspect(1 / np.cos(np.deg2rad(reg["lat"].mean())))
    faults = _name_faults(fig)
    assert any("across the plot frame" in f for f in faults)
    assert any(" over " in f and "point" not in f and "line" not in f for f in faults)
    plt.close(fig)


# --------------------------------------------------------------------------- labelled scatters

def _label_faults(fig, labels) -> list[str]:
    """Labels over a marker (its whole disc), a line (the fitted line, the dividing lines),
    the legend or another label, or across the plot frame, in the layout as drawn."""
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    points, segments, _ = export._data_shapes(ax, r)
    area = ax.get_window_extent(r)
    legends = [leg.get_window_extent(r) for leg in (ax.get_legend(), *fig.legends) if leg]
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in labels]
    faults = []
    for name, box in boxes:
        x, y, rad = points[:, 0], points[:, 1], points[:, 2]
        if np.any((x + rad >= box.x0) & (x - rad <= box.x1)
                  & (y + rad >= box.y0) & (y - rad <= box.y1)):
            faults.append(f"{name} over a marker")
        if export._segments_inside(segments, box) > 0:
            faults.append(f"{name} over a line")
        if any(box.overlaps(leg) for leg in legends):
            faults.append(f"{name} over the legend")
        if not (area.x0 - 0.5 <= box.x0 and box.x1 <= area.x1 + 0.5
                and area.y0 - 0.5 <= box.y0 and box.y1 <= area.y1 + 0.5):
            faults.append(f"{name} across the plot frame")
    faults += [f"{a} over {b}" for i, (a, p) in enumerate(boxes) for b, q in boxes[i + 1:]
               if p.overlaps(q)]
    return faults


def _leader_faults(fig, labels, margin: float = 1.0) -> list[str]:
    """Leader lines (the straight lines drawn from a label in ``labels`` to its point; label k
    names the k-th point of the plot's scatter) that pass within ``margin`` points of another
    commune's marker (its disc: distance from the line to the marker's centre, in display
    units, at most its radius plus the margin), cross another label's box, or cross the
    legend or the simulated-data mark; and labels away from their point with no line; in the
    layout as drawn (by :func:`_label_faults`, called first)."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import FancyArrowPatch

    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    [dots] = [c for c in ax.collections if isinstance(c, PathCollection)]
    centres = dots.get_offset_transform().transform(dots.get_offsets())
    radius = 0.5 * np.sqrt(dots.get_sizes()[0]) * fig.dpi / 72
    room = margin * fig.dpi / 72
    assert len(centres) == len(labels)
    boxes = [t.get_window_extent(r) for t in labels]
    others = [leg.get_window_extent(r) for leg in (ax.get_legend(), *fig.legends) if leg]
    others += [t.get_window_extent(r) for t in (*ax.texts, *fig.texts)
               if export.is_simulated_mark(t)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    faults = []
    for k, box in enumerate(boxes):   # a label without a line stands by its point
        x, y = centres[k]
        gap = np.hypot(max(box.x0 - x, x - box.x1, 0), max(box.y0 - y, y - box.y1, 0)) - radius
        if gap > 5 * room and not any(a.patchA is labels[k] for a in arrows):
            faults.append(f"{labels[k].get_text()} away from its point without a line")
    for arrow in arrows:
        k = next(k for k, t in enumerate(labels) if arrow.patchA is t)
        name = labels[k].get_text()
        # the straight line from the label's centre to the point it names (the part drawn
        # is this line outside the label's box, which keeps off every other marker and label)
        xy = arrow.get_transform().transform(np.asarray(arrow._posA_posB, dtype=float))
        segs = xy[None]
        assert np.hypot(*(xy[-1] - centres[k])) < radius, f"{name}'s line ends off its point"
        a, d = segs[:, 0][:, None, :], (segs[:, 1] - segs[:, 0])[:, None, :]
        t = np.clip(np.sum((centres[None] - a) * d, axis=2)
                    / np.maximum(np.sum(d * d, axis=2), 1e-12), 0, 1)
        dist = np.hypot(*np.moveaxis(a + t[..., None] * d - centres[None], 2, 0)).min(axis=0)
        faults += [f"{name}'s line by {labels[j].get_text()}'s point ({dist[j] - radius:.1f} px)"
                   for j in range(len(centres)) if j != k and dist[j] <= radius + room]
        faults += [f"{name}'s line across {labels[j].get_text()}" for j, box in enumerate(boxes)
                   if j != k and export._segments_inside(segs, box) > 0]
        faults += [f"{name}'s line across the legend or the mark" for box in others
                   if export._segments_inside(segs, box) > 0]
    return faults


@pytest.fixture(scope="module")
def study():
    from hlstudy import load_study

    return load_study()


def test_commune_scatter_labels_keep_off_the_points_the_line_and_the_legend(study):
    """05_commune_scatter: the names were placed before the layout settled and ignored the
    fitted line (Thanh Sơn, Minh Tiến and Hữu Lũng lay on it).  Their leader lines, as
    adjustText left them, ran past other communes' points and across other names (Yên
    Vượng's through Đồng Tân's point, Đồng Tân's across Yên Vượng's name): every line keeps
    clear of every other marker, name, the legend and the simulated-data mark."""
    from hlstudy import drivers, pathplot

    link = drivers.commune_link(study)
    with kept_results():
        fig = pathplot.commune_scatter(link, "QUAL", "SIPAS", xlabel="x", ylabel="y",
                                       title="T", fit_label="fit")
    labels = [t for t in fig.axes[0].texts if getattr(t, "_hlstudy_path_label", False)]
    assert len(labels) == link[["QUAL", "SIPAS"]].notna().all(axis=1).sum() == 23
    export._mark_simulated(fig)   # as saved: the mark takes its place after the names
    assert _label_faults(fig, labels) == []
    assert _leader_faults(fig, labels) == []
    assert all(_haloed(t) for t in labels), "the grid lines ran through the names"
    r = fig.canvas.get_renderer()
    [mark] = [t.get_window_extent(r) for t in fig.axes[0].texts
              if export.is_simulated_mark(t)]
    assert [t.get_text() for t in labels if t.get_window_extent(r).overlaps(mark)] == []
    plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_labels_keep_off_the_points_and_the_dividing_lines(ipma_qual, ipma_figures, lang):
    """06_ipma: the names were placed before the axis labels and title took their room, and
    ignored the dividing lines (REC, SUP and ENV lay across the dashed line, MOT, TRAIN, REC,
    FAC and COMP touched their own points; in English ENV still lay across it).  The figures
    of the module (fixture ``ipma_figures``, titled as the notebook's), not more of its own."""
    res, fig = ipma_qual, ipma_figures[lang]
    column = "label_en" if lang == "en" else "label_vi"
    names = [f"{n} ({c})" for n, c in zip(res.table[column], res.table["construct"],
                                          strict=True)]
    # a long name is wrapped at word boundaries, never shortened
    labels = [t for t in fig.axes[0].texts if " ".join(t.get_text().split()) in names]
    assert len(labels) == len(names) == len(res.table) > 5
    assert _label_faults(fig, labels) == []
    assert all(_haloed(t) for t in labels), "the grid lines ran through the names"


def _ipma_sides(fig, res, lang):
    """Each label of an IPMA figure with its point, in display space, and the dividing
    lines: ``(name, label box, point)`` per construct, the dividers' x and y, and the drawn
    dividers as segments (k × 2 × 2)."""
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    column = "label_en" if lang == "en" else "label_vi"
    boxes = {" ".join(t.get_text().split()): t.get_window_extent(r) for t in ax.texts}
    rows = []
    for n, c, x, y in zip(res.table[column], res.table["construct"], res.table["importance"],
                          res.table["performance"], strict=True):
        rows.append((c, boxes[f"{n} ({c})"], ax.transData.transform((x, y))))
    divx, divy = ax.transData.transform((res.mean_importance, res.mean_performance))
    dividers = np.concatenate([export._polyline(line.get_transform().transform(
        line.get_xydata())) for line in ax.lines])
    return rows, (divx, divy), dividers


def _ipma_leaders(ax):
    """The leader lines of an IPMA figure as display-space segments (point end first):
    adjustText's and the placement's arrows (patches) and annotations' arrows."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.text import Annotation

    out = []
    for p in ax.patches:
        if isinstance(p, FancyArrowPatch) and p._posA_posB is not None:
            out.append(ax.transData.transform(np.asarray(p._posA_posB, float)))
    for t in ax.texts:
        if isinstance(t, Annotation) and t.arrow_patch is not None:
            out.append(ax.transData.transform(np.asarray([t.xy, t.xyann], float)))
    return out


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_labels_stay_on_their_points_side_clear_of_the_dividers(ipma_qual, ipma_figures,
                                                                     lang):
    """06_ipma: REC's label stood right of the vertical divider, its leader running across
    it from the point on its left, ENV's too, and SUP's label began on the divider (in
    English ENV's label lay across it).  Now no label comes within two points of a divider
    (both languages), every label stands in its point's quadrant and no leader crosses a
    divider.  The demonstration's points all have room on their own side (each quadrant
    has free space beside its points), so here the placement must use it."""
    res, fig = ipma_qual, ipma_figures[lang]
    rows, (divx, divy), dividers = _ipma_sides(fig, res, lang)
    assert len(dividers) == 2   # the two dashed lines, each one segment
    # within two points (0.7 mm) a label reads as starting on the line (SUP's began 1.9
    # points from it)
    pad = 2 * fig.dpi / 72.0
    touching = [c for c, box, _ in rows if export._segments_inside(dividers, box.padded(pad)) > 0]
    assert touching == []
    for c, box, (px, py) in rows:
        sides = {box.x0 > divx, box.x1 > divx}, {box.y0 > divy, box.y1 > divy}
        assert sides == ({bool(px >= divx)}, {bool(py >= divy)}), (c, "not on its side")
    crossing = [(a, b) for a, b in _ipma_leaders(fig.axes[0])
                if (a[0] - divx) * (b[0] - divx) < 0 or (a[1] - divy) * (b[1] - divy) < 0]
    assert crossing == []


def test_ipma_labels_cross_a_divider_only_where_their_side_has_no_room():
    """A crowded side: three drivers of equal importance just right of the vertical divider,
    with the frame close on their right, leave no place on their side for a name that is
    one long word (never broken); their names stand left of the divider (the only place they can be read),
    each led to its point by a line, still clear of the dividers, the points and each
    other, while the lone driver on the left keeps its name on its own side."""
    from hlstudy.evidence import ipma_figure
    from hlstudy.evidence.ipma import IPMAResult

    xs = np.array([8.0, 10.0, 10.0, 10.0])
    ys = np.array([4.0, 0.0, 6.0, 10.0])
    mi, mp = xs.mean(), ys.mean()
    codes = [f"X{k}" for k in range(len(xs))]
    table = pd.DataFrame({
        "target": "QUAL", "construct": codes,
        "label_vi": [f"Yếu-tố-số-{k}-có-tên-rất-rất-dài" for k in range(len(xs))],
        "label_en": [f"Driver-{k}-with-a-very-long-name" for k in range(len(xs))],
        "importance": xs, "performance": ys, "reversed": False,
        "importance_rank": np.arange(1, len(xs) + 1),
        "quadrant": np.where(xs >= mi, np.where(ys < mp, "improve", "keep"),
                             np.where(ys < mp, "low", "overkill"))})
    res = IPMAResult(target="QUAL", table=table, mean_importance=mi, mean_performance=mp,
                     n=100)
    with kept_results():
        fig = ipma_figure(res, lang="vi")
    rows, (divx, divy), dividers = _ipma_sides(fig, res, "vi")
    pad = 2 * fig.dpi / 72.0
    assert [c for c, box, _ in rows if export._segments_inside(dividers, box.padded(pad)) > 0] \
        == []
    labels = [t for t in fig.axes[0].texts if t.get_text().startswith("Yếu tố")]
    assert _label_faults(fig, labels) == []
    off_side = {c for c, box, (px, _) in rows if (box.x0 > divx) != (px >= divx)}
    assert off_side == set(codes[1:])   # no room right of the divider; X0 keeps its side
    led = {tuple(np.round(a, 3)) for a, _ in _ipma_leaders(fig.axes[0])}
    assert all(tuple(np.round(p, 3)) in led for c, _, p in rows if c in off_side)
    plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_legend_names_the_dividing_lines(ipma_qual, ipma_figures, lang):
    """06_ipma: the two dashed lines (mean importance, mean performance) had no legend entry.
    One entry names both (they are the same kind of line), in the figure's language, drawn
    as they are; the legend hides no point, leader or dividing line (``_legend_faults``),
    no label (``_label_faults`` above) and no quadrant name."""
    from hlstudy.evidence.ipma import DIVIDER_LABEL, QUADRANTS_EN, QUADRANTS_VI

    fig = ipma_figures[lang]
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [DIVIDER_LABEL[lang]]
    [handle] = legend.legend_handles
    for line in ax.lines:   # every line drawn has the entry's colour and dashes
        assert (line.get_color(), line.get_linestyle()) == (handle.get_color(),
                                                            handle.get_linestyle())
    assert len(ax.lines) == 2
    assert _legend_faults(fig) == []
    r = fig.canvas.get_renderer()
    box = legend.get_window_extent(r)
    quadrants = set((QUADRANTS_EN if lang == "en" else QUADRANTS_VI).values())
    names = [t for t in ax.texts if t.get_text() in quadrants]
    assert len(names) == 4
    assert not any(box.overlaps(t.get_window_extent(r)) for t in names)
    assert _ipma_leaders(ax) and export._data_overlap(box, export._data_shapes(ax, r)) == 0


# --------------------------------------------------------------------------- class map

def test_class_map_legend_stands_below_the_map_and_the_map_fits_the_page():
    """04_map_pro: the Voronoi cells fill the plot area, so a legend on it (it stood in the
    upper left) hides cells; below the map it hides none.  Beside the map (where it stood
    next) it made the figure 199 mm wide, wider than the thesis' 155 mm text block: the
    figure as saved (tight box) now fits it, with the note below the legend."""
    from hlstudy.communes import communes
    from hlstudy.diagnostic import mapping

    reg = communes()
    classes = pd.Series("không khác", index=reg["code"].astype(str), dtype=object)
    classes.iloc[[3, 8]] = ["cao hơn", "thấp hơn"]
    with kept_results():
        fig = mapping.plot_map(reg, categories=classes, label="PRO", note="the note",
                               category_colors={"cao hơn": "#1b9e77", "không khác": "#d9d9d9",
                                                "thấp hơn": "#d95f02"})
    assert _legend_faults(fig) == []
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent(r)
    assert box.y1 < ax.get_window_extent(r).y0   # under the map
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cao hơn", "không khác",
                                                                   "thấp hơn"]
    note = next(t for t in ax.texts if t.get_text() == "the note")
    assert note.get_window_extent(r).y1 <= box.y0   # below the legend, not over it
    size = export.saved_size_mm(fig)   # as saved
    assert export.fits_page(*size), size
    plt.close(fig)


@pytest.fixture(scope="module")
def ipma_qual(study):
    """The IPMA of the demonstration's QUAL, as notebook 06 computes it."""
    from hlstudy import drivers
    from hlstudy.evidence.ipma import ipma

    return ipma(drivers.driver_data(study), "QUAL")


@pytest.fixture(scope="module")
def ipma_figures(ipma_qual):
    """06_ipma as the notebook draws it, in both languages (built once; the checks of this
    module, the labels' above included, only read them)."""
    from hlstudy.evidence import ipma_figure

    with matplotlib.rc_context():   # a module fixture is built before the tests' house style
        export.use_style()
        with kept_results():
            figures = {lang: ipma_figure(ipma_qual, lang=lang,
                                         title="Importance–performance (QUAL)")
                       for lang in ("vi", "en")}
    yield figures
    for fig in figures.values():
        plt.close(fig)


def test_ipma_figures_are_drawn_in_the_house_style(ipma_figures):
    """The module's IPMA figures are checked as the notebook draws them: in the house style
    (a module fixture is set up before the autouse ``_house_style`` of the test that first
    asks for it; built outside it, their frame was matplotlib's black, not the style's)."""
    from matplotlib.colors import to_rgba

    for lang, fig in ipma_figures.items():
        ax = fig.axes[0]
        assert ax.spines["left"].get_edgecolor() == to_rgba(plt.rcParams["axes.edgecolor"]), lang
        assert plt.rcParams["axes.grid"] and ax.xaxis.get_gridlines()[0].get_visible(), lang


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_quadrant_names_stand_clear_of_the_frame(ipma_figures, lang):
    """The quadrant names stood on the frame (the italic "ưu tiên thấp" stuck out past its
    left edge): each is now inside the plot area, a few pixels from both edges of its corner."""
    from hlstudy.evidence.ipma import QUADRANTS_EN, QUADRANTS_VI

    fig = ipma_figures[lang]
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    area = ax.get_window_extent(r)
    quadrants = set((QUADRANTS_EN if lang == "en" else QUADRANTS_VI).values())
    names = [t for t in ax.texts if t.get_text() in quadrants]
    assert len(names) == 4
    for t in names:
        box = t.get_window_extent(r)
        gaps = (box.x0 - area.x0, area.x1 - box.x1, box.y0 - area.y0, area.y1 - box.y1)
        assert min(gaps) >= 2.0, (t.get_text(), gaps)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_fits_the_page(ipma_figures, lang):
    """06_ipma was 17 cm wide: shrunk on the page (tests/pagefit.py)."""
    fig = ipma_figures[lang]
    fig.draw_without_rendering()
    assert page_faults(fig) == []


def test_ipma_plot_area_is_as_wide_in_english_as_in_vietnamese(ipma_figures):
    """The English figure's long construct names, at their points before they were placed,
    stuck out of the plot area, and the layout narrowed it for them (an empty band on the
    right once the names were moved inside).  The plot area now ends where the Vietnamese
    one does, and nothing but the last tick label's half stands right of it."""
    right = {}
    for lang, fig in ipma_figures.items():
        fig.draw_without_rendering()
        r = fig.canvas.get_renderer()
        area = fig.axes[0].get_window_extent(r)
        right[lang] = fig.bbox.x1 - area.x1
        labels = [t.get_window_extent(r) for t in fig.axes[0].get_xticklabels()
                  if t.get_visible() and t.get_text()]
        half_label = max(b.width for b in labels) / 2 + 0.02 * fig.bbox.width
        assert right[lang] <= half_label, (lang, right[lang], half_label)
    assert right["en"] == pytest.approx(right["vi"], abs=2.0)


# --------------------------------------------------------------------------- class map names

def _class_map(values: bool = False, lang: str = "vi"):
    """04_map_pro as the notebook draws it: the short names ("TT Hữu Lũng"), the moved
    point flagged "*", three classes (or a colour scale), the note under the map; its title
    and note in ``lang`` (the English title takes two lines: a smaller map)."""
    from hlstudy.communes import communes
    from hlstudy.diagnostic import mapping

    reg = communes()
    reg = reg.assign(name=[("TT " if u == "thị trấn" else "") + n
                           for n, u in zip(reg["name"], reg["unit_type"], strict=True)])
    moved = mapping.separate_duplicates(reg)
    flagged = {c: "*" for c in moved.loc[moved["moved"], "code"]}
    kw = {"flagged": flagged, "title": "Năng lực chuyên môn (PRO) theo xã so với trung bình huyện",
          "note": "Ô Voronoi quanh tọa độ trung tâm xã (không phải địa giới); viền đậm: 8 xã "
                  "mới từ 1/7/2025; * tọa độ trùng với thị trấn (lỗi nguồn), được dịch để vẽ."}
    if lang == "en":
        kw |= {"title": "Professional competence (PRO) by commune against the district mean",
               "note": "Voronoi cells around commune centres (not boundaries); thick lines: the "
                       "8 communes of 1 July 2025; * registry coordinates equal to the town's "
                       "(a source error), moved to draw."}
    if values:
        rng = np.random.default_rng(4)
        with kept_results():
            fig = mapping.plot_map(reg, dict(zip(reg["code"], rng.normal(3.8, 0.2, len(reg)),
                                                 strict=True)), label="PRO", **kw)
        return fig, reg, flagged
    classes = pd.Series("không khác trung bình huyện", index=reg["code"].astype(str),
                        dtype=object)
    classes.iloc[[3, 8]] = ["cao hơn trung bình huyện", "thấp hơn trung bình huyện"]
    colours = {"cao hơn trung bình huyện": "#1b9e77", "không khác trung bình huyện": "#d9d9d9",
               "thấp hơn trung bình huyện": "#d95f02"}
    with kept_results():
        fig = mapping.plot_map(reg, categories=classes, category_colors=colours,
                               label="PRO so với trung bình huyện", **kw)
    return fig, reg, flagged


@pytest.mark.parametrize(("values", "lang"), [(False, "vi"), (True, "vi"), (False, "en")])
def test_commune_map_names_keep_off_the_2025_borders_the_points_and_each_other(values, lang):
    """04_map_pro: "TT Hữu Lũng", "Đồng Tiến" and "Tân Thành*" lay on thick 2025 borders
    (adjustText, placing them before the layout settled, with the points as the only
    obstacles).  Every name is now clear of the borders, the points, the other names and
    the frame, 1 pt or more from each (names of the colour-scale map touched their dots:
    they were placed before its equal-aspect box was applied), and each stays next to its
    point or is led to it by a line."""
    from matplotlib.patches import FancyArrowPatch

    from hlstudy.diagnostic import mapping

    fig, reg, flagged = _class_map(values, lang)
    ax = fig.axes[0]
    expected = {n + flagged.get(str(c), "") for n, c in zip(reg["name"], reg["code"],
                                                            strict=True)}
    names = [t for t in ax.texts if t.get_text() in expected]
    assert len(names) == len(expected) == 23
    assert _name_faults(fig, names) == []
    assert _clearance_faults(fig, names) == []
    assert _furniture_faults(fig) == []   # scale bar and north arrow clear of lines, names
    r = fig.canvas.get_renderer()
    leaders = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    drawn = mapping.separate_duplicates(reg)   # the points as drawn (Tân Thành's moved)
    lonlat = dict(zip(drawn["name"], zip(drawn["lon"], drawn["lat"], strict=True), strict=True))
    for t in names:
        box = t.get_window_extent(r)
        name = t.get_text().rstrip("*")
        px, py = ax.transData.transform(lonlat[name])
        near = box.padded(12 * fig.dpi / 72).contains(px, py)
        led = any(np.allclose(p._posA_posB[0], lonlat[name]) for p in leaders)
        assert near or led, t.get_text()
    plt.close(fig)


def test_geometry_docstring_examples_run():
    """The placers' shared plane geometry (hlstudy._geometry): crossing, touching, distance
    to a segment, a segment through a box."""
    import doctest

    from hlstudy import _geometry

    result = doctest.testmod(_geometry)
    assert result.attempted >= 5 and result.failed == 0


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_title_stands_above_its_axis_labels_in_size(ipma_figures, lang):
    """The style's default axis labels stood larger than the 9-pt title: the title is the
    largest text, the axis labels as on the commune scatter (8.5 pt)."""
    ax = ipma_figures[lang].axes[0]
    title = ax.title.get_fontsize()
    labels = [ax.xaxis.label.get_fontsize(), ax.yaxis.label.get_fontsize()]
    assert title > max(labels) and labels == [8.5, 8.5], (title, labels)


# --------------------------------------------------------------------------- the two maps

def _pro_map(lang: str):
    """04_map_pro as the notebook draws it, with the classes the committed figure shows
    (Thiện Tân, Nhật Tiến above the district mean; Minh Sơn, Minh Hòa below; the rest not
    different), in ``lang``: the configuration in which "Tân Thành*" stood in Nhật Tiến's
    green cell."""
    from hlstudy.communes import communes
    from hlstudy.diagnostic import mapping

    reg = communes()
    reg = reg.assign(name=[("TT " if u == "thị trấn" else "") + n
                           for n, u in zip(reg["name"], reg["unit_type"], strict=True)])
    by_name = dict(zip(reg["name"], reg["code"].astype(str), strict=True))
    above, mid, below = (("cao hơn trung bình huyện", "không khác trung bình huyện",
                          "thấp hơn trung bình huyện") if lang == "vi" else
                         ("above the district mean", "not different from the mean",
                          "below the district mean"))   # the notebook's classes
    classes = pd.Series(mid, index=reg["code"].astype(str), dtype=object)
    classes[[by_name["Thiện Tân"], by_name["Nhật Tiến"]]] = above
    classes[[by_name["Minh Sơn"], by_name["Minh Hòa"]]] = below
    moved = mapping.separate_duplicates(reg)
    flagged = {c: "*" for c in moved.loc[moved["moved"], "code"]}
    title, note = (("Năng lực chuyên môn (PRO) theo xã so với trung bình huyện",
                    "Ô Voronoi quanh tọa độ trung tâm xã (không phải địa giới); viền đậm: 8 xã "
                    "mới từ 1/7/2025; lớp theo khoảng tin cậy 95% của ước lượng co (Bayes thực "
                    "nghiệm). * Tân Thành: tọa độ trong danh mục trùng với TT Hữu Lũng (lỗi "
                    "nguồn), được dịch 1,3 km về phía bắc để vẽ.") if lang == "vi" else
                   ("Professional competence (PRO) by commune against the district mean",
                    "Voronoi cells around commune centres (not boundaries); thick lines: the 8 "
                    "communes of 1 July 2025; classes from the 95% intervals of the shrunken "
                    "(empirical Bayes) estimates. * Tân Thành: registry coordinates equal to TT "
                    "Hữu Lũng's (a source error), moved 1.3 km north to draw."))
    with kept_results():
        fig = mapping.plot_map(reg, categories=classes, flagged=flagged, title=title,
                               note=note, label=("PRO so với trung bình huyện" if lang == "vi"
                                                 else "PRO vs district mean"),
                               category_colors={above: "#1b9e77", mid: "#d9d9d9",
                                                below: "#d95f02"})
    return fig, reg, classes, flagged


@pytest.fixture(scope="module")
def pro_maps():
    """:func:`_pro_map` in both languages, in the house style, built once for the checks."""
    with matplotlib.rc_context():
        export.use_style()
        maps = {lang: _pro_map(lang) for lang in ("vi", "en")}
        for fig, *_ in maps.values():   # the layout as saved, drawn once for the checks
            fig.draw_without_rendering()
    yield maps
    for fig, *_ in maps.values():
        plt.close(fig)


def _map_leader_faults(fig) -> list[str]:
    """Leader lines that cross a line of the plot (a link line) or another leader, or pass
    through a name other than their own (the one they end at), in the layout as drawn."""
    from hlstudy._geometry import crossings, segment_in_box

    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    lines = [export._polyline(line.get_transform().transform(line.get_xydata()))
             for line in ax.lines]
    lines = np.concatenate(lines) if lines else np.empty((0, 2, 2))
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in ax.texts
             if t.get_text().strip() and t.get_transform() != ax.transAxes]
    leaders = [(b, e) for _, b, e in _leader_segments(ax)]
    faults = []
    for k, (b, e) in enumerate(leaders):
        own = [n for n, box in boxes if box.padded(2).contains(*e)]
        faults += [f"a leader to {own} crosses a line" for _ in range(crossings(b, e, lines))]
        others = np.array([s for j, s in enumerate(leaders) if j != k]).reshape(-1, 2, 2)
        faults += [f"a leader to {own} crosses another" for _ in range(crossings(b, e, others))]
        faults += [f"a leader to {own} through {n}" for n, box in boxes
                   if n not in own and segment_in_box(b, e, box)]
    return faults


def _leader_segments(ax) -> list:
    """Each leader line (display space): its name's point to where it meets the name."""
    from matplotlib.patches import FancyArrowPatch

    segs = []
    for p in ax.patches:
        if isinstance(p, FancyArrowPatch):
            xy = p.get_transform().transform_path(p.get_path()).vertices
            segs.append((p._posA_posB[0], xy[0], xy[-1]))
    return segs


def test_the_moved_unit_stands_at_one_place_on_both_maps():
    """The registry gives TT Hữu Lũng and xã Tân Thành one point.  The commune map moved Tân
    Thành by ``separate_duplicates`` (north), the reform map by its own code (south): the
    same unit stood in two places.  Both maps now draw the 23 units' points at the same
    coordinates, the moved one where ``separate_duplicates`` puts it, and mark it the same
    way ("Tân Thành*", the note explaining "*")."""
    from hlstudy import framework
    from hlstudy.communes import communes
    from hlstudy.diagnostic import mapping

    reg = communes()
    moved = mapping.separate_duplicates(reg)
    with kept_results():
        reform = framework.reform_figure("vi")
        commune = mapping.plot_map(reg, categories=pd.Series("a", index=reg["code"]),
                                   flagged={c: "*" for c in moved.loc[moved["moved"], "code"]},
                                   note="n")

    def drawn(fig) -> set:
        from matplotlib.collections import PathCollection

        return {tuple(np.round(xy, 9)) for c in fig.axes[0].collections
                if isinstance(c, PathCollection) and c.get_sizes()[0] < 100   # not the stars
                for xy in np.asarray(c.get_offsets(), float)}

    expected = {tuple(np.round(xy, 9)) for xy in moved[["lon", "lat"]].to_numpy(float)}
    assert len(expected) == 23
    assert drawn(commune) == expected
    # on the reform map, all but Yên Sơn's dot, drawn apart from Cai Kinh's star (and said
    # so: test_no_marker_covers_another_on_either_map), 0.7 km from its point
    [apart] = drawn(reform) - expected
    [point] = expected - drawn(reform)
    yen_son = reg.set_index("name").loc["Yên Sơn", ["lon", "lat"]].to_numpy(float)
    assert np.allclose(point, yen_son) and np.hypot(*(np.subtract(apart, point))) < 0.01
    [code] = moved.loc[moved["moved"], "code"]
    assert mapping.moved_flags(reg) == {code: mapping.MOVED_MARK}
    name = moved.set_index("code").at[code, "name"] + mapping.MOVED_MARK
    for fig in (reform, commune):
        assert name in [t.get_text() for t in fig.axes[0].texts]
    note = next(t.get_text() for t in reform.axes[0].texts
                if t.get_transform() == reform.axes[0].transAxes)
    assert mapping.moved_note(reg, "vi") in note
    assert mapping.moved_note(reg, "vi").startswith(mapping.MOVED_MARK + " " + name[:-1])
    plt.close(reform)
    plt.close(commune)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_name_stands_in_no_cell_of_another_class(pro_maps, lang):
    """04_map_pro: "Tân Thành*", whose triangle cannot hold it, stood in Nhật Tiến's green
    cell with its leader across a 2025 border, read as a green cell's name.  No name covers
    a cell of another class than its point's (a grey place exists for it), and its leader
    crosses one cell edge only, its triangle's.  No leader passes through another name."""
    from matplotlib.path import Path

    from hlstudy._geometry import crossings, segment_in_box
    from hlstudy.diagnostic import mapping

    fig, reg, classes, flagged = pro_maps[lang]
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    cells = mapping.voronoi_cells(reg)
    paths = {c: Path(ax.transData.transform(p)) for c, p in cells.items()}
    label = {n + flagged.get(str(c), ""): str(c) for n, c in zip(reg["name"], reg["code"],
                                                                  strict=True)}
    names = {t.get_text(): t for t in ax.texts if t.get_text() in label}
    assert len(names) == 23
    faults = [f"{n} over {c}" for n, t in names.items() for c, p in paths.items()
              if classes[c] != classes[label[n]]
              and p.intersects_bbox(t.get_window_extent(r), filled=True)]
    assert faults == []
    edges = ax.transData.transform(mapping._cell_edges(cells.values()).reshape(-1, 2))
    drawn = mapping.separate_duplicates(reg).set_index("code")
    at = {c: tuple(np.round(drawn.loc[c, ["lon", "lat"]].to_numpy(float), 9)) for c in drawn.index}
    leaders = {tuple(np.round(a, 9)): (b, e) for a, b, e in _leader_segments(ax)}
    [code] = flagged
    b, e = leaders[at[code]]   # "Tân Thành*" is led from its point
    assert np.hypot(*(b - ax.transData.transform(at[code]))) < 6 * fig.dpi / 72
    assert crossings(b, e, edges.reshape(-1, 2, 2)) == 1   # its triangle's edge, no other
    for a, (b, e) in leaders.items():   # no leader through another name
        through = [n for n, t in names.items() if at[label[n]] != a
                   and segment_in_box(b, e, t.get_window_extent(r))]
        assert through == [], a


def _line_segments(ax):
    """Every line the plot area draws (display segments with half their width, pixels):
    cell edges, 2025 borders, other lines."""
    from matplotlib.collections import LineCollection, PolyCollection

    px = ax.figure.dpi / 72.0
    out = []
    for c in ax.collections:
        if isinstance(c, PolyCollection):
            w = np.resize(c.get_linewidths(), len(c.get_paths()))
            out += [(export._polyline(c.get_transform().transform(
                np.vstack([p.vertices, p.vertices[:1]]))), 0.5 * wi * px)
                for p, wi in zip(c.get_paths(), w, strict=True)]
        elif isinstance(c, LineCollection):
            w = np.resize(c.get_linewidths(), len(c.get_segments()))
            out += [(export._polyline(c.get_transform().transform(s)), 0.5 * wi * px)
                    for s, wi in zip(c.get_segments(), w, strict=True)]
    return out


def _furniture_faults(fig) -> list[str]:
    """The scale bar, its label and the north arrow closer than 3 pt to a line drawn
    (borders, cell edges; by their widths), and names closer than 1 pt to them, in the
    layout as last drawn."""
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    px = fig.dpi / 72.0
    [bar] = [line for line in ax.lines if line.get_linewidth() == 2.5]
    xy = bar.get_transform().transform(bar.get_xydata())
    [label] = [t for t in ax.texts if t.get_text().endswith(" km")]
    [arrow] = [t for t in ax.texts if t.get_text() == "N"]
    pieces = {"scale bar": Bbox_from(xy, 0.5 * bar.get_linewidth() * px),
              "5 km": label.get_window_extent(r), "north arrow": arrow.get_window_extent(r)}
    lines = _line_segments(ax)
    faults = [f"{name} within 3 pt of a line" for name, box in pieces.items()
              if any(export._segments_inside(s, box.padded(3 * px + w)) > 0 for s, w in lines)]
    names = [t for t in ax.texts if t not in (label, arrow) and t.get_text().strip()
             and t.get_transform() != ax.transAxes]
    assert len(names) == 23
    return faults + [f"{t.get_text()} within 1 pt of the {p}" for t in names
                     for p, box in pieces.items()
                     if t.get_window_extent(r).padded(px).overlaps(box)]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_scale_bar_and_north_arrow_stand_clear_of_the_lines_and_names(pro_maps, lang):
    """04_map_pro: the scale bar's right end touched a thick 2025 border of its own weight
    (it read as part of the border), and a border passed just under the north arrow's "N".
    Both now stand 3 pt or more from every line drawn (borders, cell edges; by their
    widths), and every name 1 pt or more from them, in both languages (the other commune
    maps the library draws: in the names' test above)."""
    assert _furniture_faults(pro_maps[lang][0]) == []


def Bbox_from(xy, half):
    """The box a horizontal bar from ``xy[0]`` to ``xy[1]`` covers, ``half`` its width."""
    from matplotlib.transforms import Bbox

    (x0, y0), (x1, y1) = xy
    return Bbox.from_extents(min(x0, x1), min(y0, y1) - half, max(x0, x1), max(y0, y1) + half)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_text_of_the_two_maps_is_7_pt_or_larger(pro_maps, lang):
    """The maps' names were 6.5 pt (both maps) and the reform map's note 6.8 pt: too small
    printed at 100 %.  Every text of both maps, the legend's and the ticks' too, is 7 pt or
    larger."""
    from hlstudy import framework

    with kept_results():
        reform = framework.reform_figure(lang)
    for fig in (pro_maps[lang][0], reform):
        texts = [t for t in fig.findobj(matplotlib.text.Text)
                 if t.get_visible() and t.get_text().strip()]
        small = sorted({(t.get_text(), t.get_fontsize()) for t in texts
                        if t.get_fontsize() < 7})
        assert len(texts) > 30 and small == [], small
    plt.close(reform)
