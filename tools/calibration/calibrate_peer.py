"""Seeded search for the unpublished parameters of the peer-trial cohort.

The peer paper prints P values of linear mixed models (random intercept for
clinic), which depend on quantities it does not print: the between-clinic
variance of each change and (for HbA1c below 7.5 %) how many patients crossed
7.5 % in either direction. :func:`search` finds values of these parameters for
which the registry's own analysis plan (``coachstats.trials`` "peer", run by
:func:`coachstats.plan.run_plan`) gives every printed **unadjusted** P value at
the printed precision on the cohort of :func:`coachstats.synthetic.peer.build`
at the default seed.

**What it reads** is :data:`READS`: the registry targets whose printed figures
enter the loss. The adjusted figures (``*_adj``) are *held out*: no step of
the search reads them, and the covariate effects that would move them (``A``,
``B``, ``k_drop``) are not searched but fixed at zero (:data:`FIXED`: the
covariates are assumed unrelated to the 6-month changes, since the paper
publishes nothing about their effects). Whether the cohort then gives the
printed adjusted estimates and P values is a test of the cohort, reported by
``coachstats reproduce`` as "held-out k of n reproduced";
``tests/test_calibration_reads.py`` checks that no held-out target is read here.

The search, per outcome (HbA1c, SBP, LDL, BMI):

1. the targets are read from the registry (:data:`TARGETS`, the unadjusted
   figures only): each printed P ``".01"`` becomes the interval [.005, .015),
   a printed estimate such as ``"-0.77"`` the interval [-0.775, -0.765); the
   loss is the sum of squared distances to the middle 80 % of each interval, on
   the z scale for P values (zero when every target is comfortably inside);
2. Nelder-Mead (scipy) minimizes the loss over the continuous parameters of
   :data:`KNOBS` (``lam``, the between-clinic SD of the change, and for HbA1c
   ``k_lt``), starting from the values in
   :data:`~coachstats.synthetic.peer.CALIBRATION` and restarted from its best
   point with a halved simplex while it improves (``A``, ``B`` and ``k_drop``
   stay at their :data:`FIXED` zeros);
3. HbA1c also loops over the discrete transitions across 7.5 % (``trans``),
   and every outcome over the noise substream (``offset`` 0, 1, 2, ...) until
   the loss is zero.

Run ``python -m tools.calibration.calibrate_peer`` to repeat the search
(a few minutes); it prints the parameters to paste into ``CALIBRATION`` and
checks them with ``coachstats.tasks.reproduce``. ``python -m
tools.calibration.calibrate_peer check`` only checks the stored ones.

Examples
--------
>>> from coachstats.synthetic.peer import CALIBRATION
>>> loss("sbp", CALIBRATION)
0.0
"""

from __future__ import annotations

import copy
import itertools
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize, stats

from coachstats.core.errors import CoachstatsError
from coachstats.plan import AnalysisPlan, run_plan
from coachstats.synthetic.peer import CALIBRATION, DEFAULT_SEED, N_RANDOMIZED, build
from coachstats.trials import get_trial

__all__ = ["FIXED", "KNOBS", "LAM_MAX", "READS", "TARGETS", "loss", "search", "targets"]

#: Registry targets whose printed P value (and estimate) each outcome's search reads.
TARGETS: dict[str, tuple[str, ...]] = {
    "hba1c": ("hba1c_change", "hba1c_lt_7_5"),
    "sbp": ("sbp_change",),
    "ldl": ("ldl_change",),
    "bmi": ("bmi_change",),
}
#: Every registry target this script reads, as ``"trial:target"``, by how the cohort then holds
#: it (the searched P values are tuned; see the module docstring).
READS: dict[str, tuple[str, ...]] = {
    "tuned": tuple(f"peer:{t}" for ts in TARGETS.values() for t in ts)
}
#: Continuous parameters searched per outcome.
KNOBS: dict[str, tuple[str, ...]] = {
    "hba1c": ("lam", "k_lt"),
    "sbp": ("lam",),
    "ldl": ("lam",),
    "bmi": ("lam",),
}
#: Parameters not searched: the covariate effects, which only the held-out adjusted figures
#: would inform, are fixed at zero (the covariates do not relate to the changes).
FIXED: dict[str, dict[str, float]] = {
    "hba1c": {"A": 0.0, "B": 0.0, "k_drop": 0.0},
    "sbp": {"A": 0.0, "B": 0.0},
    "ldl": {"A": 0.0, "B": 0.0},
    "bmi": {"A": 0.0, "B": 0.0},
}
#: Upper bound of ``lam`` (the between-clinic SD of the change): 90 % of the smaller printed
#: patient-level SD of the change (HbA1c 2.8; SBP 22.3; LDL 41.4; BMI: the assumed 1.5). A
#: larger clinic SD would make the patients of one clinic nearly alike (a clinic where every
#: patient's HbA1c drops, or none does), which no trial of 6 clinics shows.
LAM_MAX: dict[str, float] = {
    "hba1c": 0.9 * 2.8,
    "sbp": 0.9 * 22.3,
    "ldl": 0.9 * 41.4,
    "bmi": 0.9 * 1.5,
}
#: Share of each printed interval aimed at (its middle part), for a margin.
MARGIN = 0.8
TRANSITIONS: tuple[tuple[int, int], ...] = ((4, 6), (5, 7), (5, 6), (4, 7), (3, 6), (4, 5), (3, 5))


def _interval(printed: str, decimals: int) -> tuple[float, float]:
    value = float(printed.replace("\u2212", "-"))
    half = 0.5 * 10.0**-decimals
    return value - half, value + half


