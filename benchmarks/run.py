"""Benchmark: coachstats vs the plain pandas + statsmodels pipeline, same data, one process.

The analysis is the one in ../shared/bench/statsmodels_baseline.py (the HCPC
primary analysis a researcher writes today): composite endpoint, chi-square,
logistic regression adjusted for covariates plus clinic fixed effects,
cluster-robust logistic by clinic, GEE exchangeable by clinic, ANCOVA.
Both sides run on the same generated data; the table reports seconds per
stage, the ratio baseline / coachstats, and the largest relative difference
between the two sets of estimates, SEs and p-values.

    python benchmarks/run.py --n 1e6          # one size
    python benchmarks/run.py --quick          # 1e4 and 1e5, for a smoke run
    python benchmarks/run.py --n 1e7 --skip-baseline   # coachstats alone

Results are printed as a table and written as JSON (``--json out.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def make_data(n: int, clinics: int = 40, seed: int = 1) -> pd.DataFrame:
    """The baseline script's data generator, verbatim (same seed, same draws)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "arm": rng.choice(["coaching", "usual_care"], n),
            "clinic": rng.choice([f"c{i}" for i in range(clinics)], n),
            "age": rng.normal(53, 11, n).round(),
            "female": rng.integers(0, 2, n),
            "diabetes": rng.integers(0, 2, n),
            "a1c_0": rng.normal(9.0, 1.6, n),
            "sbp_0": rng.normal(145, 16, n),
            "ldl_0": rng.normal(140, 35, n),
        }
    )
    eff = np.where(df.arm == "coaching", 0.5, 0.0)
    df["a1c_12"] = df.a1c_0 - 0.4 - eff + rng.normal(0, 1.5, n)
    df["sbp_12"] = df.sbp_0 - 6 - 4 * eff + rng.normal(0, 15, n)
    df["ldl_12"] = df.ldl_0 - 10 - 10 * eff + rng.normal(0, 30, n)
    return df


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


COVS = ["age", "female", "diabetes", "hba1c_0"]


def run_coachstats(df: pd.DataFrame) -> dict[str, tuple[float, dict[str, float]]]:
    """The analysis through coachstats' public API."""
    from coachstats import HCPC_GOALS, derive_endpoints
    from coachstats.compare.models import gee, linear, logistic
    from coachstats.compare.proportions import chi_square

    out: dict[str, tuple[float, dict[str, float]]] = {}
    data = df.rename(columns=lambda c: c.replace("a1c_", "hba1c_")).astype({"diabetes": bool})
    t, ep = timed(lambda: derive_endpoints(data, HCPC_GOALS))
    s = ep[ep["n_uncontrolled"] > 0]
    out["endpoints"] = (t, {"n_analysed": float(len(s)), "events": float(s["composite_any"].sum())})
    t, r = timed(lambda: chi_square(s, "composite_any"))
    out["chisq"] = (t, {"p": r.p_value})
    t, r = timed(lambda: logistic(s, "composite_any", covariates=COVS, fixed_effects="clinic"))
    # std_error of an odds ratio is on the log scale, like statsmodels bse of the coefficient
    out["logit_adj"] = (t, {"or": r.estimate, "se": r.std_error, "p": r.p_value})
    t, r = timed(lambda: logistic(s, "composite_any", covariates=COVS, cluster="clinic"))
    out["logit_cluster"] = (t, {"or": r.estimate, "p": r.p_value})
    t, r = timed(
        lambda: gee(
            s,
            "composite_any",
            covariates=COVS,
            cluster="clinic",
            family="binomial",
            corr="exchangeable",
            moment_df="n-p",
        )
    )
    out["gee_exch"] = (t, {"or": r.estimate, "p": r.p_value})
    t, r = timed(lambda: linear(s, "change_hba1c", covariates=["hba1c_0", "age", "female"]))
    out["ancova"] = (t, {"diff": r.estimate, "se": r.std_error, "p": r.p_value})
    return out


