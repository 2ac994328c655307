"""The streamed comparisons (2x2 tests, t test, ANCOVA, the models) as generators of chunk requests, and the plan runner."""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast, get_args

import numpy as np

from coachstats.compare import glm, means, models, proportions
from coachstats.compare.design import GroupIndex, ModelRows, model_terms
from coachstats.compare.gee import (  # names: the package
    CORRELATIONS,
    FAMILIES,
    SMALL_SAMPLE,
    gee_steps,
)
from coachstats.compare.mixed import fit_mixed_stats, mixed_chunk_stats  # exports gee(), mixed()
from coachstats.compare.output import gee_output, mixed_output, regression_output
from coachstats.compare.smallsample import ClusterCrossProducts, ols_cross_products
from coachstats.core.errors import AnalysisError, OptionError, check_option
from coachstats.core.results import ComparisonResult
from coachstats.core.vocabulary import is_goal_endpoint
from coachstats.plan import METHODS as PLAN_METHODS
from coachstats.plan import (
    PAIRED_METHODS,
    AnalysisPlan,
    AnalysisSpec,
    PlanResult,
    bound_options,
    change_name,
)

if TYPE_CHECKING:
    pass
from coachstats.engines.first_pass import Columns, finish, kept_rows, prepare_steps
from coachstats.engines.model_rows import adapt, design_steps, group_sums_request, model_rows
from coachstats.engines.passes import Chunk, Errors, FrameRequest, PassRunner, drive

__all__ = ["METHODS", "run_streamed"]


#: The methods of an :class:`~coachstats.plan.AnalysisSpec` that stream: all but the paired
#: methods and ``describe`` (derived from the plan's list, so a new method is known here).
METHODS: tuple[str, ...] = tuple(m for m in PLAN_METHODS if m not in (*PAIRED_METHODS, "describe"))


def run_streamed(plan: AnalysisPlan, run_pass: PassRunner, errors: Errors) -> PlanResult:
    """Run a plan with a pass runner (the part shared by every source)."""
    check_option("errors", errors, get_args(Errors))
    steps = [_spec_steps(spec) for spec in plan]
    return PlanResult.collect(plan, drive(steps, run_pass, errors))


def _check_supported(spec: AnalysisSpec) -> None:
    check_option("method", spec.method, METHODS)
    if spec.table != "patients":
        raise OptionError(f"{spec.label!r}: streaming reads the patients table only")
    if spec.missing == "mi":
        raise OptionError(
            f"{spec.label!r}: multiple imputation does not stream; run it in memory "
            "(run_plan) or use missing='complete case'"
        )
    if spec.missing == "failure" and not is_goal_endpoint(spec.outcome):
        raise OptionError(
            f"{spec.label!r}: missing='failure' streams for the goal endpoints only "
            "(at_goal_*, composite_*)"
        )
    if spec.options.get("singleton_clusters"):
        raise OptionError(f"{spec.label!r}: singleton_clusters does not stream")
    if spec.options.get("clustered_arm"):
        raise OptionError(
            f"{spec.label!r}: a partially nested design (clustered_arm=) is fitted in memory "
            "only, not streamed; run it with run_plan or the compare function on a DataFrame"
        )


def _spec_steps(spec: AnalysisSpec) -> Generator[FrameRequest, Any, ComparisonResult]:
    _check_supported(spec)
    if spec.method == "ancova" and "baseline" not in spec.options:
        raise OptionError(f"{spec.label!r}: method 'ancova' needs options.baseline (a column)")
    opts = bound_options(spec)
    name = change_name(spec)
    if spec.method in ("chi_square", "fisher"):
        result = yield from _two_by_two(spec, name, opts)
    elif spec.method == "t_test":
        result = yield from _t_test(spec, name, opts)
    elif spec.method == "ancova":
        result = yield from _ancova(spec, name, opts)
    else:
        result = yield from _model(spec, name, opts)
    if spec.missing == "failure":
        result = result.replace(missing="missing follow-up counted as not at goal")
    return result


