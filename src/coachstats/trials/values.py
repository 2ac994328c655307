"""Published values in structured form, each number with its origin and where it was printed.

The registry keeps every published figure as printed (``"27 (22.0 %)"``).
These classes hold the same figure as numbers:

- :class:`Count` -- a number of patients, clinics or visits (``"224"``);
- :class:`Proportion` -- events and n with the share (``"60/121 (49.6 %)"``,
  ``"46.4 %"``);
- :class:`Mean` -- mean, SD and n (``"-1.07 (2.8)"``, ``"3.82"``);
- :class:`Estimate` -- an effect with its CI, P value and standard error.

Each carries ``origins``: for every number it holds, an :class:`Origin`
saying whether the number was **printed** (read from the paper),
**inferred** (worked out by hand from the printed figures and recorded in
the registry's ``inferred`` table, e.g. the HCPC counts that fit the
printed percentages and P values) or **computed** here from printed
numbers (the n behind ``"27 (22.0 %)"``, a share from ``"290/441"``, an SE
from a P value), where it was printed (``"Table 2"``, ``"abstract"``; empty
when the registry does not record it), and how a derived number was
derived. Nothing derived is typed into the registry: it is computed by the
functions below from the printed text (:mod:`coachstats.trials.printed`) and
the statistics of :mod:`coachstats.compare.summaries`.

Examples
--------
>>> v = published_value("27 (22.0 %)")
>>> v.share, v.events, v.n
(0.22, 27, 123)
>>> v.origins["events"].derivation, v.origins["n"].derivation
('printed', 'computed')
>>> v.origins["n"].detail
'the only n for which 27/n prints as 22.0 %'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

from coachstats.compare.proportions import normal_quantile
from coachstats.compare.summaries import combined_mean_sd, se_from_ci, se_mean_difference
from coachstats.core.errors import OptionError
from coachstats.core.formatting import p_phrase
from coachstats.trials.printed import PrintedP, PrintedValue

__all__ = [
    "CI_FROM_SE",
    "DERIVATIONS",
    "FROM_PRINTED_P",
    "Count",
    "Derivation",
    "Estimate",
    "Mean",
    "Origin",
    "Proportion",
    "PublishedValue",
    "combined",
    "printed_estimate",
    "published_value",
    "std_error_from_ci",
    "std_error_from_p",
    "std_error_from_sds",
]

Derivation = Literal["printed", "inferred", "computed"]
#: How a published number was obtained: read from the paper, inferred by hand
#: (the registry's ``inferred`` table, not published), or computed here.
DERIVATIONS: tuple[str, ...] = get_args(Derivation)


@dataclass(frozen=True)
class Origin:
    """Where one published number comes from.

    Attributes
    ----------
    derivation : {"printed", "inferred", "computed"}
        Read from the paper; worked out by hand from the printed figures
        (recorded in the registry, not published); or computed here from
        printed numbers.
    location : str
        Where it (or the numbers it was derived from) was printed: ``"Table 2"``,
        ``"abstract"``, ``"p. 134"``. Empty when the registry does not record it.
    detail : str
        How a derived number was derived (empty for printed ones).
    """

    derivation: Derivation
    location: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if self.derivation not in DERIVATIONS:
            raise OptionError(
                f"derivation={self.derivation!r} is not allowed; choose one of "
                + ", ".join(repr(d) for d in DERIVATIONS)
            )

    @property
    def printed(self) -> bool:
        """True when the number was read from the paper."""
        return self.derivation == "printed"


def _origins(items: Mapping[str, Origin]) -> Mapping[str, Origin]:
    return MappingProxyType(dict(items))


@dataclass(frozen=True)
class Count:
    """A printed count (patients, clinics, visits)."""

    n: int
    text: str
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origins", _origins(self.origins))

    @property
    def short(self) -> str:
        """The count as printed."""
        return self.text


@dataclass(frozen=True)
class Proportion:
    """A published proportion: the share (0-1), and events and n when known.

    ``share`` is a change in the share when the target is a change
    (``"+16.3 %"``). ``events`` and ``n`` are None when neither printed nor
    inferred nor computable; ``origins`` says which of them were printed.
    """

    share: float
    text: str
    events: int | None = None
    n: int | None = None
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origins", _origins(self.origins))

    def counts(self, *, inferred: bool = False) -> tuple[int, int] | None:
        """``(events, n)`` when both are known; inferred counts only with ``inferred=True``.

        Examples
        --------
        >>> published_value("46.4 %", inferred="90/194").counts(), \\
        ...     published_value("46.4 %", inferred="90/194").counts(inferred=True)
        (None, (90, 194))
        """
        if self.events is None or self.n is None:
            return None
        derived = {self.origins[k].derivation for k in ("events", "n") if k in self.origins}
        if "inferred" in derived and not inferred:
            return None
        return self.events, self.n

    @property
    def short(self) -> str:
        """The share as a short text: ``"46.4 %"`` (one decimal when not printed as a percentage)."""
        pv = PrintedValue.parse(self.text)
        decimals = pv.decimals if pv.percent else 1
        return f"{100 * self.share:.{decimals}f} %"


@dataclass(frozen=True)
class Mean:
    """A published mean, with its SD and n when known (NaN / None otherwise)."""

    mean: float
    text: str
    sd: float = math.nan
    n: int | None = None
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origins", _origins(self.origins))

    @property
    def short(self) -> str:
        """The mean as printed, without the SD: ``"-1.07"``."""
        return self.text.split(" (")[0].strip()


#: A per-group published value.
PublishedValue = Count | Proportion | Mean


@dataclass(frozen=True)
class Estimate:
    """An effect estimate with its uncertainty, and the origin of each of its numbers.

    ``estimate``, ``conf_low`` and ``conf_high`` are on the natural scale
    (a ratio for odds ratios); ``std_error`` (and its range over the
    rounding of a printed P, ``std_error_low`` / ``std_error_high``) on the
    scale of the test: log for ratios (``log_scale``). ``origins`` has the
    keys ``estimate``, ``ci``, ``p`` and ``std_error`` (those that are known);
    :attr:`se_method` says how the SE was obtained.
    """

    estimand: str
    estimate: float
    text: str = ""
    conf_low: float = math.nan
    conf_high: float = math.nan
    conf_level: float = 0.95
    p: PrintedP = field(default_factory=lambda: PrintedP.parse(""))
    std_error: float = math.nan
    std_error_low: float = math.nan
    std_error_high: float = math.nan
    log_scale: bool = False
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "origins", _origins(self.origins))

    @property
    def scaled(self) -> float:
        """The estimate on the test scale (log for ratios)."""
        return math.log(self.estimate) if self.log_scale else self.estimate

    @property
    def se_method(self) -> str:
        """How the standard error was obtained (empty when there is none)."""
        origin = self.origins.get("std_error")
        return origin.detail if origin is not None else ""


# --------------------------------------------------------------------------- building


def _share(pv: PrintedValue) -> float:
    """A printed percentage as a proportion, without binary noise (46.4 % -> 0.464)."""
    return round(pv.number() / 100.0, pv.decimals + 2)


def _n_from_share(events: int, pv: PrintedValue) -> int | None:
    """The n for which ``events / n`` prints as ``pv``'s percentage, when there is only one."""
    pct = pv.number()
    if pct <= 0.0:
        return None
    half = 0.5 * 10.0 ** (-pv.decimals)
    lo = max(events, math.floor(100.0 * events / (pct + half)) - 1, 1)
    hi = math.ceil(100.0 * events / max(pct - half, 1e-12)) + 1
    if hi - lo > 10_000:
        return None
    fits = [
        n
        for n in range(lo, hi + 1)
        if round(100.0 * events / n, pv.decimals) == round(pct, pv.decimals)
    ]
    return fits[0] if len(fits) == 1 else None