def targets(outcome: str) -> list[tuple[str, str, float, float]]:
    """(target id, "p" or "estimate", low, high) for one outcome, from the registry.

    Examples
    --------
    >>> targets("sbp")
    [('sbp_change', 'p', 0.055, 0.065)]
    """
    trial = get_trial("peer")
    out = []
    for tid in TARGETS[outcome]:
        t = trial.target(tid)
        pp = t.printed_p()
        if pp.kind == "value":
            lo, hi = _interval(t.p, pp.decimals)
            out.append((tid, "p", round(lo, 10), round(hi, 10)))
        pd_ = t.printed_difference()
        if pd_.printed and t.difference_source == "estimate" and "difference" not in t.unreachable:
            lo, hi = _interval(t.difference, pd_.decimals)
            out.append((tid, "estimate", round(lo, 10), round(hi, 10)))
    return out


def _z(p: float) -> float:
    return float(stats.norm.isf(min(max(p, 1e-12), 1.0) / 2.0))


def evaluate(
    calibration: Mapping[str, Mapping[str, Any]], outcome: str, *, seed: int = DEFAULT_SEED
) -> dict[str, tuple[float, float]]:
    """(P value, estimate) of each target of ``outcome`` on the cohort built with ``calibration``."""
    cohort = build(seed, N_RANDOMIZED, calibration)
    trial = get_trial("peer")
    specs = [trial.target(tid).analysis for tid in TARGETS[outcome]]
    res = run_plan(cohort.patients, AnalysisPlan(specs, goals=trial.goals))
    return {
        s.label: (r.p_value, r.estimate)
        for s, r in zip(specs, res.results, strict=True)
        if r is not None
    }


def loss(outcome: str, calibration: Mapping[str, Mapping[str, Any]]) -> float:
    """Squared distance of the results to the middle of each printed interval (0 = all inside)."""
    try:
        got = evaluate(calibration, outcome)
    except CoachstatsError:
        return 1e6
    total = 0.0
    for tid, kind, lo, hi in targets(outcome):
        p, est = got[tid]
        if kind == "p":
            a, b, x = *sorted((_z(lo), _z(hi))), _z(p)
        else:
            a, b, x = lo, hi, est
            a, b, x = a * 100, b * 100, x * 100  # hundredths of a unit
        mid, half = (a + b) / 2, MARGIN * (b - a) / 2
        total += max(0.0, abs(x - mid) - half) ** 2 / max(half, 1e-9) ** 2
    return float(total)


def _with(
    calibration: Mapping[str, Mapping[str, Any]], outcome: str, values: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    out = copy.deepcopy({k: dict(v) for k, v in calibration.items()})
    out[outcome].update(values)
    return out


def search(
    outcome: str,
    start: Mapping[str, Mapping[str, Any]] = CALIBRATION,
    *,
    max_offset: int = 12,
    verbose: bool = True,
) -> dict[str, Any]:
    """Parameters of one outcome giving every printed P and estimate (see module docstring)."""
    knobs = KNOBS[outcome]
    base = {**start[outcome], **FIXED[outcome]}
    discrete: Sequence[dict[str, Any]] = [{}]
    if outcome == "hba1c":
        first = tuple(base["trans"])
        discrete = [{"trans": t} for t in (first, *[t for t in TRANSITIONS if t != first])]
    for offset, extra in itertools.product(range(max_offset), discrete):
        trial = {**base, **extra, "offset": offset}
        x0 = np.array([float(trial[k]) for k in knobs])

        def f(x: np.ndarray, trial: dict[str, Any] = trial) -> float:
            values = {**trial, **{k: float(v) for k, v in zip(knobs, x, strict=True)}}
            if "lam" in values and not 0 <= values["lam"] <= LAM_MAX[outcome]:
                return 1e6
            return loss(outcome, _with(start, outcome, values))

        best, value = x0, f(x0)
        size = 0.25
        for _ in range(4):  # Nelder-Mead, restarted from the best point with a smaller simplex
            if value == 0.0:
                break
            simplex = [best] + [
                best + np.eye(len(best))[i] * max(size * abs(best[i]), 0.02)
                for i in range(len(best))
            ]
            res = optimize.minimize(
                f,
                best,
                method="Nelder-Mead",
                options={
                    "initial_simplex": np.array(simplex),
                    "maxfev": 300,
                    "xatol": 1e-4,
                    "fatol": 0.0,
                },
            )
            if res.fun >= value:
                break
            best, value, size = res.x, float(res.fun), size / 2
        value = f(best)
        if verbose:
            print(
                f"{outcome} offset={offset} {extra} loss={value:.4g} "
                f"{dict(zip(knobs, np.round(best, 4).tolist(), strict=True))}",
                file=sys.stderr,
            )
        if value == 0.0:
            found = {**trial, **{k: round(float(v), 4) for k, v in zip(knobs, best, strict=True)}}
            if loss(outcome, _with(start, outcome, found)) == 0.0:  # survives the rounding
                return found
    raise CoachstatsError(f"no parameters found for {outcome} within {max_offset} offsets")


def main(argv: Sequence[str] | None = None) -> int:
    """Search every outcome (or only ``check``) and print the CALIBRATION dict."""
    args = list(sys.argv[1:] if argv is None else argv)
    cal = {k: dict(v) for k, v in CALIBRATION.items()}
    if not args or args[0] != "check":
        outcomes = args or list(TARGETS)
        for outcome in outcomes:
            cal[outcome] = search(outcome, cal)
        print("CALIBRATION = {")
        for k, v in cal.items():
            print(f"    {k!r}: {v!r},")
        print("}")
    bad = {o: loss(o, cal) for o in TARGETS}
    print("loss per outcome:", bad)
    return 0 if all(v == 0.0 for v in bad.values()) and not math.isnan(sum(bad.values())) else 1


if __name__ == "__main__":
    raise SystemExit(main())
