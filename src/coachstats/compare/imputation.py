"""Multiple imputation of a DataFrame by chained equations (mice), seeded.

:func:`impute` builds the arrays of the imputation model from a DataFrame
(numeric and binary columns as they are, complete categorical columns as
treatment-coded dummies, the randomized arm as a complete predictor or as the
strata), runs the chained-equations engine
(:func:`coachstats.compare.mice.mice_arrays`) and gives the ``m`` completed
datasets back as :class:`ImputedData`. Pooling is in
:mod:`coachstats.compare.rubin`; the driver that imputes, analyses and pools
is :func:`coachstats.compare.missing.multiple_imputation`.

The arm is never imputed: it is known for every randomized patient (a row with
a missing arm is an error). By default it enters every imputation model as a
predictor (``arm_model="predictor"``, as ``mice`` does with a complete factor),
which keeps the imputation model congenial with an analysis that compares the
arms; ``arm_model="stratified"`` imputes separately within each arm instead,
which also lets every predictor's association differ by arm (an
arm-by-covariate interaction in the imputation model) at the price of fewer
observed cases per model.

References
----------
van Buuren S, Groothuis-Oudshoorn K. mice: Multivariate Imputation by Chained
Equations in R. J Stat Softw 2011;45(3):1-67. doi:10.18637/jss.v045.i03

Examples
--------
>>> import numpy as np, pandas as pd
>>> d = pd.DataFrame({"arm": ["coaching", "usual_care"] * 4,
...                   "x": [1.0, 2, 3, 4, 5, 6, 7, 8],
...                   "y": [1.0, np.nan, 3, 4, np.nan, 6, 7, 8]})
>>> imp = impute(d, ["x", "y"], m=2, maxit=2, seed=4)
>>> imp.columns, imp.n_imputed, imp.values["y"].shape
(('y',), 2, (2, 2))
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from coachstats.compare.mice import METHODS, Progress, Seed, mice_arrays
from coachstats.compare.prepare import is_boolean, is_numeric, require_columns, to_float
from coachstats.core.errors import AnalysisError, check_option, list_some

__all__ = [
    "ALL_ARMS",
    "ARM_MODELS",
    "ArmModel",
    "Delta",
    "ImputedData",
    "delta_per_row",
    "delta_text",
    "impute",
    "normalize_delta",
]

ArmModel = Literal["predictor", "stratified"]
ARM_MODELS: tuple[str, ...] = ("predictor", "stratified")
#: A delta adjustment: one shift for every arm, or ``{arm label: shift}``.
Delta = float | Mapping[str, float]
#: The key of a delta adjustment that applies to every arm.
ALL_ARMS = "all arms"


@dataclass(frozen=True, eq=False)
class ImputedData:
    """The ``m`` completed datasets of a multiple imputation, stored compactly.

    Only the imputed values are stored (``values[col]`` has shape
    ``(m, n_missing)``, in row order of ``where[col]``); :meth:`complete`
    builds a completed DataFrame on demand, and iterating gives all ``m``.

    Attributes
    ----------
    data : DataFrame
        The incomplete input data (all its columns).
    columns : tuple of str
        The columns that were imputed (those with missing values).
    where : DataFrame
        Boolean, ``True`` at the imputed cells (same index as ``data``).
    values : mapping of str to ndarray
        Imputed values per column, one row per imputation.
    methods : mapping of str to str
        The imputation method of each imputed column.
    m, maxit : int
        Number of imputations and of iterations per chain.
    seed : str
        The seed, as text (for labels).
    arm : str or None
        The arm column (a complete predictor or the strata).
    arm_model : str
        ``"predictor"`` or ``"stratified"``.
    delta : mapping of str to mapping of str to float
        The delta adjustment (MNAR sensitivity) of each shifted column, per
        arm label (``"all arms"`` for one shift in every arm); empty under
        missing at random.
    """

    data: pd.DataFrame
    columns: tuple[str, ...]
    where: pd.DataFrame
    values: Mapping[str, np.ndarray]
    methods: Mapping[str, str]
    m: int
    maxit: int
    seed: str
    arm: str | None = None
    arm_model: str = "predictor"
    delta: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.m

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return (self.complete(i) for i in range(self.m))

    @property
    def n_imputed(self) -> int:
        """Number of imputed cells (per completed dataset)."""
        return int(self.where.to_numpy().sum())

    @property
    def label(self) -> str:
        """The missing-data rule as recorded in results."""
        base = f"m={self.m}, seed={self.seed}"
        if not self.delta:
            return f"multiple imputation ({base})"
        return (
            f"delta-adjusted multiple imputation ({base}; {delta_text(self.delta, self.methods)})"
        )

    def complete(self, i: int) -> pd.DataFrame:
        """The ``i``-th completed dataset (0-based; ``mice::complete(imp, i + 1)``).

        Imputed columns become float64, boolean columns ``bool`` and integer
        columns ``int64`` when all their values are whole numbers.
        """
        if not 0 <= i < self.m:
            raise IndexError(f"imputation {i} out of range 0..{self.m - 1}")
        out = self.data.copy()
        for col in self.columns:
            s = self.data[col]
            filled = to_float(s)
            filled[self.where[col].to_numpy()] = self.values[col][i]
            out[col] = _restore_dtype(s, filled)
        return out

    def long(self) -> pd.DataFrame:
        """All completed datasets stacked, with ``.imp`` (1..m) and ``.id`` (the index) first.

        The layout of ``mice::complete(imp, action = "long")``.
        """
        frames = []
        for i in range(self.m):
            frame = self.complete(i)
            frame.insert(0, ".id", self.data.index)
            frame.insert(0, ".imp", i + 1)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def _restore_dtype(original: pd.Series, filled: np.ndarray) -> np.ndarray:
    if is_boolean(original):
        return filled.astype(bool)
    if pd.api.types.is_integer_dtype(original.dtype) and np.all(filled == np.round(filled)):
        return filled.astype(np.int64)
    return filled


def _dummies(s: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded dummies (first level in sorted order as reference)."""
    if s.isna().any():
        raise AnalysisError(
            f"column '{name}' is categorical (dtype {s.dtype}) and has missing values in rows "
            f"{list_some(list(s.index[s.isna().to_numpy()]))}; only numeric and binary columns can be "
            "imputed (code the categories as 0/1 columns, or impute upstream)"
        )
    cat = pd.Categorical(s.astype(str))
    codes = np.asarray(cat.codes)
    levels = [str(c) for c in cat.categories]
    mat = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    return mat, [f"{name}[{lev}]" for lev in levels[1:]]


