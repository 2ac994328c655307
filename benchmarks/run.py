"""Benchmark: coachstats vs the plain pandas + statsmodels pipeline, same data, one process.

The analysis is the one in ../shared/bench/statsmodels_baseline.py (the HCPC
primary analysis a researcher writes today): composite endpoint, chi-square,
logistic regression adjusted for covariates plus clinic fixed effects,
cluster-robust logistic by clinic, GEE exchangeable by clinic, ANCOVA.
Both sides run on the same generated data; the table reports seconds per
stage, the ratio baseline / coachstats, and the largest absolute and relative
differences between the two sets of estimates, SEs and p-values.

    python benchmarks/run.py --n 1e6                  # one size, both sides
    python benchmarks/run.py --quick                  # 1e4 and 1e5, a smoke run
    python benchmarks/run.py --n 1e7 --skip-baseline  # coachstats alone
    python benchmarks/run.py --growth                 # 1e4 .. 1e7, JSON + growth plot
    python benchmarks/run.py --clusters 5000          # 5,000 clinics: FE logit, GEE, LMM
    python benchmarks/run.py --parquet 1e7            # streamed from Parquet, peak RSS
    python benchmarks/run.py --cli 1e6                # the commands, start to exit, peak RSS
    python benchmarks/run.py --docs                   # docs/performance.md from the results

Results are printed as a table and written as JSON (``--json out.json``;
``--growth`` writes ``benchmarks/results/growth.json`` and the plot
``docs/img/performance_growth.png`` unless told otherwise). Timings are wall
clock; on a shared machine run each mode alone.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
IMG = ROOT / "docs" / "img"
COVS = ["age", "female", "diabetes", "hba1c_0"]
RENAME = {"a1c_0": "hba1c_0", "a1c_12": "hba1c_12"}


# --------------------------------------------------------------------------- data


def make_data(n: int, clinics: int = 40, seed: int = 1, clinic_sd: float = 0.0) -> pd.DataFrame:
    """The baseline script's data generator, verbatim (same seed, same draws).

    ``clinic_sd > 0`` adds a clinic random intercept to the follow-up HbA1c
    (drawn after everything else, so the other columns are unchanged): the
    data of the mixed-model benchmark.
    """
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
    if clinic_sd > 0:
        u = rng.normal(0, clinic_sd, clinics)
        df["a1c_12"] += u[df["clinic"].str.slice(1).astype(int).to_numpy()]
    return df


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB.

    Linux: ``VmHWM`` of /proc/self/status, the high-water mark of this
    program's memory. (``getrusage``'s ``ru_maxrss`` survives fork and exec, so
    a child started by a big parent would report the parent's size.)
    """
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


Stages = dict[str, tuple[float, dict[str, float]]]


# --------------------------------------------------------------------------- the analysis


def run_coachstats(df: pd.DataFrame) -> Stages:
    """The analysis through coachstats' public API (:func:`run_coachstats_rows` without the rows)."""
    return run_coachstats_rows(df)[0]


