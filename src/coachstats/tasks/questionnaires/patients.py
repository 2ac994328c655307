"""The patients' questionnaires: trust, PACIC and recommending the clinic, as published and alternatives.

See :mod:`coachstats.tasks.questionnaires` for the accounting these share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from coachstats.core.errors import (
    check_option,
)
from coachstats.plan import (
    AnalysisSpec,
    replace_spec,
)
from coachstats.tasks.questionnaires.flow import analyse, check_months, compare_options
from coachstats.tasks.questionnaires.result import (
    CORRELATIONS,
    Correlation,
    QuestionnaireAnalyses,
    Role,
)
from coachstats.tasks.questionnaires.scoring import scored

__all__ = [
    "pacic_analyses",
    "recommend_analyses",
    "trust_analyses",
]


def trust_analyses(
    data: pd.DataFrame,
    *,
    arm: str = "arm",
    cluster: str = "clinician_id",
    covariates: Sequence[str] = ("pcp_visits",),
    score: str = "trust",
    baseline: int = 0,
    followup: int = 12,
    treatment: str | None = None,
    conf_level: float = 0.95,
) -> QuestionnaireAnalyses:
    r"""Trust in Physician: change from baseline by arm, as published and two alternatives.

    With :math:`\Delta_i = s_{i,12} - s_{i,0}` the change of the 0-100 score,
    :math:`A_i` the arm (1 = coaching) and :math:`x_i` the covariates (PCP
    visits in the prior year):

    1. *published* (Thom et al. 2014): linear mixed model
       :math:`\Delta_{ij} = \beta_0 + \beta_A A_{ij} + x_{ij}^\top\beta + u_j
       + \varepsilon_{ij}`, :math:`u_j \sim N(0, \tau^2)` for clinician
       :math:`j`; REML, Satterthwaite df (R ``lmerTest::lmer``). With the default
       covariate (PCP visits) this is the analysis whose P the abstract prints
       "after adjustment" (.03); ``covariates=()`` gives the unadjusted one
       (printed "0.47", read as .047);
    2. ANCOVA: :math:`s_{i,12} = \beta_0 + \beta_A A_i + \gamma s_{i,0} +
       x_i^\top\beta + \varepsilon_i` by OLS (R ``lm``), ignoring clinicians;
    3. Welch t test of :math:`\Delta_i` between arms (R ``t.test``).

    All three use the patients with both scores, the covariates and the
    cluster; the others are counted in ``flow`` and ``n_excluded``.

    Parameters
    ----------
    data : DataFrame
        One row per randomized patient, with the score columns
        ``{score}_{baseline}`` and ``{score}_{followup}`` or the trust items
        (``trust_q1_0`` ..; scored by :func:`score_questionnaires`: at least 9
        of 11 items, prorated).
    arm : str
        The arm column.
    cluster : str
        The clinician column of the random intercept.
    covariates : sequence of str
        Adjustment of the mixed model and the ANCOVA (the paper: PCP visits).
    score : str
        Stem of the score columns.
    baseline, followup : int
        Months of the two scores.
    treatment : str, optional
        The treatment arm's label (default ``"coaching"``).
    conf_level : float
        Confidence level of the intervals.

    Returns
    -------
    QuestionnaireAnalyses
        Labels ``"mixed model of the change"`` (published), ``"ANCOVA"``,
        ``"t test of the change"``.

    Raises
    ------
    ColumnNotFoundError
        A score (and its items), covariate or cluster column is absent.
    SchemaError
        Invalid item responses (see :mod:`coachstats.derive.scales`).
    AnalysisError
        No rows left, one arm, or a cluster column with a single level.

    References
    ----------
    Thom DH, et al. Patient Educ Couns 2014;96:135-138.
    Vickers AJ, Altman DG. BMJ 2001;323:1123-1124 (ANCOVA vs change scores).

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats.core.paths import bundled_table
    >>> r = trust_analyses(pd.read_csv(bundled_table("hcpc_patients")))
    >>> [(a.arm, a.n, round(a.value, 1)) for a in r.published.arms]
    [('coaching', 190, 3.9), ('usual_care', 176, 1.5)]
    >>> r.published.format_p()
    '.047'
    """
    check_months(baseline, followup)
    s0, s12 = f"{score}_{baseline}", f"{score}_{followup}"
    covs = tuple(dict.fromkeys(covariates))
    data = scored(data, [s0, s12])
    mixed = AnalysisSpec(
        s12,
        "mixed",
        label="mixed model of the change",
        change_from=s0,
        covariates=covs,
        cluster=cluster,
        arm=arm,
        options=compare_options(treatment, conf_level),
    )
    specs: list[tuple[AnalysisSpec, Role]] = [
        (mixed, "published"),
        (
            replace_spec(
                mixed,
                method="ancova",
                label="ANCOVA",
                change_from=None,
                cluster=None,
                options={"baseline": s0},
            ),
            "alternative",
        ),
        (
            replace_spec(
                mixed, method="t_test", label="t test of the change", covariates=(), cluster=None
            ),
            "alternative",
        ),
    ]
    return analyse(data, score, specs, arm=arm, treatment=treatment, scored=[s0, s12])[0]


def _two_time_gee(
    data: pd.DataFrame,
    outcome_stem: str,
    column: str,
    months: tuple[int, int],
    *,
    family: Literal["gaussian", "binomial"],
    arm: str,
    cluster: str,
    corr: str,
    treatment: str | None,
    conf_level: float,
) -> QuestionnaireAnalyses:
    """GEE of the follow-up value, unadjusted (published) and baseline-adjusted.

    ``column`` names the value at a month (``"{stem}_{month}"``); ``months`` are
    the baseline and follow-up months.
    """
    check_months(*months)
    check_option("corr", corr, CORRELATIONS)
    y0, y12 = (column.format(stem=outcome_stem, month=m) for m in months)
    data = scored(data, [y0, y12])
    published = AnalysisSpec(
        y12,
        "gee",
        label="GEE",
        cluster=cluster,
        complete_on=(y0, y12),
        arm=arm,
        options=compare_options(treatment, conf_level, family=family, corr=corr),
    )
    adjusted = replace_spec(published, label="GEE, baseline-adjusted", covariates=(y0,))
    specs: list[tuple[AnalysisSpec, Role]] = [(published, "published"), (adjusted, "alternative")]
    return analyse(data, outcome_stem, specs, arm=arm, treatment=treatment, scored=[y0, y12])[0]


def pacic_analyses(
    data: pd.DataFrame,
    *,
    arm: str = "arm",
    cluster: str = "clinician_id",
    score: str = "pacic",
    baseline: int = 0,
    followup: int = 12,
    corr: Correlation = "exchangeable",
    treatment: str | None = None,
    conf_level: float = 0.95,
) -> QuestionnaireAnalyses:
    r"""PACIC at 12 months by arm: GEE clustered by clinician, unadjusted and baseline-adjusted.

    Gaussian GEE with the identity link,
    :math:`E[y_{ij,12}] = \beta_0 + \beta_A A_{ij}` (published, Thom et al.
    2015) and :math:`\beta_0 + \beta_A A_{ij} + \gamma y_{ij,0}` (adjusted for
    the baseline score, which removes the chance baseline imbalance and
    usually narrows the interval), working correlation exchangeable within
    clinician :math:`j`, robust (sandwich) SE and Wald z test (R
    ``geepack::geeglm``). Both use the patients with the score at both time
    points (the paper's n = 366).

    Parameters
    ----------
    data : DataFrame
        One row per randomized patient, with ``{score}_{baseline}`` and
        ``{score}_{followup}`` or the 20 PACIC items per month (a subscale:
        ``score="pacic_goal_setting"``).
    arm, cluster, treatment, conf_level
        As in :func:`trust_analyses`.
    score : str
        Stem of the score columns.
    baseline, followup : int
        Months of the two scores.
    corr : {"exchangeable", "independence"}
        Working correlation.

    Returns
    -------
    QuestionnaireAnalyses
        Labels ``"GEE"`` (published) and ``"GEE, baseline-adjusted"``.

    References
    ----------
    Thom DH, et al. Am J Manag Care 2015;21:685-691.
    Glasgow RE, et al. Med Care 2005;43:436-444 (PACIC).

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats.core.paths import bundled_table
    >>> r = pacic_analyses(pd.read_csv(bundled_table("hcpc_patients")))
    >>> [(a.arm, round(a.value, 2)) for a in r.published.arms], r.published.format_p()
    ([('coaching', 3.82), ('usual_care', 3.13)], '< .001')
    """
    return _two_time_gee(
        data,
        score,
        "{stem}_{month}",
        (baseline, followup),
        family="gaussian",
        arm=arm,
        cluster=cluster,
        corr=corr,
        treatment=treatment,
        conf_level=conf_level,
    )


def recommend_analyses(
    data: pd.DataFrame,
    *,
    arm: str = "arm",
    cluster: str = "clinician_id",
    item: str = "recommend",
    baseline: int = 0,
    followup: int = 12,
    corr: Correlation = "exchangeable",
    treatment: str | None = None,
    conf_level: float = 0.95,
) -> QuestionnaireAnalyses:
    r"""'Would definitely recommend' at 12 months by arm: binomial GEE clustered by clinician.

    Logistic GEE, :math:`\operatorname{logit} P(y_{ij,12} = 1) = \beta_0 +
    \beta_A A_{ij}` (published, Thom et al. 2015) and the same adjusted for
    the baseline answer :math:`y_{ij,0}`; exchangeable working correlation
    within clinician, robust SE, Wald z test (R ``geepack::geeglm``). The
    estimate is the odds ratio :math:`e^{\hat\beta_A}`; the per-arm
    proportions are in the results' ``arms``. Patients who answered at both
    times are analysed.

    Parameters
    ----------
    data : DataFrame
        One row per randomized patient, with the binaries
        ``{item}_definitely_{month}`` or the 4-point items ``{item}_{month}``
        (4 = definitely; see :func:`score_questionnaires`). For another scale
        or cut, compute the binaries with
        :func:`coachstats.derive.scales.recommend_binary` first.
    arm, cluster, treatment, conf_level, corr
        As in :func:`pacic_analyses`.
    item : str
        Stem of the item: ``"recommend"`` (the clinic) or ``"recommend_pcp"``.
    baseline, followup : int
        Months of the two answers.

    Returns
    -------
    QuestionnaireAnalyses
        Labels ``"GEE"`` (published) and ``"GEE, baseline-adjusted"``.

    References
    ----------
    Thom DH, et al. Am J Manag Care 2015;21:685-691.

    Examples
    --------
    >>> import pandas as pd
    >>> from coachstats.core.paths import bundled_table
    >>> r = recommend_analyses(pd.read_csv(bundled_table("hcpc_patients")))
    >>> [(a.arm, a.events, a.n) for a in r.published.arms], r.published.format_p()
    ([('coaching', 162, 190), ('usual_care', 128, 176)], '.002')
    """
    return _two_time_gee(
        data,
        item,
        "{stem}_definitely_{month}",
        (baseline, followup),
        family="binomial",
        arm=arm,
        cluster=cluster,
        corr=corr,
        treatment=treatment,
        conf_level=conf_level,
    )
