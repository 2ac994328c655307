"""The HCPC secondary papers' raw data: medication lists and adherent days (Thom 2015), the trust, recommend-the-PCP, PACIC and recommend-the-clinic questionnaires (Thom 2014, 2015) and clinicians' visit ratings (Dube 2015); counts and means exact, model P values tuned by ``tools/calibration/calibrate_hcpc.py``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from coachstats.synthetic.common import (
    ARMS,
    BoolArray,
    FloatArray,
    IntArray,
    int_array,
    sequential_ids,
    str_take,
)
from coachstats.synthetic.counts import (
    exact_labels,
    largest_remainder,
    likert_counts,
    nested_counts,
)
from coachstats.synthetic.hcpc_spec import (
    ADHERENCE_STATES,
    ADHERENCE_TRANSITIONS,
    ADHERENT_DAYS_DIFFERENCE,
    CLINICIANS,
    DAYS_PATIENT_SD,
    DAYS_SHIFT_12,
    DAYS_STATE_MEAN,
    DAYS_VISIT_SD,
    LOST_12,
    MEDICATION_CONDITIONS,
    MEDICATIONS,
    N_RANDOMIZED,
    PACIC_CORRELATION,
    PACIC_MEANS,
    PACIC_SD,
    QUESTIONNAIRE_12,
    RANDOMIZED,
    RECOMMEND_CLINICIAN_SD,
    RECOMMEND_COUNTS,
    RECOMMEND_PCP_BASELINE,
    RECOMMEND_PCP_MOVES,
    SITES,
    STATE_MED_COUNTS,
    SURVEY_CLINICIANS,
    TRUST_BASELINE,
    TRUST_CHANGE,
    TRUST_CHANGE_SD,
    TRUST_CLINICIAN_SD,
    VISIT_CLINICIAN_SD,
    VISIT_RATINGS,
    VISITS,
    Design,
    seeded_rng,
)
from coachstats.synthetic.moments import (
    match_moments,
    round_exact_mean,
    split_total,
    truncated_normal,
)
from coachstats.synthetic.tables import (
    TableSource,
    array_column,
    label_column,
)

__all__ = [
    "medication_tables",
    "questionnaire_columns",
    "questionnaire_respondents",
    "recommend_items",
    "recommend_pcp_items",
    "trust_items",
    "visit_rating_table",
]


def _adherence_states(rng: np.random.Generator, d: Design) -> tuple[IntArray, IntArray]:
    """Concordance state per patient at 0 and 12 months (-1 = no interview)."""
    n = d.arm.size
    s0 = np.full(n, -1, dtype=np.int64)
    s12 = np.full(n, -1, dtype=np.int64)
    k = len(ADHERENCE_STATES)
    for a, arm in enumerate(ARMS):
        table = np.array(ADHERENCE_TRANSITIONS[arm])
        in_arm = d.arm == a
        analysed = np.flatnonzero(in_arm & ~d.lost)
        total = int(table.sum())
        if d.exact:
            n_both = total
        else:
            share = total / (
                RANDOMIZED[arm, "A"] + RANDOMIZED[arm, "B"] - LOST_12[arm, "A"] - LOST_12[arm, "B"]
            )
            n_both = round(share * analysed.size)
        cells = nested_counts(table.ravel(), [np.repeat(np.arange(k), k)], n_both)
        both = rng.choice(analysed, size=n_both, replace=False)
        cell = rng.permutation(np.repeat(np.arange(k * k), cells))
        s0[both] = cell // k
        s12[both] = cell % k
        is_rest = in_arm.copy()
        is_rest[both] = False
        rest = np.flatnonzero(is_rest)  # baseline interview only
        s0[rest] = exact_labels(rng, largest_remainder(table.sum(axis=1), rest.size), np.arange(k))
    return s0, s12


#: Patients per block where a per-patient sort would otherwise copy a table of all of them.
_BLOCK_ROWS = 65_536


def _medication_rows(
    rng: np.random.Generator,
    state: IntArray,
    keys: FloatArray,
    conditions: tuple[str, ...],
    diagnosed: BoolArray,
    month: int,
) -> dict[str, Any]:
    """Target and other medication rows of one visit for the patients with ``state >= 0``."""
    who = np.flatnonzero(state >= 0)
    names = np.array([m for c in conditions for m in MEDICATIONS[c]], dtype=object)
    cap = 2 * diagnosed[who].sum(axis=1)
    st = state[who]
    n_meds = np.zeros(who.size, dtype=np.int64)
    for k, allowed in enumerate(STATE_MED_COUNTS.values()):
        idx = np.flatnonzero(st == k)
        if idx.size == 0:
            continue
        options = np.array(allowed)
        ok = options[None, :] <= cap[idx, None]  # at least one option always fits (cap >= 2)
        pick = np.argmax(ok * rng.random((idx.size, options.size)), axis=1)
        n_meds[idx] = options[pick]
    props = np.array(list(ADHERENCE_STATES.values()))[st]
    n_conc = np.round(props[:, 0] * n_meds).astype(np.int64)
    n_lnt = np.round(props[:, 1] * n_meds).astype(np.int64)
    small = np.min_scalar_type(-len(_DRUGS))  # a signed type that holds every position
    order = np.empty((who.size, names.size), dtype=small)  # the patient's drugs, in a fixed order
    for start in range(0, who.size, _BLOCK_ROWS):  # block by block: no copy of the keys
        rows = who[start : start + _BLOCK_ROWS]
        order[start : start + rows.size] = np.argsort(keys[rows], axis=1, kind="stable")
    slot = np.arange(names.size)[None, :]
    take = slot < n_meds[:, None]
    rows_p, rows_s = np.nonzero(take)
    drug = order[rows_p, rows_s]
    in_chart = rows_s < n_conc[rows_p] + n_lnt[rows_p]
    reported = (rows_s < n_conc[rows_p]) | (rows_s >= n_conc[rows_p] + n_lnt[rows_p])
    # other (non-target) medications: 0-2 per visit, excluded by the analysis
    n_other = rng.integers(0, 3, size=who.size)
    other_names = np.array(MEDICATIONS["other"], dtype=object)
    o_order = np.empty((who.size, other_names.size), dtype=small)
    for start in range(0, who.size, _BLOCK_ROWS):  # the same draws as at once, a block at a time
        size = min(_BLOCK_ROWS, who.size - start)
        o_order[start : start + size] = np.argsort(rng.random((size, other_names.size)), axis=1)
    o_p, o_s = np.nonzero(np.arange(other_names.size)[None, :] < n_other[:, None])
    o_kind = rng.choice(3, size=o_p.size, p=[0.7, 0.15, 0.15])  # concordant / listed / taken
    return {
        "patient": np.concatenate([who[rows_p], who[o_p]]),
        "slot": np.concatenate([rows_s, names.size + o_s]),
        "month": month,
        "drug": np.concatenate([drug, names.size + o_order[o_p, o_s]]),  # index into _DRUGS
        "in_chart": np.concatenate([in_chart, o_kind != 2]),
        "reported_taking": np.concatenate([reported, o_kind != 1]),
    }


#: Every medication name and its condition, target conditions first (``drug`` indices).
_DRUGS = tuple((c, m) for c in (*MEDICATION_CONDITIONS, "other") for m in MEDICATIONS[c])


def _adherent_days(
    rng: np.random.Generator, d: Design, s0: IntArray, s12: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Adherent days at 0 and 12 months; the coaching sum of changes gives +1.08."""
    n = d.arm.size
    mean = np.array(DAYS_STATE_MEAN)
    person = rng.normal(0.0, DAYS_PATIENT_SD, n)
    shift = np.where(d.arm == 0, DAYS_SHIFT_12["coaching"], DAYS_SHIFT_12["usual_care"])
    visit = DAYS_VISIT_SD
    d0 = np.where(s0 >= 0, mean[np.maximum(s0, 0)] + person + rng.normal(0, visit, n), np.nan)
    d12 = np.where(
        s12 >= 0, mean[np.maximum(s12, 0)] + person + shift + rng.normal(0, visit, n), np.nan
    )
    d0 = np.clip(np.round(d0), 0, 7)
    d12 = np.clip(np.round(d12), 0, 7)
    both = (s0 >= 0) & (s12 >= 0)
    change = d12 - d0
    usual = both & (d.arm == 1)
    coach = np.flatnonzero(both & (d.arm == 0))
    if usual.sum() and coach.size:
        target = ADHERENT_DAYS_DIFFERENCE + change[usual].mean()
        need = round(target * coach.size - change[coach].sum())
        step = 1 if need > 0 else -1
        room = coach[(d12[coach] < 7) if step > 0 else (d12[coach] > 0)]
        pick = rng.choice(room, size=min(abs(need), room.size), replace=False)
        d12[pick] += step
    return d0, d12


