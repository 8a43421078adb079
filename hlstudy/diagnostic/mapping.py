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
:func:`plot_map` marks them (``flagged``).

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
#: From this distance (points) on, a thin line leads from the name to its point.
_LEADER_FROM = 9.0
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


def _place_names(ax, texts, points: np.ndarray, borders) -> None:
    """Place each name of ``texts`` (one per row of ``points``, lon/lat) around its point.

    A name goes to the first place (:data:`_NAME_DISTANCES` from the edge of its point's
    marker × :data:`_NAME_DIRECTIONS`) whose box, in the layout as drawn, lies inside the
    plot area and keeps :data:`_NAME_CLEARANCE` from every other marker (by its drawn extent,
    :func:`marker_extents`: the stars of the reform map, not only dots), every line of
    ``borders`` or of the plot (the scale bar, link lines; by their width), every name already
    placed and every other text (scale, north arrow).  The names in the most crowded places
    are placed first.  Where no place is free, the one covering least is taken.  A name set
    apart from its point gets a thin leader line.  Deterministic: no iteration limit, no time
    limit."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.transforms import Bbox

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
    crowd = [int(np.sum(np.hypot(*(anchors - a).T) < 60 * to_px)) for a in anchors]
    order = sorted(range(len(texts)), key=lambda i: (-crowd[i], i))

    def cost(box, mine) -> tuple:
        near = box.padded(clear)
        hit = ((mboxes[:, 2] >= near.x0) & (mboxes[:, 0] <= near.x1)
               & (mboxes[:, 3] >= near.y0) & (mboxes[:, 1] <= near.y1))
        hit[mine] = False   # its own marker: kept at the place's distance
        outside = (box.x0 < area.x0 + 2 or box.x1 > area.x1 - 2 or box.y0 < area.y0 + 2
                   or box.y1 > area.y1 - 2)
        on_lines = sum(_segments_inside(segs, box.padded(clear + half)) for segs, half in lines)
        return (int(outside), int(hit.sum()) + on_lines + sum(box.overlaps(b) for b in taken))

    for i in order:
        w, h = sizes[i]
        mine = own[i]
        x0, y0 = mboxes[mine, 0].min(), mboxes[mine, 1].min()
        x1, y1 = mboxes[mine, 2].max(), mboxes[mine, 3].max()
        best = None
        for dist in _NAME_DISTANCES:
            for dx, dy in _NAME_DIRECTIONS:
                gap = dist * to_px / (np.sqrt(2.0) if dx and dy else 1.0)
                cx = (x1 + gap + w / 2 if dx > 0 else x0 - gap - w / 2 if dx < 0
                      else anchors[i, 0])
                cy = (y1 + gap + h / 2 if dy > 0 else y0 - gap - h / 2 if dy < 0
                      else anchors[i, 1])
                box = Bbox.from_extents(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                key = (*cost(box, mine), dist)
                if best is None or key[:2] < best[0][:2]:
                    best = (key, (cx, cy), box)
                if key[:2] == (0, 0):
                    break
            if best[0][:2] == (0, 0):
                break
        (_, _, dist), centre, box = best
        texts[i].set_position(ax.transData.inverted().transform(centre))
        taken.append(box.padded(clear))
        if dist >= _LEADER_FROM:
            ax.add_patch(FancyArrowPatch(posA=tuple(points[i]), posB=tuple(
                ax.transData.inverted().transform(centre)), patchB=texts[i], arrowstyle="-",
                color="0.3", linewidth=0.5, shrinkA=2, shrinkB=1, zorder=3.5))


def _scale_bar(ax, lat0: float, km: float = 5.0) -> None:
    """A ``km`` scale bar in the lower-left corner (degrees of longitude at latitude lat0)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    deg = km / (111.32 * np.cos(np.deg2rad(lat0)))
    x, y = x0 + 0.05 * (x1 - x0), y0 + 0.07 * (y1 - y0)   # above the simulated-data mark
    ax.plot([x, x + deg], [y, y], color="black", linewidth=2.5, solid_capstyle="butt", zorder=5)
    ax.text(x + deg / 2, y + 0.012 * (y1 - y0), f"{km:g} km", ha="center", va="bottom",
            fontsize=7, zorder=5)


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                ha="center", va="center", fontsize=8, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2}, zorder=5)