def _events_from_share(n: int, pv: PrintedValue) -> int | None:
    """The events for which ``events / n`` prints as ``pv``'s percentage, when only one does."""
    pct = round(pv.number(), pv.decimals)
    fits = [e for e in range(n + 1) if round(100.0 * e / n, pv.decimals) == pct]
    return fits[0] if len(fits) == 1 else None


def published_value(
    text: str,
    *,
    location: str = "",
    n: int | None = None,
    n_origin: Origin | None = None,
    inferred: str | None = None,
) -> PublishedValue | None:
    """A printed per-group value in structured form (None when it was not printed).

    Parameters
    ----------
    text : str
        The value as printed (see :class:`~coachstats.trials.printed.PrintedValue`).
    location : str
        Where it was printed.
    n : int, optional
        The group's n when it is printed elsewhere (the target's ``n``, or
        another target's counts); ``n_origin`` says where.
    inferred : str, optional
        Counts inferred for this group (``"90/194"``), used for a proportion
        printed without them.

    Examples
    --------
    >>> published_value("60/121 (49.6 %)")
    Proportion(share=0.496, text='60/121 (49.6 %)', events=60, n=121, origins=...)
    >>> published_value("-1.07 (2.8)", n=122).sd
    2.8
    >>> published_value("n.s.") is None
    True
    """
    pv = PrintedValue.parse(text)
    printed = Origin("printed", location)
    given_n = n_origin or Origin("printed")
    nums = pv.numbers()
    if pv.kind == "none":
        return None
    if pv.kind == "count":
        return Count(int(nums.number), pv.text, {"n": printed})
    if pv.kind in ("mean_sd", "number") and not pv.percent:
        origins = {"mean": printed}
        if pv.kind == "mean_sd":
            origins["sd"] = printed
        if n is not None:
            origins["n"] = given_n
        return Mean(nums.number, pv.text, nums.sd, n, origins)
    # proportions: "60/121 (49.6 %)", "290/441", "27 (22.0 %)", "46.4 %"
    origins = {}
    events, size = nums.events, nums.n
    if pv.percent:
        share = _share(pv)
        origins["share"] = printed
    else:  # "290/441": the share is events / n (parse() guarantees both)
        share = events / size if events is not None and size else math.nan
        origins["share"] = Origin("computed", location, "events / n")
    if events is not None:
        origins["events"] = printed
    if size is not None:
        origins["n"] = printed
    elif n is not None:
        size, origins["n"] = n, given_n
    elif events is not None:
        size = _n_from_share(events, pv)
        if size is not None:
            shown = f"{pv.number():.{pv.decimals}f}{pv.space}%"
            origins["n"] = Origin(
                "computed", location, f"the only n for which {events}/n prints as {shown}"
            )
    if events is None and size is not None and pv.percent:
        events = _events_from_share(size, pv)
        if events is not None:
            origins["events"] = Origin(
                "computed", location, f"the only count of {size} that prints as {pv.text}"
            )
    if (
        events is not None
        and size
        and pv.percent
        and round(100.0 * events / size, pv.decimals) != round(pv.number(), pv.decimals)
    ):
        raise OptionError(
            f"printed value {pv.text!r} with n = {size}: {events}/{size} does not print as "
            "its percentage; check the value and the n in the registry"
        )
    if events is None and inferred:
        got = PrintedValue.parse(inferred).numbers()
        if got.events is not None and got.n is not None:
            how = f"inferred from the printed figures, not published ({inferred})"
            events, size = got.events, got.n
            origins["events"] = origins["n"] = Origin("inferred", location, how)
    return Proportion(share, pv.text, events, size, origins)


