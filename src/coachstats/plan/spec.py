"""What an analysis plan says, as data: :class:`AnalysisSpec` and :class:`AnalysisPlan`.

A spec names the outcome column, the comparison method and its options, the
covariates, the cluster, a subset and the missing-data rule; a plan is a list
of specs with the goal set its endpoints are derived with. Nothing here reads
data: :mod:`coachstats.plan.execute` runs plans.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, get_args

from coachstats.core.errors import OptionError, check_option
from coachstats.core.goals import GOAL_SETS, GoalSet, get_goal_set

__all__ = [
    "DEFAULT_MI_SEED",
    "DESCRIBE_STATS",
    "GOALSETS",
    "METHODS",
    "MISSING_RULES",
    "MODEL_METHODS",
    "PAIRED_METHODS",
    "TABLES",
    "AnalysisPlan",
    "AnalysisSpec",
    "DescribeStat",
    "Errors",
    "Method",
    "MissingRule",
    "replace_spec",
    "spec_columns",
    "subset_names",
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

#: Known goal sets by name (:data:`coachstats.core.goals.GOAL_SETS`).
GOALSETS = GOAL_SETS

#: Seed of multiple imputation when a spec does not give one.
DEFAULT_MI_SEED = 20150301
#: Methods that compare two time points of the same patients.
PAIRED_METHODS = ("mcnemar", "paired_t")
#: Methods that fit a regression model.
MODEL_METHODS = ("logistic", "linear", "gee", "mixed")


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
        care has no coach) in clusters of their own. For a partially nested
        design use the models' own ``clustered_arm`` option instead
        (``options={"clustered_arm": "coaching"}``): only that arm's patients
        share clusters (a random intercept for them alone in ``mixed``, the
        other arm's patients as clusters of one in ``gee`` and cluster-robust
        SEs), and a coached patient without a coach id is excluded rather
        than made a cluster of one.
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
'describe'; did you mean 'ancova'?
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
        if self.method in PAIRED_METHODS:
            if self.timepoints is None or len(self.timepoints) != 2:
                raise OptionError(
                    f"method={self.method!r} needs timepoints=(before, after), "
                    f"got {self.timepoints!r}"
                )
            object.__setattr__(self, "timepoints", tuple(int(t) for t in self.timepoints))
        elif self.timepoints is not None:
            raise OptionError(
                f"timepoints only apply to {PAIRED_METHODS}, not method={self.method!r}"
            )
        if self.method == "describe":
            check_option("stat", self.options.get("stat", "mean"), DESCRIBE_STATS)
        if self.missing != "complete case" and self.method in (*PAIRED_METHODS, "describe"):
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
        object.__setattr__(self, "goals", get_goal_set(goals))
        object.__setattr__(self, "name", name)

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[AnalysisSpec]:
        return iter(self.specs)

    @classmethod
    def of(
        cls, plan: AnalysisPlan | Iterable[AnalysisSpec], goals: GoalSet | str | None = None
    ) -> AnalysisPlan:
        """``plan`` as an :class:`AnalysisPlan` whose goal set is ``goals`` when given.

        A plan given as a list of specs is wrapped (its goal set is ``goals``); a
        plan keeps its own goal set unless ``goals`` overrides it.

        Examples
        --------
        >>> p = AnalysisPlan.of([AnalysisSpec("change_hba1c", "t_test")], "peer")
        >>> p.goals.name, len(p)
        ('peer', 1)
        """
        if isinstance(plan, AnalysisPlan):
            if goals is None:
                return plan
            return cls(plan.specs, goals=goals, name=plan.name)
        return cls(plan, goals=goals)

    @classmethod
    def from_dicts(
        cls, specs: Iterable[Mapping[str, Any]], goals: GoalSet | str | None = None, name: str = ""
    ) -> AnalysisPlan:
        """Build a plan from plain data (e.g. a parsed TOML list of tables)."""
        return cls([AnalysisSpec.from_dict(s) for s in specs], goals=goals, name=name)


_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "True", "False", "None"})


def subset_names(expr: str | None) -> list[str]:
    """Column names used in a ``subset`` expression (quoted text and methods excluded).

    Examples
    --------
    >>> subset_names("site == 'A' and uncontrolled_ldl == True and hba1c_0.notna()")
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
    cols = [spec.outcome, *spec.covariates, *spec.complete_on, *subset_names(spec.subset)]
    if spec.change_from:
        cols.append(spec.change_from)
    if spec.cluster:
        cols.append(spec.cluster)
    if "baseline" in spec.options:
        cols.append(str(spec.options["baseline"]))
    return cols


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