def _two_by_two(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    cols = Columns(outcome, opts["arm"], (), (), None)
    prep = yield from prepare_steps(spec, cols, opts)

    def counts(chunk: Chunk) -> np.ndarray:
        kept = kept_rows(chunk, spec, cols, prep.exclude)
        y = proportions.as_binary(kept.series(outcome))
        treated = kept.is_label(cols.arm, prep.labels[0])
        return np.array([int(y[treated].sum()), int(treated.sum()), int(y.sum()), len(y)])

    x1, n1, x, n = (int(v) for v in (yield counts))
    data = proportions.ArmCounts(
        (x1, n1, x - x1, n - n1), prep.labels, prep.n_excluded, prep.excluded_reason
    )
    fn = proportions.chi_square if spec.method == "chi_square" else proportions.fisher_exact
    kwargs = {k: v for k, v in opts.items() if k not in ("arm", "treatment", "control")}
    return finish(fn(data, outcome, **kwargs), spec, prep)


def _t_test(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    cols = Columns(outcome, opts["arm"], (), (), None, (outcome,))
    prep = yield from prepare_steps(spec, cols, opts)
    sums = yield group_sums_request(spec, prep, None, None, numeric_outcome=True)
    arms = sums.arms
    moments = []
    for j in range(2):
        n = int(arms.n[j])
        mean = float(arms.total[j] / n) if n else math.nan
        sd = math.sqrt(arms.m2[j] / (n - 1)) if n > 1 else math.nan
        moments.append((mean, sd, n))
    result = means.t_test_from_moments(
        moments[0],
        moments[1],
        equal_var=opts["equal_var"],
        conf_level=opts["conf_level"],
        labels=prep.labels,
        outcome=outcome,
    )
    result = result.replace(n_excluded=prep.n_excluded, excluded_reason=prep.excluded_reason)
    return finish(result, spec, prep)


def _ancova(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    baseline = str(spec.options["baseline"])
    covs = list(dict.fromkeys(opts["covariates"]))
    if outcome == baseline:
        raise AnalysisError(f"outcome and baseline are the same column '{outcome}'")
    clash = [c for c in covs if c in (outcome, baseline, opts["arm"])]
    if clash:
        raise AnalysisError(f"covariates {clash} repeat the outcome, baseline or arm column")
    proportions.check_conf_level(opts["conf_level"])
    terms = tuple((c, False) for c in [baseline, *covs])
    # the baseline must be numeric, not a factor
    cols = Columns(outcome, opts["arm"], terms, (), None, (outcome, baseline))
    prep = yield from prepare_steps(spec, cols, opts)
    sums = yield group_sums_request(spec, prep, None, None, numeric_outcome=True)
    n = int(sums.arms.n.sum())
    shift = sums.xsum / n
    design, keep = yield from design_steps(
        spec, prep, opts["arm"], shift, None, numeric_outcome=True
    )
    if baseline not in design.names:
        raise AnalysisError(
            f"baseline column '{baseline}' is constant or collinear with the covariates "
            f"in the analysed rows ({', '.join(design.dropped)}); use a t test instead"
        )
    names = ("(Intercept)", *design.names)

    def factor(chunk: Chunk) -> means.AugmentedR:
        rows, _ = model_rows(chunk, spec, prep, keep_columns=keep, numeric_outcome=True)
        X1 = np.empty((rows.nobs, len(keep) + 1))
        X1[:, 0] = 1.0
        X1[:, 1:] = rows.XT.T
        return means.AugmentedR.of(X1, rows.y)

    r = yield factor
    if n <= len(names):
        raise AnalysisError(
            f"{n} complete rows are too few to estimate {len(names)} coefficients {list(names)}"
        )
    fit = means.ols_from_r(r.r, n, names)
    result = means.ancova_result(
        fit,
        names,
        sums.arms,
        prep.labels,
        outcome=outcome,
        baseline=baseline,
        covariates=covs,
        conf_level=opts["conf_level"],
        n_excluded=prep.n_excluded,
        excluded_reason=prep.excluded_reason,
    )
    return finish(result, spec, prep)


def _model(
    spec: AnalysisSpec, outcome: str, opts: Mapping[str, Any]
) -> Generator[FrameRequest, Any, ComparisonResult]:
    """logistic, linear, gee and mixed, as the functions of :mod:`~coachstats.compare.models`."""
    method = spec.method
    arm = opts["arm"]
    conf_level = opts["conf_level"]
    if method == "logistic":
        check_option("estimand", opts["estimand"], models.LOGISTIC_ESTIMANDS)
        if opts["firth"]:
            raise OptionError(
                f"{spec.label!r}: firth=True is fitted in memory (it is for small samples); "
                "use compare.logistic or run_plan"
            )
    if method == "linear":
        models.check_cluster_vcov(opts["cluster_vcov"], opts["cluster"], opts["fixed_effects"])
    if method == "gee":
        check_option("family", opts["family"], FAMILIES)
        check_option("corr", opts["corr"], CORRELATIONS)
        check_option("moment_df", opts["moment_df"], ("n", "n-p"))
        check_option("small_sample", opts["small_sample"], SMALL_SAMPLE)
    proportions.check_conf_level(conf_level)
    cluster: str | None = opts.get("cluster")
    fe: str | None = opts.get("fixed_effects") if method in ("logistic", "linear") else None
    binary = method == "logistic" or (method == "gee" and opts["family"] == "binomial")
    model = model_terms(opts["covariates"], opts["formula"], arm=arm)
    if model.interactions:
        products = [":".join(t) for t in model.interactions]
        raise OptionError(
            f"{spec.label!r}: interaction terms {products} are fitted in memory only, not "
            f"streamed; run compare.{method} on a pandas DataFrame (or run_plan)"
        )
    terms = model.main
    group_cols = tuple(g for g in (cluster, fe) if g)
    for name in [*(t for t, _ in terms), *group_cols]:
        if name in (outcome, arm):
            raise AnalysisError(
                f"column '{name}' is the outcome or the arm; it cannot also be a covariate, "
                "cluster or fixed effect"
            )
    cols = Columns(outcome, arm, terms, group_cols, binary)
    prep = yield from prepare_steps(spec, cols, opts)
    sums = yield group_sums_request(spec, prep, fe, cluster)
    if binary:
        n = int(sums.arms.n.sum())
        events = float(sums.arms.total.sum())
        if events in (0.0, float(n)):
            raise AnalysisError(
                f"outcome '{outcome}' is {int(events > 0)} for every analysed patient"
                + (
                    f" ({n}): no events to model"
                    if method == "logistic"
                    else ": no events to model"
                )
            )
        models.check_separation(prep.labels, sums.arms.n, sums.arms.total, outcome)
    if fe and method == "logistic":
        bad = (sums.events == 0) | (sums.events == sums.counts)
        if bad.any():
            labels = prep.groups[fe]
            bad_labels = [labels[j] for j in np.flatnonzero(bad)]
            n_drop = int(sums.counts[bad].sum())
            reason = models.degenerate_groups_reason(
                fe, outcome, [str(x) for x in bad_labels], n_drop, bool((~bad).any())
            )
            prep = yield from prepare_steps(spec, cols, opts, {fe: frozenset(bad_labels)})
            prep = replace(
                prep,
                n_excluded=prep.n_excluded + n_drop,
                excluded_reason=", ".join(r for r in (prep.excluded_reason, reason) if r),
            )
            sums = yield group_sums_request(spec, prep, fe, cluster)
            models.check_arms_left(fe, outcome, int(sums.arms.n[0]), int(sums.arms.n.sum()))
            models.check_separation(prep.labels, sums.arms.n, sums.arms.total, outcome)
    checked = ((fe if method == "linear" else None, "fixed effects"), (cluster, "cluster"))
    for column, role in checked:
        if column and len(prep.groups[column]) < 2:
            raise AnalysisError(
                f"{role} column '{column}' has {len(prep.groups[column])} level among the "
                f"analysed rows ({list(prep.groups[column])}); {role} needs at least 2"
            )
    n = int(sums.arms.n.sum())
    shift = sums.xsum / sums.counts[:, None]
    design, keep = yield from design_steps(spec, prep, arm, shift, fe, cluster)
    rows_summary = models.RowSummary(
        sums.arms.summaries(prep.labels, binary), prep.n_excluded, prep.excluded_reason
    )

    def rows_of(chunk: Chunk) -> ModelRows:
        return model_rows(chunk, spec, prep, fe=fe, cluster=cluster, keep_columns=keep)[0]

    shift_kept = np.ascontiguousarray(shift[:, keep])
    if method == "mixed":
        center = shift_kept[0]
        stats = yield (lambda chunk: mixed_chunk_stats(rows_of(chunk), center))
        fit_m = fit_mixed_stats(stats, reml=bool(opts["reml"]))
        means = glm.identity_marginal_sums(
            sums.counts, shift_kept, fit_m.params[1:], fit_m.params[:1]
        )
        result = models.mixed_result(
            fit_m,
            design,
            rows_summary,
            outcome,
            cluster=str(cluster),
            conf_level=conf_level,
            model=mixed_output(fit_m, design, prep.labels, conf_level=conf_level, sums=means),
        )
        return finish(result, spec, prep)
    if method == "gee":
        counts = sums.clusters
        steps = gee_steps(
            counts,
            shift_kept[0],
            float(sums.arms.total.sum()),
            family=opts["family"],
            corr=opts["corr"],
            moment_df=opts["moment_df"],
            small_sample=opts["small_sample"],
        )
        fit_g = yield from adapt(steps, rows_of)
        if fit_g.family == "binomial":
            means = yield (
                lambda chunk: glm.marginal_sums(rows_of(chunk), fit_g.params[1:], fit_g.params[:1])
            )
        else:
            means = glm.identity_marginal_sums(
                sums.counts, shift_kept, fit_g.params[1:], fit_g.params[:1]
            )
        result = models.gee_result(
            fit_g,
            design,
            rows_summary,
            outcome,
            cluster=str(cluster),
            conf_level=conf_level,
            model=gee_output(fit_g, design, prep.labels, conf_level=conf_level, sums=means),
        )
        return finish(result, spec, prep)
    family = "binomial" if method == "logistic" else "gaussian"
    groups = GroupIndex(
        np.zeros(0, dtype=np.intp),
        np.array(prep.groups[fe] if fe else ["(all)"], dtype=object),
        sums.counts,
    )
    if family == "binomial":
        alpha0 = glm.initial_intercepts(sums.events, sums.counts, groups.labels)
    else:
        p = len(keep)
        if n - p - groups.n_groups <= 0:
            raise AnalysisError(
                f"{n} observations for {p + groups.n_groups} coefficients: "
                "no residual degrees of freedom"
            )
        alpha0 = np.zeros(groups.n_groups)
    newton = glm.newton_steps(alpha0, shift_kept, family=cast(glm.Family, family))
    solution = yield from adapt(newton, rows_of)
    if not solution.converged and family == "binomial":
        raise glm.not_converged(solution.iterations)
    fit = glm.regression_fit(solution, family, groups)
    if family == "gaussian":
        models.check_not_exact(fit, rows_summary, outcome)
        means = glm.identity_marginal_sums(sums.counts, shift_kept, fit.coef, fit.group_coef)
    else:
        means = yield (lambda chunk: glm.marginal_sums(rows_of(chunk), fit.coef, fit.group_coef))
    rd = None
    if method == "logistic" and opts["estimand"] == "risk difference":
        rd = glm.risk_difference_from_sums(means)
    clusters = None
    scores = None
    scores_out = None
    # the group parts of every functional the output needs (the intercept, the means)
    basis = (
        np.ones((1, 1)) if groups.n_groups == 1 else np.vstack([means.mean(1)[2], means.mean(0)[2]])
    )
    if cluster:
        labels_c = np.array(prep.groups[cluster], dtype=object)
        clusters = GroupIndex(np.zeros(0, dtype=np.intp), labels_c, sums.clusters)
        head = rd[2] if rd is not None else np.zeros(groups.n_groups)
        influence = np.column_stack([head, basis.T]) / fit.group_weight[:, None]
        all_scores = yield (
            lambda chunk: glm.cluster_score_sums(
                rows_of(chunk),
                solution,
                family,
                cast(np.ndarray, rows_of(chunk).clusters),
                len(labels_c),
                influence,
            )
        )
        p = len(fit.coef)
        scores = all_scores[:, : p + 1]
        scores_out = np.column_stack([all_scores[:, :p], all_scores[:, p + 1 :]])
    cr2 = None
    if family == "gaussian" and opts["cluster_vcov"] == "CR2" and clusters is not None:
        n_c = clusters.n_groups

        def cross(chunk: Chunk) -> ClusterCrossProducts:
            rows = rows_of(chunk)
            return ols_cross_products(
                rows.XT,
                rows.y,
                cast(np.ndarray, rows.clusters),
                n_c,
                fit.coef,
                float(fit.group_coef[0]),
                shift_kept[0],
            )

        cr2 = ((yield cross), shift_kept[0])
    output = regression_output(
        fit,
        design,
        prep.labels,
        conf_level=conf_level,
        clusters=clusters,
        cr2=cr2,
        scores=scores_out,
        basis=basis,
        sums=means,
    )
    if method == "logistic":
        result = models.logistic_result(
            fit,
            design,
            rows_summary,
            outcome,
            estimand=opts["estimand"],
            conf_level=conf_level,
            fixed_effects=fe,
            cluster=cluster,
            clusters=clusters,
            risk_difference=rd,
            scores=scores,
            model=output,
        )
    else:
        result = models.linear_result(
            fit,
            design,
            rows_summary,
            outcome,
            conf_level=conf_level,
            fixed_effects=fe,
            cluster=cluster,
            clusters=clusters,
            scores=scores,
            small_sample=None if cr2 is None else models.cr2_arm(cr2[0]),
            model=output,
        )
    return finish(result, spec, prep)
