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

from coachstats.compare.summaries import pooled_sd
from coachstats.core.errors import AnalysisError, check_number
from coachstats.tasks.power.engines import cohen_h, mean_test, proportion_test
from coachstats.tasks.power.result import PowerResult, solve_design
from coachstats.tasks.power.settings import (
    PROPORTION_METHODS,
    Alternative,
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
    test = proportion_test(q1, q2, method, settings)
    design = check_design(icc, cluster_size, cluster_cv, attrition)
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
        Common within-group SD (see :func:`pooled_sd`), > 0.
    n, power, alpha, ratio, alternative, strict, icc, cluster_size, cluster_cv, attrition, outcome
        As in :func:`power_two_proportions`.

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
    test = mean_test(d, settings)
    design = check_design(icc, cluster_size, cluster_cv, attrition)
    return solve_design(
        test, n, power, design, outcome=outcome, effect=dlt, effect_size=d, delta=dlt, sd=sigma
    )
