"""Seeded synthetic cohort of the peer health coaching trial (Thom et al. 2013).

:func:`peer_cohort` generates raw patient-level data with the trial's design
and calibrated so that the project's own analysis (the registry's plan,
:func:`coachstats.plan.run_plan`) recovers the printed figures of the trial
(:data:`READS` lists them), except the held-out adjusted figures:

* design: 299 randomized, 148 coaching / 151 usual care, 6 clinics
  (randomization stratified by clinic), 23 peer coaches, 6-month follow-up;
* HbA1c at 6 months for 123 vs 114 patients; one coaching patient has no
  baseline laboratory value, so the complete cases are 122 vs 114;
* HbA1c: baseline 10.05 (2.0) vs 9.85 (2.0), 6 months 8.98 (2.0) vs 9.55 (2.3),
  change -1.07 (2.8) vs -0.30 (3.1); below 7.5 % at baseline 5 vs 7 and at 6
  months 27/123 vs 17/114; a drop of >= 1.0 point 60/121 vs 34/108;
* SBP change (128 vs 123 patients) +1.4 (22.3) vs -4.3 (26.0); LDL change
  (107 vs 96) -3.9 (41.4) vs -3.0 (52.7); BMI change -0.1 vs -0.1;
* the unadjusted P values of the linear mixed models (random intercept for
  clinic).

The adjusted estimates and P values (six covariates) are **held out**: no
calibration step reads them, the covariates are assumed unrelated to the
changes (the paper publishes nothing about their effects), and
``coachstats reproduce`` reports what the cohort gives.

Only raw values are written (HbA1c %, mm Hg, mg/dL, kg/m2 at laboratory
precision, covariates), never a derived endpoint. Counts are met exactly by
assigning each patient to a cell first (below 7.5 % or not; a drop of at least
one point or not) and drawing the value inside the cell's interval; means and
SDs are then brought to the printed precision by moving single values on the
laboratory grid within those intervals (:func:`~._peer_helpers.grid_repair`).

**What is assumed** (not published) and how the unpublished parameters were
tuned is in ``data/synthetic/README.md`` ("Peer trial") and
``docs/reproduction.md``. In short: clinic sizes, covariate distributions,
which baseline values fall below 7.0 % (the assumed reason for the drop
denominators 121 vs 108), the BMI change SD, and -- found by the seeded search
in `tools/calibration/calibrate_peer.py` -- the between-clinic variance of
each change and the transitions across 7.5 %, stored in :data:`CALIBRATION`.

``n`` other than 299 (any ``n >= MIN_N``, 50) keeps the design's proportions
(every count scaled by Hamilton apportionment) and the same parameters;
published P values are targeted only at the default seed and size. A given
baseline (BMI) whose change would take the follow-up value outside the
plausible range swaps that change with a fitting one of the same arm, so the
arm's changes (and their mean and SD) stay the same.

References
----------
Thom DH, Ghorob A, Hessler D, De Vore D, Chen E, Bodenheimer TA. Impact of
peer health coaching on glycemic control in low-income patients with
diabetes: a randomized controlled trial. Ann Fam Med 2013;11:137-144.
doi:10.1370/afm.1443

Examples
--------
>>> c = peer_cohort()
>>> c.patients.groupby("arm").size().to_dict()
{'coaching': 148, 'usual_care': 151}
>>> from coachstats.derive.endpoints import derive_endpoints
>>> from coachstats.core.goals import PEER_GOALS
>>> ep = derive_endpoints(c.patients, PEER_GOALS)
>>> ep.groupby("arm")["change_hba1c"].agg(["count", "mean"]).round(2).to_numpy().tolist()
[[122.0, -1.07], [114.0, -0.3]]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from coachstats.core.errors import AnalysisError
from coachstats.synthetic.common import (
    ARMS,
    BoolArray,
    FloatArray,
    IntArray,
    check_seed,
    check_size,
    design_columns,
    stream_rng,
)
from coachstats.synthetic.counts import apportioned_labels, largest_remainder, scale_counts
from coachstats.synthetic.moments import match_moments, round_exact_mean, truncated_normal
from coachstats.synthetic.peer_helpers import covariate_matrix, covariate_scores, grid_repair
from coachstats.synthetic.peer_spec import (
    ADJUSTMENT,
    CALIBRATION,
    CHANGES,
    CLINICS,
    COVARIATES,
    DECIMALS,
    DEFAULT_SEED,
    HBA1C,
    HBA1C_6,
    LDL_6,
    MIN_N,
    N_COACHES,
    N_RANDOMIZED,
    NO_BASELINE_HBA1C,
    PATIENT_COLUMNS,
    RANDOMIZED,
    SD_BAND,
    STREAMS,
    VITALS_6,
)
from coachstats.synthetic.tables import Format, WriteProgress, write_tables

__all__ = ["PeerCohort", "build", "peer_cohort"]


def _rng(seed: int, stream: str, offset: int = 0) -> np.random.Generator:
    """Independent generator per (seed, stream, offset): tuning one layer leaves the others."""
    return stream_rng(seed, STREAMS, stream, offset)


@dataclass(frozen=True)
class _Design:
    arm: IntArray  # 0 coaching, 1 usual care
    site: IntArray
    hba1c_6: BoolArray
    no_base: BoolArray
    vitals_6: BoolArray
    ldl_6: BoolArray
    exact: bool


def _scaled(counts: Mapping[str, int], n: int) -> dict[str, int]:
    return dict(zip(counts, scale_counts(list(counts.values()), n).tolist(), strict=True))


def _design(seed: int, n: int) -> _Design:
    rng = _rng(seed, "design")
    arms = _scaled(RANDOMIZED, n)
    sizes = largest_remainder(list(CLINICS.values()), n)
    # stratified randomization: the coaching count per clinic is apportioned
    coached = largest_remainder(sizes, arms["coaching"])
    site = np.repeat(np.arange(len(CLINICS)), sizes)
    arm = np.concatenate(
        [
            rng.permutation(np.r_[np.zeros(c, int), np.ones(s - c, int)])
            for c, s in zip(coached, sizes, strict=True)
        ]
    )
    frng = _rng(seed, "followup")
    hba1c_6 = np.zeros(n, dtype=bool)
    no_base = np.zeros(n, dtype=bool)
    vitals_6 = np.zeros(n, dtype=bool)
    ldl_6 = np.zeros(n, dtype=bool)
    for a, name in enumerate(ARMS):
        idx = np.flatnonzero(arm == a)
        share = idx.size / RANDOMIZED[name]
        k_h = min(idx.size, round(HBA1C_6[name] * share))
        k_v = min(idx.size, max(k_h, round(VITALS_6[name] * share)))
        k_e = round(NO_BASELINE_HBA1C[name] * share)
        k_l = min(k_h - k_e, round(LDL_6[name] * share))
        order = frng.permutation(idx)
        vitals_6[order[:k_v]] = True
        hba1c_6[order[:k_h]] = True
        within = frng.permutation(order[:k_h])
        no_base[within[:k_e]] = True
        ldl_6[within[k_e : k_e + k_l]] = True
    return _Design(arm, site, hba1c_6, no_base, vitals_6, ldl_6, n == N_RANDOMIZED)


def _covariates(seed: int, d: _Design) -> dict[str, Any]:
    rng = _rng(seed, "covariates")
    n = d.arm.size
    cols: dict[str, Any] = {}
    coach = np.full(n, None, dtype=object)
    coached = np.flatnonzero(d.arm == 0)
    # peer coaches work within a clinic; 23 coaches apportioned to the clinics' coached patients
    per_site = np.bincount(d.site[coached], minlength=len(CLINICS))
    coaches = np.maximum(largest_remainder(per_site, N_COACHES), 1)
    k = 1
    for s in range(len(CLINICS)):
        idx = coached[d.site[coached] == s]
        labels = [f"PC{j:02d}" for j in range(k, k + int(coaches[s]))]
        k += int(coaches[s])
        if idx.size:
            coach[idx] = apportioned_labels(rng, dict.fromkeys(labels, 1.0), idx.size)
    cols["coach_id"] = coach
    spec = COVARIATES
    mean, sd, (lo, hi) = spec["age"]["mean"], spec["age"]["sd"], spec["age"]["bounds"]
    age = truncated_normal(rng, mean, sd, lo, hi, size=n)
    age = match_moments(age, mean, sd, lower=lo, upper=hi, infeasible="closest")
    cols["age"] = np.round(age).astype(np.int64)
    cols["sex"] = apportioned_labels(rng, {"female": spec["female"], "male": 1 - spec["female"]}, n)
    cols["marital_status"] = apportioned_labels(rng, spec["marital_status"], n)
    cols["work_status"] = apportioned_labels(rng, spec["work_status"], n)
    for name in ("insulin", "hypertension"):
        cols[name] = apportioned_labels(rng, {True: spec[name], False: 1 - spec[name]}, n).astype(
            bool
        )
    lo, hi = spec["bmi_0"]["bounds"]
    bmi = lo + rng.gamma(4.0, (spec["bmi_0"]["mean"] - lo) / 4.0, size=n)
    bmi = match_moments(
        np.clip(bmi, lo + 0.05, hi - 0.05),
        spec["bmi_0"]["mean"],
        spec["bmi_0"]["sd"],
        lower=lo,
        upper=hi,
        infeasible="closest",
    )
    cols["bmi_0"] = round_exact_mean(bmi, 1, mean=spec["bmi_0"]["mean"], lower=lo, upper=hi)
    cols["diabetes"] = np.ones(n, dtype=bool)
    return cols


def _frame(d: _Design, cov: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "arm": np.array(ARMS, dtype=object)[d.arm],
            **{c: cov[c] for c in ADJUSTMENT},
        }
    )


def _clinic_effects(seed: int, stream: str, offset: int) -> FloatArray:
    u = _rng(seed, stream, offset).normal(size=len(CLINICS))
    u = u - u.mean()
    return u / u.std(ddof=1)


def _scores(
    x_all: FloatArray, mask: BoolArray, treated: BoolArray, seed: int, stream: str, offset: int
) -> tuple[FloatArray, list[FloatArray]]:
    """Covariate scores on the analysed rows ``mask`` (zero elsewhere).

    ``x_all`` is the covariate matrix of every patient (:func:`covariate_matrix`).
    """
    x = x_all[mask]
    z1, zs = covariate_scores(
        x - x.mean(axis=0), treated[mask], _rng(seed, stream, offset + 1000), 3
    )

    def spread(z: FloatArray) -> FloatArray:
        out = np.zeros(mask.size)
        out[mask] = z
        return out

    return spread(z1), [spread(z) for z in zs]


def _change(
    seed: int,
    measure: str,
    d: _Design,
    x_all: FloatArray,
    mask: BoolArray,
    params: Mapping[str, Any],
) -> FloatArray:
    """Change at 6 months on ``mask``: clinic + covariate scores + noise, exact arm moments."""
    spec = CHANGES[measure]
    off = int(params.get("offset", 0))
    rng = _rng(seed, measure, off)
    treated = d.arm == 0
    u = _clinic_effects(seed, measure, off)[d.site]
    z1, zs = _scores(x_all, mask, treated, seed, measure, off)
    lam, a_, b_ = float(params["lam"]), float(params["A"]), float(params["B"])
    out = np.full(mask.size, np.nan)
    dec = int(spec["decimals"])
    for arm, name in enumerate(ARMS):
        idx = np.flatnonzero(mask & (d.arm == arm))
        mean, sd = spec[name]
        struct = lam * u[idx] + a_ * z1[idx] + b_ * zs[0][idx]
        resid_var = sd**2 - float(struct.var(ddof=1))
        noise = rng.normal(size=idx.size) * np.sqrt(max(resid_var, 0.05 * sd**2))
        x = match_moments(struct + noise, mean, sd)
        x = round_exact_mean(x, dec, mean=mean)
        if d.exact:
            x = grid_repair(
                x,
                np.full(x.size, -1e6),
                np.full(x.size, 1e6),
                h=10.0**-dec,
                total=float(np.round(mean * idx.size, dec)),
                sd_bands=[(np.ones(x.size, bool), None, sd, SD_BAND)],
            )
        out[idx] = x
    return out


def _pair_baseline(
    rng: np.random.Generator,
    measure: str,
    change: FloatArray,
    baseline: FloatArray | None,
    arm: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Baseline for everyone and follow-up = baseline + change, inside the plausible range.

    A drawn baseline is moved where the change needs room; a given one (BMI)
    keeps its values, and the rare change that would leave the range is
    swapped with a fitting one of the same arm (:func:`_swap_into_range`).
    """
    spec = CHANGES[measure]
    lo, hi = spec["bounds"]
    dec = int(spec["decimals"])
    n = change.size
    if baseline is None:
        m, s = spec["baseline"]
        b = truncated_normal(rng, m, s, lo + 10, hi - 20, size=n)
        b = np.round(b, dec)
    else:
        b = baseline.copy()
        change = _swap_into_range(measure, b, change, arm, lo, hi)
    has = ~np.isnan(change)
    # keep the follow-up plausible: a large fall needs a high enough baseline
    need_lo = np.where(has, lo - change, -np.inf)
    need_hi = np.where(has, hi - change, np.inf)
    if baseline is None:
        b = np.clip(b, need_lo, need_hi)
    f = np.where(has, np.round(b + change, dec), np.nan)
    if np.any(has & ((f < lo - 1e-9) | (f > hi + 1e-9))):
        raise AnalysisError(f"{measure}: follow-up values outside {lo}-{hi}")
    return b, f


