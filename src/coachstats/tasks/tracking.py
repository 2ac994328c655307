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

A metric's ``status`` says where its interval lies: ``"below"`` (the upper
limit is under the yardstick, or the caseload is under 70), ``"above"``,
``"similar"`` (the interval covers it) or ``"within"`` (caseload in 70-100).

**Encounter data.** Health and well-being coaching has CPT category III codes:
0591T (initial assessment), 0592T (individual follow-up) and 0593T (group
session). Given encounter rows (``patient_id``, ``date``, ``cpt``),
:func:`count_encounters` counts each kind per patient (coached patients
without any encounter count zero), the months between the first and the last
encounter, and reports -- never silently drops -- rows with unknown codes,
unreadable dates or patients missing from the patient table, and patients
with sessions but no initial assessment. Dates may be ISO text, US-style
text, datetimes, or Excel serial day numbers (days since 1899-12-30, as
Excel exports them); see :func:`parse_dates`.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
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

__all__ = [
    "CPT_CODES",
    "FULL_TIME_CASELOAD",
    "HCPC_CONTACTS",
    "RETENTION",
    "EncounterCounts",
    "Metric",
    "ProgramMetrics",
    "caseload",
    "count_encounters",
    "parse_dates",
    "program_metrics",
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
#: CPT category III codes of health and well-being coaching.
CPT_CODES: Mapping[str, str] = {
    "0591T": "initial",
    "0592T": "follow_up",
    "0593T": "group",
}
_SESSION_KINDS = ("initial", "follow_up", "group")
_EXCEL_ORIGIN = pd.Timestamp("1899-12-30")
_EXCEL_MAX = 2958465  # 9999-12-31 as an Excel serial number
_DAYS_PER_MONTH = 365.25 / 12


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

    def text(self) -> str:
        """``"label: value (95% CI ...) vs yardstick [status]"``."""
        fmt = self.format_value
        out = f"{self.label}: {fmt(self.value)}"
        if math.isfinite(self.conf_low):
            out += f" (95% CI {fmt(self.conf_low)} to {fmt(self.conf_high)})"
        if self.n:
            out += f", n = {self.n}"
        if self.benchmark_text:
            out += f"; yardstick {self.benchmark_text}"
        if self.status:
            out += f" [{self.status}]"
        if self.note:
            out += f" -- {self.note}"
        return out


def _status_interval(lo: float, hi: float, benchmark: float) -> str:
    if not (math.isfinite(lo) and math.isfinite(benchmark)):
        return ""
    slack = 1e-9  # an interval ending at 100 % reaches a 100 % yardstick
    if hi < benchmark - slack:
        return "below"
    if lo > benchmark + slack:
        return "above"
    return "similar"


@dataclass(frozen=True)
class EncounterCounts:
    """Per-patient coaching sessions from CPT encounter rows.

    ``per_patient``: ``patient_id``, ``initial``, ``follow_up``, ``group``,
    ``total``, ``first_date``, ``last_date``, ``months_engaged`` and
    ``in_patient_table``. ``problems``: one row per kind of problem
    (``column``, ``rows``, ``values``, ``problem``), as
    :attr:`coachstats.core.errors.SchemaError.failures`.
    """

    per_patient: pd.DataFrame
    problems: pd.DataFrame
    n_rows: int

    def summary(self) -> str:
        """Text: sessions per patient and the problems found."""
        pp = self.per_patient
        lines = [
            f"{self.n_rows} encounter rows, {len(pp)} patients; per patient: "
            + ", ".join(
                f"{k.replace('_', '-')} {pp[k].mean():.2f}" for k in (*_SESSION_KINDS, "total")
            )
        ]
        lines += [
            f"  problem: {column}: {problem} ({len(rows)} rows)"
            for column, rows, problem in zip(
                self.problems["column"],
                self.problems["rows"],
                self.problems["problem"],
                strict=True,
            )
        ]
        return "\n".join(lines)


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse dates as exported by spreadsheets; return the dates and a mask of failures.

    Numbers (or numeric text) from 1 to 2958465 are Excel serial day numbers
    (1900 date system: day 0 is 1899-12-30, which absorbs Excel's fictitious
    29 February 1900 for every date after it); text is parsed with
    :func:`pandas.to_datetime` (``format="mixed"``); datetimes pass through.
    Missing values stay missing and are not failures.

    Examples
    --------
    >>> d, bad = parse_dates(pd.Series([45292, "45293", "2024-01-03", "01/04/2024", "soon", None]))
    >>> [str(x.date()) if pd.notna(x) else None for x in d], bad.tolist()
    (['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', None, None], [False, False, False, False, True, False])
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        out = pd.Series(pd.to_datetime(values), index=values.index)
        return out, np.zeros(len(values), dtype=bool)
    present = values.notna().to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    serial = np.isfinite(numbers) & (numbers >= 1) & (numbers <= _EXCEL_MAX)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if serial.any():
        result[serial] = _EXCEL_ORIGIN + pd.to_timedelta(numbers[serial], unit="D")
    text = present & ~serial & ~np.isfinite(numbers)
    if text.any():
        parsed = pd.to_datetime(values[text].astype(str), format="mixed", errors="coerce")
        result[text] = parsed.to_numpy()
    bad = present & result.isna().to_numpy()
    return result, bad


def count_encounters(
    encounters: pd.DataFrame,
    *,
    patient: str = "patient_id",
    date: str = "date",
    cpt: str = "cpt",
    patients: pd.Series | None = None,
) -> EncounterCounts:
    """Count initial (0591T), follow-up (0592T) and group (0593T) sessions per patient.

    Parameters
    ----------
    encounters : DataFrame
        One row per coaching encounter.
    patient, date, cpt : str
        Its columns (the date is optional: pass a name that is absent to skip it).
    patients : Series, optional
        The program's (coached) patient ids: they all get a row (zero sessions
        when they have no encounter), and encounters of other ids are reported.

    Returns
    -------
    EncounterCounts

    Examples
    --------
    >>> enc = pd.DataFrame({"patient_id": [1, 1, 1, 2, 9], "date": [45292, 45320, 45350, 45300, 45301],
    ...                     "cpt": ["0591T", "0592T", "0593t", "0592T", "99213"]})
    >>> c = count_encounters(enc, patients=pd.Series([1, 2, 3]))
    >>> c.per_patient[["patient_id", "initial", "follow_up", "group", "total"]].to_numpy().tolist()
    [[1, 1, 1, 1, 3], [2, 0, 1, 0, 1], [3, 0, 0, 0, 0], [9, 0, 0, 0, 0]]
    >>> c.per_patient["in_patient_table"].tolist()
    [True, True, True, False]
    >>> sorted(c.problems["problem"].str.split(" ").str[0])
    ['encounters', 'patients', 'unknown']
    """
    require_columns(encounters, [patient, cpt])
    ids = encounters[patient]
    codes = encounters[cpt].astype("string").str.strip().str.upper()
    kind = codes.map(dict(CPT_CODES))
    known = kind.notna().to_numpy()
    problems: list[dict[str, Any]] = []
    row_no = np.arange(len(encounters))
    if (~known).any():
        problems.append(
            {
                "column": cpt,
                "rows": row_no[~known].tolist(),
                "values": pd.unique(encounters.loc[~known, cpt].astype(str)).tolist(),
                "problem": "unknown CPT code(s), not counted as coaching sessions; "
                f"allowed: {', '.join(f'{k} ({v})' for k, v in CPT_CODES.items())}",
            }
        )
    if date in encounters.columns:
        dates, bad_dates = parse_dates(encounters[date])
        if bad_dates.any():
            problems.append(
                {
                    "column": date,
                    "rows": row_no[bad_dates].tolist(),
                    "values": pd.unique(encounters.loc[bad_dates, date].astype(str)).tolist(),
                    "problem": "unreadable date(s); the sessions are counted, their dates ignored",
                }
            )
    else:
        dates = pd.Series(pd.NaT, index=encounters.index, dtype="datetime64[ns]")
    frame = pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "kind": kind.to_numpy(dtype=object),
            "date": dates.to_numpy(),
        }
    )
    counted = frame.loc[known]
    counts = (
        counted.groupby(["patient_id", "kind"]).size().unstack("kind", fill_value=0)
        if len(counted)
        else pd.DataFrame(index=pd.Index([], name="patient_id"))
    )
    counts = counts.reindex(columns=list(_SESSION_KINDS), fill_value=0)
    span = counted.groupby("patient_id")["date"].agg(["min", "max"]) if len(counted) else None
    all_ids = pd.Index(pd.unique(ids.dropna()), name="patient_id")
    if patients is not None:
        all_ids = pd.Index(
            pd.unique(pd.concat([patients, ids.dropna()], ignore_index=True)), name="patient_id"
        )
    per = counts.reindex(all_ids, fill_value=0).astype("int64")
    per["total"] = per[list(_SESSION_KINDS)].sum(axis=1)
    first = span["min"].reindex(all_ids) if span is not None else pd.Series(pd.NaT, index=all_ids)
    last = span["max"].reindex(all_ids) if span is not None else pd.Series(pd.NaT, index=all_ids)
    per["first_date"] = first.to_numpy()
    per["last_date"] = last.to_numpy()
    per["months_engaged"] = (per["last_date"] - per["first_date"]).dt.days / _DAYS_PER_MONTH
    per = per.reset_index()
    if patients is not None:
        member = per["patient_id"].isin(pd.unique(patients)).to_numpy()
        per["in_patient_table"] = member
        stray = ~ids.isin(pd.unique(patients)).to_numpy() & ids.notna().to_numpy()
        if stray.any():
            problems.append(
                {
                    "column": patient,
                    "rows": row_no[stray].tolist(),
                    "values": pd.unique(ids[stray]).tolist(),
                    "problem": "encounters of patients not in the patient table (coached patients); "
                    "counted separately, not in the program's metrics",
                }
            )
    else:
        per["in_patient_table"] = True
    no_initial = (per["total"] > 0) & (per["initial"] == 0)
    if no_initial.any():
        problems.append(
            {
                "column": cpt,
                "rows": per.loc[no_initial, "patient_id"].tolist(),
                "values": [],
                "problem": "patients with coaching sessions but no initial assessment (0591T)",
            }
        )
    return EncounterCounts(
        per_patient=per,
        problems=pd.DataFrame(problems, columns=["column", "rows", "values", "problem"]),
        n_rows=len(encounters),
    )


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
        """One row per metric (not the one-row frame of :meth:`to_dict`)."""
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
        return f"<ProgramMetrics: {', '.join(f'{m.key}={m.value:.3g}' for m in self.metrics)}>"


