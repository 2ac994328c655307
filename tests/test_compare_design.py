"""coachstats.compare.design: formula parsing, covariate coding, aliasing, group sums."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.design import (
    Centred,
    GroupIndex,
    build_design,
    covariate_terms,
    group_sums,
    model_terms,
    parse_formula,
)
from coachstats.compare.prepare import factorize_labels
from coachstats.errors import AnalysisError, DataWarning, OptionError


def frame(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n).round(),
            "bmi": rng.normal(31, 6, n).round(1),
            "site": rng.choice(["west", "east", "north"], n),
            "insulin": rng.random(n) < 0.4,
            "size": rng.choice([3, 1, 2], n),
            "clinic": rng.choice(["a", "b", "c", "d"], n),
        }
    )
    treated = np.arange(n) % 2 == 0
    return d, treated


# --------------------------------------------------------------------------- formulas


def test_parse_formula() -> None:
    assert parse_formula("age + bmi + C(site)") == (("age", False), ("bmi", False), ("site", True))
    assert parse_formula("~age+C( size )") == (("age", False), ("size", True))
    assert parse_formula("age + C(age)") == (("age", True),)
    assert parse_formula("age + age") == (("age", False),)


@pytest.mark.parametrize("bad", ["y ~ age", "age:bmi", "age * bmi", "log(age)", "age + -1", ""])
def test_parse_formula_rejects_what_it_cannot_do(bad: str) -> None:
    with pytest.raises(OptionError, match="not supported"):
        parse_formula(bad)


def test_covariate_terms_merge_names_and_formula() -> None:
    assert covariate_terms("age") == (("age", False),)
    assert covariate_terms(["age", "site"], "C(site) + bmi") == (
        ("age", False),
        ("site", True),
        ("bmi", False),
    )


# --------------------------------------------------------------------------- coding


def test_coding_of_numeric_bool_and_string_columns() -> None:
    d, t = frame()
    des = build_design(d, t, ["age", "insulin", "site"], arm_name="group", treatment="coach")
    assert des.names == (
        "group[T.coach]",
        "age",
        "insulin",
        "site[T.north]",
        "site[T.west]",
    )
    assert des.covariates == ("age", "insulin", "site")
    np.testing.assert_array_equal(des.X[:, 0], t.astype(float))
    np.testing.assert_array_equal(des.X[:, 1], d["age"].to_numpy())
    np.testing.assert_array_equal(des.X[:, 2], d["insulin"].to_numpy(dtype=float))
    # Treatment coding against pandas' own dummies (reference = first sorted level, 'east').
    dummies = pd.get_dummies(d["site"], dtype=float).drop(columns="east")
    np.testing.assert_array_equal(des.X[:, 3:], dummies[["north", "west"]].to_numpy())


def test_categorical_reference_is_its_first_category_and_unused_levels_go() -> None:
    d, t = frame()
    d["site"] = pd.Categorical(d["site"], categories=["west", "unused", "north", "east"])
    des = build_design(d, t, ["site"])
    assert des.names[1:] == ("site[T.north]", "site[T.east]")
    np.testing.assert_array_equal(des.X[:, 1], (d["site"] == "north").to_numpy(dtype=float))


def test_c_forces_categorical_numeric_levels_in_numeric_order() -> None:
    d, t = frame()
    des = build_design(d, t, parse_formula("C(size)"))
    assert des.names[1:] == ("size[T.2]", "size[T.3]")
    np.testing.assert_array_equal(des.X[:, 2], (d["size"] == 3).to_numpy(dtype=float))


def test_object_column_of_booleans_is_coded_as_bool() -> None:
    d, t = frame()
    d["insulin"] = d["insulin"].astype(object)
    des = build_design(d, t, ["insulin"])
    assert des.names[1:] == ("insulin",)


def test_with_intercept() -> None:
    d, t = frame()
    X1, names = build_design(d, t, ["age"]).with_intercept()
    assert names == ("(Intercept)", "arm[T.coaching]", "age")
    np.testing.assert_array_equal(X1[:, 0], 1.0)


# --------------------------------------------------------------------------- aliasing


def test_constant_and_collinear_covariates_are_dropped_with_a_warning() -> None:
    d, t = frame()
    d["bmi_kg"] = 2.0 * d["bmi"] - 3.0
    d["one"] = 7.0
    with pytest.warns(DataWarning, match=r"bmi_kg \(collinear\).*one \(constant\)"):
        des = build_design(d, t, ["age", "bmi", "bmi_kg", "one"])
    assert des.names == ("arm[T.coaching]", "age", "bmi")
    assert des.dropped == ("bmi_kg (collinear)", "one (constant)")
    assert des.covariates == ("age", "bmi", "bmi_kg", "one")


def test_dummy_trap_is_detected() -> None:
    d, t = frame()
    d["east"] = (d["site"] == "east").astype(float)
    with pytest.warns(DataWarning, match="east"):
        des = build_design(d, t, ["site", "east"])
    assert "east (collinear)" in des.dropped


def test_r_rule_for_nearly_collinear_columns() -> None:
    """Aliased iff the residual norm is below 1e-7 times the column norm (R's lm)."""
    d, t = frame(200)
    noise = np.random.default_rng(9).normal(size=200)
    noise -= noise.mean()
    for scale, aliased in [(1e-10, True), (1e-5, False)]:
        x = d["age"].to_numpy()
        d["near"] = x + scale * np.linalg.norm(x) * noise / np.linalg.norm(noise)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            des = build_design(d, t, ["age", "near"])
        assert ("near" not in des.names) is aliased
        assert bool(caught) is aliased


def test_arm_aliased_with_covariates_is_an_error() -> None:
    d, t = frame()
    d["coached"] = t.astype(float)
    with pytest.raises(AnalysisError, match="aliased with the covariates"):
        build_design(d, t, ["age", "coached"])
    d["combo"] = 2.0 * t + 0.5 * d["age"]
    with pytest.raises(AnalysisError, match="aliased"):
        build_design(d, t, ["age", "combo"])


def test_within_group_aliasing() -> None:
    d, t = frame()
    level = {"a": 1.0, "b": 3.0, "c": 2.0, "d": 5.0}
    d["clinic_size"] = d["clinic"].map(level).astype(float)
    g = GroupIndex.from_values(d["clinic"])
    with pytest.warns(DataWarning, match=r"clinic_size \(constant within every group\)"):
        des = build_design(d, t, ["age", "clinic_size"], groups=g)
    assert des.names == ("arm[T.coaching]", "age")
    cluster_arm = d["clinic"].isin(["a", "c"]).to_numpy()
    with pytest.raises(AnalysisError, match="constant within every group"):
        build_design(d, cluster_arm, ["age"], groups=g)


# --------------------------------------------------------------------------- groups


@settings(max_examples=50, deadline=None)
@given(
    codes=st.lists(st.integers(0, 6), min_size=1, max_size=60),
    seed=st.integers(0, 1000),
)
def test_group_sums_match_pandas(codes: list[int], seed: int) -> None:
    c = np.array(codes)
    v = np.random.default_rng(seed).normal(size=(len(c), 2))
    expected = pd.DataFrame(v).groupby(c).sum().reindex(range(7), fill_value=0.0)
    np.testing.assert_allclose(group_sums(c, v, 7), expected.to_numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(group_sums(c, v[:, 0], 7), expected[0].to_numpy(), atol=1e-12)


def test_group_index() -> None:
    g = GroupIndex.from_values(pd.Series(["k2", "k1", "k2", "k3", "k2"]))
    assert list(g.labels) == ["k1", "k2", "k3"] and g.n_groups == 3
    np.testing.assert_array_equal(g.counts, [1, 3, 1])
    x = np.array([1.0, 2.0, 3.0, 4.0, 8.0])
    np.testing.assert_allclose(g.means(x), [2.0, 4.0, 4.0])
    np.testing.assert_allclose(g.demean(x), [-3.0, 0.0, -1.0, 0.0, 4.0])
    sub = g.subset(np.array([True, False, True, False, True]))
    assert list(sub.labels) == ["k2"] and list(sub.counts) == [3]
    one = GroupIndex.single(4)
    assert one.n_groups == 1 and list(one.codes) == [0, 0, 0, 0]


@settings(max_examples=60, deadline=None)
@given(
    codes=st.lists(st.integers(0, 4), min_size=2, max_size=80),
    seed=st.integers(0, 1000),
    offset=st.sampled_from([0.0, 55.0, 2020.0]),
)
def test_centred_design_matches_pandas_demeaning(
    codes: list[int], seed: int, offset: float
) -> None:
    """Centred: the column means, group means and sums, the Gram matrices overall and within
    groups (weighted by group or not), and the raw norms, against pandas and numpy."""
    c = np.array(codes)
    g = GroupIndex.from_values(c)
    rng = np.random.default_rng(seed)
    x = offset + rng.normal(size=(len(c), 3))
    v = rng.uniform(0.1, 0.25, g.n_groups)
    frame_x = pd.DataFrame(x)
    shifted = x - x.mean(axis=0)
    within = (frame_x - frame_x.groupby(c).transform("mean")).to_numpy()
    w = v[g.codes] if g.n_groups > 1 else np.ones(len(c))
    scale = 1.0 + offset
    for weights in (None, v):
        centred = Centred.of(np.ascontiguousarray(x.T), g, weights)
        wt = np.ones(len(c)) if weights is None else w
        np.testing.assert_allclose(centred.mean, x.mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(centred.centres, np.tile(x.mean(axis=0), (g.n_groups, 1)))
        np.testing.assert_allclose(
            centred.group_means,
            frame_x.groupby(c).mean().to_numpy(),
            rtol=1e-12,
            atol=1e-14 * scale,
        )
        np.testing.assert_allclose(
            centred.sums,
            pd.DataFrame(shifted).groupby(c).sum().to_numpy(),
            atol=1e-11 * scale * len(c),
        )
        np.testing.assert_allclose(
            centred.gram, shifted.T @ (wt[:, None] * shifted), atol=1e-10 * scale
        )
        np.testing.assert_allclose(centred.sq, (shifted**2).sum(axis=0), atol=1e-10 * scale)
        gram_w, sq_w = centred.within()
        np.testing.assert_allclose(gram_w, within.T @ (wt[:, None] * within), atol=1e-9 * scale**2)
        np.testing.assert_allclose(sq_w, (within**2).sum(axis=0), atol=1e-9 * scale**2)
        np.testing.assert_allclose(centred.raw_sq(), (x * x).sum(axis=0), rtol=1e-12)
        np.testing.assert_allclose(centred.group_centred(x.T, g), within.T, atol=1e-12 * scale)


def test_a_design_with_an_infinite_product_is_refused_by_column() -> None:
    d, t = frame()
    d["big"] = 1e200
    d.loc[0, "big"] = 2e200
    with pytest.raises(AnalysisError, match=r"\['big', 'big:age'\] have .* too large to square"):
        build_design(d, t, model_terms(formula="big * age"))


@settings(max_examples=80, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["usual care", "coaching", "UC", "coach", ""]), min_size=1),
    missing=st.booleans(),
    chunked=st.booleans(),
)
def test_factorize_labels_is_pandas_factorize(
    labels: list[str], missing: bool, chunked: bool
) -> None:
    """The two-comparison coding of an arm column gives pandas' codes and labels."""
    import pyarrow as pa

    values: list[str | None] = [*labels, None] if missing else list(labels)
    if chunked:
        half = len(values) // 2
        array = pa.chunked_array(
            [pa.array(values[:half], pa.large_string()), pa.array(values[half:], pa.large_string())]
        )
        s = pd.Series(pd.arrays.ArrowStringArray(array))
    else:
        s = pd.Series(values, dtype="str")
    codes, uniques = factorize_labels(s)
    expected_codes, expected_uniques = pd.factorize(s)
    np.testing.assert_array_equal(codes, expected_codes)
    assert [str(u) for u in uniques] == [str(u) for u in expected_uniques]