def _swap_into_range(
    measure: str, b: FloatArray, change: FloatArray, arm: IntArray, lo: float, hi: float
) -> FloatArray:
    """``change`` with every value that takes ``b + change`` outside ``[lo, hi]`` swapped.

    Each such change trades places with one of the same arm (the smallest in
    size among those that fit every offending baseline and whose own baseline
    takes every offending change), so each arm keeps exactly the same changes
    (mean and SD). Large cohorts meet a few of these (a BMI near 18 with a
    fall of 3 or more); none exists in the bundled one.
    """
    out = change.copy()
    has = ~np.isnan(out)
    bad = has & ((b + out < lo - 1e-9) | (b + out > hi + 1e-9))
    for a in np.unique(arm[bad]):
        v = np.flatnonzero(bad & (arm == a))
        cv = out[v]
        fits = (b[v].min() + out >= lo - 1e-9) & (b[v].max() + out <= hi + 1e-9)
        takes = (b + cv.min() >= lo - 1e-9) & (b + cv.max() <= hi + 1e-9)
        pool = np.flatnonzero(has & ~bad & (arm == a) & fits & takes)
        if pool.size < v.size:
            raise AnalysisError(
                f"{measure}: {v.size} changes leave {lo}-{hi} and only {pool.size} can swap"
            )
        pick = pool[np.argsort(np.abs(out[pool]), kind="stable")[: v.size]]
        out[v], out[pick] = out[pick], cv
    return out


