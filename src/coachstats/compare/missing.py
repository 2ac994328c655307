"""Missing outcome data: missing = failure, multiple imputation and Rubin's rules.

The published analyses are complete case (every comparison excludes and counts
incomplete rows through :func:`coachstats.compare.prepare.prepare`). This module
offers the two sensitivity analyses that readers of the trial papers ask for:

* :func:`missing_as_failure` -- a binary endpoint with missing follow-up is
  counted as *not at goal* (the conservative single imputation);
* :func:`multiple_imputation` -- multiple imputation by chained equations
  (:func:`impute`, engine in :mod:`coachstats.compare.mice`), any comparison
  run on each completed dataset, and the results pooled by Rubin's rules with
  the Barnard-Rubin degrees of freedom (:func:`rubin_pool`,
  :func:`pool_results`), exactly as R's ``mice::pool``.

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
Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.

Barnard J, Rubin DB. Small-sample degrees of freedom with multiple imputation.
Biometrika 1999;86(4):948-955. doi:10.1093/biomet/86.4.948

van Buuren S, Groothuis-Oudshoorn K. mice: Multivariate Imputation by Chained
Equations in R. J Stat Softw 2011;45(3):1-67. doi:10.18637/jss.v045.i03

Examples
--------
>>> import numpy as np, pandas as pd
>>> data = pd.DataFrame({"arm": ["coaching", "usual_care"] * 4,
...                      "at_goal": [1, 0, 1, np.nan, np.nan, 1, 0, 0]})
>>> recoded, n = missing_as_failure(data, "at_goal")
>>> n, recoded["at_goal"].tolist()
(2, [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from coachstats.compare.dist import norm_ppf, t_ppf, t_sf
from coachstats.compare.mice import METHODS, Progress, Seed, mice_arrays
from coachstats.compare.prepare import require_columns
from coachstats.core.errors import AnalysisError, check_option
from coachstats.core.results import ArmSummary, ComparisonResult

__all__ = [
    "ImputedData",
    "PooledEstimate",
    "barnard_rubin_df",
    "impute",
    "missing_as_failure",
    "multiple_imputation",
    "pool_results",
    "rubin_pool",
    "with_missing_as_failure",
]

ArmModel = Literal["predictor", "stratified"]
ARM_MODELS: tuple[str, ...] = ("predictor", "stratified")
Analysis = Callable[[pd.DataFrame], ComparisonResult]

_SHOW_ROWS = 10


# --------------------------------------------------------------------------- helpers


def _rows(index: pd.Index) -> str:
    shown = ", ".join(map(str, index[:_SHOW_ROWS]))
    more = len(index) - _SHOW_ROWS
    return shown + (f", ... (+{more} more)" if more > 0 else "")


def _is_boolean(s: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(s.dtype) or (
        s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "boolean"
    )


def _to_float(s: pd.Series) -> np.ndarray:
    """A numeric or boolean column as float64 with NaN for missing."""
    if _is_boolean(s):
        s = s.astype("boolean").astype("Float64")
    return np.array(s.to_numpy(dtype="float64", na_value=np.nan), dtype=float, copy=True)


def _is_numeric(s: pd.Series) -> bool:
    return _is_boolean(s) or (
        pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype)
    )


def _check_binary(s: pd.Series, name: str) -> np.ndarray:
    """Float 0/1 values of a binary column (NaN where missing), or an AnalysisError."""
    if not _is_numeric(s):
        raise AnalysisError(
            f"column '{name}' must be binary (0/1 or True/False); it has dtype {s.dtype}"
        )
    values = _to_float(s)
    bad = ~np.isnan(values) & ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise AnalysisError(
            f"column '{name}' must be binary (0/1 or True/False); rows {_rows(s.index[bad])} "
            f"have values {sorted(set(values[bad].tolist()))[:_SHOW_ROWS]}"
        )
    return values


# --------------------------------------------------------------------------- missing = failure


def missing_as_failure(
    data: pd.DataFrame, outcome: str, *, eligible: str | None = None
) -> tuple[pd.DataFrame, int]:
    """Count a missing binary outcome as failure (not at goal).

    The conservative sensitivity analysis for a binary endpoint: every
    patient whose follow-up is missing is assumed not to have reached the
    goal, so all randomized (eligible) patients are analysed. It is the
    comparison-level counterpart of ``missing="failure"`` in the endpoint
    derivation.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        A binary column (0/1, or True/False), missing where not observed.
    eligible : str, optional
        A boolean column marking the patients in the endpoint's denominator
        (e.g. uncontrolled at baseline for a per-condition goal). Only their
        missing values are recoded; a missing value outside the denominator is
        not a missed follow-up and stays missing. Without it, every missing
        value is recoded -- use it whenever the outcome is missing by design
        for some patients.

    Returns
    -------
    (DataFrame, int)
        A new DataFrame with the recoded outcome (0 / False; a column that no
        longer has missing values becomes plain ``bool`` or keeps its numeric
        dtype) and the number of values recoded.

    Raises
    ------
    AnalysisError
        When the outcome is not binary or ``eligible`` is not boolean.

    References
    ----------
    White IR, Horton NJ, Carpenter J, Pocock SJ. Strategy for intention to
    treat analysis in randomised trials with missing outcome data. BMJ
    2011;342:d40. doi:10.1136/bmj.d40

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"a1c_goal": [True, None, False, None],
    ...                   "had_diabetes": [True, True, True, False]})
    >>> out, n = missing_as_failure(d, "a1c_goal", eligible="had_diabetes")
    >>> n, out["a1c_goal"].tolist()
    (1, [True, False, False, <NA>])
    """
    require_columns(data, [outcome, *([eligible] if eligible else [])])
    s = data[outcome]
    _check_binary(s, outcome)
    recode = s.isna().to_numpy().copy()
    if eligible is not None:
        e = data[eligible]
        if not _is_boolean(e) or e.isna().any():
            raise AnalysisError(
                f"column '{eligible}' (eligible) must be boolean without missing values; "
                f"it has dtype {e.dtype} and {int(e.isna().sum())} missing"
            )
        recode &= e.to_numpy(dtype=bool)
    n = int(recode.sum())
    out = data.copy()
    if _is_boolean(s):
        new = s.astype("boolean").mask(recode, False)
        out[outcome] = new.astype(bool) if not new.isna().any() else new
    else:
        out[outcome] = s.mask(recode, 0)
    return out, n


def with_missing_as_failure(
    data: pd.DataFrame, analysis: Analysis, *, outcome: str, eligible: str | None = None
) -> ComparisonResult:
    """Run ``analysis`` after :func:`missing_as_failure`, and label the result.

    Returns the analysis result with ``missing`` set to
    ``"missing <outcome> counted as failure (<n> recoded)"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> def share(d):
    ...     return ComparisonResult(outcome="at_goal", method="mean", estimand="proportion",
    ...                             estimate=float(d["at_goal"].mean()))
    >>> d = pd.DataFrame({"at_goal": [1.0, np.nan, 1.0, 0.0]})
    >>> r = with_missing_as_failure(d, share, outcome="at_goal")
    >>> r.estimate, r.missing
    (0.5, 'missing at_goal counted as failure (1 recoded)')
    """
    recoded, n = missing_as_failure(data, outcome, eligible=eligible)
    result = analysis(recoded)
    _check_result(result)
    return result.replace(missing=f"missing {outcome} counted as failure ({n} recoded)")


# --------------------------------------------------------------------------- imputation


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
        return f"multiple imputation (m={self.m}, seed={self.seed})"

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
            filled = _to_float(s)
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
    if _is_boolean(original):
        return filled.astype(bool)
    if pd.api.types.is_integer_dtype(original.dtype) and np.all(filled == np.round(filled)):
        return filled.astype(np.int64)
    return filled


def _dummies(s: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded dummies (first level in sorted order as reference)."""
    if s.isna().any():
        raise AnalysisError(
            f"column '{name}' is categorical (dtype {s.dtype}) and has missing values in rows "
            f"{_rows(s.index[s.isna().to_numpy()])}; only numeric and binary columns can be "
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
        if not _is_numeric(s):
            mat, _ = _dummies(s, col)
            blocks.append(mat)
            owner += [col] * mat.shape[1]
            meths += [""] * mat.shape[1]
            continue
        values = _to_float(s)
        observed = values[~np.isnan(values)]
        is_bin = _is_boolean(s) or bool(np.isin(observed, (0.0, 1.0)).all())
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
                f"{_rows(a.index[a.isna().to_numpy()])}; the randomized arm is never imputed"
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
    )


