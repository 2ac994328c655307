r"""Program tracking metrics from the practice brief: caseload, contacts, retention, referrals.

The practice brief (../shared/published.md, section 3) asks programs to
evaluate themselves at least once a year on patient outcomes, referral of the
right patients, recruitment and retention, and engagement. This module
computes the indicators that patient-level program data can answer, each next
to its published yardstick:

=============================  ==============================================  =========================
metric                         definition (coached patients)                   yardstick
=============================  ==============================================  =========================
``caseload``                   coached patients per coach, per full-time        70-100 per full-time coach
                               equivalent (FTE; 1 unless ``fte=`` is given)     (HCPC: about 75 = 224 / 3)
``contacts``                   coaching contacts per patient, mean (t CI)       12.4 (SD 7.4) in HCPC
``retention``                  share with a follow-up measurement of a goal     HCPC about 87 % (194/224,
                               measure among those with a baseline one          inferred); peer 82 %
                               (Wilson CI)                                      (122/148, printed)
``uncontrolled_at_referral``   share uncontrolled on >= 1 condition at          100 % in HCPC (eligibility)
                               baseline under the goal set ("right patients
                               referred"), among those with a baseline lab
=============================  ==============================================  =========================

A metric's ``status`` compares it with its yardstick, taken as fixed, by direction
and uncertainty (the words of :data:`~coachstats.core.vocabulary.VERDICTS`; the
indicators have no better direction, so a difference is named ``"above"`` or
``"below"`` rather than larger or smaller):

* ``"above"`` / ``"below"``: the 95 % interval lies above / below the yardstick;
* ``"similar"``: the 90 % interval lies within the indicator's margin around the
  yardstick (:data:`TRACKING_MARGINS`) -- two one-sided tests at the 5 % level, as
  the evaluation's verdicts;
* ``"inconclusive"``: neither (an interval that merely covers the yardstick is not
  "similar": "not significant" is not "similar");
* the caseload, a count without an interval, is ``"below"``, ``"within"`` or
  ``"above"`` the brief's 70-100 range.

**Encounter data.** CPT encounter rows (initial assessment, follow-up and group
sessions) are counted by :mod:`coachstats.tasks.encounters` (:func:`count_encounters`,
re-exported here), whose per-patient totals replace the contacts column.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"patient_id": [1, 2, 3, 4], "arm": "coaching",
...                    "coach_id": ["a", "a", "b", "b"], "coach_contacts": [10, 14, 8, 12],
...                    "diabetes": True, "hba1c_0": [9.1, 8.5, 7.2, 10.4],
...                    "hba1c_12": [7.9, None, 7.0, 9.0]})
>>> m = program_metrics(df)
>>> m["contacts"].value, round(m["retention"].value, 3), m["uncontrolled_at_referral"].value
(11.0, 0.75, 0.75)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from coachstats.compare.onesample import one_sample_mean, one_sample_proportion
from coachstats.compare.prepare import require_columns
from coachstats.core.errors import AnalysisError
from coachstats.core.goals import GOAL_SETS, GoalSet, get_goal_set
from coachstats.core.results import ComparisonResult, TidyResult
from coachstats.core.vocabulary import MEASURE_LABELS
from coachstats.derive.endpoints import derive_endpoints, measure_months
from coachstats.tasks.encounters import (
    CPT_CODES,
    SESSION_KINDS,
    EncounterCounts,
    count_encounters,
    parse_dates,
)

__all__ = [
    "CPT_CODES",
    "FULL_TIME_CASELOAD",
    "HCPC_CONTACTS",
    "RETENTION",
    "TRACKING_MARGINS",
    "TRACKING_NOTE",
    "EncounterCounts",
    "Metric",
    "ProgramMetrics",
    "caseload",
    "count_encounters",
    "parse_dates",
    "program_metrics",
    "yardstick_status",
]

#: Patients a full-time coach works with (practice brief).
FULL_TIME_CASELOAD: tuple[int, int] = (70, 100)
#: Coach contacts per coached patient in HCPC: mean and SD (Willard-Grace 2015).
HCPC_CONTACTS: tuple[float, float] = (12.4, 7.4)
#: Retention at follow-up in the trials: (events, n, source).
RETENTION: Mapping[str, tuple[int, int, str]] = {
    "hcpc": (194, 224, "HCPC: 194/224 coached patients analysed at 12 months (inferred)"),
    "peer": (122, 148, "peer trial: 122/148 coached patients with HbA1c at 6 months (printed)"),
}
#: Margins of ``"similar"`` for the indicators with an interval: (margin, why), on the
#: indicator's scale (shares as proportions). ``program_metrics(margins=)`` sets others.
TRACKING_MARGINS: Mapping[str, tuple[float, str]] = MappingProxyType(
    {
        "contacts": (
            round(0.2 * HCPC_CONTACTS[1], 2),
            "0.2 SD of HCPC's contacts per patient (SD 7.4), a small difference (Cohen 1988)",
        ),
        "retention": (
            0.05,
            "5 percentage points, the loss to follow-up under which Schulz and Grimes "
            "(Lancet 2002;359:781-785) expect little bias (assumed as the margin)",
        ),
        "uncontrolled_at_referral": (
            0.05,
            "5 percentage points: at most 1 referred patient in 20 already at goal (assumed)",
        ),
    }
)
#: What a tracking status means, said under every table of the indicators.
TRACKING_NOTE = (
    "Status against the yardstick, taken as fixed: above or below when the indicator's 95% CI "
    "lies above or below it; similar when its 90% CI lies within the margin (two one-sided "
    "tests at 5 %); inconclusive otherwise (an interval that covers the yardstick is not "
    "similarity). The caseload is below, within or above 70-100 per full-time coach."
)
#: Confidence level of the intervals of the indicators; the equivalence test uses the
#: 1 - 2 alpha (90 %) interval.
_CONF, _TOST_CONF = 0.95, 0.90
# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    """One tracking indicator next to its yardstick."""

    key: str
    label: str
    value: float
    conf_low: float = math.nan
    conf_high: float = math.nan
    n: int = 0
    benchmark: float = math.nan
    benchmark_text: str = ""
    status: str = ""
    note: str = ""
    percent: bool = False
    margin: float = math.nan
    margin_reason: str = ""

    def format_value(self, x: float) -> str:
        """``x`` (the value or an interval end) as this indicator prints: a share in whole
        percent (``"41 %"``), anything else with 3 significant digits.

        Examples
        --------
        >>> Metric("k", "Reached", 0.412, percent=True).format_value(0.412)
        '41 %'
        >>> Metric("k", "Contacts per patient", 3.456).format_value(3.456)
        '3.46'
        """
        return f"{100 * x:.0f} %" if self.percent else f"{x:.3g}"

    def margin_text(self) -> str:
        """The margin of ``similar`` as read: ``"±5 percentage points"``, ``"±1.48"``.

        Examples
        --------
        >>> Metric("k", "Retention", 0.8, margin=0.05, percent=True).margin_text()
        '±5 percentage points'
        """
        if not math.isfinite(self.margin):
            return ""
        if self.percent:
            return f"\N{PLUS-MINUS SIGN}{100 * self.margin:.3g} percentage points"
        return f"\N{PLUS-MINUS SIGN}{self.margin:.3g}"

    def status_text(self) -> str:
        """The status in words, with what it rests on (empty without a status).

        Examples
        --------
        >>> Metric("k", "Retention", 0.8, 0.7, 0.9, benchmark=0.87, status="inconclusive",
        ...        margin=0.05, percent=True).status_text()
        'inconclusive: not clearly different from the yardstick, nor shown within ±5 percentage points of it'
        """
        margin = self.margin_text()
        if not math.isfinite(self.conf_low):  # a count against a range (the caseload)
            return {
                "within": "within the yardstick's range",
                "above": "above the yardstick's range",
                "below": "below the yardstick's range",
            }.get(self.status, self.status)
        return {
            "above": "above the yardstick (its 95% CI lies above it)",
            "below": "below the yardstick (its 95% CI lies below it)",
            "similar": f"similar: its 90% CI lies within {margin} of the yardstick",
            "inconclusive": "inconclusive: not clearly different from the yardstick, nor shown "
            + (f"within {margin} of it" if margin else "close to it (no margin)"),
        }.get(self.status, self.status)

    def text(self) -> str:
        """``"label: value (95% CI ...) vs yardstick [status in words]"``."""
        fmt = self.format_value
        out = f"{self.label}: {fmt(self.value)}"
        if math.isfinite(self.conf_low):
            out += f" (95% CI {fmt(self.conf_low)} to {fmt(self.conf_high)})"
        if self.n:
            out += f", n = {self.n}"
        if self.benchmark_text:
            out += f"; yardstick {self.benchmark_text}"
        if self.status:
            out += f" [{self.status_text()}]"
        if self.note:
            out += f" -- {self.note}"
        return out


def yardstick_status(
    interval: tuple[float, float],
    tost_interval: tuple[float, float],
    benchmark: float,
    margin: float,
) -> str:
    """An indicator against its yardstick, by direction and uncertainty (module docstring).

    ``interval`` is the 95 % interval, ``tost_interval`` the 90 % one (two one-sided tests at
    5 %); ``margin`` the half-width of ``similar`` (NaN: no margin, so never similar). Empty
    when there is no yardstick or no interval.

    Examples
    --------
    >>> yardstick_status((10.0, 14.0), (10.5, 13.5), 12.4, 1.48)  # covers it, but wide
    'inconclusive'
    >>> yardstick_status((11.9, 12.9), (12.0, 12.8), 12.4, 1.48)
    'similar'
    >>> yardstick_status((13.0, 15.0), (13.2, 14.8), 12.4, 1.48)
    'above'
    """
    lo, hi = interval
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(benchmark)):
        return ""
    slack = 1e-9  # an interval ending at 100 % reaches a 100 % yardstick
    if hi < benchmark - slack:
        return "below"
    if lo > benchmark + slack:
        return "above"
    tlo, thi = tost_interval
    if math.isfinite(margin) and benchmark - margin < tlo and thi < benchmark + margin:
        return "similar"
    return "inconclusive"


def caseload(
    data: pd.DataFrame,
    *,
    coach: str = "coach_id",
    fte: float | Mapping[Any, float] | None = None,
) -> pd.DataFrame:
    """Patients per coach and per full-time equivalent, against 70-100 per full-time coach.

    Parameters
    ----------
    data : DataFrame
        The coached patients (one row each).
    coach : str
        Coach column; patients without a coach are counted in a row ``<none>``.
    fte : float or mapping, optional
        Each coach's full-time equivalent (one number for all, or coach ->
        FTE); default 1.0 (full time).

    Returns
    -------
    DataFrame
        ``coach``, ``patients``, ``fte``, ``per_fte`` and ``status``
        (``"below"``, ``"within"`` or ``"above"`` 70-100).

    Examples
    --------
    >>> df = pd.DataFrame({"coach_id": ["a"] * 80 + ["b"] * 40})
    >>> caseload(df, fte={"a": 1.0, "b": 0.5})[["coach", "per_fte", "status"]].to_numpy().tolist()
    [['a', 80.0, 'within'], ['b', 80.0, 'within']]
    """
    require_columns(data, [coach])
    ids = data[coach].astype("string").fillna("<none>")
    per = ids.value_counts(sort=False).sort_index()
    out = pd.DataFrame({"coach": per.index.astype(str), "patients": per.to_numpy(dtype="int64")})
    if fte is None:
        f = np.ones(len(out))
    elif isinstance(fte, Mapping):
        missing = [c for c in out["coach"] if c not in {str(k) for k in fte} and c != "<none>"]
        if missing:
            raise AnalysisError(f"fte= gives no full-time equivalent for coach(es) {missing}")
        lookup = {str(k): float(v) for k, v in fte.items()}
        f = np.array([lookup.get(c, math.nan) for c in out["coach"]], dtype=float)
    else:
        f = np.full(len(out), float(fte))
    if np.any(f[np.isfinite(f)] <= 0):
        raise AnalysisError(f"full-time equivalents must be > 0; got {f.tolist()}")
    out["fte"] = f
    out["per_fte"] = out["patients"] / out["fte"]
    lo, hi = FULL_TIME_CASELOAD
    out["status"] = np.where(
        out["per_fte"] < lo, "below", np.where(out["per_fte"] > hi, "above", "within")
    )
    return out


@dataclass(frozen=True)
class ProgramMetrics(TidyResult):
    """The tracking indicators of one program.

    Attributes
    ----------
    metrics : tuple of Metric
        In order: caseload, contacts, retention, referrals (and the
        per-condition shares and session counts when available).
    per_coach : DataFrame or None
        :func:`caseload` (None without a coach column).
    encounters : EncounterCounts or None
        From the encounter rows, when given.
    notes : tuple of str
        What was assumed or could not be computed.
    """

    metrics: tuple[Metric, ...]
    per_coach: pd.DataFrame | None = None
    encounters: EncounterCounts | None = None
    notes: tuple[str, ...] = field(default=())

    def __getitem__(self, key: str) -> Metric:
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(f"no metric {key!r}; metrics: {[m.key for m in self.metrics]}")

    def __contains__(self, key: object) -> bool:
        return any(m.key == key for m in self.metrics)

    def to_dict(self) -> dict[str, Any]:
        """``{metric key: value}``."""
        return {m.key: m.value for m in self.metrics}

    def to_frame(self) -> pd.DataFrame:
        """One row per metric (not the one-row frame of :meth:`to_dict`); shares, their
        intervals, yardsticks and margins as proportions (0.87 for 87 %)."""
        cols = [
            "key",
            "label",
            "value",
            "conf_low",
            "conf_high",
            "n",
            "benchmark",
            "benchmark_text",
            "status",
            "margin",
            "margin_reason",
            "note",
        ]
        return pd.DataFrame([{c: getattr(m, c) for c in cols} for m in self.metrics], columns=cols)

    def summary(self) -> str:
        """Text: one line per metric, the caseload per coach, encounter problems and notes."""
        lines = ["Program tracking (practice brief indicators):"]
        lines += [f"  {m.text()}" for m in self.metrics]
        if self.per_coach is not None and len(self.per_coach) > 1:
            lines.append(
                "  per coach: "
                + ", ".join(
                    f"{r.coach} {r.patients}" + (f"/{r.fte:g} FTE" if r.fte != 1 else "")
                    for r in self.per_coach.itertuples()
                )
            )
        if self.encounters is not None:
            lines += ["  " + x for x in self.encounters.summary().splitlines()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        """Each indicator as printed, with its 95% CI and status; ``n/a``: not computed."""
        parts = []
        for m in self.metrics:
            f, extra = m.format_value, [m.status] if m.status else []
            if math.isfinite(m.conf_low + m.conf_high):
                extra.insert(0, f"95% CI {f(m.conf_low)} to {f(m.conf_high)}")
            value = f"{f(m.value)} ({'; '.join(extra)})" if extra else f(m.value)
            parts.append(f"{m.key} {value if math.isfinite(m.value) else 'n/a'}")
        return f"<ProgramMetrics: {', '.join(parts) or 'no indicator'}>"


def _coached(data: pd.DataFrame, arm: str, keep: Collection[object] | None = None) -> pd.DataFrame:
    """The coached patients' rows (every row without an arm column), of the ``keep`` columns."""
    frame = data if keep is None else data[[c for c in data.columns if c in keep]]
    if arm in data.columns:
        return frame.loc[(data[arm].astype("string") == "coaching").fillna(False).to_numpy()]
    return frame