@dataclass(frozen=True)
class _Design:
    y: np.ndarray  # (n, p) float, NaN missing
    owner: list[str]  # source column of each y column
    methods: list[str]
    fixed: np.ndarray | None
    strata: np.ndarray | None
    binary: dict[str, bool] = field(default_factory=dict)


def _build_design(
    data: pd.DataFrame,
    columns: Sequence[str],
    arm: str | None,
    arm_model: str,
    methods: Mapping[str, str] | None,
) -> _Design:
    blocks: list[np.ndarray] = []
    owner: list[str] = []
    meths: list[str] = []
    binary: dict[str, bool] = {}
    methods = dict(methods or {})
    unknown = [c for c in methods if c not in columns]
    if unknown:
        raise AnalysisError(
            f"methods given for {unknown}, which are not in columns {list(columns)}"
        )
    for col in columns:
        s = data[col]
        if not is_numeric(s):
            mat, _ = _dummies(s, col)
            blocks.append(mat)
            owner += [col] * mat.shape[1]
            meths += [""] * mat.shape[1]
            continue
        values = to_float(s)
        observed = values[~np.isnan(values)]
        is_bin = is_boolean(s) or bool(np.isin(observed, (0.0, 1.0)).all())
        binary[col] = is_bin
        meth = methods.get(col, "logreg" if is_bin else "pmm")
        check_option(f"methods['{col}']", meth, METHODS)
        if np.isnan(values).any():
            if is_bin and meth == "norm":
                raise AnalysisError(
                    f"method 'norm' for binary column '{col}' would impute values other than "
                    "0/1; use 'logreg' (default) or 'pmm'"
                )
            if not is_bin and meth == "logreg":
                raise AnalysisError(
                    f"method 'logreg' needs a binary (0/1) column; '{col}' has other values"
                )
        blocks.append(values[:, None])
        owner.append(col)
        meths.append(meth)
    fixed = strata = None
    if arm is not None:
        a = data[arm]
        if a.isna().any():
            raise AnalysisError(
                f"column '{arm}' (arm) has missing values in rows "
                f"{list_some(list(a.index[a.isna().to_numpy()]))}; the randomized arm is never imputed"
            )
        arm_dummies, levels = _dummies(a, arm)
        if not levels:
            raise AnalysisError(
                f"column '{arm}' (arm) has a single level; pass arm=None to impute one arm"
            )
        if arm_model == "predictor":
            fixed = arm_dummies
        else:
            strata = np.asarray(pd.Categorical(a.astype(str)).codes)
    y = np.column_stack(blocks) if blocks else np.empty((len(data), 0))
    return _Design(y, owner, meths, fixed, strata, binary)


