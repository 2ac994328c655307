"""The public solvers: sample size or power for two proportions or two means.

Each checks its options (:mod:`coachstats.tasks.power.settings`), builds the
test (:mod:`coachstats.tasks.power.engines`) and solves it with the design
(:func:`coachstats.tasks.power.result.solve_design`).

Examples
--------
>>> power_two_proportions(0.464, 0.343, power=0.8).n_required
(257, 257)
"""

from __future__ import annotations

import math

from coachstats.compare.summaries import pooled_sd
from coachstats.core.errors import AnalysisError, OptionError, check_number
from coachstats.tasks.power.engines import cohen_h, mean_test, proportion_test
from coachstats.tasks.power.result import PowerResult, solve_design
from coachstats.tasks.power.settings import (
    PROPORTION_METHODS,
    Alternative,
    Clustered,
    ProportionMethod,
    check_design,
    check_settings,
    open_unit,
    positive,
)

__all__ = ["pooled_sd", "power_two_means", "power_two_proportions"]


def power_two_proportions(
    p1: float,
    p2: float,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    method: ProportionMethod = "pooled",
    strict: bool | None = None,
    icc: float = 0.0,
    cluster_size: float | None = None,
    cluster_cv: float = 0.0,
    attrition: float = 0.0,
    outcome: str = "",
    clustered: Clustered = "both",
) -> PowerResult:
    r"""Sample size (give ``power``) or power (give ``n``) for comparing two proportions.

    Group 1 (proportion ``p1``, the program) has :math:`n_1` patients, group 2
    :math:`n_2 = r n_1` (``ratio``). With :math:`z = \Phi^{-1}(1 - \alpha/k)`,
    :math:`k = 2` for a two-sided test and 1 for a one-sided test in the
    direction of the effect:

    - ``method="pooled"`` -- the normal approximation of R's
      ``power.prop.test``, with the pooled proportion under H0 and the
      unpooled variance under H1,

      .. math::

          1 - \beta = \Phi\!\left(\frac{|p_1 - p_2|\sqrt{n_1} - z\,s_0}{s_1}\right),\quad
          s_0^2 = \bar p (1 - \bar p)(1 + 1/r),\quad s_1^2 = p_1 q_1 + p_2 q_2 / r,

      :math:`\bar p = (p_1 + r p_2)/(1 + r)`. At :math:`r = 1` this is
      ``power.prop.test`` exactly (:math:`s_0^2 = (p_1 + p_2)(1 - \bar p)`);
      unequal allocation follows Fleiss et al. (2003, ch. 4), as
      ``statsmodels.stats.proportion.power_proportions_2indep``.
    - ``method="arcsine"`` -- Cohen's :math:`h = 2\arcsin\sqrt{p_1} -
      2\arcsin\sqrt{p_2}`, :math:`1 - \beta = \Phi(|h|\sqrt{n_1 n_2/(n_1 + n_2)} - z)`,
      as ``pwr::pwr.2p.test`` / ``pwr.2p2n.test`` and ``statsmodels``'
      ``NormalIndPower``.

    ``strict=True`` adds the far tail of a two-sided test,
    :math:`\Phi((-|\cdot|\sqrt{n_1} - z s_0)/s_1)`. The default (None) follows
    each method's reference: no far tail for ``"pooled"`` (``power.prop.test``'s
    default), far tail for ``"arcsine"`` (``pwr``, ``statsmodels``). Without the
    far tail the sample size has the closed form
    :math:`n_1 = ((z s_0 + z_{1-\beta} s_1)/|\Delta|)^2`; with it, the root is
    found by Brent's method to 1e-12 patients.

    Parameters
    ----------
    p1, p2 : float
        Expected proportions in group 1 (program) and group 2 (comparison), in (0, 1).
    n : float, optional
        Patients *enrolled* in group 1 (computes the power).
    power : float, optional
        Target power, in (0, 1) (computes the sample size). Give exactly one of
        ``n`` and ``power``.
    alpha : float
        Significance level, in (0, 1).
    ratio : float
        :math:`n_2 / n_1`, > 0.
    alternative : {"two-sided", "one-sided"}
        ``"one-sided"`` tests in the direction of the planned effect.
    method : {"pooled", "arcsine"}
        See above.
    strict : bool, optional
        Count the far tail of a two-sided test; None for the method's reference default.
    icc, cluster_size, cluster_cv : float
        Clustered delivery (patients within coaches or clinics): intracluster
        correlation, mean analysed patients per cluster, CV of cluster size;
        see :func:`design_effect`.
    attrition : float
        Share of enrolled patients expected to be lost to follow-up, in [0, 1).
    outcome : str
        Label carried into the result.
    clustered : {"both", "group 1"}
        Which groups are clustered. ``"group 1"`` is a partially nested design:
        coaches in the coaching arm, none in usual care. The design effect then
        applies to group 1 alone: the variance of the difference is
        :math:`\mathrm{DE}\,\sigma_1^2/n_1 + \sigma_2^2/n_2` (Moerbeek & Wong,
        Stat Med 2008;27:2850-64), so group 1 enters the test with its
        effective size :math:`n_1/\mathrm{DE}` and group 2 with all its
        patients (``ratio`` stays the ratio of patients; ``clusters2`` is NaN).

    Returns
    -------
    PowerResult

    Raises
    ------
    OptionError
        A value outside its range, an unknown option, or not exactly one of ``n``/``power``.
    AnalysisError
        ``p1 == p2`` (no effect to detect), or a target power below what the
        approximation gives at any sample size.

    References
    ----------
    Fleiss JL, Levin B, Paik MC (2003), ch. 4; Cohen J (1988), ch. 6;
    R ``stats::power.prop.test``; ``pwr`` 1.3 (Champely S).

    Examples
    --------
    HCPC composite (46.4 % vs 34.3 %), as ``power.prop.test(p1 = .464, p2 = .343, power = .8)``:

    >>> r = power_two_proportions(0.464, 0.343, power=0.8)
    >>> round(r.n1, 4), r.n_required
    (256.878, (257, 257))

    Cohen's h, twice as many in the comparison group, as ``pwr.2p2n.test``:

    >>> r = power_two_proportions(0.464, 0.343, power=0.8, method="arcsine", ratio=2)
    >>> round(r.effect_size, 4), r.n_required
    (0.2473, (193, 385))

    The power of 200 per group:

    >>> round(power_two_proportions(0.464, 0.343, n=200).power, 4)
    0.6951
    """
    settings = check_settings(
        n, power, alpha, ratio, alternative, strict, method, PROPORTION_METHODS
    )
    q1, q2 = open_unit("p1", p1), open_unit("p2", p2)
    if q1 == q2:
        raise AnalysisError(f"p1 and p2 are both {q1!r}: there is no difference to detect")
    design = check_design(icc, cluster_size, cluster_cv, attrition, clustered)
    settings = settings._replace(ratio=design.effective_ratio(settings.ratio))
    test = proportion_test(q1, q2, method, settings)
    h = cohen_h(q1, q2)
    return solve_design(
        test, n, power, design, outcome=outcome, effect=q1 - q2, effect_size=h, p1=q1, p2=q2
    )


