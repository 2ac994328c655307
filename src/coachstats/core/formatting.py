"""How numbers, P values and lists are printed: one function per formatting fact.

Tables, reports, figures and result summaries print through these, so a
number reads the same everywhere: fixed decimals, never ``-0.0``, a missing
value as ``NA`` (or what the caller shows for it), P values in journal style.

========================  ====================================================
:func:`format_p`          a P value in journal style: ``.02``, ``.009``, ``< .001``
:func:`p_phrase`          a P value in a sentence: ``P = .02``, ``P < .001``
:func:`format_number`     a number with fixed decimals, never ``-0.00``, missing as ``NA``
:func:`is_number`         a finite real number (not NaN, infinite, None, ``pd.NA`` or a bool)
:func:`join_words`        ``"a, b and c"``
:func:`first_sentence`    the first sentence of a text, never cut inside one
:func:`is_percent_estimand`  risk differences and proportions: shown in percent
========================  ====================================================

Examples
--------
>>> format_p(0.017), p_phrase(0.0002), format_number(-0.004, 2), join_words(["age", "sex", "site"])
('.02', 'P < .001', '0.00', 'age, sex and site')
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import SupportsFloat, cast

import numpy as np
import pandas as pd

__all__ = [
    "first_sentence",
    "format_number",
    "format_p",
    "in_sentence",
    "is_number",
    "is_percent_estimand",
    "is_ratio_estimand",
    "join_words",
    "null_effect",
    "p_phrase",
    "without_column_list",
]


def is_number(x: object) -> bool:
    """True for a finite real number; False for NaN, infinities, None, ``pd.NA``, bools and text.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> [is_number(x) for x in (1, 2.5, np.int64(3), float("nan"), float("inf"), None, pd.NA, True, "1")]
    [True, True, True, False, False, False, False, False, False]
    """
    return (
        isinstance(x, numbers.Real)
        and not isinstance(x, (bool, np.bool_))
        and math.isfinite(float(cast(SupportsFloat, x)))
    )


def format_number(x: object, digits: int = 2, *, signed: bool = False, missing: str = "NA") -> str:
    """``x`` with ``digits`` decimals; a value that rounds to zero prints without a minus sign.

    Parameters
    ----------
    x : number
        The value.
    digits : int
        Decimals.
    signed : bool
        Print ``+`` before a positive value (one that does not round to zero).
    missing : str
        What a value that is not a finite number (:func:`is_number`) prints as.

    Examples
    --------
    >>> format_number(5.678, 1), format_number(-0.004, 2), format_number(float("nan"), 2)
    ('5.7', '0.00', 'NA')
    >>> format_number(0.5, 1, signed=True), format_number(None, missing="")
    ('+0.5', '')
    """
    if not is_number(x):
        return missing
    text = f"{float(cast(SupportsFloat, x)):.{digits}f}"
    if float(text) == 0.0:
        return text.lstrip("-")
    return "+" + text if signed and not text.startswith("-") else text


def format_p(
    p: float | None,
    *,
    digits: int = 2,
    threshold: float = 0.001,
    missing: str = "NA",
    alpha: float | None = None,
) -> str:
    """Format a P value in journal style (AMA / Annals of Family Medicine).

    No leading zero; ``digits`` decimals (2 by default), three decimals below
    .01 and ``"< .001"`` below ``threshold``. With ``alpha`` (a P a verdict rests
    on), a P that would print as alpha itself without being it gets the digits
    that show its side (.0455 is ".045", not ".05"; .0499 is ".0499").

    Parameters
    ----------
    p : float
        The P value, in [0, 1].
    digits : int
        Decimals for P >= .01.
    threshold : float
        Values below it print as ``"< .001"`` (the threshold's own digits).
    missing : str
        What a missing P (None, NaN, ``pd.NA``) prints as.
    alpha : float, optional
        The significance level the P is read against.

    Raises
    ------
    ValueError
        ``p`` is outside [0, 1].

    Examples
    --------
    >>> [format_p(p) for p in (0.017, 0.0496, 0.0092, 0.0004, 0.47, 0.999)]
    ['.02', '.05', '.009', '< .001', '.47', '> .99']
    >>> format_p(float("nan")), format_p(None, missing="")
    ('NA', '')
    >>> format_p(0.0512, alpha=0.05), format_p(0.0499, alpha=0.05), format_p(0.05, alpha=0.05)
    ('.051', '.0499', '.05')
    >>> format_p(0.0496, alpha=1 - 0.95)  # alpha 0.05000000000000004: still its side
    '.0496'

    """
    if p is None or p is pd.NA or (isinstance(p, float) and math.isnan(p)):
        return missing
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"P value must be in [0, 1], got {p!r}")
    if p < threshold:
        return "< " + f"{threshold:.{_decimals(threshold)}f}".lstrip("0")
    if alpha is not None and p != alpha:
        plain = format_p(p, digits=digits, threshold=threshold)
        if plain == format_p(alpha, digits=digits, threshold=threshold):
            below = p < alpha
            for d in range(digits + 1, 7):  # the digits that show which side of alpha it is on
                text = f"{p:.{d}f}"
                if (float(text) < alpha) == below and text != f"{alpha:.{d}f}":
                    return text.lstrip("0")
        return plain
    if p < 0.01:
        text = f"{p:.3f}"
        if text == "0.010":  # .0095 <= p < .01 rounds up to the 2-decimal band
            text = "0.01"
    else:
        text = f"{p:.{digits}f}"
        if float(text) >= 1.0:
            return "> ." + "9" * digits
    return text.lstrip("0")


def p_phrase(p: float | str) -> str:
    """``"P = .02"`` or ``"P < .001"``: a P value (or its formatted text) in a sentence.

    Examples
    --------
    >>> p_phrase(0.017), p_phrase(0.0002), p_phrase("> .99")
    ('P = .02', 'P < .001', 'P > .99')
    """
    text = format_p(p) if isinstance(p, float) else str(p).strip()
    return f"P {text}" if text[:1] in "<>" else f"P = {text}"


def join_words(items: Iterable[object]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``: items in a sentence.

    Examples
    --------
    >>> join_words(["age"]), join_words(["age", "sex"]), join_words(["age", "sex", "site"])
    ('age', 'age and sex', 'age, sex and site')
    """
    words = [str(i) for i in items]
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def is_ratio_estimand(estimand: str) -> bool:
    """True for ratio estimands (odds ratio, relative risk, risk or hazard ratio...): pooled
    and tested on the log scale, drawn on a log axis, with no effect at 1.

    Examples
    --------
    >>> [is_ratio_estimand(e) for e in ("odds ratio", "Risk Ratio", "relative risk", "rr",
    ...     "risk difference", "mean difference")]
    [True, True, True, True, False, False]
    """
    e = estimand.lower()
    return "ratio" in e or "relative risk" in e or e in ("rr", "or", "hr")


def null_effect(estimand: str) -> float:
    """The value of no effect: 1 for a ratio, 0 for a difference.

    Examples
    --------
    >>> null_effect("odds ratio"), null_effect("mean difference")
    (1.0, 0.0)
    """
    return 1.0 if is_ratio_estimand(estimand) else 0.0


def is_percent_estimand(estimand: str) -> bool:
    """True for risk differences and proportions: coachstats shows them in percent, and the
    differences in percentage points, in every table, figure and sentence.

    Examples
    --------
    >>> [is_percent_estimand(e) for e in ("risk difference", "difference in proportion",
    ...     "proportion", "odds ratio", "mean difference", "proportional odds ratio")]
    [True, True, True, False, False, False]
    """
    e = estimand.lower()
    if "ratio" in e:
        return False
    return "risk difference" in e or re.search(r"\bproportions?\b", e) is not None


#: Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = ("i.e.", "e.g.", "et al.", "vs.", "cf.", "approx.", "no.", "Fig.")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (its first line), without the final full stop.

    A sentence ends at a full stop, question or exclamation mark followed by a space and a
    capital letter, and not after an abbreviation (``i.e.``, ``e.g.``, ``et al.``, ``vs.``);
    a decimal point (``0.47``) or ``i.e. (27/123 ...)`` never ends one. The sentence is
    returned whole, never cut inside a word.

    Examples
    --------
    >>> first_sentence("The printed 9.1 is (22.0 - 4.1) - (14.9 - 6.1), i.e. (27/123 - 5/122). More.")
    'The printed 9.1 is (22.0 - 4.1) - (14.9 - 6.1), i.e. (27/123 - 5/122)'
    >>> first_sentence("Thom et al. Ann Fam Med reports P = 0.47. The rest.")
    'Thom et al. Ann Fam Med reports P = 0.47'
    """
    line = text.strip().splitlines()[0] if text.strip() else ""
    for m in re.finditer(r"[.!?](?=\s+[A-Z])", line):
        head = line[: m.end()]
        if not head.endswith(_ABBREVIATIONS):
            line = head
            break
    return line[:-1] if line.endswith(".") else line


def without_column_list(text: str) -> str:
    """An error message without the list of the data's columns it ends with (``; available:
    ...`` or ``; available columns: ...``), for a line of a summary that names the missing one.

    Examples
    --------
    >>> without_column_list("column(s) ['coach_id'] not found; available: patient_id, arm, site")
    "column(s) ['coach_id'] not found"
    >>> without_column_list("no hba1c_12 (available columns: a, b)")
    'no hba1c_12 (available columns: a, b)'
    """
    return text.split("; available")[0]


def _decimals(x: float) -> int:
    return max(0, -math.floor(math.log10(x)))


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence: a capitalized word in lower case, an acronym or
    a measure name (HbA1c, LDL) as it is.

    Examples
    --------
    >>> in_sentence("At goal for >= 1 condition"), in_sentence("HbA1c at goal"), in_sentence("LDL change")
    ('at goal for >= 1 condition', 'HbA1c at goal', 'LDL change')
    """
    word = label.split(" ", 1)[0]
    if len(word) > 1 and word[0].isupper() and word[1:].islower():
        return label[0].lower() + label[1:]
    return label
