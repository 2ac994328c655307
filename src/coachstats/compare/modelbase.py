r"""Shared steps of the model-based comparisons: input checks, rows, design, result.

:func:`model_setup` checks the columns of a model and keeps the complete cases
(:func:`coachstats.compare.prepare.prepare`), reads the outcome
(:func:`outcome_values`: 0/1 for logistic and binomial GEE, numeric
otherwise) and the terms; :func:`model_design` builds ``[arm, covariates]``;
:func:`model_result` turns an arm effect, its SE and df into a
:class:`~coachstats.core.results.ComparisonResult`. Also the checks shared with
the streamed fits (:mod:`coachstats.engines.stream`): separation on the arm,
fixed-effect groups with a single outcome value, clusters with one level.

Examples
--------
>>> df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 3, "y": [1.0, 2, 3, 4, 5, 7]})
>>> s = model_setup(df, "y", arm="arm", covariates=(), formula=None, groups=(),
...                 binary=False, treatment=None, control=None)
>>> s.treated, s.y
(array([ True, False,  True, False,  True, False]), array([1., 2., 3., 4., 5., 7.]))
>>> [round(v, 4) for v in normal_or_t(2.0, 1.0, 0.95, None)]  # z, P, CI
[2.0, 0.0455, 0.04, 3.96]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coachstats.compare.design import ArmMoments, Design, GroupIndex, ModelTerms, build_design
from coachstats.compare.formula import model_terms
from coachstats.compare.inference import Functionals, normal_or_t
from coachstats.compare.prepare import Prepared, clustered_rows, prepare
from coachstats.compare.rows import vdot
from coachstats.core.coefficients import ModelOutput
from coachstats.core.errors import AnalysisError, DataWarning, OptionError, SeparationError
from coachstats.core.results import ArmSummary, ComparisonResult, p_phrase

__all__ = [
    "FittedModel",
    "ModelSetup",
    "RowSummary",
    "check_arm_separation",
    "check_arms_left",
    "check_clustered_arm",
    "check_separation",
    "degenerate_groups_reason",
    "drop_degenerate_groups",
    "group_index",
    "interaction_note",
    "model_design",
    "model_result",
    "model_setup",
    "normal_or_t",
    "outcome_values",
    "partially_nested",
    "row_summary",
]


@dataclass(frozen=True)
class ModelSetup:
    """Everything a model needs after input checks."""

    prepared: Prepared
    frame: pd.DataFrame
    treated: np.ndarray
    y: np.ndarray
    terms: ModelTerms
    n_excluded: int
    excluded_reason: str


def outcome_values(values: pd.Series, name: str, binary: bool) -> np.ndarray:
    """The outcome as float64; binary outcomes must be 0/1 or boolean."""
    if binary:
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.to_numpy(dtype=float)
        if pd.api.types.is_numeric_dtype(values.dtype):
            y = values.to_numpy(dtype=float)
            if np.all((y == 0.0) | (y == 1.0)):
                return y
        bad = sorted({str(v) for v in pd.unique(values)})[:10]
        raise AnalysisError(
            f"outcome column '{name}' must be binary (0/1 or True/False); found values {bad}"
        )
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        raise AnalysisError(
            f"outcome column '{name}' must be numeric for a continuous model; "
            f"it has dtype {values.dtype}"
        )
    return values.to_numpy(dtype=float)


def model_setup(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str,
    covariates: Sequence[str] | str,
    formula: str | None,
    groups: Sequence[str | None],
    binary: bool,
    treatment: str | None,
    control: str | None,
    clustered: tuple[str, str] | None = None,
) -> ModelSetup:
    """Check the columns, keep the complete cases and read the outcome: a :class:`ModelSetup`.

    ``clustered``: ``(cluster column, arm label)`` of a partially nested
    design; the other arm's patients are put in clusters of their own
    (:func:`~coachstats.compare.prepare.clustered_rows`), so that a missing
    cluster id excludes only patients of the clustered arm.
    """
    terms = model_terms(covariates, formula, arm=arm)
    extra_cols = [g for g in groups if g]
    for name in [*terms.columns, *extra_cols]:
        if name in (outcome, arm):
            raise AnalysisError(
                f"column '{name}' is the outcome or the arm; it cannot also be a covariate, "
                "cluster or fixed effect"
            )
    if clustered is not None:
        data = clustered_rows(data, arm, *clustered)
    prepared = prepare(
        data,
        [outcome, *terms.columns, *extra_cols],
        arm=arm,
        treatment=treatment,
        control=control,
        groups=extra_cols,
    )
    y = outcome_values(prepared.frame[outcome], outcome, binary)
    return ModelSetup(
        prepared,
        prepared.frame,
        prepared.treated,
        y,
        terms,
        prepared.n_excluded,
        prepared.excluded_reason,
    )


@dataclass(frozen=True)
class FittedModel:
    """A model-based comparison with what inference on other quantities needs.

    ``result`` is what :func:`~coachstats.compare.models.linear` (``logistic``,
    ``gee``, ``mixed``) returns; ``functionals`` the estimates with the
    covariance and df of any linear functional of them
    (:class:`~coachstats.compare.inference.Functionals`; None for Firth's
    model); ``design`` and ``setup`` the analysed rows; ``link`` ``"logit"``
    or ``"identity"``; ``groups`` the absorbed fixed-effect groups (None for
    one intercept). :func:`coachstats.compare.subgroups.subgroup_effects`
    reads the arm effect within subgroups from it.
    """

    result: ComparisonResult
    functionals: Functionals | None
    design: Design
    setup: ModelSetup
    link: str
    groups: GroupIndex | None = None


def check_clustered_arm(clustered_arm: str | None, cluster: str | None) -> None:
    """``clustered_arm`` (a partially nested design) needs ``cluster``."""
    if clustered_arm is not None and not cluster:
        raise OptionError(
            f"clustered_arm={clustered_arm!r} says which arm's patients share {cluster or 'clusters'}; "
            "give the cluster column too (cluster='coach_id')"
        )


def partially_nested(
    result: ComparisonResult, cluster: str, clustered_arm: str, *, random_effect: bool
) -> ComparisonResult:
    """Say in a result that only ``clustered_arm`` is clustered (method text and ``extra``)."""
    others = [a.arm for a in result.arms if a.arm != clustered_arm]
    other = others[0] if others else "the other"
    if random_effect:
        note = (
            f"; partially nested: random intercept for {cluster} in the {clustered_arm} arm "
            f"only, none in {other}"
        )
    else:
        note = (
            f"; partially nested: {cluster} clusters in the {clustered_arm} arm only, "
            f"{other} patients as clusters of one"
        )
    extra = {**result.extra, "clustered_arm": clustered_arm}
    return result.replace(method=result.method + note, extra=extra)


def setup_groups(setup: ModelSetup, column: str) -> GroupIndex:
    """The codes of a grouping column of ``setup``'s rows (those :func:`prepare` made, if still its rows)."""
    coded = setup.prepared.groups.get(column) if setup.frame is setup.prepared.frame else None
    return coded if coded is not None else GroupIndex.from_values(setup.frame[column])