def _hba1c_counts(name: str, n_cc: int, n_extra: int) -> dict[str, int]:
    """Cell counts of one arm: published at the trial's size, scaled otherwise."""
    spec = HBA1C[name]
    pub_cc = HBA1C_6[name] - NO_BASELINE_HBA1C[name]
    f = n_cc / pub_cc
    g = (n_cc + n_extra) / HBA1C_6[name]
    keys = ("base_lt_7_0", "base_lt_7_5", "drop")
    out = {k: round(spec[k] * f) for k in keys}
    out["fu_lt_7_5"] = round(spec["fu_lt_7_5"] * g)
    return out


def _hba1c_baseline(
    rng: np.random.Generator,
    spec: Mapping[str, float],
    counts: Mapping[str, int],
    structure: FloatArray,
    exact: bool,
) -> FloatArray:
    """Baseline HbA1c of the complete cases: exact counts below 7.0 and 7.5, mean, SD.

    The lowest values of ``structure + noise`` (the clinic pattern) become the low ones.
    """
    n = structure.size
    k0 = counts["base_lt_7_0"]
    k1 = counts["base_lt_7_5"] - k0
    raw = 7.5 + rng.gamma(1.6, 1.6, size=n) + structure
    order = np.argsort(raw, kind="stable")
    out = np.empty(n)
    low, high = order[: k0 + k1], order[k0 + k1 :]
    out[order[:k0]] = np.round(rng.uniform(6.0, 6.95, size=k0), 1)
    out[order[k0 : k0 + k1]] = np.round(rng.uniform(7.0, 7.45, size=k1), 1)
    # the high values carry the rest of the printed mean and SD
    total = spec["base_mean"] * n
    ss = (n - 1) * spec["base_sd"] ** 2 + n * spec["base_mean"] ** 2
    m_h = (total - out[low].sum()) / high.size
    s_h = float(np.sqrt((ss - (out[low] ** 2).sum() - high.size * m_h**2) / (high.size - 1)))
    start = np.clip(raw[high] - raw[high].min() + 7.6, 7.55, 15.5)
    x = match_moments(start, m_h, s_h, lower=7.45, upper=16.0, infeasible="closest")
    out[high] = round_exact_mean(x, 1, mean=m_h, lower=7.5, upper=16.0)
    if not exact:
        return out
    is_high = np.zeros(n, dtype=bool)
    is_high[high] = True
    lo = np.where(is_high, 7.5, out)
    hi = np.where(is_high, 16.0, out)
    return grid_repair(
        out,
        lo,
        hi,
        h=0.1,
        total=float(np.round(total, 1)),
        sd_bands=[(np.ones(n, bool), None, spec["base_sd"], SD_BAND)],
    )


