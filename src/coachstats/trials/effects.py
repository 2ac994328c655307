"""A published two-arm effect: the arms' figures, the difference, the P, and what follows from them.

:class:`PublishedEffect` is the one object for a published comparison of
coaching with usual care. It is built from the registry
(:meth:`coachstats.trials.Trial.effect`; the planning inputs by key with
:func:`coachstats.trials.published_effect`), so every number in it is
written once, in the trial's TOML file. It gives

- the planning inputs of :mod:`coachstats.tasks.power`: the two proportions
  (:attr:`~PublishedEffect.p1`, :attr:`~PublishedEffect.p2`), or the mean
  difference and the SD pooled from the printed arm SDs and n
  (:attr:`~PublishedEffect.delta`, :attr:`~PublishedEffect.sd`);
- the effect with its standard error for a comparison with a program
  (:meth:`~PublishedEffect.estimate`): from the counts when they are printed,
  from the means, SDs and n, or else from the printed P value, each route
  said in the result's ``se_method``.

Examples
--------
>>> from coachstats.trials import get_trial
>>> drop = get_trial("peer").effect("hba1c_drop")
>>> drop.p1, drop.p2, drop.arms[0].counts()
(0.496, 0.315, (60, 121))
>>> e = drop.estimate("risk difference")
>>> round(e.estimate, 4), round(e.std_error, 4), e.se_method
(0.1811, 0.0637, 'Wald SE from the printed counts 60/121 vs 34/108')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from coachstats.compare.proportions import normal_quantile, two_proportions
from coachstats.compare.summaries import pooled_sd
from coachstats.core.errors import OptionError, check_option
from coachstats.core.formatting import p_phrase
from coachstats.trials.printed import PrintedP, PrintedValue
from coachstats.trials.values import (
    Estimate,
    Mean,
    Origin,
    Proportion,
    std_error_from_p,
    std_error_from_sds,
)

__all__ = ["EFFECT_KINDS", "SE_SOURCES", "EffectKind", "PublishedEffect", "SESource"]

EffectKind = Literal["proportions", "means"]
#: What a published effect compares: two proportions, or two means.
EFFECT_KINDS: tuple[str, ...] = get_args(EffectKind)
SESource = Literal["auto", "counts", "p_value"]
#: Where :meth:`PublishedEffect.estimate` takes the standard error from.
SE_SOURCES: tuple[str, ...] = get_args(SESource)


def _sd_text(text: str) -> str:
    """The SD of a printed ``"mean (SD)"`` as printed (``"26.0"``)."""
    pv = PrintedValue.parse(text)
    return f"{pv.numbers().sd:.{pv.sd_decimals}f}"


@dataclass(frozen=True)
class PublishedEffect:
    """A published comparison of two arms (coaching first), in structured form.

    Attributes
    ----------
    key : str
        Its name among the planning inputs (``"hcpc_composite"``; the
        target's ``effect_key``), or ``"<trial>:<target>"``.
    label : str
        What is compared (the target's ``effect_label``, else its label).
    trial, target : str
        Where it is in the registry.
    outcome : str
        The outcome column of the target's analysis.
    kind : {"proportions", "means"}
        What the arms' figures are.
    arms : tuple of Proportion or Mean
        Coaching, then usual care, each with its origins.
    p : PrintedP
        The P value as printed.
    difference : Estimate or None
        The difference as printed (with its SE from the printed P or CI),
        None when only the arms were printed.
    p_tests_values : bool
        False when the printed P comes from another analysis than the arms'
        figures (the target has a separate ``values_analysis``).
    p_location : str
        Where the P was printed (empty when not recorded).
    citation : str
        The paper.
    months : int
        Follow-up of the trial.
    """

    key: str
    label: str
    trial: str
    target: str
    outcome: str
    kind: EffectKind
    arms: tuple[Proportion, Proportion] | tuple[Mean, Mean]
    p: PrintedP
    difference: Estimate | None = None
    p_tests_values: bool = True
    p_location: str = ""
    citation: str = ""
    months: int = 0

    def __post_init__(self) -> None:
        check_option("kind", self.kind, EFFECT_KINDS)
        want = Proportion if self.kind == "proportions" else Mean
        if len(self.arms) != 2 or not all(isinstance(a, want) for a in self.arms):
            raise OptionError(
                f"{self.trial}:{self.target}: a published effect of {self.kind} needs two "
                f"{want.__name__} values, got {self.arms!r}"
            )

    # ------------------------------------------------------------------ the figures
    @property
    def values(self) -> tuple[float, float]:
        """The arms' proportions (0-1) or means."""
        a, b = self.arms
        if isinstance(a, Proportion) and isinstance(b, Proportion):
            return a.share, b.share
        return cast(Mean, a).mean, cast(Mean, b).mean

    @property
    def texts(self) -> tuple[str, str]:
        """The arms' figures as printed."""
        return self.arms[0].text, self.arms[1].text

    @property
    def sds(self) -> tuple[float, float]:
        """The arms' printed SDs (NaN for proportions, or when not printed)."""
        a, b = self.arms
        if isinstance(a, Mean) and isinstance(b, Mean):
            return a.sd, b.sd
        return math.nan, math.nan

    @property
    def n(self) -> tuple[int, int] | None:
        """The arms' n when printed or computed from printed figures (inferred n left out)."""
        a, b = self.arms
        if isinstance(a, Proportion) and isinstance(b, Proportion):
            ca, cb = a.counts(), b.counts()
            return (ca[1], cb[1]) if ca is not None and cb is not None else None
        if a.n is not None and b.n is not None:
            return a.n, b.n
        return None

    @property
    def events(self) -> tuple[int, int] | None:
        """The arms' events when printed or computed from printed figures."""
        a, b = self.arms
        if isinstance(a, Proportion) and isinstance(b, Proportion):
            ca, cb = a.counts(), b.counts()
            return (ca[0], cb[0]) if ca is not None and cb is not None else None
        return None

    @property
    def inferred_counts(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """``((events, n), (events, n))`` inferred in the registry (not published), if any."""
        a, b = self.arms
        if not (isinstance(a, Proportion) and isinstance(b, Proportion)):
            return None
        if a.counts() is not None and b.counts() is not None:
            return None
        ca, cb = a.counts(inferred=True), b.counts(inferred=True)
        return (ca, cb) if ca is not None and cb is not None else None

    # ------------------------------------------------------------------ planning inputs
    @property
    def p1(self) -> float:
        """Coaching arm proportion (NaN for means)."""
        return self.values[0] if self.kind == "proportions" else math.nan

    @property
    def p2(self) -> float:
        """Usual-care proportion (NaN for means)."""
        return self.values[1] if self.kind == "proportions" else math.nan

    @property
    def delta(self) -> float:
        """Difference of the printed arm means, coaching minus usual care (NaN for proportions)."""
        return self.values[0] - self.values[1] if self.kind == "means" else math.nan

    @property
    def sd(self) -> float:
        r"""SD pooled from the printed arm SDs and n (:func:`~coachstats.compare.summaries.pooled_sd`).

        NaN for proportions, or when the SDs or the n were not published.
        """
        n = self.n
        (s1, s2) = self.sds
        if self.kind != "means" or n is None or not (math.isfinite(s1) and math.isfinite(s2)):
            return math.nan
        return pooled_sd(s1, n[0], s2, n[1])

    @property
    def source(self) -> str:
        """The paper, the follow-up and where the figures were printed (when recorded)."""
        where = sorted({o.location for a in self.arms for o in a.origins.values() if o.location})
        text = f"{self.citation} ({self.months} months)"
        return text + (f"; {', '.join(where)}" if where else "")

    @property
    def note(self) -> str:
        """How the planning inputs follow from the printed figures.

        Examples
        --------
        >>> from coachstats.trials import get_trial
        >>> get_trial("peer").effect("ldl_change").note
        'SD pooled from the printed arm SDs and n: 41.4 (n 107) and 52.7 (n 96); not significant in the trial (P = .83).'
        """
        parts: list[str] = []
        n = self.n
        if self.kind == "means" and n is not None and math.isfinite(self.sd):
            s1, s2 = (_sd_text(t) for t in self.texts)
            parts.append(
                f"SD pooled from the printed arm SDs and n: {s1} (n {n[0]}) and {s2} (n {n[1]})"
            )
        elif self.kind == "means":
            parts.append("SDs or n not published: no pooled SD")
        counts = self.events
        if self.kind == "proportions" and counts is not None and n is not None:
            parts.append(f"{counts[0]}/{n[0]} vs {counts[1]}/{n[1]}")
        if self.p.kind == "not_significant" or (self.p.kind == "value" and self.p.value() > 0.05):
            parts.append(f"not significant in the trial ({p_phrase(self.p.text)})")
        return "; ".join(parts) + ("." if parts else "")

    # ------------------------------------------------------------------ effect and SE
    def estimands(self) -> tuple[str, ...]:
        """``("risk difference", "odds ratio")`` or ``("mean difference",)``."""
        if self.kind == "proportions":
            return ("risk difference", "odds ratio")
        return ("mean difference",)

    def estimate(
        self, estimand: str, *, se_source: SESource = "auto", conf_level: float = 0.95
    ) -> Estimate:
        """The published effect with its standard error and CI, and how they were obtained.

        The SE comes from, in this order (``se_source="auto"``):

        1. the printed counts (proportions: Wald SE of the risk difference,
           Woolf SE of the log odds ratio, as
           :func:`~coachstats.compare.proportions.two_proportions`), or the
           printed means, SDs and n (means: :math:`\\sqrt{s_1^2/n_1 + s_2^2/n_2}`);
        2. else the printed P value (:meth:`~coachstats.trials.printed.PrintedP.std_errors`),
           with the range of SEs the P's rounding allows.

        ``se_source="p_value"`` prefers the P (when usable); ``"counts"`` also
        accepts counts inferred in the registry (not published).

        Raises
        ------
        OptionError
            An estimand that does not fit the figures, or an unknown ``se_source``.
        AnalysisError
            No counts or means with SDs and n, and no usable P (or a zero
            estimate with only a P).

        Examples
        --------
        >>> from coachstats.trials import get_trial
        >>> e = get_trial("hcpc").effect("composite_any").estimate("risk difference")
        >>> round(e.estimate, 3), e.se_method
        (0.121, 'SE = |estimate| / z(1 - P/2) from the printed P = .02 (rounding range 0.04975 to 0.05398)')
        """
        check_option("se_source", se_source, SE_SOURCES)
        check_option("estimand", estimand, self.estimands())
        z = normal_quantile(conf_level)
        log_scale = estimand == "odds ratio"
        by_p = se_source == "p_value" and self.p.usable
        location = {k: o.location for a in self.arms for k, o in a.origins.items() if o.location}
        if self.kind == "proportions":
            counts = self._counts(inferred=se_source == "counts")
            if counts is not None and not by_p:
                (x1, n1), (x2, n2), what = counts
                r = two_proportions(
                    x1,
                    n1,
                    x2,
                    n2,
                    estimand=cast(Any, estimand),
                    conf_level=conf_level,
                    outcome=self.outcome,
                )
                how = (
                    f"{'Woolf' if log_scale else 'Wald'} SE from the {what} counts "
                    f"{x1}/{n1} vs {x2}/{n2}"
                )
                if what == "printed" and self._computed_counts():
                    how += " (n computed from the printed events and percentages)"
                return self._estimate(
                    estimand, r.estimate, (r.std_error,) * 3, (r.conf_low, r.conf_high),
                    conf_level, log_scale, how, location.get("events", ""),
                )  # fmt: skip
            p1, p2 = self.values
            est = p1 - p2 if not log_scale else (p1 / (1 - p1)) / (p2 / (1 - p2))
        else:
            est = self.delta
            s1, s2 = self.sds
            if self.n is not None and math.isfinite(s1) and math.isfinite(s2) and not by_p:
                a, b = cast(tuple[Mean, Mean], self.arms)
                se, origin = std_error_from_sds(a, b)
                return self._estimate(
                    estimand, est, (se,) * 3, (est - z * se, est + z * se),
                    conf_level, log_scale, origin.detail, location.get("sd", ""),
                )  # fmt: skip
        scaled = math.log(est) if log_scale else est
        what = "log odds ratio" if log_scale else "estimate"
        (se, lo, hi), origin = std_error_from_p(scaled, self.p, what=what)
        ci = (scaled - z * se, scaled + z * se)
        if log_scale:
            ci = (math.exp(ci[0]), math.exp(ci[1]))
        how = origin.detail
        if not self.p_tests_values:
            how += "; the printed P comes from another analysis than these figures"
        return self._estimate(
            estimand, est, (se, lo, hi), ci, conf_level, log_scale, how, self.p_location
        )

    def _counts(self, *, inferred: bool) -> tuple[tuple[int, int], tuple[int, int], str] | None:
        """The arms' counts and how to describe them: printed, or inferred when allowed."""
        a, b = self.arms
        if not (isinstance(a, Proportion) and isinstance(b, Proportion)):
            return None
        ca, cb = a.counts(), b.counts()
        if ca is not None and cb is not None:
            return ca, cb, "printed"
        if inferred and self.inferred_counts is not None:
            ia, ib = self.inferred_counts
            return ia, ib, "inferred (not published)"
        return None

    def _computed_counts(self) -> bool:
        """True when an arm's events or n were computed from its printed percentage."""
        return any(
            o.derivation == "computed"
            for arm in self.arms
            for k, o in arm.origins.items()
            if k in ("events", "n")
        )

    def _estimate(
        self,
        estimand: str,
        estimate: float,
        se: tuple[float, float, float],
        ci: tuple[float, float],
        conf_level: float,
        log_scale: bool,
        how: str,
        location: str,
    ) -> Estimate:
        return Estimate(
            estimand,
            estimate,
            "",
            ci[0],
            ci[1],
            conf_level,
            self.p,
            se[0],
            se[1],
            se[2],
            log_scale,
            origins={
                "estimate": Origin("computed", location, "from the printed arm figures"),
                "ci": Origin("computed", location, "estimate +/- z x SE"),
                "std_error": Origin("computed", location, how),
                **({"p": Origin("printed", self.p_location)} if self.p.printed else {}),
            },
        )
