"""The registry's published values in structured form (coachstats.trials.values / .effects).

Three kinds of check:

1. **Against the papers.** The numbers are the ones printed in
   ../shared/published.md, copied here by hand (not from the registry), with
   what each one is: printed, inferred by hand (not published) or computed.
2. **Against what evaluate derives today.** ``evaluate.published_outcome`` and
   ``PublishedOutcome.effect`` re-parse the printed strings with their own
   regular expressions; the structured values must give the same numbers for
   every benchmark, estimand and SE source, so that evaluate can read them
   from the registry instead. The arithmetic is the same, so the numbers are
   compared exactly (the SE from a P to 1e-15 relative: the same formula
   through ``scipy.special.ndtri`` instead of ``scipy.stats.norm.isf``, which
   calls it).
3. **Derivations** (SE from a CI, n from events and a percentage, arms
   combined) by hand arithmetic.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.compare.summaries import pooled_sd
from coachstats.errors import AnalysisError, OptionError
from coachstats.evaluate import BENCHMARKS, published_outcome, se_from_p
from coachstats.trials import (
    PrintedP,
    Target,
    get_trial,
    list_trials,
    load_trial_file,
    published_effect,
    published_effects,
)
from coachstats.trials.effects import SE_SOURCES
from coachstats.trials.values import Count, Mean, Proportion, published_value

Z975 = 1.959963984540054  # qnorm(0.975)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --------------------------------------------------------------------------- 1. the papers

#: key -> (trial, target, coaching, usual care), as printed in published.md
PLANNING = {
    "hcpc_composite": ("hcpc", "composite_any", 0.464, 0.343),
    "hcpc_all_goals": ("hcpc", "composite_all", 0.340, 0.247),
    "hcpc_hba1c_goal": ("hcpc", "hba1c_goal", 0.486, 0.276),
    "hcpc_ldl_goal_site_a": ("hcpc", "ldl_goal_site_a", 0.418, 0.254),
    "hcpc_recommend_clinic": ("hcpc_pacic", "recommend_12", 0.85, 0.73),
    "peer_hba1c_change": ("peer", "hba1c_change", -1.07, -0.30),
    "peer_hba1c_drop": ("peer", "hba1c_drop", 0.496, 0.315),
    "peer_hba1c_below_7_5": ("peer", "hba1c_lt_7_5", 0.220, 0.149),
    "peer_ldl_change": ("peer", "ldl_change", -3.9, -3.0),
    "peer_sbp_change": ("peer", "sbp_change", 1.4, -4.3),
}
#: key -> (SD, n) per arm, as printed (means only)
MEAN_SD_N = {
    "peer_hba1c_change": ((2.8, 122), (3.1, 114)),  # n: the complete cases, printed separately
    "peer_ldl_change": ((41.4, 107), (52.7, 96)),
    "peer_sbp_change": ((22.3, 128), (26.0, 123)),
}


def test_the_planning_inputs_are_the_printed_figures() -> None:
    assert [e.key for e in published_effects()] == list(PLANNING)
    for key, (trial, target, a, b) in PLANNING.items():
        e = published_effect(key)
        assert (e.trial, e.target) == (trial, target)
        if key in MEAN_SD_N:
            (s1, n1), (s2, n2) = MEAN_SD_N[key]
            assert e.kind == "means" and e.values == (a, b) and e.delta == a - b
            assert e.sds == (s1, s2) and e.n == (n1, n2)
            assert e.sd == pooled_sd(s1, n1, s2, n2)
            assert math.isnan(e.p1) and math.isnan(e.p2)
        else:
            assert e.kind == "proportions" and (e.p1, e.p2) == (a, b)
            assert math.isnan(e.delta) and math.isnan(e.sd)
        assert e.source.startswith(get_trial(trial).citation.text())


def test_each_number_says_whether_it_was_printed_inferred_or_computed() -> None:
    # HCPC: percentages printed, counts inferred from the chi-square arithmetic (not published)
    c, u = get_trial("hcpc").published_values("composite_any")
    assert isinstance(c, Proportion) and isinstance(u, Proportion)
    assert c.origins["share"].derivation == "printed"
    assert (c.events, c.n, u.events, u.n) == (90, 194, 61, 178)
    assert c.origins["events"].derivation == c.origins["n"].derivation == "inferred"
    assert c.counts() is None and c.counts(inferred=True) == (90, 194)
    # peer: "60/121 (49.6 %)" prints everything
    c, _ = get_trial("peer").published_values("hba1c_drop")
    assert isinstance(c, Proportion) and (c.events, c.n, c.share) == (60, 121, 0.496)
    assert {o.derivation for o in c.origins.values()} == {"printed"}
    # "27 (22.0 %)": events and share printed, n computed (27/123 is the only fit)
    c, u = get_trial("peer").published_values("hba1c_lt_7_5")
    assert isinstance(c, Proportion) and isinstance(u, Proportion)
    assert (c.n, u.n) == (123, 114) and c.origins["n"].derivation == "computed"
    # "-1.07 (2.8)": mean and SD printed here, n printed as the complete cases
    c, _ = get_trial("peer").published_values("hba1c_change")
    assert isinstance(c, Mean) and (c.mean, c.sd, c.n) == (-1.07, 2.8, 122)
    assert c.origins["n"].derivation == "printed" and "complete_case" in c.origins["n"].detail
    # a count, and a value not printed
    (n,) = get_trial("hcpc_pacic").published_values("n_both")
    assert isinstance(n, Count) and n.n == 366
    assert get_trial("hcpc").published_values("sbp_goal") == (None, None)


def test_every_figure_has_its_location() -> None:
    """Each printed figure says where it was printed (issue 18): the abstract where the
    abstract prints it, the practice brief, or the full text when the table is not known."""
    trust = get_trial("hcpc_trust")
    assert trust.target("trust_change").location == {
        "values": "abstract",
        "p": "abstract; practice brief",
    }
    assert trust.effect("trust_change").estimate("mean difference").origins["p"].location == (
        "abstract; practice brief"
    )
    (c, _) = trust.published_values("recommend_pcp_change")
    assert c is not None and c.origins["share"].location == "practice brief"
    for trial in list_trials():
        for t in get_trial(trial).targets:
            printed = [f for f, text in (("values", t.values), ("p", t.p)) if any(text)]
            assert all(t.location.get(f) for f in printed), (trial, t.id, dict(t.location))
    # the figures of the abstracts, as the abstracts print them (checked by hand against
    # PubMed and the journals' pages)
    abstract = {
        ("hcpc", "composite_any"),
        ("hcpc_adherence", "concordant"),
        ("hcpc_pacic", "recommend_12"),
        ("hcpc_clinician", "demanding"),
        ("hcpc_24", "hba1c_goal_24"),
        ("hcpc_trust", "trust_change_adj"),
        ("peer", "coaches"),
    }
    for trial, tid in abstract:
        assert get_trial(trial).target(tid).location["p" if tid != "coaches" else "values"] == (
            "abstract"
        )


def test_printed_differences_as_estimates() -> None:
    adh = get_trial("hcpc_adherence")
    e = adh.target("concordant").published_difference()
    assert e is not None and e.estimate == 0.10 and e.p.text == ".05"
    assert e.origins["estimate"].derivation == "printed"
    assert e.std_error == pytest.approx(0.10 / Z975, rel=1e-14)  # from P = .05
    assert e.origins["std_error"].derivation == "computed" and "P = .05" in e.se_method
    assert (e.conf_low, e.conf_high) == pytest.approx((0.10 - 0.10, 0.10 + 0.10), rel=1e-14)
    drop = get_trial("peer").target("hba1c_drop").published_difference()
    assert drop is not None and drop.estimate == 0.181  # "18.1" percentage points
    assert get_trial("hcpc").target("composite_any").published_difference() is None


def test_a_printed_ci_gives_the_se(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        """
name = "demo"
title = "demo"
[citation]
authors = "A"
journal = "J"
year = 2020
[design]
arms = { coaching = 50, usual_care = 50 }
months = 6
[[targets]]
id = "change"
label = "HbA1c change"
values = ["-0.9 (1.2)", "-0.2 (1.3)"]
n = ["48", "47"]
difference = "-0.7"
ci = ["-1.21", "-0.19"]
p = ".008"
location = { difference = "Table 2", p = "Table 2", values = "Table 2" }
analysis = { outcome = "change_hba1c", method = "t_test" }
""",
        encoding="utf-8",
    )
    trial = load_trial_file(path)
    e = trial.target("change").published_difference()
    assert e is not None and (e.estimate, e.conf_low, e.conf_high) == (-0.7, -1.21, -0.19)
    assert e.origins["ci"].derivation == "printed" and e.origins["ci"].location == "Table 2"
    assert e.std_error == pytest.approx(1.02 / (2 * Z975), rel=1e-14)
    assert "printed CI" in e.se_method
    effect = trial.effect("change")
    assert effect.n == (48, 47) and effect.arms[0].origins["n"].derivation == "printed"
    with pytest.raises(OptionError, match="two printed bounds"):
        Target("x", "x", trial.target("change").analysis, difference="1", ci=("1",))


def test_n_from_events_and_percentage_only_when_unique() -> None:
    v = published_value("27 (22.0 %)")
    assert isinstance(v, Proportion) and v.n == 123
    # 5/121, 5/122 and 5/123 all print as 4.1 %: no n is claimed
    w = published_value("5 (4.1 %)")
    assert isinstance(w, Proportion) and w.events == 5 and w.n is None and "n" not in w.origins
    # with the n printed elsewhere, it is checked against the percentage
    assert published_value("5 (4.1 %)", n=122).n == 122  # type: ignore[union-attr]
    with pytest.raises(OptionError, match="does not print as its percentage"):
        published_value("5 (4.1 %)", n=100)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.integers(0, 300), st.integers(0, 2))
def test_a_computed_n_is_the_true_n(events: int, extra: int, decimals: int) -> None:
    """From "e (p %)" an n is claimed only when it is the only fit, so it is the true one."""
    n = events + extra
    text = f"{events} ({100 * events / n:.{decimals}f} %)"
    v = published_value(text)
    assert isinstance(v, Proportion) and v.events == events
    assert v.n is None or v.n == n
    if v.n is not None:
        assert v.origins["n"].derivation == "computed"


def test_arms_combined() -> None:
    m = get_trial("peer").published_combined("baseline_hba1c")
    assert isinstance(m, Mean) and m.n == 236
    mean = (122 * 10.05 + 114 * 9.85) / 236
    ss = 121 * 4.0 + 113 * 4.0 + 122 * 114 / 236 * (10.05 - 9.85) ** 2
    assert m.mean == pytest.approx(mean, rel=1e-14)
    assert m.sd == pytest.approx(math.sqrt(ss / 235), rel=1e-14)
    assert m.origins["sd"].derivation == "computed"
    assert (
        m.text == "9.95 (2.00) (arms 10.05 (2.0) and 9.85 (2.0) combined)"
    )  # as evaluate's case mix
    single = get_trial("hcpc").published_combined("female")
    assert isinstance(single, Proportion) and single.share == 0.553
    with pytest.raises(OptionError, match="with their n"):
        get_trial("hcpc").published_combined("spanish_by_site")


def test_not_a_two_arm_effect() -> None:
    with pytest.raises(OptionError, match="not a two-arm comparison"):
        get_trial("hcpc_24").effect("composite_any_24")
    with pytest.raises(OptionError, match="not a two-arm comparison"):
        get_trial("hcpc").effect("sbp_goal")  # "n.s." is not a figure


def test_n_target_is_resolved_by_the_trial() -> None:
    t = get_trial("peer").target("hba1c_change")
    with pytest.raises(OptionError, match=r"Trial\.published_values"):
        t.published_values()


# --------------------------------------------------------------------------- 2. evaluate today


@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: f"{b.trial}:{b.target}")
def test_structured_values_equal_what_evaluate_parses(bench: object) -> None:
    po = published_outcome(bench)  # type: ignore[arg-type]
    e = get_trial(po.trial).effect(po.target)
    assert e.values == po.values and e.texts == po.texts
    assert all(same(a, b) for a, b in zip(e.sds, po.sds, strict=True))
    assert e.n == po.n and e.events == po.events
    assert e.inferred_counts == po.inferred_counts
    assert (e.p.text, e.months, e.outcome) == (po.p, po.months, po.outcome)
    assert (e.kind == "proportions") == (po.kind == "binary")
    assert tuple(a.short for a in e.arms) == (po.arm_text(0), po.arm_text(1))
    assert e.estimands() == po.estimands()
    for estimand in po.estimands():
        for source in SE_SOURCES:
            old = po.effect(estimand, se_source=source)  # type: ignore[arg-type]
            new = e.estimate(estimand, se_source=source)  # type: ignore[arg-type]
            assert (new.estimand, new.estimate, new.log_scale) == (
                old.estimand,
                old.estimate,
                old.log_scale,
            )
            for name in ("std_error", "std_error_low", "std_error_high", "conf_low", "conf_high"):
                assert getattr(new, name) == pytest.approx(getattr(old, name), rel=1e-15), name
            # the same words; the registry adds where n was computed or the P tests other figures
            assert new.se_method.startswith(old.se_method)


@pytest.mark.parametrize("p", [".02", ".01", ".005", ".047", ".83", "< .001", ".5"])
@pytest.mark.parametrize("estimate", [0.121, -0.77, math.log(2.1)])
def test_std_errors_from_p_equal_evaluates(p: str, estimate: float) -> None:
    old = se_from_p(estimate, p)
    new = PrintedP.parse(p).std_errors(estimate)
    assert new == pytest.approx(old, rel=1e-15)


def test_std_errors_from_p_errors() -> None:
    with pytest.raises(AnalysisError, match="not significant"):
        PrintedP.parse("not significant").std_errors(0.1)
    with pytest.raises(AnalysisError, match="estimate of 0"):
        PrintedP.parse(".04").std_errors(0.0)
