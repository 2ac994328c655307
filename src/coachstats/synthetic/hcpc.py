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
shares (:func:`~._common.balanced_counts`). Means and SDs are matched exactly
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

import functools
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
from scipy import special

from coachstats.core.errors import CoachstatsWarning
from coachstats.synthetic.common import (
    ARMS,
    BoolArray,
    FloatArray,
    Format,
    IntArray,
    apportioned_labels,
    balanced_counts,
    check_seed,
    check_size,
    design_columns,
    exact_labels,
    group_targets,
    largest_remainder,
    likert_counts,
    match_moments,
    nested_counts,
    round_exact_mean,
    sequential_ids,
    split_total,
    str_take,
    stream_rng,
    truncated_normal,
    write_tables,
)
from coachstats.synthetic.tables import (
    ColumnBuilder,
    TableSource,
    WriteProgress,
    array_column,
    label_array,
    label_column,
)

__all__ = [
    "ARMS",
    "BASELINE",
    "DEFAULT_SEED",
    "MIN_N",
    "N_RANDOMIZED",
    "READS",
    "SITES",
    "HcpcCohort",
    "hcpc_cohort",
]

DEFAULT_SEED = 20150301
"""Default seed (the month the trial was published: March 2015)."""
N_RANDOMIZED = 441
MIN_N = 50
"""Smallest cohort :func:`hcpc_cohort` generates (a few patients per design group)."""

SITES: tuple[str, str] = ("A", "B")
MEASURES: tuple[str, str, str] = ("hba1c", "sbp", "ldl")
MEASURE_INDEX = {m: i for i, m in enumerate(MEASURES)}

# --- design (published: arm and site sizes; assumed: the arm x site split) -------------
#: Randomized per arm and site. Coached patients per site follow from the printed mean
#: contacts: 14.1 at A and 7.6 at B average to 12.4 only with about 166 of 224 at site A.
RANDOMIZED = {
    ("coaching", "A"): 166,
    ("coaching", "B"): 58,
    ("usual_care", "A"): 166,
    ("usual_care", "B"): 51,
}
#: No 12-month measurement (441 -> 372 analysed: 224 - 194 = 30 and 217 - 178 = 39).
LOST_12 = {
    ("coaching", "A"): 22,
    ("coaching", "B"): 8,
    ("usual_care", "A"): 29,
    ("usual_care", "B"): 10,
}
#: Seen at both 12 and 24 months: 290 of 441 (Sharma 2016). The split by arm is not published;
#: assumed: each arm's share of the patients analysed at 12 months (194 and 178), apportioned by
#: largest remainder (151 and 139). The 24-month goal figures are held out: nothing here (and
#: no calibration step) reads them; see ``calibrate_hcpc.PRIOR`` for what the cohort assumes.
SEEN_24_TOTAL = 290
SEEN_24 = dict(
    zip(
        ARMS,
        largest_remainder(
            [sum(RANDOMIZED[a, s] - LOST_12[a, s] for s in ("A", "B")) for a in ARMS],
            SEEN_24_TOTAL,
        ).tolist(),
        strict=True,
    )
)

# --- 12-month outcome counts: (at goal, analysed) per arm -------------------------------
#: Per-condition goal counts; key (measure, site or None for both sites).
GOAL_COUNTS_12: dict[tuple[str, str | None], dict[str, tuple[int, int]]] = {
    ("hba1c", None): {"coaching": (34, 70), "usual_care": (21, 76)},
    ("ldl", "A"): {"coaching": (33, 79), "usual_care": (16, 63)},
    # SBP: "did not differ significantly" -- assumed 47.5 % vs 43.2 %, Pearson P = .60
    ("sbp", None): {"coaching": (38, 80), "usual_care": (32, 74)},
}
COMPOSITE_12 = {
    "any": {"coaching": (90, 194), "usual_care": (61, 178)},
    "all": {"coaching": (66, 194), "usual_care": (44, 178)},
}

# --- baseline distributions (published) ---------------------------------------------------


