"""Analysis plans: which endpoints, which comparisons, and how -- as data.

An :class:`AnalysisPlan` is a list of :class:`AnalysisSpec` items. Each spec
names an outcome column (a raw column, a derived endpoint such as
``composite_any``, a questionnaire score such as ``pacic_12`` or an adherence
change such as ``change_prop_concordant``), the comparison method, its
options, the covariates, the cluster variable, a subset, and the missing-data
rule. :func:`run_plan` is the one place where endpoint derivation
(:mod:`coachstats.derive.endpoints`, :mod:`coachstats.derive.scales`,
:mod:`coachstats.derive.adherence`) and comparisons (:mod:`coachstats.compare`) meet:
``reproduce``, ``evaluate`` and ``coachstats analyze`` all call it.

For each spec, :func:`run_plan`

1. takes the table the spec names (``"patients"``, or ``"visit_ratings"`` for
   clinician post-visit ratings);
2. adds questionnaire scores (``trust_<m>``, ``pacic_<m>``,
   ``pacic_<subscale>_<m>``, ``recommend_definitely_<m>``,
   ``recommend_pcp_definitely_<m>``) when the item columns are present, and the
   per-patient adherence changes when a medication table is given;
3. derives the endpoints with the plan's :class:`~coachstats.core.goals.GoalSet` at
   the spec's follow-up month, when the spec uses a column the table lacks;
4. applies the ``subset`` (a :meth:`pandas.DataFrame.query` expression) and
   ``complete_on`` (rows must have these columns), counting every excluded row
   in the result's ``n_excluded``;
5. forms ``outcome - change_from`` when ``change_from`` is given;
6. runs the comparison under the missing-data rule: ``"complete case"`` (as
   published), ``"failure"`` (a missing binary follow-up counts as not at goal)
   or ``"mi"`` (multiple imputation of the raw follow-up measurements, the
   endpoint re-derived in every completed dataset, pooled by Rubin's rules).

Methods (the compare function each dispatches to):

=============  ================================================================
``chi_square``  :func:`coachstats.compare.proportions.chi_square` (``correct=``)
``fisher``      :func:`coachstats.compare.proportions.fisher_exact`
``t_test``      :func:`coachstats.compare.means.t_test` (``equal_var=``)
``ancova``      :func:`coachstats.compare.means.ancova` (``baseline=`` option)
``logistic``    :func:`coachstats.compare.models.logistic`
``linear``      :func:`coachstats.compare.models.linear`
``gee``         :func:`coachstats.compare.models.gee` (``family=``, ``corr=``)
``mixed``       :func:`coachstats.compare.models.mixed` (random intercept)
``mcnemar``     :func:`coachstats.compare.paired.mcnemar` (``timepoints=``)
``paired_t``    :func:`coachstats.compare.paired.paired_t` (``timepoints=``)
``describe``    per-group summaries without a test (mean/SD, proportion, n)
=============  ================================================================

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["coaching"] * 194 + ["usual_care"] * 178,
...                    "goal": [True] * 90 + [False] * 104 + [True] * 61 + [False] * 117})
>>> plan = AnalysisPlan([AnalysisSpec("goal", "chi_square", label="One clinical goal")])
>>> res = run_plan(df, plan)
>>> res["One clinical goal"].format_p()
'.02'
>>> res.to_frame()[["label", "n1", "events1", "n2", "events2"]].to_numpy().tolist()
[['One clinical goal', 194, 90, 178, 61]]
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, cast, get_args

import numpy as np
import pandas as pd

from coachstats.core.errors import (
    AnalysisError,
    ColumnNotFoundError,
    OptionError,
    check_option,
)
from coachstats.core.goals import HCPC_GOALS, PEER_GOALS, GoalSet
from coachstats.core.results import ArmSummary, ComparisonResult, tidy
from coachstats.derive.endpoints import derive_endpoints

__all__ = [
    "DESCRIBE_STATS",
    "GOALSETS",
    "METHODS",
    "MISSING_RULES",
    "AnalysisPlan",
    "AnalysisSpec",
    "PlanResult",
    "compare_endpoints",
    "compare_function",
    "derive_scores",
    "describe",
    "replace_spec",
    "resolve_goals",
    "run_plan",
    "run_spec",
    "spec_columns",
]

Method = Literal[
    "chi_square",
    "fisher",
    "t_test",
    "ancova",
    "logistic",
    "linear",
    "gee",
    "mixed",
    "mcnemar",
    "paired_t",
    "describe",
]
METHODS: tuple[str, ...] = get_args(Method)
MissingRule = Literal["complete case", "failure", "mi"]
MISSING_RULES: tuple[str, ...] = get_args(MissingRule)
Table = Literal["patients", "visit_ratings"]
TABLES: tuple[str, ...] = get_args(Table)
DescribeStat = Literal["mean", "proportion", "n", "n_unique"]
DESCRIBE_STATS: tuple[str, ...] = get_args(DescribeStat)
Errors = Literal["raise", "record"]

#: Known goal sets by name (a plan may name its goal set instead of holding it).
GOALSETS: Mapping[str, GoalSet] = MappingProxyType({"hcpc": HCPC_GOALS, "peer": PEER_GOALS})

#: Seed of multiple imputation when a spec does not give one.
DEFAULT_MI_SEED = 20150301
_PAIRED = ("mcnemar", "paired_t")
_MODEL_METHODS = ("logistic", "linear", "gee", "mixed")
_GOAL_ENDPOINT = re.compile(r"^(at_goal_(hba1c|sbp|ldl)|composite_(any|all))$")
_MEASURE = re.compile(r"^(hba1c|sbp|ldl|bmi)_(\d+)$")


# --------------------------------------------------------------------------- specs


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class AnalysisSpec:
    """One comparison of a plan.

    Parameters
    ----------
    outcome : str
        The analysed column: raw (``hba1c_6``), a derived endpoint
        (``composite_any``, ``at_goal_hba1c``, ``change_sbp``,
        ``hba1c_drop_ge1``), a score (``trust_12``, ``pacic_12``,
        ``recommend_definitely_12``) or an adherence change
        (``change_adherent_days``). For the paired methods, the endpoint or
        measure name without month (``composite_any``, ``hba1c``).
    method : str
        One of :data:`METHODS`.
    label : str
        Display name (defaults to the outcome).
    options : mapping
        Keyword options of the compare function (``correct``, ``equal_var``,
        ``estimand``, ``family``, ``corr``, ``reml``, ``fixed_effects``,
        ``baseline`` for ANCOVA...), plus for ``describe`` ``stat`` (one of
        :data:`DESCRIBE_STATS`), ``level`` and ``where`` (the proportion of
        rows meeting a :meth:`pandas.DataFrame.eval` condition); for ``missing="mi"`` ``m``,
        ``seed``, ``maxit`` and ``impute`` (the imputation model's columns);
        ``singleton_clusters=True`` puts rows with a missing cluster id (usual
        care has no coach) in clusters of their own.
    covariates : tuple of str
        Adjustment covariates.
    cluster : str, optional
        Cluster column (clinic, clinician, coach).
    subset : str, optional
        A :meth:`pandas.DataFrame.query` expression selecting the analysed rows,
        e.g. ``"site == 'A'"``.
    missing : {"complete case", "failure", "mi"}
        Missing-data rule.
    followup : int, optional
        Follow-up month of the derived endpoints (default: the earliest).
    timepoints : tuple of two ints, optional
        Paired methods: the months compared (``(12, 24)``).
    table : {"patients", "visit_ratings"}
        Which table the outcome is in.
    by : str or None
        ``describe``: the grouping column (``"arm"``, ``"site"``) or None for
        all rows together.
    arm : str
        The arm column.
    complete_on : tuple of str
        Rows must have these columns (e.g. both time points of a score).
    change_from : str, optional
        Analyse ``outcome - change_from`` (e.g. the change of a binary
        indicator between baseline and follow-up).

    Examples
    --------
    >>> AnalysisSpec("at_goal_ldl", "chi_square", subset="site == 'A'").label
    'at_goal_ldl'
    >>> AnalysisSpec("x", "anova")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: method='anova' is not allowed; choose one of 'chi_square', \
'fisher', 't_test', 'ancova', 'logistic', 'linear', 'gee', 'mixed', 'mcnemar', 'paired_t', \
'describe'
    """

    outcome: str
    method: Method
    label: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    covariates: tuple[str, ...] = ()
    cluster: str | None = None
    subset: str | None = None
    missing: MissingRule = "complete case"
    followup: int | None = None
    timepoints: tuple[int, int] | None = None
    table: Table = "patients"
    by: str | None = "arm"
    arm: str = "arm"
    complete_on: tuple[str, ...] = ()
    change_from: str | None = None

    def __post_init__(self) -> None:
        check_option("method", self.method, METHODS)
        check_option("missing", self.missing, MISSING_RULES)
        check_option("table", self.table, TABLES)
        if not self.outcome or not isinstance(self.outcome, str):
            raise OptionError(f"outcome must be a non-empty column name, got {self.outcome!r}")
        object.__setattr__(self, "options", _freeze(self.options))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "complete_on", tuple(self.complete_on))
        if not self.label:
            object.__setattr__(self, "label", self.outcome)
        if self.method in _PAIRED:
            if self.timepoints is None or len(self.timepoints) != 2:
                raise OptionError(
                    f"method={self.method!r} needs timepoints=(before, after), "
                    f"got {self.timepoints!r}"
                )
            object.__setattr__(self, "timepoints", tuple(int(t) for t in self.timepoints))
        elif self.timepoints is not None:
            raise OptionError(f"timepoints only apply to {_PAIRED}, not method={self.method!r}")
        if self.method == "describe":
            check_option("stat", self.options.get("stat", "mean"), DESCRIBE_STATS)
        if self.missing != "complete case" and self.method in (*_PAIRED, "describe"):
            raise OptionError(
                f"missing={self.missing!r} is not available for method={self.method!r}; "
                "use 'complete case'"
            )

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> AnalysisSpec:
        """Build a spec from plain data (a TOML/JSON table).

        Examples
        --------
        >>> s = AnalysisSpec.from_dict({"outcome": "composite_any", "method": "chi_square",
        ...                             "options": {"correct": True}})
        >>> s.options["correct"], s.missing
        (True, 'complete case')
        """
        allowed = set(cls.__dataclass_fields__)
        bad = sorted(set(spec) - allowed)
        if bad:
            raise OptionError(f"unknown analysis key(s) {bad}; allowed: {sorted(allowed)}")
        data = dict(spec)
        for key in ("covariates", "complete_on", "timepoints"):
            if key in data and data[key] is not None:
                data[key] = tuple(data[key])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; the inverse of :meth:`from_dict`."""
        out: dict[str, Any] = {}
        for name, f in self.__dataclass_fields__.items():
            value = getattr(self, name)
            default = None if f.default is MISSING else f.default
            if name in ("outcome", "method") or (value != default and value not in ((), {})):
                out[name] = dict(value) if isinstance(value, Mapping) else value
        return out

    def describe_rule(self) -> str:
        """One line: method, options, adjustment, clustering, subset, missing rule."""
        parts = [self.method.replace("_", " ")]
        opts = {k: v for k, v in self.options.items() if k not in ("impute",)}
        if opts:
            parts.append(", ".join(f"{k}={v}" for k, v in opts.items()))
        if self.change_from:
            parts.append(f"change from {self.change_from}")
        if self.covariates:
            parts.append("adjusted for " + ", ".join(self.covariates))
        if self.cluster:
            parts.append(f"clustered by {self.cluster}")
        if self.subset:
            parts.append(f"subset {self.subset}")
        if self.complete_on:
            parts.append("rows with " + ", ".join(self.complete_on))
        if self.timepoints:
            parts.append(f"months {self.timepoints[0]} vs {self.timepoints[1]}")
        parts.append(self.missing)
        return "; ".join(parts)


@dataclass(frozen=True)
class AnalysisPlan:
    """A list of :class:`AnalysisSpec` run together on one data set.

    Parameters
    ----------
    specs : sequence of AnalysisSpec
        The comparisons, in order. Labels must be unique.
    goals : GoalSet or str, optional
        The goal set used to derive endpoints (a name from :data:`GOALSETS`
        or a :class:`~coachstats.core.goals.GoalSet`).
    name : str
        Short name of the plan.

    Examples
    --------
    >>> plan = AnalysisPlan([AnalysisSpec("composite_any", "chi_square")], goals="hcpc")
    >>> plan.goals.name, len(plan)
    ('hcpc', 1)
    """

    specs: tuple[AnalysisSpec, ...]
    goals: GoalSet | None = None
    name: str = ""

    def __init__(
        self,
        specs: Iterable[AnalysisSpec],
        goals: GoalSet | str | None = None,
        name: str = "",
    ) -> None:
        items = tuple(specs)
        for s in items:
            if not isinstance(s, AnalysisSpec):
                raise OptionError(f"plan items must be AnalysisSpec, got {type(s).__name__}")
        labels = [s.label for s in items]
        dups = sorted({lab for lab in labels if labels.count(lab) > 1})
        if dups:
            raise OptionError(f"analysis labels must be unique; repeated: {dups}")
        object.__setattr__(self, "specs", items)
        object.__setattr__(self, "goals", resolve_goals(goals))
        object.__setattr__(self, "name", name)

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[AnalysisSpec]:
        return iter(self.specs)

    @classmethod
    def from_dicts(
        cls, specs: Iterable[Mapping[str, Any]], goals: GoalSet | str | None = None, name: str = ""
    ) -> AnalysisPlan:
        """Build a plan from plain data (e.g. a parsed TOML list of tables)."""
        return cls([AnalysisSpec.from_dict(s) for s in specs], goals=goals, name=name)


def resolve_goals(goals: GoalSet | str | None) -> GoalSet | None:
    """A :class:`GoalSet` from itself, its name in :data:`GOALSETS`, or None."""
    if goals is None or isinstance(goals, GoalSet):
        return goals
    check_option("goals", goals, tuple(GOALSETS))
    return GOALSETS[goals]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PlanResult:
    """The results of :func:`run_plan`, aligned with the plan's specs.

    ``results[i]`` is the :class:`~coachstats.core.results.ComparisonResult` of
    ``specs[i]``, or None when it failed under ``errors="record"`` (then
    ``errors[i]`` holds the message).
    """

    specs: tuple[AnalysisSpec, ...]
    results: tuple[ComparisonResult | None, ...]
    errors: tuple[str | None, ...]

    @property
    def ok(self) -> bool:
        """True when every spec produced a result."""
        return all(e is None for e in self.errors)

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, key: int | str) -> ComparisonResult:
        if isinstance(key, str):
            labels = [s.label for s in self.specs]
            if key not in labels:
                raise KeyError(f"no analysis labelled {key!r}; labels: {labels}")
            key = labels.index(key)
        result = self.results[key]
        if result is None:
            raise AnalysisError(f"analysis {self.specs[key].label!r} failed: {self.errors[key]}")
        return result

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per spec: ``label``, ``rule``, the result columns and ``error``."""
        rows = []
        for spec, result, error in zip(self.specs, self.results, self.errors, strict=True):
            row = (
                tidy([result]) if result is not None else pd.DataFrame([{"outcome": spec.outcome}])
            )
            row.insert(0, "label", spec.label)
            row.insert(1, "rule", spec.describe_rule())
            row["error"] = error or ""
            rows.append(row)
        if not rows:
            return tidy([]).assign(label=pd.Series(dtype=object), error=pd.Series(dtype=object))
        return pd.concat(rows, ignore_index=True)

    def summary(self) -> str:
        """Text: each result's summary, or its error."""
        parts = []
        for spec, result, error in zip(self.specs, self.results, self.errors, strict=True):
            body = result.summary() if result is not None else f"  failed: {error}"
            parts.append(f"[{spec.label}]\n{body}")
        return "\n\n".join(parts)


