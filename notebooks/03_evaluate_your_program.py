# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluate your own coaching program
#
# You run a health-coaching program and have your own patient data. Are you getting the
# results the trials got? This notebook walks through `coachstats.evaluate` with synthetic
# programs (so that it runs anywhere), from a spreadsheet export to the verdicts:
#
# 1. load the export with a column-mapping file (other column names, HbA1c in mmol/mol,
#    sex coded F/M, a few bad rows);
# 2. the program's outcomes, presented as the practice brief presents them;
# 3. the program's own effect, then its comparison with the published trials: *larger*,
#    *similar*, *smaller* or *inconclusive*, with a margin and the multiplicity adjustment
#    stated; a forest plot with the "favours" sides;
# 4. a program without any effect, and one clearly better than the trial;
# 5. a single-arm program (only coached patients, the common case): before-after figures and
#    regression to the mean;
# 6. case mix and the comparison standardized to the trial's patients;
# 7. the practice brief's tracking metrics, with CPT encounter data.
#
# The command-line equivalents are `coachstats analyze` and `coachstats evaluate`
# (see `docs/evaluate.md`). The `.py` file is the source (jupytext percent format); the `.ipynb` is generated and
# not kept in git. Run it, from the checkout with the test extra installed
# (`pip install -e ".[test]"`), with
# `jupytext --to notebook notebooks/03_evaluate_your_program.py && jupyter execute --inplace notebooks/03_evaluate_your_program.ipynb`.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from coachstats.endpoints import derive_endpoints
from coachstats.evaluate import analyze, evaluate, plot_evaluation
from coachstats.goals import HCPC_GOALS
from coachstats.programdata import load_program, read_mapping
from coachstats.programs import single_arm_program, synthetic_encounters
from coachstats.synthetic import hcpc_cohort

# %% [markdown]
# ## 1. A program export
#
# A stand-in for your registry export: 1500 patients drawn like the HCPC trial (the
# coaching effect as published), with your own column names, HbA1c in mmol/mol (IFCC),
# free-text and date columns the analysis does not need, and two bad rows.

# %%
cohort = hcpc_cohort(n=1500, seed=3).patients
export = pd.DataFrame(
    {
        "MRN": [f"MRN-{i:05d}" for i in range(len(cohort))],
        "Group": cohort["arm"].map({"coaching": "Coached", "usual_care": "Waitlist"}),
        "Clinic": cohort["site"],
        "Coach": cohort["coach_id"],
        "DM": np.where(cohort["diabetes"], "Y", "N"),
        "Age": cohort["age"],
        "Sex": cohort["sex"].map({"female": "F", "male": "M"}),
        "Coach visits": cohort["coach_contacts"],
        "A1c baseline": np.round((cohort["hba1c_0"] - 2.15) * 10.929),
        "A1c 12m": np.round((cohort["hba1c_12"] - 2.15) * 10.929),
        "SBP baseline": cohort["sbp_0"],
        "SBP 12m": cohort["sbp_12"],
        "LDL baseline": cohort["ldl_0"],
        "LDL 12m": cohort["ldl_12"],
        "Referred": 44927 + np.arange(len(cohort)) % 200,  # an Excel date (serial number)
        "Notes": "",
    }
).astype({"SBP 12m": object})
export.loc[4, "SBP 12m"] = 1400  # a typo
export.loc[7, "SBP 12m"] = "refused"
folder = Path(tempfile.mkdtemp())
export.to_csv(folder / "program.csv", index=False)
export.head()

# %% [markdown]
# The mapping file says which of your columns is which (`schema_name: your_column`), how your
# groups map to `coaching` / `usual_care`, and the units of your labs.

# %%
(folder / "mapping.yaml").write_text(
    """\
columns:
  patient_id: MRN
  arm: Group
  site: Clinic
  coach_id: Coach
  diabetes: DM
  age: Age
  sex: Sex
  coach_contacts: Coach visits
  hba1c_0: A1c baseline
  hba1c_12: A1c 12m
  sbp_0: SBP baseline
  sbp_12: SBP 12m
  ldl_0: LDL baseline
  ldl_12: LDL 12m
arms:
  Coached: coaching
  Waitlist: usual_care
units:
  hba1c: mmol/mol
"""
)
mapping = read_mapping(folder / "mapping.yaml")
load = {"columns": mapping.columns, "arms": mapping.arms, "units": mapping.units}

