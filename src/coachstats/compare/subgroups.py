r"""Effect modification: the arm effect within subgroups, and the test of interaction.

:func:`subgroup_effects` fits, for each subgrouping column :math:`S`, one
model with the arm, :math:`S` and their product (``arm*C(S)``, plus any
covariates), and reads from it

- the arm effect within each level :math:`s` of :math:`S`: the arm
  coefficient plus the interaction coefficient of :math:`s` (an odds ratio for
  logistic and binomial GEE, a mean difference otherwise), with its SE, test
  and interval from the model's covariance (``emmeans(fit, pairwise ~ arm |
  S)``); for ``estimand="risk difference"`` the marginal risk difference among
  the patients of the subgroup (g-computation);
- the test of interaction: the joint Wald test that every arm-by-:math:`S`
  coefficient is 0 (:func:`~coachstats.compare.inference.wald_test`: a
  chi-square, or an F test for linear and mixed models), which is what a
  subgroup analysis should be judged by (Wang et al. 2007): the P values of
  the subgroups themselves are not tests of a difference between them.

One model per subgrouping column, as trial reports do; the overall arm effect
comes from the same model without the interaction.

References
----------
Wang R, Lagakos SW, Ware JH, Hunter DJ, Drazen JM. Statistics in medicine --
reporting of subgroup analyses in clinical trials. N Engl J Med
2007;357:2189-2194.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> n = 400
>>> df = pd.DataFrame({"arm": rng.choice(["coaching", "usual_care"], n),
...                    "insulin": rng.random(n) < 0.4})
>>> effect = np.where(df["insulin"], -1.2, -0.2)
>>> df["change"] = effect * (df["arm"] == "coaching") + rng.normal(0, 1, n)
>>> res = subgroup_effects(df, "change", by="insulin")
>>> res.to_frame()[["subgroup", "level", "estimate"]].round(2).to_numpy().tolist()
[['all patients', '', -0.63], ['insulin', 'False', -0.38], ['insulin', 'True', -0.93]]
>>> res.format_interaction_p("insulin")
'.007'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from coachstats.compare.clustered import gee_model, mixed_model
from coachstats.compare.design import GroupIndex, covariate_levels
from coachstats.compare.glm import risk_difference_from_sums
from coachstats.compare.inference import contrast, counterfactual_sums, delta
from coachstats.compare.modelbase import FittedModel
from coachstats.compare.regression import linear_model, logistic_model
from coachstats.compare.rows import ArmMoments
from coachstats.core.coefficients import Coefficient, WaldTest
from coachstats.core.errors import AnalysisError, ColumnNotFoundError, OptionError, check_option
from coachstats.core.formatting import format_p
from coachstats.core.results import ArmSummary, ComparisonResult, TidyResult

__all__ = ["MAX_LEVELS", "METHODS", "SubgroupEffect", "SubgroupResult", "subgroup_effects"]

Method = Literal["linear", "logistic", "gee", "mixed"]
#: The models a subgroup analysis fits.
METHODS: tuple[str, ...] = ("linear", "logistic", "gee", "mixed")
#: More levels than this is a continuous column: cut it into groups first.
MAX_LEVELS = 12

_MODELS: dict[str, Callable[..., FittedModel]] = {
    "linear": linear_model,
    "logistic": logistic_model,
    "gee": gee_model,
    "mixed": mixed_model,
}


@dataclass(frozen=True)
class SubgroupEffect:
    """The arm effect within one level of one subgrouping column.

    ``effect`` holds the estimate, its SE (of the log for an odds ratio), test
    and interval; ``arms`` the patients and their outcome in each arm of the
    subgroup; ``note`` why there is no estimate (one arm only).
    """

    variable: str
    level: str
    arms: tuple[ArmSummary, ...]
    effect: Coefficient
    note: str = ""


@dataclass(frozen=True)
class SubgroupResult(TidyResult):
    """Arm effects within subgroups with the tests of interaction (:func:`subgroup_effects`).

    ``overall`` is the arm effect in the model without interaction;
    ``subgroups`` the effects within each level; ``tests`` the test of
    interaction of each subgrouping column, in the order of ``variables``.
    """

    outcome: str
    method: str
    estimand: str
    conf_level: float
    variables: tuple[str, ...]
    overall: ComparisonResult
    subgroups: tuple[SubgroupEffect, ...]
    tests: tuple[WaldTest, ...]

    def interaction(self, variable: str) -> WaldTest:
        """The test of interaction of one subgrouping column."""
        if variable not in self.variables:
            raise OptionError(
                f"variable={variable!r} is not allowed; choose one of {list(self.variables)}"
            )
        return self.tests[self.variables.index(variable)]

    def format_interaction_p(self, variable: str) -> str:
        """The P of interaction of ``variable``, journal style (``".02"``)."""
        return format_p(self.interaction(variable).p_value)

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - to_frame is the table
        """The overall row (the table is :meth:`to_frame`)."""
        return {str(k): v for k, v in self.to_frame().iloc[0].items()}

    def to_frame(self) -> pd.DataFrame:
        """One row for all patients, then one per subgroup level.

        Columns: ``subgroup``, ``level``, ``arm1``/``arm2``, ``n1``/``n2``,
        ``value1``/``value2`` (proportion or mean in each arm), ``estimand``,
        ``estimate``, ``std_error``, ``conf_low``, ``conf_high``, ``p_value``
        (of the effect within the subgroup), ``interaction_p`` and
        ``interaction_test`` (of the subgrouping column), ``note``.
        """
        rows = [self._row("all patients", "", self.overall.arms, self._overall_effect(), None)]
        for s in self.subgroups:
            rows.append(
                self._row(
                    s.variable, s.level, s.arms, s.effect, self.interaction(s.variable), s.note
                )
            )
        return pd.DataFrame(rows)

    def _overall_effect(self) -> Coefficient:
        r = self.overall
        return Coefficient(
            "all patients",
            r.estimate,
            r.std_error,
            r.statistic,
            r.df,
            r.p_value,
            r.conf_low,
            r.conf_high,
        )

    def _row(
        self,
        variable: str,
        level: str,
        arms: Sequence[ArmSummary],
        effect: Coefficient,
        test: WaldTest | None,
        note: str = "",
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"subgroup": variable, "level": level}
        for i, a in enumerate(arms[:2], start=1):
            row[f"arm{i}"] = a.arm
            row[f"n{i}"] = a.n
            row[f"value{i}"] = a.value
        row.update(
            {
                "estimand": self.estimand,
                "estimate": effect.estimate,
                "std_error": effect.std_error,
                "conf_low": effect.conf_low,
                "conf_high": effect.conf_high,
                "p_value": effect.p_value,
                "interaction_p": test.p_value if test else math.nan,
                "interaction_test": _test_text(test) if test else "",
                "note": note,
            }
        )
        return row

    def summary(self) -> str:
        """The subgroup table as text, with the tests of interaction."""
        pct = round(100 * self.conf_level)
        lines = [
            f"Subgroup analysis of {self.outcome}: {self.estimand} "
            f"({self.overall.arms[0].arm} vs {self.overall.arms[1].arm}), {self.method}",
            f"  all patients: {_effect_text(self._overall_effect(), pct)}",
        ]
        for variable, test in zip(self.variables, self.tests, strict=True):
            lines.append(f"  {variable} (interaction {_test_text(test)}):")
            for s in (s for s in self.subgroups if s.variable == variable):
                n = "/".join(str(a.n) for a in s.arms)
                text = s.note or _effect_text(s.effect, pct)
                lines.append(f"    {s.level} (n {n}): {text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        tests = ", ".join(
            f"{v} {_test_text(t)}" for v, t in zip(self.variables, self.tests, strict=True)
        )
        return f"<SubgroupResult {self.outcome}: {self.estimand} by subgroup; interaction {tests}>"


def _test_text(test: WaldTest) -> str:
    p = format_p(test.p_value)
    return f"P {p}" if p[:1] in "<>" else f"P = {p}"


def _effect_text(effect: Coefficient, pct: int) -> str:
    if math.isnan(effect.estimate):
        return "not estimable"
    p = format_p(effect.p_value)
    p_text = f"P {p}" if p[:1] in "<>" else f"P = {p}"
    return (
        f"{effect.estimate:.4g} ({pct}% CI {effect.conf_low:.4g} to {effect.conf_high:.4g}), "
        f"{p_text}"
    )


def subgroup_effects(
    data: pd.DataFrame,
    outcome: str,
    *,
    by: str | Sequence[str],
    method: Method = "linear",
    arm: str = "arm",
    covariates: Sequence[str] | str = (),
    formula: str | None = None,
    conf_level: float = 0.95,
    treatment: str | None = None,
    control: str | None = None,
    **options: Any,
) -> SubgroupResult:
    """The arm effect within the levels of each ``by`` column, with the test of interaction.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        Binary for ``method="logistic"`` (and binomial GEE), numeric otherwise.
    by : str or sequence of str
        Subgrouping column(s) (coded as categorical, at most :data:`MAX_LEVELS`
        levels: cut a continuous column into groups first). Each is analysed
        in its own model; rows missing it are excluded from that model.
    method : {"linear", "logistic", "gee", "mixed"}
        The model (:mod:`coachstats.compare.models`).
    arm, covariates, formula, conf_level, treatment, control
        As in the model; ``formula`` adds terms to ``arm*C(by)``.
    **options
        Options of the model: ``cluster`` (required by GEE and mixed models),
        ``estimand`` (logistic: ``"risk difference"`` gives marginal risk
        differences within subgroups), ``family``, ``fixed_effects``...

    Returns
    -------
    SubgroupResult
        ``to_frame()`` gives the forest-plot table
        (:func:`coachstats.present.plots.plot_subgroups` draws it).

    Raises
    ------
    OptionError
        Unknown method, a ``by`` column that is the outcome or the arm, or
        with too many levels; options the model does not take.
    ColumnNotFoundError
        A ``by`` column not in ``data``.
    """
    check_option("method", method, METHODS)
    variables = (by,) if isinstance(by, str) else tuple(by)
    if not variables:
        raise OptionError("by= needs at least one subgrouping column")
    fit = _MODELS[method]
    kwargs = dict(
        arm=arm,
        covariates=covariates,
        conf_level=conf_level,
        treatment=treatment,
        control=control,
        **options,
    )
    overall = fit(data, outcome, formula=formula, **kwargs).result
    effects: list[SubgroupEffect] = []
    tests: list[WaldTest] = []
    for variable in variables:
        _check_variable(data, variable, outcome, arm)
        terms = f"{arm}*C({variable})" + (f" + {formula}" if formula else "")
        fitted = fit(data, outcome, formula=terms, **kwargs)
        model = fitted.result.model
        if model is None or model.interaction is None:
            raise AnalysisError(
                f"subgroups by '{variable}': the model has no arm-by-{variable} term left "
                "(every level has a single arm, or the column is constant)"
            )
        tests.append(model.interaction)
        effects.extend(_effects(fitted, variable, conf_level))
    return SubgroupResult(
        outcome=outcome,
        method=overall.method,
        estimand=overall.estimand,
        conf_level=float(conf_level),
        variables=variables,
        overall=overall,
        subgroups=tuple(effects),
        tests=tuple(tests),
    )


def _check_variable(data: pd.DataFrame, variable: str, outcome: str, arm: str) -> None:
    if variable not in data.columns:
        raise ColumnNotFoundError(
            f"subgroup column '{variable}' not found; columns: {list(data.columns)[:20]}"
        )
    if variable in (outcome, arm):
        raise OptionError(f"subgroup column '{variable}' is the outcome or the arm")
    n_levels = data[variable].nunique(dropna=True)
    if n_levels > MAX_LEVELS:
        raise OptionError(
            f"subgroup column '{variable}' has {n_levels} levels (more than {MAX_LEVELS}); "
            f"cut it into groups first, e.g. pd.cut(df['{variable}'], [...])"
        )


def _effects(fitted: FittedModel, variable: str, conf_level: float) -> list[SubgroupEffect]:
    """The arm effect in each level of ``variable`` from the model with ``arm*C(variable)``."""
    setup, design, F = fitted.setup, fitted.design, fitted.functionals
    if F is None:  # pragma: no cover - Firth's model refuses arm interactions first
        raise OptionError("subgroup effects need a model with a covariance (not firth=True)")
    values = setup.frame[variable]
    levels = covariate_levels(values, True) or []
    labels = setup.prepared.labels
    binary = fitted.link == "logit"
    estimand = fitted.result.estimand
    out = []
    for level in levels:
        mask = (values == level).to_numpy()
        arms = ArmMoments.of(setup.y[mask], setup.treated[mask]).summaries(labels, binary)
        name = f"{variable} = {level}"
        if min(a.n for a in arms) == 0:
            nan = math.nan
            empty = Coefficient(name, nan, nan, nan, nan, nan, nan, nan)
            out.append(SubgroupEffect(variable, str(level), arms, empty, "one arm only"))
            continue
        g_beta = np.zeros(len(F.beta))
        g_beta[0] = 1.0
        for j, modifier in design.arm_modifiers:
            g_beta[j] = float(modifier[mask][0])  # a dummy of the level: constant within it
        g_alpha = np.zeros(len(F.alpha))
        if estimand == "risk difference":
            groups = _subset_groups(fitted.groups, mask)
            sums = counterfactual_sums(design.subset(mask), F.beta, F.alpha, groups, "logit")
            rd, gb, ga = risk_difference_from_sums(sums)
            effect = delta(F, name, rd, gb, ga, conf_level)
        elif binary:
            est = float(F.value(g_beta[None, :], g_alpha[None, :])[0])
            effect = delta(F, name, est, g_beta, g_alpha, conf_level, ratio=True)
        else:
            effect = contrast(F, name, g_beta, g_alpha, conf_level)
        out.append(SubgroupEffect(variable, str(level), arms, effect))
    return out


def _subset_groups(groups: GroupIndex | None, mask: np.ndarray) -> GroupIndex | None:
    """Fixed-effect groups of some rows, keeping every group's index (their intercepts)."""
    if groups is None:
        return None
    codes = groups.codes[mask]
    return GroupIndex(codes, groups.labels, np.bincount(codes, minlength=groups.n_groups))
