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
# # Reproducing the HCPC trial
#
# Health coaching by medical assistants (Willard-Grace et al., *Ann Fam Med*
# 2015;13:130-138): 441 patients at two San Francisco safety-net clinics were randomized to
# 12 months of health coaching or usual care. The primary outcome is being at goal at 12 months
# for at least one of the conditions (HbA1c, blood pressure, LDL) that were uncontrolled at
# baseline.
#
# This notebook loads the bundled synthetic cohort (patient-level data calibrated to every
# published figure; `data/synthetic/README.md` says how it was made), derives the endpoints,
# runs the published comparisons and draws them the way the practice brief presents them, and
# ends with the subgroup analysis a reviewer would ask for (interactions, subgroup forest plot).
#
# The `.py` file is the source (jupytext percent format); the `.ipynb` is generated and
# not kept in git. Run it, from the checkout with the test extra installed
# (`pip install -e ".[test]"`), with
# `jupytext --to notebook notebooks/01_reproduce_hcpc.py && jupyter execute --inplace notebooks/01_reproduce_hcpc.ipynb`.

# %%
import matplotlib.pyplot as plt

from coachstats import HCPC_GOALS, Flow, derive_endpoints
from coachstats.compare.proportions import chi_square
from coachstats.plots import plot_by_arm, plot_consort
from coachstats.reproduce import load_bundled, reproduce
from coachstats.table1 import baseline_table
from coachstats.tables import to_markdown

# %% [markdown]
# ## The cohort
#
# `load_bundled` reads the CSV files through `coachstats.load_trial`, exactly as a file of
# your own would be read: the columns are validated and typed, nothing is dropped silently.

# %%
patients = load_bundled("hcpc")["patients"]
print(len(patients), "patients")
patients["arm"].value_counts()

# %% [markdown]
# ## Baseline characteristics (Table 1)
#
# Standardized mean differences as R's `tableone` computes them; randomization should keep them
# small.

# %%
table1 = baseline_table(
    patients,
    ["age", "sex", "language", "ethnicity", "site", "diabetes", "hba1c_0", "sbp_0", "ldl_0"],
)
table1.to_display()

# %% [markdown]
# ## Endpoints
#
# With the HCPC goal set, a patient is *uncontrolled* on a condition when the baseline value
# crosses the entry threshold (HbA1c > 8.0 %; SBP >= 140 mm Hg, or >= 130 with diabetes;
# LDL >= 160 mg/dL, or >= 100 with diabetes), and *at goal* at 12 months when the follow-up
# value is back on the right side of it. The composites look only at the conditions that were
# uncontrolled at baseline. `with_status=True` records why each patient is or is not analysed.

# %%
derived = derive_endpoints(patients, HCPC_GOALS, with_status=True)
derived[["patient_id", "arm", "uncontrolled_hba1c", "at_goal_hba1c", "composite_any"]].head()

# %%
flow = Flow.from_endpoints(derived)
flow.check()  # every randomized patient is in exactly one status per endpoint
print(flow.summary())

# %%
ax = plot_consort(flow, endpoint="composite_any")

# %% [markdown]
# ## The published comparisons
#
# Pearson chi-square tests without continuity correction, complete case at 12 months (the
# per-arm denominators were not published; these are the ones that fit every printed
# percentage and P value). The LDL goal was reported for the larger site only.

# %%
outcomes = {
    "composite_any": "One clinical goal",
    "composite_all": "All clinical goals",
    "at_goal_hba1c": "HbA1c goal",
    "at_goal_sbp": "Blood pressure goal",
}
results = [chi_square(derived, outcome) for outcome in outcomes]
labels = list(outcomes.values())
site_a = derived[derived["site"] == "A"]
results.append(chi_square(site_a, "at_goal_ldl"))
labels.append("LDL goal (larger site)")

for label, result in zip(labels, results):
    print(result.to_brief(label), end="\n\n")

# %% [markdown]
# The brief prints, for the primary outcome,
#
#     One clinical goal:
#       Health coaching group: 46.4%
#       Usual care group: 34.3% (P = .02)

# %%
primary = results[0]
assert f"{100 * primary.arms[0].value:.1f}" == "46.4"
assert f"{100 * primary.arms[1].value:.1f}" == "34.3"
assert primary.format_p() == ".02"

# %% [markdown]
# A publication table (also `to_latex`), and the figure:

# %%
print(to_markdown(results, labels=labels))

# %%
ax = plot_by_arm(results, labels=labels, ci=True)

# %% [markdown]
# ## Every published figure, side by side
#
# `reproduce("hcpc")` runs the registry's analysis plan for the paper through the same public
# pipeline and compares each reproduced figure with the printed one at the printed precision.

# %%
reproduction = reproduce("hcpc")
print(reproduction.summary().splitlines()[-2])
reproduction.to_frame()[
    ["outcome", "published_coaching", "reproduced_coaching", "published_p", "reproduced_p", "verdict"]
].head(8)

# %%
assert reproduction.ok

