r"""Marginal (g-computation) means of the two arms from a fit's rows, additive over chunks.

Every patient is set to each arm, the covariates as observed, and the
predictions are averaged (:class:`MarginalSums`); the marginal risk
difference and its gradient for the delta method follow
(:func:`risk_difference_from_sums`;
:func:`~coachstats.compare.glm.marginal_risk_difference` from a fit). Split
from :mod:`coachstats.compare.glm`, which re-exports these names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coachstats.compare.newton import BLOCK_ROWS
from coachstats.compare.rows import (
    Additive,
    ModelRows,
    combine_rows,
    group_total,
    logistic_parts,
    rows_dot,
)
from coachstats.core.errors import AnalysisError

__all__ = [
    "MarginalSums",
    "RiskDifferenceSums",
    "identity_marginal_sums",
    "marginal_sums",
    "risk_difference_from_sums",
    "risk_difference_sums",
]


@dataclass(frozen=True)
class MarginalSums(Additive):
    r"""Sums behind the marginal (g-computation) means of the two arms, additive over chunks.

    With :math:`x^{(a)}_i` the design of patient :math:`i` set to arm :math:`a`
    (covariates as observed), :math:`\hat p^{(a)}_i` the prediction on the
    outcome scale and :math:`d^{(a)}_i` its derivative in the linear
    predictor (:math:`\hat p(1-\hat p)` for the logit link, 1 for identity):
    ``p1``, ``p0`` are :math:`\sum_i \hat p^{(1)}_i` and :math:`\sum_i \hat p^{(0)}_i`;
    ``gx1``, ``gx0`` :math:`\sum_i d^{(a)}_i x^{(a)}_i`; ``gg1``, ``gg0`` the
    per-group :math:`\sum d^{(a)}_i`. The mean of arm :math:`a` is
    :math:`p_a/n` with gradient :math:`(gx_a, gg_a)/n` in :math:`(\beta, \alpha)`.
    """

    nobs: int
    p1: float
    p0: float
    gx1: np.ndarray
    gx0: np.ndarray
    gg1: np.ndarray
    gg0: np.ndarray

    def mean(self, arm: int) -> tuple[float, np.ndarray, np.ndarray]:
        """The marginal mean of arm 1 (treatment) or 0 and its gradient ``(g_beta, g_group)``."""
        n = self.nobs
        if arm == 1:
            return self.p1 / n, self.gx1 / n, self.gg1 / n
        return self.p0 / n, self.gx0 / n, self.gg0 / n


def marginal_sums(
    rows: ModelRows,
    coef: np.ndarray,
    group_coef: np.ndarray,
    *,
    link: str = "logit",
    counterfactual: tuple[np.ndarray, np.ndarray] | None = None,
    arm_column: int = 0,
) -> MarginalSums:
    r""":class:`MarginalSums` of ``rows`` (unshifted design) at a fit.

    ``counterfactual`` gives the ``(k, n)`` designs with everyone treated and
    everyone in the control arm (:meth:`~coachstats.compare.design.Design.at_arm`,
    transposed); by default they are ``rows.XT`` with the arm row set to 1
    and 0 (a design without arm interactions), computed block by block
    without copying the design: only the arm term of the linear predictor
    changes, and the arm entry of :math:`\sum_i d_i x^{(a)}_i` is
    :math:`a \sum_i d_i`.
    """
    if counterfactual is None:
        return _arm_marginal_sums(rows, coef, group_coef, link, arm_column)
    X1T, X0T = counterfactual
    offset = rows.by_group(group_coef)
    parts = []
    for XaT in (X1T, X0T):
        eta = combine_rows(coef, XaT) + offset
        if link == "logit":
            pred, d = logistic_parts(eta)
        else:
            pred, d = eta, np.ones_like(eta)
        parts.append(
            (float(pred.sum()), rows_dot(XaT, d), group_total(rows.groups, d, rows.n_groups))
        )
    (p1, gx1, gg1), (p0, gx0, gg0) = parts
    return MarginalSums(X1T.shape[1], p1, p0, gx1, gx0, gg1, gg0)


def _arm_marginal_sums(
    rows: ModelRows, coef: np.ndarray, group_coef: np.ndarray, link: str, arm_column: int
) -> MarginalSums:
    """:func:`marginal_sums` of a design without arm interactions, a block of rows at a time."""
    XT, codes, C = rows.XT, rows.groups, rows.n_groups
    k, n = XT.shape
    b_arm = float(coef[arm_column])
    odds_ratio = math.exp(min(b_arm, _LOG_ODDS_LIMIT))
    p = [0.0, 0.0]
    gx = [np.zeros(k), np.zeros(k)]
    gg = [np.zeros(C), np.zeros(C)]
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        Xb = XT[:, start:stop]
        cb = None if codes is None else codes[start:stop]
        base = coef @ Xb  # the linear predictor without the arm term (BLAS on a block)
        base -= b_arm * Xb[arm_column]
        base += group_coef[0] if cb is None else np.take(group_coef, cb)
        if link == "logit":  # one exp for both arms: the odds of arm 1 are e^b times arm 0's
            odds0 = np.exp(np.clip(base, -_LOG_ODDS_LIMIT, _LOG_ODDS_LIMIT, out=base), out=base)
        for i, value in enumerate((1.0, 0.0)):
            if link == "logit":
                with np.errstate(over="ignore"):  # odds of inf: a mean of 1, a weight of 0
                    odds = odds0 * odds_ratio if value else odds0
                pred, d = _logistic_from_odds(odds)
            else:
                pred, d = base + b_arm * value, np.ones(stop - start)
            p[i] += float(pred.sum())
            gx[i] += Xb @ d
            gg[i] += group_total(cb, d, C)
    for i, value in enumerate((1.0, 0.0)):
        gx[i][arm_column] = value * float(gg[i].sum())  # x^(a) has a in the arm column
    return MarginalSums(n, p[0], p[1], gx[0], gx[1], gg[0], gg[1])


#: Linear predictors are clipped to +-700 before ``exp`` (e^700 is finite; the mean is
#: then 1 or 0 to double precision, as it is at the true value).
_LOG_ODDS_LIMIT = 700.0


def _logistic_from_odds(odds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean :math:`o/(1+o)` and weight :math:`o/(1+o)^2` from odds :math:`o` (``inf`` gives 1, 0).

    Accurate to about 1e-16 in absolute terms (what the sums of the
    marginal means need), not relative in the far tails.

    Examples
    --------
    >>> _logistic_from_odds(np.array([1.0, 0.0, np.inf]))
    (array([0.5, 0. , 1. ]), array([0.25, 0.  , 0.  ]))
    """
    q = np.add(odds, 1.0)
    np.reciprocal(q, out=q)  # 1 / (1 + o): the probability of no event
    mean = np.subtract(1.0, q)
    q *= mean
    return mean, q


