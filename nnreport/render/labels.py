"""Where the numbers of a network diagram go, decided in Python before any TikZ is written:
each edge label is a box (its estimated size at \\scriptsize) placed on its own edge at the
first position, from the middle outwards, where it touches no other label, no neuron and no
other edge. When some label of a layer gap has no such spot, the gap shows its weight matrix
under the picture instead; so a label is never ambiguous about its edge.

Lengths are centimetres in the picture's own coordinates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .matrices import text_width

SCRIPT_EM_CM = 8 * 0.03515  # \scriptsize is 8pt in an 11pt document; 1pt = 0.03515 cm
PAD_CM = 0.06               # white margin kept around a label (inner sep and a little air)
LINE_CM = 0.30              # height of a line of scriptsize digits with its inner sep
SCRIPT_CM = 0.10            # extra height of a superscript (10^{-4})
NEURON_R = 0.40             # neurons are circles of minimum size 8 mm
POSITIONS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73, 0.21, 0.79)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def grown(self, m: float) -> Box:
        return Box(self.x0 - m, self.y0 - m, self.x1 + m, self.y1 + m)

    def overlaps(self, o: Box, gap: float = 0.0) -> bool:
        return (self.x0 < o.x1 + gap and o.x0 < self.x1 + gap
                and self.y0 < o.y1 + gap and o.y0 < self.y1 + gap)

    def near_circle(self, cx: float, cy: float, r: float) -> bool:
        nx = min(max(cx, self.x0), self.x1)
        ny = min(max(cy, self.y0), self.y1)
        return (nx - cx) ** 2 + (ny - cy) ** 2 < r * r

    def crosses(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Does the segment a-b pass through the box (Liang-Barsky clipping)?"""
        (x0, y0), (x1, y1) = a, b
        dx, dy = x1 - x0, y1 - y0
        lo, hi = 0.0, 1.0
        for p, q in ((-dx, x0 - self.x0), (dx, self.x1 - x0), (-dy, y0 - self.y0),
                     (dy, self.y1 - y0)):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
            if lo > hi:
                return False
        return True


def label_size(tex: str) -> tuple[float, float]:
    """(width, height) in cm of a math label at \\scriptsize, with its white margin; the
    width estimate is checked against TeX's own box widths in the tests."""
    # text_width leaves out the space TeX puts around relations and binary operators
    # and the spaces between words of \text
    spacing = 0.56 * tex.count("=") + 0.45 * tex.count(r"\times") + 0.3 * tex.count(r"\colon") \
        + 0.34 * sum(t.count(" ") for t in re.findall(r"\\text\{([^{}]*)\}", tex))
    w = (text_width(tex) + spacing) * SCRIPT_EM_CM * 1.1 + 2 * PAD_CM
    h = LINE_CM + (SCRIPT_CM if "^" in tex else 0.0) + 2 * PAD_CM
    return w, h


def box_at(x: float, y: float, tex: str, margin: float = 0.0) -> Box:
    """The label's box centred at (x, y); `margin` grows it for placing, so that coordinates
    rounded in the TikZ source still keep the label clear."""
    w, h = label_size(tex)
    return Box(x - w / 2 - margin, y - h / 2 - margin, x + w / 2 + margin, y + h / 2 + margin)


SAFETY = 0.02


Point = tuple[float, float]
Edge = tuple[Point, Point]


def place_gap(edges: list[tuple[Edge, str]], others: list[Edge], neurons: list[Point],
              taken: list[Box]) -> list[Point] | None:
    """A centre for each edge's label, or None when some label finds no free spot.
    `others` are the edges of other gaps; `taken` are boxes already placed (biases, headers)."""
    segments = [e for e, _ in edges] + others
    for order in (range(len(edges)), range(len(edges) - 1, -1, -1)):
        placed: dict[int, tuple[Point, Box]] = {}
        for k in order:
            (a, b), tex = edges[k]
            spot = None
            for t in POSITIONS:
                c = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
                box = box_at(c[0], c[1], tex, SAFETY)
                if any(box.overlaps(o) for o in taken) or \
                        any(box.overlaps(o) for _, o in placed.values()) or \
                        any(box.near_circle(x, y, NEURON_R) for x, y in neurons) or \
                        any(box.crosses(*s) for s in segments if s != (a, b)):
                    continue
                spot = (c, box)
                break
            if spot is None:
                break
            placed[k] = spot
        if len(placed) == len(edges):
            return [placed[k][0] for k in range(len(edges))]
    return None