def run_coachstats_rows(df: pd.DataFrame) -> tuple[Stages, pd.DataFrame]:
    """The analysis through coachstats' public API, and the rows it analysed."""
    from coachstats import HCPC_GOALS, derive_endpoints
    from coachstats.compare.models import gee, linear, logistic
    from coachstats.compare.proportions import chi_square

    out: Stages = {}
    data = df.rename(columns=RENAME).astype({"diabetes": bool})

    used = ["arm", "clinic", *COVS, "composite_any", "change_hba1c"]

    t, ep = timed(lambda: derive_endpoints(data, HCPC_GOALS))
    out["endpoints"] = (t, {"events": float(ep["composite_any"].sum())})
    # the patients analysed (uncontrolled on a measure), with the columns used
    t, s = timed(lambda: ep.loc[ep["n_uncontrolled"].to_numpy() > 0, used])
    out["select"] = (t, {"n_analysed": float(len(s))})
    t, r = timed(lambda: chi_square(s, "composite_any"))
    out["chisq"] = (t, {"p": r.p_value})
    t, r = timed(lambda: logistic(s, "composite_any", covariates=COVS, fixed_effects="clinic"))
    # std_error of an odds ratio is on the log scale, like statsmodels bse of the coefficient
    out["logit_adj"] = (t, {"or": r.estimate, "se": r.std_error, "p": r.p_value})
    t, r = timed(lambda: logistic(s, "composite_any", covariates=COVS, cluster="clinic"))
    out["logit_cluster"] = (t, {"or": r.estimate, "se": r.std_error, "p": r.p_value})
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
    out["gee_exch"] = (t, {"or": r.estimate, "se": r.std_error, "p": r.p_value})
    t, r = timed(lambda: linear(s, "change_hba1c", covariates=["hba1c_0", "age", "female"]))
    out["ancova"] = (t, {"diff": r.estimate, "se": r.std_error, "p": r.p_value})
    return out, s


def run_baseline(df: pd.DataFrame) -> Stages:
    """The baseline script's steps (statsmodels formulas), timed the same way."""
    import scipy.stats as st
    import statsmodels.formula.api as smf

    out: Stages = {}
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
    out["endpoints"] = (time.perf_counter() - t0, {"events": float(df.comp_any.sum())})
    t, s = timed(lambda: df[df.any_unc])
    out["select"] = (t, {"n_analysed": float(len(s))})
    t, chi = timed(
        lambda: st.chi2_contingency(pd.crosstab(s.arm, s.comp_any).values, correction=False)
    )
    out["chisq"] = (t, {"p": float(chi.pvalue)})
    f = "comp_any ~ C(arm) + age + female + diabetes + a1c_0"
    t, m = timed(lambda: smf.logit(f + " + C(clinic)", data=s).fit(disp=0))
    # statsmodels' reference arm is coaching (alphabetical): invert to coaching vs usual care
    out["logit_adj"] = (t, _arm_effect(m, ratio=True))
    t, m2 = timed(
        lambda: smf.logit(f, data=s).fit(
            disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(s.clinic)[0]}
        )
    )
    out["logit_cluster"] = (t, _arm_effect(m2, ratio=True))
    t, g = timed(lambda: _sm_gee_exch(f, s))
    out["gee_exch"] = (t, _arm_effect(g, ratio=True))
    t, o = timed(lambda: smf.ols("I(a1c_12 - a1c_0) ~ C(arm) + a1c_0 + age + female", data=s).fit())
    out["ancova"] = (t, _arm_effect(o, ratio=False))
    return out


def _arm_effect(model: Any, ratio: bool) -> dict[str, float]:
    """Coaching vs usual care from a statsmodels fit whose reference arm is coaching."""
    b, se, p = float(model.params.iloc[1]), float(model.bse.iloc[1]), float(model.pvalues.iloc[1])
    if ratio:
        return {"or": float(np.exp(-b)), "se": se, "p": p}
    return {"diff": -b, "se": se, "p": p}


