"""Regenerate the figures shown in docs/figures.md.

Run from the repository root:

    python docs/img/make_figures.py

Every figure is drawn from results computed by coachstats itself on the
bundled synthetic HCPC cohort (data/synthetic, seed 20150301), except the
change figure, which uses the peer-coaching trial's published summary
statistics (Thom et al. 2013, Table 2), and, while the bundled medication file
is empty, the adherence figures, which use a small seeded illustrative table.
The files are byte-stable: running the script twice gives the same PNGs.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd

from coachstats import HCPC_GOALS, Flow, derive_endpoints
from coachstats.adherence import concordance
from coachstats.compare.means import t_test_from_stats
from coachstats.compare.proportions import chi_square
from coachstats.plots import (
    plot_adherence,
    plot_adherent_days,
    plot_by_arm,
    plot_changes,
    plot_consort,
    plot_forest,
    plot_published_vs_reproduced,
    save_figure,
)

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "synthetic"
DPI = 200

# HCPC published percentages (Willard-Grace et al. 2015; /work/shared/published.md section 1)
PUBLISHED = {
    "composite_any": (46.4, 34.3),
    "composite_all": (34.0, 24.7),
    "at_goal_hba1c": (48.6, 27.6),
    "at_goal_ldl": (41.8, 25.4),
}
LABELS = ["≥ 1 goal", "All goals", "HbA1c", "LDL (site A)", "SBP"]


def hcpc() -> tuple[pd.DataFrame, Flow]:
    patients = pd.read_csv(DATA / "hcpc_patients.csv")
    derived = derive_endpoints(patients, HCPC_GOALS, with_status=True, followup=12)
    return derived, Flow.from_endpoints(derived)


def binary_results(derived: pd.DataFrame, estimand: str = "risk difference") -> list:
    arms = {"treatment": "coaching", "control": "usual_care", "estimand": estimand}
    site_a = derived[derived["site"] == "A"]
    return [
        chi_square(derived, "composite_any", **arms),
        chi_square(derived, "composite_all", **arms),
        chi_square(derived, "at_goal_hba1c", **arms),
        chi_square(site_a, "at_goal_ldl", **arms),
        chi_square(derived, "at_goal_sbp", **arms),
    ]


def peer_changes() -> list:
    # mean change (SD), n per arm: Thom et al. 2013, Table 2
    rows = [
        ("change_hba1c", -1.07, 2.8, 122, -0.30, 3.1, 114),
        ("change_sbp", 1.4, 22.3, 128, -4.3, 26.0, 123),
        ("change_ldl", -3.9, 41.4, 107, -3.0, 52.7, 96),
    ]
    return [
        t_test_from_stats(*r[1:], labels=("coaching", "usual_care"), outcome=r[0]) for r in rows
    ]


def adherence_tables(arms: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    meds = pd.read_csv(DATA / "hcpc_medications.csv")
    days = pd.read_csv(DATA / "hcpc_adherent_days.csv")
    if meds.empty or days.empty:  # illustrative seeded table until the cohort has one
        meds, days = illustrative_medications(arms)
    conc = concordance(meds).merge(arms, on="patient_id")
    return conc, days.merge(arms, on="patient_id")


def illustrative_medications(arms: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2015)
    drugs = [
        ("metformin", "diabetes"),
        ("lisinopril", "hypertension"),
        ("atorvastatin", "hyperlipidemia"),
    ]
    rows, day_rows = [], []
    for pid, arm in arms.itertuples(index=False):
        for month in (0, 12):
            better = arm == "coaching" and month == 12
            for drug, condition in drugs:
                in_chart = rng.random() < 0.9
                taking = (
                    rng.random() < (0.85 if better else 0.7) if in_chart else rng.random() < 0.5
                )
                if in_chart or taking:
                    rows.append((pid, month, drug, condition, in_chart, taking))
            day_rows.append((pid, month, int(min(7, rng.poisson(5.5 if better else 4.5)))))
    meds = pd.DataFrame(
        rows,
        columns=["patient_id", "month", "medication", "condition", "in_chart", "reported_taking"],
    )
    return meds, pd.DataFrame(day_rows, columns=["patient_id", "month", "adherent_days_7"])


def main() -> None:
    derived, flow = hcpc()
    results = binary_results(derived)
    save_figure(plot_by_arm(results, labels=LABELS), OUT / "by_arm.png", dpi=DPI)
    save_figure(plot_by_arm(results, labels=LABELS, ci=True), OUT / "by_arm_ci.png", dpi=DPI)
    save_figure(plot_changes(peer_changes(), digits=[2, 1, 1])[0], OUT / "change.png", dpi=DPI)
    odds = binary_results(derived, "odds ratio")
    save_figure(plot_forest(odds, labels=LABELS), OUT / "forest.png", dpi=DPI)
    save_figure(plot_consort(flow, endpoint="composite_any"), OUT / "consort.png", dpi=DPI)
    conc, days = adherence_tables(derived[["patient_id", "arm"]])
    save_figure(plot_adherence(conc), OUT / "adherence.png", dpi=DPI)
    save_figure(plot_adherent_days(days, month=12), OUT / "adherent_days.png", dpi=DPI)
    rows = []
    for r in results[:4]:
        for arm, published in zip(r.arms, PUBLISHED[r.outcome], strict=True):
            name = LABELS[[x.outcome for x in results].index(r.outcome)]
            rows.append(
                ("HCPC", f"{name}, {arm.arm.replace('_', ' ')}", published, 100 * arm.value)
            )
    table = pd.DataFrame(rows, columns=["trial", "outcome", "published_value", "reproduced_value"])
    table["reproduced_value"] = table["reproduced_value"].round(1)
    save_figure(
        plot_published_vs_reproduced(table, digits=1), OUT / "published_vs_reproduced.png", dpi=DPI
    )
    tipping_figures(derived)


def tipping_figures(derived: pd.DataFrame) -> None:
    """Tipping points: HCPC composite by enumeration; peer HbA1c by delta-adjusted MI."""
    from coachstats.compare.models import linear
    from coachstats.compare.sensitivity import tipping_point, tipping_point_counts
    from coachstats.plots import plot_tipping_point

    counts = tipping_point_counts(derived, "composite_any")
    save_figure(plot_tipping_point(counts), OUT / "tipping_counts.png", dpi=DPI)
    peer = pd.read_csv(DATA / "peer_patients.csv")
    delta = tipping_point(
        peer,
        lambda d: linear(d, "hba1c_6", covariates=["hba1c_0"]),
        column="hba1c_6",
        columns=["hba1c_0", "hba1c_6", "age", "bmi_0"],
        deltas=np.arange(0, 2.01, 0.25),
        m=20,
        seed=1,
    )
    save_figure(plot_tipping_point(delta), OUT / "tipping_delta.png", dpi=DPI)


if __name__ == "__main__":
    main()