@dataclass(frozen=True)
class Moments:
    """A published mean (SD), optionally per site, and how the values are written."""

    mean: float
    sd: float
    site_means: tuple[float, ...] = ()
    printed: int = 1  # decimals of the printed mean and SD
    lower: float | None = None  # bounds of the values (written values stay inside)
    upper: float | None = None
    decimals: int = 0  # decimals of the written values


#: Among the patients uncontrolled on the measure: mean (SD) overall and site A / B means.
BASELINE = {
    "hba1c": Moments(9.9, 1.5, (9.8, 10.3), upper=16.0, decimals=1),
    "ldl": Moments(147.0, 35.6, (147.3, 145.2), upper=330.0),
    "sbp": Moments(159.4, 15.4, (158.3, 160.9), upper=230.0),
}
#: Lab precision of the written values (decimals).
LAB_DECIMALS = {"hba1c": 1, "sbp": 0, "ldl": 0, "bmi": 1}
#: Plausible lab ranges (bounds of every draw).
LAB_RANGE = {"hba1c": (4.5, 16.0), "sbp": (90.0, 230.0), "ldl": (30.0, 330.0)}

COVARIATES = {
    "age": Moments(52.7, 11.1, lower=17.5, upper=75.5),  # eligibility 18-75
    "bmi_0": Moments(31.4, 6.7, lower=16.0, upper=65.0, decimals=1),
    "pcp_visits": Moments(5.4, 4.1, lower=-0.5),
    "coaching_minutes": Moments(540.8, 307.6, lower=-0.5),
    # per coached patient: 12.4 (7.4) overall, 14.1 at site A, 7.6 at site B
    "coach_contacts": Moments(12.4, 7.4, (14.1, 7.6), lower=-0.5),
}

#: Counts per site at n = 441 (percentages printed: female 55.3 %; Spanish 89.5 % / 5.5 %
#: (68.7 % overall); Latino 70.1 %, African American 1.8 % / 71.6 % (19.0 % overall)).
#: Latino per site, the other groups, marital and work status are not published (assumed).
SITE_COUNTS: dict[str, dict[str, dict[str, int]]] = {
    "ethnicity": {
        "A": {"latino": 300, "african_american": 6, "asian": 12, "white": 8, "other": 6},
        "B": {"latino": 9, "african_american": 78, "asian": 6, "white": 9, "other": 7},
    },
    "spanish_among_latino": {
        "A": {"spanish": 297, "english": 3},
        "B": {"spanish": 6, "english": 3},
    },
    "sex": {"A": {"female": 184, "male": 148}, "B": {"female": 60, "male": 49}},
    "marital_status": {
        "A": {"married": 126, "single": 106, "divorced_separated": 70, "widowed": 30},
        "B": {"married": 28, "single": 44, "divorced_separated": 25, "widowed": 12},
    },
    "work_status": {
        "A": {"employed": 110, "unemployed": 96, "disabled": 66, "retired": 45, "other": 15},
        "B": {"employed": 22, "unemployed": 33, "disabled": 32, "retired": 17, "other": 5},
    },
}
#: Share of patients with a diagnosis but controlled at baseline (assumed).
DIAGNOSED_CONTROLLED = {"hypertension": 0.55, "hyperlipidemia": 0.50}
INSULIN_SHARE = 0.35  # among patients with diabetes (assumed)

#: Clinicians (17, 15 of them in the clinician survey) and their relative panel sizes.
CLINICIANS = {
    "A": {
        f"C{i:02d}": w
        for i, w in enumerate((36, 34, 31, 29, 28, 27, 26, 25, 24, 22, 20, 17, 13), 1)
    },
    "B": {f"C{i:02d}": w for i, w in enumerate((33, 30, 26, 20), 14)},
}
SURVEY_CLINICIANS = tuple(c for s in SITES for c in CLINICIANS[s] if c not in ("C13", "C17"))
#: Coaches: about 75 coached patients each (224 / 3); coach 3 worked at both sites.
COACHES = {"A": {"coach1": 75, "coach2": 75, "coach3": 16}, "B": {"coach3": 58}}

