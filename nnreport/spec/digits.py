"""How a spec counts digits: a plain int counts significant digits, `Decimals` places after the
point (`digits: {decimals: 4}`). It lives with the spec, which reads it; the engine's printing
rules (engine/printed.py), the rounded chain and the LMS ranges ask `isinstance(d, Decimals)`."""

from __future__ import annotations


class Decimals(int):
    """Digits counted as decimal places (a spec's `digits: {decimals: 4}`) where a plain int
    counts significant digits: -0.0087 at 4 places, 12.3457 at 4 places."""

    def __repr__(self) -> str:
        return f"Decimals({int(self)})"