#: Size (inches) of :func:`plot_map`'s figure: as saved (legend and note below the map) it
#: fits the thesis' text width, 155 mm.
MAP_FIGSIZE = (5.9, 6.6)


@_resultcache.kept(figure=True)
def plot_map(communes: pd.DataFrame, values: Mapping[str, float] | pd.Series | None = None, *,
             ax=None, title: str = "", label: str = "", cmap: str = "viridis",
             annotate: bool = True, group: str | None = "commune_2025", pad: float = 0.08,
             note: str | None = None, categories: Mapping[str, str] | pd.Series | None = None,
             category_colors: Mapping[str, str] | None = None, flagged: Mapping[str, str] |
             None = None, scale_km: float = 5.0):
    """Voronoi map of the communes, coloured by ``values`` (code → number; NaN = grey) or by
    ``categories`` (code → class label, e.g. "above / not different from / below the district
    mean" — classes the intervals support, rather than a continuous scale suggesting contrasts
    they do not; a legend under the map lists the classes in ``category_colors`` order).

    ``group`` draws thicker borders between cells of different groups (default: the 2025
    communes).  Names are placed by :func:`_place_names` once the layout is settled, each at
    the nearest place around its point that keeps 1 pt clear of every point, thick border
    and other name, so that close points (Minh Tiến / Thiện Tân, Tân Thành / TT Hữu Lũng) do not
    collide (``adjustText``, used before, left names on the borders); ``flagged`` (code → mark, e.g. "*") marks
    units whose coordinates are doubtful (the registry gives old Tân Thành the town's
    coordinates: a source error, moved by :func:`separate_duplicates` and marked).  A scale bar
    of ``scale_km`` km and a north arrow are drawn.  Returns the matplotlib figure; raises
    :class:`ModelError` for codes not in the registry or a category without a colour.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.patches import Patch

    cells = voronoi_cells(communes, pad)
    codes = list(cells)
    if (values is None) == (categories is None):
        raise ModelError("give exactly one of values= (numbers) or categories= (classes)")
    grey = (0.85, 0.85, 0.85, 1.0)
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
        colours = [palette[x] if isinstance(x, str) else grey for x in cv]
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
        colours = [cm(norm(x)) if np.isfinite(x) else grey for x in v]
    if ax is None:   # opened once the input is known to be good (an error leaves no figure open)
        # at most the thesis' text width (155 mm) as saved; classes: room below the map for
        # their legend, which would hide cells on the map
        fig, ax = plt.subplots(figsize=MAP_FIGSIZE)
    else:
        fig = ax.figure
    ax.add_collection(PolyCollection([cells[c] for c in codes], facecolors=colours,
                                     edgecolors="white", linewidths=0.8))
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
    if scale_km:
        _scale_bar(ax, lat0, scale_km)
    _north_arrow(ax)
    if categories is not None:
        present = [lev for lev in palette if lev in set(cat.dropna())]
        handles = [Patch(facecolor=palette[lev], edgecolor="white", label=lev) for lev in present]
        if any(not isinstance(x, str) for x in cv):
            handles.append(Patch(facecolor=grey, label="–"))
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
    if annotate and "name" in d.columns:
        from hlstudy.export import white_halo

        halo = white_halo()
        flags = {str(k): v for k, v in (flagged or {}).items()}
        texts = [ax.text(d.at[c, "lon"], d.at[c, "lat"], str(d.at[c, "name"]) + flags.get(c, ""),
                         ha="center", va="bottom", fontsize=6.5, path_effects=halo, zorder=4)
                 for c in codes]
        # each name at the first place around its point, nearest first, that covers no
        # point, no thick 2025 border ("TT Hữu Lũng" lay on one), no other name and stays in
        # the frame; placed once the layout is settled (the plot area as saved)
        _place_names(ax, texts, d.loc[codes, ["lon", "lat"]].to_numpy(float), borders)
    return fig
