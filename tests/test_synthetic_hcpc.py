"""Tests of the synthetic HCPC cohort (coachstats.synthetic.hcpc and _common).

The targets asserted here are the published figures (``published.md`` section 1)
and the coherent inferred counts listed there, recovered from the generated raw
values through the project's own analysis functions.
"""

from __future__ import annotations

import filecmp
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tools.calibration import calibrate_hcpc

from coachstats import scales
from coachstats.adherence import adherence_change
from coachstats.compare.means import t_test
from coachstats.compare.models import gee, mixed
from coachstats.compare.proportions import chi_square
from coachstats.endpoints import derive_endpoints
from coachstats.errors import AnalysisError, CoachstatsWarning, OptionError
from coachstats.goals import HCPC_GOALS
from coachstats.synthetic import hcpc, hcpc_cohort, hcpc_spec
from coachstats.synthetic.counts import (
    apportioned_labels,
    balanced_counts,
    largest_remainder,
    likert_counts,
    nested_counts,
)
from coachstats.synthetic.moments import (
    group_targets,
    match_moments,
    round_exact_mean,
    split_total,
    truncated_normal,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "synthetic"
ARMS = ("coaching", "usual_care")

#: Derived columns the generator must never write.
DERIVED = re.compile(
    r"^(at_goal_|composite_|change_|uncontrolled_|status_|n_uncontrolled|hba1c_drop|"
    r"hba1c_lt|score|trust_score|pacic_score|prop_|.*_score$)"
)


@pytest.fixture(scope="module")
def cohort():  # type: ignore[no-untyped-def]
    return hcpc_cohort()


@pytest.fixture(scope="module", params=["generated", "bundled"])
def tables(request, cohort) -> dict[str, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """The cohort's tables by name (``patients``...): freshly generated, or as shipped."""
    if request.param == "generated":
        return {name.removeprefix("hcpc_"): frame for name, frame in cohort.tables().items()}
    names = ("patients", "medications", "adherent_days", "visit_ratings")
    return {t: pd.read_csv(DATA / f"hcpc_{t}.csv") for t in names}


def _counts(ep: pd.DataFrame, col: str) -> list[tuple[int, int]]:
    g = ep.dropna(subset=[col]).groupby("arm")[col]
    return [(int(g.sum()[a]), int(g.count()[a])) for a in ARMS]


# --------------------------------------------------------------------------- design


def test_no_derived_columns(cohort) -> None:  # type: ignore[no-untyped-def]
    for name, frame in cohort.tables().items():
        bad = [c for c in frame.columns if DERIVED.match(str(c))]
        assert bad == [], f"{name} has derived columns {bad}"
    measure = re.compile(r"^(hba1c|sbp|ldl|bmi)_(0|12|24)$")
    months = {int(measure.match(c).group(2)) for c in cohort.patients if measure.match(c)}
    assert months == {0, 12, 24}


def test_design_counts(cohort) -> None:  # type: ignore[no-untyped-def]
    p = cohort.patients
    assert p["patient_id"].is_unique and len(p) == 441
    assert p.groupby("arm").size().to_dict() == {"coaching": 224, "usual_care": 217}
    assert p.groupby("site").size().to_dict() == {"A": 332, "B": 109}
    coached = p[p["arm"] == "coaching"]
    assert coached["coach_id"].nunique() == 3
    assert coached["coach_id"].value_counts().between(70, 80).all()  # about 75 each
    assert p.loc[p["arm"] == "usual_care", "coach_id"].isna().all()
    assert p["clinician_id"].nunique() == 17
    # 441 -> 372 analysed: no 12-month value at all for 30 + 39 patients
    no_fu = p[["hba1c_12", "sbp_12", "ldl_12"]].isna().all(axis=1)
    assert no_fu.groupby(p["arm"]).sum().to_dict() == {"coaching": 30, "usual_care": 39}


def test_eligibility_consistent(cohort) -> None:  # type: ignore[no-untyped-def]
    ep = derive_endpoints(cohort.patients, HCPC_GOALS)
    assert (ep["n_uncontrolled"] >= 1).all()  # everyone uncontrolled on >= 1 condition
    assert cohort.patients.loc[~cohort.patients["diabetes"], "hba1c_0"].isna().all()
    for cond, m in (("hypertension", "sbp"), ("hyperlipidemia", "ldl")):
        unc = ep[f"uncontrolled_{m}"].fillna(False).astype(bool)
        assert cohort.patients.loc[unc, cond].all()  # uncontrolled implies the diagnosis
    assert cohort.patients["age"].between(18, 75).all()


# --------------------------------------------------------------------------- primary


PRIMARY = {  # outcome: (coaching, usual care) counts, printed P (2 decimals)
    "composite_any": ([(90, 194), (61, 178)], 0.02),
    "composite_all": ([(66, 194), (44, 178)], 0.05),
    "at_goal_hba1c": ([(34, 70), (21, 76)], 0.01),
}


def test_primary_counts_and_p(tables: dict[str, pd.DataFrame]) -> None:
    ep = derive_endpoints(tables["patients"], HCPC_GOALS)
    for outcome, (counts, printed_p) in PRIMARY.items():
        assert _counts(ep, outcome) == counts, outcome
        r = chi_square(ep, outcome, correct=False)
        assert round(r.p_value, 2) == printed_p, outcome
    site_a = ep[ep["site"] == "A"]
    assert _counts(site_a, "at_goal_ldl") == [(33, 79), (16, 63)]
    assert chi_square(site_a, "at_goal_ldl").format_p() == ".04"
    # percentages as printed: 46.4 vs 34.3, 34.0 vs 24.7, 48.6 vs 27.6, 41.8 vs 25.4
    pct = [
        round(100 * a / b, 1)
        for a, b in _counts(ep, "composite_any") + _counts(site_a, "at_goal_ldl")
    ]
    assert pct == [46.4, 34.3, 41.8, 25.4]
    # SBP: not significant, and the per-condition denominators are subsets of the composite ones
    assert chi_square(ep, "at_goal_sbp").p_value > 0.05
    for m in ("hba1c", "sbp", "ldl"):
        assert (ep[f"at_goal_{m}"].notna() <= ep["composite_any"].notna()).all()


def test_followup_24_paired(cohort) -> None:  # type: ignore[no-untyped-def]
    """290 seen at both 12 and 24 months (published); the 24-month goal figures are held out
    (issue 18): the cohort assumes no drift (calibrate_hcpc.assign_24), so in the coaching arm
    the goal rates at 24 months equal those at 12 up to rounding, whatever the paper found,
    and about 70 % keep their 12-month status."""
    p = cohort.patients
    e12 = derive_endpoints(p, HCPC_GOALS, followup=12)
    e24 = derive_endpoints(p, HCPC_GOALS, followup=24)
    both = e12["composite_any"].notna() & e24["composite_any"].notna()
    assert int(both.sum()) == 290  # seen at both 12 and 24 months
    assert p.loc[both, "arm"].value_counts().to_dict() == hcpc_spec.SEEN_24
    paired = pd.DataFrame(
        {
            "any_12": e12["composite_any"],
            "any_24": e24["composite_any"],
            "a1c_12": e12["at_goal_hba1c"],
            "a1c_24": e24["at_goal_hba1c"],
        }
    )[p["arm"] == "coaching"]
    for before, after in (("any_12", "any_24"), ("a1c_12", "a1c_24")):
        sub = paired[[before, after]].dropna().astype(bool)
        # no drift: the 24-month count is the 12-month one, within one patient per design
        # group (arm x site x 12-month pattern) of rounding
        assert abs(int(sub[after].sum()) - int(sub[before].sum())) <= 3, before
        kept = float((sub[before] == sub[after]).mean())
        assert 0.7 <= kept <= 0.9, (before, kept)  # 70 % keep their pattern, others redraw


# --------------------------------------------------------------------------- adherence


def test_adherence_changes(tables: dict[str, pd.DataFrame]) -> None:
    patients, meds, days = (tables[t] for t in ("patients", "medications", "adherent_days"))
    assert set(meds["condition"]) <= {"diabetes", "hypertension", "hyperlipidemia", "other"}
    assert set(meds["month"]) == {0, 12} and set(days["month"]) == {0, 12}
    assert (meds["in_chart"] | meds["reported_taking"]).all()  # every row is a medication
    with pytest.warns(UserWarning, match="other"):  # non-target rows are excluded
        change = adherence_change(meds, days, patients=patients["patient_id"])
    data = patients[["patient_id", "arm"]].merge(change, on="patient_id")
    # published: coaching - usual care change +10 % (P = .05), -17 % (P = .013), +1.08 days (< .001)
    conc = t_test(data, "change_prop_concordant")
    assert round(100 * conc.estimate) == 10 and round(conc.p_value, 2) == 0.05
    lnt = t_test(data, "change_prop_listed_not_taken")
    assert round(100 * lnt.estimate) == -17 and round(lnt.p_value, 3) == 0.013
    adherent = t_test(data, "change_adherent_days")
    assert round(adherent.estimate, 2) == 1.08 and adherent.format_p() == "< .001"
    # only patients seen at 12 months have a 12-month interview
    seen = patients.loc[patients[["sbp_12", "ldl_12"]].notna().any(axis=1), "patient_id"]
    assert set(meds.loc[meds["month"] == 12, "patient_id"]) <= set(seen)


# --------------------------------------------------------------------------- questionnaires


def _by_arm(values: pd.Series, arm: pd.Series, digits: int) -> list[float]:
    means = values.groupby(arm).mean()
    return [round(float(means[a]), digits) for a in ARMS]


def test_trust_and_recommend_pcp(tables: dict[str, pd.DataFrame]) -> None:
    p = tables["patients"]
    items = {m: scales.item_columns("trust", 11, m) for m in (0, 12)}
    assert p[items[0]].notna().all().all()  # everyone answered at baseline
    data = p[["arm", "clinician_id", "pcp_visits"]].copy()
    data["trust_change"] = scales.score_trust(p, items[12]) - scales.score_trust(p, items[0])
    top = {m: scales.recommend_binary(p, f"recommend_pcp_{m}", levels=4, cut=4) for m in (0, 12)}
    data["pcp_change"] = (top[12].astype("Float64") - top[0].astype("Float64")).astype(float)
    both = data.dropna(subset=["trust_change"])
    assert both.groupby("arm").size().to_dict() == {"coaching": 190, "usual_care": 176}
    # published: +3.9 vs +1.5 (printed p = 0.47, read as .047: the unadjusted mixed model with a
    # clinician intercept; issue 18 moved the calibration from the PCP-adjusted model, whose
    # printed P (.03) is held out and not pinned here)
    assert _by_arm(both["trust_change"], both["arm"], 1) == [3.9, 1.5]
    r = mixed(both, "trust_change", cluster="clinician_id")
    assert round(r.p_value, 3) == 0.047
    # published: would highly recommend their PCP +16.3 vs +4.0 percentage points, P = .02
    pcp = data.dropna(subset=["pcp_change"])
    assert _by_arm(100 * pcp["pcp_change"], pcp["arm"], 1) == [16.3, 4.0]
    r = mixed(pcp, "pcp_change", cluster="clinician_id", covariates=["pcp_visits"])
    assert r.format_p() == ".02"


def test_pacic_and_recommend_clinic(tables: dict[str, pd.DataFrame]) -> None:
    p = tables["patients"]
    data = p[["arm", "clinician_id"]].copy()
    for m in (0, 12):
        data[f"pacic_{m}"] = scales.score_pacic(p, scales.item_columns("pacic", 20, m))["pacic"]
        data[f"rec_{m}"] = scales.recommend_binary(p, f"recommend_{m}", levels=4, cut=4)
    both = data.dropna(subset=["pacic_0", "pacic_12"])
    assert len(both) == 366  # published n with both time points
    assert _by_arm(both["pacic_0"], both["arm"], 2) == [3.00, 3.06]
    assert _by_arm(both["pacic_12"], both["arm"], 2) == [3.82, 3.13]
    r = gee(both, "pacic_12", cluster="clinician_id", family="gaussian")
    assert r.format_p() == "< .001"
    rec = data.dropna(subset=["rec_0", "rec_12"])
    assert _by_arm(100 * rec["rec_0"].astype(float), rec["arm"], 0) == [73, 73]
    assert _by_arm(100 * rec["rec_12"].astype(float), rec["arm"], 0) == [85, 73]
    r = gee(rec, "rec_12", cluster="clinician_id", family="binomial")
    assert r.format_p() == ".002"


def test_clinician_visit_ratings(tables: dict[str, pd.DataFrame]) -> None:
    p, visits = tables["patients"], tables["visit_ratings"]
    assert len(visits) == 269 and visits["visit_id"].is_unique
    assert visits["clinician_id"].nunique() == 15  # 15 of the 17 clinicians answered
    owner = p.set_index("patient_id").loc[visits["patient_id"], ["clinician_id", "arm"]]
    assert (owner["clinician_id"].to_numpy() == visits["clinician_id"].to_numpy()).all()
    assert (owner["arm"].to_numpy() == visits["arm"].to_numpy()).all()
    for item, means in {"demanding": [2.44, 3.06], "adequate_time": [3.96, 3.57]}.items():
        assert visits[item].between(1, 5).all()
        assert _by_arm(visits[item], visits["arm"], 2) == means
        assert t_test(visits, item, equal_var=True).format_p() == "< .001"


def test_item_ranges(cohort) -> None:  # type: ignore[no-untyped-def]
    p = cohort.patients
    for pattern, (lo, hi) in {
        r"^(trust|pacic)_q\d+_": (1, 5),
        r"^recommend(_pcp)?_\d+$": (1, 4),
    }.items():
        cols = p.filter(regex=pattern)
        assert len(cols.columns) and cols.stack().between(lo, hi).all(), pattern
    # non-respondents at 12 months have no 12-month item at all
    answered = p.filter(regex=r"_12$").drop(columns=["bmi_12", "hba1c_12", "sbp_12", "ldl_12"])
    partial = answered.notna().any(axis=1) & ~answered.notna().all(axis=1)
    assert not partial.any()


# --------------------------------------------------------------------------- baseline


@pytest.mark.parametrize("seed", [None, 99])  # the bundled seed and one that once failed
def test_baseline_distributions(cohort, seed) -> None:  # type: ignore[no-untyped-def]
    p = cohort.patients if seed is None else hcpc_cohort(seed=seed).patients
    ep = derive_endpoints(p, HCPC_GOALS)
    published = {  # overall mean, SD, site A mean, site B mean (among the uncontrolled)
        "hba1c": (9.9, 1.5, 9.8, 10.3),
        "ldl": (147.0, 35.6, 147.3, 145.2),
        "sbp": (159.4, 15.4, 158.3, 160.9),
    }
    for m, (mean, sd, mean_a, mean_b) in published.items():
        unc = ep[f"uncontrolled_{m}"].fillna(False).astype(bool)
        x = p.loc[unc, f"{m}_0"]
        site_means = x.groupby(p.loc[unc, "site"]).mean()
        assert round(x.mean(), 1) == mean and round(x.std(), 1) == sd, m
        assert (round(site_means["A"], 1), round(site_means["B"], 1)) == (mean_a, mean_b), m
    for col, (mean, sd) in {
        "age": (52.7, 11.1),
        "bmi_0": (31.4, 6.7),
        "pcp_visits": (5.4, 4.1),
    }.items():
        assert (round(p[col].mean(), 1), round(p[col].std(), 1)) == (mean, sd), col
    pct = lambda s: round(100 * s.mean(), 1)  # noqa: E731
    assert pct(p["sex"] == "female") == 55.3
    assert pct(p["language"] == "spanish") == 68.7
    assert pct(p["ethnicity"] == "latino") == 70.1
    assert pct(p["ethnicity"] == "african_american") == 19.0
    by_site = p.groupby("site")
    assert by_site["language"].apply(lambda s: pct(s == "spanish")).to_dict() == {
        "A": 89.5,
        "B": 5.5,
    }
    aa = by_site["ethnicity"].apply(lambda s: pct(s == "african_american")).to_dict()
    assert aa == {"A": 1.8, "B": 71.6}
    assert not ((p["language"] == "spanish") & (p["ethnicity"] != "latino")).any()
    coached = p[p["arm"] == "coaching"]
    contacts = coached["coach_contacts"].astype(float)
    assert (round(contacts.mean(), 1), round(contacts.std(), 1)) == (12.4, 7.4)
    site_contacts = contacts.groupby(coached["site"]).mean().round(1).to_dict()
    assert site_contacts == {"A": 14.1, "B": 7.6}
    minutes = coached["coaching_minutes"].astype(float)
    assert (round(minutes.mean(), 1), round(minutes.std(), 1)) == (540.8, 307.6)


def test_lab_precision(cohort) -> None:  # type: ignore[no-untyped-def]
    p = cohort.patients
    for col, dec in {"hba1c_0": 1, "hba1c_12": 1, "sbp_0": 0, "ldl_12": 0, "sbp_24": 0}.items():
        x = p[col].dropna().to_numpy()
        assert np.allclose(x, np.round(x, dec), atol=1e-9), col


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_identical_bytes(tmp_path: Path) -> None:
    a = hcpc_cohort(seed=7).write(tmp_path / "a")
    b = hcpc_cohort(seed=7).write(tmp_path / "b")
    assert [x.name for x in a] == [y.name for y in b]
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_bundled_equals_fresh_generation(tmp_path: Path, cohort) -> None:  # type: ignore[no-untyped-def]
    written = cohort.write(tmp_path, formats=("csv",))
    for path in written:
        assert filecmp.cmp(path, DATA / path.name, shallow=False), path.name
    for name, frame in cohort.tables().items():
        shipped = pd.read_parquet(DATA / f"{name}.parquet")
        pd.testing.assert_frame_equal(shipped, frame.reset_index(drop=True))


def test_other_seed_same_design(cohort) -> None:  # type: ignore[no-untyped-def]
    other = hcpc_cohort(seed=cohort.seed + 1).patients
    p = cohort.patients
    assert not other["sbp_0"].equals(p["sbp_0"])
    assert not other["arm"].equals(p["arm"])
    for cols in (["arm"], ["arm", "site"], ["site", "language"], ["site", "ethnicity"]):
        pd.testing.assert_series_equal(other.groupby(cols).size(), p.groupby(cols).size())
    ep = derive_endpoints(other, HCPC_GOALS)
    for outcome, (counts, _) in PRIMARY.items():
        assert _counts(ep, outcome) == counts


def test_scale_keeps_proportions() -> None:
    start = time.perf_counter()
    big = hcpc_cohort(n=100_000, seed=3)
    elapsed = time.perf_counter() - start
    p = big.patients
    assert len(p) == 100_000
    assert elapsed < 30  # vectorized: about a second here
    share = p["arm"].eq("coaching").mean()
    assert abs(share - 224 / 441) < 1e-4
    assert abs(p["site"].eq("A").mean() - 332 / 441) < 1e-3
    ep = derive_endpoints(p, HCPC_GOALS)
    rates = ep.groupby("arm")["composite_any"].mean()
    assert abs(rates["coaching"] - 90 / 194) < 0.005
    assert abs(rates["usual_care"] - 61 / 178) < 0.005
    a1c = ep.groupby("arm")["at_goal_hba1c"].mean()
    assert abs(a1c["coaching"] - 34 / 70) < 0.005
    assert round(p["age"].mean(), 1) == 52.7
    # side tables keep their shares: 366 of 441 answered at 12 months, 269 visits per 441
    answered = p["pacic_q1_12"].notna().mean()
    assert abs(answered - 366 / 441) < 0.002
    assert abs(len(big.visit_ratings) - 269 / 441 * 100_000) <= 2
    interviewed = big.medications.loc[big.medications["month"] == 12, "patient_id"].nunique()
    assert abs(interviewed / 100_000 - 237 / 441) < 0.002


@settings(max_examples=12, deadline=None)
@given(st.integers(hcpc.MIN_N, 3000))
@example(hcpc.MIN_N)
@example(100)  # these three sizes once failed in match_moments (LDL at site B)
@example(600)
@example(601)
def test_any_size_keeps_the_design(n: int) -> None:
    """Every n >= MIN_N generates: arms, sites and the primary counts keep their shares."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = hcpc_cohort(n=n, seed=5)
    assert all(issubclass(w.category, CoachstatsWarning) for w in caught)
    p = c.patients
    assert len(p) == n and p["patient_id"].is_unique
    for name, frame in c.tables().items():
        assert not [col for col in frame.columns if DERIVED.match(str(col))], name
    # Hamilton within one for the arms; arm x site and site within one of the arm's share
    counts = {a: int((p["arm"] == a).sum()) for a in ARMS}
    assert abs(counts["coaching"] - n * 224 / 441) < 1
    assert abs(int((p["site"] == "A").sum()) - n * 332 / 441) < 2
    for (arm, site), k in hcpc_spec.RANDOMIZED.items():
        assert abs(int(((p["arm"] == arm) & (p["site"] == site)).sum()) - n * k / 441) < 2
    # lab values stay on their side of the entry thresholds (everyone is eligible), and the
    # balanced design keeps the analysed and at-goal counts within two of their shares
    ep = derive_endpoints(p, HCPC_GOALS)
    assert (ep["n_uncontrolled"] >= 1).all()
    for (events, analysed), (k, m) in zip(
        PRIMARY["composite_any"][0], _counts(ep, "composite_any"), strict=True
    ):
        assert abs(k - n * events / 441) < 2 and abs(m - n * analysed / 441) < 2


def test_bad_arguments() -> None:
    with pytest.raises(OptionError, match=f"n must be a whole number >= {hcpc.MIN_N}, got 10"):
        hcpc_cohort(n=10)
    with pytest.raises(OptionError, match="n must be"):
        hcpc_cohort(n=hcpc.MIN_N - 1)
    with pytest.raises(OptionError, match="seed"):
        hcpc_cohort(seed=-1)


# --------------------------------------------------------------------------- helpers


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.0, 100.0), min_size=1, max_size=8).filter(lambda w: sum(w) > 0),
    st.integers(0, 10_000),
)
def test_largest_remainder_properties(weights: list[float], total: int) -> None:
    parts = largest_remainder(weights, total)
    share = np.asarray(weights) * total / sum(weights)
    assert parts.sum() == total
    assert np.all(np.abs(parts - share) < 1 + 1e-9)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 60), min_size=1, max_size=6).filter(lambda c: sum(c) > 0),
    st.integers(0, 500),
    st.integers(0, 2**31),
)
def test_apportioned_labels_counts(counts: list[int], n: int, seed: int) -> None:
    weights = {f"label{i}": c for i, c in enumerate(counts)}
    labels = apportioned_labels(np.random.default_rng(seed), weights, n)
    got = np.array([int((labels == k).sum()) for k in weights])
    assert labels.size == n == got.sum()
    assert np.all(np.abs(got - np.asarray(counts) * n / sum(counts)) < 1 + 1e-9)
    # counts that add up to n are kept exactly, only their order is random
    exact = apportioned_labels(np.random.default_rng(seed), weights, sum(counts))
    assert [int((exact == k).sum()) for k in weights] == counts


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.floats(20.0, 70.0), st.floats(3.0, 15.0))
def test_match_moments_exact_and_bounded(seed: int, mean: float, sd: float) -> None:
    x = 100 * np.random.default_rng(seed).beta(2.0, 2.0, size=200)  # inside the bounds
    y = match_moments(x, mean, sd, lower=0.0, upper=100.0)
    assert abs(y.mean() - mean) < 1e-8 and abs(y.std(ddof=1) - sd) < 1e-8
    assert y.min() > 0 and y.max() < 100
    assert np.array_equal(np.argsort(x, kind="stable"), np.argsort(y, kind="stable"))


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 2**31),
    st.integers(2, 25),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
)
def test_split_total_properties(seed: int, n_items: int, where: list[float]) -> None:
    totals = [round(n_items + w * 4 * n_items) for w in where]  # anywhere in [k, 5k]
    items = split_total(np.random.default_rng(seed), totals, n_items)
    assert items.shape == (len(totals), n_items)
    assert items.sum(axis=1).tolist() == totals
    assert items.min() >= 1 and items.max() <= 5


def test_cohort_drawn_in_blocks_is_the_cohort_drawn_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Items and medication sorts work a block of rows at a time (memory, issue 22).

    The generator gives the same numbers a block at a time, so blocks of 7 and
    of 64 rows give the tables of one block of every row, value for value.
    """
    from coachstats.synthetic import hcpc_secondary, moments

    def tables(block: int) -> list[pd.DataFrame]:
        monkeypatch.setattr(moments, "SPLIT_BLOCK_ROWS", block)
        monkeypatch.setattr(hcpc_secondary, "_BLOCK_ROWS", block)
        cohort = hcpc_cohort(n=600, seed=11)
        return [cohort.patients, cohort.medications, cohort.adherent_days]

    whole = tables(10**6)
    for block in (7, 64):
        for a, b in zip(whole, tables(block), strict=True):
            pd.testing.assert_frame_equal(a, b)
    items = split_total(np.random.default_rng(3), np.full(100, 33), 11)
    monkeypatch.setattr(moments, "SPLIT_BLOCK_ROWS", 9)
    assert np.array_equal(items, split_total(np.random.default_rng(3), np.full(100, 33), 11))


def test_calibration_constants() -> None:
    """The stored search results still satisfy what they were searched for."""
    tables = {a: np.array(t) for a, t in hcpc_spec.ADHERENCE_TRANSITIONS.items()}
    for arm, table in tables.items():
        assert table.sum(axis=1).tolist() == list(hcpc_spec.ADHERENCE_BASELINE[arm])
    found = calibrate_hcpc.adherence_statistics(tables)
    assert round(100 * found["concordant"][0]) == 10 and round(found["concordant"][1], 2) == 0.05
    lnt = found["listed_not_taken"]
    assert round(100 * lnt[0]) == -17 and round(lnt[1], 3) == 0.013
    # the design table: sizes and loss to follow-up per arm and site
    arm, site, pats, counts = hcpc_spec._design_cells()
    for (a, s_), n in hcpc_spec.RANDOMIZED.items():
        cell = (arm == hcpc.ARMS.index(a)) & (site == hcpc.SITES.index(s_))
        lost = np.array(["??" in p for p in pats])
        assert counts[cell].sum() == n
        assert counts[cell & lost].sum() == hcpc_spec.LOST_12[a, s_]
    # the stored 24-month statuses are the no-drift assignment of the stored 12-month design
    # (issue 18: held out, not fitted): assigning again changes nothing
    table = {
        (hcpc.ARMS[a], hcpc.SITES[s_], p): int(n)
        for a, s_, p, n in zip(arm, site, pats, counts, strict=True)
    }
    assert calibrate_hcpc.assign_24(table) == table
    # the tuned questionnaire spreads still give the P values they were searched for (one
    # evaluation each; the grid searches take about a minute and run outside the suite)
    seed = hcpc.DEFAULT_SEED
    assert round(calibrate_hcpc.trust_p(seed, hcpc_spec.TRUST_CHANGE_SD), 3) == 0.047  # unadjusted
    assert round(calibrate_hcpc.recommend_pcp_p(seed, hcpc_spec.RECOMMEND_PCP_MOVES), 2) == 0.02
    assert round(calibrate_hcpc.recommend_p(seed, hcpc_spec.RECOMMEND_CLINICIAN_SD), 3) == 0.002


def test_match_moments_impossible() -> None:
    with pytest.raises(AnalysisError):
        match_moments(np.arange(5.0), 120.0, 1.0, lower=0.0, upper=100.0)
    with pytest.raises(OptionError, match="infeasible"):
        match_moments(np.arange(5.0), 2.0, 1.0, infeasible="clip")  # type: ignore[arg-type]


def test_match_moments_closest() -> None:
    low, up = np.array([160.0, 160.0, 100.0]), 330.0
    x = np.array([170.0, 200.0, 140.0])
    # reachable: the same values as the exact solve
    exact = match_moments(x, 150.0, 35.0, lower=low, upper=up)
    assert np.array_equal(
        match_moments(x, 150.0, 35.0, lower=low, upper=up, infeasible="closest"), exact
    )
    # an SD of 50 with mean 145: the increasing map can at most send the two lower ranks to
    # their bounds (160 and 100) and the top one to 3 * 145 - 260 = 175 (SD 39.69)
    with pytest.raises(AnalysisError):
        match_moments(x, 145.0, 50.0, lower=low, upper=up)
    y = match_moments(x, 145.0, 50.0, lower=low, upper=up, infeasible="closest")
    assert y.mean() == pytest.approx(145.0, abs=1e-9)
    assert np.allclose(y, [160.0, 175.0, 100.0], atol=0.01) and np.all(y >= low)
    # a mean below the average lower bound (140): the bounds themselves are the closest
    assert np.array_equal(
        match_moments(x, 120.0, 5.0, lower=low, upper=up, infeasible="closest"), low
    )
    # one value: the mean (inside the bounds); none: nothing
    assert match_moments(
        [170.0], 165.0, 5.0, lower=160.0, upper=up, infeasible="closest"
    ).tolist() == pytest.approx([165.0])
    assert match_moments([], 165.0, 5.0, lower=160.0, infeasible="closest").size == 0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 12), min_size=2, max_size=24).filter(lambda c: sum(c) > 0),
    st.integers(0, 2**31),
    st.integers(0, 400),
)
def test_balanced_counts_properties(counts: list[int], seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    c = np.array(counts)
    level = rng.integers(0, 3, c.size)
    features = rng.random((4, c.size)) < 0.5
    got = balanced_counts(c, [level], features, n)
    start = nested_counts(c, [level], n)
    assert got.sum() == n
    # the level totals are those of nested_counts; each cell within one of its share there
    totals = np.bincount(level, weights=start, minlength=3)
    assert np.array_equal(np.bincount(level, weights=got, minlength=3), totals)
    original = np.bincount(level, weights=c, minlength=3)
    share = c * np.divide(totals, original, out=np.zeros(3), where=original > 0)[level]
    assert np.all(np.abs(got - share) < 1 + 1e-9)
    # the feature margins are never further from their shares than Hamilton's
    target = features @ (c * n / c.sum())
    assert np.sum((features @ got - target) ** 2) <= np.sum((features @ start - target) ** 2) + 1e-9
    assert np.array_equal(balanced_counts(c, [level], features, int(c.sum())), c)


def test_helpers_by_hand() -> None:
    # 244 of 441 is the only count that prints as 55.3 %
    assert largest_remainder([55.3, 44.7], 441).tolist() == [244, 197]
    means, within = group_targets(12.4, 7.4, [14.1, 7.6], [166, 58], decimals=1)
    assert abs((166 * means[0] + 58 * means[1]) / 224 - 12.4) < 1e-12
    total_ss = (165 + 57) * within**2 + 58 * (means[1] - 12.4) ** 2 + 166 * (means[0] - 12.4) ** 2
    assert abs(total_ss / 223 - 7.4**2) < 1e-9
    with pytest.raises(AnalysisError):
        group_targets(10.0, 1.0, [9.8, 10.3], [10, 90], decimals=1)
    r = round_exact_mean(np.array([1.26, 2.26, 3.26]), 1, mean=2.26)
    assert np.allclose(r, np.round(r, 1)) and abs(r.mean() - 2.26) <= 0.05 / 3 + 1e-12
    items = split_total(np.random.default_rng(0), [11, 33, 55], 11)
    assert items.sum(axis=1).tolist() == [11, 33, 55] and items.min() >= 1 and items.max() <= 5
    counts = likert_counts(134, 3.57, 0.8)
    assert counts.sum() == 134 and round((counts * np.arange(1, 6)).sum() / 134, 2) == 3.57
    x = truncated_normal(np.random.default_rng(1), 0.0, 1.0, 5.0, 6.0, size=100)
    assert x.min() >= 5.0 and x.max() <= 6.0  # far upper tail stays finite and in range
