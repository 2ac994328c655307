"""Synthetic evaluation programs: no-effect transformation, single-arm mixtures, CPT encounters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coachstats.endpoints import derive_endpoints
from coachstats.errors import AnalysisError, OptionError
from coachstats.goals import HCPC_GOALS, PEER_GOALS
from coachstats.programs import single_arm_program, synthetic_encounters, without_effect
from coachstats.synthetic import hcpc_cohort, peer_cohort
from coachstats.synthetic.programs import CONDITION_FLAGS, MEASURE_COLUMNS
from coachstats.tasks.evaluate.plans import plan_outcomes


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort(n=2000, seed=3).patients


def test_without_effect_removes_the_effect(cohort: pd.DataFrame) -> None:
    before = derive_endpoints(cohort, HCPC_GOALS).groupby("arm")["composite_any"].mean()
    null = without_effect(cohort, seed=2)
    after = derive_endpoints(null, HCPC_GOALS).groupby("arm")["composite_any"].mean()
    assert before["coaching"] - before["usual_care"] > 0.10
    assert abs(after["coaching"] - after["usual_care"]) < 0.04
    # the usual-care arm, identifiers, sites, coaches and demographics do not change
    usual = cohort["arm"] == "usual_care"
    pd.testing.assert_frame_equal(null.loc[usual], cohort.loc[usual])
    record = list(CONDITION_FLAGS) + [
        c for c in cohort.columns if c.split("_")[0] in MEASURE_COLUMNS and c[-1].isdigit()
    ]
    assert {"diabetes", "hba1c_0", "hba1c_12", "ldl_24", "bmi_0"} <= set(record)
    kept = [c for c in cohort.columns if c not in record]
    pd.testing.assert_frame_equal(null[kept], cohort[kept])
    # every coached record (flags and labs, missing values included) is a usual-care record
    key = cohort.loc[usual, record].astype("string").fillna("<NA>").agg("|".join, axis=1)
    coached = null.loc[~usual, record].astype("string").fillna("<NA>").agg("|".join, axis=1)
    assert coached.isin(set(key)).all()
    # seeded
    pd.testing.assert_frame_equal(null, without_effect(cohort, seed=2))


def test_without_effect_is_unbiased_at_large_n() -> None:
    # issue 17: the earlier transformation (own baselines plus a matched donor's changes) left
    # effects of several points on the composites and mg/dL on LDL at n = 3,000. The coached
    # arm is now a resample of the usual-care records, so each outcome's coached mean differs
    # from the usual-care mean only by the resampling error, whose SE is sd / sqrt(n coached):
    # |difference| < 4 SE on every outcome (seeded, so deterministic; 4 SE of pure noise
    # would fail one of the eight outcomes with probability about 5e-4).
    cohort = hcpc_cohort(n=20000, seed=7).patients
    ep = derive_endpoints(without_effect(cohort, seed=7), HCPC_GOALS)
    outcomes = plan_outcomes(HCPC_GOALS)  # at goal for >= 1 / all, per condition, and changes
    assert len(outcomes) == 8
    for o in outcomes:
        y = pd.to_numeric(ep[o], errors="coerce").astype(float)
        c, u = y[ep["arm"] == "coaching"].dropna(), y[ep["arm"] == "usual_care"].dropna()
        se = u.std() / np.sqrt(len(c))
        assert len(c) > 1000 and abs(c.mean() - u.mean()) < 4 * se, o


def test_without_effect_on_the_peer_cohort() -> None:
    p = peer_cohort(n=1500, seed=3).patients
    null = without_effect(p, goals="peer", seed=0)
    ep = derive_endpoints(null, PEER_GOALS).groupby("arm")["change_hba1c"].mean()
    orig = derive_endpoints(p, PEER_GOALS).groupby("arm")["change_hba1c"].mean()
    assert orig["coaching"] - orig["usual_care"] < -0.7
    assert abs(ep["coaching"] - ep["usual_care"]) < 0.25


def test_without_effect_errors() -> None:
    df = pd.DataFrame({"arm": ["coaching", "usual_care"], "hba1c_0": [9.0, 9.0]})
    with pytest.raises(AnalysisError, match="follow-up"):
        without_effect(df)


def test_single_arm_program_mixture(cohort: pd.DataFrame) -> None:
    n_c = int((cohort["arm"] == "coaching").sum())
    prog = single_arm_program(cohort, usual_care_share=0.25, seed=1)
    assert set(prog["arm"]) == {"coaching"} and len(prog) == n_c + round(n_c / 3)
    assert prog["patient_id"].is_unique
    assert len(single_arm_program(cohort)) == n_c
    with pytest.raises(OptionError):
        single_arm_program(cohort, usual_care_share=1.0)


def test_synthetic_encounters_match_contacts(cohort: pd.DataFrame) -> None:
    coached = cohort.loc[cohort["arm"] == "coaching"]
    enc = synthetic_encounters(coached, seed=4)
    per = enc.groupby("patient_id").size()
    expected = coached.set_index("patient_id")["coach_contacts"].astype(int)
    assert (per == expected.loc[per.index]).all() and expected.loc[expected > 0].size == per.size
    firsts = enc.groupby("patient_id").first()
    assert (firsts["cpt"] == "0591T").all() and enc["date"].dtype.kind == "i"
    assert set(enc["cpt"]) == {"0591T", "0592T", "0593T"}