# --------------------------------------------------------------------------- inputs


def _tables(data: Any) -> dict[str, pd.DataFrame | None]:
    """The named tables of ``data``: a DataFrame (patients), TrialData or a mapping."""
    if isinstance(data, pd.DataFrame):
        return {"patients": data}
    if isinstance(data, Mapping):
        out = dict(data)
        if "patients" not in out and "visit_ratings" not in out:
            raise OptionError(
                f"a mapping of tables needs 'patients' and/or 'visit_ratings'; got {sorted(out)}"
            )
        for k, v in out.items():
            if v is not None and not isinstance(v, pd.DataFrame):
                raise OptionError(f"table {k!r} must be a DataFrame, got {type(v).__name__}")
        return out
    patients = getattr(data, "patients", None)
    if isinstance(patients, pd.DataFrame):
        return {
            name: getattr(data, name, None)
            for name in ("patients", "medications", "adherent_days", "visit_ratings")
        }
    raise OptionError(
        "data must be a DataFrame (patients), a TrialData or a mapping of tables, "
        f"got {type(data).__name__}"
    )


def derive_scores(patients: pd.DataFrame) -> pd.DataFrame:
    """Add questionnaire scores for every month whose item columns are all present.

    ``trust_<m>`` (:func:`coachstats.derive.scales.score_trust` on ``trust_q1_<m>`` ..
    ``trust_q11_<m>``), ``pacic_<m>`` and ``pacic_<subscale>_<m>``
    (:func:`coachstats.derive.scales.score_pacic`), and the "definitely recommend"
    binaries ``recommend_definitely_<m>`` / ``recommend_pcp_definitely_<m>``
    from the 4-point items ``recommend_<m>`` / ``recommend_pcp_<m>`` (4 =
    definitely). Columns already present are not recomputed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"recommend_12": [4, 3, None]})
    >>> derive_scores(df)["recommend_definitely_12"].tolist()
    [True, False, <NA>]
    """
    from coachstats.derive import scales

    new: dict[str, pd.Series] = {}
    cols = set(map(str, patients.columns))
    months: dict[str, set[str]] = {}
    for c in cols:
        m = re.match(r"^(trust|pacic)_q\d+_(\d+)$", c)
        if m:
            months.setdefault(m.group(1), set()).add(m.group(2))
        m = re.match(r"^(recommend|recommend_pcp)_(\d+)$", c)
        if m:
            months.setdefault(m.group(1), set()).add(m.group(2))
    for month in sorted(months.get("trust", ()), key=int):
        items = scales.item_columns("trust", scales.TRUST_N_ITEMS, month)
        if set(items) <= cols and f"trust_{month}" not in cols:
            new[f"trust_{month}"] = scales.score_trust(patients, items)
    for month in sorted(months.get("pacic", ()), key=int):
        items = scales.item_columns("pacic", scales.PACIC_N_ITEMS, month)
        if set(items) <= cols and f"pacic_{month}" not in cols:
            scored = scales.score_pacic(patients, items)
            new[f"pacic_{month}"] = scored["pacic"]
            for sub in scales.PACIC_SUBSCALES:
                new[f"pacic_{sub}_{month}"] = scored[f"pacic_{sub}"]
    for item in ("recommend", "recommend_pcp"):
        for month in sorted(months.get(item, ()), key=int):
            name = f"{item}_definitely_{month}"
            if name not in cols:
                new[name] = scales.recommend_binary(
                    patients, f"{item}_{month}", levels=4, cut=4, name=name
                )
    if not new:
        return patients
    out = patients.copy()
    for k, v in new.items():
        out[k] = v
    return out