def medication_tables(
    rng: np.random.Generator, d: Design, cols: dict[str, Any], ids: Any
) -> tuple[TableSource, TableSource]:
    """The medication and adherent-days tables, as compact columns (patients and drugs as codes)."""
    conditions = MEDICATION_CONDITIONS
    diagnosed = np.column_stack([np.asarray(cols[c], dtype=bool) for c in conditions])
    s0, s12 = _adherence_states(rng, d)
    names_cond = [c for c in conditions for _ in MEDICATIONS[c]]
    condition_of = np.array([conditions.index(c) for c in names_cond])  # per drug
    keys = rng.random((d.arm.size, len(names_cond)))
    keys[~diagnosed[:, condition_of]] = np.inf  # drugs of no diagnosed condition
    insulin = np.asarray(cols["insulin"], dtype=bool)
    keys[
        insulin, names_cond.index("diabetes") + MEDICATIONS["diabetes"].index("insulin glargine")
    ] = -1.0
    parts = [
        _medication_rows(rng, s0, keys, conditions, diagnosed, 0),
        _medication_rows(rng, s12, keys, conditions, diagnosed, 12),
    ]
    patient = np.concatenate([p["patient"] for p in parts])
    month = np.concatenate([np.full(p["patient"].size, p["month"]) for p in parts])
    slot = np.concatenate([p["slot"] for p in parts])
    key = (patient * 2 + (month > 0)) * (len(_DRUGS) + 1) + slot  # patient, month, slot
    order = np.argsort(key, kind="stable")
    drug = np.concatenate([p["drug"] for p in parts])[order].astype(np.int16)
    del key
    meds = TableSource(
        order.size,
        {
            "patient_id": label_column(ids, patient[order].astype(np.int32)),
            "month": array_column(month[order].astype(np.int8), "int64"),
            "medication": label_column([m for _, m in _DRUGS], drug),
            "condition": label_column([c for c, _ in _DRUGS], drug),
            "in_chart": array_column(
                np.concatenate([p["in_chart"] for p in parts])[order].astype(bool)
            ),
            "reported_taking": array_column(
                np.concatenate([p["reported_taking"] for p in parts])[order].astype(bool)
            ),
        },
    )
    del parts, patient, month, slot, order
    d0, d12 = _adherent_days(rng, d, s0, s12)
    dp = np.concatenate([np.flatnonzero(s0 >= 0), np.flatnonzero(s12 >= 0)])
    dm = np.concatenate([np.zeros((s0 >= 0).sum(), np.int64), np.full((s12 >= 0).sum(), 12)])
    dv = np.concatenate([d0[s0 >= 0], d12[s12 >= 0]])
    o = np.lexsort((dm, dp))
    days = TableSource(
        o.size,
        {
            "patient_id": label_column(ids, dp[o]),
            "month": array_column(dm[o]),
            "adherent_days_7": array_column(dv[o].astype(np.int64)),
        },
    )
    return meds, days