def group_index(setup: ModelSetup, column: str, role: str) -> GroupIndex:
    """Integer codes of a cluster or fixed-effect column; at least 2 levels are required."""
    g = setup_groups(setup, column)
    if g.n_groups < 2:
        raise AnalysisError(
            f"{role} column '{column}' has {g.n_groups} level among the analysed rows "
            f"({list(g.labels)}); {role} needs at least 2"
        )
    return g


@dataclass(frozen=True)
class RowSummary:
    """What a result reports about its rows: the arm summaries and the exclusions."""

    arms: tuple[ArmSummary, ...]
    n_excluded: int
    excluded_reason: str


def row_summary(setup: ModelSetup, binary: bool) -> RowSummary:
    """The arm summaries and the exclusions of ``setup``."""
    moments = ArmMoments.of(setup.y, setup.treated, binary=binary)
    arms = moments.summaries(setup.prepared.labels, binary)
    return RowSummary(arms, setup.n_excluded, setup.excluded_reason)


def check_separation(
    labels: tuple[str, str], n: np.ndarray, events: np.ndarray, outcome: str
) -> None:
    """Perfect separation on the arm: one arm with all 0 or all 1 outcomes.

    ``n`` and ``events`` per arm, treatment first.
    """
    for label, size, ev in zip(labels, n, events, strict=True):
        if size and (ev == 0 or ev == size):
            raise SeparationError(
                f"perfect separation: every analysed patient in arm '{label}' has "
                f"{outcome} = {int(ev > 0)} ({int(size)} patients), so the odds ratio is "
                "infinite or zero and logistic regression has no estimate; use "
                "firth=True (penalized likelihood) or an exact test (compare.proportions)"
            )


def check_arm_separation(setup: ModelSetup, outcome: str) -> None:
    """Raise when one arm is all 0 or all 1 in ``setup`` (:func:`check_separation`)."""
    n1 = int(np.count_nonzero(setup.treated))
    e1 = vdot(setup.y, setup.treated.astype(float))
    n = np.array([n1, len(setup.y) - n1])
    check_separation(setup.prepared.labels, n, np.array([e1, setup.y.sum() - e1]), outcome)


def drop_degenerate_groups(
    setup: ModelSetup, column: str, outcome: str
) -> tuple[ModelSetup, GroupIndex]:
    """Drop fixed-effect groups whose outcome is all 0 or all 1 (warning, counted)."""
    g = setup_groups(setup, column)
    events = g.sums(setup.y)
    bad = (events == 0) | (events == g.counts)
    if not bad.any():
        return setup, g
    keep = ~bad[g.codes]
    n_drop = int((~keep).sum())
    reason = degenerate_groups_reason(
        column, outcome, [str(x) for x in g.labels[bad]], n_drop, bool(keep.any())
    )
    frame = setup.frame.loc[keep]
    treated = setup.treated[keep]
    check_arms_left(column, outcome, int(treated.sum()), len(treated))
    kept = ModelSetup(
        setup.prepared,
        frame,
        treated,
        setup.y[keep],
        setup.terms,
        setup.n_excluded + n_drop,
        ", ".join(r for r in (setup.excluded_reason, reason) if r),
    )
    return kept, g.subset(keep)


