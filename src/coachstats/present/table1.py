"""Table 1: baseline characteristics by arm with standardized mean differences.

:func:`baseline_table` summarizes baseline variables by arm -- mean (SD) for
continuous variables, n (%) for binary and categorical ones -- with the
standardized mean difference (SMD) of each variable between the arms, as
R's ``tableone`` prints it (``print(CreateTableOne(...), smd = TRUE)``,
computed by its ``ExtractSmd``):

* continuous (Cohen's d with the average of the two variances)

  .. math:: d = \\frac{|\\bar x_1 - \\bar x_2|}{\\sqrt{(s_1^2 + s_2^2)/2}}

  with the sample variances :math:`s^2` (``ddof=1``);
* binary

  .. math:: d = \\frac{|p_1 - p_2|}{\\sqrt{(p_1(1-p_1) + p_2(1-p_2))/2}};

* categorical with :math:`k` levels (Yang and Dalton 2012): with
  :math:`\\mathbf p_a` the proportions of levels 2..k in arm :math:`a` and
  :math:`S_a = \\operatorname{diag}(\\mathbf p_a) - \\mathbf p_a \\mathbf p_a^\\top`,

  .. math:: d = \\sqrt{(\\mathbf p_1 - \\mathbf p_2)^\\top
            \\left(\\tfrac{S_1 + S_2}{2}\\right)^{+} (\\mathbf p_1 - \\mathbf p_2)}

  (``+``: the Moore-Penrose inverse, as ``MASS::ginv``); with two levels it
  equals the binary formula.

Missing values are left out of each variable's summary and counted per arm.
When both variances are zero the SMD is 0 for equal means (proportions) and
``inf`` otherwise; a variable without values in one arm has no SMD (NaN, with
a :class:`~coachstats.core.errors.DataWarning`).

A common rule of thumb reads an SMD above 0.1 as a meaningful imbalance
(Austin 2009).

References
----------
Yang D, Dalton JE. A unified approach to measuring the effect size between two
groups using SAS. SAS Global Forum 2012, paper 335-2012.
Austin PC. Balance diagnostics for comparing the distribution of baseline
covariates between treatment groups in propensity-score matched samples.
Stat Med 2009;28:3083-3107.
Yoshida K, Bartel A. tableone: Create 'Table 1' to describe baseline
characteristics (R package).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"arm": ["coaching"] * 4 + ["usual_care"] * 4,
...                    "age": [50, 60, 70, 40, 50, 60, 40, 50],
...                    "insulin": [True, False, True, True, False, False, True, False]})
>>> t = baseline_table(df, ["age", "insulin"])
>>> t.to_frame()[["variable", "n1", "estimate1", "estimate2", "smd"]].round(4)
  variable  n1  estimate1  estimate2     smd
0      age   4      55.00      50.00  0.4629
1  insulin   4       0.75       0.25  1.1547
>>> print(t.to_display().to_string(index=False))
Characteristic Health coaching group (n = 4) Usual care group (n = 4)  SMD
Age, mean (SD)                   55.0 (12.9)               50.0 (8.2) 0.46
Insulin, n (%)                      3 (75.0)                 1 (25.0) 1.15
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from coachstats.core.errors import (
    AnalysisError,
    ColumnNotFoundError,
    DataWarning,
    OptionError,
    check_option,
)
from coachstats.core.formatting import format_number
from coachstats.core.results import ARM_DISPLAY
from coachstats.core.vocabulary import VARIABLE_LABELS, level_label
from coachstats.present.journal import JournalTable

if TYPE_CHECKING:
    from docx.document import Document

__all__ = [
    "MEASURED_AMONG",
    "BaselineTable",
    "BaselineVariable",
    "baseline_table",
    "smd_binary",
    "smd_categorical",
    "smd_continuous",
]

Kind = Literal["auto", "continuous", "binary", "categorical"]
KINDS: tuple[str, ...] = get_args(Kind)

#: The title of Table 1.
TABLE1_CAPTION = "Table 1. Baseline characteristics by arm (SMD: standardized mean difference)"
#: What Table 1's cells are (printed under it).
TABLE1_NOTE = (
    "Mean (SD) for continuous variables, n (%) of the non-missing values for the others. SMD "
    "as in R's tableone (continuous: mean difference over the root mean of the variances; "
    "binary and categorical: Yang and Dalton 2012); above 0.1 is often read as an imbalance."
)


# Moore-Penrose cut-off of MASS::ginv: singular values below sqrt(eps) * the largest are zero.
_GINV_RCOND = float(np.sqrt(np.finfo(float).eps))


# --------------------------------------------------------------------------- SMD formulas


def _ratio(diff: float, var: float) -> float:
    """``|diff| / sqrt(var)`` with 0/0 = 0 and x/0 = inf (the zero-variance cases)."""
    if not (math.isfinite(diff) and math.isfinite(var)):
        return math.nan
    if var <= 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return abs(diff) / math.sqrt(var)


def smd_continuous(mean1: float, sd1: float, mean2: float, sd2: float) -> float:
    """Standardized mean difference of a continuous variable.

    .. math:: d = |\\bar x_1 - \\bar x_2| / \\sqrt{(s_1^2 + s_2^2)/2}

    Examples
    --------
    >>> round(smd_continuous(55.0, 10.0, 50.0, 10.0), 6)
    0.5
    >>> smd_continuous(3.0, 0.0, 3.0, 0.0)
    0.0
    """
    return _ratio(mean1 - mean2, (sd1**2 + sd2**2) / 2.0)


def smd_binary(p1: float, p2: float) -> float:
    """Standardized mean difference of a binary variable (proportions ``p1``, ``p2``).

    .. math:: d = |p_1 - p_2| / \\sqrt{(p_1(1-p_1) + p_2(1-p_2))/2}

    Examples
    --------
    >>> round(smd_binary(0.5, 0.3), 6)
    0.417029
    """
    return _ratio(p1 - p2, (p1 * (1 - p1) + p2 * (1 - p2)) / 2.0)


def smd_categorical(p1: ArrayLike, p2: ArrayLike) -> float:
    """Standardized mean difference of a categorical variable (Yang and Dalton 2012).

    Parameters
    ----------
    p1, p2 : array-like
        Proportions of every level (the same levels, in the same order) in each
        arm; the first level is the reference and is dropped.

    Examples
    --------
    >>> round(smd_categorical([0.5, 0.5], [0.7, 0.3]), 6) == round(smd_binary(0.5, 0.3), 6)
    True
    >>> round(smd_categorical([0.2, 0.3, 0.5], [0.4, 0.4, 0.2]), 6)
    0.684167
    """
    a = np.asarray(p1, dtype=float)
    b = np.asarray(p2, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise OptionError(
            f"p1 and p2 must be proportions of the same >= 2 levels; got shapes {a.shape} and {b.shape}"
        )
    a, b = a[1:], b[1:]
    diff = a - b
    s = (np.diag(a) - np.outer(a, a) + np.diag(b) - np.outer(b, b)) / 2.0
    if not np.all(np.isfinite(s)) or not np.all(np.isfinite(diff)):
        return math.nan
    if not np.any(s):
        return 0.0 if not np.any(diff) else math.inf
    d2 = float(diff @ np.linalg.pinv(s, rcond=_GINV_RCOND) @ diff)
    return math.sqrt(max(d2, 0.0))


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class BaselineVariable:
    """One variable of Table 1, summarized per arm.

    ``levels`` are the reported levels (``("",)`` for a continuous variable,
    ``("True",)`` for a binary one, every level for a categorical one);
    ``counts`` the patients per level and arm (shape levels x 2; empty for a
    continuous variable); ``n`` the non-missing patients per arm; ``mean`` and
    ``sd`` per arm (continuous only); ``missing`` the missing values per arm.
    """

    name: str
    label: str
    kind: Literal["continuous", "binary", "categorical"]
    n: tuple[int, int]
    missing: tuple[int, int]
    smd: float
    levels: tuple[str, ...] = ("",)
    counts: tuple[tuple[int, int], ...] = ()
    mean: tuple[float, float] = (math.nan, math.nan)
    sd: tuple[float, float] = (math.nan, math.nan)

    def proportion(self, level: int, arm: int) -> float:
        """The proportion of non-missing patients of ``arm`` (0 or 1) at ``level``."""
        n = self.n[arm]
        return self.counts[level][arm] / n if n else math.nan


@dataclass(frozen=True)
class BaselineTable:
    """Table 1: baseline characteristics by arm, with SMDs.

    Attributes
    ----------
    arm : str
        The arm column.
    arms : tuple of two str
        The arms, treatment first.
    n : tuple of two int
        Patients per arm.
    variables : tuple of BaselineVariable
        The summarized variables, in the requested order.
    """

    arm: str
    arms: tuple[str, str]
    n: tuple[int, int]
    variables: tuple[BaselineVariable, ...]

    def to_frame(self) -> pd.DataFrame:
        """One tidy row per variable and level (numbers, not text).

        Columns: ``variable``, ``label``, ``level``, ``kind``, then per arm
        ``n1``/``n2`` (non-missing), ``events1``/``events2`` (patients at the
        level), ``estimate1``/``estimate2`` (mean or proportion), ``sd1``/``sd2``,
        ``missing1``/``missing2``, and ``smd`` (repeated on every level of a
        categorical variable).
        """
        rows = []
        for v in self.variables:
            for i, level in enumerate(v.levels):
                row: dict[str, object] = {
                    "variable": v.name,
                    "label": v.label,
                    "level": level,
                    "kind": v.kind,
                }
                for a in (0, 1):
                    k = a + 1
                    row[f"n{k}"] = v.n[a]
                    if v.kind == "continuous":
                        row[f"events{k}"] = pd.NA
                        row[f"estimate{k}"] = v.mean[a]
                        row[f"sd{k}"] = v.sd[a]
                    else:
                        row[f"events{k}"] = v.counts[i][a]
                        row[f"estimate{k}"] = v.proportion(i, a)
                        row[f"sd{k}"] = math.nan
                    row[f"missing{k}"] = v.missing[a]
                row["smd"] = v.smd
                rows.append(row)
        return pd.DataFrame(rows)

    def headers(self) -> tuple[str, str]:
        """Column headers of the arms: display name and n."""
        return tuple(  # type: ignore[return-value]
            f"{ARM_DISPLAY.get(a, a)} (n = {n})" for a, n in zip(self.arms, self.n, strict=True)
        )

    def to_display(self, *, digits: int = 1, smd_digits: int = 2) -> pd.DataFrame:
        """The formatted table: Characteristic, one column per arm, SMD (and Missing if any).

        Continuous variables print as ``mean (SD)``, binary ones as ``n (%)`` of
        the patients with the characteristic; categorical ones get a header row
        with the SMD and one indented row per level.
        """
        h1, h2 = self.headers()
        rows: list[dict[str, str]] = []
        any_missing = any(sum(v.missing) for v in self.variables)
        for v in self.variables:
            smd = _fmt(v.smd, smd_digits)
            miss = str(sum(v.missing)) if sum(v.missing) else ""
            if v.kind == "continuous":
                cells = [
                    f"{_fmt(m, digits)} ({_fmt(s, digits)})"
                    for m, s in zip(v.mean, v.sd, strict=True)
                ]
                rows.append(_row(f"{v.label}, mean (SD)", cells, smd, miss))
            elif v.kind == "binary":
                cells = [_count_text(v, 0, a, digits) for a in (0, 1)]
                rows.append(_row(f"{v.label}, n (%)", cells, smd, miss))
            else:
                rows.append(_row(f"{v.label}, n (%)", ["", ""], smd, miss))
                for i, level in enumerate(v.levels):
                    cells = [_count_text(v, i, a, digits) for a in (0, 1)]
                    rows.append(_row(f"    {level_label(level)}", cells, "", ""))
        frame = pd.DataFrame(rows)
        frame.columns = pd.Index(["Characteristic", h1, h2, "SMD", "Missing"])
        return frame if any_missing else frame.drop(columns="Missing")

    def to_journal_table(
        self, *, digits: int = 1, smd_digits: int = 2, caption: str = TABLE1_CAPTION
    ) -> JournalTable:
        """:meth:`to_display` as a journal sets it: the levels indented, the note under it.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 2, "sex": ["female", "male"] * 2})
        >>> t = baseline_table(df, ["sex"]).to_journal_table()
        >>> [r[0] for r in t.rows], t.indented
        (['Sex, n (%)', 'Female', 'Male'], (False, True, True))
        """
        disp = self.to_display(digits=digits, smd_digits=smd_digits)
        rows = [[str(c) for c in r] for r in disp.itertuples(index=False)]
        indented = tuple(r[0].startswith("    ") for r in rows)
        return JournalTable(
            headers=tuple(str(c) for c in disp.columns),
            rows=tuple((r[0].strip(), *r[1:]) for r in rows),
            caption=caption,
            indented=indented,
            notes=(TABLE1_NOTE,),
        )

    def to_docx(
        self, path: str | Path | None = None, *, document: Document | None = None
    ) -> Document:
        """Table 1 in Word (:meth:`to_journal_table`): a three-line table with its note.

        ``path`` and ``document`` are those of
        :meth:`coachstats.present.journal.JournalTable.to_docx`.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"arm": ["coaching", "usual_care"] * 2, "age": [50, 60, 70, 40]})
        >>> doc = baseline_table(df, ["age"]).to_docx()
        >>> [c.text for c in doc.tables[0].rows[1].cells]
        ['Age, mean (SD)', '60.0 (14.1)', '50.0 (14.1)', '0.71']
        """
        return self.to_journal_table().to_docx(path, document=document)


def _row(label: str, cells: Sequence[str], smd: str, missing: str) -> dict[str, str]:
    return {"c": label, "a1": cells[0], "a2": cells[1], "smd": smd, "miss": missing}


def _fmt(x: float, digits: int) -> str:
    """:func:`~coachstats.core.formatting.format_number`, but an infinite SMD (one arm constant) prints ``inf``."""
    return "inf" if math.isinf(x) else format_number(x, digits)


def _count_text(v: BaselineVariable, level: int, arm: int, digits: int) -> str:
    return f"{v.counts[level][arm]} ({_fmt(100 * v.proportion(level, arm), digits)})"


def _kind_of(values: pd.Series) -> Literal["continuous", "binary", "categorical"]:
    """``auto``: bool -> binary; numeric 0/1 -> binary; other numbers -> continuous; else categorical."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "binary"
    if pd.api.types.is_numeric_dtype(dtype):
        present = pd.unique(values.dropna())
        return (
            "binary"
            if set(np.asarray(present, dtype=float).tolist()) <= {0.0, 1.0}
            else ("continuous")
        )
    return "categorical"