# %% [markdown]
# Without `on_invalid="exclude"` the two bad rows stop the analysis, with every problem
# listed; with it they are excluded and each exclusion is recorded, never silently.

# %%
try:
    load_program(folder / "program.csv", **load)
except Exception as error:
    print(error)

# %%
program = load_program(folder / "program.csv", on_invalid="exclude", **load)
print(program)
print("\n".join(n for n in program.notes if n.startswith(("excluded", "hba1c"))))

# %% [markdown]
# ## 2. The program's outcomes
#
# `analyze` derives the HCPC endpoints (at goal for the conditions uncontrolled at
# baseline) and compares the arms as the trial did (Pearson chi-square, Welch t test).

# %%
outcomes = analyze(program)
print(outcomes.to_brief())

# %%
outcomes.to_frame()[["label", "n1", "estimate1", "n2", "estimate2", "estimate", "p_value"]]

# %% [markdown]
# ## 3. The program's own effect, then the published trials
#
# `evaluate` runs each trial's analysis plan on your data. First comes what your program
# achieved: its coaching arm against its usual-care arm, in words, with the 95 % CI and the
# P value against no effect.

# %%
result = evaluate(program, against="hcpc")
print("\n".join(result.headline()))

# %% [markdown]
# Then each outcome is compared with the published effect, in the outcome's better direction:
#
# * **larger** / **smaller**: the difference is beyond chance (the adjusted P of the
#   difference is below .05);
# * **similar**: the two effects are equivalent within a stated margin (two one-sided tests);
# * **inconclusive**: neither, with why and about how many patients per arm would settle it.
#
# The margin of *similar* is by default the size of the published effect, so a program with
# no effect sits on it and is called similar in at most 5 % of evaluations. The P values of
# the evaluation's comparisons are adjusted together (Holm), and the output says so.

# %%
print(result.adjustment_text())
print(result.verdict_line())
print("\n\n".join(result.verdicts()))

# %%
result.to_frame().query("primary")[
    [
        "outcome",
        "program_estimate",
        "published_estimate",
        "difference",
        "p_adjusted",
        "margin",
        "p_equivalence_adjusted",
        "verdict",
        "favours",
    ]
]

# %% [markdown]
# Your program reproduces the trial's effect, yet most comparisons are *inconclusive*: the
# published estimate is itself uncertain (HCPC's composite: 12.1 points, SE 5.2), and nothing
# can be shown to match it more precisely than it was measured. The forest plot shows why:
# the trial's intervals are wide. Under each panel, the sides of the line of no effect say
# which favours coaching.

# %%
ax = plot_evaluation(result)
plt.show()

# %% [markdown]
# The margins and the adjustment are yours to set, and every row says which were used:

# %%
strict = evaluate(
    program,
    against="hcpc",
    margins={"composite_any": 0.06},
    adjust="bonferroni",
    standardize=False,
    tracking=False,
)
row = strict.to_frame().query("primary").iloc[0]
print(row["margin"], row["margin_reason"], "|", strict.adjustment_text())

# %% [markdown]
# ## 4. A program without effect, and one clearly better
#
# A program in which coaching did nothing: the usual-care patients of a larger cohort, split
# at random into two arms. Its own effect is nothing, it says so, and against HCPC it is
# *smaller* or *inconclusive* -- never *similar*.

# %%
big = hcpc_cohort(n=2400, seed=21).patients
usual = big.loc[big["arm"] == "usual_care"].reset_index(drop=True)
split = np.random.default_rng(5).permutation(len(usual)) < len(usual) // 2
null = evaluate(
    usual.assign(arm=np.where(split, "coaching", "usual_care")),
    against="hcpc",
    tracking=False,
    standardize=False,
)
print(null.headline()[0])
print(null.verdicts()[0])

