"""Questionnaire scoring: Trust in Physician, PACIC, recommendation, clinician visit ratings.

Item columns follow ``<instrument>_q<k>_<month>`` (``trust_q1_0`` ..
``trust_q11_0``, ``pacic_q1_12`` .. ``pacic_q20_12``; see :func:`item_columns`),
but every function takes the item columns explicitly, in questionnaire order.

Every response is validated before scoring, and all problems are reported in
one :class:`~coachstats.core.errors.SchemaError`: text or fractional responses,
responses outside the coding's range, the wrong number of items, and a file
that looks coded 0-4 instead of 1-5 (zeros present and no 5s). Such a file is
rejected with the fix spelled out (``coding="0-4"`` shifts every response up
by one); nothing is ever rescored silently. A file coded in reverse (5 = totally
disagree) cannot be told apart from a genuine one and must be declared with
``coding="reversed"`` (``r -> 6 - r``).

Scores (``x_j`` the responses on 1-5 after coding and item reversal, ``A`` the
answered items, ``n = |A|``)::

    trust  = 100 * (mean_A(x) - 1) / 4 = 25 * (sum_A(x) - n) / n,  if n >= 9 of 11
    pacic_<subscale> = mean of the answered items of the subscale
    pacic            = mean_A(x) over the 20 items

References
----------
Anderson LA, Dedrick RF. Development of the Trust in Physician scale: a measure
to assess interpersonal trust in patient-physician relationships. Psychol Rep
1990;67:1091-1100. doi:10.2466/pr0.1990.67.3f.1091

Thom DH, Ribisl KM, Stewart AL, Luke DA. Further validation and reliability
testing of the Trust in Physician Scale. Med Care 1999;37:510-517.

Glasgow RE, Wagner EH, Schaefer J, et al. Development and validation of the
Patient Assessment of Chronic Illness Care (PACIC). Med Care 2005;43:436-444.

Examples
--------
>>> import pandas as pd
>>> items = item_columns("trust", 11, month=0)
>>> items[0], items[-1]
('trust_q1_0', 'trust_q11_0')
>>> df = pd.DataFrame([[2, 4, 4, 4, 2, 4, 2, 4, 4, 4, 2]], columns=items)
>>> score_trust(df, items).tolist()
[75.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import SchemaError, check_option, failure_from_mask, raise_if_failures

__all__ = [
    "CODINGS",
    "DEFAULT_TRUST_REVERSED",
    "PACIC_N_ITEMS",
    "PACIC_SUBSCALES",
    "TRUST_N_ITEMS",
    "Coding",
    "item_columns",
    "pacic_from_responses",
    "recommend_binary",
    "score_pacic",
    "score_trust",
    "trust_from_responses",
    "validate_likert",
    "validate_visit_ratings",
]

Coding = Literal["1-5", "0-4", "reversed"]
"""How a 5-point file is coded: ``"1-5"`` (standard), ``"0-4"`` (shifted down by
one) or ``"reversed"`` (5 = the lowest category, mapped by ``r -> 6 - r``)."""
CODINGS: tuple[str, ...] = ("1-5", "0-4", "reversed")

TRUST_N_ITEMS = 11
DEFAULT_TRUST_REVERSED: tuple[int, ...] = (1, 5, 7, 11)
"""Negatively worded items of the Trust in Physician Scale, in the item order of
Anderson & Dedrick (1990), kept by Thom et al. (1999) and in the HCPC trial:
1 "I doubt that my doctor really cares about me as a person",
5 "I sometimes distrust my doctor's opinions and would like a second one",
7 "I feel my doctor does not do everything he/she should for my medical care",
11 "I sometimes worry that my doctor may not keep the information we discuss
totally private". Check the order of your own questionnaire."""

