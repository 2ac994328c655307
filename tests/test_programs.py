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


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return hcpc_cohort(n=2000, seed=3).patients


def test_without_effect_removes_the_effect(cohort: pd.DataFrame) -> None:
    before = derive_endpoints(cohort, HCPC_GOALS).groupby("arm")["composite_any"].mean()
    null = without_effect(cohort, seed=2)
    after = derive_endpoints(null, HCPC_GOALS).groupby("arm")["composite_any"].mean()
    assert before["coaching"] - before["usual_care"] > 0.10
    assert abs(after["coaching"] - after["usual_care"]) < 0.04
    # only the coached patients' follow-up values change; baselines, covariates, usual care do not
    usual = cohort["arm"] == "usual_care"
    pd.testing.assert_frame_equal(null.loc[usual], cohort.loc[usual])
    fixed = [c for c in cohort.columns if c not in ("hba1c_12", "sbp_12", "ldl_12")]
    pd.testing.assert_frame_equal(null[fixed], cohort[fixed])
    # the missing-data pattern is kept
    for c in ("hba1c_12", "sbp_12", "ldl_12"):
        assert (null[c].isna() == cohort[c].isna()).all()
    # seeded
    pd.testing.assert_frame_equal(null, without_effect(cohort, seed=2))
    # lab precision
    assert np.allclose(null["hba1c_12"].dropna() * 10, np.round(null["hba1c_12"].dropna() * 10))


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
