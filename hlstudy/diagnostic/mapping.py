"""A simple map of the 23 units from the registry's coordinates (no external tiles).

The registry (``vietnamadminunits``) gives one approximate point per commune, not its
boundary.  :func:`voronoi_cells` divides the district's bounding box into the Voronoi cells of
those points — every location goes to the nearest commune centre — which is a schematic map,
not the legal boundaries, and the figure says so.  Cells are computed on a local equirectangular
projection (longitude × cos(mean latitude)) so that distances are roughly isotropic.

Two registry points coincide (thị trấn Hữu Lũng and xã Tân Thành share coordinates in the
package — a source error: Tân Thành is a separate commune, and no second public source of its
coordinates was found); :func:`separate_duplicates` moves later duplicates by a small fixed
offset so that each unit still gets a cell, the result records which points were moved, and
:func:`plot_map` marks them (``flagged``: :func:`moved_flags`, "Tân Thành*"; the note's
sentence: :func:`moved_note`).  The 2025 reform map (:func:`hlstudy.framework.reform_figure`)
moves and marks them by the same functions: one unit, one place, one mark on both maps.

Example
-------
>>> import pandas as pd
>>> reg = pd.DataFrame({"code": list("abc"), "lat": [21.5, 21.6, 21.5], "lon": [106.3, 106.3, 106.4]})
>>> cells = voronoi_cells(reg)
>>> sorted(cells)
['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.spatial import Voronoi

from hlstudy import _resultcache
from hlstudy.errors import ModelError


def separate_duplicates(communes: pd.DataFrame, offset: float = 0.012) -> pd.DataFrame:
    """Copy of ``communes`` where repeated (lat, lon) points are moved by ``offset`` degrees.

    The k-th repeat (k = 1, 2, …) moves by ``offset`` in direction k × 90°; column
    ``moved`` is True for moved points.  Sorted by code first, so the result is deterministic.
    """
    for c in ("code", "lat", "lon"):
        if c not in communes.columns:
            raise ModelError(f"communes lacks column {c!r}")
    d = communes.sort_values("code", ignore_index=True).copy()
    d["lat"] = pd.to_numeric(d["lat"], errors="coerce").astype(float)
    d["lon"] = pd.to_numeric(d["lon"], errors="coerce").astype(float)
    if d[["lat", "lon"]].isna().any().any():
        raise ModelError("every commune needs coordinates")
    d["moved"] = False
    seen: dict[tuple[float, float], int] = {}
    for i in d.index:
        key = (round(d.at[i, "lat"], 6), round(d.at[i, "lon"], 6))
        k = seen.get(key, 0)
        if k:
            angle = np.deg2rad(90.0 * k)
            d.at[i, "lat"] += offset * np.sin(angle)
            d.at[i, "lon"] += offset * np.cos(angle)
            d.at[i, "moved"] = True
        seen[key] = k + 1
    return d


#: How a map marks a point :func:`separate_duplicates` moved (after its name), on every map
#: of the study (the commune map, the 2025 reform map); :func:`moved_note` explains it.
MOVED_MARK = "*"


def moved_flags(communes: pd.DataFrame) -> dict[str, str]:
    """``{code: MOVED_MARK}`` of the points :func:`separate_duplicates` moves (``flagged=``
    of :func:`plot_map`; the reform map marks them the same way)."""
    d = separate_duplicates(communes)
    return {str(c): MOVED_MARK for c in d.loc[d["moved"], "code"]}


def moved_note(communes: pd.DataFrame, lang: str = "vi") -> str:
    """The sentence a map's note gives for its :data:`MOVED_MARK`: which unit's registry
    coordinates equal which unit's (a source error) and how far, in which direction,
    :func:`separate_duplicates` moved it, computed from the moved points (``""`` when none
    is moved).  Names are the printed ones (``TT`` before the town's, when ``unit_type`` is
    given).

    >>> reg = pd.DataFrame({"code": ["1", "2", "3"], "name": ["A", "B", "C"],
    ...                     "lat": [21.5, 21.5, 21.6], "lon": [106.3, 106.3, 106.4]})
    >>> print(moved_note(reg, "en"))
    * B: registry coordinates equal to A's (a source error), moved 1.3 km north to draw.
    """
    from hlstudy.communes import unit_label
    from hlstudy.export import number

    if lang not in ("vi", "en"):
        raise ModelError(f"lang must be 'vi' or 'en', got {lang!r}")
    d = separate_duplicates(communes)
    if "name" not in d.columns:
        raise ModelError("communes lacks column 'name'")
    orig = communes.sort_values("code", ignore_index=True)   # as separate_duplicates orders
    lat = pd.to_numeric(orig["lat"]).to_numpy(float)
    lon = pd.to_numeric(orig["lon"]).to_numpy(float)
    types = d["unit_type"] if "unit_type" in d.columns else [""] * len(d)
    # the printed name, "TT " once (a name already printed is kept)
    label = [n if n.startswith(unit_label("", t)) else unit_label(n, t)
             for n, t in zip(d["name"].astype(str), types, strict=True)]
    parts = []
    for i in np.flatnonzero(d["moved"].to_numpy(bool)):
        first = int(np.flatnonzero((np.round(lat, 6) == round(lat[i], 6))
                                   & (np.round(lon, 6) == round(lon[i], 6)))[0])
        dy = (d.at[i, "lat"] - lat[i]) * 111.32
        dx = (d.at[i, "lon"] - lon[i]) * 111.32 * np.cos(np.deg2rad(lat[i]))
        way = compass_word(dx, dy, lang)
        km = number(float(np.hypot(dx, dy)), 1, lang=lang)
        parts.append(
            f"{label[i]}: tọa độ trong danh mục trùng với {label[first]} (lỗi nguồn), được "
            f"dịch {km} km về phía {way} để vẽ" if lang == "vi" else
            f"{label[i]}: registry coordinates equal to {label[first]}'s (a source error), "
            f"moved {km} km {way} to draw")
    return f"{MOVED_MARK} " + "; ".join(parts) + "." if parts else ""


def compass_word(dx: float, dy: float, lang: str = "vi") -> str:
    """The main direction of a move ``(dx, dy)`` (east, north): "bắc" / "north", "nam",
    "đông", "tây" (the larger component; north or south on a tie).

    >>> compass_word(0.2, -1.0), compass_word(-3.0, 1.0, "en")
    ('nam', 'west')
    """
    way = (("bắc", "north") if dy > 0 else ("nam", "south")) if abs(dy) >= abs(dx) else (
        ("đông", "east") if dx > 0 else ("tây", "west"))
    return way[0] if lang == "vi" else way[1]


def _project(lat, lon, lat0):
    return np.column_stack([np.asarray(lon) * np.cos(np.deg2rad(lat0)), np.asarray(lat)])


def _clip(poly: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Sutherland–Hodgman clipping of a polygon to the rectangle ``(xmin, ymin, xmax, ymax)``."""
    xmin, ymin, xmax, ymax = box
    edges = [(0, xmin, 1), (0, xmax, -1), (1, ymin, 1), (1, ymax, -1)]
    out = list(map(tuple, poly))
    for axis, val, sign in edges:
        inp, out = out, []
        if not inp:
            break
        for j, cur in enumerate(inp):
            prev = inp[j - 1]
            cin = sign * (cur[axis] - val) >= 0
            pin = sign * (prev[axis] - val) >= 0
            if cin != pin:
                t = (val - prev[axis]) / (cur[axis] - prev[axis])
                out.append(tuple(p + t * (c - p) for p, c in zip(prev, cur, strict=True)))
            if cin:
                out.append(cur)
    return np.array(out)