PACIC_N_ITEMS = 20
PACIC_SUBSCALES: dict[str, tuple[int, ...]] = {
    "activation": (1, 2, 3),
    "delivery_system": (4, 5, 6),
    "goal_setting": (7, 8, 9, 10, 11),
    "problem_solving": (12, 13, 14, 15),
    "follow_up": (16, 17, 18, 19, 20),
}
"""PACIC subscales (Glasgow et al. 2005): patient activation; delivery system
design / decision support; goal setting / tailoring; problem-solving /
contextual counselling; follow-up / coordination. Item numbers are 1-based."""

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def item_columns(instrument: str, n_items: int, month: int | str) -> list[str]:
    """Item column names by the convention ``<instrument>_q<k>_<month>``.

    Examples
    --------
    >>> item_columns("pacic", 20, 12)[:2]
    ['pacic_q1_12', 'pacic_q2_12']
    """
    return [f"{instrument}_q{k}_{month}" for k in range(1, n_items + 1)]


# ----------------------------------------------------------------------------- validation


def _coding_range(levels: int, coding: str) -> tuple[int, int]:
    """Allowed raw responses for a coding of a ``levels``-point item."""
    return (0, levels - 1) if coding == _zero_based(levels) else (1, levels)


def _one_based(levels: int) -> str:
    return f"1-{levels}"


def _zero_based(levels: int) -> str:
    return f"0-{levels - 1}"


def _codings(levels: int) -> tuple[str, str, str]:
    return (_one_based(levels), _zero_based(levels), "reversed")


def _coding_or_default(levels: int, coding: str | None) -> str:
    return _one_based(levels) if coding is None else coding


@dataclass(frozen=True)
class _Instrument:
    """What the response checks know of a questionnaire (or of a single item)."""

    name: str  # names the instrument in error messages
    n_items: int | None = None  # the number of item columns, checked when given
    levels: int = 5  # response categories per item


_TRUST = _Instrument("Trust in Physician Scale", TRUST_N_ITEMS)
_PACIC = _Instrument("PACIC", PACIC_N_ITEMS)


def _require_frame(data: object) -> None:
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(
            [{"column": "", "problem": f"expected a DataFrame, got {type(data).__name__}"}]
        )


def _ids(data: pd.DataFrame, id_column: str | None) -> pd.Index:
    if id_column is not None and id_column in data.columns:
        return pd.Index(data[id_column])
    return data.index


def _item_list_failures(
    data: pd.DataFrame, items: Sequence[str], n_items: int | None, instrument: str
) -> list[dict[str, Any]]:
    failures: list[dict[str, Any]] = []
    if isinstance(items, str):
        items = [items]
    label = instrument or "items"
    if n_items is not None and len(items) != n_items:
        failures.append(
            {
                "column": label,
                "values": list(items),
                "problem": f"{instrument} needs {n_items} item columns in questionnaire "
                f"order; got {len(items)}",
            }
        )
    dups = pd.Index(items)[pd.Index(items).duplicated()].unique().tolist()
    if dups:
        failures.append(
            {"column": label, "values": dups, "problem": "item columns listed more than once"}
        )
    missing = [c for c in items if c not in data.columns]
    if missing:
        failures.append(
            {
                "column": label,
                "values": missing,
                "problem": "item columns not found in the data "
                f"(available: {', '.join(map(str, data.columns))})",
            }
        )
    return failures


def _coding_hint(num: FloatArray, levels: int, coding: str) -> str | None:
    """Explain a file whose responses fit another coding than the one declared."""
    answered = num[~np.isnan(num)]
    if answered.size == 0 or np.any(answered != np.round(answered)):
        return None
    lo, hi = answered.min(), answered.max()
    if coding != _zero_based(levels) and lo == 0 and hi <= levels - 1:
        return (
            f"responses look coded {_zero_based(levels)} instead of {_one_based(levels)} "
            f"(zeros present and no {levels}s); if the file is coded {_zero_based(levels)}, "
            f"pass coding='{_zero_based(levels)}' to shift every response up by 1 explicitly "
            "(responses are never rescored silently)"
        )
    if coding == _zero_based(levels) and lo >= 1 and hi == levels:
        return (
            f"coding='{_zero_based(levels)}' was given but responses look coded "
            f"{_one_based(levels)} (no zeros and {levels}s present); "
            f"pass coding='{_one_based(levels)}'"
        )
    return None


