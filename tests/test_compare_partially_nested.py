"""Partially nested designs (coaches in the coaching arm only) against R.

Reference: ``Rscript tests/reference/partially_nested.R`` on the fixtures of
``make_nested_data.py``: ``lmer(change ~ armf + age + (0 + coached | coach))``
through lmerTest (and nlme's ``lme`` with ``pdIdent(~ 0 + coached)`` as a
second implementation), ``geeglm`` and ``lm`` + ``vcovCL``/``clubSandwich``
with usual-care patients as clusters of one.

Tolerances (relative) as for the fully clustered models
(``test_compare_models.py``): lmer 1e-6 on estimates, SEs and variances, 1e-5
on Satterthwaite df and P (lme4's optimizer and lmerTest's numerical
derivatives); nlme 1e-5 (its optimizer stops earlier, tolerance 1e-12 on the
relative change); GEE 1e-6 (epsilon 1e-10); lm, CR1 and CR2 1e-9 (closed forms).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare import gee, linear, mixed
from coachstats.core.errors import OptionError

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "partially_nested.json").read_text())
FIXTURES = tuple(REF["fixtures"])


def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"nested_{name}.csv")


def table(result: object) -> pd.DataFrame:
    return result.to_frame(terms="all").set_index("term")  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize("reml", [True, False])
def test_mixed_matches_lmer_with_a_dummy_coded_random_effect(name: str, reml: bool) -> None:
    ref = REF["fixtures"][name]["mixed"]["reml" if reml else "ml"]
    r = mixed(
        fixture(name),
        "change",
        cluster="coach",
        covariates=["age"],
        clustered_arm="coaching",
        reml=reml,
    )
    t = table(r)
    assert list(t.index) == ["(Intercept)", "arm[T.coaching]", "age"]
    assert t["estimate"].to_numpy() == pytest.approx(ref["coef"], rel=1e-6)
    assert t["std_error"].to_numpy() == pytest.approx(ref["se"], rel=1e-6)
    assert t["df"].to_numpy() == pytest.approx(ref["df"], rel=1e-5)
    assert t["p_value"].to_numpy() == pytest.approx(ref["p"], rel=1e-5)
    assert r.extra["var_cluster"] == pytest.approx(ref["tau2"], rel=1e-6)
    assert r.extra["var_residual"] == pytest.approx(ref["sigma2"], rel=1e-6)
    assert r.extra["loglik"] == pytest.approx(ref["loglik"], rel=1e-9)
    assert r.extra["n_clusters"] == ref["n_coaches"]
    assert r.n == ref["n"]
    assert r.extra["clustered_arm"] == "coaching"
    assert "random intercept for coach in the coaching arm only" in r.method
    if reml:
        nl = ref["nlme"]
        assert t["estimate"].to_numpy() == pytest.approx(nl["coef"], rel=1e-5)
        assert t["std_error"].to_numpy() == pytest.approx(nl["se"], rel=1e-5)
        assert r.extra["var_cluster"] == pytest.approx(nl["tau2"], rel=1e-5)
        assert r.extra["loglik"] == pytest.approx(nl["loglik"], rel=1e-8)


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize(("family", "outcome"), [("gaussian", "change"), ("binomial", "goal")])
def test_gee_with_usual_care_as_singletons_matches_geeglm(
    name: str, family: str, outcome: str
) -> None:
    ref = REF["fixtures"][name]["gee"][family]
    r = gee(
        fixture(name),
        outcome,
        cluster="coach",
        covariates=["age"],
        family=family,
        clustered_arm="coaching",
    )
    t = table(r)
    assert t["estimate"].to_numpy() == pytest.approx(ref["coef"], rel=1e-6)
    assert t["std_error"].to_numpy() == pytest.approx(ref["se"], rel=1e-6)
    assert t["p_value"].to_numpy() == pytest.approx(ref["p"], rel=1e-5)
    assert r.extra["working_correlation"] == pytest.approx(ref["alpha"], rel=1e-6)
    assert r.extra["n_clusters"] == ref["n_clusters"]
    assert "usual_care patients as clusters of one" in r.method


@pytest.mark.parametrize("name", FIXTURES)
def test_cluster_robust_ols_with_singletons_matches_vcovcl_and_clubsandwich(name: str) -> None:
    ref = REF["fixtures"][name]["linear"]
    d = fixture(name)
    cr1 = linear(d, "change", covariates=["age"], cluster="coach", clustered_arm="coaching")
    t = table(cr1)
    assert t["estimate"].to_numpy() == pytest.approx(ref["coef"], rel=1e-9)
    assert t["std_error"].to_numpy() == pytest.approx(ref["cr1_se"], rel=1e-9)
    assert t["p_value"].to_numpy() == pytest.approx(ref["cr1_p"], rel=1e-9)
    cr2 = linear(
        d,
        "change",
        covariates=["age"],
        cluster="coach",
        clustered_arm="coaching",
        cluster_vcov="CR2",
    )
    t2 = table(cr2)
    assert t2["std_error"].to_numpy() == pytest.approx(ref["cr2_se"], rel=1e-9)
    assert t2["df"].to_numpy() == pytest.approx(ref["cr2_df"], rel=1e-9)
    assert t2["p_value"].to_numpy() == pytest.approx(ref["cr2_p"], rel=1e-9)


def test_missing_coach_excludes_only_coached_patients_and_errors_are_clear() -> None:
    d = fixture("few")
    d.loc[d.index[:3], "coach"] = np.nan  # three coached patients without a coach
    r = mixed(d, "change", cluster="coach", clustered_arm="coaching")
    assert r.n_excluded == 3 and "missing coach (3)" in r.excluded_reason
    assert r.n == len(d) - 3
    with pytest.raises(OptionError, match="give the cluster column too"):
        linear(d, "change", clustered_arm="coaching")
    with pytest.raises(OptionError, match=r"clustered_arm='coach' is not an arm of column 'arm'"):
        mixed(d, "change", cluster="coach", clustered_arm="coach")


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_unclustered_arms_cluster_values_do_not_matter(seed: int) -> None:
    """Usual care's coach column (missing, or any labels) changes nothing."""
    d = fixture("few")
    rng = np.random.default_rng(seed)
    labelled = d.copy()
    usual = labelled["arm"] == "usual_care"
    labelled.loc[usual, "coach"] = rng.choice(["k00", "k01", "x"], int(usual.sum()))
    for fn in (mixed, gee):
        kwargs = {"family": "gaussian"} if fn is gee else {}
        a = fn(d, "change", cluster="coach", clustered_arm="coaching", **kwargs)
        b = fn(labelled, "change", cluster="coach", clustered_arm="coaching", **kwargs)
        assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
        assert a.std_error == pytest.approx(b.std_error, rel=1e-10)