def _sm_gee_exch(formula: str, data: pd.DataFrame) -> Any:
    """statsmodels' binomial GEE, exchangeable within clinic, fitted with its defaults."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    return smf.gee(
        formula,
        groups="clinic",
        data=data,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Exchangeable(),
    ).fit()


def _compared(
    stage: str,
    n: int,
    clinics: int,
    t_cs: float,
    t_bl: float,
    absd: float,
    rel: float,
    note: str | None = None,
) -> dict[str, Any]:
    """A row comparing coachstats with a baseline: times, their ratio, largest differences."""
    row: dict[str, Any] = {
        "stage": stage,
        "n": n,
        "clinics": clinics,
        "coachstats_s": t_cs,
        "baseline_s": t_bl,
        "ratio": t_bl / t_cs,
        "max_abs_diff": absd,
        "max_rel_diff": rel,
    }
    if note is not None:
        row["note"] = note
    return row


def differences(a: dict[str, float], b: dict[str, float]) -> tuple[float, float]:
    """Largest absolute and relative differences over the common keys."""
    keys = sorted(set(a) & set(b))
    if not keys:
        return float("nan"), float("nan")
    absd = [abs(a[k] - b[k]) for k in keys]
    rel = [abs(a[k] - b[k]) / max(abs(b[k]), 1e-300) for k in keys]
    return max(absd), max(rel)


#: The four model fits compared in the issue's target (>= 20x statsmodels in one run).
FOUR = ("logit_adj", "logit_cluster", "gee_exch", "ancova")


def load() -> float:
    """The 1-minute load average (other jobs on the shared cores), recorded with every figure."""
    return round(os.getloadavg()[0], 2)


def _keep_fastest(best: Stages, new: Stages) -> None:
    """Keep, stage by stage, the fastest of the repetitions (the one least slowed by others)."""
    for stage, (t, est) in new.items():
        if stage not in best or t < best[stage][0]:
            best[stage] = (t, est)


def _row(
    stage: str, n: int, cs: tuple[float, dict[str, float]], other: Any = None
) -> dict[str, Any]:
    """A table row: coachstats' time, and the other side's with the ratio and largest differences."""
    row: dict[str, Any] = {"stage": stage, "n": n, "coachstats_s": cs[0]}
    if other is not None:
        absd, rel = differences(cs[1], other[1])
        row.update(
            baseline_s=other[0],
            ratio=other[0] / cs[0] if cs[0] > 0 else float("inf"),
            max_abs_diff=absd,
            max_rel_diff=rel,
        )
    return row


#: The tools compared in the main table, each timed in a process of its own.
SIDES = ("coachstats", "statsmodels", "pyfixest")


def side_child(side: str, n: int) -> dict[str, Any]:
    """One tool's steps on the data of ``n`` patients, in this (fresh) process.

    Each side first runs its steps on 2,000 rows (imports, caches, JIT
    compilation outside the timings), then on all rows. coachstats also
    times the FE logit's sufficient-statistics bound (:func:`peers.fe_logit_bound`);
    pyfixest gets the rows coachstats analyses (derived untimed).
    """
    from peers import fe_logit_bound, pyfixest_frame, run_pyfixest

    df = make_data(n)
    out: dict[str, Any] = {}
    if side == "coachstats":
        run_coachstats_rows(df.head(2000))
        stages, analysed = run_coachstats_rows(df)
        out["bound"] = fe_logit_bound(analysed)
    elif side == "statsmodels":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the 2,000-row warm-up may not converge cleanly
            run_baseline(df.head(2000))
        stages = run_baseline(df)
    else:
        _, analysed = run_coachstats_rows(df)
        frame = pyfixest_frame(analysed)
        run_pyfixest(frame.head(2000))
        stages = run_pyfixest(frame)
    out["stages"] = {k: [t, est] for k, (t, est) in stages.items()}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _run_side(side: str, n: int) -> dict[str, Any]:
    """:func:`side_child` in a fresh process (nothing left running from another tool)."""
    done = subprocess.run(
        [sys.executable, __file__, "--side", side, "--n", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def compare_sizes(
    sizes: list[int],
    skip_baseline: Callable[[int], bool],
    *,
    reps: int = 1,
    peers: bool = False,
) -> list[dict[str, Any]]:
    """The main table: every stage at every size, each tool in a process of its own.

    ``reps`` repetitions are interleaved (coachstats, statsmodels, pyfixest,
    then again: every tool sees the same load), and each stage keeps its
    fastest repetition; the load average is recorded before and after. In
    one process, a tool ran slower after another (pyfixest's threads made
    the FE logit that followed it 1.5 times slower), so none shares one.
    ``peers`` adds pyfixest (when installed) and the FE logit's
    sufficient-statistics bound.
    """
    from peers import have_pyfixest

    with_pyfixest = peers and have_pyfixest()
    if peers and not with_pyfixest:
        print(
            "pyfixest is not installed (pip install coachstats[bench]): left out", file=sys.stderr
        )
    rows: list[dict[str, Any]] = []
    for n in sizes:
        sides = ["coachstats"]
        if not skip_baseline(n):
            sides.append("statsmodels")
        if with_pyfixest:
            sides.append("pyfixest")
        before = load()
        best: dict[str, Stages] = {side: {} for side in sides}
        bound: dict[str, float] | None = None
        for _ in range(reps):
            for side in sides:
                res = _run_side(side, n)
                _keep_fastest(best[side], {k: (t, e) for k, (t, e) in res["stages"].items()})
                if "bound" in res and (bound is None or res["bound"]["bound_s"] < bound["bound_s"]):
                    bound = res["bound"]
        cs, bl, pf = best["coachstats"], best.get("statsmodels", {}), best.get("pyfixest", {})
        loads = {"load_before": before, "load_after": load(), "reps": reps}
        size_rows = [_row(stage, n, cs[stage], bl.get(stage)) for stage in cs]
        four = (sum(cs[s][0] for s in FOUR), cs["ancova"][1])
        four_bl = (sum(bl[s][0] for s in FOUR), bl["ancova"][1]) if bl else None
        size_rows.append(_row("four analyses", n, four, four_bl))
        total = (sum(v[0] for v in cs.values()), {})
        tot_row = _row("TOTAL", n, total, (sum(v[0] for v in bl.values()), {}) if bl else None)
        if bl:
            tot_row["max_rel_diff"] = max(r["max_rel_diff"] for r in size_rows)
            four_row = size_rows[-1]
            four_row["max_rel_diff"] = max(
                r["max_rel_diff"] for r in size_rows if r["stage"] in FOUR
            )
            four_row["max_abs_diff"] = max(
                r["max_abs_diff"] for r in size_rows if r["stage"] in FOUR
            )
        size_rows.append(tot_row)
        for stage, other in pf.items():
            size_rows.append(_row(f"pyfixest: {stage}", n, cs[stage], other))
        if peers and bound is not None:
            size_rows.append(
                {
                    "stage": "logit_adj / sufficient-statistics bound",
                    "n": n,
                    "coachstats_s": cs["logit_adj"][0],
                    "bound_s": bound["bound_s"],
                    "passes": bound["passes"],
                    "times_bound": cs["logit_adj"][0] / bound["bound_s"],
                }
            )
        rows += [{**r, **loads} for r in size_rows]
    return rows


# --------------------------------------------------------------------------- clusters


def run_clusters(
    n: int, clinics: int, ref_n: int, ref_clinics: int, lme4: bool
) -> list[dict[str, Any]]:
    """Many clinics: clinic FE logistic, GEE and the random-intercept LMM.

    statsmodels' dummy-variable logit cannot hold ``n x clinics`` dummies, so
    its estimates are compared at ``ref_n`` patients in ``ref_clinics``; its GEE
    and MixedLM run at full size. With ``lme4`` and Rscript installed, lme4
    fits the LMM on the same data too.
    """
    import statsmodels.formula.api as smf

    from coachstats import HCPC_GOALS, derive_endpoints
    from coachstats.compare.models import gee, logistic, mixed

    rows: list[dict[str, Any]] = []

    def analysed(size: int, n_clinics: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        df = make_data(size, clinics=n_clinics, clinic_sd=0.4)
        ep = derive_endpoints(df.rename(columns=RENAME).astype({"diabetes": bool}), HCPC_GOALS)
        keep = ep["n_uncontrolled"].to_numpy() > 0
        return ep[keep], df[keep].assign(comp_any=ep["composite_any"][keep].astype(int))

    s, raw = analysed(n, clinics)
    f = "comp_any ~ C(arm) + age + female + diabetes + a1c_0"

    def fe_logit(data: pd.DataFrame) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return logistic(data, "composite_any", covariates=COVS, fixed_effects="clinic")

    t_cs, r = timed(lambda: fe_logit(s))
    rows.append(
        {
            "stage": "logit_fe",
            "n": n,
            "clinics": clinics,
            "coachstats_s": t_cs,
            "baseline_s": float("nan"),
            "note": f"statsmodels: {len(s)} x {clinics} dense dummies, not attempted",
        }
    )
    # reference size: statsmodels dummies on the rows coachstats keeps
    s_ref, raw_ref = analysed(ref_n, ref_clinics)
    t_cs_ref, r_ref = timed(lambda: fe_logit(s_ref))
    events = raw_ref.groupby("clinic")["comp_any"].agg(["sum", "count"])
    ok = events.index[(events["sum"] > 0) & (events["sum"] < events["count"])]
    kept = raw_ref[raw_ref["clinic"].isin(ok)]
    t_bl, m = timed(lambda: smf.logit(f + " + C(clinic)", data=kept).fit(disp=0, maxiter=100))
    absd, rel = differences(
        {"or": r_ref.estimate, "se": r_ref.std_error, "p": r_ref.p_value},
        _arm_effect(m, ratio=True),
    )
    rows.append(
        _compared("logit_fe (reference size)", ref_n, ref_clinics, t_cs_ref, t_bl, absd, rel)
    )

    t_cs, r = timed(
        lambda: gee(s, "composite_any", covariates=COVS, cluster="clinic", moment_df="n-p")
    )
    t_bl, g = timed(lambda: _sm_gee_exch(f, raw))
    absd, rel = differences(
        {"or": r.estimate, "se": r.std_error, "p": r.p_value}, _arm_effect(g, ratio=True)
    )
    rows.append(_compared("gee_exch", n, clinics, t_cs, t_bl, absd, rel))

    # random-intercept LMM on every patient: change in HbA1c ~ arm + baseline + age + female
    full = make_data(n, clinics=clinics, clinic_sd=0.4)
    full["change"] = full["a1c_12"] - full["a1c_0"]
    t_cs, r = timed(
        lambda: mixed(full, "change", covariates=["a1c_0", "age", "female"], cluster="clinic")
    )
    ours = {
        "diff": r.estimate,
        "var_clinic": r.extra["var_cluster"],
        "var_residual": r.extra["var_residual"],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_bl, lm = timed(
            lambda: smf.mixedlm(
                "change ~ C(arm, Treatment('usual_care')) + a1c_0 + age + female",
                full,
                groups="clinic",
            ).fit(reml=True)  # its defaults, as a researcher runs it
        )
    theirs = {
        "diff": float(lm.params.iloc[1]),
        "var_clinic": float(lm.cov_re.iloc[0, 0]),
        "var_residual": float(lm.scale),
    }
    absd, rel = differences(ours, theirs)
    rows.append(
        _compared(
            "mixed_reml (statsmodels MixedLM)",
            n,
            clinics,
            t_cs,
            t_bl,
            absd,
            rel,
            note="REML estimates: arm effect, clinic and residual variances",
        )
    )
    if lme4 and shutil.which("Rscript"):
        rows += _lme4_rows(full, ours, t_cs, n, clinics)
    return rows


_LME4 = r"""
suppressMessages(library(lme4)); library(jsonlite)
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$arm <- factor(d$arm, levels = c("usual_care", "coaching"))
fit <- function() {
  t0 <- proc.time()[["elapsed"]]
  m <- lmer(change ~ arm + a1c_0 + age + female + (1 | clinic), data = d, REML = TRUE)
  list(m = m, seconds = proc.time()[["elapsed"]] - t0)
}
first <- fit()  # the first call in the session (lme4's own first-use costs included)
warm <- fit()   # the same fit again, warm
m <- warm$m
vc <- as.data.frame(VarCorr(m))
cat(toJSON(list(seconds = first$seconds, seconds_warm = warm$seconds,
                diff = unname(fixef(m)[2]), var_clinic = vc$vcov[1],
                var_residual = vc$vcov[2]), digits = 15, auto_unbox = TRUE))
