"""Full model output (coefficients, glance, adjusted means, marginal RD/RR, interactions) against R.

Reference values come from ``Rscript tests/reference/model_output.R`` on the
fixtures of ``models.R`` (``tests/reference/data/models_{few,many}.csv``):
``lm``/``coeftest``/``clubSandwich`` coefficient tables, ``glm`` with Wald
intervals, ``geeglm``, ``lmerTest``; ``logLik``/``AIC``/``BIC``; ``emmeans``
adjusted means (proportional weights; the counterfactual grid for binary
outcomes and arm interactions) and their contrasts; ``car::linearHypothesis``
and ``lmerTest::contest`` for the interaction tests.

Tolerances (relative), with the reasons of ``test_compare_models.py``:

- ``lm``, CR1, CR2 (closed forms): 1e-9 (achieved ~1e-11).
- ``glm`` (both sides converged to ~1e-14): 1e-8 (achieved ~1e-10 with
  clinic fixed effects, 1e-12 otherwise).
- ``geeglm`` (epsilon 1e-10): 1e-7 (achieved ~4e-10).
- ``lmer``/``lmerTest``: 1e-6 on everything but the df and P, 1e-5 on the
  Satterthwaite df and P (lme4's optimizer stops ~1e-8 short of the optimum;
  lmerTest differentiates numerically). Achieved ~1e-7.

The risk ratio: ``emmeans`` reports the SE of the ratio (delta method on the
ratio scale), coachstats that of its logarithm (the scale of its test and
interval, as for odds ratios); the two are compared through SE(log RR) =
SE(RR) / RR, exact for the delta method.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.models import gee, linear, logistic, mixed
from coachstats.core.errors import DataWarning, OptionError
from coachstats.core.results import ComparisonResult

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "model_output.json").read_text())
FIXTURES = tuple(REF["fixtures"])
COVS = ["age", "bmi", "marital", "insulin"]
TOL = {"lm": 1e-9, "glm": 1e-8, "gee": 1e-7, "lmer": 1e-6}
TOL_DF = {"lm": 1e-9, "glm": 1e-8, "gee": 1e-7, "lmer": 1e-5}


def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"models_{name}.csv")


def quiet(fn: Any, *args: Any, **kwargs: Any) -> ComparisonResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        result: ComparisonResult = fn(*args, **kwargs)
    return result


def term(r_name: str) -> str:
    """R's coefficient name as coachstats writes it (arm as 0/1, bool insulin numeric)."""
    name = r_name.replace("armfcoaching", "arm[T.coaching]").replace("insulinTrue", "insulin")
    return re.sub(r"marital(single|widowed)", r"marital[T.\1]", name)


def check_table(result: ComparisonResult, ref: dict[str, Any], kind: str) -> None:
    table = result.to_frame(terms="all").set_index("term")
    assert sorted(table.index) == sorted(term(n) for n in ref["names"])
    for i, name in enumerate(ref["names"]):
        row = table.loc[term(name)]
        for col, key in [
            ("estimate", "estimate"),
            ("std_error", "se"),
            ("statistic", "statistic"),
            ("conf_low", "low"),
            ("conf_high", "high"),
        ]:
            assert row[col] == pytest.approx(ref[key][i], rel=TOL[kind]), (name, col)
        assert row["p_value"] == pytest.approx(ref["p"][i], rel=TOL_DF[kind]), name
        if ref.get("df"):
            assert row["df"] == pytest.approx(ref["df"][i], rel=TOL_DF[kind]), name
        else:
            assert math.isnan(row["df"])


def check_means(result: ComparisonResult, ref: dict[str, Any], kind: str) -> None:
    means = result.adjusted_means().set_index("arm")
    assert list(means.index) == ["coaching", "usual_care"]
    for i, arm in enumerate(ref["arm"]):
        for col, key in [("estimate", "estimate"), ("std_error", "se")]:
            assert means.loc[arm, col] == pytest.approx(ref[key][i], rel=TOL[kind])
        for col, key in [("conf_low", "low"), ("conf_high", "high")]:
            assert means.loc[arm, col] == pytest.approx(ref[key][i], rel=TOL_DF[kind])
        df = ref["df"][i]
        if df in ("Inf", None):  # jsonlite writes Inf as null
            assert math.isnan(means.loc[arm, "df"])
        else:
            assert means.loc[arm, "df"] == pytest.approx(df, rel=TOL_DF[kind])