# --- medication adherence (Thom et al., J Am Board Fam Med 2015) ---------------------------
#: Concordance states: (concordant, listed not taken, taken not listed) proportions of the
#: patient's target-condition medications (union of chart and report).
ADHERENCE_STATES = {
    "all_concordant": (1.0, 0.0, 0.0),
    "some_not_taken": (0.5, 0.5, 0.0),
    "none_taken": (0.0, 1.0, 0.0),
    "extra_taken": (0.5, 0.0, 0.5),
    "switched": (0.0, 0.5, 0.5),
    "only_unlisted": (0.0, 0.0, 1.0),
}
#: Patients with a medication interview at both 0 and 12 months (not published; assumed
#: 237 of the 372 analysed), by baseline state (about a third each taking all, some or
#: none of their medications, as in the practice brief).
ADHERENCE_BASELINE = {"coaching": (38, 34, 36, 5, 4, 3), "usual_care": (37, 33, 35, 5, 4, 3)}
#: Baseline -> 12-month state counts (rows and columns in ADHERENCE_STATES order), found by
#: ``python -m tools.calibration.calibrate_hcpc adherence`` (``search_adherence``): usual care
#: is the starting Markov table; coaching is the table closest to its start whose Welch t tests
#: on the per-patient changes give +10.1 % (P = .050) concordant and -16.9 % (P = .013) listed
#: but not taken.
ADHERENCE_TRANSITIONS = {
    "coaching": (
        (27, 4, 3, 2, 1, 1),
        (9, 12, 2, 5, 4, 2),
        (4, 2, 2, 13, 3, 12),
        (1, 0, 2, 2, 0, 0),
        (1, 1, 0, 1, 1, 0),
        (1, 0, 1, 0, 0, 1),
    ),
    "usual_care": (
        (26, 4, 3, 2, 1, 1),
        (4, 14, 6, 3, 4, 2),
        (2, 3, 12, 5, 5, 8),
        (1, 1, 2, 1, 0, 0),
        (0, 1, 1, 1, 1, 0),
        (0, 0, 2, 0, 0, 1),
    ),
}
#: Medications by condition ("other" rows are excluded by the analysis).
MEDICATIONS = {
    "diabetes": ("metformin", "glipizide", "insulin glargine", "pioglitazone", "sitagliptin"),
    "hypertension": ("lisinopril", "amlodipine", "hydrochlorothiazide", "metoprolol", "losartan"),
    "hyperlipidemia": ("simvastatin", "atorvastatin", "pravastatin", "ezetimibe"),
    "other": ("omeprazole", "albuterol", "gabapentin", "sertraline"),
}
MEDICATION_CONDITIONS = ("diabetes", "hypertension", "hyperlipidemia")
#: Number of target medications allowed per state (capped at 2 per diagnosed condition).
STATE_MED_COUNTS = {
    "all_concordant": (1, 2, 3, 4),
    "some_not_taken": (2, 4),
    "none_taken": (1, 2, 3),
    "extra_taken": (2, 4),
    "switched": (2, 4),
    "only_unlisted": (1, 2),
}
#: Adherent days (of the last 7), not published: mean per state, patient-level and visit SDs,
#: and the 12-month shift per arm before the coaching sum is set to give the printed +1.08.
DAYS_STATE_MEAN = (6.0, 4.0, 2.5, 5.5, 3.5, 4.5)
DAYS_PATIENT_SD = 1.0
DAYS_VISIT_SD = 0.7
DAYS_SHIFT_12 = {"coaching": 0.9, "usual_care": 0.0}
#: Difference in mean change of adherent days, coaching - usual care (printed +1.08).
ADHERENT_DAYS_DIFFERENCE = 1.08