def _hba1c(
    seed: int, d: _Design, x_all: FloatArray, params: Mapping[str, Any]
) -> tuple[FloatArray, FloatArray]:
    off = int(params.get("offset", 0))
    rng = _rng(seed, "hba1c", off)
    n = d.arm.size
    treated = d.arm == 0
    complete = d.hba1c_6 & ~d.no_base
    u = _clinic_effects(seed, "hba1c", off)[d.site]
    z1, zs = _scores(x_all, complete, treated, seed, "hba1c", off)
    lam, a_, b_, rho = (float(params[k]) for k in ("lam", "A", "B", "rho"))
    base = np.full(n, np.nan)
    fol = np.full(n, np.nan)
    for arm, name in enumerate(ARMS):
        spec = HBA1C[name]
        cc = np.flatnonzero(complete & (d.arm == arm))
        extra = np.flatnonzero(d.no_base & (d.arm == arm))
        lost = np.flatnonzero(~complete & ~d.no_base & (d.arm == arm))
        # baseline: the clinic effect on the change is split -lam/2 (baseline) / +lam/2
        counts = _hba1c_counts(name, cc.size, extra.size)
        base[cc] = _hba1c_baseline(rng, spec, counts, -0.5 * lam * u[cc], d.exact)
        lb = 7.5 + rng.gamma(1.6, 1.6, size=lost.size) - 0.5 * lam * u[lost]
        base[lost] = np.round(np.clip(lb, 6.0, 16.0), 1)
        # latent 6-month value
        struct = (0.5 * lam * u + a_ * z1 + b_ * zs[0])[cc] + rho * (base[cc] - base[cc].mean())
        resid = spec["fu_sd"] ** 2 - float(struct.var(ddof=1))
        if resid <= 0.05:
            # another seed or size can realize more clinic / covariate variance than the
            # calibrated one: shrink the structure to 90 % of the follow-up variance
            struct = struct * np.sqrt(0.9 * spec["fu_sd"] ** 2 / float(struct.var(ddof=1)))
            resid = 0.1 * spec["fu_sd"] ** 2
        latent = struct + rng.normal(size=cc.size) * np.sqrt(resid)
        latent = match_moments(latent, spec["fu_mean"], spec["fu_sd"])
        lat_extra = spec["fu_mean"] + rng.normal(size=extra.size) * spec["fu_sd"]
        fol[cc], fol[extra] = _hba1c_followup(
            rng,
            spec,
            counts,
            base[cc],
            latent,
            lat_extra,
            z1[cc],
            z1[cc],
            trans=int(params["trans"][arm]),
            k_lt=float(params["k_lt"]),
            k_drop=float(params["k_drop"]),
            exact=d.exact,
        )
    return base, fol