def _likert(
    data: pd.DataFrame,
    items: Sequence[str],
    instrument: _Instrument,
    coding: str,
    id_column: str | None,
) -> tuple[FloatArray, list[dict[str, Any]]]:
    """Responses recoded to 1..levels (NaN = unanswered) and every problem found."""
    levels = instrument.levels
    check_option("coding", coding, _codings(levels))
    _require_frame(data)
    items = [items] if isinstance(items, str) else list(items)
    failures = _item_list_failures(data, items, instrument.n_items, instrument.name)
    present = [c for c in dict.fromkeys(items) if c in data.columns]
    ids = _ids(data, id_column)
    lo, hi = _coding_range(levels, coding)
    allowed = ", ".join(str(v) for v in range(lo, hi + 1))
    raw = data[present]
    num = np.array(raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    given = raw.notna().to_numpy()
    hint = _coding_hint(np.where(given, num, np.nan), levels, coding) if present else None
    if hint is not None:
        wrong: BoolArray = given & ((num < 1) if lo == 1 else (num > levels - 1))
        cols = [present[j] for j in np.flatnonzero(wrong.any(axis=0))]
        failure = failure_from_mask(", ".join(cols), hint, wrong.any(axis=1), ids)
        failure["values"] = sorted({float(v) for v in num[wrong]})
        failures.append(failure)
    with np.errstate(invalid="ignore"):
        text = given & np.isnan(num)
        fraction = given & ~text & (num != np.round(num))
        outside = given & ~text & ~fraction & ((num < lo) | (num > hi))
    if hint is not None:
        outside[:] = False
    for j, col in enumerate(present):
        for mask, problem in (
            (text[:, j], f"not a number; allowed responses are {allowed} (coding='{coding}')"),
            (fraction[:, j], f"not a whole number; allowed responses are {allowed}"),
            (outside[:, j], f"outside the allowed responses {allowed} (coding='{coding}')"),
        ):
            if mask.any():
                failures.append(failure_from_mask(col, problem, mask, ids, raw[col]))
    if coding == _zero_based(levels):
        num = num + 1
    elif coding == "reversed":
        num = (levels + 1) - num
    num[text | fraction | outside] = np.nan
    by_item = pd.DataFrame(num, columns=present, index=data.index)
    return by_item.reindex(columns=items).to_numpy(dtype=float), failures


def _check_whole(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """``value`` as an int in ``lo..hi``; SchemaError naming the option otherwise."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < lo or (hi is not None and value > hi):  # type: ignore[operator]
        span = f"from {lo} to {hi}" if hi is not None else f">= {lo}"
        raise SchemaError(
            [{"column": name, "values": [value], "problem": f"must be a whole number {span}"}]
        )
    return int(value)  # type: ignore[call-overload]


def validate_likert(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    coding: Coding = "1-5",
    n_items: int | None = None,
    instrument: str = "Likert items",
    id_column: str | None = "patient_id",
) -> pd.DataFrame:
    """Check 5-point Likert responses and return them on the 1-5 scale.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : sequence of str
        The item columns, in questionnaire order.
    coding : {"1-5", "0-4", "reversed"}
        How the file is coded. ``"0-4"`` adds 1 to every response;
        ``"reversed"`` maps ``r -> 6 - r``. Both must be asked for explicitly.
    n_items : int, optional
        The number of items the instrument has (checked when given).
    instrument : str
        Name used in error messages.
    id_column : str or None
        Column whose values identify rows in error messages (the index when
        absent).

    Returns
    -------
    DataFrame
        The item columns as floats on 1-5 (NaN = unanswered), same index.

    Raises
    ------
    SchemaError
        Every problem at once: wrong number of items, duplicated or absent
        item columns, text, fractional or out-of-range responses, and a file
        that looks coded 0-4 (zeros present, no 5s) or 1-5 when ``"0-4"`` was
        declared.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"patient_id": [1, 2], "q1": [0, 3], "q2": [4, 2]})
    >>> try:
    ...     validate_likert(df, ["q1", "q2"])
    ... except SchemaError as e:
    ...     print(e.failures.loc[0, "problem"][:48])
    ...     print(e.failures.loc[0, "rows"])
    responses look coded 0-4 instead of 1-5 (zeros p
    [1]
    >>> validate_likert(df, ["q1", "q2"], coding="0-4")["q1"].tolist()
    [1.0, 4.0]
    """
    responses, failures = _likert(data, items, _Instrument(instrument, n_items), coding, id_column)
    raise_if_failures(failures, f"{instrument} responses")
    return pd.DataFrame(responses, columns=list(items), index=data.index)


# ----------------------------------------------------------------------------- scoring


def _answered_sum(x: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Row sums over the answered (non-NaN) entries, and their counts."""
    answered = ~np.isnan(x)
    return np.where(answered, x, 0.0).sum(axis=1), answered.sum(axis=1)


def _answered_mean(x: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Row means over the answered (non-NaN) entries, and their counts; NaN when none."""
    total, n = _answered_sum(x)
    mean = np.divide(total, n, out=np.full(n.shape, np.nan), where=n > 0)
    return mean, n


def trust_from_responses(
    responses: npt.ArrayLike,
    *,
    reverse: Sequence[int] = DEFAULT_TRUST_REVERSED,
    min_answered: int = 9,
) -> FloatArray:
    """Trust in Physician scores from a respondents x 11 array on 1-5 (the array engine).

    With ``x_j`` the responses after reversing the ``reverse`` items
    (``x -> 6 - x``) and ``n`` the number answered::

        score = 100 * (mean(x) - 1) / 4 = 25 * (sum(x) - n) / n

    which is the prorated raw total ``sum(x) * 11 / n`` rescaled from 11-55
    to 0-100. Computed as ``25 * (sum - n) / n`` so that each score is one
    correctly rounded division.

    Parameters
    ----------
    responses : array_like, shape (n, 11)
        Responses on 1-5, NaN = unanswered (already validated).
    reverse : sequence of int
        1-based numbers of the negatively worded items.
    min_answered : int
        Fewest answered items for a score; fewer gives NaN.

    Examples
    --------
    >>> trust_from_responses([[1, 5, 5, 5, 1, 5, 1, 5, 5, 5, 1]]).tolist()
    [100.0]
    """
    x = np.array(responses, dtype=float, ndmin=2)
    rev = np.zeros(x.shape[1], dtype=bool)
    rev[np.asarray(reverse, dtype=int) - 1] = True
    total, n = _answered_sum(np.where(rev, 6.0 - x, x))
    ok = n >= min_answered
    return np.divide(25.0 * (total - n), n, out=np.full(n.shape, np.nan), where=ok)


def _reverse_positions(
    reverse: Sequence[int | str], items: Sequence[str], failures: list[dict[str, Any]]
) -> list[int]:
    """1-based item numbers from numbers or column names; bad entries go to ``failures``."""
    if isinstance(reverse, (str, int)):
        reverse = [reverse]
    names = list(items)
    positions: list[int] = []
    bad: list[Any] = []
    for r in reverse:
        if isinstance(r, str) and r in names:
            positions.append(names.index(r) + 1)
        elif isinstance(r, (int, np.integer)) and not isinstance(r, bool) and 1 <= r <= len(names):
            positions.append(int(r))
        else:
            bad.append(r)
    if bad or len(set(positions)) != len(positions):
        failures.append(
            {
                "column": "reverse",
                "values": bad or positions,
                "problem": f"reverse must list distinct item numbers 1-{len(names)} "
                "or item column names",
            }
        )
    return positions


def score_trust(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    reverse: Sequence[int | str] = DEFAULT_TRUST_REVERSED,
    min_answered: int = 9,
    coding: Coding = "1-5",
    name: str = "trust",
    id_column: str | None = "patient_id",
) -> pd.Series:
    """Trust in Physician Scale score, 0-100 (Anderson & Dedrick 1990).

    Eleven items answered 1-5 (1 = totally disagree ... 5 = totally agree in
    the version of Thom et al. used by the HCPC trial). The four negatively
    worded items (:data:`DEFAULT_TRUST_REVERSED`: 1, 5, 7, 11) are reversed
    (``x -> 6 - x``), then::

        trust = 100 * (mean(x) - 1) / 4

    over the answered items, i.e. the prorated total rescaled so that 0 = every
    item at the least-trusting end and 100 = every item at the most-trusting
    end. A respondent with fewer than ``min_answered`` items answered (default
    9 of 11) gets no score (NaN); count them with
    ``data[items].notna().sum(axis=1) < min_answered``.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : sequence of str
        The 11 item columns in questionnaire order (e.g.
        ``item_columns("trust", 11, 0)``).
    reverse : sequence of int or str
        The negatively worded items, as 1-based item numbers or column names.
    min_answered : int
        Fewest answered items for a (prorated) score, 1-11.
    coding : {"1-5", "0-4", "reversed"}
        How the file is coded (see :func:`validate_likert`).
    name : str
        Name of the returned Series.
    id_column : str or None
        Column naming rows in error messages.

    Returns
    -------
    Series
        Float scores in [0, 100], NaN when too few items were answered; same
        index as ``data``.

    Raises
    ------
    SchemaError
        Any validation problem (see :func:`validate_likert`) or a bad
        ``reverse`` / ``min_answered``.

    References
    ----------
    Anderson LA, Dedrick RF. Psychol Rep 1990;67:1091-1100.
    Thom DH et al. Med Care 1999;37:510-517.

    Examples
    --------
    Respondent 1 agrees (4) with every positive item and disagrees (2) with
    every negative one: after reversal all 11 are 4, so 100 * 3 / 4 = 75.
    Respondent 2 skips items 10 and 11: nine answered, all at 5 after
    reversal, prorated to 100. Respondent 3 answers only eight: no score.

    >>> import pandas as pd
    >>> items = item_columns("trust", 11, 0)
    >>> df = pd.DataFrame([[2, 4, 4, 4, 2, 4, 2, 4, 4, 4, 2],
    ...                    [1, 5, 5, 5, 1, 5, 1, 5, 5, None, None],
    ...                    [1, 5, 5, 5, 1, 5, 1, 5, None, None, None]], columns=items)
    >>> score_trust(df, items).tolist()
    [75.0, 100.0, nan]
    """
    min_answered = _check_whole("min_answered", min_answered, 1, TRUST_N_ITEMS)
    responses, failures = _likert(data, items, _TRUST, coding, id_column)
    positions = _reverse_positions(reverse, items, failures)
    raise_if_failures(failures, f"{_TRUST.name} responses")
    scores = trust_from_responses(responses, reverse=positions, min_answered=min_answered)
    return pd.Series(scores, index=data.index, name=name)


def pacic_from_responses(
    responses: npt.ArrayLike, *, min_answered: int = 1
) -> dict[str, FloatArray]:
    """PACIC overall and subscale scores from a respondents x 20 array on 1-5.

    Each subscale is the mean of its answered items (NaN when none is
    answered); the overall score is the mean of the answered items among the
    20 (NaN when fewer than ``min_answered``).

    Returns
    -------
    dict of str to ndarray
        ``"pacic"``, one entry per :data:`PACIC_SUBSCALES` key, and
        ``"n_answered"``.

    Examples
    --------
    >>> out = pacic_from_responses([[5] * 3 + [1] * 17])
    >>> out["activation"].tolist(), out["pacic"].tolist()
    ([5.0], [1.6])
    """
    x = np.array(responses, dtype=float, ndmin=2)
    overall, n = _answered_mean(x)
    out: dict[str, FloatArray] = {"pacic": np.where(n >= min_answered, overall, np.nan)}
    for sub, numbers in PACIC_SUBSCALES.items():
        out[sub] = _answered_mean(x[:, np.asarray(numbers) - 1])[0]
    out["n_answered"] = n.astype(float)
    return out


def score_pacic(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    min_answered: int = 1,
    coding: Coding = "1-5",
    prefix: str = "pacic",
    id_column: str | None = "patient_id",
) -> pd.DataFrame:
    """Patient Assessment of Chronic Illness Care (Glasgow et al. 2005), 1-5.

    Twenty items on 1-5 (1 = almost never ... 5 = almost always). Subscales::

        activation       items 1-3     (patient activation)
        delivery_system  items 4-6     (delivery system design / decision support)
        goal_setting     items 7-11    (goal setting / tailoring)
        problem_solving  items 12-15   (problem-solving / contextual counselling)
        follow_up        items 16-20   (follow-up / coordination)

    **Missing-item rule.** Each subscale is the mean of its answered items
    (NaN when none of them is answered). The overall score is the mean of the
    answered items among all 20, provided at least ``min_answered`` are
    answered (default 1: any answered item); it is *not* the mean of the
    subscales, which would weight the short subscales more. Raise
    ``min_answered`` (e.g. to 15) for a stricter rule; ``{prefix}_n_answered``
    shows how many items each respondent answered.

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    items : sequence of str
        The 20 item columns in questionnaire order.
    min_answered : int
        Fewest answered items for an overall score, 1-20.
    coding : {"1-5", "0-4", "reversed"}
        How the file is coded (see :func:`validate_likert`).
    prefix : str
        Prefix of the output columns.
    id_column : str or None
        Column naming rows in error messages.

    Returns
    -------
    DataFrame
        ``{prefix}``, ``{prefix}_<subscale>`` for each subscale and
        ``{prefix}_n_answered``; same index as ``data``.

    References
    ----------
    Glasgow RE, Wagner EH, Schaefer J, et al. Med Care 2005;43:436-444.

    Examples
    --------
    Activation items at 5, 4 and unanswered; the other 17 items at 3:
    activation = (5 + 4) / 2 = 4.5, overall = (5 + 4 + 17 * 3) / 19 = 60 / 19.

    >>> import pandas as pd
    >>> items = item_columns("pacic", 20, 12)
    >>> df = pd.DataFrame([[5, 4, None] + [3] * 17], columns=items)
    >>> out = score_pacic(df, items)
    >>> out.loc[0, "pacic_activation"], bool(out.loc[0, "pacic"] == 60 / 19)
    (np.float64(4.5), True)
    """
    min_answered = _check_whole("min_answered", min_answered, 1, PACIC_N_ITEMS)
    responses, failures = _likert(data, items, _PACIC, coding, id_column)
    raise_if_failures(failures, f"{_PACIC.name} responses")
    scores = pacic_from_responses(responses, min_answered=min_answered)
    out = pd.DataFrame(index=data.index)
    out[prefix] = scores["pacic"]
    for sub in PACIC_SUBSCALES:
        out[f"{prefix}_{sub}"] = scores[sub]
    out[f"{prefix}_n_answered"] = scores["n_answered"].astype("int64")
    return out


# ----------------------------------------------------------------------------- single items


def recommend_binary(
    data: pd.DataFrame,
    column: str,
    *,
    cut: int | None = None,
    levels: int = 5,
    coding: str | None = None,
    name: str | None = None,
    id_column: str | None = "patient_id",
) -> pd.Series:
    """ "Would definitely recommend" as a binary from one Likert item.

    ``True`` when the response (on ``1..levels`` after coding) is ``>= cut``,
    ``False`` below, ``<NA>`` when unanswered (missing stays missing). The
    default cut is the top category ("definitely"), as in the HCPC reports
    ("would definitely recommend", "would highly recommend their PCP").

    Parameters
    ----------
    data : DataFrame
        One row per respondent.
    column : str
        The Likert item, e.g. ``"recommend_12"``.
    cut : int, optional
        Lowest response counted as recommending, on ``1..levels``; default
        ``levels``.
    levels : int
        Number of response categories (5 for 1-5; 4 for a "definitely not /
        probably not / probably yes / definitely yes" item).
    coding : str, optional
        ``"1-<levels>"`` (default), ``"0-<levels-1>"`` (shifted up by 1) or
        ``"reversed"`` (``r -> levels + 1 - r``); checked as in
        :func:`validate_likert`.
    name : str, optional
        Name of the result; default ``"<column>_definitely"``.
    id_column : str or None
        Column naming rows in error messages.

    Returns
    -------
    Series
        Nullable ``boolean``, same index as ``data``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"recommend_12": [5, 4, None, 1]})
    >>> recommend_binary(df, "recommend_12").tolist()
    [True, False, <NA>, False]
    >>> recommend_binary(df, "recommend_12", cut=4).tolist()
    [True, True, <NA>, False]
    """
    levels = _check_whole("levels", levels, 2)
    cut = _check_whole("cut", levels if cut is None else cut, 1, levels)
    item = _Instrument(column, 1, levels)
    responses, failures = _likert(
        data, [column], item, _coding_or_default(levels, coding), id_column
    )
    raise_if_failures(failures, f"'{column}' responses")
    x = responses[:, 0]
    values = pd.array(x >= cut, dtype="boolean")
    values[np.isnan(x)] = pd.NA
    return pd.Series(values, index=data.index, name=name or f"{column}_definitely")


VISIT_COLUMNS: tuple[str, ...] = ("clinician_id", "visit_id", "arm")


def validate_visit_ratings(
    df: pd.DataFrame,
    items: Sequence[str],
    *,
    levels: int = 5,
    coding: str | None = None,
) -> pd.DataFrame:
    """Check clinicians' post-visit ratings and return a normalized copy.

    The table has one row per visit: ``clinician_id, visit_id, arm`` and the
    Likert items (e.g. "how demanding was this visit", "had adequate time";
    Dube et al., Fam Syst Health 2015;33:213-221). Visits are nested in
    clinicians, which the analyses must respect.

    Parameters
    ----------
    df : DataFrame
        The ratings table.
    items : sequence of str
        The Likert item columns.
    levels : int
        Response categories per item (5 for 1-5).
    coding : str, optional
        ``"1-<levels>"`` (default), ``"0-<levels-1>"`` or ``"reversed"``.

    Returns
    -------
    DataFrame
        A copy with the items as floats on ``1..levels`` (NaN = unanswered).

    Raises
    ------
    SchemaError
        Every problem at once: missing columns, missing clinician, visit or
        arm, a visit listed twice for a clinician, and the item problems of
        :func:`validate_likert` (rows named by ``visit_id``).

    Examples
    --------
    >>> import pandas as pd
    >>> visits = pd.DataFrame({"clinician_id": ["c1", "c1", "c2"],
    ...     "visit_id": [1, 2, 3], "arm": ["coaching", "usual_care", "coaching"],
    ...     "demanding": [2, 6, 3], "adequate_time": [4, 4, 5]})
    >>> try:
    ...     validate_visit_ratings(visits, ["demanding", "adequate_time"])
    ... except SchemaError as e:
    ...     f = e.failures.iloc[0]
    ...     print(f["column"], f["rows"], f["values"])
    demanding [2] [6]
    """
    levels = _check_whole("levels", levels, 2)
    _require_frame(df)
    failures: list[dict[str, Any]] = [
        {"column": c, "problem": "required column missing"}
        for c in VISIT_COLUMNS
        if c not in df.columns
    ]
    id_column = "visit_id" if "visit_id" in df.columns else None
    ids = _ids(df, id_column)
    for c in VISIT_COLUMNS:
        if c in df.columns and df[c].isna().any():
            failures.append(
                failure_from_mask(
                    c,
                    "missing (rows named by position)",
                    df[c].isna(),
                    pd.Index(np.arange(len(df))),
                )
            )
    if "clinician_id" in df.columns and "visit_id" in df.columns:
        key = df[["clinician_id", "visit_id"]]
        dup = key.duplicated(keep=False) & key.notna().all(axis=1)
        if dup.any():
            failures.append(
                failure_from_mask(
                    "clinician_id + visit_id",
                    "duplicate rows: each visit of a clinician must appear once",
                    dup,
                    ids,
                )
            )
    ratings = _Instrument("visit ratings", None, levels)
    responses, item_failures = _likert(
        df, items, ratings, _coding_or_default(levels, coding), id_column
    )
    raise_if_failures(failures + item_failures, "clinician visit ratings")
    out = df.copy()
    out[list(items)] = responses
    return out