# --- questionnaires (Thom et al. 2014, 2015; practice brief) --------------------------------
#: Patients who answered the 12-month questionnaire (and the baseline one): the 366 "with both
#: time points" of the PACIC paper, taken from the 372 analysed (split assumed).
QUESTIONNAIRE_12 = {"coaching": 190, "usual_care": 176}
#: Trust in Physician (0-100): baseline mean (SD) assumed; change 0 -> 12 months as printed.
TRUST_BASELINE = Moments(74.0, 15.0)
TRUST_CHANGE = {"coaching": 3.9, "usual_care": 1.5}
#: SD of the per-patient trust change (score points). Found by ``calibrate_hcpc.tune_trust``:
#: the value on a 0.01 grid (10-15) whose unadjusted mixed model (change ~ arm + (1 | clinician),
#: the target ``trust_change``) gives P nearest .047 on the bundled cohort. The P adjusted for
#: PCP visits (printed .03) is held out: not read here.
TRUST_CHANGE_SD = 12.64  # P = .0470
TRUST_CLINICIAN_SD = 1.0  # clinician effect on the change (score points; assumed)
#: "Would highly recommend their PCP" (4 of 4): baseline counts among the 12-month respondents
#: (60 %, assumed) and the patients moving up to / down from "definitely" by 12 months. The net
#: changes are printed (+16.3 % = 31/190, +4.0 % = 7/176); how many moved both ways was found by
#: ``calibrate_hcpc.tune_recommend_pcp`` (mixed model P nearest .02).
RECOMMEND_PCP_BASELINE = {"coaching": 114, "usual_care": 106}
RECOMMEND_PCP_MOVES = {"coaching": (48, 17), "usual_care": (24, 17)}  # (up, down); P = .0200
#: PACIC (mean of 20 items, 1-5) among the respondents at both times: (baseline, 12 months) as
#: printed; SDs assumed.
PACIC_MEANS = {"coaching": (3.00, 3.82), "usual_care": (3.06, 3.13)}
PACIC_SD = (0.75, 0.70)
PACIC_CORRELATION = 0.45  # between baseline and 12 months (assumed)
#: "Definitely recommend" the clinic (4 of 4): counts among the respondents, (baseline, 12 months):
#: 73 % / 73 % at baseline, 85 % vs 73 % at 12 months (139 and 162 of 190; 128 and 128 of 176).
RECOMMEND_COUNTS = {"coaching": (139, 162), "usual_care": (128, 128)}
#: Spread of the clinician effect in the latent that orders who recommends at 12 months. Found
#: by ``calibrate_hcpc.tune_recommend``: GEE (binomial, exchangeable, clustered by clinician)
#: P nearest .002 on a 0.01 grid.
RECOMMEND_CLINICIAN_SD = 0.75  # P = .0022
#: Clinician post-visit survey (Dube et al. 2015): 269 visits rated by the 15 responding
#: clinicians (split by arm assumed); printed means, assumed SDs (1-5 items).
VISITS = {"coaching": 135, "usual_care": 134}
VISIT_RATINGS = {
    "demanding": {"coaching": (2.44, 0.95), "usual_care": (3.06, 0.95)},
    "adequate_time": {"coaching": (3.96, 0.80), "usual_care": (3.57, 0.85)},
}
VISIT_CLINICIAN_SD = 0.5  # clinician effect in the latent that orders the ratings (assumed)

#: The registry targets ("trial:target") whose printed figures this module's constants hold,
#: by how: exact counts and shares (construction) or means and SDs (moment-matched). With
#: ``tools.calibration.calibrate_hcpc.READS`` this is everything the HCPC cohort was built
#: from; a target in neither is held out (``tests/test_calibration_reads.py``).
READS: dict[str, tuple[str, ...]] = {
    "construction": (
        "hcpc:randomized",  # RANDOMIZED
        "hcpc:randomized_by_site",
        "hcpc:coaches",  # COACHES
        "hcpc:composite_any",  # COMPOSITE_12, GOAL_COUNTS_12 (through the design table)
        "hcpc:composite_all",
        "hcpc:hba1c_goal",
        "hcpc:ldl_goal_site_a",
        "hcpc:sbp_goal",
        "hcpc:female",  # SITE_COUNTS
        "hcpc:spanish",
        "hcpc:latino",
        "hcpc:african_american",
        "hcpc:spanish_by_site",
        "hcpc:african_american_by_site",
        "hcpc_24:seen_both",  # SEEN_24_TOTAL
        "hcpc_trust:recommend_pcp_change",  # RECOMMEND_PCP_BASELINE and the net moves
        "hcpc_pacic:n_both",  # QUESTIONNAIRE_12
        "hcpc_pacic:recommend_0",  # RECOMMEND_COUNTS
        "hcpc_pacic:recommend_12",
        "hcpc_clinician:n_visits",  # VISITS
        "hcpc_clinician:n_clinicians",  # SURVEY_CLINICIANS
        "hcpc_clinician:clinicians",  # CLINICIANS
    ),
    "moment-matched": (
        "hcpc:age",  # COVARIATES
        "hcpc:bmi",
        "hcpc:pcp_visits",
        "hcpc:coach_contacts",
        "hcpc:coach_contacts_by_site",
        "hcpc:coaching_minutes",
        "hcpc:baseline_hba1c",  # BASELINE
        "hcpc:baseline_ldl",
        "hcpc:baseline_sbp",
        "hcpc:baseline_hba1c_by_site",
        "hcpc:baseline_ldl_by_site",
        "hcpc:baseline_sbp_by_site",
        "hcpc_adherence:adherent_days",  # ADHERENT_DAYS_DIFFERENCE
        "hcpc_trust:trust_change",  # TRUST_CHANGE
        "hcpc_pacic:pacic_0",  # PACIC_MEANS
        "hcpc_pacic:pacic_12",
        "hcpc_clinician:demanding",  # VISIT_RATINGS
        "hcpc_clinician:adequate_time",
    ),
}

