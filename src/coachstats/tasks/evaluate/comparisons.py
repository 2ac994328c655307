"""The program's results set against the published figures: the numbers of the result rows.

Two-arm programs: :func:`effect_comparisons` computes the program's effect on
each published estimand (risk difference and odds ratio, or mean difference)
and its z test against the published effect (:func:`coachstats.compare.meta.difference_test`,
also at both ends of the printed P's rounding range), with the comparison's
margin; :func:`judge_rows` adjusts the P values of the evaluation's
comparisons together and gives each its verdict
(:mod:`coachstats.tasks.evaluate.verdicts`). A program is never pooled with
the trial it is compared with: heterogeneity across published trials belongs
to the evidence base. Single-arm programs: :func:`arm_comparison` tests the
program's proportion or mean against each published arm
(:mod:`coachstats.compare.onesample`), from the one-sample interval of
:func:`one_sample_summary`.

Examples
--------
>>> from coachstats.compare.proportions import two_proportions
>>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
>>> b = BENCHMARKS[0]
>>> program = two_proportions(90, 194, 61, 178, outcome="composite_any")
>>> rows = judge_rows(effect_comparisons(b, published_outcome(b), program, None, "", "auto", 0.95, 0.05))
>>> [(r.estimand, r.verdict, r.favours) for r in rows]
[('risk difference', 'similar', 'neither'), ('odds ratio', 'similar', 'neither')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple, TypeVar, cast

from scipy import special

from coachstats.compare.meta import difference_test
from coachstats.compare.onesample import one_sample_mean, one_sample_proportion
from coachstats.compare.proportions import two_proportions
from coachstats.core.errors import AnalysisError
from coachstats.core.results import ComparisonResult
from coachstats.core.vocabulary import BETTER
from coachstats.tasks.evaluate.against_evidence import EvidenceComparison
from coachstats.tasks.evaluate.arms import ArmComparison, RegressionEstimate, coaching_arm_se
from coachstats.tasks.evaluate.published import (
    Benchmark,
    Kind,
    PublishedOutcome,
    SESource,
)
from coachstats.tasks.evaluate.rows import PROGRAM, EffectComparison, StandardizedComparison
from coachstats.tasks.evaluate.verdicts import (
    Adjustment,
    Judgement,
    Margin,
    adjust,
    default_margin,
    judge,
    tost_p,
)

__all__ = [
    "arm_comparison",
    "effect_comparisons",
    "judge_rows",
    "judge_standardized",
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
    margins: Mapping[str, float] | None = None,
) -> list[EffectComparison]:
    """A two-arm program's effects on benchmark ``b`` next to the published ones, one row per estimand.

    ``result`` is the program's analysis of the benchmark (None when it
    failed: ``error`` says why); binary outcomes get the risk difference and
    the odds ratio from the program's counts, continuous ones the mean
    difference. Each is tested against the published effect (SE from
    ``se_source``; odds ratios on the log scale), and again at both ends of
    the printed P's rounding range (``p_value_low`` / ``p_value_high``). The
    first estimand is the primary one. ``notes`` (the spec's adaptations) join
    the row's notes; the benchmark's note qualifies the published figure in the
    sentence. ``margins`` (endpoint -> margin) replace the default margin
    (:func:`~coachstats.tasks.evaluate.verdicts.default_margin`) of the
    primary estimand. The verdicts come from :func:`judge_rows`.
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
        user = (margins or {}).get(po.outcome) if i == 0 else None
        margin = (
            Margin(user, "set by the user", "difference", user=True)
            if user is not None
            else default_margin(po.outcome, pub.scaled, log_scale=pub.log_scale)
        )
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
                margin=margin,
                p_value_low=p_lo,
                p_value_high=p_hi,
                alpha=alpha,
                conf_level=conf_level,
                qualifier=b.qualifier,
                note="; ".join(x for x in (b.note, notes) if x),
                error=err,
            )
        )
    return rows


class _Member(NamedTuple):
    """A row of a family with the parts its verdict needs."""

    row: EffectComparison | ArmComparison | EvidenceComparison | StandardizedComparison
    difference: float
    se_program: float
    se_published: tuple[float, float, float]  # the SE and the ends of its rounding range
    margin: float
    n: float
    program_p: float


def _members(
    rows: Sequence[EffectComparison | ArmComparison | EvidenceComparison],
) -> list[_Member]:
    out = []
    for e in rows:
        if e.program is None or e.margin is None:
            continue
        if isinstance(e, EvidenceComparison):
            if e.position is None:
                continue
            ses = (e.position.pooled_std_error,) * 3  # the pooled SE has no rounding range
            d, p_prog = e.position.difference, e.program.p_value
        elif isinstance(e, EffectComparison):
            if e.difference is None:
                continue
            pub = e.published
            ses = (pub.std_error, pub.std_error_low, min(pub.std_error_high, 1e300))
            d, p_prog = e.difference.estimate, e.program.p_value
        else:
            ses = (e.arm_std_error,) * 3
            d, p_prog = e.program.estimate - e.published.values[0], e.program_p_value
        arms = e.program.arms
        n = sum(a.n for a in arms) / max(len(arms), 1)
        out.append(_Member(e, d, e.program.std_error, ses, e.margin.value, n, p_prog))
    return out