"""


def _lme4_rows(
    full: pd.DataFrame, ours: dict[str, float], t_cs: float, n: int, clinics: int
) -> list[dict[str, Any]]:
    """lme4's fit on the same data: its first call in the R session, and the same fit warm."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "lmm.csv"
        script = Path(tmp) / "lmm.R"
        full[["change", "arm", "a1c_0", "age", "female", "clinic"]].to_csv(csv, index=False)
        script.write_text(_LME4)
        out = subprocess.run(
            ["Rscript", str(script), str(csv)], capture_output=True, text=True, check=True
        )
    res = json.loads(out.stdout)
    absd, rel = differences(ours, {k: float(res[k]) for k in ours})
    return [
        _compared(
            f"mixed_reml (R lme4::lmer, {which})",
            n,
            clinics,
            t_cs,
            float(res[key]),
            absd,
            rel,
            note=f"lmer fit time only, {which} in the R session (not reading the CSV)",
        )
        for which, key in (("first call", "seconds"), ("warm", "seconds_warm"))
    ]


# --------------------------------------------------------------------------- parquet


def parquet_plan() -> Any:
    """The benchmark analysis as an AnalysisPlan (what run_plan and stream.analyze run)."""
    from coachstats.plan import AnalysisPlan, AnalysisSpec

    covs = tuple(COVS)
    return AnalysisPlan(
        [
            AnalysisSpec("composite_any", "chi_square", label="chisq"),
            AnalysisSpec(
                "composite_any",
                "logistic",
                label="logit_adj",
                covariates=covs,
                options={"fixed_effects": "clinic"},
            ),
            AnalysisSpec(
                "composite_any",
                "logistic",
                label="logit_cluster",
                covariates=covs,
                cluster="clinic",
            ),
            AnalysisSpec(
                "composite_any",
                "gee",
                label="gee_exch",
                covariates=covs,
                cluster="clinic",
                options={"moment_df": "n-p"},
            ),
            AnalysisSpec(
                "change_hba1c",
                "linear",
                label="ancova",
                covariates=("hba1c_0", "age", "female"),
                subset="n_uncontrolled > 0",
            ),
        ],
        goals="hcpc",
    )


