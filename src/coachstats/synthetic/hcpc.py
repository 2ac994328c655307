"""Seeded synthetic cohort of the HCPC trial (health coaching by medical assistants).

:func:`hcpc_cohort` generates patient-level raw data with the design of
Willard-Grace et al. (2015) and calibrated so that the project's own analysis
(:func:`~coachstats.derive.endpoints.derive_endpoints`, then the comparisons) recovers
the published figures:

* design: 441 randomized, 224 coaching / 217 usual care, sites A (332) and B
  (109), 3 coaches, 17 clinicians; 30 coaching and 39 usual-care patients
  have no 12-month measurement;
* the 12-month counts of the coherent inferred set in ``published.md``
  (>= 1 goal 90/194 vs 61/178, all goals 66/194 vs 44/178, HbA1c 34/70 vs
  21/76, LDL at site A 33/79 vs 16/63) exactly, plus SBP 38/80 vs 32/74
  (assumed; P = .60, not significant as published);
* baseline distributions at the printed precision (means and SDs, per-site
  means, percentages as exact counts);
* the 24-month paired counts of the coaching arm;
* the secondary papers: medication concordance and adherent days (Thom 2015),
  trust and "would highly recommend the PCP" (Thom 2014), PACIC and
  "definitely recommend the clinic" (Thom 2015), clinicians' visit ratings
  (Dube 2015) -- means and counts exact, model-based P values tuned by
  `tools/calibration/calibrate_hcpc.py`.

The generator writes **raw** values only (lab values, item responses,
medication lists), never a derived endpoint: which patient is at goal is
decided first by exact assignment, then lab values are drawn on the right side
of each threshold (truncated normals) and rounded to laboratory precision
(HbA1c 0.1 %, SBP and LDL whole units), so the analysis recovers the counts
from the values alone. Assumptions and the inference behind every count are in
``docs/synthetic.md``.

``n`` other than 441 (any ``n >= MIN_N``, 50) keeps the design's
proportions: the arm, arm x site and follow-up totals are apportioned level by
level and the design cells are then balanced so that the conditions, goals
and composites of every arm and site stay within about one patient of their
shares (:func:`~coachstats.synthetic.counts.balanced_counts`). Means and SDs are matched exactly
whenever the group's bounds allow it; in small groups (say, the few patients
at site B uncontrolled on LDL, whose values must stay above their entry
thresholds) the mean is kept and the SD comes as close as the bounds allow
(``match_moments(..., infeasible="closest")``), and a
:class:`~coachstats.core.errors.CoachstatsWarning` names any printed figure that is
then missed.

References
----------
Willard-Grace R, Chen EH, Hessler D, et al. Health coaching by medical
assistants to improve control of diabetes, hypertension, and hyperlipidemia in
low-income patients: a randomized controlled trial. Ann Fam Med
2015;13:130-138. doi:10.1370/afm.1768

Examples
--------
>>> c = hcpc_cohort()
>>> c.patients.groupby("arm").size().to_dict()
{'coaching': 224, 'usual_care': 217}
>>> from coachstats.derive.endpoints import derive_endpoints
>>> from coachstats.core.goals import HCPC_GOALS
>>> ep = derive_endpoints(c.patients, HCPC_GOALS)
>>> ep.groupby("arm")["composite_any"].agg(["sum", "count"]).to_numpy().tolist()
[[90, 194], [61, 178]]
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import CoachstatsWarning
from coachstats.synthetic.common import (
    ARMS,
    BoolArray,
    FloatArray,
    IntArray,
    check_seed,
    check_size,
    design_columns,
    int_array,
)
from coachstats.synthetic.counts import (
    apportioned_labels,
    largest_remainder,
)
from coachstats.synthetic.hcpc_secondary import (
    medication_tables,
    questionnaire_columns,
    visit_rating_table,
)
from coachstats.synthetic.hcpc_spec import (
    BASELINE,
    CLINICIANS,
    COACHES,
    COVARIATES,
    DEFAULT_SEED,
    DIAGNOSED_CONTROLLED,
    INSULIN_SHARE,
    LAB_DECIMALS,
    LAB_RANGE,
    MEASURES,
    MIN_N,
    N_RANDOMIZED,
    SITE_COUNTS,
    SITES,
    Design,
    Moments,
    draw_design,
    seeded_rng,
)
from coachstats.synthetic.moments import (
    group_targets,
    match_moments,
    round_exact_mean,
    truncated_normal,
)
from coachstats.synthetic.tables import (
    ColumnBuilder,
    Format,
    TableSource,
    WriteProgress,
    array_column,
    label_array,
    label_column,
    write_tables,
)

__all__ = ["PATIENT_COLUMNS", "HcpcCohort", "base_cohort", "hcpc_cohort"]


def _per_site(
    rng: np.random.Generator,
    site: IntArray,
    spec: Mapping[str, Mapping[Any, float]],
    out: npt.NDArray[Any],
    within: BoolArray | None = None,
) -> npt.NDArray[Any]:
    """``out`` with labels of the per-site counts of ``spec`` (:func:`apportioned_labels`).

    Site by site, the patients of the site (and of ``within``) get the labels
    of ``spec[site]`` with counts scaled to their number; ``out`` keeps its
    values elsewhere.
    """
    for s, name in enumerate(SITES):
        idx = np.flatnonzero(site == s if within is None else (site == s) & within)
        out[idx] = apportioned_labels(rng, spec[name], idx.size)
    return out


def _site_exact(
    rng: np.random.Generator, site: IntArray, spec: Mapping[str, Mapping[str, int]]
) -> npt.NDArray[np.object_]:
    """Labels with the per-site counts of ``spec`` (scaled to each site's size)."""
    return _per_site(rng, site, spec, np.empty(site.size, dtype=object))


def _exact_share(rng: np.random.Generator, mask: BoolArray, share: float) -> BoolArray:
    """Boolean with exactly ``round(share * mask.sum())`` True values inside ``mask``."""
    idx = np.flatnonzero(mask)
    k = int(largest_remainder([share, 1 - share], idx.size)[0])
    out = np.zeros(mask.size, dtype=bool)
    out[rng.choice(idx, size=k, replace=False)] = True
    return out


def _sd_tolerance(spec: Moments) -> float:
    """How far the written values' SD may be from the printed one (a fifth of a printed unit)."""
    return 0.2 * 10.0**-spec.printed


def _nudged(spec: Moments, sd: float, written: Callable[[float], FloatArray]) -> FloatArray:
    """``written(sd)``, with ``sd`` nudged until the values' SD is within tolerance of ``spec.sd``.

    Rounding to the written precision (and the floor of a bounded variable)
    moves the SD a little, so the SD asked of the continuous values is scaled
    by printed / written SD until the written values' SD is within
    :func:`_sd_tolerance` of the printed one (at most ``_SD_ITERATIONS`` tries;
    if none is within it, as when the bounds cap the SD of a small group, the
    closest try is kept).
    """
    out = written(sd)
    best, best_gap = out, np.inf
    for tries in range(1, _SD_ITERATIONS + 1):
        got = float(out.std(ddof=1)) if out.size > 1 else np.nan
        gap = abs(got - spec.sd)
        if gap <= _sd_tolerance(spec):
            return out
        if gap < best_gap:
            best, best_gap = out.copy(), gap
        if tries == _SD_ITERATIONS or not got > 0:  # out of tries, or no spread to scale
            break
        sd *= spec.sd / got
        out = written(sd)
    return best


def _matched_values(
    spec: Moments, draw: FloatArray, mean: float, sd: float, lower: FloatArray | float | None
) -> FloatArray:
    """``draw`` with ``mean`` and ``sd``, rounded to the written precision (mean kept).

    Exact whenever the bounds allow it; otherwise (a small group, say, whose
    entry thresholds cap the SD) as close as they allow
    (``match_moments(..., infeasible="closest")``).
    """
    x = match_moments(draw, mean, sd, lower=lower, upper=spec.upper, infeasible="closest")
    return round_exact_mean(x, spec.decimals, mean=mean, lower=lower, upper=spec.upper)


def _check_written(
    name: str,
    spec: Moments,
    values: FloatArray,
    targets: Sequence[float],
    group: IntArray | None = None,
) -> None:
    """Warn when the written values miss a target mean or no longer print the published SD.

    Small groups can make this happen: values stay inside their bounds (entry
    thresholds, plausible ranges) and on the written grid, and a few dozen of
    them cannot always be given both the printed mean and SD.

    A reachable mean is met to within half a grid step over the group size
    (:func:`~._common.round_exact_mean`); the SD is aimed at
    :func:`_sd_tolerance` and warned about only when it no longer prints as
    published (off by more than half a printed unit).
    """
    step = 10.0**-spec.decimals
    sizes, means = [], []
    for g, target in enumerate(targets):
        v = values if group is None else values[group == g]
        sizes.append(v.size)
        if v.size and abs(float(v.mean()) - target) > step / (2 * v.size) + 1e-9:
            means.append(f"{float(v.mean()):.4g} for {target:.4g}")
    got_sd = float(values.std(ddof=1)) if values.size > 1 else np.nan
    sd_missed = not abs(got_sd - spec.sd) <= 0.5 * 10.0**-spec.printed + 1e-9
    if means or sd_missed:
        warnings.warn(
            f"{name}: groups of {sizes} patients are too small for the printed figures inside "
            f"the values' bounds and grid; written as close as they allow (means "
            f"{', '.join(means) or 'met'}; SD {got_sd:.4g} for {spec.sd})",
            CoachstatsWarning,
            stacklevel=2,
        )


def _matched(name: str, spec: Moments, draw: FloatArray) -> FloatArray:
    """Exact mean and SD, rounded to the written precision with the mean kept (SD nudged)."""
    out = _nudged(spec, spec.sd, lambda sd: _matched_values(spec, draw, spec.mean, sd, spec.lower))
    _check_written(name, spec, out, [spec.mean])
    return out


def _group_matched(
    name: str,
    spec: Moments,
    draw: FloatArray,
    group: IntArray,
    *,
    strict: bool,
    lower: FloatArray | float | None = None,
) -> FloatArray:
    """Per-group exact means (reconciled with the overall mean) and the overall SD.

    ``lower`` overrides ``spec.lower`` (per-element entry thresholds for labs).
    As in :func:`_matched`, the common within-group SD is nudged until the
    written values' overall SD is within :func:`_sd_tolerance` of the printed one.
    A group whose bounds cap its SD then leaves the others to carry more of it.
    """
    counts = [int((group == g).sum()) for g in range(len(spec.site_means))]
    means, within = group_targets(
        spec.mean, spec.sd, spec.site_means, counts, decimals=spec.printed, strict=strict
    )
    low = spec.lower if lower is None else lower
    out = np.empty(draw.size)

    def written(sd: float) -> FloatArray:
        for g, m in enumerate(means):
            idx = np.flatnonzero(group == g)
            lo = None if low is None else np.broadcast_to(low, draw.shape)[idx]
            out[idx] = _matched_values(spec, draw[idx], float(m), sd, lo)
        return out

    values = _nudged(spec, within, written)
    _check_written(name, spec, values, [float(m) for m in means], group)
    return values


_SD_ITERATIONS = 20


def _covariates(rng: np.random.Generator, d: Design) -> dict[str, Any]:
    n = d.arm.size
    site = d.site
    cols: dict[str, Any] = {}
    # clinicians: exact panel sizes within site (codes 0 = C01 ...)
    names = [c for s in SITES for c in CLINICIANS[s]]
    panels = {s: {names.index(c): w for c, w in CLINICIANS[s].items()} for s in SITES}
    clin = _per_site(rng, site, panels, np.empty(n, dtype=np.int64))
    cols["_clinician"] = clin
    cols["clinician_id"] = np.array(names, dtype=object)[clin]
    cols["coach_id"] = _per_site(
        rng, site, COACHES, np.full(n, None, dtype=object), within=d.arm == 0
    )
    cols["diabetes"] = d.diabetes.copy()
    for k, cond in ((1, "hypertension"), (2, "hyperlipidemia")):
        unc = d.uncontrolled[:, k]
        cols[cond] = unc | _exact_share(rng, ~unc, DIAGNOSED_CONTROLLED[cond])
    age = truncated_normal(rng, 52.7, 11.1, 18, 75, size=n)
    cols["age"] = _matched("age", COVARIATES["age"], age).astype(np.int64)
    cols["sex"] = _site_exact(rng, site, SITE_COUNTS["sex"])
    eth = _site_exact(rng, site, SITE_COUNTS["ethnicity"])
    spanish = SITE_COUNTS["spanish_among_latino"]
    lang = np.empty(n, dtype=object)
    lang.fill("english")  # one shared object (np.full would make a copy of the text per row)
    cols["language"] = _per_site(rng, site, spanish, lang, within=eth == "latino")
    cols["ethnicity"] = eth
    cols["marital_status"] = _site_exact(rng, site, SITE_COUNTS["marital_status"])
    cols["work_status"] = _site_exact(rng, site, SITE_COUNTS["work_status"])
    cols["insulin"] = _exact_share(rng, d.diabetes, INSULIN_SHARE)
    bmi = truncated_normal(rng, 31.4, 6.7, 16, 65, size=n)
    cols["bmi_0"] = _matched("bmi_0", COVARIATES["bmi_0"], bmi)
    mu, var = 5.4, 4.1**2
    r = mu**2 / (var - mu)
    visits = rng.negative_binomial(r, r / (r + mu), size=n).astype(float)
    visits += rng.uniform(-0.45, 0.45, n)  # untie the counts, so the SD can be matched smoothly
    cols["pcp_visits"] = _matched("pcp_visits", COVARIATES["pcp_visits"], visits).astype(np.int64)
    # coaching dose (coached patients only)
    coached = np.flatnonzero(d.arm == 0)
    contacts = np.full(n, np.nan)
    minutes = np.full(n, np.nan)
    if coached.size > 1:
        raw = rng.gamma(2.5, 1.0, coached.size) * np.where(site[coached] == 0, 1.9, 1.0)
        contacts[coached] = _group_matched(
            "coach_contacts", COVARIATES["coach_contacts"], raw, site[coached], strict=d.exact
        )
        per_contact = rng.gamma(16.0, 43.6 / 16.0, coached.size)
        raw_min = contacts[coached] * per_contact + rng.gamma(2.0, 10.0, coached.size)
        minutes[coached] = _matched("coaching_minutes", COVARIATES["coaching_minutes"], raw_min)
    cols["coach_contacts"] = int_array(contacts)
    cols["coaching_minutes"] = int_array(minutes)
    return cols


def _entry(measure: str, diabetes: BoolArray) -> FloatArray:
    """Entry threshold per patient (uncontrolled at or above it, on the lab grid)."""
    if measure == "hba1c":
        return np.full(diabetes.shape, 8.1)  # > 8.0 at 0.1 precision
    if measure == "sbp":
        return np.where(diabetes, 130.0, 140.0)
    return np.where(diabetes, 100.0, 160.0)


def _goal_top(measure: str, diabetes: BoolArray) -> FloatArray:
    """Largest at-goal value on the lab grid."""
    return _entry(measure, diabetes) - (0.1 if measure == "hba1c" else 1.0)


#: Shapes of the draws (no published targets): at-goal values, values above goal.
_AT_GOAL = {"hba1c": (7.2, 0.6), "sbp": (-11.0, 8.0), "ldl": (-25.0, 18.0)}


_ABOVE_GOAL_SHIFT = {"hba1c": (-0.3, 1.0), "sbp": (-4.0, 12.0), "ldl": (-8.0, 25.0)}


_CONTROLLED_NOISE = {"hba1c": 0.5, "sbp": 11.0, "ldl": 20.0}


_BASELINE_DRAW = {  # initial shapes before moment matching, uncontrolled
    "hba1c": (9.7, 1.5),
    "sbp": (156.0, 14.0),
    "ldl": (140.0, 30.0),
}


def _followup_values(
    rng: np.random.Generator,
    measure: str,
    base: FloatArray,
    diabetes: BoolArray,
    uncontrolled: BoolArray,
    at_goal: BoolArray,
    measured: BoolArray,
) -> FloatArray:
    """Follow-up values on the side of the threshold that ``at_goal`` asks for."""
    lo_r, hi_r = LAB_RANGE[measure]
    dec = LAB_DECIMALS[measure]
    entry = _entry(measure, diabetes)
    top = _goal_top(measure, diabetes)
    n = base.size
    out = np.full(n, np.nan)
    g = measured & uncontrolled & at_goal
    m, s = _AT_GOAL[measure]
    centre = np.full(n, m) if measure == "hba1c" else entry + m
    out[g] = truncated_normal(rng, centre[g], s, lo_r, top[g])
    a = measured & uncontrolled & ~at_goal
    shift, s2 = _ABOVE_GOAL_SHIFT[measure]
    out[a] = truncated_normal(rng, base[a] + shift, s2, entry[a], hi_r)
    c = measured & ~uncontrolled & ~np.isnan(base)
    out[c] = np.clip(base[c] + rng.normal(0.0, _CONTROLLED_NOISE[measure], c.sum()), lo_r, hi_r)
    return np.clip(np.round(out, dec), lo_r, hi_r)


def _labs(rng: np.random.Generator, d: Design, bmi_0: FloatArray) -> dict[str, FloatArray]:
    n = d.arm.size
    cols: dict[str, FloatArray] = {}
    measured12 = ~d.lost
    for k, measure in enumerate(MEASURES):
        lo_r, hi_r = LAB_RANGE[measure]
        dec = LAB_DECIMALS[measure]
        has = d.diabetes if measure == "hba1c" else np.ones(n, dtype=bool)
        entry = _entry(measure, d.diabetes)
        unc = d.uncontrolled[:, k]
        base = np.full(n, np.nan)
        # controlled at baseline: below the entry threshold
        c = has & ~unc
        if measure == "hba1c":
            base[c] = truncated_normal(rng, 7.1, 0.6, 5.0, 8.0, size=int(c.sum()))
        else:
            m, s = _AT_GOAL[measure]
            base[c] = truncated_normal(rng, entry[c] + m, s, lo_r, entry[c] - 1.0)
        base[c] = np.round(base[c], dec)
        # uncontrolled: site means and overall SD as published
        m0, s0 = _BASELINE_DRAW[measure]
        draw = truncated_normal(
            rng, np.maximum(m0, entry[unc] + 5 * 10.0**-dec), s0, entry[unc], hi_r
        )
        base[unc] = _group_matched(
            f"{measure}_0", BASELINE[measure], draw, d.site[unc], strict=d.exact, lower=entry[unc]
        )
        cols[f"{measure}_0"] = base
        cols[f"{measure}_12"] = _followup_values(
            rng, measure, base, d.diabetes, unc, d.goal12[:, k], measured12 & has
        )
        cols[f"{measure}_24"] = _followup_values(
            rng, measure, base, d.diabetes, unc, d.goal24[:, k], d.seen24 & has
        )
    bmi12 = np.round(np.clip(bmi_0 + rng.normal(-0.1, 1.2, n), 16.0, 65.0), 1)
    cols["bmi_12"] = np.where(d.lost, np.nan, bmi12)
    return cols


PATIENT_COLUMNS = (
    "patient_id", "arm", "site", "clinician_id", "coach_id",
    "diabetes", "hypertension", "hyperlipidemia",
    "age", "sex", "language", "ethnicity", "marital_status", "work_status", "insulin",
    "pcp_visits", "coach_contacts", "coaching_minutes",
    "bmi_0", "hba1c_0", "sbp_0", "ldl_0",
    "bmi_12", "hba1c_12", "sbp_12", "ldl_12",
    "hba1c_24", "sbp_24", "ldl_24",
)  # fmt: skip


@dataclass(frozen=True)
class HcpcCohort:
    """A generated HCPC cohort: the patient table and its side tables.

    The tables are kept as compact columns (:class:`~coachstats.synthetic.tables.TableSource`,
    ``sources``) and built as DataFrames on first use.

    Attributes
    ----------
    patients : DataFrame
        One row per randomized patient (raw measurements and covariates).
    medications : DataFrame
        Long table ``patient_id, month, medication, condition, in_chart, reported_taking``.
    adherent_days : DataFrame
        ``patient_id, month, adherent_days_7``.
    visit_ratings : DataFrame
        Clinician post-visit survey: ``clinician_id, visit_id, patient_id, arm,
        demanding, adequate_time``.
    seed, n : int
        The generator call.
    """

    sources: Mapping[str, TableSource] = field(repr=False)
    seed: int
    n: int
    decimals: dict[str, int] = field(default_factory=dict, repr=False)
    #: The file stems of :meth:`tables`, known before generating (outputs are checked first).
    TABLE_NAMES: ClassVar[tuple[str, ...]] = (
        "hcpc_patients",
        "hcpc_medications",
        "hcpc_adherent_days",
        "hcpc_visit_ratings",
    )

    @cached_property
    def patients(self) -> pd.DataFrame:
        """One row per randomized patient (built from the compact columns on first use)."""
        return self.sources["hcpc_patients"].frame()

    @cached_property
    def medications(self) -> pd.DataFrame:
        """The medication rows (built on first use)."""
        return self.sources["hcpc_medications"].frame()

    @cached_property
    def adherent_days(self) -> pd.DataFrame:
        """The adherent-days rows (built on first use)."""
        return self.sources["hcpc_adherent_days"].frame()

    @cached_property
    def visit_ratings(self) -> pd.DataFrame:
        """The clinician post-visit ratings (built on first use)."""
        return self.sources["hcpc_visit_ratings"].frame()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem (``hcpc_patients`` ...)."""
        frames = (self.patients, self.medications, self.adherent_days, self.visit_ratings)
        return dict(zip(self.TABLE_NAMES, frames, strict=True))

    def write(
        self,
        directory: str | os.PathLike[str],
        *,
        formats: Sequence[Format] = ("csv", "parquet"),
        progress: WriteProgress | None = None,
    ) -> list[Path]:
        """Write every table as CSV (and Parquet) into ``directory``, byte-stable.

        The tables are written a chunk of rows at a time from the compact
        columns (:mod:`coachstats.synthetic.tables`), never built whole;
        ``progress(file, rows_done, rows_total)`` is told after each chunk.

        Returns
        -------
        list of Path
            The files written.
        """
        return write_tables(
            self.sources, directory, decimals=self.decimals, formats=formats, progress=progress
        )


def _decimals(columns: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in columns:
        stem = c.rsplit("_", 1)[0]
        if stem in LAB_DECIMALS:
            out[c] = LAB_DECIMALS[stem]
    return out


def base_cohort(seed: int, n: int) -> tuple[Design, dict[str, Any]]:
    """Design and covariates (what every later block depends on)."""
    d = draw_design(seeded_rng(seed, "design"), n)
    cols: dict[str, Any] = design_columns("H", d.arm, d.site, SITES)
    cols.update(_covariates(seeded_rng(seed, "covariates"), d))
    return d, cols


def hcpc_cohort(*, seed: int = DEFAULT_SEED, n: int = N_RANDOMIZED) -> HcpcCohort:
    """Generate a synthetic HCPC cohort.

    Parameters
    ----------
    seed : int
        Seed of the :class:`numpy.random.SeedSequence`; one child stream per
        layer (design, covariates, labs, questionnaires, medications, visits).
    n : int
        Patients randomized, at least :data:`MIN_N` (50). At 441 every
        published count is exact; at other sizes the design cells are scaled
        and balanced (the same rates to within about one patient per arm and
        site). Means and SDs are exact where the bounds of the values allow;
        in groups too small for that (mostly below a few hundred patients) they
        come as close as the bounds allow, with a warning.

    Returns
    -------
    HcpcCohort

    Raises
    ------
    OptionError
        ``n`` is not a whole number >= :data:`MIN_N`, or ``seed`` is negative.

    Warns
    -----
    CoachstatsWarning
        A printed mean or SD cannot be met in a group this small (never at 441).

    Examples
    --------
    >>> c = hcpc_cohort(n=1000, seed=1)
    >>> len(c.patients), round(float(c.patients["age"].mean()), 1)
    (1000, 52.7)
    """
    n = check_size(n, MIN_N)
    seed = check_seed(seed)
    d, cols = base_cohort(seed, n)
    cols.update(_labs(seeded_rng(seed, "labs"), d, cols["bmi_0"]))
    ids = label_array(cols.pop("patient_id"))
    # Each layer draws from its own random stream, so the side tables (medications,
    # adherent days, visit ratings) are drawn in a second thread while the questionnaires
    # are: the same numbers, on two cores (numpy works without the interpreter lock).
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = pool.submit(_side_tables, seed, d, dict(cols), ids)
        questionnaires = questionnaire_columns(seed, d, cols)
        meds, days, visits = side.result()
    cols.update(questionnaires)
    names = list(PATIENT_COLUMNS) + list(questionnaires)
    patients = _patients_source(d, cols, names, ids)
    sources = dict(zip(HcpcCohort.TABLE_NAMES, (patients, meds, days, visits), strict=True))
    return HcpcCohort(sources=sources, seed=seed, n=n, decimals=_decimals(names))


def _side_tables(
    seed: int, d: Design, cols: dict[str, Any], ids: Any
) -> tuple[TableSource, TableSource, TableSource]:
    """The medication, adherent-days and visit-rating tables (their own random streams)."""
    meds, days = medication_tables(seeded_rng(seed, "medications"), d, cols, ids)
    visits = TableSource.of_frame(visit_rating_table(seeded_rng(seed, "visits"), d, cols, ids))
    return meds, days, visits


def _patients_source(
    d: Design, cols: dict[str, Any], names: Sequence[str], ids: Any
) -> TableSource:
    """The patient table's columns: labels from codes, nullable integers as ``Int64``."""
    clinicians = [c for site in SITES for c in CLINICIANS[site]]
    n = d.arm.size
    built: dict[str, ColumnBuilder] = {
        "patient_id": label_column(ids, np.arange(n)),
        "arm": label_column(ARMS, d.arm),
        "site": label_column(SITES, d.site),
        "clinician_id": label_column(clinicians, cols["_clinician"]),
    }
    for c in ("sex", "language", "ethnicity", "marital_status", "work_status", "coach_id"):
        codes, labels = pd.factorize(cols[c])  # None -> -1: missing
        built[c] = label_column(labels, codes, "string" if c == "coach_id" else "str")
    columns: dict[str, ColumnBuilder] = {}
    for c in names:
        if c in built:
            columns[c] = built[c]
        elif isinstance(cols[c], pd.arrays.IntegerArray):
            columns[c] = array_column(cols[c], "Int64")
        else:
            columns[c] = array_column(cols[c])
    return TableSource(n, columns)
