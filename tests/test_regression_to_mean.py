"""Regression to the mean after selection on a baseline value, against R (truncnorm, mvtnorm).

The R script (tests/reference/regression_to_mean.R) computes the same quantities by other
routes: E[X | X > c] with truncnorm::etruncnorm, the selected shares with mvtnorm::pmvnorm
(bivariate normal probabilities) and the truncated-normal fit with optim on dtruncnorm.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coachstats.compare.regression_to_mean import fit_truncated_normal, regression_to_mean
from coachstats.errors import AnalysisError

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "regression_to_mean.json").read_text())
CLOSED = 1e-9  # closed forms (normal densities and tails)
QUAD = 1e-7  # adaptive quadrature (ours, ~1e-10) vs pmvnorm's bivariate algorithm (~1e-8 abs)
OPTIM = 1e-5  # two BFGS fits (analytic gradient here, numeric in R) stopping at their tolerances
#: 60 values far in the tail leave the likelihood flat: the two fits agree to 1e-9 in
#: log-likelihood but only to about 3e-5 in the parameters
FLAT, FLAT_LOGLIK = 1e-3, 1e-8


@pytest.mark.parametrize("name", sorted(REF["models"]))
def test_model_matches_r(name: str) -> None:
    ref = REF["models"][name]
    r = regression_to_mean(
        mean=ref["mean"], sd=ref["sd"], threshold=ref["threshold"], within_sd=ref["within_sd"]
    )
    assert r.reliability == pytest.approx(ref["reliability"], rel=CLOSED)
    assert r.selected_mean == pytest.approx(ref["selected_mean"], rel=CLOSED)
    assert r.expected_change == pytest.approx(ref["expected_change"], rel=CLOSED)
    assert r.share_below(ref["goal"]) == pytest.approx(ref["share_below"], rel=QUAD)
    assert r.share_dropping(ref["drop"]) == pytest.approx(ref["share_dropping"], rel=QUAD)
    np.testing.assert_allclose(r.change_given(ref["baselines"]), ref["change_given"], rtol=CLOSED)
    np.testing.assert_allclose(
        r.below_given(ref["baselines"], ref["goal"]), ref["below_given"], rtol=CLOSED
    )


@pytest.mark.parametrize(("name", "rel"), [("large", OPTIM), ("small", FLAT)])
def test_truncated_fit_matches_r(name: str, rel: float) -> None:
    data = pd.read_csv(HERE / "data" / "rtm_selected.csv")
    d = data.loc[data["set"] == name]
    ref = REF["fits"][name]
    c = ref["threshold"]
    mu, sd = fit_truncated_normal(d["value"], c)
    assert mu == pytest.approx(ref["mean"], rel=rel) and sd == pytest.approx(ref["sd"], rel=rel)
    x = d["value"].to_numpy()

    def loglik(m: float, s: float) -> float:
        return float(np.sum(stats.norm.logpdf(x, m, s)) - x.size * stats.norm.logsf(c, m, s))

    # our maximum is at least as high as R's
    assert loglik(mu, sd) >= loglik(ref["mean"], ref["sd"]) - FLAT_LOGLIK


def test_simulation_agrees_with_the_model() -> None:
    # a bivariate normal population, selected on X > c, with no true change: the mean change
    # and the shares of the selected match the model within Monte Carlo error (n = 400,000)
    rng = np.random.default_rng(5)
    mu, sd, sw, c = 8.2, 1.7, 0.8, 8.0
    true = rng.normal(mu, np.sqrt(sd**2 - sw**2), 400_000)
    x, y = true + rng.normal(0, sw, true.size), true + rng.normal(0, sw, true.size)
    sel = x > c
    r = regression_to_mean(population=x, threshold=c, within_sd=sw)
    assert "baselines the patients were selected from" in r.method
    assert r.expected_change == pytest.approx((y - x)[sel].mean(), abs=0.01)
    assert r.share_below(c) == pytest.approx((y[sel] <= c).mean(), abs=0.005)
    assert r.share_dropping(1.0) == pytest.approx(((x - y)[sel] >= 1).mean(), abs=0.005)
    # per patient, averaged over the selected baselines: the same figures
    assert r.change_given(x[sel]).mean() == pytest.approx((y - x)[sel].mean(), abs=0.01)
    assert r.below_given(x[sel], c).mean() == pytest.approx((y[sel] <= c).mean(), abs=0.005)
    assert r.below_given(x[sel], x[sel] - 1).mean() == pytest.approx(
        ((x - y)[sel] >= 1).mean(), abs=0.005
    )
    # only the selected known: the truncated fit recovers the population and the same change
    only = regression_to_mean(population=x[sel], threshold=c, within_sd=sw)
    assert "truncated" in only.method
    assert only.expected_change == pytest.approx(r.expected_change, abs=0.02)


def test_errors() -> None:
    with pytest.raises(AnalysisError, match="below the population SD"):
        regression_to_mean(mean=8.0, sd=0.5, threshold=8.0, within_sd=0.8)
    with pytest.raises(AnalysisError, match="mean and SD"):
        regression_to_mean(threshold=8.0, within_sd=0.8)
    with pytest.raises(AnalysisError, match="at least 10"):
        fit_truncated_normal([9.0, 9.5], 8.0)
    with pytest.raises(AnalysisError, match="above the truncation"):
        fit_truncated_normal(np.linspace(7, 10, 20), 8.0)
