"""The peer cohort's specification: the published figures and calibration constants it is built on (one place), and what each calibration step reads (:data:`READS`; no held-out target among them, issue 18).

Examples
--------
>>> sum(RANDOMIZED.values())
299
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ADJUSTMENT",
    "CALIBRATION",
    "CHANGES",
    "CLINICS",
    "COVARIATES",
    "DECIMALS",
    "DEFAULT_SEED",
    "HBA1C",
    "HBA1C_6",
    "LDL_6",
    "MIN_N",
    "NO_BASELINE_HBA1C",
    "N_COACHES",
    "N_RANDOMIZED",
    "PATIENT_COLUMNS",
    "RANDOMIZED",
    "READS",
    "SD_BAND",
    "STREAMS",
    "VITALS_6",
]


#: Default seed (the issue of Ann Fam Med in which the trial appeared: March 2013).
DEFAULT_SEED = 20130301


N_RANDOMIZED = 299


#: Smallest cohort :func:`peer_cohort` generates (a few patients per clinic and arm).
MIN_N = 50


RANDOMIZED = {"coaching": 148, "usual_care": 151}


CLINICS: dict[str, int] = {"C1": 68, "C2": 58, "C3": 52, "C4": 46, "C5": 41, "C6": 34}


N_COACHES = 23


#: The covariates of the adjusted models (age, marital status, work status, insulin use,
#: hypertension and BMI; baseline BMI stands for "BMI").
ADJUSTMENT: tuple[str, ...] = (
    "age",
    "marital_status",
    "work_status",
    "insulin",
    "hypertension",
    "bmi_0",
)


#: Patients with a 6-month HbA1c (27 (22.0 %) fits 27/123: one more coaching patient than the
#: 122 complete cases, who has no baseline laboratory value).
HBA1C_6 = {"coaching": 123, "usual_care": 114}


NO_BASELINE_HBA1C = {"coaching": 1, "usual_care": 0}


#: 6-month visit with vitals (SBP, BMI); includes every patient with a 6-month HbA1c.
VITALS_6 = {"coaching": 128, "usual_care": 123}


#: LDL at 6 months (and baseline): a subset of the HbA1c complete cases.
LDL_6 = {"coaching": 107, "usual_care": 96}


HBA1C: dict[str, dict[str, float]] = {
    "coaching": {
        "base_mean": 10.05,
        "base_sd": 2.0,
        "fu_mean": 8.98,
        "fu_sd": 2.0,
        "change_sd": 2.8,
        "base_lt_7_5": 5,
        "base_lt_7_0": 1,  # 1 of the 5: assumed
        "fu_lt_7_5": 27,  # of 123 with a 6-month value
        "drop": 60,  # of 121 complete cases with baseline >= 7.0
    },
    "usual_care": {
        "base_mean": 9.85,
        "base_sd": 2.0,
        "fu_mean": 9.55,
        "fu_sd": 2.3,
        "change_sd": 3.1,
        "base_lt_7_5": 7,
        "base_lt_7_0": 6,  # 6 of the 7: assumed
        "fu_lt_7_5": 17,  # of 114
        "drop": 34,  # of 108
    },
}


#: Published change mean and SD per arm; the BMI change SD is not published (assumed 1.5).
CHANGES: dict[str, dict[str, Any]] = {
    "sbp": {
        "coaching": (1.4, 22.3),
        "usual_care": (-4.3, 26.0),
        "decimals": 0,
        "baseline": (134.0, 18.0),
        "bounds": (85.0, 230.0),
    },
    "ldl": {
        "coaching": (-3.9, 41.4),
        "usual_care": (-3.0, 52.7),
        "decimals": 0,
        "baseline": (104.0, 36.0),
        "bounds": (35.0, 320.0),
    },
    "bmi": {
        "coaching": (-0.1, 1.5),
        "usual_care": (-0.1, 1.5),
        "decimals": 1,
        "baseline": None,
        "bounds": (15.0, 70.0),
    },
}


#: Half-width kept around a printed SD (the printed precision allows 0.05).
SD_BAND = 0.03


COVARIATES: dict[str, Any] = {
    "age": {"mean": 54.0, "sd": 10.0, "bounds": (21.5, 79.5)},
    "bmi_0": {"mean": 32.5, "sd": 7.0, "bounds": (18.0, 60.0)},
    "female": 0.52,
    "insulin": 0.42,
    "hypertension": 0.72,
    "marital_status": {
        "married": 0.30,
        "single": 0.38,
        "divorced_separated": 0.22,
        "widowed": 0.10,
    },
    "work_status": {"employed": 0.26, "unemployed": 0.34, "disabled": 0.26, "retired": 0.14},
}


#: Parameters found by ``python -m tools.calibration.calibrate_peer`` (seeded search; see
#: that module), which reads only the unadjusted figures. ``lam``: between-clinic SD of the
#: change (split between a baseline effect -lam/2 and a follow-up effect +lam/2 for HbA1c);
#: ``offset``: the noise substream; HbA1c only: ``rho`` (follow-up on baseline), ``trans``
#: (patients below 7.5 % at baseline but not at 6 months, per arm), ``k_lt`` (covariate weight
#: in choosing who is below 7.5 %). Not searched, because only the held-out adjusted figures
#: would inform them: ``A`` (covariate score with an arm difference of 1, which moves the
#: adjusted estimate by about -A), ``B`` (balanced covariate score, which lowers the adjusted
#: SE) and ``k_drop`` (covariate weight in choosing who drops >= 1 point) are fixed at 0: the
#: covariates are assumed unrelated to the changes.
CALIBRATION: dict[str, dict[str, Any]] = {
    "hba1c": {
        "lam": 2.3756,
        "A": 0.0,
        "B": 0.0,
        "rho": 0.05,
        "trans": (4, 6),
        "k_lt": 0.3297,
        "k_drop": 0.0,
        "offset": 6,
    },
    "sbp": {"lam": 1.7778, "A": 0.0, "B": 0.0, "offset": 0},
    "ldl": {"lam": 22.233, "A": 0.0, "B": 0.0, "offset": 0},
    "bmi": {"lam": 0.0288, "A": 0.0, "B": 0.0, "offset": 0},
}


#: The registry targets ("trial:target") whose printed figures this module's constants hold,
#: by how: exact counts (construction) or means and SDs (moment-matched). With
#: ``tools.calibration.calibrate_peer.READS`` (the tuned P values) this is everything the peer
#: cohort was built from; the adjusted figures are in neither: they are held out.
READS: dict[str, tuple[str, ...]] = {
    "construction": (
        "peer:randomized",  # RANDOMIZED
        "peer:clinics",  # CLINICS
        "peer:coaches",  # N_COACHES
        "peer:complete_case",  # HBA1C_6, NO_BASELINE_HBA1C
        "peer:hba1c_drop",  # HBA1C[...]["drop"]
        "peer:hba1c_lt_7_5",  # HBA1C[...]["fu_lt_7_5"]
        "peer:baseline_lt_7_5",  # HBA1C[...]["base_lt_7_5"]
        "peer:ldl_change",  # LDL_6 (n)
        "peer:sbp_change",  # VITALS_6 (n)
    ),
    "moment-matched": (
        "peer:baseline_hba1c",  # HBA1C
        "peer:hba1c_6",
        "peer:hba1c_change",
        "peer:ldl_change",  # CHANGES
        "peer:sbp_change",
        "peer:bmi_change",
    ),
}


STREAMS = ("design", "covariates", "followup", "hba1c", "sbp", "ldl", "bmi")


PATIENT_COLUMNS = (
    "patient_id",
    "arm",
    "site",
    "coach_id",
    "diabetes",
    "hypertension",
    "insulin",
    "age",
    "sex",
    "marital_status",
    "work_status",
    "bmi_0",
    "hba1c_0",
    "sbp_0",
    "ldl_0",
    "bmi_6",
    "hba1c_6",
    "sbp_6",
    "ldl_6",
)


DECIMALS = {
    "bmi_0": 1,
    "bmi_6": 1,
    "hba1c_0": 1,
    "hba1c_6": 1,
    "sbp_0": 0,
    "sbp_6": 0,
    "ldl_0": 0,
    "ldl_6": 0,
}