def _add_adherence(
    patients: pd.DataFrame,
    meds: pd.DataFrame | None,
    days: pd.DataFrame | None,
    followup: int | None,
) -> pd.DataFrame:
    """Merge the per-patient adherence changes (:func:`coachstats.derive.adherence.adherence_change`)."""
    if meds is None or "patient_id" not in patients.columns:
        return patients
    from coachstats.derive import adherence

    months = sorted(pd.unique(meds["month"]).tolist())
    later = [m for m in months if m > 0]
    fu = followup if followup in later else (later[0] if later else None)
    if fu is None:
        return patients
    change = adherence.adherence_change(
        meds, days, baseline=0, followup=int(fu), patients=patients["patient_id"].tolist()
    )
    change = change.drop(columns=["missing_reason"], errors="ignore")
    keep = [c for c in change.columns if c not in patients.columns or c == "patient_id"]
    change = change[keep]
    if "patient_id" not in change.columns:
        change = change.rename_axis("patient_id").reset_index()
    merged = patients.merge(change, on="patient_id", how="left", validate="one_to_one")
    merged.index = patients.index
    return merged


_ADHERENCE_COLUMN = re.compile(
    r"^(n_meds_\d+|prop_\w+_\d+|adherent_days_\d+|change_prop_\w+|change_adherent_days)$"
)


