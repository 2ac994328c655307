r"""Direct (regression) standardization of a program's outcome to a reference population.

:func:`standardize` fits a model of the outcome on baseline covariates (and the
arm) on the program, then averages its predictions over the covariates of a
reference population (:func:`averaged_predictions`): the program's figure had
its patients had the reference's case mix (g-computation; Muller and
MacLehose 2014). It also gives the raw figure (no model) and the same model
averaged over the program's own patients (adjusted, not standardized), so that
what moved a number -- the adjustment or the case mix -- can be told apart.
The interval treats the reference as fixed; for a logistic model it is the
delta method where :mod:`~coachstats.compare.standardization_interval` trusts
it, a percentile bootstrap or no figure where it does not.

References
----------
Muller CJ, MacLehose RF. Estimating predicted probabilities from logistic
regression: different methods correspond to different target populations. Int J
Epidemiol 2014;43:962-970.

Examples
--------
>>> a = averaged_predictions(np.array([0.5, 0.2]), -0.4, np.array([[2.0], [4.0]]),
...                          binary=False, two_arm=True)
>>> round(a.estimate, 12), [round(m, 12) for m in a.means]  # the arm's coefficient
(0.5, [0.7, 0.2])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from coachstats.compare.dist import norm_sf, t_ppf, t_sf
from coachstats.compare.standardization_interval import (
    BootstrapInterval,
    arm_designs,
    bootstrap_standardization,
    delta_check,
)
from coachstats.compare.twobytwo import normal_quantile
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "BOOT_MAX_N",
    "INTERVAL_LABELS",
    "N_BOOT",
    "SEED",
    "WITHHELD",
    "Averaged",
    "averaged_predictions",
    "standardize",
]

#: Bootstrap resamples of a logistic standardization whose delta-method interval is not trusted.
N_BOOT = 2000
#: Their seed (fixed: the same file gives the same interval).
SEED = 2015
#: The most patients the bootstrap refits (``n_boot`` times; about 10 s at this size): above
#: it, a figure whose delta method is not trusted is withheld instead (with ``interval="auto"``).
BOOT_MAX_N = 20_000

#: How a standardized figure withheld for too little data starts its reason.
WITHHELD = "too little data for a trustworthy interval"

IntervalChoice = Literal["auto", "delta", "bootstrap"]

#: Each interval method (``extra["interval_kind"]``) in a table's few words.
INTERVAL_LABELS: dict[str, str] = {
    "delta": "delta method",
    "t": "t",
    "bootstrap": "percentile bootstrap",
}


def _covariate_matrix(frame: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    cols = []
    for c in covariates:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            cols.append(pd.to_numeric(s.astype("Float64")).to_numpy(dtype=float, na_value=np.nan))
        else:
            raise AnalysisError(
                f"standardization covariate {c!r} must be numeric or boolean (dtype {s.dtype})"
            )
    return np.column_stack(cols) if cols else np.zeros((len(frame), 0))


def standardize(
    data: pd.DataFrame,
    reference: pd.DataFrame,
    outcome: str,
    *,
    covariates: Sequence[str],
    arm: str | None = None,
    conf_level: float = 0.95,
    reference_name: str = "reference",
    interval: IntervalChoice = "auto",
    n_boot: int = N_BOOT,
    seed: int = SEED,
    label: str = "program",
) -> ComparisonResult:
    r"""Direct (regression) standardization of a program's outcome to a reference population.

    Fit, on the program's complete cases, :math:`g(E[y]) = \alpha + \beta_a a +
    x^\top\beta` (logistic for a binary outcome, linear otherwise; the arm term
    :math:`a` only with ``arm``), then average the predictions over the
    reference patients :math:`x_j^{ref}`
    (:func:`~coachstats.compare.standardization.averaged_predictions`):

    .. math::

        \hat\theta = \frac1m \sum_{j=1}^m \hat\mu(x_j^{ref})
        \quad\text{or, two-arm,}\quad
        \hat\theta = \frac1m \sum_j \{\hat\mu(1, x_j^{ref}) - \hat\mu(0, x_j^{ref})\}.

    The model has no arm-by-covariate term: it assumes the same odds ratio
    (logistic) or the same difference (linear) of the arms at every covariate
    value. So a linear two-arm figure *is* the adjusted difference
    :math:`\hat\beta_a`, whatever the reference; a logistic one moves with the
    reference's risk (the same odds ratio is a smaller difference in points
    where the risk is near 0 or 1).

    The interval treats the reference covariates as fixed (the model's
    coefficients are the only uncertainty):

    * linear: :math:`\operatorname{Var}\hat\theta = g^\top V g` with
      :math:`g = \partial\hat\theta/\partial(\alpha, \beta)`, a t interval on the
      residual degrees of freedom (exact under normal errors: :math:`\hat\theta`
      is linear in the coefficients);
    * logistic, ``interval="auto"``: the delta method (the same :math:`g^\top V g`,
      :math:`g = \frac1m\sum_j \mu_j(1-\mu_j)(1, a, x_j)`, normal interval) where
      :func:`~coachstats.compare.standardization.delta_check` trusts it (at least
      10 patients with and without the outcome per coefficient, and at least 10
      expected with and without it per arm at the reference's case mix); a
      percentile bootstrap (``n_boot`` resamples within arm, ``seed``;
      :func:`~coachstats.compare.standardization.bootstrap_standardization`)
      between 5 and 10; below 5, when the bootstrap's limits could fall on
      resamples without a finite estimate, or when its interval does not contain the
      estimate (a biased estimate), no figure: :class:`AnalysisError` says why (also
      when the bootstrap would refit more than :data:`BOOT_MAX_N` patients).
      ``interval="delta"`` or ``"bootstrap"`` forces one, without the two rules.

    Covariates constant in the program are dropped.

    Parameters
    ----------
    data : DataFrame
        The program's patients with ``outcome`` and ``covariates`` (and ``arm``).
    reference : DataFrame
        The reference population's covariates (rows with a missing covariate are skipped).
    outcome : str
        Binary (boolean / 0-1) or numeric column.
    covariates : sequence of str
        Numeric or boolean baseline covariates.
    arm : str, optional
        Arm column for a two-arm program (treatment: ``coaching``).
    conf_level : float
        Confidence level.
    reference_name : str
        Named in the method text.
    interval : {"auto", "delta", "bootstrap"}
        The logistic model's interval (above); a linear model's is always t.
    n_boot, seed : int
        The bootstrap's resamples and seed.
    label : str
        The program's name in the result's ``arms``.

    Returns
    -------
    ComparisonResult
        ``estimand`` ``"standardized proportion"`` / ``"standardized mean"``
        (single-arm) or ``"standardized risk difference"`` /
        ``"standardized mean difference"``; ``extra`` has ``crude`` (the raw
        figure, no model), ``adjusted`` (the same model averaged over the
        program's own patients), ``arm_means`` (the standardized figure of each
        arm), ``interval`` (the interval, in words), ``interval_kind``
        (``"delta"``, ``"t"`` or ``"bootstrap"``), ``interval_reason`` (why not
        the delta method), ``assumption`` (what the model assumes, in words),
        ``reference_n`` and ``extrapolated`` (share of reference rows with a
        covariate outside the program's range).

    Raises
    ------
    AnalysisError
        No covariate varies, no reference row, or (``interval="auto"``) too
        little data for a trustworthy interval.
    ConvergenceError
        The logistic fit does not converge (separation).

    References
    ----------
    Muller CJ, MacLehose RF. Int J Epidemiol 2014;43:962-970.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300)
    >>> prog = pd.DataFrame({"y": (rng.random(300) < 1 / (1 + np.exp(-x))).astype(int), "x": x})
    >>> r = standardize(prog, pd.DataFrame({"x": x[:100] + 1.0}), "y", covariates=["x"])
    >>> r.extra["interval_kind"], bool(r.estimate > r.extra["crude"])  # an older reference
    ('delta', True)
    """
    from coachstats.compare.glm import fit_linear, fit_logistic
    from coachstats.compare.prepare import prepare
    from coachstats.compare.proportions import as_binary

    check_option("interval", interval, ("auto", "delta", "bootstrap"))
    prep = prepare(data, [outcome, *covariates], arm=arm)
    frame = prep.frame
    y_col = frame[outcome]
    binary = pd.api.types.is_bool_dtype(y_col.dtype) or bool(
        pd.api.types.is_numeric_dtype(y_col.dtype)
        and np.isin(y_col.to_numpy(dtype=float), (0.0, 1.0)).all()
    )
    y = as_binary(y_col).astype(float) if binary else pd.to_numeric(y_col).to_numpy(dtype=float)
    X = _covariate_matrix(frame, covariates)
    keep = [i for i in range(X.shape[1]) if np.ptp(X[:, i]) > 0]
    used = [covariates[i] for i in keep]
    X = X[:, keep]
    ref = reference.loc[reference[list(used)].notna().all(axis=1).to_numpy()] if used else reference
    if len(ref) == 0:
        raise AnalysisError(f"the reference population has no rows with {used}")
    R = _covariate_matrix(ref, used)
    extrapolated = (
        float(np.mean(np.any((X.min(axis=0) > R) | (X.max(axis=0) < R), axis=1))) if used else 0.0
    )
    two_arm = arm is not None
    if not used:
        raise AnalysisError(
            f"'{outcome}': no covariate of {list(covariates)} varies in the program; "
            "standardization would be the crude figure"
        )
    own = X
    if two_arm:
        X = np.hstack([prep.treated.astype(float)[:, None], X])
    fit = fit_logistic(X, y) if binary else fit_linear(X, y)
    at_ref = averaged_predictions(fit.coef, fit.group_coef[0], R, binary=binary, two_arm=two_arm)
    at_own = averaged_predictions(fit.coef, fit.group_coef[0], own, binary=binary, two_arm=two_arm)
    est = at_ref.estimate
    m = len(ref)
    treated = prep.treated if two_arm else None
    crude = float(y[prep.treated].mean() - y[~prep.treated].mean()) if two_arm else float(y.mean())
    delta_se = math.sqrt(max(fit.functional_var(at_ref.g_beta, np.array([at_ref.g_group])), 0.0))
    stat, p, df = math.nan, math.nan, math.nan
    reason, boot = "", None
    if not binary:
        kind = "t"
        df = float(fit.df_resid)
        se = delta_se
        q = t_ppf((1.0 + conf_level) / 2.0, df)
        lo, hi = est - q * se, est + q * se
        if two_arm and se > 0:
            stat = est / se
            p = 2 * t_sf(abs(stat), df)
    else:
        check = delta_check(y, treated, at_ref.means, X.shape[1])
        kind = check.kind if interval == "auto" else interval
        reason = check.reason if interval == "auto" else ""
        if kind == "withheld":
            raise AnalysisError(f"{WITHHELD}: {reason}")
        if kind == "bootstrap" and interval == "auto" and len(y) > BOOT_MAX_N:
            raise AnalysisError(
                f"{WITHHELD}: {reason}; the bootstrap that would replace the delta method is "
                f"not run on more than {BOOT_MAX_N:,} patients ({len(y):,} here: {n_boot:,} "
                "refits would take minutes)"
            )
        if kind == "bootstrap":
            boot = bootstrap_standardization(
                X, y, R, arm=treated, n_boot=n_boot, seed=seed, conf_level=conf_level
            )
            if not (boot.bounded and boot.rests_on_fits):
                raise AnalysisError(
                    f"{WITHHELD}: {boot.n_separated + boot.n_failed} of {boot.n_boot:,} "
                    "bootstrap resamples have no finite estimate (the outcome separated in them, "
                    "or a covariate constant), more than the "
                    f"{100 * (1 - conf_level) / 2:g} % outside a limit of the interval, so a "
                    "limit could rest on them" + (f" ({reason})" if reason else "")
                )
            if not boot.conf_low <= est <= boot.conf_high:
                raise AnalysisError(
                    f"{WITHHELD}: the bootstrap interval ({boot.conf_low:.4f} to "
                    f"{boot.conf_high:.4f}) does not contain the estimate ({est:.4f}): the "
                    "estimate is biased at this sample size" + (f" ({reason})" if reason else "")
                )
            se, lo, hi, p = boot.std_error, boot.conf_low, boot.conf_high, boot.p_value
        else:
            se = delta_se
            z = normal_quantile(conf_level)
            lo, hi = est - z * se, est + z * se
            if two_arm and se > 0:
                stat = est / se
                p = 2 * norm_sf(abs(stat))
    if two_arm:
        estimand = "standardized risk difference" if binary else "standardized mean difference"
    else:
        estimand = "standardized proportion" if binary else "standardized mean"
    model = "logistic" if binary else "linear"
    return ComparisonResult(
        outcome=outcome,
        method=f"direct standardization: {model} regression on {', '.join(used)}, "
        f"predictions averaged over {reference_name} (n = {m})",
        estimand=estimand,
        estimate=est,
        std_error=se,
        conf_low=lo,
        conf_high=hi,
        conf_level=float(conf_level),
        statistic=stat,
        statistic_name=("t" if kind == "t" else "z") if math.isfinite(stat) else "",
        df=df,
        p_value=p,
        arms=(ArmSummary(label, len(y), value=crude),),
        adjusted_for=tuple(used),
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
        extra={
            "crude": crude,
            "adjusted": at_own.estimate,
            "arm_means": at_ref.means,
            "interval_kind": kind,
            "interval": _interval_words(kind, df, boot, reference_name, two_arm),
            "interval_reason": reason,
            "assumption": _assumption(binary, two_arm),
            "reference_n": m,
            "extrapolated": extrapolated,
        },
    )


def _interval_words(
    kind: str, df: float, boot: BootstrapInterval | None, reference: str, two_arm: bool
) -> str:
    """The interval of a standardized figure, in words (row text and JSON)."""
    fixed = f"{reference} taken as fixed"
    if kind == "t":
        return f"t interval, {df:g} df; {fixed}"
    if boot is None:
        return f"delta method; {fixed}"
    failed = (
        f"; {boot.n_separated} resamples with the outcome separated kept at their fitted limits"
        if boot.n_separated
        else ""
    )
    if boot.n_failed:
        failed += f"; {boot.n_failed} resamples without a fit counted beyond both limits"
    within = " within arm" if two_arm else ""
    return (
        f"percentile bootstrap: {boot.n_boot:,} resamples of the patients{within}, "
        f"seed {boot.seed}{failed}; {fixed}"
    )


def _assumption(binary: bool, two_arm: bool) -> str:
    """What the standardization model assumes, in words."""
    if not two_arm:
        shape = " on the logit scale" if binary else ""
        return (
            "the program's model holds for the reference's patients: the outcome depends on "
            f"each covariate along a straight line{shape}"
        )
    if binary:
        return (
            "the same odds ratio of coaching at every baseline (no arm-by-covariate term), so the "
            "difference in points shrinks where the predicted risk is near 0 or 1"
        )
    return "the same difference of coaching at every baseline (no arm-by-covariate term)"


@dataclass(frozen=True)
class Averaged:
    """A model's predictions averaged over a population, and their gradient.

    ``estimate`` is the average (single-arm) or the difference of the two arms'
    averages (two-arm: every row set to arm 1, then to arm 0); ``means`` the
    averages per arm (arm 1 first), or the one average; ``g_beta`` and
    ``g_group`` the gradient of ``estimate`` with respect to the coefficients
    and the intercept.
    """

    estimate: float
    means: tuple[float, ...]
    g_beta: np.ndarray
    g_group: float


def averaged_predictions(
    coef: np.ndarray, intercept: float, R: np.ndarray, *, binary: bool, two_arm: bool
) -> Averaged:
    r"""The model's predictions averaged over the rows of ``R`` (covariates, no arm column).

    With ``two_arm`` the first coefficient is the arm's: every row is predicted
    as arm 1 and as arm 0. The gradient is :math:`\frac1m\sum_j \mu_j(1-\mu_j)(1, a, x_j)`
    for the logistic model and :math:`\frac1m\sum_j (1, a, x_j)` for the linear one,
    differenced between the arms.

    Examples
    --------
    >>> a = averaged_predictions(np.array([0.0]), 0.0, np.array([[1.0], [2.0]]),
    ...                          binary=True, two_arm=False)
    >>> a.estimate, a.g_group  # expit(0) = 1/2 everywhere
    (0.5, 0.25)
    """
    g_beta = np.zeros(len(coef))
    g_group = 0.0
    means = []
    for sign, D in zip((1.0, -1.0), arm_designs(R, two_arm), strict=False):
        eta = D @ coef + intercept
        if binary:
            mu = expit(eta)
            w = mu * (1.0 - mu)
            g_beta += sign * (w @ D) / len(D)
            g_group += sign * float(w.mean())
        else:
            mu = eta
            g_beta += sign * D.mean(axis=0)
            g_group += sign
        means.append(float(mu.mean()))
    est = means[0] - means[1] if two_arm else means[0]
    return Averaged(est, tuple(means), g_beta, g_group)