#: The origin of a CI computed from an estimate and its SE.
CI_FROM_SE = Origin("computed", "", "estimate +/- z x SE")


def std_error_from_ci(
    conf_low: float, conf_high: float, *, conf_level: float = 0.95, location: str = ""
) -> tuple[float, Origin]:
    """The SE behind a printed Wald CI (:func:`~coachstats.compare.summaries.se_from_ci`), with its origin.

    Examples
    --------
    >>> se, origin = std_error_from_ci(-1.84, -0.31, location="abstract")
    >>> round(se, 4), origin.derivation, origin.detail
    (0.3903, 'computed', 'SE = (upper - lower) / (2 z) from the printed CI')
    """
    se = se_from_ci(conf_low, conf_high, conf_level)
    return se, Origin("computed", location, "SE = (upper - lower) / (2 z) from the printed CI")


#: The words that mark an SE computed from a printed P in its origin's detail
#: (:func:`std_error_from_p`); readers of the detail (``coachstats evidence``'s
#: marks) look for them here.
FROM_PRINTED_P = "from the printed P"


def std_error_from_p(
    estimate: float, p: PrintedP, *, location: str = "", what: str = "estimate"
) -> tuple[tuple[float, float, float], Origin]:
    """The SE behind a printed P (:meth:`~coachstats.trials.printed.PrintedP.std_errors`), with its origin.

    Returns ``((se, se_low, se_high), origin)``: the SE and its range over
    the rounding of the printed P. ``what`` names the estimate in the
    origin's detail (``"log odds ratio"`` for ratios, whose SE is on the
    log scale).

    Raises
    ------
    AnalysisError
        No usable P, or a zero estimate (see :meth:`PrintedP.std_errors`).

    Examples
    --------
    >>> (se, lo, hi), origin = std_error_from_p(-0.7, PrintedP.parse(".02"))
    >>> round(se, 4), origin.detail
    (0.3009, 'SE = |estimate| / z(1 - P/2) from the printed P = .02 (rounding range 0.2878 to 0.3123)')
    """
    se, lo, hi = p.std_errors(estimate)
    detail = (
        f"SE = |{what}| / z(1 - P/2) {FROM_PRINTED_P} {p_phrase(p.text).removeprefix('P ')} "
        f"(rounding range {lo:.4g} to {hi:.4g})"
    )
    return (se, lo, hi), Origin("computed", location, detail)