#: Generation streams (independent child seeds ``SeedSequence(seed, spawn_key=(i,))``), so
#: tuning one block leaves the others; new blocks are appended.
_STREAMS = (
    "design", "covariates", "labs", "questionnaires", "medications", "visits",
    "trust", "recommend_pcp", "pacic", "recommend",
)  # fmt: skip


def seeded_rng(seed: int, stream: str) -> np.random.Generator:
    """The generator of one block (the i-th child of ``SeedSequence(seed)``)."""
    return stream_rng(seed, _STREAMS, stream)


# ---------------------------------------------------------------------------
# design table


@functools.cache
def _design_cells() -> tuple[IntArray, IntArray, tuple[tuple[str, str, str], ...], IntArray]:
    """Parse ``coachstats/synthetic/hcpc_design.py``: arm index, site index, token pattern, count per cell."""
    from coachstats.synthetic.hcpc_design import DESIGN_TABLE

    arms, sites, pats, counts = [], [], [], []
    for line in DESIGN_TABLE.strip().splitlines():
        arm, site, h, b, ldl, count = line.split()
        arms.append(ARMS.index(arm))
        sites.append(SITES.index(site))
        pats.append((h, b, ldl))
        counts.append(int(count))
    return np.array(arms), np.array(sites), tuple(pats), np.array(counts, dtype=np.int64)


@dataclass(frozen=True)
class _Design:
    """Per-patient design arrays (internal; never written)."""

    arm: IntArray
    site: IntArray
    diabetes: BoolArray
    uncontrolled: BoolArray  # (n, 3)
    lost: BoolArray
    seen24: BoolArray
    goal12: BoolArray  # (n, 3), meaningful where uncontrolled and not lost
    goal24: BoolArray  # (n, 3), meaningful where uncontrolled and seen24
    exact: bool  # n == 441: every published count is met exactly


def _follow_class(pattern: tuple[str, str, str]) -> int:
    """0 lost at 12 months, 1 seen at 12 only, 2 seen at 12 and 24."""
    tok = next(t for t in pattern if t not in ("n", "c"))
    return 0 if tok == "??" else (1 if tok[1] == "?" else 2)


