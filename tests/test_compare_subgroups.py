"""subgroup_effects against R (tests/reference/model_output.json, block "subgroups") and properties.

The arm effect within each marital level of ``arm*marital + age`` models:
``emmeans(fit, ~ armf | marital)`` contrasts for ``lm``, ``glm`` (odds
ratios; emmeans reports the SE of the ratio, coachstats that of the log odds
ratio, compared through SE(OR) / OR), ``lmer`` (Satterthwaite) and
``geeglm``; the marginal risk difference within a level written out in R.
Tolerances as in ``test_compare_model_output.py`` (lm 1e-9, glm 1e-8, GEE
1e-7, lmer 1e-6 and 1e-5 on df and P).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare import linear, subgroup_effects
from coachstats.core.errors import ColumnNotFoundError, DataWarning, OptionError

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "model_output.json").read_text())
TOL = {"linear": 1e-9, "logistic": 1e-8, "gee": 1e-7, "mixed": 1e-6}
TOL_DF = {"linear": 1e-9, "logistic": 1e-8, "gee": 1e-7, "mixed": 1e-5}
CASES = {
    "linear": ("hba1c_change", {}),
    "logistic": ("goal", {}),
    "mixed": ("hba1c_change", {"cluster": "clinic"}),
    "gee": ("hba1c_change", {"cluster": "clinic", "family": "gaussian"}),
}


def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"models_{name}.csv")


@pytest.mark.parametrize("name", ["few", "many"])
@pytest.mark.parametrize("method", list(CASES))
def test_subgroup_effects_match_emmeans(name: str, method: str) -> None:
    ref = REF["fixtures"][name]["subgroups"][method]
    outcome, options = CASES[method]
    res = subgroup_effects(
        fixture(name), outcome, by="marital", method=method, covariates=["age"], **options
    )
    table = res.to_frame().set_index("level").drop(index="")
    assert list(table.index) == ref["level"]
    ratio = method == "logistic"
    for i, level in enumerate(ref["level"]):
        row = table.loc[level]
        assert row["estimate"] == pytest.approx(ref["estimate"][i], rel=TOL[method])
        se = ref["se"][i] / ref["estimate"][i] if ratio else ref["se"][i]
        assert row["std_error"] == pytest.approx(se, rel=TOL[method])
        assert row["conf_low"] == pytest.approx(ref["low"][i], rel=TOL_DF[method])
        assert row["conf_high"] == pytest.approx(ref["high"][i], rel=TOL_DF[method])
        assert row["p_value"] == pytest.approx(ref["p"][i], rel=TOL_DF[method])
    # the test of interaction is the model's joint test (checked against R elsewhere)
    assert res.interaction("marital").df == 2


@pytest.mark.parametrize("name", ["few", "many"])
def test_subgroup_risk_differences_match_r(name: str) -> None:
    ref = REF["fixtures"][name]["subgroups"]["logistic_rd"]
    res = subgroup_effects(
        fixture(name),
        "goal",
        by="marital",
        method="logistic",
        covariates=["age"],
        estimand="risk difference",
    )
    table = res.to_frame().set_index("level").drop(index="")
    for i, level in enumerate(ref["level"]):
        assert table.loc[level, "estimate"] == pytest.approx(ref["estimate"][i], rel=1e-8)
        assert table.loc[level, "std_error"] == pytest.approx(ref["se"][i], rel=1e-8)
    assert set(table["estimand"]) == {"risk difference"}


def test_result_object_table_summary_and_repr() -> None:
    d = fixture("few")
    res = subgroup_effects(d, "hba1c_change", by=["insulin", "marital"], covariates=["age"])
    frame = res.to_frame()
    assert list(frame["subgroup"]) == ["all patients"] + ["insulin"] * 2 + ["marital"] * 3
    assert frame["n1"].iloc[1:3].sum() == frame["n1"].iloc[0]  # the levels partition the rows
    text = res.summary()
    assert "insulin (interaction P = " in text and "marital (interaction P = " in text
    assert repr(res).startswith("<SubgroupResult hba1c_change: mean difference by subgroup")
    overall = linear(d, "hba1c_change", covariates=["age"])
    assert frame["estimate"].iloc[0] == pytest.approx(overall.estimate, rel=1e-12)
    with pytest.raises(OptionError, match="variable='age' is not allowed"):
        res.interaction("age")


def test_errors_are_clear() -> None:
    d = fixture("few")
    with pytest.raises(ColumnNotFoundError, match="subgroup column 'nope' not found"):
        subgroup_effects(d, "hba1c_change", by="nope")
    with pytest.raises(OptionError, match=r"has \d+ levels .* cut it into groups"):
        subgroup_effects(d, "hba1c_change", by="bmi")
    with pytest.raises(OptionError, match="method='t_test' is not allowed"):
        subgroup_effects(d, "hba1c_change", by="marital", method="t_test")  # type: ignore[arg-type]
    # a level with one arm only: no effect there, said in the row
    level = np.where(np.arange(len(d)) % 2 == 0, "a", "b").astype(object)
    coached = np.flatnonzero((d["arm"] == "coaching").to_numpy())[:15]
    level[coached] = "c"
    with pytest.warns(DataWarning, match="dropped covariate column"):
        res = subgroup_effects(d.assign(level=level), "hba1c_change", by="level")
    row = res.to_frame().set_index("level").loc["c"]
    assert row["note"] == "one arm only" and math.isnan(row["estimate"])
    assert row["n2"] == 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_saturated_subgroup_effects_are_the_differences_of_means(seed: int) -> None:
    """Without covariates, the effect in a level is the difference of the arm means there."""
    rng = np.random.default_rng(seed)
    n = 160
    d = pd.DataFrame(
        {
            "arm": np.tile(["coaching", "usual_care"], n // 2),
            "site": rng.choice(["a", "b", "c"], n),
        }
    )
    d["y"] = rng.normal(size=n)
    if d.groupby(["site", "arm"]).size().min() < 2:
        return
    res = subgroup_effects(d, "y", by="site")
    means = d.groupby(["site", "arm"])["y"].mean()
    table = res.to_frame().set_index("level")
    for site in ("a", "b", "c"):
        expected = means[(site, "coaching")] - means[(site, "usual_care")]
        assert table.loc[site, "estimate"] == pytest.approx(expected, abs=1e-10)
        assert not math.isnan(table.loc[site, "interaction_p"])