def _voronoi(communes: pd.DataFrame, pad: float):
    d = separate_duplicates(communes)
    if len(d) < 3:
        raise ModelError("a Voronoi map needs at least 3 communes")
    lat0 = float(d["lat"].mean())
    pts = _project(d["lat"], d["lon"], lat0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = (hi - lo).max()
    box = (lo[0] - pad * span, lo[1] - pad * span, hi[0] + pad * span, hi[1] + pad * span)
    far = 10 * span
    centre = (lo + hi) / 2
    dummies = centre + far * np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    vor = Voronoi(np.vstack([pts, dummies]))
    return d, lat0, pts, box, vor


def voronoi_cells(communes: pd.DataFrame, pad: float = 0.08) -> dict[str, np.ndarray]:
    """Voronoi cell of each commune, clipped to the padded bounding box, in (lon, lat) degrees.

    Returns ``{code: array of shape (m, 2)}`` (polygon vertices, lon first), sorted by code.
    """
    d, lat0, _, box, vor = _voronoi(communes, pad)
    cells = {}
    for i, code in enumerate(d["code"].astype(str)):
        region = vor.regions[vor.point_region[i]]
        if -1 in region or not region:
            raise ModelError(f"unbounded Voronoi cell for {code}")  # cannot happen with dummies
        poly = _clip(vor.vertices[region], box)
        poly[:, 0] = poly[:, 0] / np.cos(np.deg2rad(lat0))
        cells[code] = poly
    return dict(sorted(cells.items()))


def _group_borders(communes: pd.DataFrame, group: str, pad: float) -> list[np.ndarray]:
    """Voronoi edges separating cells of different ``group`` (e.g. the 2025 communes)."""
    d, lat0, _, box, vor = _voronoi(communes, pad)
    labels = d[group].astype(str).to_numpy()
    n = len(d)
    segs = []
    for (a, b), verts in zip(vor.ridge_points, vor.ridge_vertices, strict=True):
        if a >= n or b >= n or -1 in verts or labels[a] == labels[b]:
            continue
        seg = vor.vertices[verts]
        clipped = _clip(np.vstack([seg, seg[::-1]]), box)
        if len(clipped) >= 2:
            c = clipped.copy()
            c[:, 0] = c[:, 0] / np.cos(np.deg2rad(lat0))
            segs.append(c)
    return segs


#: Where a name may stand around its point: directions (right, up), tried in this order at
#: each distance of :data:`_NAME_DISTANCES` (points, from the edge of the point's marker:
#: a bold name beside a star stands as far from the star as a small name from its dot),
#: nearest distance first.
_NAME_DIRECTIONS = ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))
_NAME_DISTANCES = (2.0, 5.0, 9.0, 14.0, 20.0, 27.0, 35.0)
#: A name with no free place there (or, on a map of cells, free places only in cells of
#: another fill class) is tried at every place of a grid of this step (points) around its
#: point, within this reach (points), nearest first (:func:`_place_names`).
_NAME_GRID_STEP = 2.0
_NAME_GRID_REACH = 60.0
#: From this distance (points) on, a thin line leads from the name to its point; its width
#: (points).  Names keep off other names' leaders, and a leader passes through no other name
#: or marker ("Tân Thành*"'s leader ran through "TT Hữu Lũng") and crosses no line of the
#: plot (a link line of the reform map) and no other leader.
_LEADER_FROM = 9.0
_LEADER_WIDTH = 0.5
#: The least gap (points) between a name and every other marker, line, name or text (the
#: 2025 reform map's bold names touched their stars: the stars were taken for dots).
_NAME_CLEARANCE = 1.0
#: The marker assumed at a point no marker of the plot is drawn at (scatter ``s``).
_DEFAULT_MARKER_SIZE = 8.0


