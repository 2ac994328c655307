"""Publication tables of comparisons: text, Markdown, LaTeX and Word.

One row per comparison, in the layout of a trial paper's results table:
outcome, n per arm, the value per arm, the difference with its confidence
interval, and P in journal style (:func:`coachstats.core.results.format_p`).

=====================  =======================================================
per-arm value          ``events (percent%)`` for binary outcomes, ``mean (SD)``
                       for continuous ones
difference             the result's estimate and CI: risk differences in
                       percentage points (``12.1 (2.2 to 22.0)``), ratios and
                       mean differences on their own scale
P                      ``.02``, ``.009``, ``< .001``
adjusted results       the outcome is marked ``(adjusted)``
=====================  =======================================================

:func:`journal_table` lays the table out as a journal sets it (the arms as column groups,
each row's method as a footnote) for :func:`to_text` (the command line) and
:func:`to_docx` (Word).

Examples
--------
>>> from coachstats.compare.proportions import two_proportions
>>> r = two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"), outcome="composite_any")
>>> print(to_markdown([r]))
| Outcome | n, Health coaching group | n, Usual care group | Health coaching group | Usual care group | Effect | Difference (95% CI) | P |
|---|---|---|---|---|---|---|---|
| ≥ 1 goal | 194 | 178 | 90 (46.4%) | 61 (34.3%) | Risk difference, % points | 12.1 (2.2 to 22.0) | .02 |
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from coachstats.compare.twobytwo import INTERVAL_NAMES
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.core.formatting import (
    format_number,
    is_percent_estimand,
    is_ratio_estimand,
    join_words,
    null_effect,
)
from coachstats.core.results import ARM_DISPLAY, ComparisonResult
from coachstats.core.vocabulary import column_phrase, humanize_names
from coachstats.present.journal import JournalTable, footnote_marks

if TYPE_CHECKING:
    from docx.document import Document

__all__ = [
    "COLUMNS",
    "DISAGREE_NOTE",
    "format_difference",
    "format_value",
    "headers",
    "interval_disagrees",
    "journal_table",
    "methods_note",
    "publication_table",
    "single_group_table",
    "to_docx",
    "to_latex",
    "to_markdown",
    "to_text",
]

Results = ComparisonResult | Sequence[ComparisonResult]
Labels = Sequence[str] | Mapping[str, str] | None

#: Columns of :func:`publication_table` (display text, except the n columns).
COLUMNS: tuple[str, ...] = (
    "outcome",
    "n1",
    "n2",
    "value1",
    "value2",
    "effect",
    "difference",
    "p",
)

# Characters that need math mode (or a plain substitute) after Styler's LaTeX escaping.
_LATEX_SYMBOLS = {
    "<": "$<$",
    ">": "$>$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "²": r"$^2$",
    "−": "-",
    "≈": r"$\approx$",
}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _as_list(results: Results) -> list[ComparisonResult]:
    if isinstance(results, ComparisonResult):
        return [results]
    items = list(results)
    bad = sorted({type(r).__name__ for r in items if not isinstance(r, ComparisonResult)})
    if bad:
        raise OptionError(f"results must be ComparisonResult objects; got {', '.join(bad)}")
    if not items:
        raise AnalysisError("no results to tabulate (empty input)")
    return items


def _labels(results: Sequence[ComparisonResult], labels: Labels) -> list[str]:
    from coachstats.present.plots.common import OUTCOME_LABELS

    if labels is None or isinstance(labels, Mapping):
        names = {**OUTCOME_LABELS, **dict(labels or {})}
        out = [names.get(r.outcome, r.outcome) for r in results]
    else:
        out = [str(x) for x in labels]
        if len(out) != len(results):
            raise OptionError(f"labels has {len(out)} entries for {len(results)} results")
    return [
        f"{lab} (adjusted)" if r.adjusted and "adjusted" not in lab.lower() else lab
        for lab, r in zip(out, results, strict=True)
    ]


def format_value(result: ComparisonResult, arm: int, *, digits: int = 2) -> str:
    """One arm's value: ``events (percent%)`` (binary) or ``mean (SD)`` (continuous; in
    percentage points when the result is a difference of shares without counts, such as the
    mean change of a 0/1 value).

    Examples
    --------
    >>> from coachstats.core.results import ArmSummary
    >>> r = ComparisonResult("x", "m", "mean difference", -0.77,
    ...     arms=(ArmSummary("coaching", 122, value=-1.07, sd=2.8), ArmSummary("usual_care", 114, value=-0.3, sd=3.1)))
    >>> format_value(r, 0), format_value(r, 1, digits=1)
    ('-1.07 (2.80)', '-0.3 (3.1)')
    """
    a = result.arms[arm]
    if a.events is not None:
        return f"{a.events} ({format_number(100 * a.value, 1)}%)"
    scale, digits = (100.0, 1) if is_percent_estimand(result.estimand) else (1.0, digits)
    if math.isnan(a.sd):
        return format_number(scale * a.value, digits)
    return f"{format_number(scale * a.value, digits)} ({format_number(scale * a.sd, digits)})"


def format_difference(result: ComparisonResult, *, digits: int = 2) -> tuple[str, str]:
    """The effect's name and ``estimate (low to high)`` on the scale it is read on.

    Risk differences (and differences in proportions,
    :func:`~coachstats.core.formatting.is_percent_estimand`) are shown in
    percentage points with one decimal, ratios
    with two decimals, other differences with ``digits``. Without a CI, only the
    estimate; without an estimate, empty strings.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> format_difference(two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care")))
    ('Risk difference, % points', '12.1 (2.2 to 22.0)')
    """
    est, lo, hi = result.estimate, result.conf_low, result.conf_high
    if not math.isfinite(est):
        return "", ""
    if is_percent_estimand(result.estimand):
        name, scale, d = f"{result.estimand.capitalize()}, % points", 100.0, 1
    elif is_ratio_estimand(result.estimand):
        name, scale, d = result.estimand.capitalize(), 1.0, 2
    else:
        name, scale, d = result.estimand.capitalize(), 1.0, digits
    text = format_number(scale * est, d)
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" ({format_number(scale * lo, d)} to {format_number(scale * hi, d)})"
    return name, text


def _arms_of(results: Sequence[ComparisonResult]) -> tuple[str, str]:
    short = [r.outcome for r in results if len(r.arms) != 2]
    if short:
        raise AnalysisError(f"publication tables need two groups per result; not so for {short}")
    pairs = {(r.arms[0].arm, r.arms[1].arm) for r in results}
    if len(pairs) > 1:
        raise OptionError(
            f"results compare different groups ({sorted(pairs)}); tabulate them separately"
        )
    arm1, arm2 = pairs.pop()
    return arm1, arm2


def publication_table(results: Results, *, labels: Labels = None, digits: int = 2) -> pd.DataFrame:
    """One row per comparison: outcome, n per arm, values per arm, difference (CI), P.

    Parameters
    ----------
    results : ComparisonResult or sequence of them
        Two-group comparisons with the same groups (treatment first).
    labels : sequence or mapping, optional
        Outcome labels, one per result or ``{outcome: label}`` (default: the
        endpoint labels of the figures, else the outcome name).
    digits : int
        Decimals of means, SDs and mean differences.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS` (text, except ``n1`` and ``n2``);
        ``frame.attrs["arms"]`` holds the two group labels and
        ``frame.attrs["conf_level"]`` the confidence level.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> t = publication_table([two_proportions(34, 70, 21, 76, labels=("coaching", "usual_care"), outcome="at_goal_hba1c")])
    >>> t.loc[0, ["outcome", "value1", "value2", "difference", "p"]].tolist()
    ['HbA1c', '34 (48.6%)', '21 (27.6%)', '20.9 (5.5 to 36.4)', '.009']
    """
    items = _as_list(results)
    arms = _arms_of(items)
    rows = []
    for label, r in zip(_labels(items, labels), items, strict=True):
        effect, diff = format_difference(r, digits=digits)
        rows.append(
            {
                "outcome": label,
                "n1": r.arms[0].n,
                "n2": r.arms[1].n,
                "value1": format_value(r, 0, digits=digits),
                "value2": format_value(r, 1, digits=digits),
                "effect": effect,
                "difference": diff,
                "p": r.format_p(missing=""),
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs["arms"] = arms
    levels = {r.conf_level for r in items}
    frame.attrs["conf_level"] = levels.pop() if len(levels) == 1 else math.nan
    return frame


def headers(arms: Sequence[str], conf_level: float = 0.95) -> list[str]:
    """Display headers of :data:`COLUMNS` for two groups.

    Examples
    --------
    >>> headers(("coaching", "usual_care"))[1:5]
    ['n, Health coaching group', 'n, Usual care group', 'Health coaching group', 'Usual care group']
    """
    names = [ARM_DISPLAY.get(a, str(a)) for a in arms]
    ci = f"{round(100 * conf_level)}% CI" if math.isfinite(conf_level) else "CI"
    return [
        "Outcome",
        f"n, {names[0]}",
        f"n, {names[1]}",
        names[0],
        names[1],
        "Effect",
        f"Difference ({ci})",
        "P",
    ]


def _display(results: Results, labels: Labels, digits: int) -> pd.DataFrame:
    frame = publication_table(results, labels=labels, digits=digits)
    out = frame.astype({"n1": str, "n2": str})
    out.columns = pd.Index(headers(frame.attrs["arms"], frame.attrs["conf_level"]))
    return out


def to_markdown(results: Results, *, labels: Labels = None, digits: int = 2) -> str:
    """The publication table as a Markdown (GitHub) table; see :func:`publication_table`."""
    out = _display(results, labels, digits)

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    lines = [line(list(out.columns)), "|" + "---|" * len(out.columns)]
    lines += [line(row) for row in out.itertuples(index=False)]
    return "\n".join(lines)


def to_latex(
    results: Results,
    *,
    labels: Labels = None,
    digits: int = 2,
    caption: str | None = None,
    label: str | None = None,
) -> str:
    """The publication table as a LaTeX ``tabular`` (booktabs rules; special characters escaped).

    Uses :meth:`pandas.io.formats.style.Styler.to_latex`; with ``caption`` or
    ``label`` the tabular is wrapped in a ``table`` environment. Needs
    ``\\usepackage{booktabs}``.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> tex = to_latex([two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"), outcome="composite_any")])
    >>> print(tex.splitlines()[4])
    $\\geq$ 1 goal & 194 & 178 & 90 (46.4\\%) & 61 (34.3\\%) & Risk difference, \\% points & 12.1 (2.2 to 22.0) & .02 \\\\
    """
    out = _display(results, labels, digits)
    if caption is not None:
        caption = "".join(_LATEX_SPECIAL.get(ch, _LATEX_SYMBOLS.get(ch, ch)) for ch in caption)
    styler = (
        out.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    )
    tex = styler.to_latex(
        hrules=True,
        column_format="l" + "r" * (len(out.columns) - 1),
        caption=caption,
        label=label,
        position="htbp" if (caption or label) else None,
    )
    head, sep, body = tex.partition("\\toprule")
    for symbol, latex in _LATEX_SYMBOLS.items():
        body = body.replace(symbol, latex)
    return head + sep + body


def methods_note(result: ComparisonResult, *, excluded: bool = True) -> str:
    """How a result was computed, in a sentence: method, covariates, clustering, missing data,
    and (``excluded``) how many patients were not analysed and why.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> methods_note(two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care")))
    'Pearson chi-square; complete-case analysis.'
    >>> methods_note(two_proportions(2, 9, 3, 14, test="fisher", ci="newcombe"))
    "Fisher's exact test, Newcombe hybrid score interval; complete-case analysis."
    """
    parts = [humanize_names(result.method)]
    interval = str(result.extra.get("ci_method", ""))
    if interval == INTERVAL_NAMES["newcombe"]:  # not the usual one for its measure: say which
        parts.append(f"{interval} interval")
    if result.adjusted_for:
        parts.append("adjusted for " + join_words([column_phrase(c) for c in result.adjusted_for]))
    if result.cluster and result.cluster not in result.method:
        parts.append(f"clustered by {column_phrase(result.cluster)}")
    missing = (
        "complete-case analysis"
        if result.missing == "complete case"
        else f"missing data: {humanize_names(result.missing)}"
    )
    if excluded and result.n_excluded:
        missing += f" ({result.n_excluded} not analysed: {humanize_names(result.excluded_reason)})"
    return f"{', '.join(parts)}; {missing}."


#: The note under every outcome table: what the cells are.
VALUES_NOTE = (
    "Binary outcomes: n (%) with the outcome; continuous outcomes: mean (SD), means of shares "
    "(and their changes) in percentage points. Risk differences and differences of shares in "
    "percentage points; ratios and mean differences on their own scale. P values are "
    "two-sided, in journal style."
)


def interval_disagrees(result: ComparisonResult) -> bool:
    """True when the CI and the P value disagree on whether the effect is null.

    A Wald interval and a chi-square (or exact) P are different approximations: near the
    boundary one can exclude no effect while the other does not (31.2 (0.2 to 62.3),
    P = .06). A table that shows both says so for that row.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> interval_disagrees(two_proportions(90, 194, 61, 178))
    False
    >>> r = two_proportions(11, 20, 5, 20)
    >>> (r.conf_low > 0, r.p_value < 0.05, interval_disagrees(r))
    (True, False, True)
    """
    lo, hi, p = result.conf_low, result.conf_high, result.p_value
    if not all(math.isfinite(x) for x in (lo, hi, p)):
        return False
    null = null_effect(result.estimand)
    excludes = not lo <= null <= hi
    return excludes != (p < 1.0 - result.conf_level)


#: The footnote added to a row whose CI and P disagree (:func:`interval_disagrees`).
DISAGREE_NOTE = (
    "Here the confidence interval and the P value, different approximations, disagree on "
    "whether the difference is zero: read it as borderline."
)


def journal_table(
    results: Results,
    *,
    labels: Labels = None,
    digits: int = 2,
    caption: str = "Outcomes by arm",
    methods: Sequence[str] | None = None,
) -> JournalTable:
    """The outcome table as a journal sets it: the arms as column groups (n, value), the
    effect, its difference with the CI and P; each row's method as a lettered footnote.

    Parameters
    ----------
    results, labels, digits
        As :func:`publication_table`.
    caption : str
        The title above the table.
    methods : sequence of str, optional
        One methods sentence per result (default :func:`methods_note` without the
        exclusions, which the n columns and the patient flow show); rows with the same
        sentence share its footnote letter.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> t = journal_table([two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"),
    ...     outcome="composite_any")])
    >>> t.spans, t.headers[1:], t.rows[0][1:3], t.marks, t.notes[1]
    ((('Health coaching group', 1, 3), ('Usual care group', 3, 5)), ('n', 'n (%)', 'n', 'n (%)', 'Risk difference, % points (95% CI)', 'P'), ('194', '90 (46.4%)'), ('a',), 'a Pearson chi-square; complete-case analysis.')
    """
    items = _as_list(results)
    frame = publication_table(items, labels=labels, digits=digits)
    names = headers(frame.attrs["arms"], frame.attrs["conf_level"])
    sentences = (
        list(methods) if methods is not None else [methods_note(r, excluded=False) for r in items]
    )
    if len(sentences) != len(items):
        raise OptionError(f"methods has {len(sentences)} entries for {len(items)} results")
    sentences = [
        f"{text} {DISAGREE_NOTE}" if interval_disagrees(r) else text
        for text, r in zip(sentences, items, strict=True)
    ]
    notes = [VALUES_NOTE]
    marks = footnote_marks(notes, sentences)
    binary = [all(a.events is not None for a in r.arms) for r in items]
    value = "n (%)" if all(binary) else "Mean (SD)" if not any(binary) else "n (%) or mean (SD)"
    effects = {str(e) for e in frame["effect"] if e}
    difference = names[6]
    if len(effects) == 1:  # one effect measure: named in the header, not on every row
        difference = f"{effects.pop()} ({names[6].partition('(')[2]}"
        frame = frame.assign(effect="")
    columns = ("outcome", "n1", "value1", "n2", "value2", "effect", "difference", "p")
    rows = tuple(tuple(str(v) for v in r) for r in frame[list(columns)].itertuples(index=False))
    return JournalTable(
        headers=("Outcome", "n", value, "n", value, "Effect", difference, "P"),
        rows=rows,
        caption=caption,
        spans=((names[3], 1, 3), (names[4], 3, 5)),
        numeric=(False, True, True, True, True, False, True, True),
        marks=tuple(marks),
        notes=tuple(notes),
    ).without_empty_columns()


def single_group_table(
    results: Sequence[ComparisonResult],
    *,
    labels: Sequence[str],
    caption: str = "Outcomes of the coached patients",
) -> JournalTable:
    """The outcomes of one group (a single-arm program): n, the proportion (in percent) or
    mean with its confidence interval, and the method as a footnote.

    Examples
    --------
    >>> from coachstats.compare.onesample import one_sample_proportion
    >>> t = single_group_table([one_sample_proportion(50, 100, outcome="composite_any")],
    ...     labels=["At goal for >= 1 condition"])
    >>> t.headers, t.rows[0]
    (('Outcome', 'n', 'n (%)', '% or mean (95% CI)'), ('At goal for >= 1 condition', '100', '50 (50.0%)', '50.0 (40.4 to 59.6)'))
    """
    items = list(results)
    if len(labels) != len(items):
        raise OptionError(f"labels has {len(labels)} entries for {len(items)} results")
    levels = {r.conf_level for r in items}
    ci = f"{round(100 * levels.pop())}% CI" if len(levels) == 1 else "CI"
    rows = []
    for label, r in zip(labels, items, strict=True):
        a = r.arms[0] if r.arms else None
        binary = a is not None and a.events is not None
        scale, d = (100.0, 1) if binary else (1.0, 2)
        value = format_number(scale * r.estimate, d, missing="")
        if value and math.isfinite(r.conf_low) and math.isfinite(r.conf_high):
            value += f" ({format_number(scale * r.conf_low, d)} to {format_number(scale * r.conf_high, d)})"
        count = "" if a is None else str(a.n)
        events = f"{a.events} ({format_number(100 * a.value, 1)}%)" if binary and a else ""
        rows.append((label, count, events, value))
    notes = ["Proportions in percent with the Wilson score interval; means with the t interval."]
    marks = footnote_marks(notes, [methods_note(r, excluded=False) for r in items])
    return JournalTable(
        headers=("Outcome", "n", "n (%)", f"% or mean ({ci})"),
        rows=tuple(rows),
        caption=caption,
        marks=tuple(marks),
        notes=tuple(notes),
    ).without_empty_columns()


def to_text(results: Results, *, labels: Labels = None, digits: int = 2, width: int = 100) -> str:
    """The outcome table as plain text (:func:`journal_table`), for a terminal.

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> print(to_text([two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"),
    ...     outcome="composite_any")]).splitlines()[6])
    ≥ 1 goal (a)  194        90 (46.4%)  178   61 (34.3%)                  12.1 (2.2 to 22.0)  .02
    """
    return journal_table(results, labels=labels, digits=digits).to_text(width=width)


def to_docx(
    results: Results,
    path: str | Path | None = None,
    *,
    labels: Labels = None,
    digits: int = 2,
    caption: str = "Outcomes by arm",
    document: Document | None = None,
) -> Document:
    """The outcome table in Word (:func:`journal_table`): a three-line table with its footnotes.

    Parameters
    ----------
    results, labels, digits, caption
        As :func:`journal_table`.
    path : str or Path, optional
        Save the document here (``.docx``).
    document : docx.document.Document, optional
        Add the table to this document; default a new one.

    Returns
    -------
    docx.document.Document

    Examples
    --------
    >>> from coachstats.compare.proportions import two_proportions
    >>> doc = to_docx([two_proportions(90, 194, 61, 178, labels=("coaching", "usual_care"),
    ...     outcome="composite_any")])
    >>> [c.text for c in doc.tables[0].rows[2].cells][1:3]
    ['194', '90 (46.4%)']
    """
    table = journal_table(results, labels=labels, digits=digits, caption=caption)
    return table.to_docx(path, document=document)
