"""Plane geometry of the label placers (display space, points or pixels).

Shared by :func:`hlstudy.pathplot.commune_scatter` (leader lines clear of points and names)
and :func:`hlstudy.evidence.ipma_figure` (names clear of the dividing lines).  The length of
many segments inside a box, vectorised, is :func:`hlstudy.export._segments_inside`.
"""

from __future__ import annotations

import numpy as np


def segment_point_distances(a, b, points: np.ndarray) -> np.ndarray:
    """Distances from ``points`` (n × 2) to the segment from ``a`` to ``b`` (a point when
    ``a == b``).

    >>> segment_point_distances(np.array([0.0, 0.0]), np.array([2.0, 0.0]),
    ...                         np.array([[1.0, 1.0], [3.0, 0.0], [-1.0, 0.0]])).tolist()
    [1.0, 1.0, 1.0]
    """
    a, b, points = np.asarray(a, float), np.asarray(b, float), np.asarray(points, float)
    d = b - a
    length = float(d @ d)
    t = np.zeros(len(points)) if length == 0 else np.clip((points - a) @ d / length, 0.0, 1.0)
    return np.hypot(*(a + t[:, None] * d - points).T)


def segments_cross(a, b, c, d, *, touching: bool = False) -> bool:
    """True when the segments ``a``–``b`` and ``c``–``d`` cross: each one's ends lie on
    opposite sides of the other's line.  With ``touching`` an end lying on the other's line
    counts too (a leader that ends on a dividing line crosses it).

    >>> segments_cross((0, 0), (2, 2), (0, 2), (2, 0)), segments_cross((0, 0), (1, 1), (1, 1), (2, 0))
    (True, False)
    >>> segments_cross((0, 0), (1, 1), (1, 1), (2, 0), touching=True)
    True
    """
    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    if touching:
        return bool(np.sign(side(a, b, c)) != np.sign(side(a, b, d))
                    and np.sign(side(c, d, a)) != np.sign(side(c, d, b)))
    return bool(side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0)


def segment_in_box(a, b, box) -> bool:
    """True when a stretch of the segment ``a``–``b`` lies inside ``box`` (a matplotlib
    ``Bbox``; Liang–Barsky clipping, as :func:`hlstudy.export._segments_inside` for many).

    >>> from matplotlib.transforms import Bbox
    >>> box = Bbox.from_extents(0, 0, 1, 1)
    >>> segment_in_box((-1, 0.5), (2, 0.5), box), segment_in_box((-1, 2), (2, 2), box)
    (True, False)
    """
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x0), (dx, box.x1 - x0), (-dy, y0 - box.y0), (dy, box.y1 - y0)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            t0 = max(t0, q / p)
        else:
            t1 = min(t1, q / p)
    return bool(t1 > t0)