def write_parquet(n: int, path: Path, row_group: int = 1_000_000) -> None:
    """The benchmark data as a Parquet file, written ``row_group`` rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = make_data(n).astype({"diabetes": bool})
    table = pa.Table.from_pandas(df, preserve_index=False)
    del df
    pq.write_table(table, path, row_group_size=row_group)


def child(mode: str, path: str, batch_size: int) -> None:
    """Run in a fresh process: the plan streamed or in memory; print time, peak RSS, results."""
    from coachstats.engines.stream import analyze_parquet
    from coachstats.plan import run_plan

    plan = parquet_plan()
    base_rss = peak_rss_mb()
    t0 = time.perf_counter()
    if mode == "stream":
        res = analyze_parquet(path, plan, columns=RENAME, batch_size=batch_size)
    else:
        data = pd.read_parquet(path).rename(columns=RENAME)
        res = run_plan(data, plan)
    seconds = time.perf_counter() - t0
    est = {
        f"{r.outcome}:{label}:{k}": float(getattr(r, k))
        for label, r in zip((s.label for s in plan), res.results, strict=True)
        if r is not None
        for k in ("estimate", "std_error", "p_value")
    }
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
                "import_rss_mb": base_rss,
                "est": est,
            }
        )
    )


def run_parquet(n: int, batch_size: int, keep: bool, in_memory: bool) -> list[dict[str, Any]]:
    """Write the data to Parquet; analyse it streamed (and in memory) in fresh processes."""
    tmp = Path(os.environ.get("COACHSTATS_BENCH_DIR", tempfile.gettempdir()))
    path = tmp / f"coachstats_bench_{n}.parquet"
    if not path.exists():
        t, _ = timed(lambda: write_parquet(n, path))
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {t:.0f} s", file=sys.stderr)
    runs = {}
    before = load()
    for mode in ("stream", "memory") if in_memory else ("stream",):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(path), "--batch-size", str(batch_size)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    rows = []
    for mode, r in runs.items():
        row: dict[str, Any] = {
            "stage": f"whole analysis ({'streamed' if mode == 'stream' else 'in memory'})",
            "n": n,
            "coachstats_s": r["seconds"],
            "peak_rss_mb": r["peak_rss_mb"],
            "batch_size": batch_size if mode == "stream" else None,
            "load_before": before,
            "load_after": load(),
        }
        if mode == "stream" and "memory" in runs:
            absd, rel = differences(r["est"], runs["memory"]["est"])
            row.update(max_abs_diff=absd, max_rel_diff=rel)
        rows.append(row)
    if not keep:
        path.unlink()
    return rows


# --------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    """CPU, cores, memory and versions of the machine the benchmark ran on."""
    import scipy
    import statsmodels

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
    }
    for name in ("pyarrow", "pyfixest"):
        if importlib.util.find_spec(name) is not None:
            info[name] = importlib.import_module(name).__version__
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        info["cpu"] = fields.get("Model name", "").strip()
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = platform.processor()
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return info


def print_table(rows: list[dict[str, Any]]) -> None:
    table = pd.DataFrame(rows)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        print(table.to_string(index=False))


def command() -> str:
    """The command line that produced a result (recorded in its JSON and shown in the docs)."""
    return "python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def write_json(path: Path, mode: str, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "mode": mode,
        "command": command(),
        "date": time.strftime("%Y-%m-%d"),
        "load_end": load(),
        "machine": machine(),
        "peak_rss_mb": peak_rss_mb(),
        "rows": rows,
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, default=float)
    print(f"wrote {path}", file=sys.stderr)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)


def plot_growth(rows: list[dict[str, Any]], path: Path) -> None:
    """Log-log seconds vs n: coachstats and statsmodels totals, with a slope-1 guide."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tot = pd.DataFrame([r for r in rows if r["stage"] == "TOTAL"])
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog(tot["n"], tot["coachstats_s"], "o-", label="coachstats (whole analysis)")
    if "baseline_s" in tot:
        b = tot.dropna(subset=["baseline_s"])
        ax.loglog(b["n"], b["baseline_s"], "s--", label="pandas + statsmodels")
    n0, t0 = float(tot["n"].iloc[-1]), float(tot["coachstats_s"].iloc[-1])
    ns = np.array([float(tot["n"].iloc[0]), n0])
    ax.loglog(ns, t0 * ns / n0, ":", color="grey", label="linear in n")
    ax.set_xlabel("patients")
    ax.set_ylabel("seconds (wall clock)")
    ax.set_title("Time of the HCPC primary analysis")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    _save(fig, path)