def _seed_text(seed: Seed) -> str:
    if isinstance(seed, (int, np.integer)):
        return str(int(seed))
    if isinstance(seed, np.random.SeedSequence):
        return str(seed.entropy)
    return type(seed).__name__


# --------------------------------------------------------------------------- Rubin's rules


@dataclass(frozen=True)
class PooledEstimate:
    """One parameter pooled over ``m`` imputations by Rubin's rules.

    Names follow ``mice::pool``: ``estimate`` (qbar), ``ubar`` (mean
    within-imputation variance), ``b`` (between-imputation variance), ``t``
    (total variance), ``riv`` (relative increase in variance), ``lambda_``
    (proportion of variance due to missingness), ``fmi`` (fraction of missing
    information), ``df`` (Barnard-Rubin), ``df_complete`` (complete-data df).
    """

    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    conf_level: float
    statistic: float
    df: float
    p_value: float
    m: int
    ubar: float
    b: float
    t: float
    riv: float
    lambda_: float
    fmi: float
    df_complete: float


def barnard_rubin_df(m: int, b: float, t: float, df_complete: float = math.inf) -> float:
    """Barnard-Rubin (1999) degrees of freedom, as ``mice:::barnard.rubin``.

    .. math::

        \\lambda = (1 + 1/m)\\, b / t \\quad (\\text{at least } 10^{-4}),\\qquad
        \\nu_{old} = (m - 1) / \\lambda^2,

        \\nu_{obs} = \\frac{\\nu_{com} + 1}{\\nu_{com} + 3}\\,\\nu_{com}\\,(1 - \\lambda),
        \\qquad \\nu = \\frac{\\nu_{old}\\,\\nu_{obs}}{\\nu_{old} + \\nu_{obs}}

    and :math:`\\nu = \\nu_{old}` (Rubin 1987) when :math:`\\nu_{com}` is
    infinite. The floor on :math:`\\lambda` is mice's; it keeps the df finite
    when the imputations agree exactly.

    Examples
    --------
    >>> round(barnard_rubin_df(5, 0.02, 0.1), 4)
    69.4444
    >>> round(barnard_rubin_df(5, 0.02, 0.1, df_complete=100), 4)
    35.9474
    """
    lam = max((1.0 + 1.0 / m) * b / t, 1e-4)
    df_old = (m - 1) / lam**2
    if math.isinf(df_complete):
        return df_old
    df_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lam)
    return df_old * df_obs / (df_old + df_obs)