def questionnaire_respondents(rng: np.random.Generator, d: Design) -> BoolArray:
    """Answered the 12-month questionnaire: exact counts among the patients seen at 12 months."""
    out = np.zeros(d.arm.size, dtype=bool)
    for a, arm in enumerate(ARMS):
        seen = np.flatnonzero((d.arm == a) & ~d.lost)
        k = _arm_count(d, arm, QUESTIONNAIRE_12[arm], seen.size)
        out[rng.choice(seen, size=k, replace=False)] = True
    return out


def _arm_count(d: Design, arm: str, count: int, pool: int) -> int:
    """``count`` at n = 441; otherwise the same share of ``pool`` (patients seen at 12 months)."""
    if d.exact:
        return count
    seen = sum(RANDOMIZED[arm, s] - LOST_12[arm, s] for s in SITES)
    return min(pool, round(count / seen * pool))


def _item_columns(
    instrument: str, month: int, items: npt.NDArray[np.integer], missing: BoolArray
) -> dict[str, pd.arrays.IntegerArray]:
    """``<instrument>_q<j>_<month>`` nullable integer columns (``missing`` rows are <NA>).

    Kept as ``Int8`` while the cohort is generated; the tables hold ``Int64``.
    """
    # responses 1-5: compact, one contiguous column per item
    values = np.array(items, dtype=np.int8, order="F")
    values[missing] = 0
    # the month's items share one mask (never written: the tables are built from copies)
    return {
        f"{instrument}_q{j + 1}_{month}": pd.arrays.IntegerArray(values[:, j], missing)
        for j in range(items.shape[1])
    }