def _caseload_metric(
    coached: pd.DataFrame,
    coach: str,
    fte: float | Mapping[Any, float] | None,
    notes: list[str],
    peer: bool = False,
) -> tuple[Metric | None, pd.DataFrame | None]:
    if coach not in coached.columns:
        notes.append(f"no {coach!r} column: caseload per coach not computed")
        return None, None
    table = caseload(coached, coach=coach, fte=fte)
    real = table.loc[table["coach"] != "<none>"]
    if fte is None and not peer:
        notes.append("caseload assumes every coach is full time (pass fte= otherwise)")
    if len(real) == 0:
        notes.append(f"no coached patient has a {coach!r}: caseload not computed")
        return None, table
    mean = float(real["per_fte"].mean())
    if peer:  # volunteer peers: the full-time medical-assistant range does not apply
        from coachstats.trials.registry import get_trial

        patients, coaches = get_trial("peer").coached_per_coach()
        ratio = patients / coaches
        return Metric(
            "caseload",
            "Coached patients per coach",
            mean,
            n=len(real),
            benchmark=ratio,
            benchmark_text=f"for information, not judged: {patients} coached patients / "
            f"{coaches} peer coaches = {ratio:.1f} per coach in the peer trial (volunteer "
            "peers; the 70-100 per full-time coach of the practice brief is for "
            "medical-assistant coaches)",
            note=f"{len(real)} coach(es); range {real['per_fte'].min():.0f}-"
            f"{real['per_fte'].max():.0f}",
        ), table
    lo, hi = FULL_TIME_CASELOAD
    status = "below" if mean < lo else "above" if mean > hi else "within"
    metric = Metric(
        "caseload",
        "Coached patients per full-time coach",
        mean,
        n=len(real),
        benchmark=float(np.mean(FULL_TIME_CASELOAD)),
        benchmark_text=f"{lo}-{hi} per full-time coach (practice brief; HCPC about 75)",
        status=status,
        note=f"{len(real)} coach(es); range {real['per_fte'].min():.0f}-{real['per_fte'].max():.0f}",
    )
    return metric, table