def marker_extents(ax) -> tuple[np.ndarray, list]:
    """Centres (n × 2) and window extents (display space) of every marker the plot area
    ``ax`` draws: each point of a scatter (its marker's path at its size, with half its
    edge) and of a line drawn with markers, in the layout as last drawn.  What the names of
    :func:`_place_names` keep clear of (a star of ``s=150`` reaches 6 points from its
    centre, a dot of ``s=8`` 1.4)."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D, Bbox

    to_px = ax.figure.dpi / 72.0
    centres, boxes = [], []
    for coll in ax.collections:
        if not (isinstance(coll, PathCollection) and coll.get_visible()
                and len(coll.get_offsets())):
            continue
        offsets = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), float))
        paths, scales, widths = coll.get_paths(), coll.get_transforms(), coll.get_linewidths()
        for i, (x, y) in enumerate(offsets):
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            scale = Affine2D(scales[i % len(scales)]) if len(scales) else Affine2D()
            e = paths[i % len(paths)].get_extents(scale)
            h = 0.5 * widths[i % len(widths)] * to_px if len(widths) else 0.0
            centres.append((x, y))
            boxes.append(Bbox.from_extents(x + e.x0 - h, y + e.y0 - h, x + e.x1 + h,
                                           y + e.y1 + h))
    for line in ax.lines:
        if line.get_visible() and line.get_marker() not in (None, "None", "none", " ", ""):
            r = 0.5 * (line.get_markersize() + line.get_markeredgewidth()) * to_px
            xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
            for x, y in xy:
                if np.isfinite(x) and np.isfinite(y):
                    centres.append((x, y))
                    boxes.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
    return np.asarray(centres, float).reshape(-1, 2), boxes


#: The least gap (points) between two markers' drawn extents (:func:`markers_apart`).
MARKER_CLEARANCE = 1.0


def markers_apart(centres: np.ndarray, extents: np.ndarray, movable, gap: float) -> np.ndarray:
    """New centres (display units) of markers whose drawn extents overlap: each movable
    marker that comes closer than ``gap`` to another is moved straight away from that
    marker's centre (north where the two coincide) by the least distance that leaves
    ``gap`` between their extents; the others stay.  ``centres``: n × 2; ``extents``: n × 4,
    each marker's box relative to its centre (x0, y0, x1, y1); ``movable``: indices, moved
    in that order.  Passes over every movable marker and every other marker, in order, until
    one moves nothing (at most n passes).  Deterministic.

    >>> boxes = np.array([[-6.0, -6.0, 6.0, 6.0], [-3.0, -3.0, 3.0, 3.0]])
    >>> markers_apart(np.array([[100.0, 100.0], [101.0, 104.0]]), boxes, [1], 1.0).tolist()
    [[100.0, 100.0], [102.5, 110.0]]
    """
    pos = np.array(centres, float).reshape(-1, 2)
    ext = np.array(extents, float).reshape(-1, 4)

    def clear(i, j) -> bool:
        (xi, yi), (xj, yj) = pos[i], pos[j]
        return (xi + ext[i, 0] >= xj + ext[j, 2] + gap or xj + ext[j, 0] >= xi + ext[i, 2] + gap
                or yi + ext[i, 1] >= yj + ext[j, 3] + gap
                or yj + ext[j, 1] >= yi + ext[i, 3] + gap)

    for _ in range(len(pos)):
        moved = False
        for i in movable:
            for j in range(len(pos)):
                if j == i or clear(i, j):
                    continue
                u = pos[i] - pos[j]
                norm = float(np.hypot(*u))
                u = np.array([0.0, 1.0]) if norm == 0 else u / norm
                # the least step along u after which one axis separates the two boxes
                steps = []
                for k in (0, 1):
                    if u[k] > 0:
                        steps.append((pos[j, k] + ext[j, k + 2] + gap - pos[i, k] - ext[i, k])
                                     / u[k])
                    elif u[k] < 0:
                        steps.append((pos[i, k] + ext[i, k + 2] + gap - pos[j, k] - ext[j, k])
                                     / -u[k])
                pos[i] += max(min(steps), 0.0) * u
                moved = True
        if not moved:
            break
    return pos


def _cell_edges(cells) -> np.ndarray:
    """The distinct edges (k × 2 × 2, data coordinates) of the polygons ``cells``: an edge two
    neighbouring Voronoi cells share (the same vertices) counted once."""
    seen, edges = set(), []
    for poly in cells:
        poly = np.asarray(poly, float)
        for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True):
            key = tuple(sorted((tuple(np.round(a, 9)), tuple(np.round(b, 9)))))
            if key[0] != key[1] and key not in seen:
                seen.add(key)
                edges.append((a, b))
    return np.asarray(edges, float).reshape(-1, 2, 2)


def _place_names(ax, texts, points: np.ndarray, borders, cells=None, fills=None) -> None:
    """Place each name of ``texts`` (one per row of ``points``, lon/lat) around its point.

    A name goes to the first place (:data:`_NAME_DISTANCES` from the edge of its point's
    marker × :data:`_NAME_DIRECTIONS`) whose box, in the layout as drawn, lies inside the
    plot area and keeps :data:`_NAME_CLEARANCE` from every other marker (by its drawn extent,
    :func:`marker_extents`: the stars of the reform map, not only dots), every line of
    ``borders`` or of the plot (the scale bar, link lines; by their width), every name already
    placed and every other text (scale, north arrow).  The names in the most crowded places
    are placed first.  Where none of those places is free, every place of a
    :data:`_NAME_GRID_STEP` grid around the point is tried, nearest first; where none is
    free, the one covering least is taken.  A name set apart from its point gets a thin
    leader line, which passes through no other name or marker and crosses no line of the
    plot and no other leader; names keep off the leaders.  Deterministic: fixed candidates in
    a fixed order, no iteration limit, no time limit.

    On a map of cells (``cells``: each point's cell, a polygon in data coordinates; ``fills``:
    the class its cell is filled with, e.g. the category), among the free places a name takes
    one that covers no cell of another fill class, and of those the one whose leader crosses
    the fewest cell edges; then the nearest.  "Tân Thành*", whose own cell (a small triangle)
    cannot hold it, stood in Nhật Tiến's green cell with its leader across a 2025 border: read
    as that cell's name; it now stands in a cell of its own (grey) class, its leader crossing
    only its triangle's edge."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path
    from matplotlib.transforms import Bbox

    from hlstudy._geometry import crossings, segments_in_boxes
    from hlstudy.export import _polyline, _segments_inside

    fig = ax.figure
    fig.draw_without_rendering()   # the layout as drawn (an equal-aspect map's box applied)
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    clear = _NAME_CLEARANCE * to_px
    area = ax.get_window_extent(renderer)
    anchors = ax.transData.transform(points)
    centres, markers = marker_extents(ax)
    # each point's own markers (drawn at it): the name stands at its distance from their edge
    own = []
    for a in anchors:
        at = [k for k in range(len(markers)) if np.hypot(*(centres[k] - a)) <= 0.5]
        if not at:   # no marker drawn at this point: the default dot
            r = 0.5 * (np.sqrt(_DEFAULT_MARKER_SIZE)) * to_px
            markers.append(Bbox.from_extents(a[0] - r, a[1] - r, a[0] + r, a[1] + r))
            at = [len(markers) - 1]
        own.append(at)
    mboxes = np.array([[b.x0, b.y0, b.x1, b.y1] for b in markers], float).reshape(-1, 4)
    # lines with half their width: the borders drawn as the plot's widest line collection
    widths = [c.get_linewidths() for c in ax.collections if isinstance(c, LineCollection)]
    border_w = max((float(np.max(w)) for w in widths if len(w)), default=0.0)
    groups = [(_polyline(ax.transData.transform(np.asarray(seg, float))), border_w)
              for seg in borders]
    groups += [(_polyline(line.get_transform().transform(line.get_xydata())),
                line.get_linewidth()) for line in ax.lines
               if line.get_linestyle() not in ("None", "none", " ", "")]
    # the plot's own lines (link lines, the scale bar): a leader crosses none of them
    drawn = [segs for segs, _ in groups[len(borders):]]
    drawn = np.concatenate(drawn) if drawn else np.empty((0, 2, 2))
    lines = {}
    for segs, w in groups:
        lines.setdefault(float(w), []).append(segs)
    lines = [(np.concatenate(v), 0.5 * w * to_px) for w, v in sorted(lines.items())]
    names = set(map(id, texts))
    taken = [t.get_window_extent(renderer).padded(clear) for t in ax.texts
             if id(t) not in names and t.get_text().strip() and t.get_transform() != ax.transAxes]
    for t in ax.texts:
        arrow = getattr(t, "arrow_patch", None)
        if arrow is not None:
            taken.append(arrow.get_window_extent(renderer).padded(clear))
    sizes = []
    for t in texts:
        t.set_ha("center")
        t.set_va("center")
        box = t.get_window_extent(renderer)
        sizes.append((box.width, box.height))
    if cells is not None:   # the cells in display space, their edges, each name's other classes
        cell_paths = [Path(ax.transData.transform(np.asarray(c, float))) for c in cells]
        edges = ax.transData.transform(_cell_edges(cells).reshape(-1, 2)).reshape(-1, 2, 2)
        fill = list(fills) if fills is not None else list(range(len(cells)))
        foreign = [[k for k in range(len(cells)) if fill[k] != fill[i]]
                   for i in range(len(texts))]
    crowd = [int(np.sum(np.hypot(*(anchors - a).T) < 60 * to_px)) for a in anchors]

    def places(i, distances, directions):
        """The places (distance, centre x, y) tried for name ``i``, in order."""
        w, h = sizes[i]
        mine = own[i]
        x0, y0 = mboxes[mine, 0].min(), mboxes[mine, 1].min()
        x1, y1 = mboxes[mine, 2].max(), mboxes[mine, 3].max()
        px, py = anchors[i]
        for dist in distances:
            for dx, dy in directions:
                gap = dist * to_px / (np.sqrt(2.0) if dx and dy else 1.0)
                # beside its marker (±1), centred on its point (0) or between (±0.5)
                cx = px + dx * ((x1 - px if dx > 0 else px - x0) + gap + w / 2)
                cy = py + dy * ((y1 - py if dy > 0 else py - y0) + gap + h / 2)
                yield dist, cx, cy

    def grid(i):
        """Every place on a :data:`_NAME_GRID_STEP` grid around name ``i``'s point within
        :data:`_NAME_GRID_REACH`, 2 pt or more from its marker, inside the plot area and
        clear of every other marker and every name placed (the cheap checks, vectorised; the
        lines are checked by the search), nearest first, then by angle: (distance from the
        marker's edge, centre x, y)."""
        w, h = sizes[i]
        mine = own[i]
        x0, y0 = mboxes[mine, 0].min(), mboxes[mine, 1].min()
        x1, y1 = mboxes[mine, 2].max(), mboxes[mine, 3].max()
        steps = np.arange(-_NAME_GRID_REACH, _NAME_GRID_REACH + 1e-9, _NAME_GRID_STEP) * to_px
        gx, gy = (g.ravel() for g in np.meshgrid(steps, steps, indexing="ij"))
        cx, cy = anchors[i, 0] + gx, anchors[i, 1] + gy
        gap = np.max([cx - w / 2 - x1, x0 - cx - w / 2, cy - h / 2 - y1, y0 - cy - h / 2],
                     axis=0)
        keep = ((gap >= 2.0 * to_px) & (np.hypot(gx, gy) <= _NAME_GRID_REACH * to_px)
                & (cx - w / 2 >= area.x0 + 2) & (cx + w / 2 <= area.x1 - 2)
                & (cy - h / 2 >= area.y0 + 2) & (cy + h / 2 <= area.y1 - 2))
        # as cost(): a box padded by the clearance touching another marker, a box on a name
        # placed (its box already padded)
        for blocks, pad in ((np.delete(mboxes, mine, axis=0), clear), (taken_array(), 0.0)):
            if len(blocks):
                keep &= ~((blocks[None, :, 2] >= (cx - w / 2 - pad)[:, None])
                          & (blocks[None, :, 0] <= (cx + w / 2 + pad)[:, None])
                          & (blocks[None, :, 3] >= (cy - h / 2 - pad)[:, None])
                          & (blocks[None, :, 1] <= (cy + h / 2 + pad)[:, None])).any(axis=1)
        # and clear of every line and leader, by its width
        for segs, half in [*lines, (np.asarray(leaders).reshape(-1, 2, 2), leader_half)]:
            idx = np.flatnonzero(keep)
            if len(segs) and len(idx):
                pad = clear + half
                keep[idx] = ~segments_in_boxes(segs, np.column_stack([
                    cx[idx] - w / 2 - pad, cy[idx] - h / 2 - pad, cx[idx] + w / 2 + pad,
                    cy[idx] + h / 2 + pad]))
        angle = np.round(np.arctan2(gy, gx), 9)
        for k in np.lexsort((angle, np.round(gap / to_px, 6))):
            if keep[k]:
                yield round(float(gap[k] / to_px), 6), float(cx[k]), float(cy[k])

    # a name no place of which lies inside its own cell first: it has the fewest places a
    # reader reads right ("Tân Thành*" beside its triangle), then the most crowded
    homeless = [0] * len(texts)
    if cells is not None:
        for i, path in enumerate(cell_paths):
            w, h = sizes[i]
            homeless[i] = int(not any(
                path.contains_points([(cx - w / 2, cy - h / 2), (cx + w / 2, cy - h / 2),
                                      (cx - w / 2, cy + h / 2), (cx + w / 2, cy + h / 2)]).all()
                for _, cx, cy in places(i, _NAME_DISTANCES, _NAME_DIRECTIONS)))
    order = sorted(range(len(texts)), key=lambda i: (-homeless[i], -crowd[i], i))

    def taken_array() -> np.ndarray:
        return np.array([[b.x0, b.y0, b.x1, b.y1] for b in taken], float).reshape(-1, 4)

    leaders = []   # the leader lines drawn so far (display segments): names keep off them
    leader_half = 0.5 * _LEADER_WIDTH * to_px

    def leader(i, box, centre) -> tuple:
        """The leader a name at ``box`` gets: from its point to the edge of the box."""
        d = anchors[i] - centre
        reach = min(box.width / 2 / abs(d[0]) if d[0] else np.inf,
                    box.height / 2 / abs(d[1]) if d[1] else np.inf)
        return anchors[i], centre + min(reach, 1.0) * d

    def cost(i, box, centre, dist) -> tuple:
        mine = own[i]
        near = box.padded(clear)
        hit = ((mboxes[:, 2] >= near.x0) & (mboxes[:, 0] <= near.x1)
               & (mboxes[:, 3] >= near.y0) & (mboxes[:, 1] <= near.y1))
        hit[mine] = False   # its own marker: kept at the place's distance
        outside = (box.x0 < area.x0 + 2 or box.x1 > area.x1 - 2 or box.y0 < area.y0 + 2
                   or box.y1 > area.y1 - 2)
        on_lines = sum(_segments_inside(segs, box.padded(clear + half)) for segs, half in lines)
        if leaders:   # on another name's leader
            on_lines += _segments_inside(np.asarray(leaders), box.padded(clear + leader_half))
        crossed = 0
        if dist >= _LEADER_FROM:   # its leader through a name placed, another marker, a line
            a, e = leader(i, box, centre)
            seg = np.array([[a, e]])
            crossed = int(segments_in_boxes(seg, taken_array()).sum()
                          + segments_in_boxes(seg, np.delete(mboxes, mine, axis=0)).sum()
                          + crossings(a, e, drawn)
                          + (crossings(a, e, np.asarray(leaders)) if leaders else 0))
        return (int(outside), int(hit.sum()) + on_lines + crossed
                + sum(box.overlaps(b) for b in taken))

    def reading(i, box, centre, dist) -> tuple:
        """(cells of another fill class the name covers, cell edges its leader crosses)."""
        if cells is None:
            return (0, 0)
        other = sum(cell_paths[k].intersects_bbox(box, filled=True) for k in foreign[i])
        crossed = crossings(*leader(i, box, centre), edges) if dist >= _LEADER_FROM else 0
        return (int(other), crossed)

    def search(i, candidates, best) -> tuple:
        """The best of ``best`` and ``candidates`` for name ``i`` (the first of the least
        key), and whether it is perfect (free, read right)."""
        w, h = sizes[i]
        for dist, cx, cy in candidates:
            box = Bbox.from_extents(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            key = cost(i, box, np.array([cx, cy]), dist)   # free, then read right
            key += reading(i, box, np.array([cx, cy]), dist) if key == (0, 0) else (0, 0)
            key = (*key, dist)
            if best is None or key[:-1] < best[0][:-1]:
                best = (key, (cx, cy), box)
            if key[:-1] == (0, 0, 0, 0):
                return best, True
        return best, False

    for i in order:
        best, done = search(i, places(i, _NAME_DISTANCES, _NAME_DIRECTIONS), None)
        if not done and (best[0][:2] != (0, 0) or cells is not None and best[0][2] > 0):
            # no free place, or only in a cell of another class: every place of a fine grid
            best, _ = search(i, grid(i), best)
        *_, dist = best[0]
        _, centre, box = best
        texts[i].set_position(ax.transData.inverted().transform(centre))
        taken.append(box.padded(clear))
        if dist >= _LEADER_FROM:
            ax.add_patch(FancyArrowPatch(posA=tuple(points[i]), posB=tuple(
                ax.transData.inverted().transform(centre)), patchB=texts[i], arrowstyle="-",
                color="0.3", linewidth=_LEADER_WIDTH, shrinkA=2, shrinkB=1, zorder=3.5))
            leaders.append(leader(i, box, np.asarray(centre)))


#: The least gap (points) between the scale bar or the north arrow and every drawn line (a
#: 2025 border, a cell edge): the bar's end touched a 2025 border of its own weight and read
#: as part of it.
_FURNITURE_CLEARANCE = 3.0
#: The least gap (points) between the scale bar or the north arrow and a commune's point:
#: room for the point's name beside it.
_FURNITURE_ROOM = 12.0


def _furniture_obstacles(ax, renderer, skip=()) -> tuple[list, list]:
    """What the scale bar and the north arrow keep clear of, in display space: every line
    the plot area draws (cell edges, borders, other lines; with half their width, pixels)
    and every marker and text (boxes; ``skip``: artists of the piece being placed)."""
    from matplotlib.collections import LineCollection, PolyCollection

    from hlstudy.export import _polyline

    to_px = ax.figure.dpi / 72.0
    lines = []
    for coll in ax.collections:
        if isinstance(coll, PolyCollection):
            width = np.resize(coll.get_linewidths(), len(coll.get_paths()))
            for path, w in zip(coll.get_paths(), width, strict=True):
                xy = coll.get_transform().transform(np.vstack([path.vertices,
                                                               path.vertices[:1]]))
                lines.append((_polyline(xy), 0.5 * w * to_px))
        elif isinstance(coll, LineCollection):
            width = np.resize(coll.get_linewidths(), len(coll.get_segments()))
            for seg, w in zip(coll.get_segments(), width, strict=True):
                lines.append((_polyline(coll.get_transform().transform(seg)), 0.5 * w * to_px))
    lines += [(_polyline(line.get_transform().transform(line.get_xydata())),
               0.5 * line.get_linewidth() * to_px) for line in ax.lines if line not in skip
              and line.get_linestyle() not in ("None", "none", " ", "")]
    boxes = list(marker_extents(ax)[1])
    boxes += [t.get_window_extent(renderer) for t in ax.texts if t not in skip
              and t.get_text().strip() and t.get_transform() != ax.transAxes]
    return lines, boxes


def _furniture_faults(box, lines, boxes, area, to_px) -> int:
    """How many lines come within :data:`_FURNITURE_CLEARANCE` of ``box``, markers or texts
    within :data:`_FURNITURE_ROOM`, plus many if ``box`` leaves the plot ``area``."""
    from hlstudy.export import _segments_inside

    inside = (area.x0 + 2 <= box.x0 and box.x1 <= area.x1 - 2 and area.y0 + 2 <= box.y0
              and box.y1 <= area.y1 - 2)
    near = box.padded(_FURNITURE_ROOM * to_px)
    return (0 if inside else 1000) + sum(
        _segments_inside(segs, box.padded(_FURNITURE_CLEARANCE * to_px + half)) > 0
        for segs, half in lines) + sum(near.overlaps(b) for b in boxes)


def _first_clear(ax, artists, candidates, move) -> None:
    """Put ``artists`` (one piece: the scale bar and its label, the north arrow) at the first
    of ``candidates`` where it keeps clear of every line, marker and text
    (:func:`_furniture_faults`), else at the one with fewest faults (the first of those):
    fixed candidates in a fixed order, deterministic.  ``move(candidate)`` places it."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    lines, boxes = _furniture_obstacles(ax, renderer, skip=artists)
    best = None
    for cand in candidates:
        move(cand)
        box = Bbox.union([a.get_window_extent(renderer) for a in artists])
        faults = _furniture_faults(box, lines, boxes, area, fig.dpi / 72.0)
        if best is None or faults < best[0]:
            best = (faults, cand)
        if faults == 0:
            break
    move(best[1])


def _scale_bar(ax, lat0: float, km: float = 5.0) -> None:
    """A ``km`` scale bar (degrees of longitude at latitude lat0), its label above it, at the
    first clear place (:func:`_first_clear`): the lower-left corner, the lower-right, the
    upper-left, the upper-right, then along the bottom and the top edge from the left.  At a
    fixed place in the lower left its right end touched a 2025 border of the same weight."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    deg = km / (111.32 * np.cos(np.deg2rad(lat0)))
    fw = deg / (x1 - x0)   # the bar's length, axes fraction
    bottom, top = 0.035, 0.91
    corners = [(0.03, bottom), (0.97 - fw, bottom), (0.03, top), (0.97 - fw, top)]
    along = [(x, y) for y in (bottom, top) for x in np.arange(0.08, 0.97 - fw, 0.05)]
    bar, = ax.plot([x0, x0 + deg], [y0, y0], color="black", linewidth=2.5,
                   solid_capstyle="butt", zorder=5)
    label = ax.text(x0, y0, f"{km:g} km", ha="center", va="bottom", fontsize=7, zorder=5)

    def move(at):
        x = x0 + at[0] * (x1 - x0)
        y = y0 + at[1] * (y1 - y0)
        bar.set_data([x, x + deg], [y, y])
        label.set_position((x + deg / 2, y + 0.012 * (y1 - y0)))

    _first_clear(ax, [bar, label], corners + along, move)


def _north_arrow(ax) -> None:
    """An arrow and "N" at the first clear place (:func:`_first_clear`) along the top edge,
    from the upper-right corner leftwards, then from the upper-left rightwards (at a fixed
    place in the corner a 2025 border passed just under the "N")."""
    arrow = ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                        ha="center", va="center", fontsize=8, fontweight="bold",
                        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2},
                        zorder=5)
    steps = [round(0.04 * k, 2) for k in range(6)]

    def move(x):
        arrow.xy = (x, 0.95)
        arrow.set_position((x, 0.86))

    _first_clear(ax, [arrow], [0.95 - s for s in steps] + [0.05 + s for s in steps], move)


