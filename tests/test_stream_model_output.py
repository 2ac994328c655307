"""The full model output of streamed fits equals the in-memory one; interactions do not stream.

The streamed fits (:mod:`coachstats.engines.stream`) accumulate the same sums
as the in-memory ones and call the same output builders
(:mod:`coachstats.compare.output`), so the coefficient tables, fit
statistics, adjusted means and marginal contrasts agree to rounding (1e-9
relative; the sums are added in another order). Interaction terms are fitted
in memory only: the streamed path says so.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from coachstats.core.errors import DataWarning, OptionError
from coachstats.core.results import ComparisonResult
from coachstats.engines.stream import compare_frame
from coachstats.plan import AnalysisPlan, AnalysisSpec, run_plan

CASES = [
    ("linear", "y", {"covariates": ["age", "site"]}),
    ("linear", "y", {"covariates": ["age"], "cluster": "clinic"}),
    ("linear", "y", {"covariates": ["age"], "cluster": "clinic", "cluster_vcov": "CR2"}),
    ("linear", "y", {"covariates": ["age"], "fixed_effects": "clinic", "cluster": "clinic"}),
    ("logistic", "goal", {"covariates": ["age", "site"]}),
    ("logistic", "goal", {"covariates": ["age"], "cluster": "clinic"}),
    ("logistic", "goal", {"covariates": ["age"], "fixed_effects": "clinic", "cluster": "site"}),
    ("logistic", "goal", {"covariates": ["age"], "estimand": "risk difference"}),
    ("gee", "goal", {"covariates": ["age"], "cluster": "clinic"}),
    ("gee", "y", {"covariates": ["age"], "cluster": "clinic", "family": "gaussian"}),
    ("mixed", "y", {"covariates": ["age", "site"], "cluster": "clinic"}),
]


def data(n: int = 900, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    clinic = rng.integers(0, 14, n)
    d = pd.DataFrame(
        {
            "arm": rng.choice(["coaching", "usual_care"], n),
            "clinic": [f"c{c:02d}" for c in clinic],
            "site": rng.choice(["north", "south", "east"], n),
            "age": rng.normal(55, 10, n).round(),
        }
    )
    u = rng.normal(0, 0.4, 14)[clinic]
    treated = (d["arm"] == "coaching").to_numpy()
    d["y"] = -0.5 * treated + 0.02 * (d["age"] - 55) + u + rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-(-0.3 + 0.5 * treated + 0.02 * (d["age"] - 55) + u)))
    d["goal"] = (rng.random(n) < p).astype(int)
    return d


def close(a: float, b: float) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))


def same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        for x, y in zip(a[col], b[col], strict=True):
            if x is pd.NA or y is pd.NA:
                assert x is y, (col, x, y)
            elif isinstance(x, (float, np.floating)):
                assert close(float(x), float(y)), (col, x, y)
            else:
                assert x == y, (col, x, y)


@pytest.mark.parametrize(("method", "outcome", "options"), CASES)
def test_streamed_model_output_equals_in_memory(
    method: str, outcome: str, options: dict[str, object]
) -> None:
    d = data()
    opts = dict(options)
    spec = AnalysisSpec(
        outcome,
        method,  # type: ignore[arg-type]
        covariates=tuple(opts.pop("covariates")),  # type: ignore[call-overload]
        cluster=opts.pop("cluster", None),  # type: ignore[arg-type]
        options=opts,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        whole = run_plan(d, AnalysisPlan([spec])).results[0]
        from coachstats.engines.stream import analyze

        streamed = analyze(d, [spec], batch_size=170)[0]
    assert isinstance(whole, ComparisonResult) and isinstance(streamed, ComparisonResult)
    assert close(streamed.estimate, whole.estimate)
    assert streamed.model is not None and whole.model is not None
    same_frames(streamed.to_frame(terms="all"), whole.to_frame(terms="all"))
    same_frames(streamed.glance(), whole.glance())
    same_frames(streamed.adjusted_means(), whole.adjusted_means())
    same_frames(streamed.marginal_effects(), whole.marginal_effects())


def test_interactions_do_not_stream_and_say_so() -> None:
    d = data(200)
    with pytest.raises(OptionError, match=r"interaction terms \['arm:site'\] are fitted in memory"):
        compare_frame("linear", d, "y", formula="arm*site")
    with pytest.raises(OptionError, match=r"interaction terms \['age:site'\]"):
        compare_frame("logistic", d, "goal", formula="age*site")