class _Context:
    """Derived tables of one :func:`run_plan` call, computed once and cached.

    The patient table gets its questionnaire scores always, and the adherence
    columns only when a spec uses one (deriving them reads the medication table).
    """

    def __init__(self, data: Any, goals: GoalSet | None) -> None:
        self.tables = _tables(data)
        self.goals = goals
        self._base: dict[tuple[str, bool], pd.DataFrame] = {}
        self._derived: dict[tuple[int | None, str, bool], pd.DataFrame] = {}

    def base(
        self, table: str, followup: int | None = None, needed: Sequence[str] = ()
    ) -> pd.DataFrame:
        frame = self.tables.get(table)
        if frame is None:
            raise ColumnNotFoundError(
                f"the analysis needs the {table!r} table, which the data does not have "
                f"(tables: {sorted(k for k, v in self.tables.items() if v is not None)})"
            )
        if table != "patients":
            return frame
        if ("patients", False) not in self._base:
            self._base[("patients", False)] = derive_scores(frame)
        scored = self._base[("patients", False)]
        if not self._wants_adherence(scored, needed):
            return scored
        if ("patients", True) not in self._base:
            self._base[("patients", True)] = _add_adherence(
                scored, self.tables.get("medications"), self.tables.get("adherent_days"), followup
            )
        return self._base[("patients", True)]

    @staticmethod
    def _wants_adherence(scored: pd.DataFrame, needed: Sequence[str]) -> bool:
        return any(c not in scored.columns and _ADHERENCE_COLUMN.match(c) for c in needed)

    def frame(self, spec: AnalysisSpec, needed: Sequence[str]) -> pd.DataFrame:
        """The table a spec runs on: raw when it has every needed column, else derived."""
        base = self.base(spec.table, spec.followup, needed)
        if spec.table != "patients":
            return base
        failure = spec.missing == "failure" and bool(_GOAL_ENDPOINT.match(spec.outcome))
        if not failure and all(c in base.columns for c in needed):
            return base
        return self.derived(base, spec.followup, "failure" if failure else "exclude")

    def derived(self, base: pd.DataFrame, followup: int | None, rule: str) -> pd.DataFrame:
        key = (followup, rule, any(b is base for k, b in self._base.items() if k[1]))
        if key not in self._derived:
            if self.goals is None:
                raise OptionError(
                    "this analysis uses derived endpoints, so the plan needs a goal set "
                    f"(goals= one of {sorted(GOALSETS)} or a GoalSet)"
                )
            self._derived[key] = derive_endpoints(
                base, self.goals, followup=followup, missing=cast(Any, rule)
            )
        return self._derived[key]


