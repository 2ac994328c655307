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
#    a few bad rows);
# 2. the program's outcomes, presented as the practice brief presents them;
# 3. the program next to the published trials: effects, the test of the difference, a
#    forest plot;
# 4. a single-arm program (only coached patients, the common case);
# 5. case mix and the comparison standardized to the trial's patients;
# 6. the practice brief's tracking metrics, with CPT encounter data.
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

from coachstats.evaluate import analyze, evaluate, plot_evaluation
from coachstats.programdata import load_program, read_mapping
from coachstats.programs import single_arm_program, synthetic_encounters, without_effect
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
# ## 3. The program next to the published trials
#
# `evaluate` runs each trial's analysis plan on your data and sets your effects next to the
# published ones. The published standard error is rebuilt from the printed counts, means
# and SDs, or the printed P value (with the range its rounding allows); the z test asks
# whether the two effects differ more than chance would explain.

# %%
result = evaluate(program, against="hcpc")
print("\n".join(result.verdicts()))

# %%
result.to_frame()[
    [
        "outcome",
        "estimand",
        "program_estimate",
        "published_estimate",
        "difference",
        "p_value",
        "verdict",
    ]
]

# %%
ax = plot_evaluation(result)
plt.show()

# %% [markdown]
# A program in which coaching did nothing (the same patients with the coached patients'
# follow-up values drawn from the usual-care changes, `programs.without_effect`) is judged
# inconsistent with the trial:

# %%
null = evaluate(without_effect(cohort, seed=2), against="hcpc", tracking=False, standardize=False)
print("ok:", null.ok)
print("\n".join(null.findings()))

# %% [markdown]
# ## 4. A single-arm program
#
# Most programs have no comparison group. Their figures are compared with each trial's
# coaching arm and usual-care arm. Here half the program comes from each arm of the trial,
# so it should land between them.

# %%
single = single_arm_program(cohort, usual_care_share=0.5, seed=2)
single_result = evaluate(single, against="all", tracking=False, design="single-arm")
print("\n".join(single_result.verdicts()))

# %%
ax = plot_evaluation(single_result)
plt.show()

# %% [markdown]
# ## 5. Case mix
#
# If your patients differ from the trial's at baseline, their results may differ for that
# reason alone. Baselines are compared with the trial's printed ones (a standardized
# difference above 0.2 is flagged), and each outcome is also standardized to the trial's
# baseline distribution (regression on baseline covariates, averaged over the trial's
# patients).

# %%
older = program.patients.assign(age=program.patients["age"] + 9)
older_result = evaluate(older, against="hcpc", tracking=False)
print("\n".join(item.sentence() for item in older_result.case_mix))

# %%
print("\n".join(s.sentence() for s in older_result.standardized))

# %% [markdown]
# ## 6. Tracking the program
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
# `evaluate` exits with code 1 when an outcome differs from the published figure, and 2 on
# bad input (with every problem listed). To plan a new program or trial from the published
# effects, see `coachstats power`.
