r"""Two-arm comparisons of a binary endpoint: chi-square, Fisher, RD / RR / OR.

Every comparison works on the 2x2 table of one endpoint by arm,

=============  ===========  =============
arm            event        no event
=============  ===========  =============
treatment      :math:`a`    :math:`b`       (:math:`n_1 = a + b`, :math:`x_1 = a`)
control        :math:`c`    :math:`d`       (:math:`n_2 = c + d`, :math:`x_2 = c`)
=============  ===========  =============

and returns a :class:`~coachstats.core.results.ComparisonResult` whose test
(``statistic``/``df``/``p_value``) and effect measure (``estimate`` with its
interval) are chosen independently:

- tests: Pearson chi-square (``"chi-square"``, optionally with Yates'
  correction), the pooled two-proportion z test (``"z"``; :math:`z^2` equals the
  chi-square), the Wald test of the chosen measure (``"wald"``) and Fisher's
  exact test (``"fisher"``);
- measures: risk difference :math:`p_1 - p_2` (Wald or Newcombe hybrid score
  interval), relative risk :math:`p_1/p_2` (log-scale Wald interval), odds ratio
  :math:`ad/(bc)` (Woolf interval) or its conditional maximum-likelihood estimate
  with the exact interval of Fisher's test.

The DataFrame functions (:func:`chi_square`, :func:`fisher_exact`,
:func:`risk_difference`, :func:`relative_risk`, :func:`odds_ratio`,
:func:`by_arm`) all go through :func:`coachstats.compare.prepare.prepare`
(complete cases, counted in ``n_excluded``) and then the counts-level
:func:`two_proportions`, which the reproduce and evaluate code call directly
with published counts.

Examples
--------
The HCPC composite endpoint (../shared/published.md: 90/194 vs 61/178, Pearson
chi-square without correction, P = .017):

>>> r = two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"))
>>> round(r.statistic, 3), round(r.p_value, 4), r.format_p()
(5.657, 0.0174, '.02')
>>> round(r.estimate, 4), round(r.conf_low, 4), round(r.conf_high, 4)
(0.1212, 0.0223, 0.2201)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from coachstats.compare.prepare import accepts_dask, prepare

# The table-level names are re-exported: ``coachstats.compare.proportions`` is
# where callers have imported them from.
from coachstats.compare.twobytwo import (
    DEFAULT_TEST,
    ESTIMANDS,
    INTERVAL_NAMES,
    INTERVALS,
    TESTS,
    ZERO_CELL,
    Estimand,
    Interval,
    ORMethod,
    RDInterval,
    Test,
    ZeroCell,
    as_binary,
    check_conf_level,
    newcombe_interval,
    normal_quantile,
    normal_test,
    two_proportions,
    wilson_interval,
)
from coachstats.core.errors import check_option
from coachstats.core.results import ComparisonResult

__all__ = [
    "DEFAULT_TEST",
    "ESTIMANDS",
    "INTERVALS",
    "INTERVAL_NAMES",
    "TESTS",
    "ZERO_CELL",
    "ArmCounts",
    "as_binary",
    "by_arm",
    "check_conf_level",
    "chi_square",
    "fisher_exact",
    "newcombe_interval",
    "normal_quantile",
    "normal_test",
    "odds_ratio",
    "relative_risk",
    "risk_difference",
    "two_proportions",
    "wilson_interval",
]


# --------------------------------------------------------------------------- DataFrame API
@dataclass(frozen=True)
class ArmCounts:
    """Complete-case events and sizes per arm, counted elsewhere (e.g. over streamed rows).

    The DataFrame functions of this module accept it in place of a DataFrame:
    ``chi_square(ArmCounts((x1, n1, x2, n2), ("coaching", "usual_care")), "goal")``
    (``arm``, ``treatment`` and ``control`` are then ignored: the labels are
    already resolved, treatment first).

    Examples
    --------
    >>> r = chi_square(ArmCounts((90, 194, 61, 178), ("coaching", "usual_care")), "goal")
    >>> r.format_p(), [a.events for a in r.arms]
    ('.02', [90, 61])
    """

    counts: tuple[int, int, int, int]
    labels: tuple[str, str]
    n_excluded: int = 0
    excluded_reason: str = ""


def _arm_counts(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    arm: str,
    treatment: str | None,
    control: str | None,
) -> tuple[tuple[int, int, int, int], tuple[str, str], int, str]:
    """Complete-case 2x2 counts of ``outcome`` by ``arm`` (treatment first)."""
    if isinstance(data, ArmCounts):
        return data.counts, data.labels, data.n_excluded, data.excluded_reason
    prep = prepare(data, [outcome], arm=arm, treatment=treatment, control=control)
    y = as_binary(prep.frame[outcome])
    n1 = int(prep.treated.sum())
    x1 = int(y[prep.treated].sum())
    counts = (x1, n1, int(y.sum()) - x1, len(y) - n1)
    return counts, prep.labels, prep.n_excluded, prep.excluded_reason


def _compare(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    *,
    arm: str,
    treatment: str | None,
    control: str | None,
    test: Test,
    correct: bool,
    estimand: Estimand,
    ci: Interval | None,
    conf_level: float,
    zero_cell: ZeroCell,
) -> ComparisonResult:
    counts, labels, n_excluded, reason = _arm_counts(data, outcome, arm, treatment, control)
    result = two_proportions(
        *counts,
        test=test,
        correct=correct,
        estimand=estimand,
        ci=ci,
        conf_level=conf_level,
        zero_cell=zero_cell,
        labels=labels,
        outcome=outcome,
    )
    return result.replace(n_excluded=n_excluded, excluded_reason=reason)


def _default_test(ci: str, test: Test | None) -> Test:
    if test is not None:
        return test
    return DEFAULT_TEST[ci]


@accepts_dask("chi_square")
def chi_square(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    conf_level: float = 0.95,
    correct: bool = False,
    estimand: Estimand = "risk difference",
    ci: Interval | None = None,
    zero_cell: ZeroCell = "haldane",
) -> ComparisonResult:
    r"""Pearson chi-square test of a binary endpoint between two arms (R ``chisq.test``).

    :math:`X^2 = \sum_{cells} (|O - E| - Y)^2 / E` on the 2x2 table, df = 1, with
    Yates' :math:`Y = \min(0.5, |O - E|)` when ``correct`` (else 0). The
    ``estimate`` is the chosen effect measure with its interval; with the
    default risk difference and Wald interval the whole result equals R's
    ``prop.test(correct = correct)``. See :func:`two_proportions` for every
    option.

    Parameters
    ----------
    data : DataFrame
        One row per patient; rows missing ``outcome`` or ``arm`` are excluded and
        counted in ``n_excluded``.
    outcome : str
        Binary column (0/1 or bool).
    arm, treatment, control : str
        Arm column and labels (treatment defaults to ``"coaching"``).
    conf_level, correct, estimand, ci, zero_cell
        As in :func:`two_proportions`.

    References
    ----------
    Pearson K. Philos Mag 1900;50:157-175. Yates F. Suppl J R Stat Soc 1934;1:217-235.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 194 + ["usual_care"] * 178,
    ...                    "goal": [1] * 90 + [0] * 104 + [1] * 61 + [0] * 117})
    >>> r = chi_square(df, "goal")
    >>> r.format_p(), round(r.p_value, 4)
    ('.02', 0.0174)
    >>> round(chi_square(df, "goal", correct=True).p_value, 4)
    0.023
    """
    return _compare(
        data,
        outcome,
        arm=arm,
        treatment=treatment,
        control=control,
        test="chi-square",
        correct=correct,
        estimand=estimand,
        ci=ci,
        conf_level=conf_level,
        zero_cell=zero_cell,
    )


@accepts_dask("fisher")
def fisher_exact(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    conf_level: float = 0.95,
    estimand: Estimand = "odds ratio",
    ci: Interval | None = None,
) -> ComparisonResult:
    r"""Fisher's exact test with the conditional MLE odds ratio (R ``fisher.test``).

    Given the margins, the treatment-arm events :math:`A` follow Fisher's
    noncentral hypergeometric distribution
    :math:`P(A = t) \propto \binom{n_1}{t}\binom{n_2}{m_1 - t}\psi^t`. The
    two-sided P sums :math:`P_{\psi=1}(A = t)` over the tables with
    :math:`P(A = t) \le (1 + 10^{-7}) P(A = a)`; the estimate solves
    :math:`E_\psi[A] = a`; the interval solves :math:`P_\psi(A \ge a) = \alpha/2`
    and :math:`P_\psi(A \le a) = \alpha/2` (0 or infinity at the edges of the
    support). ``std_error`` and ``statistic`` are NaN: the test has neither.

    ``estimand`` may instead be the risk difference or the relative risk, with
    their intervals (``ci``, see :func:`two_proportions`; ``"newcombe"`` suits
    the small tables this test is for): the P stays Fisher's exact P.

    References
    ----------
    Fisher RA. J R Stat Soc 1922;85:87-94. Agresti A. Categorical Data Analysis,
    3rd ed., section 3.5.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 14 + ["usual_care"] * 16,
    ...                    "goal": [1] * 2 + [0] * 12 + [1] * 8 + [0] * 8})
    >>> r = fisher_exact(df, "goal")
    >>> round(r.p_value, 4), round(r.estimate, 4)
    (0.0577, 0.1773)
    >>> rd = fisher_exact(df, "goal", estimand="risk difference", ci="newcombe")
    >>> round(rd.p_value, 4), round(rd.estimate, 4), rd.method
    (0.0577, -0.3571, "Fisher's exact test")
    """
    return _compare(
        data,
        outcome,
        arm=arm,
        treatment=treatment,
        control=control,
        test="fisher",
        correct=False,
        estimand=estimand,
        ci="conditional" if ci is None and estimand == "odds ratio" else ci,
        conf_level=conf_level,
        zero_cell="haldane",
    )


def risk_difference(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    conf_level: float = 0.95,
    ci: RDInterval = "wald",
    test: Test | None = None,
    correct: bool = False,
) -> ComparisonResult:
    r"""Risk difference :math:`\hat p_1 - \hat p_2` with a Wald or Newcombe interval.

    Wald: :math:`\hat p_1 - \hat p_2 \pm z_{1-\alpha/2}\sqrt{\hat p_1(1-\hat p_1)/n_1
    + \hat p_2(1-\hat p_2)/n_2}` (clipped to [-1, 1]; R ``prop.test(correct =
    FALSE)``). Newcombe: the hybrid score interval (:func:`newcombe_interval`).
    ``test=None`` gives the Wald test with the Wald interval and the pooled z
    (score) test with Newcombe's; ``test="chi-square"`` gives the trials' test.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 70 + ["usual_care"] * 80,
    ...                    "goal": [1] * 56 + [0] * 14 + [1] * 48 + [0] * 32})
    >>> r = risk_difference(df, "goal", ci="newcombe")
    >>> round(r.estimate, 4), round(r.conf_low, 4), round(r.conf_high, 4)
    (0.2, 0.0524, 0.3339)
    """
    check_option("ci (for the risk difference)", ci, INTERVALS["risk difference"])
    return _compare(
        data,
        outcome,
        arm=arm,
        treatment=treatment,
        control=control,
        test=_default_test(ci, test),
        correct=correct,
        estimand="risk difference",
        ci=ci,
        conf_level=conf_level,
        zero_cell="haldane",
    )


def relative_risk(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    conf_level: float = 0.95,
    test: Test | None = None,
    zero_cell: ZeroCell = "haldane",
) -> ComparisonResult:
    r"""Relative risk :math:`\hat p_1/\hat p_2` with a log-scale Wald interval.

    :math:`\exp\{\log\widehat{RR} \pm z_{1-\alpha/2}\sqrt{1/x_1 - 1/n_1 + 1/x_2 - 1/n_2}\}`;
    a zero event count is handled as ``zero_cell`` says (see
    :func:`two_proportions`). ``std_error`` is the SE of :math:`\log RR`.
    ``test=None`` gives the Wald test of :math:`\log RR = 0`.

    References
    ----------
    Katz D, Baptista J, Azen SP, Pike MC. Obtaining confidence intervals for the
    risk ratio in cohort studies. Biometrics 1978;34:469-474.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 194 + ["usual_care"] * 178,
    ...                    "goal": [1] * 90 + [0] * 104 + [1] * 61 + [0] * 117})
    >>> r = relative_risk(df, "goal")
    >>> round(r.estimate, 3), round(r.conf_low, 3), round(r.conf_high, 3)
    (1.354, 1.051, 1.744)
    """
    return _compare(
        data,
        outcome,
        arm=arm,
        treatment=treatment,
        control=control,
        test=_default_test("wald", test),
        correct=False,
        estimand="relative risk",
        ci="wald",
        conf_level=conf_level,
        zero_cell=zero_cell,
    )


def odds_ratio(
    data: pd.DataFrame | ArmCounts,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    conf_level: float = 0.95,
    method: ORMethod = "woolf",
    test: Test | None = None,
    zero_cell: ZeroCell = "haldane",
) -> ComparisonResult:
    r"""Odds ratio: the sample OR with Woolf's interval, or the conditional MLE (Fisher).

    Woolf: :math:`\widehat{OR} = ad/(bc)`, interval
    :math:`\exp\{\log\widehat{OR} \pm z_{1-\alpha/2}\sqrt{1/a+1/b+1/c+1/d}\}` (the
    same as ``glm(binomial)`` with the arm as the only covariate); zero cells as
    ``zero_cell`` says. Conditional: the estimate and exact interval of
    :func:`fisher_exact`. ``test=None`` gives the Wald test (Woolf) or Fisher's
    test (conditional).

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching"] * 121 + ["usual_care"] * 108,
    ...                    "goal": [1] * 60 + [0] * 61 + [1] * 34 + [0] * 74})
    >>> round(odds_ratio(df, "goal").estimate, 4)
    2.1408
    >>> round(odds_ratio(df, "goal", method="conditional").estimate, 4)
    2.1336
    """
    check_option("method", method, INTERVALS["odds ratio"])
    return _compare(
        data,
        outcome,
        arm=arm,
        treatment=treatment,
        control=control,
        test=_default_test(method, test),
        correct=False,
        estimand="odds ratio",
        ci=method,
        conf_level=conf_level,
        zero_cell=zero_cell,
    )


def by_arm(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
) -> pd.DataFrame:
    """Per-arm counts and percentages of a binary endpoint, and for both arms together.

    Returns
    -------
    DataFrame
        One row per arm (treatment first) and a final ``"all"`` row, with columns
        ``arm``, ``n`` (analysed, non-missing outcome), ``events``, ``percent``
        (100 events / n) and ``n_missing`` (rows of that arm missing the
        outcome). Rows missing the arm are not counted anywhere.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["coaching", "coaching", "usual_care", "usual_care"],
    ...                    "goal": [1, None, 0, 1]})
    >>> by_arm(df, "goal").round(1)
              arm  n  events  percent  n_missing
    0    coaching  1       1    100.0          1
    1  usual_care  2       1     50.0          0
    2         all  3       2     66.7          1
    """
    (x1, n1, x2, n2), labels, _, _ = _arm_counts(data, outcome, arm, treatment, control)
    arm_values = data[arm].astype("string")
    missing = data[outcome].isna().to_numpy()
    miss = [int((missing & (arm_values == lab).fillna(False).to_numpy()).sum()) for lab in labels]
    table = pd.DataFrame(
        {
            "arm": [*labels, "all"],
            "n": [n1, n2, n1 + n2],
            "events": [x1, x2, x1 + x2],
            "n_missing": [*miss, sum(miss)],
        }
    )
    table.insert(3, "percent", 100.0 * table["events"] / table["n"])
    return table
