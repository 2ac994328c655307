"""The imputation engine (coachstats.compare.mice) against R's mice 3.15, in distribution.

The random streams differ, so every check compares distributions, each with a tolerance
from its Monte Carlo error (stated at each test):

* one univariate step (``norm``, ``pmm``, ``logreg``) on fixed data, many draws, against
  R's 20000 draws of ``mice.impute.norm`` / ``mice.impute.pmm`` / ``mice.impute.logreg``
  summarised in ``tests/reference/missing.json`` (``steps``, from
  ``tests/reference/missing.R``): the mean and the spread of every imputed value, and the
  spread of the average imputation of a draw (which carries the coefficient draw);
* the whole chained equations with thousands of imputations, against ``mice`` with
  m = 4000 per case in ``tests/reference/missing_large.json`` (from
  ``tests/reference/missing_large.R``): the pooled coaching coefficient of the two
  analysis models and its between-imputation variance b, and the mean imputed value of
  every imputed column in each arm.

These tests were added when a pooled log odds ratio about 0.01 above mice's (m = 1000)
was reported: the difference of two pooled estimates with m = 1000 each has Monte Carlo
SD sqrt(2 b / 1000), about 0.006 for that model (b = 0.0185), and 4000-imputation runs of
both agree within it (docs/methods_missing.md, "Agreement with mice").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from coachstats.compare import mice
from coachstats.compare.missing import impute

REF = Path(__file__).parent / "reference"
DATA = REF / "data"
MAR_COLUMNS = ["age", "sex", "hba1c_0", "bmi", "hba1c_12", "goal_met"]


@cache
def reference(name: str) -> dict[str, Any]:
    with open(REF / f"{name}.json") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


@cache
def mar() -> pd.DataFrame:
    return pd.read_csv(DATA / "missing_mar.csv")


# --------------------------------------------------------------------------- one step, many draws

#: Python draws per step: enough for the bounds below, about a second per step.
STEP_DRAWS = 2000


def _step_inputs() -> tuple[np.ndarray, pd.DataFrame]:
    """Design columns shared by the steps (intercept, arm, age, sex, hba1c_0, bmi) as in
    missing.R (section 4), and the first imputed MAR dataset that completes the predictors."""
    d = mar()
    long = pd.read_csv(DATA / "missing_imputed_mar.csv")
    imp1 = long[long[".imp"] == 1].reset_index(drop=True)
    base = np.column_stack([
        np.ones(len(d)), (d["arm"] == "coaching").to_numpy(float), d["age"],
        (d["sex"] == "M").to_numpy(float), d["hba1c_0"], imp1["bmi"],
    ])  # fmt: skip
    return base, imp1


@cache
def step_draws(step: str) -> np.ndarray:
    """``STEP_DRAWS`` draws (rows) of one step, on the data of ``missing.R``'s draws."""
    base, imp1 = _step_inputs()
    rng = np.random.default_rng({"norm": 21, "pmm": 22, "logreg_draws": 23}[step])
    draw: Callable[[], np.ndarray]
    if step == "logreg_draws":  # goal_met given arm, age, sex, hba1c_0, bmi, hba1c_12
        x = np.column_stack([base, imp1["hba1c_12"]])
        y = imp1["goal_met"].to_numpy(float)
        obs = mar()["goal_met"].notna().to_numpy()

        def draw() -> np.ndarray:
            return mice._impute_logreg(x[obs], y[obs], x[~obs], rng, x, y)

    else:  # hba1c_12 given arm, age, sex, hba1c_0, bmi, goal_met
        x = np.column_stack([base, imp1["goal_met"]])
        y = mar()["hba1c_12"].to_numpy(float)
        obs = ~np.isnan(y)
        if step == "norm":

            def draw() -> np.ndarray:
                return mice._impute_norm(x[obs], y[obs], x[~obs], rng)

        else:

            def draw() -> np.ndarray:
                return mice._impute_pmm(x[obs], y[obs], x[~obs], rng, 5)

    return np.array([draw() for _ in range(STEP_DRAWS)])


@pytest.mark.parametrize("step", ["norm", "pmm", "logreg_draws"])
def test_step_draws_match_mice(step: str) -> None:
    """Mean and variance of every imputed value, and the variance of a draw's average.

    With n = 2000 Python and n_R = 20000 R draws:

    * the row means differ by about N(0, s^2/n + s_R^2/n_R);
    * the row variances by about N(0, (mu4 - s^4)(1/n + 1/n_R)), the large-sample variance
      of a sample variance, with the fourth central moment mu4 estimated from the Python
      draws for both sides (under the null they share it);
    * the log ratio of the variances of the draw averages (an average of 49-61 imputed
      values, close to normal) by about N(0, 2/(n-1) + 2/(n_R-1)); this is the check of the
      coefficient (and, for norm and pmm, sigma) draw: a covariance scaled by 1.15 fails.

    Row checks use |z| < 4.5 (61 rows: false alarm about 61 * 7e-6 = 4e-4 per check), the
    draw-average check 4 SD (6e-5).
    """
    ref = reference("missing")["steps"][step]
    draws = step_draws(step)
    n, n_r = len(draws), ref["n_draws"]
    r_mean, r_var = np.array(ref["row_mean"]), np.square(ref["row_sd"])
    assert draws.shape[1] == len(r_mean)
    mean, var = draws.mean(axis=0), draws.var(axis=0, ddof=1)
    z_mean = (mean - r_mean) / np.sqrt(var / n + r_var / n_r)
    assert np.abs(z_mean).max() < 4.5
    if step != "logreg_draws":  # a 0/1 draw's variance is p(1 - p): checked with the mean
        mu4 = np.mean((draws - mean) ** 4, axis=0)
        z_var = (var - r_var) / np.sqrt((mu4 - draws.var(axis=0) ** 2) * (1 / n + 1 / n_r))
        assert np.abs(z_var).max() < 4.5
    log_ratio = math.log(draws.mean(axis=1).var(ddof=1) / ref["sd_of_draw_average"] ** 2)
    assert abs(log_ratio) < 4 * math.sqrt(2 / (n - 1) + 2 / (n_r - 1))