def power_two_means(
    delta: float,
    sd: float,
    *,
    n: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    strict: bool | None = None,
    icc: float = 0.0,
    cluster_size: float | None = None,
    cluster_cv: float = 0.0,
    attrition: float = 0.0,
    outcome: str = "",
    clustered: Clustered = "both",
    sd2: float | None = None,
) -> PowerResult:
    r"""Sample size (give ``power``) or power (give ``n``) for comparing two means.

    The two-sample t test with a common SD: with :math:`d = \delta/\sigma`,
    :math:`n_2 = r n_1`, :math:`\nu = n_1 + n_2 - 2` and noncentrality
    :math:`\lambda = |d| / \sqrt{1/n_1 + 1/n_2}`,

    .. math::

        1 - \beta = P(T_{\nu,\lambda} > t_{\nu, 1-\alpha/k})
                    \;[\,+\, P(T_{\nu,\lambda} < -t_{\nu, 1-\alpha/k})\ \text{if strict}]

    with :math:`T_{\nu,\lambda}` noncentral t, :math:`k = 2` (two-sided) or 1.
    At :math:`r = 1` this is R's ``power.t.test`` (``strict`` as there,
    default False); with ``strict=True`` it is ``pwr::pwr.t2n.test`` and
    ``statsmodels``' ``TTestIndPower``. The sample size is found by Brent's
    method to 1e-12 patients; at least 2 patients per group (``pwr.t2n.test``'s
    limit), with a :class:`PowerWarning` when that minimum already reaches the
    target power.

    Parameters
    ----------
    delta : float
        Expected difference in means, group 1 minus group 2 (e.g. the
        difference in HbA1c change); its sign does not matter.
    sd : float
        Common within-group SD (see :func:`pooled_sd`), > 0; with
        ``clustered="group 1"`` the total SD in group 1 (the coached arm).
    n, power, alpha, ratio, alternative, strict, icc, cluster_size, cluster_cv, attrition, outcome
        As in :func:`power_two_proportions`.
    clustered : {"both", "group 1"}
        As in :func:`power_two_proportions`: ``"group 1"`` applies the design
        effect to group 1 only (partially nested design). The test is then the
        noncentral t on the effective sizes :math:`n_1/\mathrm{DE}` and
        :math:`n_2 \sigma^2/\sigma_2^2` (the normal approximation for large
        samples; with few coaches it is optimistic, as the Satterthwaite df of
        the mixed model are fewer).
    sd2 : float, optional
        SD in group 2 of a partially nested design (default ``sd``). The mixed
        model of :func:`coachstats.compare.mixed` with ``clustered_arm=`` has
        one residual variance, so under it usual care's SD is the coached
        arm's within-coach SD, ``sd * sqrt(1 - icc)``.

    Returns
    -------
    PowerResult

    Raises
    ------
    OptionError
        A value outside its range, an unknown option, or not exactly one of ``n``/``power``.
    AnalysisError
        ``delta == 0``, or ``n`` leaving fewer than 2 effective patients per group.

    References
    ----------
    Cohen J (1988), ch. 2; R ``stats::power.t.test``; ``pwr::pwr.t2n.test``.

    Examples
    --------
    Peer-coaching HbA1c change, -1.07 vs -0.30 (difference 0.77), pooled SD 2.95:

    >>> sd = pooled_sd(2.8, 122, 3.1, 114)
    >>> r = power_two_means(-0.77, sd, power=0.8)
    >>> round(r.n1, 3), r.n_required
    (231.168, (232, 232))

    Cohen's medium effect, as ``power.t.test(delta = .5, power = .8)`` (n = 63.77):

    >>> round(power_two_means(0.5, 1.0, power=0.8).n1, 2)
    63.77
    """
    settings = check_settings(n, power, alpha, ratio, alternative, strict, "t", ("t",))
    dlt = check_number("delta", delta)
    sigma = positive("sd", sd)
    if dlt == 0.0:
        raise AnalysisError("delta is 0: there is no difference to detect")
    d = dlt / sigma
    if sd2 is not None and clustered != "group 1":
        raise OptionError(
            "sd2 (the SD of group 2) is for a partially nested design (clustered='group 1'); "
            "with a common SD give sd alone"
        )
    sigma2 = sigma if sd2 is None else positive("sd2", sd2)
    design = check_design(
        icc, cluster_size, cluster_cv, attrition, clustered, (sigma2 / sigma) ** 2
    )
    settings = settings._replace(ratio=design.effective_ratio(settings.ratio))
    test = mean_test(d, settings)
    return solve_design(
        test,
        n,
        power,
        design,
        outcome=outcome,
        effect=dlt,
        effect_size=d,
        delta=dlt,
        sd=sigma,
        sd2=math.nan if sd2 is None else sigma2,
    )