# --------------------------------------------------------------------------- dispatch


def compare_function(method: str) -> Callable[..., ComparisonResult]:
    if method in ("chi_square", "fisher"):
        from coachstats.compare import proportions

        return proportions.chi_square if method == "chi_square" else proportions.fisher_exact
    if method in ("t_test", "ancova"):
        from coachstats.compare import means

        return cast(Callable[..., ComparisonResult], getattr(means, method))
    if method in _MODEL_METHODS:
        from coachstats.compare import models

        return cast(Callable[..., ComparisonResult], getattr(models, method))
    from coachstats.compare import paired

    return cast(Callable[..., ComparisonResult], getattr(paired, method))


_RESERVED = ("stat", "level", "where", "m", "seed", "maxit", "impute", "singleton_clusters")


def _compare_kwargs(fn: Callable[..., ComparisonResult], spec: AnalysisSpec) -> dict[str, Any]:
    """The keyword arguments ``spec`` gives the compare function ``fn`` (arm, covariates,
    cluster and its options); an option ``fn`` does not take raises, listing the allowed ones."""
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {k: v for k, v in spec.options.items() if k not in _RESERVED}
    if "arm" in params:
        kwargs["arm"] = spec.arm
    if spec.covariates:
        kwargs["covariates"] = list(spec.covariates)
    if spec.cluster:
        kwargs["cluster"] = spec.cluster
    unknown = sorted(k for k in kwargs if k not in params)
    if unknown:
        allowed = sorted(
            k for k, p in params.items() if p.kind == p.KEYWORD_ONLY and k not in ("arm",)
        )
        raise OptionError(
            f"{spec.label!r}: method {spec.method!r} takes no option(s) {unknown}; "
            f"allowed: {allowed}"
        )
    return kwargs


def _call(
    fn: Callable[..., ComparisonResult], spec: AnalysisSpec, frame: pd.DataFrame, outcome: str
) -> ComparisonResult:
    kwargs = _compare_kwargs(fn, spec)
    if spec.method == "ancova":
        baseline = kwargs.pop("baseline", None)
        if baseline is None:
            raise OptionError(f"{spec.label!r}: method 'ancova' needs options.baseline (a column)")
        return fn(frame, outcome, baseline, **kwargs)
    return fn(frame, outcome, **kwargs)


def _evaluate(frame: pd.DataFrame, spec: AnalysisSpec, what: str, expr: object) -> pd.Series:
    """``frame.eval(expr)`` as a Series on the frame's index; a bad expression raises."""
    try:
        return pd.Series(frame.eval(str(expr)), index=frame.index)
    except Exception as exc:  # pandas raises many types for a bad expression
        raise OptionError(f"{spec.label!r}: {what} {expr!r} cannot be evaluated: {exc}") from exc


def _floats(values: pd.Series) -> np.ndarray:
    """A numeric (or boolean) column as float64, missing values as NaN."""
    return pd.to_numeric(values.astype("Float64")).to_numpy(dtype=float, na_value=np.nan)


def _drop_not_eligible(frame: pd.DataFrame, outcome: str, reasons: list[str]) -> pd.DataFrame:
    """Rows a goal endpoint is undefined for by design, with their reason (not "missing").

    ``at_goal_m`` exists only for patients uncontrolled on ``m`` at baseline and
    the composites only for patients uncontrolled on at least one measure; the
    rows outside are dropped here as "not eligible" (or "missing baseline"), so
    that "missing <outcome>" counts only missing follow-up. Rows with a value
    are never dropped, so results do not change. Needs the derived
    ``uncontrolled_*`` / ``n_uncontrolled`` columns; without them, nothing happens.
    """
    m = _GOAL_ENDPOINT.match(outcome)
    if m is None or outcome not in frame.columns:
        return frame
    missing = frame[outcome].isna().to_numpy()
    if m.group(2):  # at_goal_<measure>
        flag = f"uncontrolled_{m.group(2)}"
        if flag not in frame.columns:
            return frame
        unc = frame[flag].astype("boolean")
        groups = [
            ("not eligible: controlled at baseline", (unc == False).fillna(False)),  # noqa: E712
            (f"missing baseline {m.group(2)}", unc.isna()),
        ]
    else:
        if "n_uncontrolled" not in frame.columns:
            return frame
        none = pd.to_numeric(frame["n_uncontrolled"]) == 0
        groups = [("not eligible: controlled at baseline on every measure", none.fillna(False))]
    drop = np.zeros(len(frame), dtype=bool)
    for why, mask in groups:
        hit = missing & mask.to_numpy(dtype=bool) & ~drop
        if hit.any():
            reasons.append(f"{why} ({int(hit.sum())})")
            drop |= hit
    return frame.loc[~drop] if drop.any() else frame


def _apply_rows(frame: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.DataFrame, int, list[str]]:
    """Apply ``subset`` and ``complete_on``; return the frame, rows dropped, reasons."""
    n0 = len(frame)
    reasons = []
    if spec.subset:
        mask = _evaluate(frame, spec, "subset", spec.subset).astype("boolean").fillna(False)
        frame = frame.loc[mask.to_numpy(dtype=bool)]
        if n0 - len(frame):
            reasons.append(f"outside the analysed subgroup {spec.subset} ({n0 - len(frame)})")
    if spec.missing != "mi":  # imputation may make a patient eligible: keep every row
        frame = _drop_not_eligible(frame, spec.outcome, reasons)
    if spec.complete_on:
        missing_cols = [c for c in spec.complete_on if c not in frame.columns]
        if missing_cols:
            raise ColumnNotFoundError(
                f"{spec.label!r}: complete_on column(s) {missing_cols} not found"
            )
        n1 = len(frame)
        frame = frame.loc[frame[list(spec.complete_on)].notna().all(axis=1).to_numpy()]
        if n1 - len(frame):
            reasons.append(f"missing {' or '.join(spec.complete_on)} ({n1 - len(frame)})")
    return frame, n0 - len(frame), reasons