def run_baseline(df: pd.DataFrame) -> dict[str, tuple[float, dict[str, float]]]:
    """The baseline script's steps (statsmodels formulas), timed the same way."""
    import scipy.stats as st
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    out: dict[str, tuple[float, dict[str, float]]] = {}
    t0 = time.perf_counter()
    d = df.diabetes == 1
    unc_a1c = d & (df.a1c_0 > 8.0)
    unc_sbp = df.sbp_0 >= np.where(d, 130, 140)
    unc_ldl = df.ldl_0 >= np.where(d, 100, 160)
    goal_a1c = df.a1c_12 <= 8.0
    goal_sbp = df.sbp_12 < np.where(d, 130, 140)
    goal_ldl = df.ldl_12 < np.where(d, 100, 160)
    U = pd.concat([unc_a1c, unc_sbp, unc_ldl], axis=1).values
    G = pd.concat([goal_a1c, goal_sbp, goal_ldl], axis=1).values
    df = df.assign(any_unc=U.any(1), comp_any=((U & G).any(1)).astype(int))
    s = df[df.any_unc]
    out["endpoints"] = (
        time.perf_counter() - t0,
        {"n_analysed": float(len(s)), "events": float(s.comp_any.sum())},
    )
    t, chi = timed(
        lambda: st.chi2_contingency(pd.crosstab(s.arm, s.comp_any).values, correction=False)
    )
    out["chisq"] = (t, {"p": float(chi.pvalue)})
    f = "comp_any ~ C(arm) + age + female + diabetes + a1c_0"
    t, m = timed(lambda: smf.logit(f + " + C(clinic)", data=s).fit(disp=0))
    # statsmodels' reference arm is coaching (alphabetical): invert to coaching vs usual care
    out["logit_adj"] = (
        t,
        {
            "or": float(np.exp(-m.params.iloc[1])),
            "se": float(m.bse.iloc[1]),
            "p": float(m.pvalues.iloc[1]),
        },
    )
    t, m2 = timed(
        lambda: smf.logit(f, data=s).fit(
            disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(s.clinic)[0]}
        )
    )
    out["logit_cluster"] = (
        t,
        {"or": float(np.exp(-m2.params.iloc[1])), "p": float(m2.pvalues.iloc[1])},
    )
    t, g = timed(
        lambda: smf.gee(
            f,
            groups="clinic",
            data=s,
            family=sm.families.Binomial(),
            cov_struct=sm.cov_struct.Exchangeable(),
        ).fit()
    )
    out["gee_exch"] = (t, {"or": float(np.exp(-g.params.iloc[1])), "p": float(g.pvalues.iloc[1])})
    t, o = timed(lambda: smf.ols("I(a1c_12 - a1c_0) ~ C(arm) + a1c_0 + age + female", data=s).fit())
    out["ancova"] = (
        t,
        {
            "diff": float(-o.params.iloc[1]),
            "se": float(o.bse.iloc[1]),
            "p": float(o.pvalues.iloc[1]),
        },
    )
    return out


def max_rel_diff(a: dict[str, float], b: dict[str, float]) -> float:
    keys = set(a) & set(b)
    return max((abs(a[k] - b[k]) / max(abs(b[k]), 1e-300) for k in keys), default=float("nan"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=float, action="append", help="patients (repeatable); default 1e5")
    ap.add_argument("--quick", action="store_true", help="1e4 and 1e5 only")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--json", type=str, default=None)
    args = ap.parse_args(argv)
    sizes = [int(x) for x in (args.n or ([1e4, 1e5] if args.quick else [1e5]))]
    rows = []
    for n in sizes:
        df = make_data(n)
        cs = run_coachstats(df)
        bl = None if args.skip_baseline else run_baseline(df)
        for stage, (t_cs, est_cs) in cs.items():
            row: dict[str, Any] = {"stage": stage, "n": n, "coachstats_s": t_cs}
            if bl is not None:
                t_bl, est_bl = bl[stage]
                row.update(
                    baseline_s=t_bl,
                    ratio=t_bl / t_cs if t_cs > 0 else float("inf"),
                    max_rel_diff=max_rel_diff(est_cs, est_bl),
                )
            rows.append(row)
        tot: dict[str, Any] = {
            "stage": "TOTAL",
            "n": n,
            "coachstats_s": sum(v[0] for v in cs.values()),
        }
        if bl is not None:
            tot["baseline_s"] = sum(v[0] for v in bl.values())
            tot["ratio"] = tot["baseline_s"] / tot["coachstats_s"]
        rows.append(tot)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    print(
        f"peak RSS {peak_rss_mb():.0f} MB; python {platform.python_version()}; {platform.machine()}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {"machine": platform.platform(), "rows": rows, "peak_rss_mb": peak_rss_mb()},
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