#: Size (inches) of :func:`plot_map`'s figure: as saved (legend and note below the map) it
#: fits the thesis' text width, 155 mm.
MAP_FIGSIZE = (5.9, 6.6)


#: How a cell without a value is drawn: white, hatched in grey (no class colour looks so).
MISSING_HATCH, MISSING_HATCH_COLOUR = "////", "#9a9a9a"


@_resultcache.kept(figure=True)
def plot_map(communes: pd.DataFrame, values: Mapping[str, float] | pd.Series | None = None, *,
             ax=None, title: str = "", label: str = "", cmap: str = "viridis",
             annotate: bool = True, group: str | None = "commune_2025", pad: float = 0.08,
             note: str | None = None, categories: Mapping[str, str] | pd.Series | None = None,
             category_colors: Mapping[str, str] | None = None, flagged: Mapping[str, str] |
             None = None, scale_km: float = 5.0, missing_label: str | None = None):
    """Voronoi map of the communes, coloured by ``values`` (code → number; NaN = hatched) or by
    ``categories`` (code → class label, e.g. "above / not different from / below the district
    mean" — classes the intervals support, rather than a continuous scale suggesting contrasts
    they do not; a legend under the map lists the classes in ``category_colors`` order).

    ``group`` draws thicker borders between cells of different groups (default: the 2025
    communes).  Names are placed by :func:`_place_names` once the layout is settled, each at
    the nearest place around its point that keeps 1 pt clear of every point, thick border
    and other name, so that close points (Minh Tiến / Thiện Tân, Tân Thành / TT Hữu Lũng) do not
    collide (``adjustText``, used before, left names on the borders); ``flagged`` (code → mark, e.g. "*") marks
    units whose coordinates are doubtful (the registry gives old Tân Thành the town's
    coordinates: a source error, moved by :func:`separate_duplicates` and marked).  On a map
    of ``categories`` a name stands in no cell of another class where a place in its own
    class exists, its leader crossing the fewest cell edges ("Tân Thành*", whose triangle
    cannot hold it, stood in Nhật Tiến's green cell).  Every text is 7 pt or larger (the
    names were 6.5).  A scale bar of ``scale_km`` km and a north arrow are drawn at the first
    of fixed places clear of every line and point (:func:`_scale_bar`,
    :func:`_north_arrow`).  A cell without a value or class (e.g. a commune suppressed for
    fewer than 5 respondents) is white with grey hatching, unlike any class colour (it was a
    grey as light as the "not different" class), and on a map of ``categories`` the legend
    names it ``missing_label`` (default "không có số liệu" / "no data", in the label
    language).  Returns the matplotlib figure; raises
    :class:`ModelError` for codes not in the registry or a category without a colour.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Patch

    cells = voronoi_cells(communes, pad)
    codes = list(cells)
    if (values is None) == (categories is None):
        raise ModelError("give exactly one of values= (numbers) or categories= (classes)")
    if categories is not None:
        cat = pd.Series(categories, dtype=object)
        cat.index = cat.index.astype(str)
        unknown = sorted(set(cat.index) - set(cells))
        if unknown:
            raise ModelError(f"categories for codes not in the registry: {unknown}")
        palette = dict(category_colors or {})
        if not palette:
            levels = list(dict.fromkeys(cat.dropna()))
            cm_cat = plt.get_cmap("Set2")
            palette = {lev: cm_cat(i) for i, lev in enumerate(levels)}
        missing = sorted(set(cat.dropna()) - set(palette))
        if missing:
            raise ModelError(f"no colour for categories {missing}")
        cv = cat.reindex(codes)
        has = [isinstance(x, str) for x in cv]   # a class, or no value (hatched)
        colours = [palette[x] for x in cv if isinstance(x, str)]
    else:
        vals = pd.Series(values, dtype=float)
        vals.index = vals.index.astype(str)
        unknown = sorted(set(vals.index) - set(cells))
        if unknown:
            raise ModelError(f"values for codes not in the registry: {unknown}")
        v = vals.reindex(codes).to_numpy(float)
        finite = v[np.isfinite(v)]
        norm = plt.Normalize(finite.min(), finite.max()) if finite.size else plt.Normalize(0, 1)
        cm = plt.get_cmap(cmap)
        has = [bool(np.isfinite(x)) for x in v]
        colours = [cm(norm(x)) for x in v if np.isfinite(x)]
    if ax is None:   # opened once the input is known to be good (an error leaves no figure open)
        # at most the thesis' text width (155 mm) as saved; classes: room below the map for
        # their legend, which would hide cells on the map
        fig, ax = plt.subplots(figsize=MAP_FIGSIZE)
    else:
        fig = ax.figure
    ax.add_collection(PolyCollection([cells[c] for c, ok in zip(codes, has, strict=True) if ok],
                                     facecolors=colours,
                                     edgecolors="white", linewidths=0.8))
    if not all(has):   # no value: hatched, as in the legend
        ax.add_collection(PolyCollection(
            [cells[c] for c, ok in zip(codes, has, strict=True) if not ok], facecolors="white",
            edgecolors=MISSING_HATCH_COLOUR, hatch=MISSING_HATCH, linewidths=0.8))
    borders = []
    if group is not None and group in communes.columns:
        borders = _group_borders(communes, group, pad)
        ax.add_collection(LineCollection(borders, colors="black", linewidths=1.6))
    d = separate_duplicates(communes).set_index("code")
    d.index = d.index.astype(str)
    ax.scatter(d.loc[codes, "lon"], d.loc[codes, "lat"], s=8, color="black", zorder=3)
    allpts = np.vstack(list(cells.values()))
    ax.set_xlim(allpts[:, 0].min(), allpts[:, 0].max())
    ax.set_ylim(allpts[:, 1].min(), allpts[:, 1].max())
    lat0 = float(d["lat"].mean())
    ax.set_aspect(1 / np.cos(np.deg2rad(lat0)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if categories is not None:
        present = [lev for lev in palette if lev in set(cat.dropna())]
        handles = [Patch(facecolor=palette[lev], edgecolor="white", label=lev) for lev in present]
        if not all(has):
            if missing_label is None:
                from hlstudy.export import tr

                missing_label = tr("không có số liệu", "no data")
            handles.append(Patch(facecolor="white", edgecolor=MISSING_HATCH_COLOUR,
                                 hatch=MISSING_HATCH, label=missing_label))
        # under the map, not on it (every corner of the plot area is a commune's cell) nor
        # beside it (the page is too narrow for both): the classes in one row, the note below
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01),
                  borderaxespad=0.0, ncol=len(handles), fontsize=7.5, title=label or None,
                  title_fontsize=7.5, frameon=False, alignment="left", columnspacing=1.2,
                  handlelength=1.5)
    else:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cm)
        fig.colorbar(sm, ax=ax, shrink=0.7, label=label)
    if title:
        from hlstudy.pathplot import wrap_label

        ax.set_title(wrap_label(title, 60))
    fig.tight_layout()
    if note:   # below the legend, once the layout is settled (placed after it)
        below = -0.02
        if categories is not None:
            fig.draw_without_rendering()
            legend = ax.get_legend().get_window_extent()
            below = ax.transAxes.inverted().transform((0, legend.y0))[1] - 0.01
        ax.text(0.0, below, note, transform=ax.transAxes, fontsize=7, va="top", wrap=True)
    # in the plot area as saved, clear of every line and point (placed after the layout)
    if scale_km:
        _scale_bar(ax, lat0, scale_km)
    _north_arrow(ax)
    if annotate and "name" in d.columns:
        from hlstudy.export import white_halo

        halo = white_halo()
        flags = {str(k): v for k, v in (flagged or {}).items()}
        texts = [ax.text(d.at[c, "lon"], d.at[c, "lat"], str(d.at[c, "name"]) + flags.get(c, ""),
                         ha="center", va="bottom", fontsize=7, path_effects=halo, zorder=4)
                 for c in codes]
        # each name at the first place around its point, nearest first, that covers no
        # point, no thick 2025 border ("TT Hữu Lũng" lay on one), no other name and stays in
        # the frame; placed once the layout is settled (the plot area as saved); on a map of
        # classes, in no cell of another class where it can, its leader crossing fewest edges
        classed = categories is not None
        _place_names(ax, texts, d.loc[codes, ["lon", "lat"]].to_numpy(float), borders,
                     cells=[cells[c] for c in codes] if classed else None,
                     fills=[x if isinstance(x, str) else "" for x in cv] if classed else None)
    return fig
