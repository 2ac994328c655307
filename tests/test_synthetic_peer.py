"""Tests of the synthetic peer-trial cohort (coachstats.synthetic.peer and _peer_helpers).

The figures asserted are the printed ones of ``published.md`` section 2, recovered
from the generated raw values with numpy and the project's endpoint derivation;
the P values are asserted through ``reproduce`` in tests/test_reproduce.py.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coachstats.endpoints import derive_endpoints
from coachstats.errors import AnalysisError, OptionError
from coachstats.goals import PEER_GOALS
from coachstats.synthetic import peer_cohort
from coachstats.synthetic.peer import (
    ADJUSTMENT,
    CHANGES,
    CLINICS,
    DEFAULT_SEED,
    HBA1C_6,
    MIN_N,
    PATIENT_COLUMNS,
    RANDOMIZED,
    _swap_into_range,
)
from coachstats.synthetic.peer_helpers import covariate_matrix, covariate_scores, grid_repair

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic"
ARMS = ("coaching", "usual_care")
#: Derived columns the generator must never write.
DERIVED = re.compile(
    r"^(change_|at_goal|uncontrolled|composite|n_uncontrolled|hba1c_drop|hba1c_lt|status_)"
)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return peer_cohort().patients


@pytest.fixture(scope="module")
def endpoints(cohort: pd.DataFrame) -> pd.DataFrame:
    return derive_endpoints(cohort, PEER_GOALS)


def _by_arm(frame: pd.DataFrame, column: str, func: str) -> list[float]:
    return [float(getattr(frame.loc[frame["arm"] == a, column], func)()) for a in ARMS]


# --------------------------------------------------------------------------- raw data only


def test_raw_columns_only(cohort: pd.DataFrame) -> None:
    assert tuple(cohort.columns) == PATIENT_COLUMNS
    assert not [c for c in cohort.columns if DERIVED.match(c)]


def test_written_files_hold_no_derived_columns() -> None:
    path = DATA / "peer_patients.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert not [c for c in header if DERIVED.match(c)]
    assert pd.read_parquet(DATA / "peer_patients.parquet").shape == (299, len(PATIENT_COLUMNS))


def test_values_at_lab_precision(cohort: pd.DataFrame) -> None:
    for col, dec in (("hba1c_0", 1), ("hba1c_6", 1), ("sbp_0", 0), ("ldl_6", 0), ("bmi_6", 1)):
        x = cohort[col].dropna().to_numpy()
        assert np.allclose(x, np.round(x, dec), atol=1e-9), col
    assert cohort["hba1c_6"].dropna().between(4.5, 16.0).all()
    assert cohort["sbp_6"].dropna().between(85, 230).all()
    assert cohort["ldl_6"].dropna().between(35, 320).all()


# --------------------------------------------------------------------------- design


def test_design(cohort: pd.DataFrame) -> None:
    assert cohort["arm"].value_counts().to_dict() == {"usual_care": 151, "coaching": 148}
    assert cohort["site"].nunique() == 6
    assert cohort["patient_id"].is_unique
    # stratified randomization: every clinic has both arms, nearly balanced
    share = cohort.groupby("site")["arm"].apply(lambda a: (a == "coaching").mean())
    assert share.between(0.45, 0.55).all()
    coached = cohort.loc[cohort["arm"] == "coaching", "coach_id"]
    assert coached.notna().all() and coached.nunique() == 23
    assert cohort.loc[cohort["arm"] == "usual_care", "coach_id"].isna().all()
    assert cohort[list(ADJUSTMENT)].notna().all().all()


def test_followup_counts(cohort: pd.DataFrame) -> None:
    def counts(mask: pd.Series) -> list[int]:
        return [int((mask & (cohort["arm"] == a)).sum()) for a in ARMS]

    assert counts(cohort["hba1c_6"].notna()) == [123, 114]
    assert counts(cohort["hba1c_6"].notna() & cohort["hba1c_0"].notna()) == [122, 114]
    assert counts(cohort["sbp_6"].notna() & cohort["sbp_0"].notna()) == [128, 123]
    assert counts(cohort["ldl_6"].notna() & cohort["ldl_0"].notna()) == [107, 96]
    assert counts(cohort["bmi_6"].notna()) == [128, 123]


# --------------------------------------------------------------------------- calibrated figures


def test_hba1c_moments_and_counts(endpoints: pd.DataFrame) -> None:
    cc = endpoints.loc[endpoints["change_hba1c"].notna()]
    assert [round(v, 2) for v in _by_arm(cc, "hba1c_0", "mean")] == [10.05, 9.85]
    assert [round(v, 1) for v in _by_arm(cc, "hba1c_0", "std")] == [2.0, 2.0]
    assert [round(v, 2) for v in _by_arm(cc, "hba1c_6", "mean")] == [8.98, 9.55]
    assert [round(v, 1) for v in _by_arm(cc, "hba1c_6", "std")] == [2.0, 2.3]
    assert [round(v, 2) for v in _by_arm(cc, "change_hba1c", "mean")] == [-1.07, -0.30]
    assert [round(v, 1) for v in _by_arm(cc, "change_hba1c", "std")] == [2.8, 3.1]
    assert _by_arm(cc, "hba1c_lt_7_5_0", "sum") == [5, 7]
    at6 = endpoints.loc[endpoints["hba1c_6"].notna()]
    assert _by_arm(at6, "hba1c_lt_7_5", "sum") == [27, 17]
    assert _by_arm(at6, "hba1c_lt_7_5", "count") == [123, 114]
    drop = cc.loc[cc["hba1c_0"] >= 7.0]
    assert _by_arm(drop, "hba1c_drop_ge1", "sum") == [60, 34]
    assert _by_arm(drop, "hba1c_drop_ge1", "count") == [121, 108]


@pytest.mark.parametrize(
    ("measure", "means", "sds", "mean_dec"),
    [
        ("sbp", [1.4, -4.3], [22.3, 26.0], 1),
        ("ldl", [-3.9, -3.0], [41.4, 52.7], 1),
        ("bmi", [-0.1, -0.1], None, 1),
    ],
)
def test_change_moments(
    cohort: pd.DataFrame, measure: str, means: list[float], sds: list[float] | None, mean_dec: int
) -> None:
    d = cohort.assign(ch=cohort[f"{measure}_6"] - cohort[f"{measure}_0"]).dropna(subset=["ch"])
    assert [round(v, mean_dec) for v in _by_arm(d, "ch", "mean")] == means
    if sds is not None:
        assert [round(v, 1) for v in _by_arm(d, "ch", "std")] == sds
    # the printed unadjusted differences are the differences of the printed means
    diff = np.subtract(*_by_arm(d, "ch", "mean"))
    assert round(diff, 1) == round(means[0] - means[1], 1)


# --------------------------------------------------------------------------- determinism, seeds


def test_same_seed_same_files(tmp_path: Path) -> None:
    a = peer_cohort().write(tmp_path / "a")
    b = peer_cohort(seed=DEFAULT_SEED).write(tmp_path / "b")
    for x, y in zip(a, b, strict=True):
        assert filecmp.cmp(x, y, shallow=False), x.name
    bundled = DATA / "peer_patients.csv"
    assert filecmp.cmp(a[0], bundled, shallow=False), "bundled file is stale: regenerate it"


def test_other_seed_same_design(cohort: pd.DataFrame) -> None:
    other = peer_cohort(seed=11).patients
    assert not other["hba1c_0"].equals(cohort["hba1c_0"])
    assert other["arm"].value_counts().to_dict() == cohort["arm"].value_counts().to_dict()
    assert other.groupby("site").size().to_dict() == cohort.groupby("site").size().to_dict()
    ep = derive_endpoints(other, PEER_GOALS)
    cc = ep.loc[ep["change_hba1c"].notna()]
    assert [round(v, 2) for v in _by_arm(cc, "change_hba1c", "mean")] == [-1.07, -0.30]
    assert _by_arm(ep.loc[ep["hba1c_6"].notna()], "hba1c_lt_7_5", "sum") == [27, 17]


def test_other_sizes_keep_proportions() -> None:
    big = peer_cohort(n=2990, seed=3).patients
    counts = big["arm"].value_counts()
    assert (counts["coaching"], counts["usual_care"]) == (1480, 1510)
    assert int(big["hba1c_6"].notna().sum()) == 2370
    assert big["site"].nunique() == 6
    with pytest.raises(OptionError, match=f"n must be a whole number >= {MIN_N}, got 10"):
        peer_cohort(n=10)
    with pytest.raises(OptionError, match="n must be"):
        peer_cohort(n=MIN_N - 1)
    with pytest.raises(OptionError, match="seed must"):
        peer_cohort(seed=-1)


def _in_bounds(p: pd.DataFrame) -> bool:
    """Every SBP, LDL and BMI value inside the generator's plausible range."""
    cols = [(f"{m}_{t}", CHANGES[m]["bounds"]) for m in ("sbp", "ldl", "bmi") for t in (0, 6)]
    return all(p[c].dropna().between(lo, hi).all() for c, (lo, hi) in cols)