# --------------------------------------------------------------------------- whole pipeline, large m

#: Python seeds of the large-m cases (any seed: the streams are not R's).
LARGE_SEEDS = {"mar_pmm": 301, "mar_norm": 302, "mar_pmm_maxit1": 303}


def pipeline_draws(case: str, m: int) -> dict[str, np.ndarray]:
    """Per-imputation statistics of ``missing_large.R`` from coachstats' imputations.

    The coaching coefficient of ``hba1c_12 ~ arm + hba1c_0 + age`` (least squares) and of
    ``goal_met ~ arm + hba1c_0 + age`` (logistic), and the mean of the imputed cells of
    each imputed column within each arm, one value per imputation.
    """
    spec = reference("missing_large")["cases"][case]
    data = mar()
    imp = impute(data, MAR_COLUMNS, m=m, seed=LARGE_SEEDS[case], maxit=spec["maxit"],
                 methods=spec["methods"])  # fmt: skip
    arm = data["arm"].to_numpy()
    x = np.column_stack([np.ones(len(data)), arm == "coaching", data["hba1c_0"], data["age"]])

    def completed(col: str) -> np.ndarray:  # (n, m): observed values, imputations filled in
        out = np.repeat(data[col].to_numpy(float)[:, None], m, axis=1)
        out[imp.where[col].to_numpy()] = imp.values[col].T
        return out

    out = {"lm_hba1c": np.linalg.lstsq(x, completed("hba1c_12"), rcond=None)[0][1]}
    goal = completed("goal_met")
    out["glm_goal"] = np.array([mice.logistic_irls(x, goal[:, i])[0][1] for i in range(m)])
    for col in ("bmi", "hba1c_12", "goal_met"):
        where = imp.where[col].to_numpy()
        for label in ("usual_care", "coaching"):
            cells = (arm[where] == label)[None, :]
            out[f"{col}:{label}"] = np.where(cells, imp.values[col], 0).sum(1) / cells.sum()
    return out


def check_pipeline(case: str, m: int) -> None:
    """Every statistic's mean over the imputations agrees with mice's within 4 MC SD.

    A mean over m independent imputations has Monte Carlo variance var / m, so two
    implementations drawing from the same distribution differ by about
    N(0, var_py/m_py + var_R/m_R); 4 SD has false-alarm probability 6e-5 per statistic
    (8 per case). The between-imputation variance b of each coefficient is checked too:
    a sample variance of m close-to-normal values has variance 2 b^2 / (m - 1), at 4 SD.
    """
    spec = reference("missing_large")["cases"][case]
    ours = pipeline_draws(case, m)
    m_r = spec["m"]
    refs = {**spec["estimate"], **spec["imputed_mean"]}
    assert set(refs) == set(ours)
    for name, ref in refs.items():
        values = ours[name]
        mc = math.sqrt(values.var(ddof=1) / m + ref["var"] / m_r)
        assert abs(values.mean() - ref["mean"]) < 4 * mc, (name, values.mean(), ref["mean"], mc)
    for name, ref in spec["estimate"].items():
        b = ours[name].var(ddof=1)
        mc = math.sqrt(2 * b**2 / (m - 1) + 2 * ref["var"] ** 2 / (m_r - 1))
        assert abs(b - ref["var"]) < 4 * mc, (name, b, ref["var"], mc)


def test_one_iteration_matches_mice_with_large_m() -> None:
    """maxit = 1: the starting draws, the visit order and one pass of every step.

    After one iteration the imputations still depend on how the chains start
    (``mice:::initialize.imp``) and in which order the columns are visited, so this case
    checks those too. m = 1000 (one iteration each, a few seconds) against R's 4000: the MC
    SD of the pooled log odds ratio difference is then about 0.005.
    """
    check_pipeline("mar_pmm_maxit1", 1000)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["mar_pmm", "mar_norm"])
def test_chained_equations_match_mice_with_large_m(case: str) -> None:
    """maxit = 10 with pmm or norm for the continuous columns, m = 4000 as R.

    The MC SD of the pooled log odds ratio difference is sqrt(2 b / 4000), about 0.003
    with b = 0.0185, so a shift of 0.012 (4 % of its SE) fails.
    """
    check_pipeline(case, 4000)