def std_error_from_sds(a: Mean, b: Mean, *, location: str = "") -> tuple[float, Origin]:
    """The SE of the difference of two printed means from their SDs and n, with its origin.

    :func:`~coachstats.compare.summaries.se_mean_difference`,
    :math:`\\sqrt{s_1^2/n_1 + s_2^2/n_2}`.

    Raises
    ------
    OptionError
        An SD or an n that was not printed.

    Examples
    --------
    >>> a, b = published_value("-1.07 (2.8)", n=122), published_value("-0.30 (3.1)", n=114)
    >>> se, origin = std_error_from_sds(a, b)
    >>> round(se, 4), origin.detail
    (0.3854, 'SE from the printed means, SDs and n (sqrt(s1^2/n1 + s2^2/n2); n 122 vs 114)')
    """
    if a.n is None or b.n is None or math.isnan(a.sd) or math.isnan(b.sd):
        raise OptionError(
            f"an SE from SDs needs both arms' SD and n; got {a.text!r} (n {a.n}) and "
            f"{b.text!r} (n {b.n})"
        )
    se = se_mean_difference(a.sd, a.n, b.sd, b.n)
    detail = f"SE from the printed means, SDs and n (sqrt(s1^2/n1 + s2^2/n2); n {a.n} vs {b.n})"
    return se, Origin("computed", location, detail)


