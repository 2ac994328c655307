"""The names coachstats uses, in one place: measures, endpoint columns, statuses, labels.

Column names follow the schema (docs/schema.md): a measure at a month is
``<measure>_<month>`` (``hba1c_12``); derived endpoints are ``at_goal_<m>``,
``composite_any`` / ``composite_all``, ``change_<m>``, ``hba1c_drop_ge1`` and
``hba1c_lt_7_5``. Every module that recognises these names, or shows them to a
reader, reads them from here, so a measure added here is known everywhere.

Examples
--------
>>> parse_measure_column("hba1c_12"), parse_measure_column("bmi_0"), parse_measure_column("age")
(('hba1c', 12), ('bmi', 0), None)
>>> is_goal_endpoint("at_goal_ldl"), is_goal_endpoint("change_ldl")
(True, False)
>>> outcome_label("composite_any"), outcome_label("change_sbp"), outcome_label("my_column")
('At goal for >= 1 condition', 'SBP change (mm Hg)', 'my_column')
>>> arm_label("coaching"), arm_label("usual_care", "short"), arm_label("HC")
('Health coaching group', 'Usual care', 'HC')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

from coachstats.core.formatting import in_sentence

__all__ = [
    "ANALYSED_STATUSES",
    "ARM_NAMES",
    "BETTER",
    "BP_READING",
    "BP_READING_NAMES",
    "CLINICAL_DIFFERENCES",
    "CORE_MEASURES",
    "EXCLUDED_STATUSES",
    "FAVOURS",
    "GOAL_MEASURES",
    "LEVEL_LABELS",
    "LOST",
    "MEASURES",
    "MEASURE_CONDITIONS",
    "MEASURE_LABELS",
    "MEASURE_UNITS",
    "OPTIONAL_MEASURES",
    "OUTCOME_LABELS",
    "SHORT_OUTCOME_LABELS",
    "STATUS",
    "VARIABLE_LABELS",
    "VERDICTS",
    "Favours",
    "Verdict",
    "arm_label",
    "better_direction",
    "column_phrase",
    "condition_words",
    "goal_endpoint_measure",
    "goal_measure_name",
    "higher_is_better",
    "humanize_names",
    "is_goal_endpoint",
    "level_label",
    "measure_months",
    "outcome_label",
    "parse_item_column",
    "parse_measure_column",
]

#: Measures that goal sets can define thresholds for (canonical order).
GOAL_MEASURES: tuple[str, ...] = ("hba1c", "sbp", "dbp", "ldl")
#: Goal measures every program analysis reports (those of the published trials).
CORE_MEASURES: tuple[str, ...] = ("hba1c", "sbp", "ldl")
#: Goal measures reported only when the data has them or the goal set defines a goal for
#: them (no published trial reported diastolic blood pressure).
OPTIONAL_MEASURES: tuple[str, ...] = tuple(m for m in GOAL_MEASURES if m not in CORE_MEASURES)
#: Every measure recorded as ``<measure>_<month>`` columns.
MEASURES: tuple[str, ...] = (*GOAL_MEASURES, "bmi")
#: Canonical unit of each measure (docs/schema.md).
MEASURE_UNITS: Mapping[str, str] = MappingProxyType(
    {"hba1c": "%", "sbp": "mm Hg", "dbp": "mm Hg", "ldl": "mg/dL", "bmi": "kg/m²"}
)
#: How a measure is named in text.
MEASURE_LABELS: Mapping[str, str] = MappingProxyType(
    {"hba1c": "HbA1c", "sbp": "SBP", "dbp": "DBP", "ldl": "LDL", "bmi": "BMI"}
)
#: The condition each goal measure is a marker of. A condition is uncontrolled when any of
#: its measures is, and at goal when all of them are: systolic and diastolic blood
#: pressure are one condition (hypertension), counted once in the composites.
MEASURE_CONDITIONS: Mapping[str, str] = MappingProxyType(
    {"hba1c": "diabetes", "sbp": "hypertension", "dbp": "hypertension", "ldl": "hyperlipidemia"}
)
#: The schema name of a combined blood-pressure reading (``"142/88"``): ``bp_<month>``
#: columns, split on load into ``sbp_<month>`` and ``dbp_<month>``.
BP_READING: str = "bp"
#: The names of that reading in long data's ``measure`` column (compared without case).
BP_READING_NAMES: tuple[str, ...] = ("bp", "blood pressure", "blood_pressure", "sbp/dbp")

_MEASURE_COLUMN = re.compile(r"^(" + "|".join(MEASURES) + r")_(\d+)$")
_GOAL_ENDPOINT = re.compile(r"^(at_goal_(" + "|".join(GOAL_MEASURES) + r")|composite_(any|all))$")


def goal_measure_name(name: object) -> str:
    """The schema name of a measure named in long data (``"HbA1c"``, ``"Blood pressure"``).

    Case and surrounding spaces are ignored; the names of a combined
    blood-pressure reading (:data:`BP_READING_NAMES`) become :data:`BP_READING`.

    Examples
    --------
    >>> goal_measure_name(" HbA1c "), goal_measure_name("Blood Pressure"), goal_measure_name("SBP/DBP")
    ('hba1c', 'bp', 'bp')
    """
    key = str(name).strip().lower()
    return BP_READING if key in BP_READING_NAMES else key


def parse_measure_column(column: object) -> tuple[str, int] | None:
    """``(measure, month)`` of a measurement column such as ``hba1c_12``, else None."""
    m = _MEASURE_COLUMN.match(str(column))
    return (m.group(1), int(m.group(2))) if m else None


def measure_months(
    columns: Iterable[object], measures: Sequence[str] = GOAL_MEASURES
) -> dict[str, list[int]]:
    """Months present per measure (of ``measures``), from column names like ``hba1c_12``.

    Examples
    --------
    >>> measure_months(["hba1c_0", "hba1c_12", "sbp_0", "bmi_12", "age"])
    {'hba1c': [0, 12], 'sbp': [0]}
    """
    out: dict[str, list[int]] = {}
    for c in columns:
        parsed = parse_measure_column(c)
        if parsed is not None and parsed[0] in measures:
            out.setdefault(parsed[0], []).append(parsed[1])
    return {k: sorted(v) for k, v in out.items()}


def is_goal_endpoint(column: object) -> bool:
    """True for the goal endpoints (``at_goal_<m>``, ``composite_any``, ``composite_all``)."""
    return _GOAL_ENDPOINT.match(str(column)) is not None


def goal_endpoint_measure(column: object) -> str | None:
    """The measure of an ``at_goal_<m>`` column (None for the composites and other columns).

    Examples
    --------
    >>> goal_endpoint_measure("at_goal_sbp"), goal_endpoint_measure("composite_all")
    ('sbp', None)
    """
    m = _GOAL_ENDPOINT.match(str(column))
    return m.group(2) if m and m.group(2) else None


_ITEM_COLUMN = re.compile(r"^(?:(trust|pacic)_q\d+|(recommend|recommend_pcp))_(\d+)$")


def parse_item_column(column: object) -> tuple[str, str] | None:
    """``(questionnaire, month)`` of a questionnaire item column, else None.

    Items are ``trust_q<k>_<month>`` and ``pacic_q<k>_<month>`` (scored into
    ``trust_<month>`` / ``pacic_<month>``) and the single items
    ``recommend_<month>`` / ``recommend_pcp_<month>``.

    Examples
    --------
    >>> parse_item_column("trust_q3_12"), parse_item_column("recommend_pcp_0")
    (('trust', '12'), ('recommend_pcp', '0'))
    >>> parse_item_column("trust_12") is None
    True
    """
    m = _ITEM_COLUMN.match(str(column))
    return (m.group(1) or m.group(2), m.group(3)) if m else None


#: Per-endpoint status of every patient; each patient has exactly one.
#: "lost to follow-up": no follow-up value on any measure, and not analysed;
#: "not eligible": outside the endpoint's population by design (controlled at
#: baseline; no diabetes for an HbA1c endpoint that only applies with diabetes);
#: "missing baseline" / "missing follow-up": the endpoint's own value is missing
#: (the patient has follow-up on another measure). A patient who is not analysed
#: takes the first of these that applies, in the order of time: not eligible,
#: missing baseline (both known at baseline), lost to follow-up, missing
#: follow-up. A patient never eligible for an endpoint is "not eligible" even
#: when lost; the methods text's exclusions (plan.rows) use the same order.
STATUS: tuple[str, ...] = (
    "analysed",
    "lost to follow-up",
    "not eligible",
    "missing baseline",
    "missing follow-up",
    "missing follow-up (counted as failure)",
)
#: The statuses of patients excluded from an endpoint's analysis (after follow-up).
EXCLUDED_STATUSES: tuple[str, ...] = ("not eligible", "missing baseline", "missing follow-up")
#: The status of patients lost to follow-up (and not analysed).
LOST: str = "lost to follow-up"
#: The statuses of patients who are analysed.
ANALYSED_STATUSES: tuple[str, ...] = ("analysed", "missing follow-up (counted as failure)")


def _outcome_labels() -> dict[str, str]:
    units = {m: f" ({u})" for m, u in MEASURE_UNITS.items()}
    labels = {
        "composite_any": "At goal for >= 1 condition",
        "composite_all": "At goal for all conditions",
        "n_uncontrolled": "Conditions uncontrolled at baseline",
        "hba1c_drop_ge1": "HbA1c drop >= 1 point",
        "hba1c_lt_7_5": "HbA1c < 7.5 %",
    }
    for m in MEASURES:
        name = MEASURE_LABELS[m]
        labels[f"at_goal_{m}"] = f"{name} at goal"
        labels[f"uncontrolled_{m}"] = f"{name} uncontrolled at baseline"
        labels[f"change_{m}"] = f"{name} change{units[m]}"
    # the published trials' word for their SBP goal; "(SBP)" keeps it apart from a DBP goal
    labels["at_goal_sbp"] = "Blood pressure at goal (SBP)"
    return labels


#: Human labels of the derived endpoint columns.
OUTCOME_LABELS: Mapping[str, str] = MappingProxyType(_outcome_labels())


def _short_outcome_labels() -> dict[str, str]:
    labels = {"composite_any": "\u2265 1 goal", "composite_all": "All goals"}
    for m in GOAL_MEASURES:
        labels[f"at_goal_{m}"] = MEASURE_LABELS[m]
    for m in MEASURES:
        labels[f"change_{m}"] = f"{MEASURE_LABELS[m]} ({MEASURE_UNITS[m]})"
    labels["change_hba1c"] = "HbA1c (%)"
    labels["hba1c_drop_ge1"] = "HbA1c drop \u2265 1"
    labels["hba1c_lt_7_5"] = "HbA1c < 7.5%"
    return labels


#: Short labels of the endpoints, for figure axes and boxes where the context says the rest.
SHORT_OUTCOME_LABELS: Mapping[str, str] = MappingProxyType(_short_outcome_labels())


#: The direction in which each endpoint is better for the patient: a larger share at goal,
#: a larger fall in a lab value (a change is follow-up minus baseline, so lower is better).
BETTER: Mapping[str, Literal["higher", "lower"]] = MappingProxyType(
    {
        "composite_any": "higher",
        "composite_all": "higher",
        **{f"at_goal_{m}": "higher" for m in GOAL_MEASURES},
        **{f"change_{m}": "lower" for m in MEASURES},
        "hba1c_drop_ge1": "higher",
        "hba1c_lt_7_5": "higher",
        **{m: "lower" for m in MEASURES},  # a measure's own value (a pooled mean difference)
    }
)

#: The smallest difference in each measure that matters clinically: (value, why), on the
#: measure's scale. The floor of the evaluator's default equivalence margins and the
#: evidence base's "similar".
CLINICAL_DIFFERENCES: Mapping[str, tuple[float, str]] = MappingProxyType(
    {
        "hba1c": (
            0.3,
            "0.3 percentage points of HbA1c, the non-inferiority margin of glucose-lowering "
            "trials (FDA draft guidance on diabetes drugs, 2008: 0.3 to 0.4 points)",
        ),
        "sbp": (
            5.0,
            "5 mm Hg of systolic pressure, the step by which major cardiovascular events fall "
            "about 10 % (Blood Pressure Lowering Treatment Trialists' Collaboration, Lancet "
            "2021;397:1625-1636)",
        ),
        "ldl": (
            10.0,
            "10 mg/dL of LDL cholesterol, about 6 % fewer major vascular events by the "
            "Cholesterol Treatment Trialists' 22 % per 38.7 mg/dL (Lancet 2010;376:1670-1681)",
        ),
    }
)

Verdict = Literal["larger", "similar", "smaller", "inconclusive"]
#: How a program's effect compares with a published one, judged in the outcome's better
#: direction: ``larger`` / ``smaller`` (the difference is beyond chance, in favour of the program
#: or the published trial), ``similar`` (equivalent within a stated margin) or ``inconclusive``.
VERDICTS: tuple[Verdict, ...] = ("larger", "similar", "smaller", "inconclusive")
Favours = Literal["program", "published", "neither"]
#: Which side a verdict favours: ``larger`` the program, ``smaller`` the published trial.
FAVOURS: tuple[Favours, ...] = ("program", "published", "neither")


def better_direction(endpoint: str) -> Literal["higher", "lower"]:
    """``"higher"`` or ``"lower"``: the direction in which ``endpoint`` is better (:data:`BETTER`).

    Raises
    ------
    KeyError
        An endpoint without a better direction (a baseline count, a custom column).

    Examples
    --------
    >>> better_direction("composite_any"), better_direction("change_ldl")
    ('higher', 'lower')
    """
    return BETTER[endpoint]


def outcome_label(column: str) -> str:
    """The human label of an endpoint or measure column; other names are returned as given.

    Examples
    --------
    >>> outcome_label("hba1c_12"), outcome_label("at_goal_hba1c")
    ('HbA1c at month 12 (%)', 'HbA1c at goal')
    """
    if column in OUTCOME_LABELS:
        return OUTCOME_LABELS[column]
    parsed = parse_measure_column(column)
    if parsed is not None:
        measure, month = parsed
        when = "baseline" if month == 0 else f"month {month}"
        return f"{MEASURE_LABELS[measure]} at {when} ({MEASURE_UNITS[measure]})"
    return column


def higher_is_better(column: str) -> bool | None:
    """Whether a higher value of an endpoint is the better outcome (None: not known).

    Being at goal, the composites, a drop of at least one HbA1c point and HbA1c
    below 7.5 % are better when higher; the changes of the measures (and the
    measures themselves) are better when lower. Other columns (scores,
    questionnaire items, your own outcomes) are not known: a figure then says
    which arm is higher, not which is favoured.

    Examples
    --------
    >>> higher_is_better("composite_any"), higher_is_better("change_hba1c"), higher_is_better("x")
    (True, False, None)
    >>> higher_is_better("ldl"), higher_is_better("sbp_12")
    (False, False)
    """
    if column in BETTER:
        return BETTER[column] == "higher"
    if parse_measure_column(column) is not None:
        return False
    return None


#: Display labels of the patient columns of the schema, as Table 1 shows them (anything else is
#: shown as its name; a measure at a month by :func:`outcome_label`).
VARIABLE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "age": "Age",
        "sex": "Sex",
        "language": "Language",
        "ethnicity": "Ethnicity",
        "marital_status": "Marital status",
        "work_status": "Work status",
        "diabetes": "Diabetes",
        "hypertension": "Hypertension",
        "hyperlipidemia": "Hyperlipidemia",
        "insulin": "Insulin",
        "site": "Site",
        "clinician_id": "Clinician",
        "coach_id": "Coach",
        "pcp_visits": "PCP visits in the prior year",
        "coach_contacts": "Coaching contacts",
        "coaching_minutes": "Total coaching time, minutes",
        "bmi_0": "BMI, kg/m\N{SUPERSCRIPT TWO}",
        "hba1c_0": "HbA1c, %",
        "sbp_0": "Systolic BP, mm Hg",
        "dbp_0": "Diastolic BP, mm Hg",
        "ldl_0": "LDL, mg/dL",
    }
)

#: The scored questionnaires (``<scale>_<month>`` columns, :mod:`coachstats.derive.scales`),
#: as named in text.
_SCALE_PHRASES: Mapping[str, str] = MappingProxyType(
    {
        "trust": "Trust in Physician score",
        "pacic": "PACIC score",
        "recommend": "recommendation of the clinic",
        "recommend_pcp": "recommendation of their PCP",
        "recommend_definitely": "would definitely recommend the clinic",
        "recommend_pcp_definitely": "would highly recommend their PCP",
    }
)
_ABOVE_GOAL = re.compile(r"^(" + "|".join(GOAL_MEASURES) + r")_above_goal$")
_AT_MONTH = re.compile(r"^(.+)_(\d+)$")


def _when(month: str | int) -> str:
    return "at baseline" if int(month) == 0 else f"at month {int(month)}"


def column_phrase(column: object) -> str:
    """How a column is named in running text (methods sentences, notes, covariate lists).

    Endpoints by their labels (:data:`OUTCOME_LABELS`), a measure at baseline as
    ``baseline HbA1c`` and at a later month as ``HbA1c at month 12``, the patient
    columns by :data:`VARIABLE_LABELS`, the scored questionnaires and an endpoint's
    baseline value (``hba1c_lt_7_5_0``) with their month; any other name is returned as
    given (a column of your own is named as you named it).

    Examples
    --------
    >>> [column_phrase(c) for c in ("hba1c_0", "sbp_12", "marital_status", "clinician_id")]
    ['baseline HbA1c', 'SBP at month 12', 'marital status', 'clinician']
    >>> [column_phrase(c) for c in ("uncontrolled_hba1c", "n_uncontrolled", "ldl_above_goal")]
    ['HbA1c uncontrolled at baseline', 'conditions uncontrolled at baseline', "baseline LDL above the patient's goal"]
    >>> column_phrase("trust_0"), column_phrase("hba1c_lt_7_5_0"), column_phrase("my_score")
    ('Trust in Physician score at baseline', 'HbA1c < 7.5 % at baseline', 'my_score')
    """
    name = str(column)
    if name in OUTCOME_LABELS:
        return in_sentence(OUTCOME_LABELS[name])
    if name in MEASURE_LABELS:
        return MEASURE_LABELS[name]
    parsed = parse_measure_column(name)
    if parsed is not None:
        measure, month = parsed
        label = MEASURE_LABELS[measure]
        return f"baseline {label}" if month == 0 else f"{label} at month {month}"
    if name in VARIABLE_LABELS:
        return in_sentence(VARIABLE_LABELS[name])
    above = _ABOVE_GOAL.match(name)
    if above:
        return f"baseline {MEASURE_LABELS[above.group(1)]} above the patient's goal"
    at = _AT_MONTH.match(name)
    if at:
        base, at_month = at.groups()
        if base in OUTCOME_LABELS:
            return f"{in_sentence(OUTCOME_LABELS[base])} {_when(at_month)}"
        if base in _SCALE_PHRASES:
            return f"{_SCALE_PHRASES[base]} {_when(at_month)}"
    return name


_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\b[A-Za-z_][A-Za-z0-9_]*\b")


def humanize_names(text: str) -> str:
    """``text`` with every column name that has a phrase (:func:`column_phrase`) replaced by
    it; quoted values and other words are left as they are.

    Examples
    --------
    >>> humanize_names("missing at_goal_hba1c (37), outside the analysed subgroup hba1c_0 >= 8.0")
    'missing HbA1c at goal (37), outside the analysed subgroup baseline HbA1c >= 8.0'
    """

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        return token if token[0] in "'\"" else column_phrase(token)

    return _TOKEN.sub(swap, text)


_CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|>|<)\s*(.+)$")


def _strip_parentheses(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _top_level_and(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(text):
        ch = text[i]
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and (ch == "&" or text.startswith(" and ", i)):
            parts.append(text[start:i])
            i += 1 if ch == "&" else len(" and ")
            start = i
            continue
        i += 1
    return [*parts, text[start:]]


def _one_condition(text: str) -> str:
    m = _CONDITION.match(_strip_parentheses(text))
    if m is None:
        return "with " + humanize_names(_strip_parentheses(text))
    column, op, value = m.group(1), m.group(2), m.group(3).strip()
    literal = value.strip("'\"")
    if op in ("==", "!=") and value in ("True", "False", "true", "false", "1", "0"):
        yes = (value.lower() in ("true", "1")) == (op == "==")
        return ("with " if yes else "without ") + column_phrase(column)
    if column == "arm" and op == "==" and literal in ARM_NAMES["plain"]:
        return f"in the {arm_label(literal, 'plain').lower()} arm"
    if column == "site" and op == "==":
        return f"at site {literal}"
    if op == "==" and value[:1] in "'\"":
        return f"with {column_phrase(column)} {literal}"
    symbol = {">=": "\N{GREATER-THAN OR EQUAL TO}", "<=": "\N{LESS-THAN OR EQUAL TO}"}.get(op, op)
    return f"with {column_phrase(column)} {symbol} {value}"


def condition_words(expression: str) -> str:
    """A row condition (a ``subset`` query) as words that follow "patients".

    Each comparison joined by ``&`` or ``and`` is read on its own: a column against a
    number with its phrase (:func:`column_phrase`), a true/false column by its phrase,
    an arm and a site by name; anything else keeps its text, column names replaced.

    Examples
    --------
    >>> condition_words("hba1c_0 >= 7.0"), condition_words("arm == 'coaching'")
    ('with baseline HbA1c ≥ 7.0', 'in the health coaching arm')
    >>> condition_words("(uncontrolled_ldl == True) & (site == 'A')")
    'with LDL uncontrolled at baseline and at site A'
    """
    return " and ".join(_one_condition(part) for part in _top_level_and(expression))


#: Levels of the categorical schema columns whose label is not their capitalized name.
LEVEL_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "african_american": "African American",
        "divorced_separated": "Divorced or separated",
        "english": "English",
        "spanish": "Spanish",
        "latino": "Latino",
        "asian": "Asian",
    }
)


def level_label(level: object) -> str:
    """How a level of a categorical column is shown: :data:`LEVEL_LABELS`, else the level
    with its underscores as spaces and a capital first letter; a level that is not plain
    lower-case text (``"A"``, ``"C1"``, ``"HC"``) is shown as it is.

    Examples
    --------
    >>> level_label("african_american"), level_label("female"), level_label("not_working"), level_label("C1")
    ('African American', 'Female', 'Not working', 'C1')
    """
    text = str(level)
    if text in LEVEL_LABELS:
        return LEVEL_LABELS[text]
    if not re.fullmatch(r"[a-z][a-z_ ]*", text):
        return text
    words = text.replace("_", " ")
    return words[:1].upper() + words[1:]


#: Display names of the two schema arms, by style.
ARM_NAMES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "long": MappingProxyType(
            {"coaching": "Health coaching group", "usual_care": "Usual care group"}
        ),
        "plain": MappingProxyType({"coaching": "Health coaching", "usual_care": "Usual care"}),
        "short": MappingProxyType({"coaching": "Coaching", "usual_care": "Usual care"}),
    }
)


def arm_label(arm: str, style: Literal["long", "plain", "short"] = "long") -> str:
    """How an arm is shown: ``long`` in tables and briefs, ``plain`` in figures, ``short`` in tight spaces.

    Labels other than the schema's ``coaching`` / ``usual_care`` are shown as given.
    """
    return ARM_NAMES[style].get(arm, arm)