def identity_marginal_sums(
    counts: np.ndarray,
    group_means: np.ndarray,
    coef: np.ndarray,
    group_coef: np.ndarray,
    arm_column: int = 0,
) -> MarginalSums:
    """:class:`MarginalSums` of an identity-link model from per-group sizes and column means.

    A linear prediction averages to the prediction at the mean design, so no
    pass over the rows is needed (designs without arm interactions: only the
    arm column changes). ``group_means`` is ``(C, p)``.

    Examples
    --------
    >>> s = identity_marginal_sums(np.array([4]), np.array([[0.5, 2.0]]),
    ...                            np.array([1.0, 0.5]), np.array([3.0]))
    >>> s.mean(1)[0], s.mean(0)[0]  # 3 + 1 + 0.5 * 2, without the arm
    (5.0, 4.0)
    """
    n = int(counts.sum())
    parts = []
    for value in (1.0, 0.0):
        means = np.array(group_means, dtype=float, copy=True)
        means[:, arm_column] = value
        total = float(counts @ (means @ coef + group_coef))
        parts.append((total, counts @ means, counts.astype(float)))
    (p1, gx1, gg1), (p0, gx0, gg0) = parts
    return MarginalSums(n, p1, p0, gx1, gx0, gg1, gg0)


#: The sums of the marginal risk difference (the name of earlier versions).
RiskDifferenceSums = MarginalSums


def risk_difference_sums(
    rows: ModelRows, coef: np.ndarray, group_coef: np.ndarray, arm_column: int = 0
) -> MarginalSums:
    """:func:`marginal_sums` of a logistic fit without arm interactions."""
    return marginal_sums(rows, coef, group_coef, arm_column=arm_column)


def risk_difference_from_sums(
    sums: MarginalSums, arm_column: int = 0
) -> tuple[float, np.ndarray, np.ndarray]:
    """The risk difference and its gradient from :class:`MarginalSums`."""
    m1, gb1, ga1 = sums.mean(1)
    m0, gb0, ga0 = sums.mean(0)
    rd = m1 - m0
    if not math.isfinite(rd):  # pragma: no cover - defensive
        raise AnalysisError("the marginal risk difference is not finite")
    return rd, gb1 - gb0, ga1 - ga0