def _interval_metric(
    key: str,
    label: str,
    r: ComparisonResult,
    tost: ComparisonResult,
    n: int,
    benchmark: float,
    text: str,
    note: str,
    margins: Mapping[str, tuple[float, str]],
    *,
    percent: bool = False,
) -> Metric:
    """A metric from a one-sample result (95 %, and 90 % in ``tost``) against ``benchmark``."""
    margin, reason = (
        margins.get(key, (math.nan, "")) if math.isfinite(benchmark) else (math.nan, "")
    )
    return Metric(
        key,
        label,
        r.estimate,
        r.conf_low,
        r.conf_high,
        n=n,
        benchmark=benchmark,
        benchmark_text=text,
        status=yardstick_status(
            (r.conf_low, r.conf_high), (tost.conf_low, tost.conf_high), benchmark, margin
        ),
        note=note,
        percent=percent,
        margin=margin,
        margin_reason=reason,
    )


def _mean_metric(
    key: str,
    label: str,
    values: np.ndarray,
    benchmark: tuple[float, float],
    text: str,
    margins: Mapping[str, tuple[float, str]],
) -> Metric:
    mean, sd, n = float(values.mean()), float(values.std(ddof=1)), len(values)
    r = one_sample_mean(mean, sd, n, conf_level=_CONF, outcome=key)
    tost = one_sample_mean(mean, sd, n, conf_level=_TOST_CONF, outcome=key)
    return _interval_metric(
        key, label, r, tost, n, benchmark[0], text, f"SD {r.arms[0].sd:.1f}", margins
    )