@functools.cache
def _cell_tokens() -> tuple[npt.NDArray[np.str_], npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """Per design cell (rows) and measure (columns): the token, its 12- and its 24-month part."""
    tok = np.array(_design_cells()[2], dtype="U2")
    first = np.array([[t[:1] for t in row] for row in tok])
    second = np.array([[t[1:] for t in row] for row in tok])
    return tok, first, second


@functools.cache
def _design_features() -> FloatArray:
    """Margins that scaled designs keep proportional (features x cells, see ``balanced_counts``).

    For every arm and every arm x site: each measure's token (not diabetic,
    controlled, or uncontrolled with its goal status at 12 and 24 months);
    uncontrolled with diabetes for SBP and LDL (whose entry thresholds depend
    on it); uncontrolled, analysed and at goal at 12 months per measure; >= 1
    goal and all goals at 12 months; >= 1 goal at 12 x at 24 months among the
    patients seen at both.
    """
    arm_c, site_c, pats, _ = _design_cells()
    tok, first, second = _cell_tokens()
    unc = (tok != "n") & (tok != "c")
    cls = np.array([_follow_class(p) for p in pats])
    analysed = unc & (cls > 0)[:, None]
    any12 = np.any(unc & (first == "+"), axis=1)
    all12 = ~np.any(unc & (first == "-"), axis=1)
    any24 = np.any(unc & (second == "+"), axis=1)
    traits = [tok[:, k] == v for k in range(tok.shape[1]) for v in np.unique(tok[:, k])]
    traits += [unc[:, k] & (tok[:, 0] != "n") for k in (1, 2)]
    traits += [m[:, k] for m in (unc, analysed, analysed & (first == "+")) for k in range(3)]
    traits += [(cls > 0) & any12, (cls > 0) & all12]
    traits += [(cls == 2) & (any12 == g12) & (any24 == g24) for g12 in (0, 1) for g24 in (0, 1)]
    groups = [arm_c == a for a in range(len(ARMS))]
    groups += [(arm_c == a) & (site_c == s) for a in range(len(ARMS)) for s in range(len(SITES))]
    return np.array([t & g for g in groups for t in traits], dtype=float)


def _design(rng: np.random.Generator, n: int) -> _Design:
    """Per-patient design: the design cells scaled to ``n`` (:func:`balanced_counts`), shuffled.

    Arms, arm x site and follow-up class are apportioned level by level; the
    cells inside each are balanced on :func:`_design_features`. At 441 the
    cells are the design table's counts.
    """
    arm_c, site_c, pats, counts = _design_cells()
    cls = np.array([_follow_class(p) for p in pats])
    levels = [arm_c, arm_c * len(SITES) + site_c, cls]
    cell_n = balanced_counts(counts, levels, _design_features(), n)
    cell = rng.permutation(np.repeat(np.arange(counts.size), cell_n))
    tokens, firsts, seconds = _cell_tokens()
    tok, first, second = tokens[cell], firsts[cell], seconds[cell]  # (n, 3)
    unc = (tok != "n") & (tok != "c")
    lost = np.any(unc & (tok == "??"), axis=1)
    seen24 = np.any(unc & (second != "?") & (second != ""), axis=1)
    return _Design(
        arm=arm_c[cell],
        site=site_c[cell],
        diabetes=tok[:, 0] != "n",
        uncontrolled=unc,
        lost=lost,
        seen24=seen24,
        goal12=unc & (first == "+"),
        goal24=unc & (second == "+"),
        exact=n == N_RANDOMIZED,
    )


# ---------------------------------------------------------------------------
# covariates


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


def _int_array(values: FloatArray) -> pd.arrays.IntegerArray:
    """Nullable integers (NaN -> <NA>)."""
    na = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(na, 0, values).astype(np.int64), na)


def _covariates(rng: np.random.Generator, d: _Design) -> dict[str, Any]:
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
    cols["coach_contacts"] = _int_array(contacts)
    cols["coaching_minutes"] = _int_array(minutes)
    return cols


# ---------------------------------------------------------------------------
# labs


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


def _labs(rng: np.random.Generator, d: _Design, bmi_0: FloatArray) -> dict[str, FloatArray]:
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


# ---------------------------------------------------------------------------
# medications and adherent days


def _adherence_states(rng: np.random.Generator, d: _Design) -> tuple[IntArray, IntArray]:
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
    order = np.argsort(keys[who], axis=1, kind="stable")  # the patient's drugs, in a fixed order
    slot = np.arange(names.size)[None, :]
    take = slot < n_meds[:, None]
    rows_p, rows_s = np.nonzero(take)
    drug = order[rows_p, rows_s]
    in_chart = rows_s < n_conc[rows_p] + n_lnt[rows_p]
    reported = (rows_s < n_conc[rows_p]) | (rows_s >= n_conc[rows_p] + n_lnt[rows_p])
    # other (non-target) medications: 0-2 per visit, excluded by the analysis
    n_other = rng.integers(0, 3, size=who.size)
    other_names = np.array(MEDICATIONS["other"], dtype=object)
    o_order = np.argsort(rng.random((who.size, other_names.size)), axis=1)
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
    rng: np.random.Generator, d: _Design, s0: IntArray, s12: IntArray
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


