"""Peers of the engine in benchmarks/run.py: pyfixest with absorbed fixed effects, and the bound.

- :func:`run_pyfixest`: the steps of the HCPC analysis pyfixest can do (FE
  logit with the clinic effects absorbed, ``| clinic``; cluster-robust logit,
  CRV1 by clinic; the ANCOVA by OLS), on the rows coachstats analyses, with
  the small-sample factors set to those of statsmodels / R (``ssc(adj=False)``
  for the FE logit's model-based SEs, the default for the others), so the
  numbers agree to 1e-6.
- :func:`fe_logit_bound`: what the FE logit cannot beat: its Newton steps on
  sufficient statistics alone (per step one pass over the rows for
  :math:`X^\\top W X`, :math:`X^\\top r` and the per-clinic sums, by the
  engine's own pass), timed on the prepared design, without reading the
  frame, coding the clinics, building the design or the result. The FE
  logit, from the DataFrame to its result, is judged against this bound.

pyfixest is optional (``pip install coachstats[bench]``); without it its
rows are left out and said so.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

COVS = ["age", "female", "diabetes", "hba1c_0"]
Stages = dict[str, tuple[float, dict[str, float]]]


def have_pyfixest() -> bool:
    """Whether pyfixest is installed (the ``bench`` extra)."""
    return importlib.util.find_spec("pyfixest") is not None


def pyfixest_frame(s: pd.DataFrame) -> pd.DataFrame:
    """The analysed rows with a 0/1 coaching column (pyfixest's formulas take numbers)."""
    return pd.DataFrame(
        {
            "comp_any": s["composite_any"].astype(float).to_numpy(),
            "chg": s["change_hba1c"].to_numpy(dtype=float),
            "coach": (s["arm"] == "coaching").to_numpy(dtype=float),
            "age": s["age"].to_numpy(dtype=float),
            "female": s["female"].to_numpy(dtype=float),
            "diabetes": s["diabetes"].to_numpy(dtype=float),
            "hba1c_0": s["hba1c_0"].to_numpy(dtype=float),
            "clinic": s["clinic"].astype(str).to_numpy(),
        }
    )


def _effect(model: Any, ratio: bool) -> dict[str, float]:
    """Coaching vs usual care: odds ratio (or difference), SE on the model scale, P when > 0."""
    b, se, p = (float(x["coach"]) for x in (model.coef(), model.se(), model.pvalue()))
    out = {"or": float(np.exp(b))} if ratio else {"diff": b}
    out["se"] = se
    if p > 0:  # pyfixest prints P below its floating-point floor as 0: compared only above it
        out["p"] = p
    return out


def run_pyfixest(frame: pd.DataFrame) -> Stages:
    """The steps pyfixest can do, timed as :func:`run.run_coachstats` times ours."""
    import pyfixest as pf

    out: Stages = {}
    f = "comp_any ~ coach + age + female + diabetes + hba1c_0"
    iid = pf.ssc(adj=False, cluster_adj=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        m = pf.feglm(f + " | clinic", data=frame, family="logit", vcov="iid", ssc=iid)
        out["logit_adj"] = (time.perf_counter() - t0, _effect(m, ratio=True))
        t0 = time.perf_counter()
        m = pf.feglm(f, data=frame, family="logit", vcov={"CRV1": "clinic"})
        out["logit_cluster"] = (time.perf_counter() - t0, _effect(m, ratio=True))
        t0 = time.perf_counter()
        # OLS: pyfixest's default small-sample factor gives lm's SE exactly
        m = pf.feols("chg ~ coach + hba1c_0 + age + female", data=frame, vcov="iid")
        out["ancova"] = (time.perf_counter() - t0, _effect(m, ratio=False))
    return out


def fe_logit_bound(s: pd.DataFrame, reps: int = 3) -> dict[str, float]:
    """Seconds of the FE logit's passes over the rows alone (see module doc).

    The fit's own Newton iteration (:func:`coachstats.compare.newton.newton_steps`)
    is run on the design already built, shifted and held in memory, and only
    its requests (one pass over the rows each, by the engine's own
    :func:`~coachstats.compare.newton.newton_stats`) are timed, as one
    measurement (the fastest of ``reps``), the way the fit itself is timed.
    Returns the seconds of a pass, the passes and the bound (the seconds of
    all of them).
    """
    from coachstats.compare.design import GroupIndex, ModelRows
    from coachstats.compare.glm import fit_logistic
    from coachstats.compare.newton import initial_intercepts, newton_steps

    y = s["composite_any"].astype(float).to_numpy()
    X = np.column_stack(
        [(s["arm"] == "coaching").to_numpy(dtype=float)]
        + [s[c].to_numpy(dtype=float) for c in COVS]
    )
    groups = GroupIndex.from_values(s["clinic"])
    shift = fit_logistic(X, y, groups).newton.shift
    rows = ModelRows.from_design(X, y, groups)
    rows.shifted(shift)  # built once, as in the fit
    alpha0 = initial_intercepts(groups.sums(y), groups.counts)

    def all_passes() -> tuple[float, int]:
        steps = newton_steps(alpha0, shift, family="binomial")
        seconds, passes = 0.0, 0
        try:
            request = next(steps)
            while True:
                t0 = time.perf_counter()
                value = request(rows)
                seconds += time.perf_counter() - t0
                passes += 1
                request = steps.send(value)
        except StopIteration:
            return seconds, passes

    seconds, passes = min(all_passes() for _ in range(reps))
    return {"pass_s": seconds / passes, "passes": float(passes), "bound_s": seconds}