def check_contrast(result: ComparisonResult, ref: dict[str, Any], row: str, kind: str) -> None:
    effect = result.marginal_effects().set_index("contrast").loc[row]
    assert effect["estimate"] == pytest.approx(ref["estimate"], rel=TOL[kind])
    se = ref["se"] / ref["estimate"] if row == "risk ratio" else ref["se"]
    assert effect["std_error"] == pytest.approx(se, rel=TOL[kind])
    for col, key in [("statistic", "statistic"), ("conf_low", "low"), ("conf_high", "high")]:
        assert effect[col] == pytest.approx(ref[key], rel=TOL_DF[kind])
    assert effect["p_value"] == pytest.approx(ref["p"], rel=TOL_DF[kind])


def check_test(result: ComparisonResult, ref: dict[str, Any], kind: str) -> None:
    test = result.model.interaction if result.model else None
    assert test is not None
    assert test.statistic == pytest.approx(ref["statistic"], rel=TOL_DF[kind])
    assert test.df == ref["df"]
    assert test.p_value == pytest.approx(ref["p"], rel=TOL_DF[kind])
    if ref.get("df_denominator") is None:
        assert test.statistic_name == "chi-square"
    else:
        assert test.statistic_name == "F"
        assert test.df_denominator == pytest.approx(ref["df_denominator"], rel=TOL_DF[kind])
    assert result.extra["interaction_p"] == test.p_value


def check_glance(result: ComparisonResult, ref: dict[str, Any], kind: str) -> None:
    g = result.glance().iloc[0]
    assert g["nobs"] == ref["nobs"]
    assert g["df"] == ref["df"]
    assert g["df_residual"] == pytest.approx(ref["df_residual"], rel=1e-12)
    for col in ("loglik", "aic", "bic"):
        assert g[col] == pytest.approx(ref[col], rel=TOL[kind])
    if ref["deviance"] is not None:
        assert g["deviance"] == pytest.approx(ref["deviance"], rel=TOL[kind])
    if kind != "glm":  # R's sigma(glm) is the square root of the dispersion estimate
        assert g["sigma"] == pytest.approx(ref["sigma"], rel=TOL[kind])
    assert bool(g["converged"])


# --------------------------------------------------------------------------- linear


@pytest.mark.parametrize("name", FIXTURES)
def test_linear_table_glance_and_means_match_lm_and_emmeans(name: str) -> None:
    ref = REF["fixtures"][name]["linear"]["adjusted"]
    d = fixture(name)
    r = linear(d, "hba1c_change", covariates=COVS)
    check_table(r, ref["model"], "lm")
    check_glance(r, ref["glance"], "lm")
    check_means(r, ref["means"], "lm")
    check_contrast(r, ref["difference"], "mean difference", "lm")
    # the arm row of the table is the headline estimate
    arm_row = r.to_frame(terms="all").set_index("term").loc["arm[T.coaching]"]
    assert arm_row["estimate"] == pytest.approx(r.estimate, rel=1e-12)
    assert arm_row["p_value"] == pytest.approx(r.p_value, rel=1e-10)
    cr1 = linear(d, "hba1c_change", covariates=COVS, cluster="clinic")
    check_table(cr1, ref["cr1"], "lm")
    check_means(cr1, ref["means_cr1"], "lm")
    assert cr1.glance()["n_clusters"].iloc[0] == d["clinic"].nunique()
    cr2 = linear(d, "hba1c_change", covariates=COVS, cluster="clinic", cluster_vcov="CR2")
    check_table(cr2, ref["cr2"], "lm")


@pytest.mark.parametrize("name", FIXTURES)
def test_linear_interactions_match_lm(name: str) -> None:
    ref = REF["fixtures"][name]["linear"]
    d = fixture(name)
    r = quiet(linear, d, "hba1c_change", formula="arm*insulin + age + marital")
    check_table(r, ref["by_insulin"]["model"], "lm")
    check_test(r, ref["by_insulin"]["test"], "lm")
    check_means(r, ref["by_insulin"]["means"], "lm")
    check_contrast(r, ref["by_insulin"]["difference"], "mean difference", "lm")
    # the headline is the arm coefficient: the effect where insulin = False
    assert r.extra["arm_effect_at"] == "insulin = False"
    assert "arm effect where insulin = False" in r.method
    m = quiet(linear, d, "hba1c_change", formula="arm*marital + age")
    check_table(m, ref["by_marital"]["model"], "lm")
    check_test(m, ref["by_marital"]["test"], "lm")
    check_glance(m, ref["by_marital"]["glance"], "lm")
    mc = quiet(linear, d, "hba1c_change", formula="arm*marital + age", cluster="clinic")
    check_test(mc, ref["by_marital"]["test_cr1"], "lm")
    c = linear(d, "hba1c_change", formula="age*bmi")
    check_table(c, ref["covariate_product"]["model"], "lm")
    assert c.model is not None and c.model.interaction is None