def _clinician_codes(cols: dict[str, Any]) -> IntArray:
    """Clinician index per patient (0 = C01 ...), from the internal ``_clinician`` column."""
    return np.asarray(cols["_clinician"], dtype=np.int64)


def _clinician_effect(rng: np.random.Generator, cols: dict[str, Any], sd: float) -> FloatArray:
    """A normal effect (SD ``sd``) per clinician, given to each of the clinician's patients."""
    code = _clinician_codes(cols)
    return rng.normal(0.0, sd, code.max() + 1)[code]


def _items(
    rng: np.random.Generator,
    instrument: str,
    totals: Mapping[int, FloatArray],
    n_items: int,
    reversed_items: Sequence[int] = (),
) -> dict[str, Any]:
    """Item columns per month whose sums are ``totals`` (NaN: not answered, <NA> items).

    :func:`split_total` spreads each total over ``n_items`` items on 1-5; the
    ``reversed_items`` (0-based) are written reversed (6 - x), as worded.
    """
    out: dict[str, Any] = {}
    for month, total in totals.items():
        ok = ~np.isnan(total)
        items = np.zeros((total.size, n_items), dtype=np.int8)  # responses 1-5
        items[ok] = split_total(rng, total[ok].astype(np.int64), n_items)
        flip = list(reversed_items)
        items[:, flip] = 6 - items[:, flip]
        out.update(_item_columns(instrument, month, items, ~ok))
    return out


def trust_items(
    rng: np.random.Generator,
    d: Design,
    cols: dict[str, Any],
    resp: BoolArray,
    change_sd: float = TRUST_CHANGE_SD,
) -> dict[str, Any]:
    """Trust in Physician items at 0 and 12 months (items 1, 5, 7, 11 negatively worded)."""
    n = d.arm.size
    unit = 25.0 / 11.0  # score points per point of the raw total (11 items, 0-100 scale)
    base = TRUST_BASELINE
    raw_mean, raw_sd = 11 + base.mean / unit, base.sd / unit
    draw = truncated_normal(rng, raw_mean, raw_sd, 11.0, 55.0, size=n)
    x = match_moments(draw, raw_mean, raw_sd, lower=10.5, upper=55.5, infeasible="closest")
    t0 = np.clip(np.round(x), 11, 55)
    clin = _clinician_effect(rng, cols, TRUST_CLINICIAN_SD / unit)
    t12 = np.full(n, np.nan)
    for a, arm in enumerate(ARMS):
        idx = np.flatnonzero(resp & (d.arm == a))
        change = TRUST_CHANGE[arm] / unit + change_sd / unit * rng.standard_normal(idx.size)
        x = np.clip(t0[idx] + change + clin[idx], 11, 55)
        target = round(TRUST_CHANGE[arm] / unit * idx.size + t0[idx].sum()) / idx.size
        t12[idx] = round_exact_mean(x, 0, mean=target, lower=11, upper=55)
    return _items(rng, "trust", {0: t0, 12: t12}, 11, reversed_items=[0, 4, 6, 10])