def printed_estimate(
    difference: str,
    p: str,
    *,
    ci: Sequence[str] = (),
    percent_points: bool = False,
    conf_level: float = 0.95,
    location: Mapping[str, str] | None = None,
) -> Estimate | None:
    """A printed difference (with its P and CI when printed) as an :class:`Estimate`.

    A difference printed as a percentage (``"+10 %"``), or in percentage
    points (``percent_points``), is returned on the proportion scale (0.10).
    The SE comes from the printed CI (:func:`~coachstats.compare.summaries.se_from_ci`)
    when there is one, else from the printed P
    (:meth:`~coachstats.trials.printed.PrintedP.std_errors`); a CI that was
    not printed is computed from that SE. Returns None when no difference
    was printed.

    Examples
    --------
    >>> e = printed_estimate("+1.08", "< .001")
    >>> e.estimate, round(e.std_error, 4), e.origins["std_error"].derivation
    (1.08, 0.3282, 'computed')
    >>> printed_estimate("18.1", ".005", percent_points=True).estimate
    0.181
    """
    where = dict(location or {})
    pv = PrintedValue.parse(difference)
    if not pv.printed:
        return None
    scale = 100.0 if (pv.percent or percent_points) else 1.0
    decimals = pv.decimals + (2 if scale == 100.0 else 0)
    est = round(pv.number() / scale, decimals)
    pp = PrintedP.parse(p)
    origins = {"estimate": Origin("printed", where.get("difference", ""))}
    if pp.printed:
        origins["p"] = Origin("printed", where.get("p", ""))
    z = normal_quantile(conf_level)
    lo = hi = se = se_lo = se_hi = math.nan
    if ci:
        if len(ci) != 2:
            raise OptionError(f"a printed CI has two bounds, got {list(ci)}")
        bounds = [PrintedValue.parse(b) for b in ci]
        lo, hi = (round(b.number() / scale, b.decimals + decimals - pv.decimals) for b in bounds)
        origins["ci"] = Origin("printed", where.get("difference", ""))
        se, origins["std_error"] = std_error_from_ci(
            lo, hi, conf_level=conf_level, location=where.get("difference", "")
        )
        se_lo = se_hi = se
    elif pp.usable and est != 0.0:
        (se, se_lo, se_hi), origins["std_error"] = std_error_from_p(
            est, pp, location=where.get("p", "")
        )
        lo, hi = est - z * se, est + z * se
        origins["ci"] = CI_FROM_SE
    return Estimate(
        "difference",
        est,
        pv.text,
        lo,
        hi,
        conf_level,
        pp,
        se,
        se_lo,
        se_hi,
        origins=origins,
    )


def combined(
    values: Sequence[PublishedValue | None], *, texts: Sequence[str] = ()
) -> PublishedValue:
    """Groups printed separately (e.g. per arm) combined into one value for everyone.

    A single value is returned as it is. Several need their n: proportions
    are weighted by it, means and SDs combined by
    :func:`~coachstats.compare.summaries.combined_mean_sd`. The numbers are
    marked ``computed``.

    Raises
    ------
    OptionError
        A value not printed, values of different kinds, or an n not known.

    Examples
    --------
    >>> arms = [published_value("10.05 (2.0)", n=122), published_value("9.85 (2.0)", n=114)]
    >>> m = combined(arms)
    >>> round(m.mean, 4), round(m.sd, 4), m.n, m.origins["sd"].derivation
    (9.9534, 1.9983, 236, 'computed')
    """
    if any(v is None for v in values) or not values:
        raise OptionError("every group's value must be printed to combine them")
    vals = [v for v in values if v is not None]
    if len(vals) == 1:
        return vals[0]
    sizes = [v.n for v in vals]
    if any(k is None for k in sizes) or len({type(v) for v in vals}) != 1:
        raise OptionError(
            "values of one kind with their n are needed to combine groups; got "
            + ", ".join(f"{v.text!r} (n {v.n})" for v in vals)
        )
    n = [int(k) for k in sizes if k is not None]
    total = sum(n)
    how = Origin("computed", "", "groups combined, weighted by their n")
    shown = " and ".join(texts or [v.text for v in vals])
    if isinstance(vals[0], Proportion):
        props = [v for v in vals if isinstance(v, Proportion)]
        share = sum(k * v.share for k, v in zip(n, props, strict=True)) / total
        counts = [v.counts(inferred=True) for v in props]
        events = (
            sum(c[0] for c in counts if c is not None)
            if all(c is not None for c in counts)
            else None
        )
        origins = {"share": how, "n": how} | ({"events": how} if events is not None else {})
        return Proportion(share, f"{100 * share:.1f} % (arms combined)", events, total, origins)
    if isinstance(vals[0], Mean):
        means = [v for v in vals if isinstance(v, Mean)]
        mean, sd = combined_mean_sd([v.mean for v in means], [v.sd for v in means], n)
        text = f"{mean:.2f} ({sd:.2f}) (arms {shown} combined)"
        return Mean(mean, text, sd, total, {"mean": how, "sd": how, "n": how})
    raise OptionError(f"counts cannot be combined as values: {shown}")