def _predictor_matrix(
    owner: Sequence[str], columns: Sequence[str], predictors: Mapping[str, Sequence[str]] | None
) -> np.ndarray | None:
    if predictors is None:
        return None
    for target, preds in predictors.items():
        bad = [c for c in [target, *preds] if c not in columns]
        if bad:
            raise AnalysisError(
                f"predictors: {bad} not among the imputation columns {list(columns)}"
            )
    own = np.asarray(owner, dtype=object)
    pm = np.ones((len(owner), len(owner)), dtype=bool)
    for target, preds in predictors.items():
        pm[own == target] = np.isin(own, list(preds))[None, :]
    return pm


def impute(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    arm: str | None = "arm",
    m: int = 20,
    seed: Seed,
    maxit: int = 10,
    methods: Mapping[str, str] | None = None,
    predictors: Mapping[str, Sequence[str]] | None = None,
    arm_model: ArmModel = "predictor",
    donors: int = 5,
    delta: Mapping[str, Delta] | None = None,
    progress: Progress | None = None,
) -> ImputedData:
    """Multiple imputation by chained equations (mice), seeded.

    Every column of ``columns`` with missing values is imputed, from a model
    given the other ``columns`` and the arm; complete columns serve only as
    predictors (categorical ones as treatment-coded dummies, first level in
    sorted order as reference). The algorithm, methods and defaults are those
    of R's ``mice`` 3.15; see :mod:`coachstats.compare.mice`.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    columns : sequence of str
        Columns of the imputation model (outcomes, baseline values,
        covariates, auxiliary variables). Do not list the arm.
    arm : str or None
        The randomized arm: a complete predictor of every model (or the
        strata, see ``arm_model``); never imputed. ``None`` for one group.
    m : int
        Number of imputations (20 by default; at least 2 for pooling).
    seed : int, numpy Generator or SeedSequence
        Chain ``i`` uses the ``i``-th generator spawned from the seed.
    maxit : int
        Iterations of the chained equations (10 by default; mice's 5 is often
        too few for outcomes with much missing).
    methods : mapping, optional
        Method per column: ``"pmm"`` (predictive mean matching with
        ``donors`` donors; default for continuous columns), ``"norm"``
        (Bayesian linear regression) or ``"logreg"`` (logistic regression
        with a coefficient draw; default for binary columns).
    predictors : mapping, optional
        ``{column: [predictor columns]}`` for columns whose model should use
        only some of the others (mice's ``predictorMatrix`` rows). The arm is
        always added.
    arm_model : {"predictor", "stratified"}
        The arm as a predictor in every model (default), or impute separately
        within each arm.
    donors : int
        Donor pool size for pmm (5, as mice).
    delta : mapping, optional
        Delta adjustment for a missing-not-at-random sensitivity analysis:
        ``{column: shift}`` with ``shift`` one number for every arm or
        ``{arm label: number}`` (arms not named get 0). The imputations of a
        ``"pmm"`` or ``"norm"`` column are shifted by it after each step of the
        chained equations, exactly as ``mice(..., post = ...)`` with
        ``imp[[j]][, i] + delta`` (so the shifted values also feed the models of
        the other columns); for a ``"logreg"`` column it is added to the log-odds
        of being 1. Default: none (missing at random).
    progress : callable(done, total), optional
        Called after each iteration of each chain (``total = m * maxit``);
        the CLI hooks a progress bar into it.

    Returns
    -------
    ImputedData

    Raises
    ------
    AnalysisError
        Missing arm values, a single-level arm, an incomplete categorical
        column, a method that does not fit the column, or fewer than 2
        observed values of a column (per arm when stratified).

    References
    ----------
    van Buuren S, Groothuis-Oudshoorn K. mice: Multivariate Imputation by
    Chained Equations in R. J Stat Softw 2011;45(3):1-67.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> d = pd.DataFrame({"arm": np.repeat(["coaching", "usual_care"], 20),
    ...                   "a1c_0": rng.normal(9.5, 1.5, 40)})
    >>> d["a1c_12"] = d["a1c_0"] - 0.5 + rng.normal(0, 1, 40)
    >>> d.loc[::4, "a1c_12"] = np.nan
    >>> imp = impute(d, ["a1c_0", "a1c_12"], m=5, seed=1)
    >>> len(imp), imp.n_imputed, imp.methods["a1c_12"]
    (5, 10, 'pmm')
    >>> bool(imp.complete(0)["a1c_12"].notna().all())
    True
    >>> bool(np.isin(imp.values["a1c_12"], d["a1c_12"].dropna()).all())  # pmm copies donors
    True
    """
    check_option("arm_model", arm_model, ARM_MODELS)
    if not isinstance(data, pd.DataFrame):
        raise AnalysisError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    columns = list(dict.fromkeys(columns))
    if not columns:
        raise AnalysisError("columns is empty; name the columns of the imputation model")
    if arm is not None and arm in columns:
        raise AnalysisError(
            f"column '{arm}' is the arm: it is always a complete predictor; remove it from columns"
        )
    require_columns(data, [*columns, *([arm] if arm else [])])
    if int(m) < 1 or int(maxit) < 1:
        raise AnalysisError(f"m and maxit must be positive integers, got m={m}, maxit={maxit}")
    design = _build_design(data, columns, arm, arm_model, methods)
    pm = _predictor_matrix(design.owner, columns, predictors)
    deltas = {c: normalize_delta(data, arm, c, d) for c, d in (delta or {}).items()}
    shift = {}
    for col, per_arm in deltas.items():
        if col not in columns or design.binary.get(col) is None:
            raise AnalysisError(
                f"delta given for column '{col}', which is not a numeric or binary column "
                f"among the imputation columns {columns}"
            )
        shift[design.owner.index(col)] = delta_per_row(data, arm, per_arm)
    try:
        draws = mice_arrays(
            design.y,
            design.fixed,
            methods=design.methods,
            predictor_matrix=pm,
            strata=design.strata,
            m=int(m),
            maxit=int(maxit),
            seed=seed,
            donors=donors,
            shift=shift,
            progress=progress,
        )
    except AnalysisError as exc:  # name the column instead of its position
        text = str(exc)
        for j, col in enumerate(design.owner):
            text = text.replace(f"column {j} ", f"column '{col}' ")
        raise AnalysisError(text) from None
    imputed = [c for c in columns if design.binary.get(c) is not None and data[c].isna().any()]
    where = data[imputed].isna() if imputed else pd.DataFrame(index=data.index)
    values = {c: draws[design.owner.index(c)] for c in imputed}
    used = {c: design.methods[design.owner.index(c)] for c in imputed}
    return ImputedData(
        data=data,
        columns=tuple(imputed),
        where=where,
        values=values,
        methods=used,
        m=int(m),
        maxit=int(maxit),
        seed=_seed_text(seed),
        arm=arm,
        arm_model=arm_model,
        delta={c: d for c, d in deltas.items() if c in imputed},
    )