def _likert4(rng: np.random.Generator, n: int) -> FloatArray:
    """Responses 1-3 (below "definitely") for the patients who do not answer 4."""
    return rng.choice([3.0, 2.0, 1.0], size=n, p=[0.72, 0.2, 0.08])


def recommend_pcp_items(
    rng: np.random.Generator,
    d: Design,
    resp: BoolArray,
    moves: dict[str, tuple[int, int]] = RECOMMEND_PCP_MOVES,
) -> dict[str, Any]:
    """'Would recommend your PCP' (1-4) at 0 and 12 months; 4 = would highly recommend."""
    n = d.arm.size
    r0 = _likert4(rng, n)
    r12 = np.full(n, np.nan)
    for a, arm in enumerate(ARMS):
        idx = np.flatnonzero(resp & (d.arm == a))
        k0 = _arm_count(d, arm, RECOMMEND_PCP_BASELINE[arm], idx.size)
        up, down = (_arm_count(d, arm, m, idx.size) for m in moves[arm])
        top = rng.permutation(idx)[:k0]
        others = np.flatnonzero((d.arm == a) & ~resp)
        share = RECOMMEND_PCP_BASELINE[arm] / QUESTIONNAIRE_12[arm]
        r0[top] = 4
        r0[others[rng.random(others.size) < share]] = 4
        r12[idx] = r0[idx]
        is_top = r0[idx] == 4
        fall = rng.choice(idx[is_top], size=min(down, int(is_top.sum())), replace=False)
        rise = rng.choice(idx[~is_top], size=min(up, int((~is_top).sum())), replace=False)
        r12[fall] = _likert4(rng, fall.size)
        r12[rise] = 4
    return {"recommend_pcp_0": int_array(r0), "recommend_pcp_12": int_array(r12)}


def _pacic_items(
    rng: np.random.Generator, d: Design, cols: dict[str, Any], resp: BoolArray
) -> dict[str, Any]:
    """PACIC items (20, 1-5) at 0 and 12 months with the printed means among respondents."""
    n = d.arm.size
    z0 = rng.normal(size=n)
    rho = PACIC_CORRELATION
    clin = _clinician_effect(rng, cols, 0.25)
    z12 = rho * z0 + np.sqrt(1 - rho**2) * rng.normal(size=n) + clin
    t0 = np.empty(n)
    t12 = np.full(n, np.nan)
    sd0, sd12 = PACIC_SD
    for a, arm in enumerate(ARMS):
        m0, m12 = PACIC_MEANS[arm]
        for group, month_means in ((resp, (m0, m12)), (~resp, (m0, None))):
            idx = np.flatnonzero(group & (d.arm == a))
            t0[idx] = _pacic_totals(z0[idx], month_means[0], sd0)
            if month_means[1] is not None:
                t12[idx] = _pacic_totals(z12[idx], month_means[1], sd12)
    return _items(rng, "pacic", {0: t0, 12: t12}, 20)


def _pacic_totals(z: FloatArray, mean: float, sd: float) -> FloatArray:
    """Totals of the 20 PACIC items (20-100) ordered as ``z``, item mean ``mean`` and SD ``sd``.

    Exact (the total's mean to the whole point) unless the group is too small
    for the SD, which then comes as close as the bounds allow.
    """
    lo, hi = 19.5, 100.5  # totals of 20 items on 1-5
    x = match_moments(
        _to_bounds(z, lo, hi), 20 * mean, 20 * sd, lower=lo, upper=hi, infeasible="closest"
    )
    return round_exact_mean(x, 0, mean=20 * mean, lower=20, upper=100)


def _to_bounds(z: FloatArray, lo: float, hi: float) -> FloatArray:
    """Standard-normal scores mapped strictly inside (lo, hi) for :func:`match_moments`."""
    return lo + (hi - lo) * special.ndtr(z)