def rubin_pool(
    estimates: Sequence[float] | np.ndarray,
    variances: Sequence[float] | np.ndarray,
    *,
    df_complete: float = math.inf,
    conf_level: float = 0.95,
) -> PooledEstimate:
    """Pool one parameter over imputations by Rubin's rules (``mice::pool``).

    .. math::

        \\bar q = \\frac1m\\sum_i \\hat q_i,\\quad
        \\bar u = \\frac1m\\sum_i u_i,\\quad
        b = \\frac{1}{m-1}\\sum_i (\\hat q_i - \\bar q)^2,\\quad
        t = \\bar u + (1 + 1/m)\\, b,

        r = (1 + 1/m)\\, b / \\bar u,\\quad
        \\lambda = (1 + 1/m)\\, b / t,\\quad
        \\gamma = \\frac{r + 2/(\\nu + 3)}{r + 1}

    with :math:`\\nu` from :func:`barnard_rubin_df`; the test is
    :math:`\\bar q / \\sqrt t \\sim t_\\nu` and the interval
    :math:`\\bar q \\pm t_{\\nu, 1-\\alpha/2} \\sqrt t`, as ``summary.mipo``
    and ``confint.mipo`` compute them.

    Parameters
    ----------
    estimates, variances : sequences of length m
        The complete-data estimate and its squared standard error from each
        imputed dataset.
    df_complete : float
        Degrees of freedom of the complete-data analysis (``dfcom``; mice
        takes the residual df of the first fit, n - k for lm and glm).
        Infinite gives Rubin's (1987) df. Values below 1 become 1, as in mice.
    conf_level : float
        Confidence level of the interval.

    Raises
    ------
    AnalysisError
        ``m < 2``, lengths differ, non-finite input, negative variances, or a
        total variance of zero.

    Examples
    --------
    >>> p = rubin_pool([1.0, 1.2, 0.9, 1.1, 1.05], [0.04] * 5, df_complete=100)
    >>> round(p.estimate, 4), round(p.t, 6), round(p.df, 2), round(p.fmi, 4)
    (1.05, 0.055, 30.66, 0.3159)
    """
    q = np.asarray(estimates, dtype=float).ravel()
    u = np.asarray(variances, dtype=float).ravel()
    m = len(q)
    if m < 2:
        raise AnalysisError(
            f"Rubin's rules need m >= 2 imputations (got {m}); the between-imputation "
            "variance cannot be estimated from one"
        )
    if len(u) != m:
        raise AnalysisError(f"{m} estimates but {len(u)} variances")
    if not (np.isfinite(q).all() and np.isfinite(u).all()):
        raise AnalysisError("estimates and variances must be finite for every imputation")
    if (u < 0).any():
        raise AnalysisError(f"variances must be >= 0; got {u[u < 0].tolist()}")
    if not 0.0 < conf_level < 1.0:
        raise AnalysisError(f"conf_level must be in (0, 1), got {conf_level}")
    if not df_complete > 0:
        raise AnalysisError(f"df_complete must be positive, got {df_complete}")
    dfcom = max(float(df_complete), 1.0)
    qbar = float(q.mean())
    ubar = float(u.mean())
    b = float(q.var(ddof=1))
    t = ubar + (1.0 + 1.0 / m) * b
    if t <= 0.0:
        raise AnalysisError(
            "total variance is zero: every imputation gave the same estimate with zero "
            "standard error; there is nothing to test"
        )
    df = barnard_rubin_df(m, b, t, dfcom)
    riv = (1.0 + 1.0 / m) * b / ubar if ubar > 0 else math.inf
    lam = (1.0 + 1.0 / m) * b / t
    fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0) if math.isfinite(riv) else 1.0
    se = math.sqrt(t)
    stat = qbar / se
    df_test = max(df, 0.001)
    p = float(2.0 * t_sf(abs(stat), df_test))
    crit = float(t_ppf(0.5 + conf_level / 2.0, df))
    return PooledEstimate(
        estimate=qbar,
        std_error=se,
        conf_low=qbar - crit * se,
        conf_high=qbar + crit * se,
        conf_level=conf_level,
        statistic=stat,
        df=df,
        p_value=p,
        m=m,
        ubar=ubar,
        b=b,
        t=t,
        riv=riv,
        lambda_=lam,
        fmi=fmi,
        df_complete=dfcom,
    )