def _levels(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    return sorted(pd.unique(values.dropna().astype("string")).tolist())


def _pair(values: Sequence[int]) -> tuple[int, int]:
    return int(values[0]), int(values[1])


def _summarize(
    name: str, label: str, kind: str, values: pd.Series, first: np.ndarray
) -> BaselineVariable:
    """One variable's per-arm summary and SMD (``first``: rows of the first arm)."""
    present = values.notna().to_numpy()
    in_arm = (first, ~first)
    n = _pair([(present & m).sum() for m in in_arm])
    missing = _pair([(~present & m).sum() for m in in_arm])
    if kind == "continuous":
        try:
            x = pd.to_numeric(values.astype(object), errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise OptionError(
                f"column {name!r} cannot be summarized as continuous (non-numeric values); "
                "use kinds={... 'categorical'}"
            ) from exc
        xs = [x[m & present] for m in in_arm]
        mean = (_mean(xs[0]), _mean(xs[1]))
        sd = (_sd(xs[0]), _sd(xs[1]))
        smd = smd_continuous(mean[0], sd[0], mean[1], sd[1])
        var = BaselineVariable(name, label, "continuous", n, missing, smd, mean=mean, sd=sd)
    elif kind == "binary":
        hit = np.zeros(len(values), dtype=bool)
        try:
            hit[present] = np.asarray(values[present].astype(float), dtype=float) == 1.0
        except (TypeError, ValueError) as exc:
            raise OptionError(
                f"column {name!r} cannot be summarized as binary (values other than "
                "True/False or 0/1); use kinds={... 'categorical'}"
            ) from exc
        counts = _pair([(hit & m).sum() for m in in_arm])
        p = [c / k if k else math.nan for c, k in zip(counts, n, strict=True)]
        smd = smd_binary(p[0], p[1])
        var = BaselineVariable(
            name, label, "binary", n, missing, smd, levels=("True",), counts=(counts,)
        )
    else:
        levels = _levels(values)
        codes = pd.Categorical(values.astype("string"), categories=levels).codes
        k = len(levels)
        table = np.stack([np.bincount(codes[m & (codes >= 0)], minlength=k) for m in in_arm], 1)
        props = [table[:, a] / n[a] if n[a] else np.full(k, math.nan) for a in (0, 1)]
        smd = smd_categorical(props[0], props[1]) if k >= 2 else (0.0 if all(n) else math.nan)
        var = BaselineVariable(
            name,
            label,
            "categorical",
            n,
            missing,
            smd,
            levels=tuple(levels),
            counts=tuple(_pair(r) for r in table.tolist()),
        )
    if math.isnan(var.smd):
        empty = [i + 1 for i, k in enumerate(n) if k == 0]
        single = [i + 1 for i, k in enumerate(n) if k == 1]
        why = (
            f"no non-missing values in arm(s) {empty}"
            if empty
            else f"one value only (no SD) in arm(s) {single}"
            if single and kind == "continuous"
            else "no variation in either arm"
        )
        warnings.warn(f"SMD of {name!r} is undefined: {why}", DataWarning, stacklevel=3)
    return var


#: Columns measured only in part of the patients, by design: column -> the boolean
#: column of those it applies to (HbA1c is measured in patients with diabetes).
MEASURED_AMONG: Mapping[str, str] = MappingProxyType({"hba1c_0": "diabetes"})


def _population(
    frame: pd.DataFrame, column: str, among: Mapping[str, str], default: bool
) -> tuple[np.ndarray, str] | None:
    """The rows ``column`` applies to, and the name of their column; None for every row.

    A default population is used only where ``column`` has no value outside it
    (a program that measures HbA1c in everyone keeps every patient).
    """
    name = among.get(column)
    if name is None or name not in frame.columns:
        if name is not None and not default:
            raise ColumnNotFoundError(
                f"among[{column!r}] names column {name!r}, which is not in the data"
            )
        return None
    mask = frame[name].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if default and frame.loc[~mask, column].notna().any():
        return None
    return mask, name


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if x.size > 1 else math.nan


def baseline_table(
    patients: pd.DataFrame,
    variables: Sequence[str],
    *,
    arm: str = "arm",
    treatment: str | None = None,
    control: str | None = None,
    kinds: Mapping[str, Kind] | None = None,
    labels: Mapping[str, str] | None = None,
    among: Mapping[str, str] | None = None,
) -> BaselineTable:
    """Baseline characteristics by arm with standardized mean differences (Table 1).

    Parameters
    ----------
    patients : DataFrame
        One row per randomized patient.
    variables : sequence of str
        The columns to summarize, in display order.
    arm : str
        The arm column (exactly two arms).
    treatment, control : str, optional
        Arm labels; the treatment defaults to ``"coaching"`` when present
        (as in every comparison), and is the first column.
    kinds : mapping, optional
        Column -> ``"continuous"``, ``"binary"``, ``"categorical"`` or
        ``"auto"`` (default: bool and 0/1 columns are binary, other numbers
        continuous, anything else categorical).
    labels : mapping, optional
        Column -> display label (default :data:`VARIABLE_LABELS`, else the name).
    among : mapping, optional
        Column -> a boolean column of the patients it applies to: the column is
        summarized among them only, its label says so, and the others are not
        counted as missing. Default :data:`MEASURED_AMONG` (HbA1c among the
        patients with diabetes) wherever the column has no value outside that
        population; ``{}`` summarizes every column over every patient.

    Returns
    -------
    BaselineTable
        ``.to_frame()`` (numbers) and ``.to_display()`` (formatted table).

    Raises
    ------
    ColumnNotFoundError
        A variable or the arm column is not in ``patients``.
    AnalysisError
        ``arm`` does not have exactly two arms, or is missing in some rows.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"arm": ["coaching", "coaching", "usual_care", "usual_care"],
    ...                    "site": ["A", "B", "A", "A"]})
    >>> baseline_table(df, ["site"]).to_frame()[["level", "events1", "events2", "smd"]]
      level  events1  events2       smd
    0     A        1        2  1.414214
    1     B        1        0  1.414214
    """
    from coachstats.compare.prepare import resolve_arms

    missing_cols = [c for c in [arm, *variables] if c not in patients.columns]
    if missing_cols:
        raise ColumnNotFoundError(
            f"column(s) {missing_cols} not found; available: {', '.join(map(str, patients.columns))}"
        )
    kinds = dict(kinds or {})
    for col, kind in kinds.items():
        check_option(f"kinds[{col!r}]", kind, KINDS)
    has_arm = patients[arm].notna().to_numpy()
    if not has_arm.all():
        rows = np.flatnonzero(~has_arm)[:10].tolist()
        raise AnalysisError(
            f"column {arm!r} is missing in {int((~has_arm).sum())} row(s) (first rows {rows}); "
            "every randomized patient needs an arm"
        )
    t, c = resolve_arms(patients[arm].astype(str).rename(arm), treatment, control)
    frame = patients.reset_index(drop=True)
    first = frame[arm].astype(str).to_numpy() == t
    names = {**VARIABLE_LABELS, **(labels or {})}
    out = []
    for v in variables:
        values, label, rows = frame[v], names.get(v, v), first
        within = _population(frame, v, MEASURED_AMONG if among is None else among, among is None)
        if within is not None:
            mask, column = within
            values, rows = values[mask], first[mask]
            label = f"{label} (patients with {column})"
        kind = kinds.get(v, "auto")
        resolved = _kind_of(values) if kind == "auto" else kind
        out.append(_summarize(v, label, resolved, values, rows))
    return BaselineTable(
        arm=arm,
        arms=(t, c),
        n=(int(first.sum()), int((~first).sum())),
        variables=tuple(out),
    )