def _with_change(frame: pd.DataFrame, spec: AnalysisSpec) -> tuple[pd.DataFrame, str]:
    if not spec.change_from:
        return frame, spec.outcome
    for c in (spec.outcome, spec.change_from):
        if c not in frame.columns:
            raise ColumnNotFoundError(f"{spec.label!r}: column {c!r} not found")
    name = f"{spec.outcome} - {spec.change_from}"
    out = frame.copy()
    out[name] = _floats(frame[spec.outcome]) - _floats(frame[spec.change_from])
    return out, name


def _with_clusters(frame: pd.DataFrame, spec: AnalysisSpec) -> pd.DataFrame:
    if not (spec.cluster and spec.options.get("singleton_clusters")):
        return frame
    if spec.cluster not in frame.columns:
        raise ColumnNotFoundError(f"{spec.label!r}: cluster column {spec.cluster!r} not found")
    ids = frame[spec.cluster].astype(object)
    own = pd.Series([f"__own_{i}" for i in range(len(frame))], index=frame.index, dtype=object)
    out = frame.copy()
    out[spec.cluster] = ids.where(ids.notna(), own)
    return out


_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "True", "False", "None"})


def _subset_names(expr: str | None) -> list[str]:
    """Column names used in a ``subset`` expression (quoted text and methods excluded).

    Examples
    --------
    >>> _subset_names("site == 'A' and uncontrolled_ldl == True and hba1c_0.notna()")
    ['site', 'uncontrolled_ldl', 'hba1c_0']
    """
    if not expr:
        return []
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", expr)
    names = re.findall(r"(?<![\w.])([A-Za-z_]\w*)", text)
    return list(dict.fromkeys(n for n in names if n not in _KEYWORDS))


def spec_columns(spec: AnalysisSpec) -> list[str]:
    """Every column a spec reads from its table, in a fixed order.

    The outcome, the covariates, the ``complete_on`` columns, the names used in
    the ``subset`` expression, then ``change_from``, the cluster and the ANCOVA
    baseline (``options["baseline"]``) when given; the arm column is not
    included. :func:`run_plan` derives endpoints and scores only when one of
    these is missing from the table, and the questionnaire analyses
    (:mod:`coachstats.tasks.questionnaires`) build their common analysis set from them.
    A name may appear more than once (e.g. a covariate also in ``complete_on``).

    Parameters
    ----------
    spec : AnalysisSpec
        The analysis.

    Returns
    -------
    list of str
        The column names.

    Examples
    --------
    >>> spec = AnalysisSpec("pacic_12", "gee", covariates=("pacic_0",), cluster="clinician_id",
    ...                     subset="site == 'A'", complete_on=("pacic_0", "pacic_12"))
    >>> spec_columns(spec)
    ['pacic_12', 'pacic_0', 'pacic_0', 'pacic_12', 'site', 'clinician_id']
    >>> spec_columns(AnalysisSpec("ldl_12", "ancova", options={"baseline": "ldl_0"}))
    ['ldl_12', 'ldl_0']
    """
    cols = [spec.outcome, *spec.covariates, *spec.complete_on, *_subset_names(spec.subset)]
    if spec.change_from:
        cols.append(spec.change_from)
    if spec.cluster:
        cols.append(spec.cluster)
    if "baseline" in spec.options:
        cols.append(str(spec.options["baseline"]))
    return cols


def _paired_frame(ctx: _Context, spec: AnalysisSpec) -> tuple[pd.DataFrame, str, str]:
    base = ctx.base(spec.table, spec.followup)
    if spec.timepoints is None:  # pragma: no cover - AnalysisSpec.__post_init__ checks this
        raise OptionError(f"{spec.label!r}: paired methods need timepoints")
    names = []
    frame = base
    extra: dict[str, pd.Series] = {}
    for t in spec.timepoints:
        raw = f"{spec.outcome}_{t}"
        if raw in base.columns:
            names.append(raw)
            continue
        derived = ctx.derived(base, t, "exclude")
        if spec.outcome not in derived.columns:
            raise ColumnNotFoundError(
                f"{spec.label!r}: neither column {raw!r} nor a derived endpoint "
                f"{spec.outcome!r} at month {t}"
            )
        name = f"{spec.outcome}@{t}"
        extra[name] = derived[spec.outcome]
        names.append(name)
    if extra:
        frame = base.copy()
        for k, v in extra.items():
            frame[k] = v
    return frame, names[0], names[1]


def _finish(
    result: ComparisonResult, spec: AnalysisSpec, dropped: int, reasons: list[str]
) -> ComparisonResult:
    if not dropped:
        return result
    reason = ", ".join([*reasons, *([result.excluded_reason] if result.excluded_reason else [])])
    return result.replace(n_excluded=result.n_excluded + dropped, excluded_reason=reason)


def run_spec(
    data: Any, spec: AnalysisSpec, *, goals: GoalSet | str | None = None
) -> ComparisonResult:
    """Run one :class:`AnalysisSpec` (see :func:`run_plan`).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["coaching"] * 3 + ["usual_care"] * 3,
    ...                    "site": ["A", "A", "B", "A", "B", "B"],
    ...                    "age": [50.0, 60.0, 70.0, 40.0, 50.0, 60.0]})
    >>> r = run_spec(df, AnalysisSpec("age", "describe", by="site"))
    >>> [(a.arm, a.n, a.value) for a in r.arms]
    [('A', 3, 50.0), ('B', 3, 60.0)]
    """
    return _run(_Context(data, resolve_goals(goals)), spec)


