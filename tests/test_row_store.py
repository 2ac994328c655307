"""The model rows a streamed analysis keeps between passes (issue 22): packed without loss.

- :func:`pack` keeps every float bit for bit (NaN, infinities, ``-0.0``,
  subnormals) and every integer, in the smallest type that holds them.
- :class:`RowStore` keeps a column shared by two models once, counts its bytes
  once, and keeps nothing beyond its budget.
- A pass unpacks into the store's buffers, reused from chunk to chunk.
- With the rows kept, a plan of models reads the data twice (the preparing
  pass and the pass that builds the rows), whatever its number of Newton, GEE
  or design steps; the results are those of ``run_plan``.
- Parquet text columns used only by their values (arm, cluster, fixed effect)
  are read as categoricals; a column that is also a covariate is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from coachstats.analysis import AnalysisPlan, AnalysisSpec, run_plan
from coachstats.engines.passes import Chunk
from coachstats.engines.row_store import Packed, RowStore, pack
from coachstats.engines.sources import coded_columns, frame_chunks, parquet_chunks
from coachstats.engines.stream import analyze_chunks, analyze_parquet
from coachstats.errors import DataWarning
from tests.test_scale import assert_same_results, registry


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.integers(0, 40),
        elements=st.one_of(
            st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
            st.integers(-130, 130).map(float),
            st.sampled_from([0.0, -0.0, 1.0, 0.5, 2.0**-149, 65504.0]),
        ),
    )
)
def test_pack_keeps_every_float_bit_for_bit(values: np.ndarray) -> None:
    packed = pack(values)
    assert packed.dtype in (np.int8, np.float32, np.float64)
    assert not np.shares_memory(packed, values)
    back = packed.astype(np.float64)
    assert np.array_equal(back.view(np.int64), values.view(np.int64))


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(-(2**40), 2**40)))
def test_pack_keeps_every_integer(values: np.ndarray) -> None:
    packed = pack(values)
    assert packed.dtype.kind == "i" and np.array_equal(packed.astype(np.int64), values)


def test_pack_chooses_the_smallest_exact_type() -> None:
    assert pack(np.array([0.0, 1.0, -3.0])).dtype == np.int8
    assert pack(np.array([0.0, 200.0])).dtype == np.float32  # outside int8, a float32
    assert pack(np.array([0.1])).dtype == np.float64  # 0.1 is not a float32
    assert pack(np.array([-0.0, 1.0])).dtype == np.float32  # the sign of zero
    assert pack(np.array([np.nan])).dtype == np.float32
    assert pack(np.array([0, 39], dtype=np.intp)).dtype == np.int8
    assert pack(np.array([0, 300], dtype=np.intp)).dtype == np.int16
    assert pack(np.array([0, 2**40], dtype=np.int64)).dtype == np.int64
    flags = np.array([True, False])
    assert pack(flags).dtype == bool and not np.shares_memory(pack(flags), flags)


def test_store_keeps_a_shared_column_once_and_within_its_budget() -> None:
    rng = np.random.default_rng(1)
    n = 1000
    age = rng.normal(55, 10, n)  # float64 kept as it is
    female = rng.integers(0, 2, n).astype(float)  # int8
    store = RowStore(10**9)
    kept = store.of_chunk(0)
    store.keep(kept, "a", (np.vstack([female, age]), np.arange(n) % 7))
    first = store.used
    assert first == n * 1 + n * 8 + n * 1  # int8 + float64 + int8 codes
    store.keep(kept, "b", (np.vstack([age, female]), "label"))
    assert store.used == first  # both columns already kept: shared, not counted again
    a, b = kept["a"][0], kept["b"][0]
    assert isinstance(a, Packed) and isinstance(b, Packed)
    assert a.rows[0] is b.rows[1] and a.rows[1] is b.rows[0]
    assert kept["b"][1] == "label"
    small = RowStore(2 * n)
    small.keep(small.of_chunk(0), "a", (np.vstack([female, age]),))
    assert small.used == 0 and not small.chunks[0]  # 9 kB does not fit in 2 kB


def test_store_shares_a_row_only_when_every_bit_is_equal() -> None:
    """``-0.0`` and ``0.0`` compare equal, but a row kept for both gives back one sign."""
    store = RowStore(10**9)
    kept = store.of_chunk(0)
    negative, positive = np.array([[-0.0, 1.5, 2.25]]), np.array([[0.0, 1.5, 2.25]])
    nan = np.array([np.nan, 1.5, 2.25])
    store.keep(kept, "a", (negative, nan))
    store.keep(kept, "b", (positive, nan.copy()))
    chunk = Chunk(None, None, kept, store)
    for key, built in (("a", negative), ("b", positive)):
        back = chunk.unpack(kept[key][0])
        assert np.array_equal(back.view(np.int64), built.view(np.int64)), key
    assert kept["a"][1].rows[0] is kept["b"][1].rows[0]  # NaN rows of equal bits: kept once


def test_unpack_gives_the_built_arrays_in_buffers_reused_by_the_next_chunk() -> None:
    rng = np.random.default_rng(2)
    store = RowStore(10**9)
    arrays = []
    for i, n in enumerate((500, 480)):
        XT = np.vstack([rng.integers(0, 2, n).astype(float), rng.normal(0, 1, n)])
        codes = rng.integers(0, 5, n)
        store.keep(store.of_chunk(i), "rows", (XT, codes))
        arrays.append((XT, codes))
    out = []
    for i, (XT, codes) in enumerate(arrays):
        chunk = Chunk(None, None, store.chunks[i], store)
        packed_x, packed_c = store.chunks[i]["rows"]
        x = chunk.unpack(packed_x)
        assert x.dtype == np.float64 and x.flags.c_contiguous
        assert np.array_equal(x, XT) and chunk.unpack(packed_x) is x  # once per chunk
        c = chunk.unpack(packed_c)
        assert c.dtype == codes.dtype and np.array_equal(c, codes)
        assert np.array_equal(chunk.unpack(packed_x, [1]), XT[[1]])
        out.append(x)
    assert np.shares_memory(out[0], out[1])  # the second chunk wrote the first one's buffer


def model_plan() -> AnalysisPlan:
    covs = ("age", "female", "diabetes", "hba1c_0")
    specs = [
        AnalysisSpec(
            "composite_any", "logistic", label="fe", covariates=covs,
            options={"fixed_effects": "clinic"},
        ),
        AnalysisSpec("composite_any", "logistic", label="cl", covariates=covs, cluster="clinic"),
        AnalysisSpec("goal", "gee", label="gee", covariates=covs, cluster="clinic"),
        AnalysisSpec(
            "change", "linear", label="lin", covariates=("hba1c_0", "age"),
            subset="n_uncontrolled > 0",
        ),
        AnalysisSpec("change", "mixed", label="lmm", covariates=("age",), cluster="clinic"),
    ]  # fmt: skip
    return AnalysisPlan(specs, goals="hcpc")


def test_kept_rows_spare_every_read_after_the_rows_are_built() -> None:
    df = registry(3000, 25, 21).iloc[1:]  # not the one-patient clinic: no group is dropped
    source = frame_chunks(df, 700)
    reads = [0]

    def counted() -> Any:
        reads[0] += 1
        return source()

    got = analyze_chunks(counted, model_plan(), errors="record")
    assert reads[0] == 2  # the first pass, then the pass that builds and keeps the rows
    ref = run_plan(df, model_plan(), errors="record")
    assert ref.ok, ref.errors
    assert got.errors == ref.errors
    for a, b in zip(ref.results, got.results, strict=True):
        assert_same_results(a, b)


def parquet_file(df: pd.DataFrame, path: Path) -> Path:
    """``df`` written to ``path`` in row groups of 500 rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=500)
    return path