@settings(max_examples=15, deadline=None)
@given(st.integers(MIN_N, 3000))
@example(MIN_N)
@example(405)  # once failed: a BMI change taking the follow-up value below 15
def test_any_size_keeps_the_design(n: int) -> None:
    p = peer_cohort(n=n).patients
    assert len(p) == n and p["patient_id"].is_unique
    assert tuple(p.columns) == PATIENT_COLUMNS
    assert not [c for c in p.columns if DERIVED.match(c)]
    # arms and clinics by Hamilton apportionment: within one of their shares
    assert abs(int((p["arm"] == "coaching").sum()) - n * RANDOMIZED["coaching"] / 299) < 1
    sizes = p["site"].value_counts()
    for clinic, k in CLINICS.items():
        assert abs(int(sizes.get(clinic, 0)) - n * k / 299) < 1
    # the 6-month HbA1c share per arm (rounded within the arm's rounded size)
    for arm, k in HBA1C_6.items():
        got = int(p.loc[p["arm"] == arm, "hba1c_6"].notna().sum())
        assert abs(got - n * k / 299) < 1.5
    assert _in_bounds(p)


def test_large_cohort_stays_in_range() -> None:
    p = peer_cohort(n=100_000).patients  # the default seed once failed here (BMI)
    assert len(p) == 100_000 and _in_bounds(p)
    assert abs(int((p["arm"] == "coaching").sum()) - 100_000 * 148 / 299) < 1
    # swapping the few BMI changes that left the range keeps each arm's mean change
    change = (p["bmi_6"] - p["bmi_0"]).groupby(p["arm"]).mean()
    assert change.round(2).tolist() == [-0.1, -0.1]