def _coached(data: pd.DataFrame, arm: str) -> pd.DataFrame:
    if arm in data.columns:
        return data.loc[(data[arm].astype("string") == "coaching").fillna(False).to_numpy()]
    return data


def _caseload_metric(
    coached: pd.DataFrame, coach: str, fte: float | Mapping[Any, float] | None, notes: list[str]
) -> tuple[Metric | None, pd.DataFrame | None]:
    if coach not in coached.columns:
        notes.append(f"no {coach!r} column: caseload per coach not computed")
        return None, None
    table = caseload(coached, coach=coach, fte=fte)
    real = table.loc[table["coach"] != "<none>"]
    if fte is None:
        notes.append("caseload assumes every coach is full time (pass fte= otherwise)")
    if len(real) == 0:
        notes.append(f"no coached patient has a {coach!r}: caseload not computed")
        return None, table
    mean = float(real["per_fte"].mean())
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
    n: int,
    benchmark: float,
    text: str,
    note: str,
    *,
    percent: bool = False,
) -> Metric:
    """A metric from a one-sample result: its estimate and interval against ``benchmark``."""
    return Metric(
        key,
        label,
        r.estimate,
        r.conf_low,
        r.conf_high,
        n=n,
        benchmark=benchmark,
        benchmark_text=text,
        status=_status_interval(r.conf_low, r.conf_high, benchmark),
        note=note,
        percent=percent,
    )


