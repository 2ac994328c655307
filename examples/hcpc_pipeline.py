"""An independent analysis pipeline for the HCPC trial, validated by ``coachstats check``.

This is what a health system's analytics team would write on its own: plain
pandas and statsmodels, no coachstats. It reads the HCPC fixture
(``hcpc_patients.csv`` from ``coachstats fixtures``), derives the endpoints
from the raw measurements as the paper defines them, and writes every figure
of the HCPC main-outcomes paper (Willard-Grace et al., Ann Fam Med 2015) in
the check format: design counts, the five primary outcomes with their
chi-square tests, and the baseline table.

Usage (docs/ci.md)::

    coachstats fixtures fixtures/ --trial hcpc
    python examples/hcpc_pipeline.py fixtures/ results.csv
    coachstats check results.csv --against hcpc --junit check.xml

Definitions (the paper's, with the goal as the complement of the entry
threshold):

* uncontrolled at baseline: HbA1c > 8.0 % (patients with diabetes only);
  SBP >= 140 mm Hg (>= 130 with diabetes); LDL >= 160 mg/dL (>= 100 with
  diabetes);
* at goal at 12 months: HbA1c <= 8.0 %; SBP < 140 (< 130); LDL < 160 (< 100);
* a goal is analysed among the patients uncontrolled on it at baseline who have
  a 12-month value (complete case);
* the composites are analysed among the patients with at least one
  uncontrolled condition and a 12-month value for every one of them: at goal
  on at least one, and on all;
* the arms are compared with Pearson's chi-square test without continuity
  correction; the difference is coaching minus usual care in percentage points,
  with a Wald 95 % interval.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_chisquare

ARMS = ("coaching", "usual_care")
SITES = ("A", "B")


def derive(patients: pd.DataFrame) -> pd.DataFrame:
    """Uncontrolled-at-baseline and at-goal-at-12-months flags, and the two composites."""
    df = patients.copy()
    diabetes = df["diabetes"].astype(bool)
    sbp_limit = np.where(diabetes, 130, 140)
    ldl_limit = np.where(diabetes, 100, 160)
    df["unc_hba1c"] = diabetes & (df["hba1c_0"] > 8.0)
    df["unc_sbp"] = df["sbp_0"] >= sbp_limit
    df["unc_ldl"] = df["ldl_0"] >= ldl_limit
    goals = {
        "hba1c": df["hba1c_12"] <= 8.0,
        "sbp": df["sbp_12"] < sbp_limit,
        "ldl": df["ldl_12"] < ldl_limit,
    }
    for m, at_goal in goals.items():
        analysed = df[f"unc_{m}"] & df[f"{m}_12"].notna()
        df[f"goal_{m}"] = at_goal.where(analysed)  # NaN outside the analysed patients
    unc = df[["unc_hba1c", "unc_sbp", "unc_ldl"]]
    followed = pd.concat([~df[f"unc_{m}"] | df[f"{m}_12"].notna() for m in goals], axis=1).all(
        axis=1
    )
    eligible = unc.any(axis=1) & followed
    hits = pd.concat([df[f"goal_{m}"].fillna(False).astype(bool) for m in goals], axis=1)
    n_goal = hits.sum(axis=1)
    df["composite_any"] = (n_goal >= 1).where(eligible)
    df["composite_all"] = (n_goal == unc.sum(axis=1)).where(eligible)
    return df


def binary_rows(df: pd.DataFrame, target: str, column: str) -> list[dict[str, object]]:
    """Per-arm percentages and n, then the chi-square comparison."""
    rows: list[dict[str, object]] = []
    counts, nobs = [], []
    for arm in ARMS:
        values = df.loc[(df["arm"] == arm) & df[column].notna(), column].astype(bool)
        counts.append(int(values.sum()))
        nobs.append(len(values))
        rows.append(
            {"target": f"hcpc.{target}.{arm}", "estimate": 100 * values.mean(), "n": len(values)}
        )
    _, p, _ = proportions_chisquare(np.array(counts), np.array(nobs))
    low, high = confint_proportions_2indep(
        counts[0], nobs[0], counts[1], nobs[1], method="wald", compare="diff"
    )
    diff = counts[0] / nobs[0] - counts[1] / nobs[1]
    rows.append(
        {
            "target": f"hcpc.{target}",
            "estimate": 100 * diff,
            "conf_low": 100 * low,
            "conf_high": 100 * high,
            "p": float(p),
            "n": sum(nobs),
        }
    )
    return rows


def mean_row(target: str, values: pd.Series, with_sd: bool = True) -> dict[str, object]:
    values = values.dropna()
    row: dict[str, object] = {"target": target, "estimate": values.mean(), "n": len(values)}
    if with_sd:
        row["sd"] = values.std(ddof=1)
    return row


def percent_row(target: str, flags: pd.Series) -> dict[str, object]:
    return {"target": target, "estimate": 100 * flags.mean(), "n": len(flags)}


def hcpc_results(patients: pd.DataFrame) -> pd.DataFrame:
    """Every figure of the HCPC main-outcomes paper, in the check format."""
    df = derive(patients)
    rows: list[dict[str, object]] = []
    for arm in ARMS:
        rows.append({"target": f"hcpc.randomized.{arm}", "estimate": int((df["arm"] == arm).sum())})
    for site in SITES:
        rows.append(
            {
                "target": f"hcpc.randomized_by_site.site_{site.lower()}",
                "estimate": int((df["site"] == site).sum()),
            }
        )
    coached = df.loc[df["arm"] == "coaching", "coach_id"]
    rows.append({"target": "hcpc.coaches", "estimate": int(coached.dropna().nunique())})
    # the primary outcomes at 12 months
    rows += binary_rows(df, "composite_any", "composite_any")
    rows += binary_rows(df, "composite_all", "composite_all")
    rows += binary_rows(df, "hba1c_goal", "goal_hba1c")
    rows += binary_rows(df[df["site"] == "A"], "ldl_goal_site_a", "goal_ldl")
    sbp = binary_rows(df, "sbp_goal", "goal_sbp")
    rows.append(sbp[-1])  # the paper prints only "not significant" for the SBP goal
    # baseline characteristics of all randomized patients
    rows.append(mean_row("hcpc.age", df["age"]))
    rows.append(percent_row("hcpc.female", df["sex"] == "female"))
    rows.append(percent_row("hcpc.spanish", df["language"] == "spanish"))
    rows.append(percent_row("hcpc.latino", df["ethnicity"] == "latino"))
    rows.append(percent_row("hcpc.african_american", df["ethnicity"] == "african_american"))
    rows.append(mean_row("hcpc.bmi", df["bmi_0"]))
    for m in ("hba1c", "ldl", "sbp"):
        rows.append(mean_row(f"hcpc.baseline_{m}", df.loc[df[f"unc_{m}"], f"{m}_0"]))
    rows.append(mean_row("hcpc.pcp_visits", df["pcp_visits"]))
    coached = df[df["arm"] == "coaching"]
    rows.append(mean_row("hcpc.coach_contacts", coached["coach_contacts"]))
    rows.append(mean_row("hcpc.coaching_minutes", coached["coaching_minutes"]))
    for site in SITES:
        s = f"site_{site.lower()}"
        at_site = df["site"] == site
        rows.append(
            mean_row(
                f"hcpc.coach_contacts_by_site.{s}",
                coached.loc[coached["site"] == site, "coach_contacts"],
                False,
            )
        )
        rows.append(
            percent_row(f"hcpc.spanish_by_site.{s}", df.loc[at_site, "language"] == "spanish")
        )
        rows.append(
            percent_row(
                f"hcpc.african_american_by_site.{s}",
                df.loc[at_site, "ethnicity"] == "african_american",
            )
        )
        for m in ("hba1c", "ldl", "sbp"):
            values = df.loc[at_site & df[f"unc_{m}"], f"{m}_0"]
            rows.append(mean_row(f"hcpc.baseline_{m}_by_site.{s}", values, False))
    columns = ["target", "estimate", "conf_low", "conf_high", "p", "n", "sd"]
    return pd.DataFrame(rows).reindex(columns=columns)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python hcpc_pipeline.py FIXTURES_DIR OUT.csv", file=sys.stderr)
        return 2
    fixtures, out = Path(argv[0]), Path(argv[1])
    patients = pd.read_csv(fixtures / "hcpc_patients.csv")
    results = hcpc_results(patients)
    results.to_csv(out, index=False)
    print(f"wrote {len(results)} results to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
