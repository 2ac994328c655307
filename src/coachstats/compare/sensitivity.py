r"""Missing not at random: delta-adjusted multiple imputation and tipping-point analyses.

Multiple imputation (:mod:`coachstats.compare.missing`) assumes the missing
follow-up values are *missing at random* (MAR): given the arm and the other
variables of the imputation model, patients lost to follow-up look like those
seen. Reviewers ask how far that assumption can be wrong before the trial's
conclusion changes. The delta-adjustment (pattern-mixture) approach answers
by shifting the imputed values of each arm by :math:`\delta`:

.. math:: y_{imp} = y_{imp}^{MAR} + \delta_{arm}

(for a binary outcome imputed by logistic regression, :math:`\delta` shifts
the log-odds of success of the imputed patients) and re-running the analysis
over a grid of :math:`(\delta_{coaching}, \delta_{usual\ care})`. The
*tipping point* is the :math:`\delta` at which the conclusion changes, from
"significantly higher (or lower) with coaching" to "no significant
difference" or the reverse. Whether that :math:`\delta` is plausible is a
clinical judgement; the analysis makes it explicit.

Three tools:

* ``multiple_imputation(..., delta=...)`` and ``impute(..., delta=...)``: one
  delta-adjusted analysis. The shift is applied inside the chained equations
  after each step, exactly as R's ``mice(..., post = ...)`` with
  ``imp[[j]][, i] <- imp[[j]][, i] + delta`` (van Buuren 2018, section 9.2).
* :func:`tipping_point`: the grid. ``adjust="shift"`` imputes once under MAR
  and adds :math:`\delta` to the imputed values of the column
  (:func:`shift_imputations`); that equals the within-chain adjustment when
  no other incomplete column is imputed from the shifted one (the usual case:
  the outcome), and costs one imputation for the whole grid.
  ``adjust="reimpute"`` re-imputes with the delta inside the chains at each
  grid point (same seed, so the surface is smooth); it is needed for binary
  columns, where the shift is on the log-odds.
* :func:`tipping_point_counts`: for a binary outcome, the deterministic
  tipping point (Yan, Lee & Li 2009): every possible number of successes among
  the missing patients of each arm, from all failures to all successes, with
  the trial's test on each completed table.

References
----------
Carpenter JR, Kenward MG. Multiple Imputation and its Application. Wiley,
2013, chapter 10.

van Buuren S. Flexible Imputation of Missing Data, 2nd ed. CRC Press, 2018,
section 9.2 (delta adjustment with ``post``).

Ratitch B, O'Kelly M, Tosiello R. Missing data in clinical trials: from
clinical assumptions to statistical analysis using pattern mixture models.
Pharm Stat 2013;12(6):337-347. doi:10.1002/pst.1549

Yan X, Lee S, Li N. Missing data handling methods in medical device clinical
trials. J Biopharm Stat 2009;19(6):1085-1098. doi:10.1080/10543400903243009

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"arm": ["coaching"] * 20 + ["usual_care"] * 20,
...                   "goal": [1] * 14 + [0] * 4 + [None] * 2 + [1] * 6 + [0] * 12 + [None] * 2})
>>> tp = tipping_point_counts(d, "goal")
>>> tp.reference_conclusion, tp.n_missing, len(tp.grid)
('significantly higher with coaching', (2, 2), 9)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from coachstats.compare.imputation import (
    ALL_ARMS,
    ArmModel,
    Delta,
    ImputedData,
    delta_per_row,
    impute,
    normalize_delta,
)
from coachstats.compare.mice import Progress, Seed
from coachstats.compare.prepare import check_binary, eligible_mask, require_columns, resolve_arms
from coachstats.compare.proportions import ArmCounts, chi_square
from coachstats.compare.rubin import check_result, pool_results
from coachstats.core.errors import AnalysisError, DataWarning, check_option
from coachstats.core.formatting import is_ratio_estimand, null_effect
from coachstats.core.results import ComparisonResult, TidyResult

__all__ = [
    "ADJUSTMENTS",
    "TippingPointResult",
    "conclusion",
    "shift_imputations",
    "tipping_point",
    "tipping_point_counts",
]

Analysis = Callable[[pd.DataFrame], ComparisonResult]
CountsAnalysis = Callable[[ArmCounts], ComparisonResult]
Adjustment = Literal["shift", "reimpute"]
ADJUSTMENTS: tuple[str, ...] = ("shift", "reimpute")
NOT_SIGNIFICANT = "no significant difference"
_SHOWN_TIPS = 8

GRID_COLUMNS = [
    "delta_treatment",
    "delta_control",
    "estimate",
    "conf_low",
    "conf_high",
    "p_value",
    "conclusion",
]


def conclusion(result: ComparisonResult) -> str:
    """The conclusion of a comparison in words, by its direction and its P value.

    ``"significantly higher with <arm>"``, ``"significantly lower with <arm>"``
    (P below ``1 - conf_level``; higher or lower than the null, 0 for
    differences and 1 for ratios, for the first arm of the result) or
    ``"no significant difference"``.

    Examples
    --------
    >>> r = ComparisonResult(outcome="y", method="t", estimand="mean difference",
    ...                      estimate=-0.7, p_value=0.01)
    >>> conclusion(r), conclusion(r.replace(p_value=0.2))
    ('significantly lower with the treatment arm', 'no significant difference')
    """
    arm = result.arms[0].arm if result.arms else "the treatment arm"
    alpha = round(1.0 - result.conf_level, 12)  # 1 - 0.95 is 0.05000000000000004
    if not result.p_value < alpha:
        return NOT_SIGNIFICANT
    null = null_effect(result.estimand)
    return f"significantly {'higher' if result.estimate > null else 'lower'} with {arm}"


# --------------------------------------------------------------------------- shifting


def _add(
    old: Mapping[str, float], new: Mapping[str, float], labels: Sequence[str]
) -> dict[str, float]:
    """Sum two normalized deltas (``"all arms"`` expands to every label when mixed)."""
    if not old:
        return dict(new)
    if ALL_ARMS in old and ALL_ARMS in new:
        return {ALL_ARMS: old[ALL_ARMS] + new[ALL_ARMS]}

    def per(d: Mapping[str, float], label: str) -> float:
        return d.get(ALL_ARMS, d.get(label, 0.0))

    return {label: per(old, label) + per(new, label) for label in labels}


def shift_imputations(imputed: ImputedData, delta: Mapping[str, Delta]) -> ImputedData:
    """Add a delta to the imputed values of continuous columns, after imputation.

    ``delta`` is ``{column: shift}`` with ``shift`` one number or ``{arm
    label: number}`` (as :func:`~coachstats.compare.imputation.impute`).
    Observed values are untouched. When no other incomplete column is imputed
    from ``column`` (e.g. it is the outcome and the only incomplete column, or
    the predictors of the other columns leave it out), this is exactly the
    within-chain adjustment of ``impute(..., delta=...)`` and of mice's
    ``post``, for a fraction of the cost; otherwise the other columns'
    imputations ignore the shift, and ``impute(..., delta=...)`` is the
    faithful version.

    Raises
    ------
    AnalysisError
        For a column that was not imputed, or one imputed by ``"logreg"``
        (0/1 values cannot be shifted; the delta for them is on the log-odds,
        inside the imputation: ``impute(..., delta=...)``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> d = pd.DataFrame({"arm": ["coaching", "usual_care"] * 4,
    ...                   "x": [1.0, 2, 3, 4, 5, 6, 7, 8],
    ...                   "y": [1.0, np.nan, 3, 4, np.nan, 6, 7, 8]})
    >>> imp = impute(d, ["x", "y"], m=2, maxit=2, seed=4)
    >>> shifted = shift_imputations(imp, {"y": {"coaching": 10.0}})
    >>> (shifted.values["y"] - imp.values["y"]).tolist()   # row 1 usual care, row 4 coaching
    [[0.0, 10.0], [0.0, 10.0]]
    >>> shifted.label
    'delta-adjusted multiple imputation (m=2, seed=4; y +10 in coaching)'
    """
    values = dict(imputed.values)
    deltas = {c: dict(v) for c, v in imputed.delta.items()}
    labels = (
        sorted({str(a) for a in imputed.data[imputed.arm].unique()})
        if imputed.arm is not None
        else []
    )
    for col, d in delta.items():
        if col not in imputed.columns:
            raise AnalysisError(
                f"column '{col}' was not imputed (imputed columns: {list(imputed.columns)})"
            )
        if imputed.methods[col] == "logreg":
            raise AnalysisError(
                f"column '{col}' is binary (imputed by logreg): its 0/1 values cannot be "
                "shifted; pass delta= to impute() or multiple_imputation() (a shift of the "
                "log-odds), or use tipping_point(..., adjust='reimpute')"
            )
        per_arm = normalize_delta(imputed.data, imputed.arm, col, d)
        rows = delta_per_row(imputed.data, imputed.arm, per_arm)[imputed.where[col].to_numpy()]
        values[col] = values[col] + rows[None, :]
        deltas[col] = _add(deltas.get(col, {}), per_arm, labels)
    return dataclasses.replace(imputed, values=values, delta=deltas)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class TippingPointResult(TidyResult):
    """A grid of delta-adjusted (or enumerated) analyses and where the conclusion changes.

    Attributes
    ----------
    outcome : str
        The analysed outcome.
    column : str
        The column whose missing values are adjusted.
    arms : (str, str)
        ``(treatment, control)``.
    grid : DataFrame
        One row per grid point: ``delta_treatment``, ``delta_control`` (the
        shift of each arm's imputed values, or for :func:`tipping_point_counts`
        the number of successes among each arm's missing patients),
        ``estimate``, ``conf_low``, ``conf_high``, ``p_value`` and
        ``conclusion`` (:func:`conclusion`).
    reference : ComparisonResult
        The analysis without adjustment (MAR imputation, or complete case for
        the counts).
    method : str
        How the grid was made.
    scale : str
        The unit of the deltas.
    n_missing : (int, int)
        Missing values of ``column`` per arm.
    """

    outcome: str
    column: str
    arms: tuple[str, str]
    grid: pd.DataFrame
    reference: ComparisonResult
    method: str
    scale: str
    n_missing: tuple[int, int]

    @property
    def reference_conclusion(self) -> str:
        """The conclusion without adjustment."""
        return conclusion(self.reference)

    @property
    def changes(self) -> pd.DataFrame:
        """The grid points whose conclusion differs from the reference."""
        return self.grid[self.grid["conclusion"] != self.reference_conclusion]

    def tipping_points(self) -> pd.DataFrame:
        """For each control delta, the treatment deltas nearest 0 at which the conclusion changes.

        Moving from the grid point nearest ``delta_treatment = 0`` up and down,
        the first pair of neighbours whose conclusions differ brackets the
        tipping point. For imputation grids the crossing is interpolated
        linearly on the confidence limit that crosses the null (0, or 1 on the
        log scale for ratios); for counts it is the first count with the other
        conclusion. Columns: ``delta_control``, ``direction`` ("up"/"down"),
        ``delta_treatment``, ``conclusion`` (beyond the tipping point).
        """
        rows = []
        ratio = is_ratio_estimand(self.reference.estimand)
        counts = self.scale.startswith("successes")
        for _, block in self.grid.groupby("delta_control", sort=True):
            block = block.sort_values("delta_treatment").reset_index(drop=True)
            dc = float(block["delta_control"].iloc[0])
            start = int(np.argmin(np.abs(block["delta_treatment"].to_numpy())))
            for direction, step in (("up", 1), ("down", -1)):
                i = start
                while 0 <= i + step < len(block):
                    a, b = block.iloc[i], block.iloc[i + step]
                    if a["conclusion"] != b["conclusion"]:
                        where = float(b["delta_treatment"]) if counts else _crossing(a, b, ratio)
                        rows.append((dc, direction, where, b["conclusion"]))
                        break
                    i += step
        return pd.DataFrame(
            rows, columns=["delta_control", "direction", "delta_treatment", "conclusion"]
        )

    def to_frame(self) -> pd.DataFrame:
        """The grid (one row per grid point)."""
        return self.grid.copy()

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: the reference conclusion and how much of the grid keeps it."""
        share = float((self.grid["conclusion"] == self.reference_conclusion).mean())
        tips = self.tipping_points()
        at_zero = tips[tips["delta_control"] == 0.0]
        return {
            "outcome": self.outcome,
            "column": self.column,
            "reference_conclusion": self.reference_conclusion,
            "share_of_grid_with_same_conclusion": share,
            "tipping_point_up": _first(at_zero, "up"),
            "tipping_point_down": _first(at_zero, "down"),
            "scale": self.scale,
            "method": self.method,
        }

    def summary(self) -> str:
        """Text: the reference conclusion and the tipping points."""
        t, c = self.arms
        lines = [
            f"Tipping-point analysis: {self.outcome} ({self.method})",
            f"  without adjustment: {self.reference_conclusion} "
            f"({self.reference.estimand} {self.reference.estimate:.4g}, "
            f"{self.reference.missing})",
            f"  missing {self.column}: {self.n_missing[0]} in {t}, {self.n_missing[1]} in {c}; "
            f"deltas in {self.scale}",
            f"  grid: {len(self.grid)} points, "
            f"{100 * self.to_dict()['share_of_grid_with_same_conclusion']:.0f}% keep the conclusion",
        ]
        tips = self.tipping_points()
        if tips.empty:
            lines.append("  no tipping point within the grid")
        if len(tips) > _SHOWN_TIPS:  # a long boundary: every k-th row, and the last
            keep = np.unique(
                np.r_[np.arange(0, len(tips), -(-len(tips) // _SHOWN_TIPS)), len(tips) - 1]
            )
            lines.append(
                f"  tipping points ({len(keep)} of {len(tips)} shown; tipping_points() has all):"
            )
            tips = tips.iloc[keep]
        counts = self.scale.startswith("successes")
        mt, mc = self.n_missing
        for row in tips.itertuples(index=False):
            if counts:
                way = "or more" if row.direction == "up" else "or fewer"
                lines.append(
                    f"  {row.delta_control:g}/{mc} successes among the missing {c}: "
                    f"{row.delta_treatment:g}/{mt} {way} among the missing {t} -> {row.conclusion}"
                )
            else:
                lines.append(
                    f"  {c} delta {row.delta_control:g}: {t} delta {row.delta_treatment:.3g} "
                    f"({row.direction}) -> {row.conclusion}"
                )
        if counts:
            for name, kt, kc in (
                ("every missing patient a failure", 0, 0),
                (f"worst case for {t} (missing {t} fail, missing {c} succeed)", 0, mc),
            ):
                hit = self.grid[
                    (self.grid["delta_treatment"] == kt) & (self.grid["delta_control"] == kc)
                ]
                lines.append(f"  {name}: {hit['conclusion'].item()}")
        return "\n".join(lines)


def _crossing(a: pd.Series, b: pd.Series, ratio: bool) -> float:
    """Where a confidence limit crosses the null between grid points a and b (linear)."""
    f: Callable[[float], float] = math.log if ratio else float
    for limit in ("conf_low", "conf_high"):
        la, lb = f(a[limit]), f(b[limit])
        if (la > 0) != (lb > 0) and la != lb:
            da, db = float(a["delta_treatment"]), float(b["delta_treatment"])
            return da + (db - da) * la / (la - lb)
    return float(b["delta_treatment"])  # the P value and the CI disagree: report the grid point


def _first(tips: pd.DataFrame, direction: str) -> float:
    hit = tips[tips["direction"] == direction]
    return float(hit["delta_treatment"].iloc[0]) if len(hit) else math.nan


def _row(dt: float, dc: float, r: ComparisonResult) -> dict[str, Any]:
    return {
        "delta_treatment": dt,
        "delta_control": dc,
        "estimate": r.estimate,
        "conf_low": r.conf_low,
        "conf_high": r.conf_high,
        "p_value": r.p_value,
        "conclusion": conclusion(r),
    }


# --------------------------------------------------------------------------- MI grid


def _grid_values(values: Sequence[float], name: str) -> list[float]:
    out = sorted({float(v) for v in values})
    if not out or not all(math.isfinite(v) for v in out):
        raise AnalysisError(f"{name} must be a non-empty sequence of finite numbers")
    return out


def tipping_point(
    data: pd.DataFrame,
    analysis: Analysis,
    *,
    column: str,
    columns: Sequence[str],
    deltas: Sequence[float],
    control_deltas: Sequence[float] = (0.0,),
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    m: int = 20,
    seed: Seed,
    maxit: int = 10,
    methods: Mapping[str, str] | None = None,
    predictors: Mapping[str, Sequence[str]] | None = None,
    arm_model: ArmModel = "predictor",
    donors: int = 5,
    df_complete: float | None = None,
    adjust: Adjustment = "shift",
    progress: Progress | None = None,
) -> TippingPointResult:
    """Delta-adjusted multiple imputation over a grid of shifts, and its tipping points.

    For every ``delta_treatment`` in ``deltas`` and ``delta_control`` in
    ``control_deltas``, the imputed values of ``column`` are shifted by that
    delta in each arm, ``analysis`` is run on every completed dataset and the
    results are pooled by Rubin's rules
    (:func:`~coachstats.compare.rubin.pool_results`).

    Parameters
    ----------
    data, analysis, columns, m, seed, maxit, methods, predictors, arm_model, donors, df_complete
        As :func:`~coachstats.compare.missing.multiple_imputation`.
    column : str
        The incomplete column to adjust (usually the outcome, or the follow-up
        value the outcome is computed from).
    deltas : sequence of float
        Shifts of the treatment arm's imputed values (outcome units; log-odds
        for a binary column).
    control_deltas : sequence of float
        Shifts of the control arm's imputed values (default: 0 only, a
        one-dimensional analysis).
    arm, treatment, control : str
        The arm column and labels (default treatment: ``"coaching"``).
    adjust : {"shift", "reimpute"}
        Impute once and shift (continuous columns; see
        :func:`shift_imputations`), or re-impute with the delta inside the
        chained equations at every grid point (any column).
    progress : callable(done, total), optional
        Called after each grid point.

    Returns
    -------
    TippingPointResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from coachstats.compare.means import t_test
    >>> rng = np.random.default_rng(5)
    >>> d = pd.DataFrame({"arm": np.repeat(["coaching", "usual_care"], 60),
    ...                   "a1c_0": rng.normal(9.5, 1.5, 120)})
    >>> d["a1c_12"] = d["a1c_0"] - np.where(d["arm"] == "coaching", 1.2, 0.3) + rng.normal(0, 1, 120)
    >>> d.loc[rng.random(120) < 0.25, "a1c_12"] = np.nan
    >>> tp = tipping_point(d, lambda x: t_test(x, "a1c_12"), column="a1c_12",
    ...                    columns=["a1c_0", "a1c_12"], deltas=np.arange(0, 4.5, 0.5), m=5, seed=1)
    >>> tp.reference_conclusion
    'significantly lower with coaching'
    >>> bool(tp.tipping_points()["delta_treatment"].iloc[0] > 0)
    True
    """
    check_option("adjust", adjust, ADJUSTMENTS)
    require_columns(data, [column, arm])
    t_label, c_label = resolve_arms(data[arm], treatment, control)
    dts = _grid_values(deltas, "deltas")
    dcs = _grid_values(control_deltas, "control_deltas")
    options: dict[str, Any] = {
        "arm": arm,
        "m": m,
        "seed": seed,
        "maxit": maxit,
        "methods": methods,
        "predictors": predictors,
        "arm_model": arm_model,
        "donors": donors,
    }
    base = impute(data, columns, **options)
    if column not in base.columns:
        raise AnalysisError(f"column '{column}' has no missing values to adjust")
    if adjust == "shift" and base.methods[column] == "logreg":
        raise AnalysisError(
            f"column '{column}' is binary: its imputations cannot be shifted after imputation; "
            "use adjust='reimpute' (a shift of the log-odds) or tipping_point_counts()"
        )

    def run(imputed: ImputedData) -> ComparisonResult:
        results = [analysis(d) for d in imputed]
        for r in results:
            check_result(r)
        return pool_results(
            results,
            df_complete=df_complete,
            missing=imputed.label,
            extra={"maxit": imputed.maxit, "n_imputed": imputed.n_imputed},
        )

    reference = run(base)
    rows = []
    total = len(dts) * len(dcs)
    for k, (dt, dc) in enumerate((a, b) for b in dcs for a in dts):
        shift = {column: {t_label: dt, c_label: dc}}
        if dt == 0.0 and dc == 0.0:
            result = reference
        elif adjust == "shift":
            result = run(shift_imputations(base, shift))
        else:
            result = run(impute(data, columns, delta=shift, **options))
        rows.append(_row(dt, dc, result))
        if progress is not None:
            progress(k + 1, total)
    where = base.where[column].to_numpy()
    labels = data[arm].astype(str).to_numpy()
    scale = "log-odds" if base.methods[column] == "logreg" else f"units of {column}"
    how = (
        "imputed once under MAR, imputations shifted"
        if adjust == "shift"
        else "re-imputed with the shift inside the chained equations"
    )
    return TippingPointResult(
        outcome=reference.outcome,
        column=column,
        arms=(t_label, c_label),
        grid=pd.DataFrame(rows, columns=GRID_COLUMNS),
        reference=reference,
        method=f"delta-adjusted multiple imputation (m={base.m}, seed={base.seed}; {how})",
        scale=scale,
        n_missing=(
            int((where & (labels == t_label)).sum()),
            int((where & (labels == c_label)).sum()),
        ),
    )


# --------------------------------------------------------------------------- binary: enumeration


def tipping_point_counts(
    data: pd.DataFrame,
    outcome: str,
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    eligible: str | None = None,
    analysis: CountsAnalysis | None = None,
    conf_level: float = 0.95,
) -> TippingPointResult:
    """Tipping point of a binary outcome by enumeration (Yan, Lee & Li 2009).

    Every completion of the missing outcomes is summarized by how many of
    the ``M_t`` missing patients of the treatment arm and the ``M_c`` of the
    control arm reached the outcome: ``k_t = 0..M_t``, ``k_c = 0..M_c``. Each
    completed 2x2 table, ``(x_t + k_t) / N_t`` vs ``(x_c + k_c) / N_c``, is
    analysed (default: Pearson chi-square, risk difference with Wald CI, as
    the HCPC paper), so the grid covers every missing-data mechanism, from
    "missing = failure" (0, 0) through MAR-like completions to the worst case
    for the treatment (0, ``M_c``). No randomness is involved.

    Parameters
    ----------
    data : DataFrame
        One row per randomized patient, the outcome missing where not observed.
    outcome : str
        The binary outcome (0/1 or True/False).
    eligible : str, optional
        A boolean column marking the endpoint's denominator (as in
        :func:`~coachstats.compare.missing.missing_as_failure`): only those
        patients count, observed or missing.
    analysis : callable(ArmCounts) -> ComparisonResult, optional
        The test of each table (default
        ``chi_square(counts, outcome, estimand="risk difference")``).
    conf_level : float
        For the default analysis.

    Returns
    -------
    TippingPointResult
        ``delta_treatment`` and ``delta_control`` are ``k_t`` and ``k_c``; the
        reference is the complete-case analysis.

    Examples
    --------
    HCPC's composite goal: 90/194 vs 61/178 seen, 30 and 39 lost to follow-up.

    >>> d = pd.DataFrame({"arm": ["coaching"] * 224 + ["usual_care"] * 217,
    ...                   "goal": [1] * 90 + [0] * 104 + [None] * 30
    ...                           + [1] * 61 + [0] * 117 + [None] * 39})
    >>> tp = tipping_point_counts(d, "goal")
    >>> tp.n_missing, tp.reference_conclusion
    ((30, 39), 'significantly higher with coaching')
    >>> tp.grid.query("delta_treatment == 0 and delta_control == 0")["conclusion"].item()
    'significantly higher with coaching'
    """
    require_columns(data, [outcome, arm, *([eligible] if eligible else [])])
    rows = data[eligible_mask(data, eligible)]
    if rows[arm].isna().any():
        raise AnalysisError(f"column '{arm}' (arm) has missing values; every patient needs an arm")
    t_label, c_label = resolve_arms(rows[arm], treatment, control)
    y = check_binary(rows[outcome], outcome)
    labels = rows[arm].astype(str).to_numpy()
    counts = []
    for label in (t_label, c_label):
        yy = y[labels == label]
        seen = yy[~np.isnan(yy)]
        counts.append((int(seen.sum()), len(seen), int(np.isnan(yy).sum())))
    (xt, nt, mt), (xc, nc, mc) = counts
    if nt == 0 or nc == 0:
        raise AnalysisError(f"no observed '{outcome}' in one arm; nothing to anchor the grid")
    run: CountsAnalysis = analysis or (
        lambda c: chi_square(c, outcome, estimand="risk difference", conf_level=conf_level)
    )
    arms = (t_label, c_label)
    reference = run(ArmCounts((xt, nt, xc, nc), arms))
    check_result(reference)
    grid = []
    with warnings.catch_warnings():  # small-count warnings: once, for the reference above
        warnings.simplefilter("ignore", DataWarning)
        for kc in range(mc + 1):
            for kt in range(mt + 1):
                table = ArmCounts((xt + kt, nt + mt, xc + kc, nc + mc), arms)
                grid.append(_row(kt, kc, run(table)))
    return TippingPointResult(
        outcome=outcome,
        column=outcome,
        arms=arms,
        grid=pd.DataFrame(grid, columns=GRID_COLUMNS),
        reference=reference,
        method=f"enumeration of the missing outcomes ({reference.method})",
        scale="successes among the missing",
        n_missing=(mt, mc),
    )