def degenerate_groups_reason(
    column: str, outcome: str, names: list[str], n_drop: int, any_left: bool
) -> str:
    """Warn about dropped all-0 / all-1 fixed-effect groups; the exclusion reason.

    Raises
    ------
    AnalysisError
        When every group is degenerate (``any_left`` False).
    """
    shown = ", ".join(names[:10]) + (f", ... (+{len(names) - 10} more)" if len(names) > 10 else "")
    warnings.warn(
        f"fixed effects: dropped {len(names)} {column} level(s) whose {outcome} is all 0 "
        f"or all 1 ({n_drop} patients: {shown}); their intercepts are infinite and they "
        "carry no information on the other coefficients",
        DataWarning,
        stacklevel=4,
    )
    if not any_left:
        raise AnalysisError(
            f"every {column} level has {outcome} all 0 or all 1: no within-{column} "
            "information for a fixed-effects logistic regression"
        )
    return f"{column} with {outcome} all 0 or all 1 ({n_drop})"


def check_arms_left(column: str, outcome: str, n_treated: int, n: int) -> None:
    """Both arms must remain after dropping degenerate fixed-effect groups."""
    if n_treated in (0, n):
        raise AnalysisError(
            f"after dropping the {column} levels with {outcome} all 0 or all 1, only one "
            "arm is left"
        )


def model_design(
    setup: ModelSetup, arm: str, fe: GroupIndex | None, group_weights: np.ndarray | None = None
) -> Design:
    """The design ``[arm, covariates]`` of ``setup`` (:func:`~coachstats.compare.design.build_design`)."""
    return build_design(
        setup.frame,
        setup.treated,
        setup.terms,
        arm_name=arm,
        treatment=setup.prepared.labels[0],
        groups=fe,
        group_weights=group_weights,
    )


def model_result(
    rows: RowSummary,
    outcome: str,
    *,
    method: str,
    estimand: str,
    est: float,
    se: float,
    conf_level: float,
    df: float | None,
    design: Design,
    cluster: str | None,
    ratio: bool = False,
    extra: dict[str, Any] | None = None,
    model: ModelOutput | None = None,
    marginal: bool = False,
) -> ComparisonResult:
    """The :class:`ComparisonResult` of an arm effect ``est`` with SE ``se``.

    A z test when ``df`` is None, else t; ``ratio`` exponentiates a log-scale
    estimate and its interval. ``model``: the full output of the fit. When the
    arm interacts with covariates, the result says so (:func:`interaction_note`);
    ``marginal`` tells that ``est`` averages over the patients (a marginal risk
    difference) rather than being the arm coefficient.
    """
    stat, p, lo, hi = normal_or_t(est, se, conf_level, df)
    info: dict[str, Any] = dict(extra or {})
    if design.dropped:
        info["dropped_columns"] = ", ".join(design.dropped)
    if model is not None and model.interaction is not None:
        note, values = interaction_note(design, model, marginal)
        method += note
        info.update(values)
    if ratio:
        info = {"log_" + estimand.replace(" ", "_"): est, **info}
        est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
    return ComparisonResult(
        outcome=outcome,
        method=method,
        estimand=estimand,
        estimate=float(est),
        std_error=float(se),
        conf_low=float(lo),
        conf_high=float(hi),
        conf_level=float(conf_level),
        statistic=stat,
        statistic_name="t" if df is not None else "z",
        df=float(df) if df is not None else math.nan,
        p_value=p,
        arms=rows.arms,
        adjusted_for=design.covariates,
        cluster=cluster,
        n_excluded=rows.n_excluded,
        excluded_reason=rows.excluded_reason,
        extra=info,
        model=model,
    )


def interaction_note(
    design: Design, model: ModelOutput, marginal: bool
) -> tuple[str, dict[str, Any]]:
    """What a result says about the arm's interactions: method text and ``extra`` values.

    ``extra`` gets ``interaction_p`` (the joint Wald test of the arm's
    interaction terms, :func:`~coachstats.compare.inference.wald_test`) and,
    when the estimate is the arm coefficient, ``arm_effect_at``: the values
    of the modifiers at which it is the arm effect (reference levels, 0 for
    numbers). The method text says both.
    """
    test = model.interaction
    if test is None:  # pragma: no cover - the caller checks
        return "", {}
    p_text = p_phrase(test.p_value)
    where = ", ".join(design.arm_reference)
    values: dict[str, Any] = {"interaction_p": test.p_value}
    if marginal:
        note = f"; with interactions of the arm ({p_text})"
    else:
        note = f"; arm effect where {where} (interaction with the arm: {p_text})"
        values["arm_effect_at"] = where
    return note, values
