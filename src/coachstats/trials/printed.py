"""Printed numbers: a published value or P exactly as printed, parsed, and printed back.

A paper prints ``"46.4 %"``, ``"-1.07 (2.8)"``, ``"60/121 (49.6 %)"`` or
``"< .001"``. :class:`PrintedValue` and :class:`PrintedP` parse such text,
give its numbers (:meth:`PrintedValue.numbers`), and format a reproduced
number at the printed precision, so that published and reproduced figures
are compared as the reader sees them. The structured published values of
:mod:`coachstats.trials.values` are built from them.

Examples
--------
>>> PrintedValue.parse("60/121 (49.6 %)").numbers()
PrintedNumbers(number=49.6, sd=nan, events=60, n=121)
>>> PrintedP.parse(".01").matches(0.009)
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, NamedTuple

from coachstats.compare.summaries import se_from_p
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.core.formatting import format_number, format_p
from coachstats.core.results import ArmSummary

__all__ = ["PrintedNumbers", "PrintedP", "PrintedValue", "ValueKind", "normalize"]

ValueKind = Literal["none", "count", "fraction", "events_pct", "percent", "mean_sd", "number"]
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def normalize(text: str) -> str:
    """Canonical form for comparing printed numbers: ASCII minus, no '+', no '-0'."""
    t = text.translate(_MINUS).replace("+", "").strip()
    return re.sub(r"(?<![\d.])-(?=0(\.0*)?(?![\d.]*[1-9]))", "", t)


_FRACTION = re.compile(r"^(?P<events>\d+)/(?P<n>\d+) \((?P<pct>\d+(?:\.\d+)?) ?%\)$")
_PLAIN_FRACTION = re.compile(r"^(?P<events>\d+)/(?P<n>\d+)$")
_EVENTS_PCT = re.compile(r"^(?P<events>\d+) \((?P<pct>\d+(?:\.\d+)?) ?%\)$")
_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)(?P<num>\d+(?:\.\d+)?)(?: \((?P<sd>\d+(?:\.\d+)?)\))?(?P<pct> ?%)?$"
)
_NOT_PRINTED = ("", "n.s.", "ns", "-")


class PrintedNumbers(NamedTuple):
    """The numbers in a printed value: the main number (a percentage for
    percentages, else the value), the SD, the events and the n (NaN or None
    when not printed)."""

    number: float
    sd: float
    events: int | None
    n: int | None


@dataclass(frozen=True)
class PrintedValue:
    """A per-group value or difference as printed, and how to print a reproduced one.

    Kinds: ``"none"`` (not printed, e.g. ``"n.s."``), ``"count"`` (``"224"``),
    ``"fraction"`` (``"60/121 (49.6 %)"`` or ``"290/441"``), ``"events_pct"`` (``"27 (22.0 %)"``),
    ``"percent"`` (``"46.4 %"``, ``"+16.3 %"``), ``"mean_sd"``
    (``"-1.07 (2.8)"``) and ``"number"`` (``"3.82"``, ``"+3.9"``).

    Examples
    --------
    >>> v = PrintedValue.parse("-1.07 (2.8)")
    >>> v.kind, v.decimals, v.sd_decimals
    ('mean_sd', 2, 1)
    >>> v.format_arm(ArmSummary("coaching", 122, value=-1.0712, sd=2.8349))
    '-1.07 (2.8)'
    >>> PrintedValue.parse("60/121 (49.6 %)").format_arm(
    ...     ArmSummary("coaching", 121, events=60, value=60 / 121))
    '60/121 (49.6 %)'
    >>> PrintedValue.parse("+16.3 %").format_number(0.1634)
    '+16.3 %'
    """

    text: str
    kind: ValueKind
    decimals: int = 0
    sd_decimals: int = 0
    signed: bool = False
    percent: bool = False
    space: str = " "

    @classmethod
    def parse(cls, text: str) -> PrintedValue:
        """Parse a printed value; raise :class:`OptionError` when it has no known form."""
        t = str(text).translate(_MINUS).strip()
        if t.lower() in _NOT_PRINTED:
            return cls(t, "none")
        if m := _FRACTION.match(t):
            return cls(t, "fraction", _decimals(m["pct"]), percent=True, space=_space(t))
        if _PLAIN_FRACTION.match(t):
            return cls(t, "fraction")
        if m := _EVENTS_PCT.match(t):
            return cls(t, "events_pct", _decimals(m["pct"]), percent=True, space=_space(t))
        if m := _NUMBER.match(t):
            signed = m["sign"] == "+"
            if m["sd"] is not None:
                return cls(t, "mean_sd", _decimals(m["num"]), _decimals(m["sd"]), signed)
            if m["pct"]:
                return cls(
                    t,
                    "percent",
                    _decimals(m["num"]),
                    signed=signed,
                    percent=True,
                    space=m["pct"][:-1],
                )
            kind: ValueKind = "count" if "." not in m["num"] and not m["sign"] else "number"
            return cls(t, kind, _decimals(m["num"]), signed=signed)
        raise OptionError(
            f"printed value {text!r} has no known form; expected e.g. '46.4 %', '-1.07 (2.8)', "
            "'60/121 (49.6 %)', '27 (22.0 %)', '224', '+3.9' or 'n.s.'"
        )

    @property
    def printed(self) -> bool:
        """False for values that were not printed (``"n.s."``, empty)."""
        return self.kind != "none"

    def number(self) -> float:
        """The main printed number (percent for percentages), NaN when not printed."""
        t = self.text
        if self.kind == "fraction" and not self.percent:
            events, n = t.split("/")
            return 100 * int(events) / int(n)
        if self.kind in ("fraction", "events_pct"):
            return float(t[t.index("(") + 1 : t.index("%")])
        if self.kind == "none":
            return math.nan
        m = _NUMBER.match(t)
        if m is None:  # pragma: no cover - parse() accepted it
            return math.nan
        return float(m["sign"] + m["num"])

    def numbers(self) -> PrintedNumbers:
        """Every number in the text: main number, SD, events and n, as printed.

        Examples
        --------
        >>> PrintedValue.parse("27 (22.0 %)").numbers()
        PrintedNumbers(number=22.0, sd=nan, events=27, n=None)
        >>> PrintedValue.parse("-1.07 (2.8)").numbers()
        PrintedNumbers(number=-1.07, sd=2.8, events=None, n=None)
        """
        t = self.text
        events: int | None = None
        n: int | None = None
        sd = math.nan
        if self.kind == "fraction":
            m = _FRACTION.match(t) or _PLAIN_FRACTION.match(t)
            if m is not None:
                events, n = int(m["events"]), int(m["n"])
        elif self.kind == "events_pct":
            m = _EVENTS_PCT.match(t)
            if m is not None:
                events = int(m["events"])
        elif self.kind == "mean_sd":
            m = _NUMBER.match(t)
            if m is not None and m["sd"] is not None:
                sd = float(m["sd"])
        return PrintedNumbers(self.number(), sd, events, n)

    def format_number(self, x: float, sd: float = math.nan) -> str:
        """Print ``x`` (a proportion when the printed value is a percentage) like this value."""
        if self.kind == "none":
            return ""
        if self.percent:
            body = format_number(100 * x, self.decimals, signed=self.signed)
            return f"{body}{self.space}%"
        if self.kind == "mean_sd":
            return f"{format_number(x, self.decimals, signed=self.signed)} ({format_number(sd, self.sd_decimals)})"
        if self.kind == "count":
            return format_number(x, 0)
        return format_number(x, self.decimals, signed=self.signed)

    def format_arm(self, arm: ArmSummary) -> str:
        """Print one group's reproduced summary in this value's form."""
        pct = format_number(100 * arm.value, self.decimals)
        if self.kind == "fraction" and not self.percent:
            return f"{arm.events}/{arm.n}"
        if self.kind == "fraction":
            return f"{arm.events}/{arm.n} ({pct}{self.space}%)"
        if self.kind == "events_pct":
            return f"{arm.events} ({pct}{self.space}%)"
        return self.format_number(arm.value, arm.sd)

    def matches(self, reproduced: str) -> bool:
        """Equal at the printed precision (signs and minus glyphs normalized)."""
        return normalize(self.text) == normalize(reproduced)


def _space(text: str) -> str:
    return " " if " %" in text else ""


@dataclass(frozen=True)
class PrintedP:
    """A P value as printed, and the rule for matching a reproduced one.

    ``".02"`` is matched by any P that rounds to .02 at 2 decimals (a
    reproduced .009 matches a printed ``".01"``); ``"< .001"`` by P < .001;
    ``"not significant"`` by P >= .05.

    Examples
    --------
    >>> p = PrintedP.parse("< .001")
    >>> p.format(0.0004), p.matches(0.0004), p.format(0.0021)
    ('< .001', True, '.002')
    >>> PrintedP.parse("not significant").format(0.31)
    'not significant'
    >>> PrintedP.parse(".013").format(0.01349)
    '.013'
    """

    text: str
    kind: Literal["none", "value", "below", "not_significant"]
    decimals: int = 2
    threshold: float = math.nan

    @classmethod
    def parse(cls, text: str) -> PrintedP:
        """Parse ``".02"``, ``"< .001"``, ``"p = .013"``, ``"not significant"`` or ``""``."""
        t = str(text).strip().lower()
        t = re.sub(r"^p\s*=\s*", "", t)
        if t == "":
            return cls(str(text), "none")
        if t in ("not significant", "n.s.", "ns"):
            return cls(str(text), "not_significant", threshold=0.05)
        if m := re.match(r"^(?:p\s*)?<\s*(0?\.\d+)$", t):
            num = m.group(1)
            return cls(str(text), "below", _decimals(num), float(num))
        if re.match(r"^(0|1)?\.\d+$", t):
            return cls(str(text), "value", _decimals(t), float(t))
        raise OptionError(
            f"printed P {text!r} has no known form; expected e.g. '.02', '.013', '< .001', "
            "'not significant' or ''"
        )

    @property
    def printed(self) -> bool:
        """False when no P was printed."""
        return self.kind != "none"

    def value(self) -> float:
        """The printed P as a number (the threshold for ``"< .001"``; NaN otherwise)."""
        return self.threshold

    def std_errors(self, estimate: float) -> tuple[float, float, float]:
        r"""Standard error of ``estimate`` from this P, and its range over the P's rounding.

        :math:`SE = |\hat\theta| / z_{1-P/2}` for a Wald-type test of
        :math:`\hat\theta` (on the scale tested: log for ratios;
        :func:`coachstats.compare.summaries.se_from_p`). A P printed with
        :math:`d` decimals lies in :math:`[P - \tfrac12 10^{-d}, P + \tfrac12 10^{-d})`;
        the SE at both ends is returned too. ``"< .001"`` gives the largest SE
        compatible with it (the bound; the lower end is 0).

        Returns
        -------
        (se, se_low, se_high) : tuple of float

        Raises
        ------
        AnalysisError
            No usable P (``"not significant"``, empty) or a zero estimate.

        Examples
        --------
        >>> [round(v, 4) for v in PrintedP.parse(".02").std_errors(0.121)]
        [0.052, 0.0497, 0.054]
        """
        if not self.usable:
            raise AnalysisError(
                f"no usable printed P value ({self.text!r}) to derive a standard error"
            )
        if self.kind == "below":
            top = se_from_p(estimate, self.threshold)
            return top, 0.0, top
        half = 0.5 * 10.0 ** (-self.decimals)
        low_p = max(self.threshold - half, 1e-300)
        high_p = min(self.threshold + half, 1.0)
        return (
            se_from_p(estimate, self.threshold),
            se_from_p(estimate, low_p),
            se_from_p(estimate, high_p),
        )

    @property
    def usable(self) -> bool:
        """True when the P is a number or a bound (``".02"``, ``"< .001"``) an SE can come from."""
        return self.kind in ("value", "below") and math.isfinite(self.threshold)

    def format(self, p: float) -> str:
        """Print a reproduced P at this value's precision and in its style."""
        if not math.isfinite(p):
            return "NA"
        if self.kind == "below" and p < self.threshold:
            return "< " + f"{self.threshold:.{self.decimals}f}".lstrip("0")
        if self.kind == "not_significant":
            return "not significant" if p >= self.threshold else format_p(p)
        decimals = self.decimals if self.kind == "value" else max(self.decimals, 2)
        floor = 10.0**-decimals
        if p < floor / 2:  # would print as .000: say how small instead
            return "< " + f"{floor:.{decimals}f}".lstrip("0")
        return f"{p:.{decimals}f}".lstrip("0")

    def matches(self, p: float) -> bool:
        """The reproduced P prints as this P."""
        if self.kind == "none":
            return True
        if self.kind == "not_significant":
            return math.isfinite(p) and p >= self.threshold
        return self.format(p) == normalize(self.text).lower().replace("p = ", "")
