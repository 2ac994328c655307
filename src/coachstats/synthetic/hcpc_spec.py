"""The HCPC cohort's specification: the published figures and calibration constants it is built on (one place), its random streams, and the design cells every patient is assigned to (from the generated :mod:`coachstats.synthetic.hcpc_design`).

What each calibration step reads is :data:`READS` (no held-out target among them; issue 18).

Examples
--------
>>> sum(RANDOMIZED.values()), N_RANDOMIZED
(441, 441)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coachstats.synthetic.common import (
    ARMS,
    BoolArray,
    FloatArray,
    IntArray,
    stream_rng,
)
from coachstats.synthetic.counts import (
    balanced_counts,
    largest_remainder,
)

__all__ = [
    "ADHERENCE_BASELINE",
    "ADHERENCE_STATES",
    "ADHERENCE_TRANSITIONS",
    "ADHERENT_DAYS_DIFFERENCE",
    "BASELINE",
    "CLINICIANS",
    "COACHES",
    "COMPOSITE_12",
    "COVARIATES",
    "DAYS_PATIENT_SD",
    "DAYS_SHIFT_12",
    "DAYS_STATE_MEAN",
    "DAYS_VISIT_SD",
    "DEFAULT_SEED",
    "DIAGNOSED_CONTROLLED",
    "GOAL_COUNTS_12",
    "INSULIN_SHARE",
    "LAB_DECIMALS",
    "LAB_RANGE",
    "LOST_12",
    "MEASURES",
    "MEASURE_INDEX",
    "MEDICATIONS",
    "MEDICATION_CONDITIONS",
    "MIN_N",
    "N_RANDOMIZED",
    "PACIC_CORRELATION",
    "PACIC_MEANS",
    "PACIC_SD",
    "QUESTIONNAIRE_12",
    "RANDOMIZED",
    "READS",
    "RECOMMEND_CLINICIAN_SD",
    "RECOMMEND_COUNTS",
    "RECOMMEND_PCP_BASELINE",
    "RECOMMEND_PCP_MOVES",
    "SEEN_24",
    "SEEN_24_TOTAL",
    "SITES",
    "SITE_COUNTS",
    "STATE_MED_COUNTS",
    "SURVEY_CLINICIANS",
    "TRUST_BASELINE",
    "TRUST_CHANGE",
    "TRUST_CHANGE_SD",
    "TRUST_CLINICIAN_SD",
    "VISITS",
    "VISIT_CLINICIAN_SD",
    "VISIT_RATINGS",
    "Design",
    "Moments",
    "draw_design",
    "seeded_rng",
]


#: Default seed (the month the trial was published: March 2015).
DEFAULT_SEED = 20150301


N_RANDOMIZED = 441


#: Smallest cohort :func:`hcpc_cohort` generates (a few patients per design group).
MIN_N = 50


SITES: tuple[str, str] = ("A", "B")


MEASURES: tuple[str, str, str] = ("hba1c", "sbp", "ldl")


MEASURE_INDEX = {m: i for i, m in enumerate(MEASURES)}


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
class Design:
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


def draw_design(rng: np.random.Generator, n: int) -> Design:
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
    return Design(
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