# %% [markdown]
# ## Did coaching work better for some patients? Interactions and subgroups
#
# The paper reports no subgroup analysis; a reviewer would ask for one. A formula interaction
# puts the arm's product with a covariate in the model (`"arm*C(site)"`); the headline is then
# the odds ratio at the reference site (A), and the result says so, with the test of
# interaction. `to_frame(terms="all")` shows every coefficient (log odds).

# %%
from coachstats.compare import logistic, subgroup_effects
from coachstats.plots import plot_subgroups

by_site = logistic(derived, "composite_any", formula="arm*C(site)")
print(by_site.method)
by_site.to_frame(terms="all").round(3)

# %% [markdown]
# `subgroup_effects` fits one such model per subgrouping column and gives the effect in each
# level with its interval, and the P for interaction, which is what says whether the effect
# differs between subgroups (the subgroup P values do not).

# %%
subgroups = subgroup_effects(
    derived, "composite_any", by=["site", "diabetes", "language"], method="logistic"
)
print(subgroups.summary())

# %%
ax = plot_subgroups(subgroups, names={"site": "Site", "diabetes": "Diabetes", "language": "Language"})

# %% [markdown]
# None of the interactions is significant (the synthetic cohort was not built with effect
# modification). The same model also gives the adjusted risks of each arm and the marginal
# risk difference and risk ratio:

# %%
print(by_site.adjusted_means().round(3))
by_site.marginal_effects().round(3)

# %%
assert all(t.p_value > 0.05 for t in subgroups.tests)
plt.close("all")

# %% [markdown]
# ## Number needed to coach, and the cost per additional patient at goal
#
# The number needed to treat is the reciprocal of the risk difference; its interval is the
# reciprocal of the difference's limits (Altman, *BMJ* 1998;317:1309), and runs through
# infinity ("NNTB ... to ∞ to NNTH ...") when the difference's interval includes 0.
#
# The cost per additional patient at goal is the coaching cost per patient times the NNT. By
# default the cost is HCPC's published 540.8 coaching minutes per coached patient (12 months)
# at an **assumed** wage of 20.19 USD/hour (US median for medical assistants, BLS May 2023; no
# wage is published for the trial's coaches); the `caseload` basis spreads a full-time coach's
# paid hours over the 70-100 patients the practice brief gives (midpoint 85, assumed). Every
# assumption is printed with the number. See docs/methods_nnt.md.

# %%
from coachstats.compare.nnt import number_needed_to_treat
from coachstats.compare.proportions import risk_difference
from coachstats.tasks.economics import CoachingCost, cost_per_additional_patient_at_goal

for outcome, label in [("composite_any", "One clinical goal"), ("at_goal_hba1c", "HbA1c goal")]:
    rd = risk_difference(derived, outcome)
    print(f"{label}: {number_needed_to_treat(rd).text()}")
    print("  cost per additional patient at goal, coaching time:",
          cost_per_additional_patient_at_goal(rd).text())
    print("  ... whole coach salary over a caseload of 85:",
          cost_per_additional_patient_at_goal(rd, cost=CoachingCost(basis="caseload")).text())

# %%
print(cost_per_additional_patient_at_goal(risk_difference(derived, "composite_any")).summary())

# %%
nnt = number_needed_to_treat(risk_difference(derived, "composite_any"))
assert nnt.text() == "NNTB 8.2 (95% CI NNTB 4.5 to 44.8)"

# %% [markdown]
# ## Missing not at random: the tipping point of the primary outcome
#
# The published analysis is complete case: 30 coached and 39 usual-care patients have no
# 12-month outcome. `tipping_point_counts` completes the table in every possible way (how many
# of the missing in each arm reached a goal) and reruns the chi-square test on each of the
# 31 x 40 tables, so the reader sees which assumptions about the missing patients keep the
# conclusion. For continuous outcomes, `tipping_point` shifts multiply imputed values by a
# delta per arm (docs/methods_sensitivity.md).

# %%
from coachstats.compare.sensitivity import tipping_point_counts
from coachstats.plots import plot_tipping_point

tipping = tipping_point_counts(derived, "composite_any")
print(tipping.summary())

# %%
ax = plot_tipping_point(tipping)

# %% [markdown]
# ## 0, 12 and 24 months: repeated measures
#
# HCPC followed patients to 24 months (Sharma et al., *Ann Fam Med* 2016). An MMRM uses every
# visit of every patient: HbA1c at 12 and 24 months, one mean per arm and visit, the baseline
# value with a coefficient per visit, an unstructured covariance, Satterthwaite df
# (docs/methods_repeated.md).

# %%
from coachstats.compare.longitudinal import long_format
from coachstats.compare.mmrm import mmrm

long = long_format(patients, {12: "hba1c_12", 24: "hba1c_24"}, subject="patient_id",
                   keep=["arm", "hba1c_0"], value="hba1c", visit="month")
repeated = mmrm(long, "hba1c", visit="month", subject="patient_id",
                covariates_by_visit=["hba1c_0"])
print(repeated.summary())
repeated.to_frame()[["outcome", "estimate", "conf_low", "conf_high", "df", "p_value"]]

# %%
plt.close("all")
