"""The documented searches behind the HCPC generator's constants.

Nothing here runs when a cohort is generated: :mod:`coachstats.synthetic.hcpc`
reads the constants this module produced. Rerun it to check them or after
changing a target::

    python -m coachstats.synthetic.calibrate_hcpc design   # rewrite _hcpc_design.py
    python -m coachstats.synthetic.calibrate_hcpc check    # analyse the bundled cohort

**Design table** (:func:`solve_design`). Every randomized patient belongs to
one cell: arm x site x a pattern giving, for HbA1c, SBP and LDL, whether the
patient was uncontrolled at baseline and, if so, at goal at 12 months and at
24 months (or lost to follow-up). The cell counts are the integer solution of
a small linear program (``scipy.optimize.milp``, HiGHS) whose equality
constraints are the published and inferred counts (arm and site sizes, loss
to follow-up, every 12-month numerator and denominator of the coherent set in
``published.md``, the 24-month paired counts) and whose inequality
constraints keep the per-site shares of each uncontrolled condition inside
the range that makes the printed per-site baseline means average to the
printed overall mean. Among the many feasible tables, the objective picks one
close (L1) to an independence model (per-site prevalences, per-arm goal rates,
24-month persistence; :data:`PRIOR`) so that conditions and goals are not
artificially clustered. HiGHS stops at a 10 % relative gap, which is
deterministic; the solution is stored in ``_hcpc_design.py`` so that the
cohort never depends on the solver version.

Examples
--------
>>> pats = design_patterns()
>>> len(pats), pats[0]
(192, ('n', 'c', '??'))
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from coachstats.errors import AnalysisError
from coachstats.synthetic import hcpc

__all__ = ["PRIOR", "design_patterns", "format_design", "main", "solve_design"]

Pattern = tuple[str, str, str]
Cell = tuple[str, str, Pattern]

#: Token sets per follow-up class (see ``hcpc.DESIGN_TOKENS``).
_CLASS_TOKENS = {"lost": ("??",), "a12": ("+?", "-?"), "a24": ("++", "+-", "-+", "--")}

#: Independence model the design table is kept close to (not published; plausible values).
PRIOR = {
    "prevalence": {  # P(state) per site; h: no diabetes / controlled diabetes / uncontrolled
        "A": {"h": {"n": 0.45, "c": 0.12, "u": 0.43}, "sbp": 0.30, "ldl": 0.52},
        "B": {"h": {"n": 0.55, "c": 0.13, "u": 0.32}, "sbp": 0.72, "ldl": 0.25},
    },
    "goal": {  # P(at goal at 12 months) per arm and measure
        "coaching": {"hba1c": 0.486, "sbp": 0.475, "ldl": 0.40},
        "usual_care": {"hba1c": 0.276, "sbp": 0.43, "ldl": 0.26},
    },
    "keep_goal_24": 0.62,  # P(at goal at 24 | at goal at 12)
    "reach_goal_24": 0.30,  # P(at goal at 24 | not at goal at 12)
}

#: Allowed site-A share of all patients uncontrolled on each measure (from the per-site means).
SITE_A_SHARE = {"hba1c": (0.78, 0.82), "sbp": (0.567, 0.587), "ldl": (0.84, 0.875)}
#: Share of patients with diabetes whose HbA1c is controlled at baseline (not published).
CONTROLLED_DIABETES_SHARE = (0.20, 0.30)


def design_patterns() -> list[Pattern]:
    """Every valid (hba1c, sbp, ldl) token pattern, lost-to-follow-up patterns first.

    A token is ``n`` (no diabetes; HbA1c only), ``c`` (controlled at baseline)
    or two characters for an uncontrolled measure: 12-month and 24-month goal
    status, ``+`` at goal, ``-`` not at goal, ``?`` not measured. A patient is
    uncontrolled on at least one measure, and all uncontrolled measures share
    one follow-up class (lost, seen at 12 only, seen at 12 and 24).
    """
    out: list[Pattern] = []
    for toks in _CLASS_TOKENS.values():
        for h in ("n", "c", *toks):
            for b in ("c", *toks):
                for ldl in ("c", *toks):
                    if any(t not in ("n", "c") for t in (h, b, ldl)):
                        out.append((h, b, ldl))
    return out


def _unc(t: str) -> bool:
    return t not in ("n", "c")


def _cls(p: Pattern) -> str:
    tok = next(t for t in p if _unc(t))
    return "lost" if tok == "??" else ("a12" if tok[1] == "?" else "a24")


def _prior_count(arm: str, site: str, p: Pattern) -> float:
    nas = hcpc.RANDOMIZED[arm, site]
    lost = hcpc.LOST_12[arm, site] / nas
    analysed = sum(hcpc.RANDOMIZED[arm, s] - hcpc.LOST_12[arm, s] for s in hcpc.SITES)
    seen = hcpc.SEEN_24[arm] / analysed
    cls = _cls(p)
    pr = {"lost": lost, "a12": (1 - lost) * (1 - seen), "a24": (1 - lost) * seen}[cls]
    prev = PRIOR["prevalence"][site]  # type: ignore[index]
    goal = PRIOR["goal"][arm]  # type: ignore[index]
    for measure, t in zip(("hba1c", "sbp", "ldl"), p, strict=True):
        if measure == "hba1c":
            pr *= prev["h"][t] if t in ("n", "c") else prev["h"]["u"]
        else:
            pr *= (1 - prev[measure]) if t == "c" else prev[measure]
        if not _unc(t) or cls == "lost":
            continue
        g = goal[measure]
        pr *= g if t[0] == "+" else 1 - g
        if cls == "a24":
            q = PRIOR["keep_goal_24"] if t[0] == "+" else PRIOR["reach_goal_24"]
            pr *= q if t[1] == "+" else 1 - q  # type: ignore[operator]
    return nas * pr


def solve_design(*, gap: float = 0.10) -> dict[Cell, int]:
    """Solve the integer program for the design table (see the module docstring).

    Returns
    -------
    dict
        ``(arm, site, pattern) -> count`` for the non-empty cells.
    """
    pats = design_patterns()
    cells: list[Cell] = [(a, s, p) for a in hcpc.ARMS for s in hcpc.SITES for p in pats]
    nv = len(cells)
    prior = np.array([_prior_count(*c) for c in cells])
    for a in hcpc.ARMS:  # rescale the prior to the exact arm-site sizes
        for s in hcpc.SITES:
            idx = [i for i, c in enumerate(cells) if c[0] == a and c[1] == s]
            prior[idx] *= hcpc.RANDOMIZED[a, s] / prior[idx].sum()
    # per-cell features
    arm = np.array([c[0] for c in cells])
    site = np.array([c[1] for c in cells])
    tok = np.array([c[2] for c in cells], dtype="U2")  # (cells, 3)
    cls = np.array([_cls(c[2]) for c in cells])
    unc = (tok != "n") & (tok != "c")
    first = np.char.ljust(tok, 2).astype("U1")  # 12-month status character
    second = np.array([[t[1:2] for t in row] for row in tok])  # 24-month status character
    analysed = cls != "lost"
    goal12 = unc & (first == "+")
    goal24 = unc & (second == "+")
    any12 = goal12.any(axis=1)
    any24 = goal24.any(axis=1)
    all12 = np.all(~unc | goal12, axis=1)
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []

    def equal(mask: np.ndarray, value: int) -> None:
        rows.append(mask.astype(float))
        lo.append(value)
        hi.append(value)

    for a in hcpc.ARMS:
        in_arm = arm == a
        for s in hcpc.SITES:
            equal(in_arm & (site == s), hcpc.RANDOMIZED[a, s])
            equal(in_arm & (site == s) & (cls == "lost"), hcpc.LOST_12[a, s])
        equal(in_arm & (cls == "a24"), hcpc.SEEN_24[a])
        for (measure, at_site), counts in hcpc.GOAL_COUNTS_12.items():
            k = hcpc.MEASURE_INDEX[measure]
            num, den = counts[a]
            base = in_arm & analysed & unc[:, k] & (True if at_site is None else site == at_site)
            equal(base, den)
            equal(base & goal12[:, k], num)
        num_any, den_any = hcpc.COMPOSITE_12["any"][a]
        num_all, _ = hcpc.COMPOSITE_12["all"][a]
        equal(in_arm & analysed, den_any)
        equal(in_arm & analysed & any12, num_any)
        equal(in_arm & analysed & all12, num_all)
    f24 = hcpc.FOLLOWUP_24
    seen = (arm == f24["arm"]) & (cls == "a24")
    comp = f24["composite_any"]
    equal(seen & any12, comp["at_12"])
    equal(seen & any12 & ~any24, comp["lost_goal"])
    equal(seen & ~any12 & any24, comp["gained_goal"])
    hb = f24["at_goal_hba1c"]
    equal(seen & unc[:, 0], hb["n"])
    equal(seen & goal12[:, 0], hb["at_12"])
    equal(seen & goal12[:, 0] & ~goal24[:, 0], hb["lost_goal"])
    equal(seen & unc[:, 0] & ~goal12[:, 0] & goal24[:, 0], hb["gained_goal"])
    for measure, (w_lo, w_hi) in SITE_A_SHARE.items():
        tot = unc[:, hcpc.MEASURE_INDEX[measure]].astype(float)
        site_a = tot * (site == "A")
        rows += [site_a - w_lo * tot, site_a - w_hi * tot]
        lo += [0.0, -np.inf]
        hi += [np.inf, 0.0]
    dm = (tok[:, 0] != "n").astype(float)
    dmc = (tok[:, 0] == "c").astype(float)
    c_lo, c_hi = CONTROLLED_DIABETES_SHARE
    rows += [dmc - c_lo * dm, dmc - c_hi * dm]
    lo += [0.0, -np.inf]
    hi += [np.inf, 0.0]
    # variables: counts x, then deviations d+ and d- with x - prior = d+ - d-
    a_eq = np.hstack([np.array(rows), np.zeros((len(rows), 2 * nv))])
    a_dev = np.hstack([np.eye(nv), -np.eye(nv), np.eye(nv)])
    res = milp(
        np.concatenate([np.zeros(nv), np.ones(2 * nv)]),
        constraints=[LinearConstraint(a_eq, lo, hi), LinearConstraint(a_dev, prior, prior)],
        integrality=np.concatenate([np.ones(nv), np.zeros(2 * nv)]),
        bounds=Bounds(0, np.inf),
        options={"mip_rel_gap": gap, "disp": False},
    )
    if res.x is None:
        raise AnalysisError(f"design table: no solution ({res.message})")
    x = np.round(res.x[:nv]).astype(int)
    return {cells[i]: int(x[i]) for i in np.flatnonzero(x)}


def format_design(table: dict[Cell, int]) -> str:
    """The table as the text stored in ``_hcpc_design.py`` (one cell per line)."""
    order = {c: i for i, c in enumerate(design_patterns())}
    keys = sorted(table, key=lambda c: (hcpc.ARMS.index(c[0]), hcpc.SITES.index(c[1]), order[c[2]]))
    return "\n".join(
        f"{a:<10} {s} {p[0]:>2} {p[1]:>2} {p[2]:>2} {table[a, s, p]:>3}" for a, s, p in keys
    )


def write_design_module(path: Path | None = None) -> Path:
    """Solve the design and rewrite ``_hcpc_design.py``."""
    target = path or Path(__file__).with_name("_hcpc_design.py")
    body = format_design(solve_design())
    target.write_text(
        '"""HCPC design table, generated by ``python -m coachstats.synthetic.calibrate_hcpc design``.\n\n'
        "Do not edit by hand. Columns: arm, site, HbA1c / SBP / LDL tokens, patients.\n"
        "Tokens: n = no diabetes, c = controlled at baseline; otherwise uncontrolled with the\n"
        "goal status at 12 and 24 months (+ at goal, - not at goal, ? not measured).\n"
        '"""\n\n'
        f'DESIGN_TABLE = """\n{body}\n"""\n'
    )
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``design`` rewrites the design table module."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["design"]:
        print(write_design_module())
        return 0
    print("usage: python -m coachstats.synthetic.calibrate_hcpc design")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