def test_swap_into_range() -> None:
    b = np.array([18.0, 30.0, 30.0, 30.0, 18.5, np.nan])
    change = np.array([-4.2, 0.3, -0.2, 1.5, 0.4, np.nan])
    arm = np.array([0, 0, 0, 0, 1, 1])
    out = _swap_into_range("bmi", b, change, arm, 15.0, 70.0)
    # the fall of 4.2 moves to a patient with room (the smallest change that fits, -0.2)
    assert out.tolist()[:5] == [-0.2, 0.3, -4.2, 1.5, 0.4] and np.isnan(out[5])
    assert np.all(b[:5] + out[:5] >= 15.0)
    with pytest.raises(AnalysisError, match="only 0 can swap"):
        _swap_into_range("bmi", b[:1], change[:1], arm[:1], 15.0, 70.0)


# --------------------------------------------------------------------------- helpers


def test_covariate_scores_imbalance() -> None:
    rng = np.random.default_rng(8)
    frame = pd.DataFrame(
        {
            "age": rng.normal(50, 10, 120),
            "ms": rng.choice(list("abc"), 120),
            "ins": rng.random(120) < 0.4,
        }
    )
    treated = np.arange(120) % 2 == 0
    x = covariate_matrix(frame, ["age", "ms", "ins"], treated)
    assert x.shape == (120, 4) and np.allclose(x.mean(axis=0), 0.0)
    z1, zs = covariate_scores(x, treated, rng, 2)
    assert z1[treated].mean() - z1[~treated].mean() == pytest.approx(1.0, abs=1e-12)
    for z in zs:
        assert z[treated].mean() - z[~treated].mean() == pytest.approx(0.0, abs=1e-12)
        assert z.std(ddof=1) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), sd=st.floats(1.5, 3.0))
def test_grid_repair_meets_sum_and_sd(seed: int, sd: float) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    x = np.round(np.clip(rng.normal(9.0, 2.2, n), 4.5, 16.0), 1)
    lo = np.where(x < 7.5, 4.5, 7.5)  # keep which side of 7.5 each value is on
    hi = np.where(x < 7.5, 7.4, 16.0)
    total = float(np.round(9.0 * n, 1))
    out = grid_repair(x, lo, hi, h=0.1, total=total, sd_bands=[(np.ones(n, bool), None, sd, 0.03)])
    assert out.sum() == pytest.approx(total, abs=1e-6)
    assert abs(out.std(ddof=1) - sd) <= 0.03 + 1e-9
    assert ((out < 7.5) == (x < 7.5)).all()
    assert np.allclose(out, np.round(out, 1))


def test_grid_repair_reports_unreachable_targets() -> None:
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(AnalysisError, match=r"stuck|out of reach"):
        grid_repair(x, x, x, h=1.0, total=7.0, sd_bands=[])