def recommend_items(
    rng: np.random.Generator,
    d: Design,
    cols: dict[str, Any],
    resp: BoolArray,
    clinician_sd: float = RECOMMEND_CLINICIAN_SD,
) -> dict[str, Any]:
    """'Would recommend this clinic' (1-4) at 0 and 12 months; exact "definitely" counts."""
    n = d.arm.size
    clin = _clinician_effect(rng, cols, 1.0)
    noise0, noise12 = rng.normal(size=n), rng.normal(size=n)
    r0 = _likert4(rng, n)
    r12 = np.full(n, np.nan)
    low12 = _likert4(rng, n)
    for a, arm in enumerate(ARMS):
        idx = np.flatnonzero(resp & (d.arm == a))
        k0, k12 = (_arm_count(d, arm, k, idx.size) for k in RECOMMEND_COUNTS[arm])
        top0 = idx[np.argsort(-(noise0[idx] + 0.5 * clin[idx]), kind="stable")[:k0]]
        r0[top0] = 4
        latent = 1.0 * (r0[idx] == 4) + clinician_sd * clin[idx] + noise12[idx]
        top12 = idx[np.argsort(-latent, kind="stable")[:k12]]
        r12[idx] = low12[idx]
        r12[top12] = 4
        others = np.flatnonzero(~resp & (d.arm == a))
        r0[others[rng.random(others.size) < k0 / max(idx.size, 1)]] = 4
    return {"recommend_0": int_array(r0), "recommend_12": int_array(r12)}


def visit_rating_table(
    rng: np.random.Generator, d: Design, cols: dict[str, Any], ids: Any
) -> pd.DataFrame:
    """Clinician post-visit survey: visits of the responding clinicians' own patients."""
    names = [c for s in SITES for c in CLINICIANS[s]]
    code = _clinician_codes(cols)
    survey = np.isin(code, [names.index(c) for c in SURVEY_CLINICIANS])
    scale = 1.0 if d.exact else d.arm.size / N_RANDOMIZED
    effect = np.zeros(len(names))
    effect[[names.index(c) for c in SURVEY_CLINICIANS]] = rng.normal(
        0.0, VISIT_CLINICIAN_SD, len(SURVEY_CLINICIANS)
    )
    frames = []
    for a, arm in enumerate(ARMS):
        pool = np.flatnonzero(survey & (d.arm == a))
        k = max(2, round(VISITS[arm] * scale))
        patient = rng.choice(pool, size=k, replace=True)  # some patients have several visits
        clin = code[patient]
        frame = {"clinician": clin, "patient": patient, "arm": np.full(k, arm, dtype=object)}
        for item, spec in VISIT_RATINGS.items():
            mean, sd = spec[arm]
            counts = likert_counts(k, mean, sd)
            values = np.repeat(np.arange(1, 6), counts)  # ascending
            sign = -1.0 if item == "adequate_time" else 1.0  # busier clinicians: less time
            latent = sign * effect[clin] + rng.normal(size=k)
            rating = np.empty(k, dtype=np.int64)
            rating[np.argsort(latent, kind="stable")] = values
            frame[item] = rating
        frames.append(pd.DataFrame(frame))
    visits = pd.concat(frames, ignore_index=True)
    visits = visits.iloc[rng.permutation(len(visits))].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "clinician_id": str_take(names, visits["clinician"].to_numpy()),
            "visit_id": sequential_ids("V", len(visits), 3),
            "patient_id": label_column(ids, visits["patient"].to_numpy())(0, len(visits)),
            "arm": visits["arm"].astype("str"),
            "demanding": visits["demanding"].astype(np.int64),
            "adequate_time": visits["adequate_time"].astype(np.int64),
        }
    )
    out["visit_id"] = out["visit_id"].astype("str")
    return out.sort_values(["clinician_id", "visit_id"], kind="stable").reset_index(drop=True)


def questionnaire_columns(seed: int, d: Design, cols: dict[str, Any]) -> dict[str, Any]:
    resp = questionnaire_respondents(seeded_rng(seed, "questionnaires"), d)
    out: dict[str, Any] = {}
    out.update(trust_items(seeded_rng(seed, "trust"), d, cols, resp))
    out.update(_pacic_items(seeded_rng(seed, "pacic"), d, cols, resp))
    out.update(recommend_items(seeded_rng(seed, "recommend"), d, cols, resp))
    out.update(recommend_pcp_items(seeded_rng(seed, "recommend_pcp"), d, resp))
    return out