# --------------------------------------------------------------------------- logistic


@pytest.mark.parametrize("name", FIXTURES)
def test_logistic_table_glance_means_rd_and_rr_match_glm_and_emmeans(name: str) -> None:
    ref = REF["fixtures"][name]["logistic"]["adjusted"]
    d = fixture(name)
    r = logistic(d, "goal", covariates=COVS)
    check_table(r, ref["model"], "glm")
    check_glance(r, ref["glance"], "glm")
    check_means(r, ref["means"], "glm")
    check_contrast(r, ref["risk_difference"], "risk difference", "glm")
    check_contrast(r, ref["risk_ratio"], "risk ratio", "glm")
    rd = logistic(d, "goal", covariates=COVS, estimand="risk difference")
    effect = rd.marginal_effects().set_index("contrast").loc["risk difference"]
    assert rd.estimate == pytest.approx(effect["estimate"], rel=1e-12)
    assert rd.std_error == pytest.approx(effect["std_error"], rel=1e-10)
    cl = logistic(d, "goal", covariates=COVS, cluster="clinic")
    check_table(cl, ref["cr1"], "glm")
    check_means(cl, ref["means_cr1"], "glm")
    check_contrast(cl, ref["risk_difference_cr1"], "risk difference", "glm")
    check_contrast(cl, ref["risk_ratio_cr1"], "risk ratio", "glm")


@pytest.mark.parametrize("name", FIXTURES)
def test_logistic_interactions_and_fixed_effects_match_glm(name: str) -> None:
    ref = REF["fixtures"][name]["logistic"]
    d = fixture(name)
    m = logistic(d, "goal", formula="arm*marital + age")
    check_table(m, ref["by_marital"]["model"], "glm")
    check_test(m, ref["by_marital"]["test"], "glm")
    check_means(m, ref["by_marital"]["means"], "glm")
    check_contrast(m, ref["by_marital"]["risk_difference"], "risk difference", "glm")
    check_contrast(m, ref["by_marital"]["risk_ratio"], "risk ratio", "glm")
    assert m.extra["arm_effect_at"] == "marital = married"
    # the marginal risk difference averages over the interaction: no reference level
    rd = logistic(d, "goal", formula="arm*marital + age", estimand="risk difference")
    assert rd.estimate == pytest.approx(ref["by_marital"]["risk_difference"]["estimate"], rel=1e-8)
    assert "arm_effect_at" not in rd.extra
    fe = quiet(logistic, d, "goal", covariates=COVS, fixed_effects="clinic")
    check_table(fe, ref["fixed_effects"]["model"], "glm")
    check_glance(fe, ref["fixed_effects"]["glance"], "glm")
    check_means(fe, ref["fixed_effects"]["means"], "glm")
    check_contrast(fe, ref["fixed_effects"]["risk_difference"], "risk difference", "glm")


# --------------------------------------------------------------------------- GEE and mixed


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("family", ["gaussian", "binomial"])
def test_gee_interaction_table_test_and_means_match_geeglm(name: str, family: str) -> None:
    ref = REF["fixtures"][name]["gee"][family]
    outcome = "goal" if family == "binomial" else "hba1c_change"
    d = fixture(name)
    r = quiet(gee, d, outcome, cluster="clinic", family=family, formula="arm*marital + age")
    check_table(r, ref["model"], "gee")
    check_test(r, ref["test"], "gee")
    check_means(r, ref["means"], "gee")
    row = "risk difference" if family == "binomial" else "mean difference"
    check_contrast(r, ref["difference"], row, "gee")
    assert math.isnan(r.glance()["loglik"].iloc[0])


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("reml", [True, False])
def test_mixed_table_glance_and_means_match_lmertest_and_emmeans(name: str, reml: bool) -> None:
    ref = REF["fixtures"][name]["mixed"]["reml" if reml else "ml"]
    r = mixed(fixture(name), "hba1c_change", cluster="clinic", covariates=COVS, reml=reml)
    check_table(r, ref["model"], "lmer")
    check_glance(r, ref["glance"], "lmer")
    check_means(r, ref["means"], "lmer")
    check_contrast(r, ref["difference"], "mean difference", "lmer")