def _run(ctx: _Context, spec: AnalysisSpec) -> ComparisonResult:
    if spec.method in _PAIRED:
        frame, before, after = _paired_frame(ctx, spec)
        frame, dropped, reasons = _apply_rows(frame, spec)
        fn = compare_function(spec.method)
        kwargs = {k: v for k, v in spec.options.items() if k not in _RESERVED}
        result = fn(frame, before, after, **kwargs)
        t0, t1 = spec.timepoints or (0, 0)
        month = {before: f"month {t0}", after: f"month {t1}"}
        arms = tuple(replace(a, arm=month.get(a.arm, a.arm)) for a in result.arms)
        return _finish(result.replace(arms=arms), spec, dropped, reasons)
    frame = ctx.frame(spec, spec_columns(spec))
    frame, dropped, reasons = _apply_rows(frame, spec)
    if len(frame) == 0:
        raise AnalysisError(f"{spec.label!r}: no rows left after {'; '.join(reasons)}")
    frame = _with_clusters(frame, spec)
    frame, outcome = _with_change(frame, spec)
    if spec.method == "describe":
        return _finish(_describe_spec(frame, outcome, spec), spec, dropped, reasons)
    fn = compare_function(spec.method)
    if spec.missing == "failure" and not _GOAL_ENDPOINT.match(spec.outcome):
        from coachstats.compare.missing import with_missing_as_failure

        result = with_missing_as_failure(
            frame, lambda d: _call(fn, spec, d, outcome), outcome=outcome
        )
    elif spec.missing == "failure":
        result = _call(fn, spec, frame, outcome)
        result = result.replace(missing="missing follow-up counted as not at goal")
    elif spec.missing == "mi":
        result = _run_mi(ctx, spec, frame, fn)
    else:
        result = _call(fn, spec, frame, outcome)
    return _finish(result, spec, dropped, reasons)


def _impute_columns(spec: AnalysisSpec, frame: pd.DataFrame, followup: int | None) -> list[str]:
    given = spec.options.get("impute")
    if given:
        return [str(c) for c in given]
    months = sorted({int(m.group(2)) for c in frame.columns if (m := _MEASURE.match(str(c)))})
    fu = followup if followup is not None else next((m for m in months if m > 0), None)
    cols = [
        c
        for c in frame.columns
        if (m := _MEASURE.match(str(c))) and int(m.group(2)) in (0, fu) and m.group(1) != "bmi"
    ]
    extra = [c for c in (*spec.covariates, "diabetes", "age", "site") if c in frame.columns]
    return list(dict.fromkeys([*cols, *extra]))


def _run_mi(
    ctx: _Context, spec: AnalysisSpec, frame: pd.DataFrame, fn: Callable[..., ComparisonResult]
) -> ComparisonResult:
    """Impute the raw measurements, re-derive the endpoint per completed data set, pool."""
    from coachstats.compare.missing import multiple_imputation

    derived_cols = set(frame.columns) - set(
        ctx.base(spec.table, spec.followup, spec_columns(spec)).columns
    )
    raw = frame.drop(columns=sorted(derived_cols))
    columns = _impute_columns(spec, raw, spec.followup)
    goals = ctx.goals

    def analysis(completed: pd.DataFrame) -> ComparisonResult:
        d = completed
        if spec.outcome not in completed.columns:
            if goals is None:
                raise OptionError("multiple imputation of a derived endpoint needs a goal set")
            d = derive_endpoints(completed, goals, followup=spec.followup)
        d, outcome = _with_change(d, spec)
        return _call(fn, spec, d, outcome)

    return multiple_imputation(
        raw,
        analysis,
        columns=columns,
        arm=spec.arm,
        m=int(spec.options.get("m", 20)),
        seed=spec.options.get("seed", DEFAULT_MI_SEED),
        maxit=int(spec.options.get("maxit", 10)),
    )


# --------------------------------------------------------------------------- describe


def describe(
    data: pd.DataFrame,
    outcome: str,
    *,
    by: str | None = "arm",
    stat: DescribeStat = "mean",
    level: Any = None,
) -> ComparisonResult:
    """Per-group descriptive summary (no test): mean (SD), proportion, or counts.

    ``stat="mean"``: mean and sample SD (``ddof=1``) of the non-missing values.
    ``stat="proportion"``: events / n among non-missing values of a binary column,
    or of ``outcome == level`` for a categorical one. ``stat="n"``: rows with a
    non-missing value. ``stat="n_unique"``: distinct non-missing values.
    Groups are the arms (treatment first, as in every comparison), the sorted
    levels of another column, or ``"all"`` when ``by`` is None. With two
    groups ``estimate`` is group 1 - group 2; with one, the group's value.
    ``p_value`` is NaN: no test is made.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["usual_care", "coaching", "coaching", "usual_care"],
    ...                    "sex": ["female", "male", "female", None]})
    >>> r = describe(df, "sex", stat="proportion", level="female")
    >>> [(a.arm, a.events, a.n) for a in r.arms]
    [('coaching', 1, 2), ('usual_care', 1, 1)]
    >>> describe(df, "sex", by=None, stat="n").arms[0].n
    3
    """
    check_option("stat", stat, DESCRIBE_STATS)
    cols = [outcome] + ([by] if by else [])
    missing_cols = [c for c in cols if c not in data.columns]
    if missing_cols:
        raise ColumnNotFoundError(
            f"column(s) {missing_cols} not found; available: {', '.join(map(str, data.columns))}"
        )
    values = data[outcome]
    present = values.notna().to_numpy()
    if by is None:
        groups: list[tuple[str, np.ndarray]] = [("all", np.ones(len(data), dtype=bool))]
    else:
        g = data[by].astype(object)
        labels = sorted(str(x) for x in pd.unique(g.dropna()))
        if by == "arm" and len(labels) == 2:
            from coachstats.compare.prepare import resolve_arms

            labels = list(resolve_arms(g.dropna().astype(str).rename(by)))
        gs = g.astype(str).to_numpy()
        groups = [(lab, (gs == lab) & g.notna().to_numpy()) for lab in labels]
    if not groups:
        raise AnalysisError(f"column '{by}' has no non-missing groups to describe")
    arms = []
    for lab, mask in groups:
        sel = mask & present
        n = int(sel.sum())
        if stat == "mean":
            x = _floats(values[sel])
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            arms.append(ArmSummary(lab, n, value=mean, sd=sd))
        elif stat == "proportion":
            v = values[sel]
            hits = (v.astype(object) == level) if level is not None else v.astype("boolean")
            events = int(np.asarray(hits, dtype=bool).sum())
            arms.append(ArmSummary(lab, n, events=events, value=events / n if n else math.nan))
        elif stat == "n":
            arms.append(ArmSummary(lab, n, value=float(n)))
        else:
            k = int(pd.unique(values[sel]).size)
            arms.append(ArmSummary(lab, n, value=float(k)))
    estimand = {"mean": "mean", "proportion": "proportion", "n": "count", "n_unique": "count"}[stat]
    estimate = arms[0].value - arms[1].value if len(arms) == 2 else arms[0].value
    return ComparisonResult(
        outcome=outcome,
        method=f"describe ({stat})",
        estimand=("difference in " + estimand) if len(arms) == 2 else estimand,
        estimate=float(estimate),
        arms=tuple(arms),
        n_excluded=int((~present).sum()),
        excluded_reason=f"missing {outcome} ({int((~present).sum())})" if (~present).any() else "",
    )