def _family_verdicts(
    family: Sequence[_Member], method: Adjustment, alpha: float, published_se: Sequence[float]
) -> list[Judgement]:
    """Judgements of one family with the given published SEs (adjusted together)."""
    ps, peqs = [], []
    for m, se_pub in zip(family, published_se, strict=True):
        se = math.hypot(m.se_program, se_pub)
        ps.append(2 * float(special.ndtr(-abs(m.difference) / se)) if se > 0 else math.nan)
        peqs.append(tost_p(m.difference, se, m.margin))
    p_adj, peq_adj = adjust(ps, method), adjust(peqs, method)
    # the size needed is judged at the strictest level the adjustment may ask (alpha / k)
    level = alpha / len(family) if method != "none" else alpha
    return [
        judge(
            m.difference,
            m.se_program,
            se_pub,
            margin=m.margin,
            better=BETTER[m.row.outcome],
            alpha=alpha,
            p_difference_adjusted=pa,
            p_equivalence_adjusted=pea,
            n_program=m.n,
            alpha_needed=level,
        )
        for m, se_pub, pa, pea in zip(family, published_se, p_adj, peq_adj, strict=True)
    ]


_Row = TypeVar("_Row", bound=EffectComparison | ArmComparison | EvidenceComparison)


def judge_rows(
    rows: Sequence[_Row], *, adjustment: Adjustment = "holm", alpha: float = 0.05
) -> list[_Row]:
    """The rows with their verdicts, the P values of each family adjusted together.

    The primary comparisons of the evaluation (risk or mean differences, or
    the single-arm figures against the coaching arms; every trial; and the
    comparisons with the pooled evidence,
    :class:`~coachstats.tasks.evaluate.against_evidence.EvidenceComparison`) form one
    family, the odds-ratio comparisons another; within each the difference
    tests and the equivalence (TOST) P values are adjusted (``adjustment``: Holm
    by default). The program's own P values are adjusted once, across the outcomes
    compared (the primary family): an odds-ratio row's own P takes its outcome's
    place in that family, so the same test gets the same adjusted P on both rows
    of an outcome. A verdict that changes when
    the published SE moves to either end of the rounding range of a printed P
    (the other rows fixed) is marked ``borderline``.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> from coachstats.tasks.evaluate.published import BENCHMARKS, published_outcome
    >>> rows = []
    >>> for b, (x1, x2) in zip(BENCHMARKS[:2], [(90, 61), (40, 25)]):
    ...     r = two_proportions(x1, 194, x2, 178, outcome=b.target)
    ...     rows += effect_comparisons(b, published_outcome(b), r, None, "", "auto", 0.95, 0.05)
    >>> [(r.verdict, r.adjustment) for r in judge_rows(rows) if r.primary]
    [('inconclusive', 'holm'), ('inconclusive', 'holm')]
    """
    out = list(rows)
    position = {id(e): i for i, e in enumerate(rows)}
    outcomes = _members([e for e in rows if getattr(e, "primary", True)])
    for primary in (True, False):
        family = _members([e for e in rows if getattr(e, "primary", True) == primary])
        if not family:
            continue
        base = [m.se_published[0] for m in family]
        verdicts = _family_verdicts(family, adjustment, alpha, base)
        program_p = (
            adjust([m.program_p for m in family], adjustment)
            if primary
            else [_in_place_of_its_outcome(m, outcomes, adjustment) for m in family]
        )
        for k, m in enumerate(family):
            borderline = ""
            for end in m.se_published[1:] if m.se_published[1] != m.se_published[2] else ():
                ses = list(base)
                ses[k] = end
                other = _family_verdicts(family, adjustment, alpha, ses)[k]
                if other.verdict != verdicts[k].verdict:
                    borderline = (
                        f"the verdict would be {other.verdict} at the other end of the "
                        "rounding range of the printed P"
                    )
                    break
            changes: dict[str, Any] = {
                "judgement": verdicts[k],
                "program_p_adjusted": float(program_p[k]),
                "adjustment": adjustment,
                "alpha": alpha,
            }
            if isinstance(m.row, EffectComparison):
                changes["borderline"] = borderline
            out[position[id(m.row)]] = replace(m.row, **changes)  # type: ignore[assignment]
    return out


def _outcome_key(row: object) -> tuple[str, str]:
    return (str(getattr(row, "trial", "")), str(getattr(row, "target", "")))


def _in_place_of_its_outcome(
    member: _Member, outcomes: Sequence[_Member], adjustment: Adjustment
) -> float:
    """A secondary row's own P adjusted across the outcomes compared: in the place of its
    outcome's primary row (added to them when that row was not compared)."""
    key = _outcome_key(member.row)
    ps = [m.program_p for m in outcomes]
    at = next((i for i, m in enumerate(outcomes) if _outcome_key(m.row) == key), None)
    if at is None:
        ps, at = [*ps, member.program_p], len(ps)
    else:
        ps[at] = member.program_p
    return float(adjust(ps, adjustment)[at])