def _medications(
    rng: np.random.Generator, d: _Design, cols: dict[str, Any], ids: Any
) -> tuple[TableSource, TableSource]:
    """The medication and adherent-days tables, as compact columns (patients and drugs as codes)."""
    conditions = MEDICATION_CONDITIONS
    diagnosed = np.column_stack([np.asarray(cols[c], dtype=bool) for c in conditions])
    s0, s12 = _adherence_states(rng, d)
    names_cond = [c for c in conditions for _ in MEDICATIONS[c]]
    allowed = np.array([[c == name for name in names_cond] for c in conditions])  # (3, drugs)
    keys = rng.random((d.arm.size, len(names_cond)))
    keys[~(diagnosed.astype(int) @ allowed.astype(int)).astype(bool)] = np.inf
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


# ---------------------------------------------------------------------------
# questionnaires and clinician ratings


def questionnaire_respondents(rng: np.random.Generator, d: _Design) -> BoolArray:
    """Answered the 12-month questionnaire: exact counts among the patients seen at 12 months."""
    out = np.zeros(d.arm.size, dtype=bool)
    for a, arm in enumerate(ARMS):
        seen = np.flatnonzero((d.arm == a) & ~d.lost)
        k = _arm_count(d, arm, QUESTIONNAIRE_12[arm], seen.size)
        out[rng.choice(seen, size=k, replace=False)] = True
    return out


def _arm_count(d: _Design, arm: str, count: int, pool: int) -> int:
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
    d: _Design,
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
    d: _Design,
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
    return {"recommend_pcp_0": _int_array(r0), "recommend_pcp_12": _int_array(r12)}


def _pacic_items(
    rng: np.random.Generator, d: _Design, cols: dict[str, Any], resp: BoolArray
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
    d: _Design,
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
    return {"recommend_0": _int_array(r0), "recommend_12": _int_array(r12)}


def _visit_ratings(
    rng: np.random.Generator, d: _Design, cols: dict[str, Any], ids: Any
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


def _questionnaires(seed: int, d: _Design, cols: dict[str, Any]) -> dict[str, Any]:
    resp = questionnaire_respondents(seeded_rng(seed, "questionnaires"), d)
    out: dict[str, Any] = {}
    out.update(trust_items(seeded_rng(seed, "trust"), d, cols, resp))
    out.update(_pacic_items(seeded_rng(seed, "pacic"), d, cols, resp))
    out.update(recommend_items(seeded_rng(seed, "recommend"), d, cols, resp))
    out.update(recommend_pcp_items(seeded_rng(seed, "recommend_pcp"), d, resp))
    return out


# ---------------------------------------------------------------------------
# the cohort


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


def base_cohort(seed: int, n: int) -> tuple[_Design, dict[str, Any]]:
    """Design and covariates (what every later block depends on)."""
    d = _design(seeded_rng(seed, "design"), n)
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
        questionnaires = _questionnaires(seed, d, cols)
        meds, days, visits = side.result()
    cols.update(questionnaires)
    names = list(PATIENT_COLUMNS) + list(questionnaires)
    patients = _patients_source(d, cols, names, ids)
    sources = dict(zip(HcpcCohort.TABLE_NAMES, (patients, meds, days, visits), strict=True))
    return HcpcCohort(sources=sources, seed=seed, n=n, decimals=_decimals(names))


def _side_tables(
    seed: int, d: _Design, cols: dict[str, Any], ids: Any
) -> tuple[TableSource, TableSource, TableSource]:
    """The medication, adherent-days and visit-rating tables (their own random streams)."""
    meds, days = _medications(seeded_rng(seed, "medications"), d, cols, ids)
    visits = TableSource.of_frame(_visit_ratings(seeded_rng(seed, "visits"), d, cols, ids))
    return meds, days, visits


def _patients_source(
    d: _Design, cols: dict[str, Any], names: Sequence[str], ids: Any
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