def _share_metric(
    key: str,
    label: str,
    x: int,
    n: int,
    benchmark: float,
    text: str,
    margins: Mapping[str, tuple[float, str]],
    note: str = "",
) -> Metric:
    # yardstick_status gives "" for a non-finite benchmark
    r = one_sample_proportion(x, n, conf_level=_CONF, outcome=key)
    tost = one_sample_proportion(x, n, conf_level=_TOST_CONF, outcome=key)
    return _interval_metric(
        key, label, r, tost, n, benchmark, text, note or f"{x}/{n}", margins, percent=True
    )


def program_metrics(
    data: Any,
    *,
    goals: GoalSet | str = "hcpc",
    followup: int | None = None,
    arm: str = "arm",
    coach: str = "coach_id",
    contacts: str = "coach_contacts",
    fte: float | Mapping[Any, float] | None = None,
    encounters: pd.DataFrame | None = None,
    encounter_columns: Mapping[str, str] | None = None,
    endpoints: pd.DataFrame | None = None,
    margins: Mapping[str, float] | None = None,
) -> ProgramMetrics:
    """The practice brief's tracking indicators for the coached patients of a program.

    Parameters
    ----------
    data : DataFrame or TrialData
        The patient table (schema columns). With an ``arm`` column only the
        coaching arm counts; without it every patient is coached.
    goals : GoalSet or str
        Goal set deciding who is uncontrolled at baseline (``"hcpc"`` or ``"peer"``).
    followup : int, optional
        Follow-up month for retention (default: the earliest after baseline).
    arm, coach, contacts : str
        Columns.
    fte : float or mapping, optional
        Full-time equivalents of the coaches (see :func:`caseload`).
    encounters : DataFrame, optional
        CPT encounter rows (see :func:`count_encounters`); when given, contacts
        per patient are counted from them.
    encounter_columns : mapping, optional
        ``{"patient": ..., "date": ..., "cpt": ...}`` names in ``encounters``.
    endpoints : DataFrame, optional
        The patients' endpoints already derived with ``goals`` at ``followup``
        (:attr:`coachstats.plan.PlanResult.endpoints`, same rows and index as
        ``data``); given, they are used instead of being derived again.
    margins : mapping, optional
        Margins of ``similar`` by metric key (shares as proportions: 0.05 for 5
        percentage points), replacing those of :data:`TRACKING_MARGINS`.

    Returns
    -------
    ProgramMetrics

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": range(6), "arm": ["coaching"] * 6,
    ...                    "coach_id": ["a"] * 6, "coach_contacts": [6, 9, 12, 15, 18, 21]})
    >>> m = program_metrics(df)
    >>> m["caseload"].status, m["contacts"].status  # 6 patients cannot show 13.5 is near 12.4
    ('below', 'inconclusive')
    """
    gs = get_goal_set(goals)
    if gs is None:  # pragma: no cover - get_goal_set only returns None for None
        raise AnalysisError("a goal set is needed")
    bad = {k: v for k, v in (margins or {}).items() if not (isinstance(v, int | float) and v > 0)}
    if bad:
        raise AnalysisError(f"tracking margins must be positive numbers; got {bad}")
    margin_of = {
        **TRACKING_MARGINS,
        **{k: (float(v), "set by the user") for k, v in (margins or {}).items()},
    }
    patients = getattr(data, "patients", data)
    if not isinstance(patients, pd.DataFrame):
        raise AnalysisError(f"data must be a DataFrame or TrialData, got {type(data).__name__}")
    # with the endpoints given, only the columns read here are taken (not a wide table's all)
    keep = None
    if endpoints is not None:
        measured = measure_months(patients.columns)
        keep = {arm, coach, contacts, "patient_id"}
        keep.update(f"{m}_{mo}" for m, mos in measured.items() for mo in mos)
    coached = _coached(patients, arm, keep)
    if len(coached) == 0:
        raise AnalysisError(f"no coached patients (column {arm!r} has no 'coaching' rows)")
    notes: list[str] = []
    metrics: list[Metric] = []
    peer = gs is not None and gs.name == GOAL_SETS["peer"].name
    load, per_coach = _caseload_metric(coached, coach, fte, notes, peer=peer)
    if load is not None:
        metrics.append(load)
    counts = None
    contacts_text = f"{HCPC_CONTACTS[0]} (SD {HCPC_CONTACTS[1]}) in HCPC"
    if encounters is not None:
        names = {"patient": "patient_id", "date": "date", "cpt": "cpt", **(encounter_columns or {})}
        pid = coached["patient_id"] if "patient_id" in coached.columns else None
        counts = count_encounters(
            encounters, patient=names["patient"], date=names["date"], cpt=names["cpt"], patients=pid
        )
        own = counts.per_patient.loc[counts.per_patient["in_patient_table"]]
        if len(own) > 1:
            metrics.append(
                _mean_metric(
                    "contacts",
                    "Coaching sessions per patient (CPT 0591T-0593T)",
                    own["total"].to_numpy(dtype=float),
                    HCPC_CONTACTS,
                    contacts_text,
                    margin_of,
                )
            )
            for kind in SESSION_KINDS:
                metrics.append(
                    Metric(
                        f"sessions_{kind}",
                        f"{kind.replace('_', '-').capitalize()} sessions per patient",
                        float(own[kind].mean()),
                        n=len(own),
                    )
                )
            months = own["months_engaged"].dropna()
            if len(months):
                metrics.append(
                    Metric(
                        "months_engaged",
                        "Months from first to last session, median",
                        float(months.median()),
                        n=len(months),
                    )
                )
            seen = own["total"] > 0
            metrics.append(
                _share_metric(
                    "engaged",
                    "Coached patients with >= 1 session",
                    int(seen.sum()),
                    len(own),
                    math.nan,
                    "",
                    margin_of,
                )
            )
    elif contacts in coached.columns:
        vals = pd.to_numeric(coached[contacts], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        ok = np.isfinite(vals)
        if ok.sum() > 1:
            metric = _mean_metric(
                "contacts",
                "Coaching contacts per patient",
                vals[ok],
                HCPC_CONTACTS,
                contacts_text,
                margin_of,
            )
            if (~ok).any():
                metric = Metric(
                    **{**metric.__dict__, "note": metric.note + f"; {int((~ok).sum())} missing"}
                )
            metrics.append(metric)
    else:
        notes.append(
            f"no {contacts!r} column and no encounter data: contacts per patient not computed"
        )
    derived = None
    if endpoints is not None:
        flags = [c for c in endpoints.columns if str(c).startswith(("uncontrolled_", "n_unc"))]
        derived = endpoints.loc[coached.index, flags]
    metrics += _lab_metrics(coached, gs, followup, notes, margin_of, derived)
    return ProgramMetrics(tuple(metrics), per_coach, counts, tuple(notes))


def _trial_of(gs: GoalSet) -> str | None:
    """The published trial whose goal set ``gs`` is (None: a custom goal set, no benchmark)."""
    return next((k for k, g in GOAL_SETS.items() if g == gs), None)


def _retention_benchmark(gs: GoalSet) -> tuple[int, int, str] | None:
    """The published retention of the trial whose goal set ``gs`` is, else None."""
    name = _trial_of(gs)
    return RETENTION.get(name) if name is not None else None


def _referral_benchmark(gs: GoalSet) -> tuple[float, str]:
    """The yardstick of the share uncontrolled at referral, and its words: 100 % (HCPC's
    eligibility); the peer trial enrolled on a screening HbA1c and some of its patients were
    below 7.5 % at the baseline lab (printed), so its share is shown, not judged."""
    if _trial_of(gs) != "peer":
        return 1.0, "100 % (trial eligibility)"
    from coachstats.trials.registry import get_trial

    coached = get_trial("peer").published_values("baseline_lt_7_5")[0]  # a printed proportion
    return math.nan, (
        "for information, not judged: the peer trial enrolled patients with HbA1c >= 8.0 % "
        f"at screening, yet {getattr(coached, 'events', None)} of its "
        f"{getattr(coached, 'n', None)} coached complete cases had a baseline HbA1c below "
        "7.5 % (printed), so its own share uncontrolled at baseline was below 100 %"
    )


def _lab_metrics(
    coached: pd.DataFrame,
    gs: GoalSet,
    followup: int | None,
    notes: list[str],
    margins: Mapping[str, tuple[float, str]],
    derived: pd.DataFrame | None = None,
) -> list[Metric]:
    months = measure_months(coached.columns)
    measures = [m for m in gs.measures if 0 in months.get(m, [])]
    if not measures:
        notes.append(
            f"no baseline lab columns of {list(gs.measures)}: retention and referrals not computed"
        )
        return []
    later = sorted({mo for m in measures for mo in months[m] if mo > 0})
    fu = followup if followup is not None else (later[0] if later else None)
    out: list[Metric] = []
    base = np.zeros(len(coached), dtype=bool)
    for m in measures:
        base |= coached[f"{m}_0"].notna().to_numpy()
    if fu is not None:
        seen = np.zeros(len(coached), dtype=bool)
        for m in measures:
            if f"{m}_{fu}" in coached.columns:
                seen |= coached[f"{m}_{fu}"].notna().to_numpy()
        x, n = int((seen & base).sum()), int(base.sum())
        published = _retention_benchmark(gs)
        if n:
            out.append(
                _share_metric(
                    "retention",
                    f"Retention: lab measured at month {fu}",
                    x,
                    n,
                    published[0] / published[1] if published else math.nan,
                    f"{100 * published[0] / published[1]:.0f} % ({published[2]})"
                    if published
                    else "",
                    margins,
                    note=f"{x} of the {n} with a baseline lab had one at month {fu}",
                )
            )
    else:
        notes.append("no follow-up lab columns: retention not computed")
    ep = derived
    if ep is None and fu is not None:
        ep = derive_endpoints(coached, gs, followup=fu)
    if ep is not None:
        n_unc = ep["n_uncontrolled"].to_numpy()
        x, n = int(((n_unc > 0) & base).sum()), int(base.sum())
        if n:
            yardstick, text = _referral_benchmark(gs)
            out.append(
                _share_metric(
                    "uncontrolled_at_referral",
                    f"Uncontrolled on >= 1 condition at referral ({gs.name} thresholds)",
                    x,
                    n,
                    yardstick,
                    text,
                    margins,
                    note=(f"{x} of the {n} with a baseline lab; {int((~base).sum())} without one"),
                )
            )
        for m in measures:
            if f"uncontrolled_{m}" not in ep:  # a measure with a baseline but no follow-up column
                notes.append(f"{m}: no month-{fu} column, so no endpoints on it")
                continue
            unc = ep[f"uncontrolled_{m}"]
            have = unc.notna().to_numpy()
            if have.sum():
                out.append(
                    Metric(
                        f"uncontrolled_{m}",
                        f"Uncontrolled on {MEASURE_LABELS[m]} at referral",
                        float(unc[have].astype(bool).mean()),
                        n=int(have.sum()),
                        percent=True,
                    )
                )
    return out
