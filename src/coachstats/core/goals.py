"""Clinical goal thresholds as data: :class:`GoalSet`.

A goal set says, for each measure (HbA1c %, systolic BP mm Hg, LDL mg/dL and,
optionally, diastolic BP mm Hg), when a patient is *uncontrolled* at baseline
and when they are *at goal* at follow-up, with diabetes-specific thresholds
where the trial had them.

The published goal sets (:data:`HCPC_GOALS`, :data:`PEER_GOALS`) define blood
pressure control by systolic pressure only, as the trials did. Diastolic
pressure is a configurable goal: add :data:`DBP_GOAL` (< 90 mm Hg, < 80 with
diabetes) to a goal set of your own (:meth:`GoalSet.with_thresholds`).

Boundary behaviour is explicit. ``Threshold(uncontrolled_above=8.0,
inclusive=False)`` means uncontrolled when ``value > 8.0``; the default goal
is the complement of the entry rule, so ``value <= 8.0`` is at goal and a
value of exactly 8.0 is at goal. ``inclusive=True`` makes the entry rule
``value >= threshold`` and the goal ``value < threshold``. A different goal
than the complement is set with ``goal_below`` / ``goal_inclusive``.

Examples
--------
>>> HCPC_GOALS.thresholds["sbp"].entry_threshold(diabetes=True)
130.0
>>> t = HCPC_GOALS.thresholds["hba1c"]
>>> t.is_uncontrolled(8.0), t.is_uncontrolled(8.1), t.is_at_goal(8.0)
(False, True, True)
>>> custom = GoalSet.from_dict({"name": "strict", "thresholds": {
...     "hba1c": {"uncontrolled_above": 7.0, "inclusive": True}}})
>>> custom.measures
('hba1c',)
>>> HCPC_GOALS.with_thresholds("hcpc_dbp", dbp=DBP_GOAL).measures
('hba1c', 'sbp', 'dbp', 'ldl')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from coachstats.core.errors import OptionError, check_option
from coachstats.core.vocabulary import GOAL_MEASURES

__all__ = [
    "DBP_GOAL",
    "GOAL_SETS",
    "HCPC_GOALS",
    "MEASURES",
    "PEER_GOALS",
    "GoalSet",
    "Threshold",
    "get_goal_set",
]

#: The measures a goal set can hold (:data:`coachstats.core.vocabulary.GOAL_MEASURES`).
MEASURES = GOAL_MEASURES


@dataclass(frozen=True)
class Threshold:
    """Entry (uncontrolled) and goal rule for one measure.

    Parameters
    ----------
    uncontrolled_above : float
        Threshold for patients without diabetes (or everyone, when
        ``diabetes_threshold`` is None).
    diabetes_threshold : float or None
        Threshold for patients with diabetes.
    inclusive : bool
        Uncontrolled when ``value >= threshold`` (True) or ``value > threshold`` (False).
    only_diabetes : bool
        The measure defines a condition only in patients with diabetes (HbA1c in
        HCPC): patients without diabetes are never uncontrolled on it.
    goal_below, goal_below_diabetes : float or None
        Goal thresholds when they differ from the entry threshold.
    goal_inclusive : bool or None
        At goal when ``value <= goal`` (True) or ``value < goal`` (False).
        Default: the complement of the entry rule (``not inclusive``).
    """

    uncontrolled_above: float
    diabetes_threshold: float | None = None
    inclusive: bool = False
    only_diabetes: bool = False
    goal_below: float | None = None
    goal_below_diabetes: float | None = None
    goal_inclusive: bool | None = None

    def entry_threshold(self, diabetes: bool = False) -> float:
        """The uncontrolled threshold for a patient with or without diabetes."""
        if diabetes and self.diabetes_threshold is not None:
            return float(self.diabetes_threshold)
        return float(self.uncontrolled_above)

    def goal_threshold(self, diabetes: bool = False) -> float:
        """The at-goal threshold for a patient with or without diabetes."""
        if diabetes and self.goal_below_diabetes is not None:
            return float(self.goal_below_diabetes)
        if self.goal_below is not None and not (diabetes and self.diabetes_threshold is not None):
            return float(self.goal_below)
        return self.entry_threshold(diabetes)

    @property
    def at_goal_inclusive(self) -> bool:
        """At goal includes the threshold value itself (``<=``)."""
        return (not self.inclusive) if self.goal_inclusive is None else self.goal_inclusive

    def _thresholds(self, diabetes: npt.ArrayLike, goal: bool) -> npt.NDArray[np.float64]:
        d = np.asarray(diabetes, dtype=bool)
        if goal:
            return np.where(d, self.goal_threshold(True), self.goal_threshold(False))
        return np.where(d, self.entry_threshold(True), self.entry_threshold(False))

    def uncontrolled(self, values: npt.ArrayLike, diabetes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorized entry rule; NaN values give False (callers track missingness)."""
        v = np.asarray(values, dtype=float)
        thr = self._thresholds(diabetes, goal=False)
        out = v >= thr if self.inclusive else v > thr
        if self.only_diabetes:
            out &= np.asarray(diabetes, dtype=bool)
        return out

    def at_goal(self, values: npt.ArrayLike, diabetes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Vectorized goal rule; NaN values give False (callers track missingness)."""
        v = np.asarray(values, dtype=float)
        thr = self._thresholds(diabetes, goal=True)
        return v <= thr if self.at_goal_inclusive else v < thr

    def is_uncontrolled(self, value: float, diabetes: bool = True) -> bool:
        """Scalar version of :meth:`uncontrolled` (diabetes defaults to True)."""
        return bool(self.uncontrolled([value], [diabetes])[0])

    def is_at_goal(self, value: float, diabetes: bool = True) -> bool:
        """Scalar version of :meth:`at_goal`."""
        return bool(self.at_goal([value], [diabetes])[0])

    def describe(self) -> str:
        """One line such as ``uncontrolled if > 8.0 (diabetes only); at goal if <= 8.0``."""
        op = ">=" if self.inclusive else ">"
        gop = "<=" if self.at_goal_inclusive else "<"
        txt = f"uncontrolled if {op} {self.uncontrolled_above:g}"
        if self.diabetes_threshold is not None:
            txt += f" ({op} {self.diabetes_threshold:g} with diabetes)"
        if self.only_diabetes:
            txt += " (patients with diabetes only)"
        txt += f"; at goal if {gop} {self.goal_threshold(False):g}"
        if self.diabetes_threshold is not None or self.goal_below_diabetes is not None:
            txt += f" ({gop} {self.goal_threshold(True):g} with diabetes)"
        return txt


@dataclass(frozen=True)
class GoalSet:
    """Thresholds for every measure a trial used, plus the HbA1c secondary endpoints.

    Parameters
    ----------
    name : str
        Short name (``"hcpc"``).
    thresholds : mapping of measure -> Threshold
        Measures among :data:`~coachstats.core.vocabulary.GOAL_MEASURES`
        (``"hba1c"``, ``"sbp"``, ``"dbp"``, ``"ldl"``).
    hba1c_drop : float
        The "drop of at least this many points" endpoint (``hba1c_drop_ge1``).
    hba1c_target : float
        The "HbA1c below this at follow-up" endpoint (``hba1c_lt_7_5``).
    source : str
        Where the definitions come from.
    notes : str
        Free text (not compared).
    outcomes : sequence of str
        The endpoints a program is analysed on with these goals, in the order
        reported (``coachstats analyze``; see
        :func:`coachstats.tasks.evaluate.plans.plan_outcomes`). Empty: derived
        from the measures. A copy made with :func:`dataclasses.replace` keeps
        them, whatever its name.
    """

    name: str
    thresholds: Mapping[str, Threshold]
    hba1c_drop: float = 1.0
    hba1c_target: float = 7.5
    source: str = ""
    notes: str = field(default="", compare=False)
    outcomes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [m for m in self.thresholds if m not in MEASURES]
        if unknown:
            raise OptionError(
                f"GoalSet {self.name!r}: unknown measure(s) {unknown}; allowed: {list(MEASURES)}"
            )
        if not math.isfinite(self.hba1c_drop) or not math.isfinite(self.hba1c_target):
            raise OptionError("hba1c_drop and hba1c_target must be finite numbers")
        if isinstance(self.outcomes, str) or not all(isinstance(o, str) for o in self.outcomes):
            raise OptionError(
                f"GoalSet {self.name!r}: outcomes must be a list of endpoint names, "
                f"got {self.outcomes!r}"
            )
        object.__setattr__(self, "outcomes", tuple(self.outcomes))

    @property
    def measures(self) -> tuple[str, ...]:
        """Measures defined, in canonical order."""
        return tuple(m for m in MEASURES if m in self.thresholds)

    def describe(self) -> str:
        """Multi-line description of every rule."""
        lines = [f"GoalSet {self.name!r}" + (f" ({self.source})" if self.source else "")]
        lines += [f"  {m}: {self.thresholds[m].describe()}" for m in self.measures]
        lines.append(
            f"  hba1c_drop_ge1: drop >= {self.hba1c_drop:g}; hba1c_lt_7_5: < {self.hba1c_target:g}"
        )
        if self.outcomes:
            lines.append(f"  outcomes: {', '.join(self.outcomes)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"GoalSet({self.name!r}, measures={list(self.measures)})"

    def with_thresholds(self, name: str, **thresholds: Threshold) -> GoalSet:
        """A copy named ``name`` with thresholds added or replaced (e.g. ``dbp=DBP_GOAL``).

        Everything else (the HbA1c drop and target, the outcomes) is kept;
        the source says what was added.

        Examples
        --------
        >>> mine = HCPC_GOALS.with_thresholds("hcpc_dbp", dbp=DBP_GOAL)
        >>> mine.thresholds["dbp"].describe()
        'uncontrolled if >= 90 (>= 80 with diabetes); at goal if < 90 (< 80 with diabetes)'
        >>> HCPC_GOALS.measures  # the published set is unchanged
        ('hba1c', 'sbp', 'ldl')
        """
        added = ", ".join(sorted(thresholds))
        source = f"{self.source}; with {added} thresholds added" if self.source else ""
        return replace(self, name=name, thresholds={**self.thresholds, **thresholds}, source=source)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML/JSON)."""
        d = asdict(self)
        d["thresholds"] = {m: asdict(t) for m, t in self.thresholds.items()}
        d["outcomes"] = list(self.outcomes)
        return d

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> GoalSet:
        """Build a GoalSet from plain data, e.g. parsed from YAML."""
        allowed = set(Threshold.__dataclass_fields__)
        ths = {}
        for m, t in dict(spec.get("thresholds", {})).items():
            bad = sorted(set(t) - allowed)
            if bad:
                raise OptionError(
                    f"threshold {m!r}: unknown key(s) {bad}; allowed: {sorted(allowed)}"
                )
            ths[m] = Threshold(**t)
        rest = {k: v for k, v in spec.items() if k != "thresholds"}
        return cls(thresholds=ths, **rest)


HCPC_GOALS = GoalSet(
    name="hcpc",
    thresholds={
        "hba1c": Threshold(uncontrolled_above=8.0, inclusive=False, only_diabetes=True),
        "sbp": Threshold(uncontrolled_above=140.0, diabetes_threshold=130.0, inclusive=True),
        "ldl": Threshold(uncontrolled_above=160.0, diabetes_threshold=100.0, inclusive=True),
    },
    source="Willard-Grace et al., Ann Fam Med 2015;13:130-138",
    notes="At goal is the complement of the entry threshold (inferred; the paper gives entry only).",
)

#: Diastolic blood pressure goal: uncontrolled at >= 90 mm Hg (>= 80 with diabetes), at goal
#: below (< 90, < 80 with diabetes): the diastolic half of the JNC 7 goals (< 140/90 mm Hg,
#: < 130/80 with diabetes), whose systolic half matches HCPC's thresholds. No published
#: goal set holds it (both trials
#: defined blood pressure control by systolic pressure); add it to your own with
#: ``HCPC_GOALS.with_thresholds("mine", dbp=DBP_GOAL)``, or change the numbers with
#: :func:`dataclasses.replace`.
DBP_GOAL = Threshold(uncontrolled_above=90.0, diabetes_threshold=80.0, inclusive=True)

PEER_GOALS = GoalSet(
    name="peer",
    thresholds={"hba1c": Threshold(uncontrolled_above=8.0, inclusive=True)},
    hba1c_drop=1.0,
    hba1c_target=7.5,
    source="Thom et al., Ann Fam Med 2013;11:137-144",
    notes="Every patient has diabetes (HbA1c >= 8.0 % at entry).",
    # the trial's outcomes, in its order: HbA1c change (primary), the drop and target
    # endpoints, LDL and SBP changes; its HbA1c threshold is the entry criterion, not a goal
    outcomes=("change_hba1c", "hba1c_drop_ge1", "hba1c_lt_7_5", "change_ldl", "change_sbp"),
)

#: The goal sets known by name: the one registry that turns a name into a :class:`GoalSet`.
GOAL_SETS: Mapping[str, GoalSet] = MappingProxyType({"hcpc": HCPC_GOALS, "peer": PEER_GOALS})


def get_goal_set(goals: GoalSet | str | None) -> GoalSet | None:
    """A :class:`GoalSet` from itself, its name in :data:`GOAL_SETS` (any case), or None.

    A :class:`GoalSet` object is returned as it is, whatever its name, so a
    custom or renamed goal set keeps its own thresholds and measures.

    Examples
    --------
    >>> get_goal_set("PEER") is PEER_GOALS
    True
    >>> from dataclasses import replace
    >>> mine = replace(PEER_GOALS, name="hcpc")  # a copy, named like another set
    >>> get_goal_set(mine) is mine
    True
    >>> get_goal_set("strict")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: goals='strict' is not allowed; choose one of 'hcpc', 'peer'
    """
    if goals is None or isinstance(goals, GoalSet):
        return goals
    key = str(goals).strip().lower()
    if key not in GOAL_SETS:
        check_option("goals", goals, tuple(GOAL_SETS))
    return GOAL_SETS[key]
