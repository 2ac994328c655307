"""The published effects as planning inputs, read from the trial registry.

Every two-arm target with an ``effect_key`` in a trial's TOML file is a
planning input (:func:`coachstats.trials.published_effects`); each number is
written once, there. :class:`PlanningEffect` is the registry's
:class:`~coachstats.trials.effects.PublishedEffect` with a :meth:`~PlanningEffect.plan`
method.

Examples
--------
>>> e = published_effect("hcpc_hba1c_goal")
>>> e.p1, e.p2, e.plan(power=0.8).n_required
(0.486, 0.276, (83, 83))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields, replace
from functools import cached_property
from typing import Any

import pandas as pd

from coachstats.core.errors import check_option
from coachstats.tasks.power.result import PowerResult
from coachstats.tasks.power.solvers import power_two_means, power_two_proportions
from coachstats.trials import registry as trials
from coachstats.trials.effects import PublishedEffect

__all__ = [
    "PUBLISHED_EFFECTS",
    "PlanningEffect",
    "PublishedEffect",
    "published_effect",
    "published_effects",
]


class PlanningEffect(PublishedEffect):
    """A :class:`~coachstats.trials.effects.PublishedEffect` that plans a study.

    The published effect of the registry (every number read from the trial's
    TOML file) with one method more, :meth:`plan`. Proportions are
    :attr:`~coachstats.trials.effects.PublishedEffect.p1` (coaching) and
    :attr:`~coachstats.trials.effects.PublishedEffect.p2`; means
    :attr:`~coachstats.trials.effects.PublishedEffect.delta` (coaching minus
    usual care) and the pooled
    :attr:`~coachstats.trials.effects.PublishedEffect.sd`;
    :attr:`~coachstats.trials.effects.PublishedEffect.note` says how they
    follow from the printed figures.
    """

    @classmethod
    def of(cls, effect: PublishedEffect) -> PlanningEffect:
        """The same effect, able to plan."""
        return cls(**{f.name: getattr(effect, f.name) for f in fields(effect)})

    def plan(self, **options: Any) -> PowerResult:
        """:func:`power_two_proportions` or :func:`power_two_means` on this effect.

        The result's ``basis`` says where the inputs come from (the paper, how they
        follow from its printed figures) and that the plan takes the published
        estimate as the true effect.

        Examples
        --------
        >>> r = published_effect("hcpc_composite").plan(power=0.8)
        >>> r.n_required
        (257, 257)
        >>> r.basis[0]
        'published: Willard-Grace R, et al. Ann Fam Med 2015;13:130-138. doi:10.1370/afm.1768 PMID 25755034 (12 months); abstract'
        """
        options.setdefault("outcome", self.label)
        if self.kind == "proportions":
            result = power_two_proportions(self.p1, self.p2, **options)
        else:
            result = power_two_means(self.delta, self.sd, **options)
        return replace(result, basis=self.basis())

    def __repr__(self) -> str:
        """One line: the published arms as printed, the printed P, and counts the registry
        inferred (not published); the dataclass repr ran to a screenful of nested fields.

        Examples
        --------
        >>> published_effect("hcpc_composite")
        <PlanningEffect hcpc_composite: At goal for >= 1 condition, hcpc at 12 months: 46.4 % vs 34.3 %, P .02; counts 90/194 vs 61/178 inferred, not published>
        """
        text = (
            f"<PlanningEffect {self.key}: {self.label}, {self.trial} at {self.months} months: "
            f"{' vs '.join(self.texts)}, P {self.p.text}"
        )
        inferred = self.inferred_counts
        if inferred is not None:
            (e1, n1), (e2, n2) = inferred
            text += f"; counts {e1}/{n1} vs {e2}/{n2} inferred, not published"
        elif self._computed_counts():
            counts = " vs ".join(f"{getattr(a, 'events', '?')}/{a.n}" for a in self.arms)
            text += f"; {counts}: n computed from the printed count and %"
        if not self.p_tests_values:
            text += "; the printed P is from another analysis than these figures"
        return text + ">"

    def basis(self) -> tuple[str, ...]:
        """Where the planning inputs come from and what planning on them assumes."""
        return (
            f"published: {self.source}",
            *((f"derived: {self.note}",) if self.note else ()),
            "assumed: the true effect is the published estimate (one trial's estimate, with "
            "its own uncertainty: a smaller true effect needs more patients)",
        )


class _PublishedEffects(Mapping[str, PlanningEffect]):
    """The planning inputs by key, read from the trial registry on first use."""

    @cached_property
    def _effects(self) -> dict[str, PlanningEffect]:
        return {e.key: PlanningEffect.of(e) for e in trials.published_effects()}

    def __getitem__(self, key: str) -> PlanningEffect:
        return self._effects[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._effects)

    def __len__(self) -> int:
        return len(self._effects)

    def __repr__(self) -> str:
        return f"PUBLISHED_EFFECTS({list(self)})"


#: The planning inputs by key (a read-only mapping): every two-arm target of the registry
#: with an ``effect_key``, in registry order (:func:`coachstats.trials.published_effects`).
PUBLISHED_EFFECTS: Mapping[str, PlanningEffect] = _PublishedEffects()


def published_effect(key: str) -> PlanningEffect:
    r"""The planning inputs of one published effect (see :func:`published_effects`).

    Read from the trial registry (:func:`coachstats.trials.published_effect`):
    the proportions are the printed arm percentages; a mean difference is the
    difference of the printed arm means, with the SD pooled from the printed
    arm SDs weighted by the analysed n (:func:`pooled_sd`): for the peer HbA1c
    change, :math:`\sqrt{(121 \cdot 2.8^2 + 113 \cdot 3.1^2)/234} = 2.949`.

    Examples
    --------
    >>> e = published_effect("peer_hba1c_change")
    >>> round(e.delta, 2), round(e.sd, 3)
    (-0.77, 2.949)
    >>> published_effect("hcpc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: key='hcpc' is not allowed; choose one of 'hcpc_composite', ...
    """
    check_option("key", key, tuple(PUBLISHED_EFFECTS))
    return PUBLISHED_EFFECTS[key]


def published_effects() -> pd.DataFrame:
    """All published effects, one row each.

    Columns ``key``, ``label``, ``kind`` (``"proportions"`` or ``"means"``),
    ``p1``, ``p2``, ``delta``, ``sd``, ``source`` (the paper, and where the
    figures were printed when the registry knows it), ``note`` (how the
    inputs follow from the printed figures), ``trial`` and ``target`` (where
    they are in the registry).

    Examples
    --------
    >>> tab = published_effects()
    >>> tab.loc[tab["key"] == "hcpc_composite", ["p1", "p2"]].to_numpy().tolist()
    [[0.464, 0.343]]
    """
    rows = [
        {
            "key": e.key,
            "label": e.label,
            "kind": e.kind,
            "p1": e.p1,
            "p2": e.p2,
            "delta": e.delta,
            "sd": e.sd,
            "source": e.source,
            "note": e.note,
            "trial": e.trial,
            "target": e.target,
        }
        for e in PUBLISHED_EFFECTS.values()
    ]
    return pd.DataFrame(rows)
