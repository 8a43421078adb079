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


def crossings(a, b, segs: np.ndarray) -> int:
    """How many of the segments ``segs`` (k × 2 × 2) the segment ``a``–``b`` crosses (each
    one's ends strictly on opposite sides of the other's line, as :func:`segments_cross`;
    vectorised).

    >>> crossings((0, 0), (2, 2), np.array([[[0, 2], [2, 0]], [[3, 0], [3, 3]], [[1, 0], [0, 1]]]))
    2
    """
    segs = np.asarray(segs, float).reshape(-1, 2, 2)
    if not len(segs):
        return 0
    a, b = np.asarray(a, float), np.asarray(b, float)
    c, d = segs[:, 0], segs[:, 1]

    def side(p, q, r):
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
            r[..., 0] - p[..., 0])

    return int(np.sum((side(a, b, c) * side(a, b, d) < 0) & (side(c, d, a) * side(c, d, b) < 0)))


def segments_in_boxes(segs: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """For each box of ``boxes`` (n × 4: x0, y0, x1, y1), whether a stretch of any segment of
    ``segs`` (k × 2 × 2) lies inside it (Liang–Barsky clipping, as :func:`segment_in_box`,
    vectorised over boxes and segments).

    >>> segments_in_boxes(np.array([[[-1, 0.5], [2, 0.5]]]),
    ...                   np.array([[0, 0, 1, 1], [0, 2, 1, 3]])).tolist()
    [True, False]
    """
    return segment_box_matrix(segs, boxes).any(axis=1)


def segment_box_matrix(segs: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """n × k: whether a stretch of segment ``j`` of ``segs`` (k × 2 × 2) lies inside box ``i``
    of ``boxes`` (n × 4: x0, y0, x1, y1) (Liang–Barsky clipping, as :func:`segment_in_box`).

    >>> segment_box_matrix(np.array([[[-1, 0.5], [2, 0.5]], [[5, 5], [6, 6]]]),
    ...                    np.array([[0, 0, 1, 1], [0, 2, 1, 3]])).tolist()
    [[True, False], [False, False]]
    """
    segs = np.asarray(segs, float).reshape(-1, 2, 2)
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    if not len(segs) or not len(boxes):
        return np.zeros((len(boxes), len(segs)), bool)
    x0, y0 = segs[None, :, 0, 0], segs[None, :, 0, 1]
    dx, dy = segs[None, :, 1, 0] - x0, segs[None, :, 1, 1] - y0
    bx0, by0, bx1, by1 = (boxes[:, k, None] for k in range(4))
    t0 = np.zeros((len(boxes), len(segs)))
    t1 = np.ones((len(boxes), len(segs)))
    inside = np.ones((len(boxes), len(segs)), bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, x0 - bx0), (dx, bx1 - x0), (-dy, y0 - by0), (dy, by1 - y0)):
            p = np.broadcast_to(p, t0.shape)
            r = q / p
            inside &= ~((p == 0) & (q < 0))
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
    return inside & (t1 > t0)