def test_parquet_reads_label_columns_as_categoricals_and_covariates_as_text(
    tmp_path: Path,
) -> None:
    df = registry(2000, 12, 22)
    df["site"] = np.where(df["clinic"] < "k0004", "north", "south")
    path = parquet_file(df, tmp_path / "sites.parquet")
    specs = [
        AnalysisSpec("goal", "logistic", covariates=("age",), cluster="clinic"),
        # 'site' a cluster here and a covariate there: read as text, as pandas reads it
        AnalysisSpec("goal", "logistic", label="site", covariates=("site",), cluster="site"),
        AnalysisSpec("change", "linear", label="by site", covariates=("site",)),
    ]
    assert coded_columns(specs) == {"arm", "clinic"}
    frame = next(iter(parquet_chunks(path, coded=coded_columns(specs))()))
    assert isinstance(frame["clinic"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["arm"].dtype, pd.CategoricalDtype)
    assert not isinstance(frame["site"].dtype, pd.CategoricalDtype)
    ref = run_plan(pd.read_parquet(path), specs, errors="record")
    assert ref.ok, ref.errors
    got = analyze_parquet(path, specs, batch_size=300, errors="record")
    assert got.errors == ref.errors
    for a, b in zip(ref.results, got.results, strict=True):
        assert_same_results(a, b)


def test_an_ancova_uses_the_rows_it_checked_whatever_is_kept() -> None:
    """The design pass of an ANCOVA uses the rows of its other passes, checked alike.

    Its outcome is checked as a number (a 0/1 outcome is one, as in memory) and
    its covariates must be finite, whether the rows were kept (``keep_bytes``)
    or built again: kept rows once gave a NaN estimate for an infinite
    covariate, and rows built again refused a boolean outcome.
    """
    df = registry(1500, 10, 23)
    df["x"] = np.random.default_rng(5).normal(size=len(df))
    df["goal_0"] = np.random.default_rng(6).random(len(df)) < 0.4
    on_goal = [AnalysisSpec("goal", "ancova", covariates=("x",), options={"baseline": "goal_0"})]
    ref = run_plan(df, on_goal, errors="record")
    assert ref.ok, ref.errors
    df["z"] = df["x"]
    df.loc[df.index[7], "z"] = np.inf  # in the first chunk
    on_change = [
        AnalysisSpec("hba1c_12", "ancova", covariates=("z",), options={"baseline": "hba1c_0"})
    ]
    for keep in (2**29, 0):
        bad = analyze_chunks(frame_chunks(df, 400), on_change, errors="record", keep_bytes=keep)
        assert bad.results[0] is None, keep
        assert "column 'z' has 1 infinite value(s)" in str(bad.errors[0]), keep
        got = analyze_chunks(frame_chunks(df, 400), on_goal, errors="record", keep_bytes=keep)
        assert got.ok, (keep, got.errors)
        assert_same_results(ref.results[0], got.results[0])


def same_as_in_memory(path: Path, plan: Any, batch_size: int) -> list[tuple[Any, Any]]:
    """``plan`` streamed from ``path`` and run on ``pd.read_parquet``: the same results."""
    ref = run_plan(pd.read_parquet(path), plan, errors="record")
    assert ref.ok, ref.errors
    got = analyze_parquet(path, plan, batch_size=batch_size, errors="record")
    assert got.errors == ref.errors
    pairs = list(zip(ref.results, got.results, strict=True))
    for a, b in pairs:
        assert_same_results(a, b)
    return pairs


def test_a_cluster_also_a_covariate_or_in_the_subset_of_its_spec_is_read_as_text(
    tmp_path: Path,
) -> None:
    """A column stays text when its own spec uses it as a covariate or in ``subset``.

    Read as a categorical, its reference level would follow the file's order
    (``site[T.north]`` where pandas gives ``site[T.south]``) and an ordering
    comparison in ``subset`` would raise.
    """
    df = registry(2000, 12, 24)
    df["site"] = np.where(df["clinic"] < "k0004", "south", "north")
    df = df.sort_values("site", ascending=False, kind="stable")  # 'south' first in the file
    path = parquet_file(df, tmp_path / "sites.parquet")
    plans = [
        [AnalysisSpec("goal", "logistic", covariates=("site", "age"), cluster="site")],
        [AnalysisSpec("goal", "logistic", covariates=("age",), cluster="clinic", subset="clinic >= 'k0002'")],
        [
            AnalysisSpec("goal", "logistic", label="a", cluster="clinic", options={"covariates": ["site"]}),
            AnalysisSpec("goal", "logistic", label="b", covariates=("age",), cluster="site"),
        ],
    ]  # fmt: skip
    for specs, coded in zip(plans, ({"arm"}, {"arm"}, {"arm", "clinic"}), strict=True):
        assert coded_columns(specs) == coded
        for a, b in same_as_in_memory(path, specs, 300):
            assert a.model is not None and b.model is not None
            terms = [(c.term, c.estimate) for c in a.model.coefficients]
            assert [c.term for c in b.model.coefficients] == [t for t, _ in terms]
            got_estimates = [c.estimate for c in b.model.coefficients]
            assert got_estimates == pytest.approx([e for _, e in terms], rel=1e-9, abs=1e-12)


def test_a_raw_input_of_the_endpoints_used_as_a_cluster_is_read_as_text(tmp_path: Path) -> None:
    """``diabetes`` as text ("yes"/"no") is read by the endpoints: never a categorical."""
    df = registry(1500, 8, 25)
    df["diabetes"] = np.where(df["diabetes"], "yes", "no")
    path = parquet_file(df, tmp_path / "diabetes.parquet")
    plan = AnalysisPlan(
        [
            AnalysisSpec("composite_any", "logistic", covariates=("age",), cluster="diabetes"),
            AnalysisSpec("at_goal_hba1c", "chi_square"),
        ],
        goals="hcpc",
    )
    assert coded_columns(plan.specs) == {"arm"}
    same_as_in_memory(path, plan, 400)


def test_a_cluster_and_covariates_given_as_options_are_read_from_parquet(tmp_path: Path) -> None:
    """``options={"cluster": ..., "covariates": ...}`` name columns the stream must read.

    They were left out of the columns read from the file, and the analysis
    stopped with a missing column.
    """
    df = registry(1500, 9, 26)
    path = parquet_file(df, tmp_path / "options.parquet")
    specs = [
        AnalysisSpec("goal", "logistic", options={"cluster": "clinic", "covariates": ["age"]}),
        AnalysisSpec("change", "linear", label="lin", options={"covariates": "hba1c_0"}),
    ]
    for a, _ in same_as_in_memory(path, specs, 400):
        assert a.model is not None and len(a.model.coefficients) >= 3  # arm, covariate, intercept


def test_forget_returns_the_bytes_only_the_dropped_entries_held() -> None:
    rng = np.random.default_rng(7)
    n = 100
    age, bmi = rng.normal(50, 9, n), rng.normal(30, 4, n)  # float64, kept as they are
    store = RowStore(10**9)
    kept = store.of_chunk(0)
    store.keep(kept, "a", (np.vstack([age, bmi]),))
    store.keep(kept, "b", (np.vstack([age]),))  # shares a's first row
    assert store.used == 2 * n * 8
    store.forget(kept, ["a"])
    assert list(kept) == ["b"] and store.used == n * 8  # age stays: b holds it
    store.forget(kept, ["b", "missing"])
    assert not kept and store.used == 0


def test_a_spec_prepared_again_keeps_only_its_last_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed-effect logit that drops a clinic prepares again; its first rows are let go.

    They crowded the budget: every chunk kept both sets, and no pass asked for the first.
    """
    from coachstats.engines import passes
    from coachstats.engines.row_store import _unique_bytes

    stores: list[RowStore] = []

    class Recorded(RowStore):
        def __init__(self, budget: int) -> None:
            super().__init__(budget)
            stores.append(self)

    monkeypatch.setattr(passes, "RowStore", Recorded)
    df = registry(3000, 25, 27)  # the one-patient clinic is dropped from the FE fit
    spec = AnalysisSpec(
        "goal", "logistic", covariates=("age",), options={"fixed_effects": "clinic"}
    )
    with pytest.warns(DataWarning, match="dropped 1 clinic"):
        got = analyze_chunks(frame_chunks(df, 700), [spec], errors="record")
        ref = run_plan(df, [spec], errors="record")
    assert_same_results(ref.results[0], got.results[0])
    (store,) = stores
    assert store.chunks and all(len({k[2] for k in kept}) == 1 for kept in store.chunks)
    assert store.used == sum(_unique_bytes(kept.values()) for kept in store.chunks)
