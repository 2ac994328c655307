"""P-value adjustment against R's p.adjust (tests/reference/basic.R -> basic.json); 1e-12."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.multiplicity import adjust_pvalues, adjust_table
from coachstats.errors import AnalysisError, ColumnNotFoundError, OptionError

HERE = Path(__file__).parent / "reference"
REF: dict[str, Any] = json.loads((HERE / "basic.json").read_text())["p_adjust"]
R_NAMES = {"holm": "holm", "bh": "BH", "bonferroni": "bonferroni"}


def as_float(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v == "NA" else v for v in values], dtype=float)


P = as_float(REF["p"])


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni"])
def test_matches_p_adjust(method: Any) -> None:
    expected = as_float(REF[R_NAMES[method]])
    got = adjust_pvalues(P, method)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0.0, equal_nan=True)
    assert np.isnan(got[np.isnan(P)]).all()  # missing stays missing


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_matches_p_adjust_with_n(method: Any) -> None:
    expected = as_float(REF[f"{R_NAMES[method]}_n20"])
    np.testing.assert_allclose(
        adjust_pvalues(P, method, n=20), expected, rtol=1e-12, equal_nan=True
    )


def test_adjust_table_is_a_new_tidy_frame() -> None:
    table = pd.read_csv(HERE / "data" / "basic_pvalues.csv")
    original = table.copy()
    out = adjust_table(table, "bh")
    pd.testing.assert_frame_equal(table, original)  # input untouched
    np.testing.assert_allclose(out["p_adjusted"], as_float(REF["BH"]), rtol=1e-12, equal_nan=True)
    assert out["adjust_method"].unique().tolist() == ["bh"]
    assert list(out.columns[:2]) == ["outcome", "p_value"]


def test_adjust_table_by_family() -> None:
    table = pd.DataFrame(
        {
            "trial": ["hcpc"] * 3 + ["peer"] * 3,
            "p": [0.01, 0.04, 0.03, 0.005, 0.2, np.nan],
        }
    )
    out = adjust_table(table, "holm", p_col="p", out_col="p_holm", by="trial")
    np.testing.assert_allclose(out["p_holm"][:3], adjust_pvalues([0.01, 0.04, 0.03], "holm"))
    np.testing.assert_allclose(out["p_holm"][3:5], [0.01, 0.2])
    assert np.isnan(out["p_holm"].iloc[5])


def test_errors() -> None:
    with pytest.raises(AnalysisError, match=r"in \[0, 1\]"):
        adjust_pvalues([0.2, 1.2])
    with pytest.raises(OptionError, match="'holm', 'bh', 'bonferroni'"):
        adjust_pvalues([0.2], "BH")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="smaller than"):
        adjust_pvalues([0.1, 0.2, 0.3], n=2)
    with pytest.raises(ColumnNotFoundError, match="'pval'"):
        adjust_table(pd.DataFrame({"p": [0.1]}), p_col="pval")
    with pytest.raises(AnalysisError, match="non-numeric"):
        adjust_table(pd.DataFrame({"p_value": ["0.1", "n.s."]}))


def test_all_missing_and_empty() -> None:
    assert np.isnan(adjust_pvalues([np.nan, np.nan])).all()
    assert adjust_pvalues([]).shape == (0,)


pvals = st.lists(
    st.one_of(st.floats(0.0, 1.0, allow_nan=False), st.sampled_from([0.01, 0.05, 0.5])),
    min_size=1,
    max_size=25,
)


@settings(max_examples=50, deadline=None)
@given(pvals, st.randoms(use_true_random=False))
def test_properties(p: list[float], rnd: Any) -> None:
    arr = np.array(p)
    holm = adjust_pvalues(arr, "holm")
    bh = adjust_pvalues(arr, "bh")
    bonf = adjust_pvalues(arr, "bonferroni")
    for adj in (holm, bh, bonf):
        assert ((adj >= arr - 1e-15) & (adj <= 1.0)).all()
        order = np.argsort(arr, kind="stable")
        assert (np.diff(adj[order]) >= -1e-15).all()  # monotone in the raw P
    assert (bonf >= holm - 1e-15).all() and (holm >= bh - 1e-15).all()
    perm = list(range(len(p)))
    rnd.shuffle(perm)
    np.testing.assert_allclose(adjust_pvalues(arr[perm], "bh"), bh[perm], rtol=1e-15)
    np.testing.assert_allclose(adjust_pvalues(arr[perm], "holm"), holm[perm], rtol=1e-15)