# %% [markdown]
# `programs.without_effect` builds such a program from any cohort: every coached patient's clinical
# record replaced by a usual-care patient's, so that the effect is zero in expectation.
#
# A program clearly better than the trial (its usual-care arm did much worse than HCPC's) is
# *larger*, and favours the program; a better result is never a failure (`ok` stays True).

# %%
at_goal = derive_endpoints(big, HCPC_GOALS)["composite_any"].fillna(False).to_numpy(bool)
dropped = (big["arm"] == "usual_care").to_numpy() & at_goal
dropped &= np.random.default_rng(3).random(len(big)) < 0.65
better = evaluate(big.loc[~dropped], against="hcpc", tracking=False, standardize=False)
first = better.rows[0]
print(first.verdict, first.favours, better.ok)
print(first.sentence())

# %% [markdown]
# ## 5. A single-arm program
#
# Most programs have no comparison group. Their figures are before-after: the share at goal
# among patients uncontrolled at entry, or a mean change. Without a concurrent control group,
# usual care, secular trends and regression to the mean are not separated from coaching --
# every sentence says so. Where patients entered above an HbA1c threshold, the part that
# regression to the mean alone would produce is estimated, and the figure is shown with and
# without it. Each figure is then compared with the published *coaching arm*. Here half the
# program comes from each arm of the trial, so it lands between the arms.

# %%
single = single_arm_program(cohort, usual_care_share=0.5, seed=2)
single_result = evaluate(single, against="all", tracking=False, design="single-arm")
print("\n\n".join(single_result.verdicts()[2:5]))

# %%
single_result.to_frame()[
    ["outcome", "program_estimate", "regression_expected", "published_coaching", "verdict"]
]

# %%
ax = plot_evaluation(single_result)
plt.show()

# %% [markdown]
# ## 6. Case mix
#
# If your patients differ from the trial's at baseline, their results may differ for that
# reason alone. Baselines are compared with the trial's printed ones (a standardized
# difference above 0.2 is flagged); the export's sex column, coded F/M, is read through the
# schema's levels, so the female share is the real one. Each outcome is also standardized to
# the trial's baseline distribution (regression on baseline covariates, averaged over the
# trial's patients that resemble yours -- never extrapolated).

# %%
older = program.patients.assign(age=program.patients["age"] + 9)
older_result = evaluate(older, against="hcpc", tracking=False)
print("\n".join(item.sentence() for item in older_result.case_mix))

# %%
print("\n".join(s.sentence() for s in older_result.standardized))

# %% [markdown]
# ## 7. Tracking the program
#
# The practice brief's indicators: caseload per coach (70-100 patients for a full-time coach),
# coaching contacts per patient (12.4 in HCPC), retention at follow-up and whether the right
# patients are referred. With encounter rows (CPT 0591T initial assessment, 0592T follow-up,
# 0593T group) the sessions are counted per patient.

# %%
coached = program.patients.loc[program.patients["arm"] == "coaching"]
encounters = synthetic_encounters(coached, seed=4)
encounters.head()

# %%
tracked = evaluate(
    program,
    against="hcpc",
    encounters=encounters,
    fte={"coach1": 1.0, "coach2": 1.0, "coach3": 0.8},
)
print(tracked.tracking.summary())

# %% [markdown]
# ## From the command line
#
# ```
# coachstats analyze program.csv --columns mapping.yaml --exclude-invalid --out outcomes.csv
# coachstats evaluate program.csv --columns mapping.yaml --exclude-invalid --against all \
#     --encounters encounters.csv --out evaluation.json --plot forest.png
# ```
#
# `evaluate` exits with code 1 when an outcome is smaller than the published figure (with
# `--fail-on inconclusive`, also when one is inconclusive), and 2 on bad input (with every
# problem listed). `--margin composite_any=0.08`, `--adjust bonferroni` and `--levels
# sex=1:male,2:female` set the margins, the adjustment and the category levels. To plan a new
# program or trial from the published effects, see `coachstats power`.