# --------------------------------------------------------------------------- pooling results


def _check_result(result: object) -> None:
    if not isinstance(result, ComparisonResult):
        raise AnalysisError(
            f"the analysis must return a ComparisonResult, got {type(result).__name__}"
        )


def _is_ratio(estimand: str) -> bool:
    e = estimand.lower()
    return "ratio" in e or "relative risk" in e


def _is_t_based(r: ComparisonResult) -> bool:
    return r.statistic_name.strip().lower().startswith("t") and math.isfinite(r.df)


def _critical(r: ComparisonResult) -> float:
    upper = 0.5 + r.conf_level / 2.0
    return float(t_ppf(upper, r.df) if _is_t_based(r) else norm_ppf(upper))


def _on_pooling_scale(r: ComparisonResult) -> tuple[float, float]:
    """(estimate, variance) of one result on the scale where it is pooled."""
    if _is_ratio(r.estimand):
        if not (r.estimate > 0 and r.conf_low > 0 and math.isfinite(r.conf_high)):
            raise AnalysisError(
                f"cannot pool {r.estimand} {r.estimate} with CI ({r.conf_low}, {r.conf_high}) "
                "on the log scale: the ratio and its CI must be positive and finite "
                "(zero events in an arm of an imputed dataset?)"
            )
        se = (math.log(r.conf_high) - math.log(r.conf_low)) / (2.0 * _critical(r))
        return math.log(r.estimate), se**2
    se = r.std_error
    if not (math.isfinite(se) and se > 0):
        se = (r.conf_high - r.conf_low) / (2.0 * _critical(r))
    if not math.isfinite(se):
        raise AnalysisError(f"result for {r.outcome} has neither a standard error nor a CI to pool")
    return r.estimate, se**2