def _describe_spec(frame: pd.DataFrame, outcome: str, spec: AnalysisSpec) -> ComparisonResult:
    stat = cast(DescribeStat, spec.options.get("stat", "mean"))
    where = spec.options.get("where")
    if where is not None:
        # proportion of rows meeting a condition, e.g. "seen at 12 and 24 months"
        hit = _evaluate(frame, spec, "where", where)
        frame = frame.assign(**{"__where__": hit.astype("boolean").fillna(False)})
        result = describe(frame, "__where__", by=spec.by, stat="proportion")
        return result.replace(outcome=f"{outcome}: {where}")
    return describe(frame, outcome, by=spec.by, stat=stat, level=spec.options.get("level"))


# --------------------------------------------------------------------------- run_plan


def run_plan(
    data: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    errors: Errors = "raise",
) -> PlanResult:
    """Derive endpoints and run every comparison of ``plan`` on ``data``.

    Parameters
    ----------
    data : DataFrame, TrialData or mapping of tables
        The patient table (one row per randomized patient, schema columns), a
        :class:`~coachstats.data.trialdata.TrialData` (its medication and
        adherent-days tables feed the adherence endpoints), or a mapping with
        ``"patients"``, ``"medications"``, ``"adherent_days"`` and
        ``"visit_ratings"`` (clinician post-visit ratings) tables.
    plan : AnalysisPlan or sequence of AnalysisSpec
        What to run.
    goals : GoalSet or str, optional
        Goal set for the endpoints; default the plan's.
    errors : {"raise", "record"}
        Raise the first error, or record it (any exception, with its type) per
        spec in :attr:`PlanResult.errors` and go on.

    Returns
    -------
    PlanResult
        Results aligned with the specs; ``.to_frame()`` is the tidy table.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 3,
    ...                    "hba1c_0": [9.0, 9.5, 10.0, 8.8, 9.9, 9.4],
    ...                    "hba1c_6": [7.9, 9.4, 8.6, 9.0, 8.8, 9.3]})
    >>> plan = AnalysisPlan([AnalysisSpec("change_hba1c", "t_test")], goals="peer")
    >>> round(run_plan(df, plan)[0].estimate, 4)
    -1.2
    """
    check_option("errors", errors, get_args(Errors))
    specs = plan.specs if isinstance(plan, AnalysisPlan) else tuple(plan)
    plan_goals = plan.goals if isinstance(plan, AnalysisPlan) else None
    ctx = _Context(data, resolve_goals(goals) or plan_goals)
    results: list[ComparisonResult | None] = []
    messages: list[str | None] = []
    for spec in specs:
        try:
            results.append(_run(ctx, spec))
            messages.append(None)
        except (
            Exception
        ) as exc:  # record mode reports any failure of one spec, raise mode re-raises
            if errors == "raise":
                raise
            results.append(None)
            messages.append(f"{type(exc).__name__}: {exc}")
    return PlanResult(tuple(specs), tuple(results), tuple(messages))


def replace_spec(spec: AnalysisSpec, **changes: Any) -> AnalysisSpec:
    """A copy of ``spec`` with fields changed (options merged, not replaced).

    Examples
    --------
    >>> s = AnalysisSpec("composite_any", "chi_square", options={"correct": False})
    >>> replace_spec(s, options={"correct": True}, label="Yates").options["correct"]
    True
    """
    if "options" in changes:
        changes["options"] = {**spec.options, **changes["options"]}
    return replace(spec, **changes)


def compare_endpoints(
    data: Any,
    plan: AnalysisPlan | Sequence[AnalysisSpec],
    *,
    goals: GoalSet | str | None = None,
    errors: Errors = "raise",
) -> pd.DataFrame:
    """Run a list of analyses and return one tidy DataFrame (one row per comparison).

    A convenience over :func:`run_plan` for notebooks: endpoints are derived
    with ``goals`` and each :class:`AnalysisSpec` becomes one row with the
    columns of :meth:`coachstats.core.results.ComparisonResult.to_frame`.

    Examples
    --------
    >>> from coachstats.tasks.reproduce import load_bundled
    >>> patients = load_bundled("hcpc")["patients"]
    >>> table = compare_endpoints(patients, [AnalysisSpec("composite_any", "chi_square"),
    ...                                      AnalysisSpec("composite_all", "chi_square")], goals="hcpc")
    >>> table[["outcome", "n1", "events1", "n2", "events2"]].to_string(index=False)
    '      outcome  n1  events1  n2  events2\\ncomposite_any 194       90 178       61\\ncomposite_all 194       66 178       44'
    """
    return run_plan(data, plan, goals=goals, errors=errors).to_frame()
