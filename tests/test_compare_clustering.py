"""The one design effect (coachstats.compare.clustering): both forms, both old call sites.

The formulas are checked against worked examples (Donner & Klar 2000: equal
clusters; Eldridge et al. 2006: 1 + ((1 + .4^2) x 75 - 1) x .05 = 5.3) and,
for the difference between arms, against the dense matrix algebra in
tests/test_questionnaires.py. Tolerances: both forms compute the same
closed form in a different order of operations, so they agree to 1e-12
relative (observed: a few ulp).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.clustering import design_effect, design_effect_difference
from coachstats.errors import AnalysisError, OptionError


def test_worked_examples() -> None:
    assert design_effect(0.05, 10) == pytest.approx(1.45, rel=1e-15)  # 1 + 9 x .05
    assert design_effect(0.05, 75, cluster_cv=0.4) == pytest.approx(5.3, rel=1e-14)
    assert design_effect(0.05, [10, 30]) == pytest.approx(2.2, rel=1e-14)  # m_w = 25
    assert design_effect(0.0, [3, 90]) == 1.0
    assert design_effect_difference(0.2, [10, 10], [10, 0]) == pytest.approx(2.8, rel=1e-14)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12), st.floats(0.0, 1.0))
def test_the_sizes_form_is_the_mean_size_form_with_their_cv(sizes: list[int], icc: float) -> None:
    m = np.array(sizes, dtype=float)
    cv = float(m.std() / m.mean())  # population SD, as in m_w = (1 + CV^2) mean
    assert design_effect(icc, m) == pytest.approx(
        design_effect(icc, float(m.mean()), cluster_cv=cv), rel=1e-12
    )


def test_old_call_sites_give_the_same_numbers() -> None:
    from coachstats import power, questionnaires

    assert power.design_effect is design_effect  # the same function, same argument order
    sizes, treated = [4, 9, 12], [2, 9, 0]
    assert questionnaires.design_effect(sizes, 0.1) == design_effect(0.1, sizes)
    assert questionnaires.design_effect_difference(sizes, treated, 0.1) == design_effect_difference(
        0.1, sizes, treated
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((1.5, 10), {}, OptionError, r"icc=1\.5 is not allowed.*must be in \[0, 1\]"),
        (("0.1", 10), {}, OptionError, "icc must be a number"),
        ((0.1, 0.5), {}, OptionError, "cluster_size .* must be >= 1"),
        ((0.1, 10), {"cluster_cv": -1}, OptionError, "cluster_cv must be >= 0"),
        ((0.1, [10, 20]), {"cluster_cv": 0.3}, OptionError, "leave cluster_cv at 0"),
        ((0.1, [10, 0]), {}, AnalysisError, "positive numbers"),
        ((0.1, []), {}, AnalysisError, "non-empty"),
    ],
)
def test_errors(
    args: tuple[object, object], kwargs: dict[str, float], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        design_effect(*args, **kwargs)  # type: ignore[arg-type]