def _pooled_arms(results: Sequence[ComparisonResult]) -> tuple[ArmSummary, ...]:
    first = results[0].arms
    if any(len(r.arms) != len(first) for r in results):
        return ()
    arms = []
    for k, a in enumerate(first):
        group = [r.arms[k] for r in results]
        events = None
        if all(g.events is not None for g in group):
            events = round(float(np.mean([float(g.events or 0) for g in group])))
        arms.append(
            ArmSummary(
                arm=a.arm,
                n=round(float(np.mean([g.n for g in group]))),
                events=events,
                value=float(np.mean([g.value for g in group])),
                sd=float(np.mean([g.sd for g in group])),
            )
        )
    return tuple(arms)


def pool_results(
    results: Sequence[ComparisonResult],
    *,
    df_complete: float | None = None,
    missing: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ComparisonResult:
    """Pool the same comparison run on ``m`` imputed datasets by Rubin's rules.

    Differences (risk, mean) are pooled as they are. Ratios (odds, risk) are
    pooled on the log scale: :math:`\\hat q_i = \\log(\\text{ratio}_i)` with
    standard error :math:`(\\log u_i - \\log l_i) / (2 c)` from each result's
    confidence limits :math:`(l_i, u_i)`, :math:`c` the normal (or, for a
    t-based result, t) quantile of its level; the pooled estimate and limits
    are transformed back with ``exp``, while ``std_error`` stays on the log
    scale (``extra["scale"] = "log"``). A difference without ``std_error``
    gets its SE from its CI in the same way.

    Parameters
    ----------
    results : sequence of ComparisonResult
        One per imputation, same outcome and estimand.
    df_complete : float, optional
        Complete-data df for the Barnard-Rubin df. Default: the result's
        ``df`` when it is t-based (``statistic_name`` "t"), else infinite
        (z-based analyses, e.g. logistic regression or chi-square; mice would
        use n - k for a glm, pass it here to match).
    missing : str, optional
        The missing-data label (default ``"multiple imputation (m=...)"``).
    extra : mapping, optional
        Added to the result's ``extra``.

    Returns
    -------
    ComparisonResult
        ``statistic`` is the pooled t, ``df`` the Barnard-Rubin df;
        per-arm summaries are averages over imputations; ``extra`` holds
        ``m``, ``fmi``, ``riv``, ``lambda``, ``ubar``, ``b``, ``df_complete``
        and ``scale``.

    Examples
    --------
    >>> rs = [ComparisonResult(outcome="a1c_change", method="Welch t test",
    ...       estimand="mean difference", estimate=e, std_error=0.3,
    ...       statistic_name="t", df=200.0) for e in (-0.7, -0.8, -0.75)]
    >>> r = pool_results(rs)
    >>> round(r.estimate, 3), round(r.std_error, 4), r.extra["m"]
    (-0.75, 0.3055, 3)
    """
    results = list(results)
    for r in results:
        _check_result(r)
    if len(results) < 2:
        raise AnalysisError(f"Rubin's rules need m >= 2 imputations (got {len(results)})")
    first = results[0]
    kinds = {(r.outcome, r.estimand, r.conf_level) for r in results}
    if len(kinds) > 1:
        raise AnalysisError(f"results to pool differ in outcome/estimand/level: {sorted(kinds)}")
    qu = np.array([_on_pooling_scale(r) for r in results])
    if df_complete is None:
        df_complete = first.df if _is_t_based(first) else math.inf
    pooled = rubin_pool(qu[:, 0], qu[:, 1], df_complete=df_complete, conf_level=first.conf_level)
    ratio = _is_ratio(first.estimand)
    back: Callable[[float], float] = math.exp if ratio else float
    info: dict[str, Any] = {
        "m": pooled.m,
        "fmi": pooled.fmi,
        "riv": pooled.riv,
        "lambda": pooled.lambda_,
        "ubar": pooled.ubar,
        "b": pooled.b,
        "df_complete": pooled.df_complete,
        "scale": "log" if ratio else "identity",
    }
    info.update(extra or {})
    return ComparisonResult(
        outcome=first.outcome,
        method=f"{first.method}; pooled by Rubin's rules",
        estimand=first.estimand,
        estimate=back(pooled.estimate),
        std_error=pooled.std_error,
        conf_low=back(pooled.conf_low),
        conf_high=back(pooled.conf_high),
        conf_level=first.conf_level,
        statistic=pooled.statistic,
        statistic_name="t",
        df=pooled.df,
        p_value=pooled.p_value,
        arms=_pooled_arms(results),
        adjusted_for=first.adjusted_for,
        cluster=first.cluster,
        n_excluded=first.n_excluded,
        excluded_reason=first.excluded_reason,
        missing=missing or f"multiple imputation (m={pooled.m})",
        extra=info,
    )


def multiple_imputation(
    data: pd.DataFrame,
    analysis: Analysis,
    *,
    columns: Sequence[str],
    arm: str | None = "arm",
    m: int = 20,
    seed: Seed,
    maxit: int = 10,
    methods: Mapping[str, str] | None = None,
    predictors: Mapping[str, Sequence[str]] | None = None,
    arm_model: ArmModel = "predictor",
    donors: int = 5,
    df_complete: float | None = None,
    progress: Progress | None = None,
) -> ComparisonResult:
    """Impute ``m`` times, run ``analysis`` on each completed dataset, pool by Rubin's rules.

    Parameters
    ----------
    data : DataFrame
        One row per randomized patient, with missing values.
    analysis : callable(DataFrame) -> ComparisonResult
        Any comparison, e.g. ``lambda d: t_test(d, "change_hba1c")``.
    columns, arm, m, seed, maxit, methods, predictors, arm_model, donors
        As :func:`impute` (``m`` must be at least 2).
    df_complete : float, optional
        As :func:`pool_results`.
    progress : callable(done, total), optional
        Called after each imputation iteration and each analysis
        (``total = m * (maxit + 1)``).

    Returns
    -------
    ComparisonResult
        Pooled as :func:`pool_results`; ``missing`` is
        ``"multiple imputation (m=.., seed=..)"``; ``extra`` adds ``fmi``,
        ``riv``, ``m``, ``maxit`` and ``n_imputed``.

    References
    ----------
    Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.
    Barnard J, Rubin DB. Biometrika 1999;86:948-955.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> def mean_difference(d):
    ...     g = d.groupby("arm")["a1c_12"]
    ...     mean, var, n = g.mean(), g.var(), g.size()
    ...     se = float(np.sqrt((var / n).sum()))
    ...     return ComparisonResult(outcome="a1c_12", method="z test",
    ...         estimand="mean difference", std_error=se,
    ...         estimate=float(mean["coaching"] - mean["usual_care"]))
    >>> rng = np.random.default_rng(5)
    >>> d = pd.DataFrame({"arm": np.repeat(["coaching", "usual_care"], 50),
    ...                   "a1c_0": rng.normal(9.5, 1.5, 100)})
    >>> d["a1c_12"] = d["a1c_0"] - np.where(d["arm"] == "coaching", 1.0, 0.3) \\
    ...     + rng.normal(0, 1, 100)
    >>> d.loc[rng.random(100) < 0.3, "a1c_12"] = np.nan
    >>> r = multiple_imputation(d, mean_difference, columns=["a1c_0", "a1c_12"], m=5, seed=2)
    >>> r.missing, r.estimate < 0, 0 <= r.extra["fmi"] <= 1
    ('multiple imputation (m=5, seed=2)', True, True)
    """
    if int(m) < 2:
        raise AnalysisError(
            f"multiple imputation needs m >= 2 imputations for Rubin's rules (got m={m})"
        )
    total = int(m) * (int(maxit) + 1)
    report: Progress | None = None
    if progress is not None:
        callback = progress

        def report(done: int, _total: int) -> None:
            callback(done, total)

    imputed = impute(
        data,
        columns,
        arm=arm,
        m=m,
        seed=seed,
        maxit=maxit,
        methods=methods,
        predictors=predictors,
        arm_model=arm_model,
        donors=donors,
        progress=report,
    )
    results = []
    for i, completed in enumerate(imputed):
        result = analysis(completed)
        _check_result(result)
        results.append(result)
        if progress is not None:
            progress(int(m) * int(maxit) + i + 1, total)
    return pool_results(
        results,
        df_complete=df_complete,
        missing=imputed.label,
        extra={"maxit": imputed.maxit, "n_imputed": imputed.n_imputed, "seed": imputed.seed},
    )
