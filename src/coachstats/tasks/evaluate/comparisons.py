"""The program's results set against the published figures: the numbers of the result rows.

Two-arm programs: :func:`effect_comparisons` computes the program's effect on
each published estimand (risk difference and odds ratio, or mean difference)
and its z test against the published effect (:func:`coachstats.compare.meta.difference_test`,
also at both ends of the printed P's rounding range); :func:`holm_by_trial`
adds the Holm-adjusted P values across a trial's outcomes and
:func:`heterogeneity` pools the program with the trials (Cochran's Q, I²,
DerSimonian-Laird). Single-arm programs: :func:`arm_comparison` tests the
program's proportion or mean against each published arm
(:mod:`coachstats.compare.onesample`), from the one-sample interval of
:func:`one_sample_summary`.

Examples
--------
>>> from coachstats.compare.proportions import two_proportions
>>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
>>> b = BENCHMARKS[0]
>>> program = two_proportions(90, 194, 61, 178, outcome="composite_any")
>>> rows = effect_comparisons(b, published_outcome(b), program, None, "", "auto", 0.95, 0.05)
>>> [(r.estimand, r.verdict) for r in rows]
[('risk difference', 'consistent'), ('odds ratio', 'consistent')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from coachstats.compare.meta import MetaResult, difference_test, pool
from coachstats.compare.multiplicity import adjust_pvalues
from coachstats.compare.onesample import one_sample_mean, one_sample_proportion
from coachstats.compare.proportions import two_proportions
from coachstats.core.errors import AnalysisError
from coachstats.core.results import ComparisonResult
from coachstats.tasks.evaluate.published import (
    Benchmark,
    Kind,
    PublishedOutcome,
    SESource,
    trial_name,
)
from coachstats.tasks.evaluate.rows import PROGRAM, ArmComparison, EffectComparison

__all__ = [
    "arm_comparison",
    "effect_comparisons",
    "heterogeneity",
    "holm_by_trial",
    "one_sample_summary",
]


def one_sample_summary(
    result: ComparisonResult, kind: Kind, conf_level: float, label: str
) -> ComparisonResult:
    """One-sample interval (Wilson or t) of a program from its ``describe`` result.

    ``result`` is the ``describe`` result of a single-arm program (one arm);
    the proportion gets the Wilson interval, the mean the t interval
    (:mod:`coachstats.compare.onesample`), labelled :data:`PROGRAM`. Its
    exclusions are carried over.

    Raises
    ------
    AnalysisError
        A proportion without patients (``label`` names the outcome).

    Examples
    --------
    >>> from coachstats.core.results import ArmSummary
    >>> d = ComparisonResult(outcome="composite_any", method="describe", estimand="proportion",
    ...     estimate=0.5, arms=(ArmSummary("coaching", 100, events=50, value=0.5),))
    >>> r = one_sample_summary(d, "binary", 0.95, "at goal")
    >>> round(r.conf_low, 3), round(r.conf_high, 3)
    (0.404, 0.596)
    """
    a = result.arms[0]
    if kind == "binary":
        if a.events is None or a.n == 0:
            raise AnalysisError(f"{label}: no patients analysed")
        out = one_sample_proportion(
            a.events, a.n, conf_level=conf_level, outcome=result.outcome, label=PROGRAM
        )
    else:
        out = one_sample_mean(
            a.value, a.sd, a.n, conf_level=conf_level, outcome=result.outcome, label=PROGRAM
        )
    return out.replace(n_excluded=result.n_excluded, excluded_reason=result.excluded_reason)


def effect_comparisons(
    b: Benchmark,
    po: PublishedOutcome,
    result: ComparisonResult | None,
    error: str | None,
    notes: str,
    se_source: SESource,
    conf_level: float,
    alpha: float,
) -> list[EffectComparison]:
    """A two-arm program's effects on benchmark ``b`` next to the published ones, one row per estimand.

    ``result`` is the program's analysis of the benchmark (None when it
    failed: ``error`` says why); binary outcomes get the risk difference and
    the odds ratio from the program's counts, continuous ones the mean
    difference. Each is tested against the published effect (SE from
    ``se_source``; odds ratios on the log scale), and again at both ends of
    the printed P's rounding range (``p_value_low`` / ``p_value_high``). The
    first estimand is the primary one. ``notes`` (the spec's adaptations) join
    the benchmark's note. Holm-adjusted P values are added by
    :func:`holm_by_trial`.
    """
    rows = []
    program_effects: dict[str, ComparisonResult] = {}
    if result is not None:
        if b.kind == "binary":
            a1, a2 = result.arms[0], result.arms[1]
            if a1.events is None or a2.events is None:
                error = "the program's analysis gave no counts"
            else:
                for est in po.estimands():
                    if result.estimand == est and est == "risk difference":
                        program_effects[est] = result
                    else:
                        program_effects[est] = two_proportions(
                            a1.events,
                            a1.n,
                            a2.events,
                            a2.n,
                            estimand=cast(Any, est),
                            conf_level=conf_level,
                            labels=(a1.arm, a2.arm),
                            outcome=result.outcome,
                        )
        else:
            program_effects["mean difference"] = result
    for i, est in enumerate(po.estimands()):
        pub = po.effect(est, se_source=se_source, conf_level=conf_level)
        prog = program_effects.get(est)
        diff = None
        p_lo = p_hi = math.nan
        err = error or ""
        if prog is not None:
            log = pub.log_scale
            y = math.log(prog.estimate) if log else prog.estimate
            try:
                diff = difference_test(
                    y,
                    prog.std_error,
                    pub.scaled,
                    pub.std_error,
                    conf_level=conf_level,
                    outcome=po.outcome,
                    estimand="ratio of odds ratios (log)" if log else f"difference in {est}",
                )
                if pub.std_error_low != pub.std_error_high:
                    p_lo = difference_test(y, prog.std_error, pub.scaled, pub.std_error_low).p_value
                    p_hi = difference_test(
                        y, prog.std_error, pub.scaled, min(pub.std_error_high, 1e300)
                    ).p_value
            except AnalysisError as exc:
                err = str(exc)
        rows.append(
            EffectComparison(
                trial=b.trial,
                target=b.target,
                outcome=po.outcome,
                label=b.label,
                estimand=est,
                primary=i == 0,
                program=prog,
                published=pub,
                difference=diff,
                p_value_low=p_lo,
                p_value_high=p_hi,
                alpha=alpha,
                note="; ".join(x for x in (b.note, notes) if x),
                error=err,
            )
        )
    return rows


def holm_by_trial(effects: list[EffectComparison]) -> list[EffectComparison]:
    """The rows with ``p_holm`` set: Holm-adjusted P of the primary estimands, within each trial.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
    >>> rows = []
    >>> for b, (x1, x2) in zip(BENCHMARKS[:2], [(90, 61), (40, 25)]):
    ...     r = two_proportions(x1, 194, x2, 178, outcome=b.target)
    ...     rows += effect_comparisons(b, published_outcome(b), r, None, "", "auto", 0.95, 0.05)
    >>> [r.p_holm >= r.difference.p_value for r in holm_by_trial(rows) if r.primary]
    [True, True]
    """
    out = list(effects)
    for trial in {e.trial for e in effects}:
        idx = [
            i
            for i, e in enumerate(effects)
            if e.trial == trial and e.primary and e.difference is not None
        ]
        if not idx:
            continue
        adj = adjust_pvalues([effects[i].difference.p_value for i in idx], method="holm")  # type: ignore[union-attr]
        for i, p in zip(idx, adj, strict=True):
            out[i] = replace(effects[i], p_holm=float(p))
    return out


def arm_comparison(
    b: Benchmark,
    po: PublishedOutcome,
    result: ComparisonResult | None,
    error: str | None,
    notes: str,
    conf_level: float,
    alpha: float,
) -> ArmComparison:
    """A single-arm program's figure on benchmark ``b`` next to the trial's two arms.

    ``result`` is the program's ``describe`` result (None when it failed:
    ``error`` says why). The program's interval comes from
    :func:`one_sample_summary`; it is tested against each published arm
    (score and exact binomial tests for proportions, t test for means).
    """
    program = None
    tests: dict[str, ComparisonResult] = {}
    err = error or ""
    if result is not None:
        try:
            program = one_sample_summary(result, b.kind, conf_level, b.label)
            a = program.arms[0]
            for arm, ref in zip(("coaching", "usual_care"), po.values, strict=True):
                if b.kind == "binary":
                    x = a.events or 0
                    tests[arm] = one_sample_proportion(
                        x, a.n, ref, test="score", conf_level=conf_level, outcome=po.outcome
                    )
                    tests[f"{arm} exact"] = one_sample_proportion(
                        x, a.n, ref, test="exact", conf_level=conf_level, outcome=po.outcome
                    )
                else:
                    tests[arm] = one_sample_mean(
                        a.value, a.sd, a.n, ref, conf_level=conf_level, outcome=po.outcome
                    )
        except AnalysisError as exc:
            err = str(exc)
    return ArmComparison(
        trial=b.trial,
        target=b.target,
        outcome=po.outcome,
        label=b.label,
        kind=b.kind,
        program=program,
        published=po,
        tests=tests,
        alpha=alpha,
        note="; ".join(x for x in (b.note, notes) if x),
        error=err,
    )


def heterogeneity(effects: Sequence[EffectComparison]) -> tuple[MetaResult, ...]:
    """Pooled estimates of the program and the trials, per outcome and estimand.

    Cochran's Q, I² and fixed / DerSimonian-Laird random-effects estimates
    (:func:`coachstats.compare.meta.pool`) of the program's effect and every
    published effect of the same outcome and estimand (odds ratios pooled on
    the log scale). Rows without a program effect are left out.
    """
    out = []
    keys = list(dict.fromkeys((e.outcome, e.estimand) for e in effects))
    for outcome, est in keys:
        group = [
            e
            for e in effects
            if (e.outcome, e.estimand) == (outcome, est) and e.program is not None
        ]
        if not group:
            continue
        log = group[0].published.log_scale
        prog = group[0].program
        if prog is None:  # pragma: no cover - filtered above
            continue
        y = [math.log(prog.estimate) if log else prog.estimate] + [
            e.published.scaled for e in group
        ]
        s = [prog.std_error] + [e.published.std_error for e in group]
        labels = [PROGRAM] + [trial_name(e.trial) for e in group]
        try:
            out.append(
                pool(
                    y,
                    s,
                    labels=labels,
                    outcome=group[0].label,
                    estimand=est,
                    transform="exp" if log else "identity",
                )
            )
        except AnalysisError:
            continue
    return tuple(out)
