"""The Mancl-DeRouen bias-corrected GEE sandwich against R.

``tests/reference/gee_md.R`` fits ``geepack::geeglm`` (exchangeable; binomial
and gaussian) on the model fixtures (6, 5 and 60 clinics) and computes the
correction of Mancl & DeRouen (2001) from that fit with dense per-cluster
matrices (no packaged R implementation is available here); the script first
checks that the same algebra without the correction reproduces geeglm's own
robust covariance. coachstats computes the correction from p x p per-cluster
sums. Tolerance 1e-6 relative: both sides are iterative fits (geepack to
epsilon 1e-10); observed about 1e-14, and 6e-10 for the small gaussian fit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from coachstats.analysis import AnalysisSpec
from coachstats.compare.models import gee
from coachstats.errors import OptionError
from coachstats.stream import analyze

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "gee_md.json").read_text())
OUTCOME = {"binomial": "goal", "gaussian": "hba1c_change"}


def fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / f"models_{name}.csv")


@pytest.mark.parametrize("name", ["few", "small", "many"])
@pytest.mark.parametrize("family", ["binomial", "gaussian"])
def test_mancl_derouen_matches_the_r_computation(name: str, family: str) -> None:
    ref = REF[name][family]
    kw = {"cluster": "clinic", "family": family, "corr": "exchangeable"}
    plain = gee(fixture(name), OUTCOME[family], **kw)  # type: ignore[arg-type]
    md = gee(fixture(name), OUTCOME[family], small_sample="MD", **kw)  # type: ignore[arg-type]
    est = md.extra["log_odds_ratio"] if family == "binomial" else md.estimate
    assert est == pytest.approx(ref["estimate"], rel=1e-6)
    assert plain.std_error == pytest.approx(ref["robust_se"], rel=1e-6)
    assert md.std_error == pytest.approx(ref["md_se"], rel=1e-6)
    assert md.extra["working_correlation"] == pytest.approx(ref["alpha"], rel=1e-6, abs=1e-9)
    assert "robust SE with the Mancl-DeRouen correction" in md.method
    # the correction inflates the sandwich, most with few clusters
    assert md.std_error > plain.std_error
    assert math.isclose(md.estimate, plain.estimate, rel_tol=1e-12)


def test_mancl_derouen_streams_and_checks_its_option() -> None:
    d = fixture("few")
    spec = AnalysisSpec("goal", "gee", cluster="clinic", options={"small_sample": "MD"})
    whole = gee(d, "goal", cluster="clinic", small_sample="MD")
    streamed = analyze(d, [spec], batch_size=50).results[0]
    assert streamed is not None
    assert streamed.std_error == pytest.approx(whole.std_error, rel=1e-10)
    assert streamed.method == whole.method
    with pytest.raises(OptionError, match="small_sample"):
        gee(d, "goal", cluster="clinic", small_sample="CR2")  # type: ignore[arg-type]