# --------------------------------------------------------------------------- delta adjustment


def normalize_delta(
    data: pd.DataFrame, arm: str | None, column: str, delta: Delta
) -> dict[str, float]:
    """A delta adjustment as ``{arm label: shift}`` (``{"all arms": shift}`` for one number).

    Raises an :class:`AnalysisError` naming the arms when a label is unknown.

    Examples
    --------
    >>> d = pd.DataFrame({"arm": ["coaching", "usual_care"]})
    >>> normalize_delta(d, "arm", "y", 0.5), normalize_delta(d, "arm", "y", {"coaching": 1})
    ({'all arms': 0.5}, {'coaching': 1.0})
    """
    if isinstance(delta, Mapping):
        if arm is None:
            raise AnalysisError(
                f"delta for '{column}' is given per arm, but there is no arm column (arm=None)"
            )
        labels = sorted({str(a) for a in data[arm].dropna().unique()})
        unknown = [k for k in delta if str(k) not in labels]
        if unknown:
            raise AnalysisError(
                f"delta for '{column}' names arm(s) {unknown}; column '{arm}' has {labels}"
            )
        out = {str(k): float(v) for k, v in delta.items()}
    else:
        out = {ALL_ARMS: float(delta)}
    bad = {k: v for k, v in out.items() if not math.isfinite(v)}
    if bad:
        raise AnalysisError(f"delta for '{column}' must be finite, got {bad}")
    return out