def _mean_metric(
    key: str, label: str, values: np.ndarray, benchmark: tuple[float, float], text: str
) -> Metric:
    r = one_sample_mean(float(values.mean()), float(values.std(ddof=1)), len(values), outcome=key)
    return _interval_metric(
        key, label, r, len(values), benchmark[0], text, f"SD {r.arms[0].sd:.1f}"
    )


def _share_metric(
    key: str, label: str, x: int, n: int, benchmark: float, text: str, note: str = ""
) -> Metric:
    # _status_interval gives "" for a non-finite benchmark
    r = one_sample_proportion(x, n, outcome=key)
    return _interval_metric(key, label, r, n, benchmark, text, note or f"{x}/{n}", percent=True)


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

    Returns
    -------
    ProgramMetrics

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": range(6), "arm": ["coaching"] * 6,
    ...                    "coach_id": ["a"] * 6, "coach_contacts": [6, 9, 12, 15, 18, 21]})
    >>> m = program_metrics(df)
    >>> m["caseload"].status, m["contacts"].status
    ('below', 'similar')
    """
    gs = get_goal_set(goals)
    if gs is None:  # pragma: no cover - get_goal_set only returns None for None
        raise AnalysisError("a goal set is needed")
    patients = getattr(data, "patients", data)
    if not isinstance(patients, pd.DataFrame):
        raise AnalysisError(f"data must be a DataFrame or TrialData, got {type(data).__name__}")
    coached = _coached(patients, arm)
    if len(coached) == 0:
        raise AnalysisError(f"no coached patients (column {arm!r} has no 'coaching' rows)")
    notes: list[str] = []
    metrics: list[Metric] = []
    load, per_coach = _caseload_metric(coached, coach, fte, notes)
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
                )
            )
            for kind in _SESSION_KINDS:
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
                )
            )
    elif contacts in coached.columns:
        vals = pd.to_numeric(coached[contacts], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        ok = np.isfinite(vals)
        if ok.sum() > 1:
            metric = _mean_metric(
                "contacts", "Coaching contacts per patient", vals[ok], HCPC_CONTACTS, contacts_text
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
    derived = endpoints.loc[coached.index] if endpoints is not None else None
    metrics += _lab_metrics(coached, gs, followup, notes, derived)
    return ProgramMetrics(tuple(metrics), per_coach, counts, tuple(notes))


def _retention_benchmark(gs: GoalSet) -> tuple[int, int, str] | None:
    """The published retention of the trial whose goal set ``gs`` is (equal to), else None.

    A custom or renamed goal set belongs to no published trial: no benchmark.
    """
    name = next((k for k, g in GOAL_SETS.items() if g == gs), None)
    return RETENTION.get(name) if name is not None else None


def _lab_metrics(
    coached: pd.DataFrame,
    gs: GoalSet,
    followup: int | None,
    notes: list[str],
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
            out.append(
                _share_metric(
                    "uncontrolled_at_referral",
                    f"Uncontrolled on >= 1 condition at referral ({gs.name} thresholds)",
                    x,
                    n,
                    1.0,
                    "100 % (trial eligibility)",
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