def _hba1c_followup(
    rng: np.random.Generator,
    spec: Mapping[str, float],
    counts: Mapping[str, int],
    b: FloatArray,
    latent: FloatArray,
    latent_extra: FloatArray,
    z_lt: FloatArray,
    z_drop: FloatArray,
    *,
    trans: int,
    k_lt: float,
    k_drop: float,
    exact: bool,
) -> tuple[FloatArray, FloatArray]:
    """6-month HbA1c with exact cell counts (below 7.5 %, drop >= 1) and moments."""
    n, ne = b.size, latent_extra.size
    k_lt_total, k_drop_total = counts["fu_lt_7_5"], counts["drop"]
    low = b < 7.45
    elig = b >= 6.95
    # below 7.5 at 6 months: `low.sum() - trans` of the baseline-low patients plus the lowest
    # others by the ranking score (latent value + covariate score)
    r_lt = np.r_[latent + k_lt * z_lt, latent_extra]
    is_low = np.r_[low, np.zeros(ne, bool)]
    keep_low = max(int(low.sum()) - trans, 0)
    pick = np.zeros(n + ne, dtype=bool)
    pick[np.flatnonzero(is_low)[np.argsort(r_lt[is_low], kind="stable")[:keep_low]]] = True
    others = np.flatnonzero(~is_low)
    pick[others[np.argsort(r_lt[others], kind="stable")[: max(k_lt_total - keep_low, 0)]]] = True
    lt, lt_extra = pick[:n], pick[n:]
    # a drop of >= 1.0 point: forced for lt patients with baseline >= 8.4; impossible for
    # patients not below 7.5 with baseline < 8.5
    forced = elig & lt & (b >= 8.35)
    possible = elig & ((lt & (b < 8.35)) | (~lt & (b >= 8.45)))
    need = k_drop_total - int(forced.sum())
    if need < 0 or need > int(possible.sum()):
        raise AnalysisError(
            f"HbA1c cells infeasible: drop {k_drop_total}, forced {int(forced.sum())}, "
            f"possible {int(possible.sum())}"
        )
    r_drop = (b - latent) + k_drop * z_drop
    cand = np.flatnonzero(possible)
    drop = forced.copy()
    drop[cand[np.argsort(-r_drop[cand], kind="stable")[:need]]] = True
    # intervals on the 0.1 grid
    lo = np.full(n, 4.5)
    hi = np.full(n, 16.0)
    hi = np.where(lt, 7.4, hi)
    lo = np.where(lt, lo, 7.5)
    hi = np.where(elig & drop, np.minimum(hi, np.round(b - 1.0, 1)), hi)
    lo = np.where(elig & ~drop, np.maximum(lo, np.round(b - 0.9, 1)), lo)
    if np.any(lo > hi + 1e-9):
        raise AnalysisError("HbA1c cells infeasible: empty interval")
    f = np.clip(np.round(latent, 1), lo, hi)
    if exact:
        total = float(np.round(spec["fu_mean"] * n, 1))
        f = grid_repair(
            f,
            lo,
            hi,
            h=0.1,
            total=total,
            sd_bands=[
                (np.ones(n, bool), None, spec["fu_sd"], SD_BAND),
                (np.ones(n, bool), b, spec["change_sd"], SD_BAND),
            ],
        )
    fe = np.where(
        lt_extra,
        np.clip(np.round(latent_extra, 1), 4.5, 7.4),
        np.clip(np.round(latent_extra, 1), 7.5, 16.0),
    )
    return f, fe