def delta_per_row(data: pd.DataFrame, arm: str | None, per_arm: Mapping[str, float]) -> np.ndarray:
    """The shift of every row from a normalized delta (:func:`normalize_delta`).

    Examples
    --------
    >>> d = pd.DataFrame({"arm": ["coaching", "usual_care", "coaching"]})
    >>> delta_per_row(d, "arm", {"coaching": 0.5}).tolist()
    [0.5, 0.0, 0.5]
    """
    if ALL_ARMS in per_arm:
        return np.full(len(data), per_arm[ALL_ARMS])
    labels = data[arm].astype(str).to_numpy() if arm is not None else np.array([])
    out = np.zeros(len(data))
    for label, value in per_arm.items():
        out[labels == label] = value
    return out


def delta_text(delta: Mapping[str, Mapping[str, float]], methods: Mapping[str, str]) -> str:
    """The delta adjustment in words, e.g. ``"hba1c_12 +0.5 in coaching, +0 in usual_care"``.

    Examples
    --------
    >>> delta_text({"goal": {"all arms": -1.0}}, {"goal": "logreg"})
    'goal -1 on the log-odds in all arms'
    """
    parts = []
    for col, per_arm in delta.items():
        scale = " on the log-odds" if methods.get(col) == "logreg" else ""
        shifts = ", ".join(f"{v:+g}{scale} in {k}" for k, v in per_arm.items())
        parts.append(f"{col} {shifts}")
    return "; ".join(parts)


def _seed_text(seed: Seed) -> str:
    if isinstance(seed, (int, np.integer)):
        return str(int(seed))
    if isinstance(seed, np.random.SeedSequence):
        return str(seed.entropy)
    return type(seed).__name__