def judge_standardized(
    rows: Sequence[StandardizedComparison],
    primaries: Sequence[EffectComparison | ArmComparison],
    *,
    adjustment: Adjustment = "holm",
    alpha: float = 0.05,
) -> list[StandardizedComparison]:
    """The standardized rows with verdicts as consistent as can be with their primary rows.

    Each standardized figure is compared with the published figure its primary row
    (same trial and target) compares the crude one with: the published effect and its SE
    (two-arm; the row's SE source), or the published coaching arm and its SE (single-arm),
    on the same scale and within the same margin, judged in the outcome's better direction
    (:func:`~coachstats.tasks.evaluate.verdicts.judge`). The standardized rows are a
    sensitivity analysis of the primary verdicts, so they are adjusted as a family of their
    own (``adjustment``), not added to the primary family. A row whose primary comparison
    was not made keeps no verdict, and says why (``no_verdict``). Each row keeps its primary
    row's own figure (``headline``), which its sentence names when it differs from the raw one.
    """
    by_target = {(p.trial, p.target): p for p in primaries if getattr(p, "primary", True)}
    members: list[_Member] = []
    out = list(rows)
    for k, row in enumerate(rows):
        primary = by_target.get((row.trial, row.target))
        r = row.result
        if r is None:
            continue
        headline = primary.program if primary is not None else None
        if primary is None or primary.margin is None or primary.judgement is None:
            out[k] = replace(
                row,
                judgement=None,
                margin=None,
                headline=headline,
                no_verdict="its primary comparison was not analysed, so there is no margin to "
                "judge it with",
            )
            continue
        arms = primary.program.arms if primary.program is not None else ()
        n = sum(a.n for a in arms) / max(len(arms), 1) if arms else math.nan
        if isinstance(primary, EffectComparison):
            ref = primary.published
            se_pub, reference = ref.std_error, ref
            difference = r.estimate - ref.estimate
        else:
            se_pub, reference = primary.arm_std_error, None
            difference = r.estimate - primary.published.values[0]
        member = _Member(
            row, difference, r.std_error, (se_pub,) * 3, primary.margin.value, n, math.nan
        )
        members.append(member)
        out[k] = replace(
            row,
            margin=primary.margin,
            reference=reference,
            arm_std_error=se_pub,
            headline=headline,
        )
    if members:
        verdicts = _family_verdicts(
            members, adjustment, alpha, [m.se_published[0] for m in members]
        )
        index = {id(row): k for k, row in enumerate(rows)}
        for m, j in zip(members, verdicts, strict=True):
            k = index[id(m.row)]
            out[k] = replace(out[k], judgement=j, adjustment=adjustment, alpha=alpha)
    return out


def arm_comparison(
    b: Benchmark,
    po: PublishedOutcome,
    result: ComparisonResult | None,
    error: str | None,
    notes: str,
    conf_level: float,
    alpha: float,
    margins: Mapping[str, float] | None = None,
    regression: tuple[RegressionEstimate | None, str] = (None, ""),
) -> ArmComparison:
    """A single-arm program's before-after figure on benchmark ``b`` next to the trial's arms.

    ``result`` is the program's ``describe`` result (None when it failed:
    ``error`` says why). The program's interval comes from
    :func:`one_sample_summary`; a mean change is also tested against no
    change; the figure is tested against each published arm (score and exact
    binomial tests for proportions, t test for means; descriptive). The
    margin is the published effect between the arms (``margins`` overrides
    it); the SE of the coaching arm is :func:`~coachstats.tasks.evaluate.arms.coaching_arm_se`;
    ``regression`` is :func:`~coachstats.tasks.evaluate.regression.regression_estimate`.
    The verdict comes from :func:`judge_rows`.
    """
    program = None
    program_test = None
    tests: dict[str, ComparisonResult] = {}
    err = error or ""
    if result is not None:
        try:
            program = one_sample_summary(result, b.kind, conf_level, b.label)
            a = program.arms[0]
            if b.kind == "binary":
                se = math.sqrt(program.estimate * (1 - program.estimate) / a.n)
                program = program.replace(std_error=se)
            else:
                program_test = one_sample_mean(
                    a.value, a.sd, a.n, 0.0, conf_level=conf_level, outcome=po.outcome
                )
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
    arm_se, arm_source = coaching_arm_se(po)
    user = (margins or {}).get(po.outcome)
    margin = (
        Margin(user, "set by the user", user=True)
        if user is not None
        else default_margin(po.outcome, po.values[0] - po.values[1], single_arm=True)
    )
    return ArmComparison(
        trial=b.trial,
        target=b.target,
        outcome=po.outcome,
        label=b.label,
        kind=b.kind,
        program=program,
        published=po,
        tests=tests,
        program_test=program_test,
        arm_std_error=arm_se,
        arm_se_source=arm_source,
        margin=margin,
        regression=regression[0],
        regression_note=regression[1],
        alpha=alpha,
        conf_level=conf_level,
        qualifier=b.qualifier,
        note="; ".join(x for x in (b.note, notes) if x),
        error=err,
    )