@dataclass(frozen=True)
class PeerCohort:
    """A generated peer-trial cohort.

    Attributes
    ----------
    patients : DataFrame
        One row per randomized patient: design, covariates and raw measurements
        at baseline (``_0``) and 6 months (``_6``).
    seed, n : int
        The generator call.
    """

    patients: pd.DataFrame
    seed: int
    n: int
    calibration: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: The file stems of :meth:`tables`, known before generating (outputs are checked first).
    TABLE_NAMES: ClassVar[tuple[str, ...]] = ("peer_patients",)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem."""
        return dict(zip(self.TABLE_NAMES, (self.patients,), strict=True))

    def write(
        self,
        directory: str | os.PathLike[str],
        *,
        formats: Sequence[Format] = ("csv", "parquet"),
        progress: WriteProgress | None = None,
    ) -> list[Path]:
        """Write the patient table as CSV (and Parquet), byte-stable (``progress`` as in HCPC's)."""
        return write_tables(
            self.tables(), directory, decimals=DECIMALS, formats=formats, progress=progress
        )


def build(seed: int, n: int, calibration: Mapping[str, Mapping[str, Any]]) -> PeerCohort:
    """Generate with explicit calibration parameters (used by the calibration search)."""
    d = _design(seed, n)
    cov = _covariates(seed, d)
    x_all = covariate_matrix(_frame(d, cov), list(ADJUSTMENT), d.arm == 0)
    cols: dict[str, Any] = design_columns("P", d.arm, d.site, list(CLINICS))
    cols.update(cov)
    cols["hba1c_0"], cols["hba1c_6"] = _hba1c(seed, d, x_all, calibration["hba1c"])
    for measure, mask in (("sbp", d.vitals_6), ("ldl", d.ldl_6), ("bmi", d.vitals_6)):
        change = _change(seed, measure, d, x_all, mask, calibration[measure])
        rng = _rng(seed, measure, int(calibration[measure].get("offset", 0)) + 2000)
        given = cov["bmi_0"] if measure == "bmi" else None
        b, f = _pair_baseline(rng, measure, change, given, d.arm)
        if measure == "ldl":  # no LDL follow-up outside the analysed set
            f = np.where(d.ldl_6, f, np.nan)
        cols[f"{measure}_0"] = b
        cols[f"{measure}_6"] = f
    patients = pd.DataFrame({c: cols[c] for c in PATIENT_COLUMNS})
    for c in ("patient_id", "arm", "site", "sex", "marital_status", "work_status"):
        patients[c] = patients[c].astype("str")
    patients["coach_id"] = patients["coach_id"].astype("string")
    return PeerCohort(
        patients=patients,
        seed=int(seed),
        n=int(n),
        calibration={k: dict(v) for k, v in calibration.items()},
    )


def peer_cohort(*, seed: int = DEFAULT_SEED, n: int = N_RANDOMIZED) -> PeerCohort:
    """Generate a synthetic peer-coaching cohort.

    Parameters
    ----------
    seed : int
        Seed; one independent stream per layer (design, covariates, follow-up,
        HbA1c, SBP, LDL, BMI).
    n : int
        Patients randomized, at least :data:`MIN_N` (50). At 299 every
        published figure is met (the P values at the default seed); other
        sizes keep the proportions (arms, clinics and follow-up to within
        rounding) and the printed means.

    Returns
    -------
    PeerCohort

    Raises
    ------
    OptionError
        ``n`` is not a whole number >= :data:`MIN_N`, or ``seed`` is negative.

    Examples
    --------
    >>> c = peer_cohort(seed=7)
    >>> c.patients["site"].nunique(), int(c.patients["hba1c_6"].notna().sum())
    (6, 237)
    """
    n = check_size(n, MIN_N)
    return build(check_seed(seed), n, CALIBRATION)
