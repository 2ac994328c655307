"""Textbook formulas written out for the tests, independent of the code they check."""

from __future__ import annotations


def holm(ps: list[float]) -> list[float]:
    """Holm's step-down adjusted P values (Holm 1979), written out.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    out, running = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - rank) * ps[i]))
        out[i] = running
    return out