@pytest.mark.parametrize("name", FIXTURES)
def test_mixed_interaction_f_test_matches_lmertest_contest(name: str) -> None:
    ref = REF["fixtures"][name]["mixed"]["by_marital"]
    r = mixed(fixture(name), "hba1c_change", cluster="clinic", formula="arm*marital + age")
    check_table(r, ref["model"], "lmer")
    check_test(r, ref["test"], "lmer")
    check_means(r, ref["means"], "lmer")


# --------------------------------------------------------------------------- properties and errors


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 200))
def test_linear_adjusted_means_differ_by_the_arm_coefficient(seed: int, n: int) -> None:
    """Without arm interactions the g-computation means differ by exactly the arm coefficient."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "arm": np.where(np.arange(n) % 2 == 0, "coaching", "usual_care"),
            "age": rng.normal(50, 10, n),
            "site": rng.choice(["a", "b", "c"], n),
        }
    )
    d["y"] = rng.normal(size=n) + 0.01 * d["age"]
    r = linear(d, "y", covariates=["age", "site"])
    means = r.adjusted_means()["estimate"].to_numpy()
    assert means[0] - means[1] == pytest.approx(r.estimate, abs=1e-10)
    effect = r.marginal_effects().iloc[0]
    assert effect["std_error"] == pytest.approx(r.std_error, rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_logistic_adjusted_risks_bracket_the_arm_proportions_unadjusted(seed: int) -> None:
    """Unadjusted, the adjusted risks are the observed proportions and the RR their ratio."""
    rng = np.random.default_rng(seed)
    n = 120
    d = pd.DataFrame({"arm": np.where(np.arange(n) < 60, "coaching", "usual_care")})
    d["goal"] = (rng.random(n) < np.where(d["arm"] == "coaching", 0.5, 0.3)).astype(int)
    if d.groupby("arm")["goal"].nunique().min() < 2:
        return
    r = logistic(d, "goal")
    observed = d.groupby("arm")["goal"].mean()
    means = r.adjusted_means().set_index("arm")["estimate"]
    assert means["coaching"] == pytest.approx(observed["coaching"], abs=1e-10)
    assert means["usual_care"] == pytest.approx(observed["usual_care"], abs=1e-10)
    rr = r.marginal_effects().set_index("contrast").loc["risk ratio", "estimate"]
    assert rr == pytest.approx(observed["coaching"] / observed["usual_care"], rel=1e-9)


def test_results_without_a_model_say_so() -> None:
    from coachstats.compare import chi_square

    d = pd.DataFrame({"arm": ["coaching", "usual_care"] * 10, "goal": [1, 0, 0, 1] * 5})
    r = chi_square(d, "goal")
    assert r.model is None
    assert list(r.to_frame()["estimand"]) == ["risk difference"]  # the default is unchanged
    for call in (lambda: r.to_frame(terms="all"), r.glance, r.adjusted_means):
        with pytest.raises(OptionError, match="needs a fitted model"):
            call()
    with pytest.raises(OptionError, match="terms='coef' is not allowed"):
        r.to_frame(terms="coef")


def test_interaction_errors_and_warnings_are_clear() -> None:
    d = fixture("few")
    with pytest.raises(OptionError, match=r"interaction 'arm:marital' needs the term 'marital'"):
        linear(d, "hba1c_change", formula="arm:marital")
    with pytest.raises(OptionError, match="firth=True fits no interaction with the arm"):
        logistic(d, "goal", formula="arm*insulin", firth=True)
    with pytest.warns(DataWarning, match="arm effect at age = 0, outside the observed age"):
        r = linear(d, "hba1c_change", formula="arm*age")
    assert r.extra["arm_effect_at"] == "age = 0"
    # a numeric modifier in a product with the arm needs its main effect too
    with pytest.raises(OptionError, match="needs the term 'age'"):
        linear(d, "hba1c_change", formula="arm:age")