def plot_memory(rows: list[dict[str, Any]], path: Path) -> None:
    """Peak RSS of the whole analysis, in memory vs streamed from Parquet (GiB, binary)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = [f"{r['stage'].split('(')[1].rstrip(')')}\nn = {r['n']:.0e}" for r in rows]
    values = [r["peak_rss_mb"] / 1024 for r in rows]
    ax.barh(
        labels, values, color=["tab:blue" if "streamed" in lab else "tab:grey" for lab in labels]
    )
    target = 1.5e9 / 2**30  # issue 22: streaming under 1.5 GB
    ax.axvline(target, color="tab:red", ls="--", label=f"1.5 GB ({target:.2f} GiB) target")
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f} GiB", va="center")
    ax.set_xlabel("peak resident memory (GiB)")
    ax.set_xlim(0, max(values) * 1.25)
    ax.legend(loc="lower right")
    _save(fig, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=float, action="append", help="patients (repeatable); default 1e5")
    ap.add_argument("--quick", action="store_true", help="1e4 and 1e5 only")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--json", type=str, default=None, help="write the rows as JSON")
    ap.add_argument(
        "--growth", action="store_true", help="1e4 .. 1e7 (baseline up to --baseline-max)"
    )
    ap.add_argument("--baseline-max", type=float, default=1e6)
    ap.add_argument("--plot", type=str, default=None, help="growth / memory plot (PNG)")
    ap.add_argument("--clusters", type=int, default=None, help="clinics (e.g. 5000)")
    ap.add_argument("--ref-n", type=float, default=5e4, help="statsmodels FE-logit size")
    ap.add_argument("--ref-clinics", type=int, default=1000)
    ap.add_argument("--no-lme4", action="store_true", help="skip the lme4 comparison")
    ap.add_argument("--parquet", type=float, default=None, help="patients in the Parquet file")
    ap.add_argument("--batch-size", type=int, default=500_000)
    ap.add_argument("--no-memory", action="store_true", help="parquet: skip the in-memory run")
    ap.add_argument("--keep", action="store_true", help="parquet: keep the file")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions (fastest kept)")
    ap.add_argument("--cli", type=float, default=None, help="the commands at this many patients")
    ap.add_argument("--docs", action="store_true", help="rewrite docs/performance.md's tables")
    ap.add_argument("--no-peers", action="store_true", help="leave out pyfixest and the bound")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.side:
        print(json.dumps(side_child(args.side, int(args.n[0])), default=float))
        return 0

    if args.child:
        child(args.child[0], args.child[1], args.batch_size)
        return 0
    if args.docs:
        from docs_tables import regenerate

        print("rewrote:", ", ".join(regenerate()) or "nothing", file=sys.stderr)
        return 0
    if args.cli:
        from cli_bench import run_cli_bench

        rows = run_cli_bench(int(args.cli), reps=args.reps)
        print_table(rows)
        write_json(Path(args.json or RESULTS / "cli.json"), "cli", rows)
        return 0
    if args.parquet:
        rows = run_parquet(int(args.parquet), args.batch_size, args.keep, not args.no_memory)
        print_table(rows)
        write_json(Path(args.json or RESULTS / "parquet.json"), "parquet", rows)
        plot_memory(rows, Path(args.plot or IMG / "performance_memory.png"))
        return 0
    if args.clusters:
        n = int(args.n[0]) if args.n else 1_000_000
        before = load()
        rows = run_clusters(
            n, args.clusters, int(args.ref_n), args.ref_clinics, lme4=not args.no_lme4
        )
        rows = [{**r, "load_before": before, "load_after": load()} for r in rows]
        print_table(rows)
        write_json(Path(args.json or RESULTS / "clusters.json"), "clusters", rows)
        return 0
    if args.growth:
        sizes = [10_000, 100_000, 1_000_000, 10_000_000]
        rows = compare_sizes(
            sizes, lambda n: args.skip_baseline or n > args.baseline_max, reps=args.reps
        )
        print_table(rows)
        write_json(Path(args.json or RESULTS / "growth.json"), "growth", rows)
        plot_growth(rows, Path(args.plot or IMG / "performance_growth.png"))
        return 0
    sizes = [int(x) for x in (args.n or ([1e4, 1e5] if args.quick else [1e5]))]
    rows = compare_sizes(
        sizes, lambda n: args.skip_baseline, reps=args.reps, peers=not args.no_peers
    )
    print_table(rows)
    print(
        f"peak RSS {peak_rss_mb():.0f} MiB; python {platform.python_version()}; {platform.machine()}"
    )
    default = RESULTS / "speed.json" if args.n and not args.quick else None
    target = Path(args.json) if args.json else default
    if target is not None:
        write_json(target, "sizes", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
