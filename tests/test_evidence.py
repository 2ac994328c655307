"""The evidence base: the registry of published trials, the pooled evidence, and a program placed in it.

The pooled estimate is checked against metafor on the same inputs (tests/reference/meta.R,
set ``coaching_hba1c``, relative tolerance 1e-8 as in test_meta_reference.py); the
inputs written for R are checked against the registry, so the fixture cannot drift.
The derivations (SE from a CI or a P value, differences of printed changes) are
checked against hand formulas with scipy's normal quantile.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from scipy.stats import t as t_dist
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.compare.summaries import se_from_ci, se_from_p
from coachstats.core.errors import AnalysisError, OptionError
from coachstats.tasks.evidence import (
    effects,
    excluded,
    pool_evidence,
    position_against_evidence,
    trial_table,
)
from coachstats.trials.evidence import (
    EvidenceTrial,
    get_evidence,
    list_evidence,
    load_evidence_file,
)

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "meta.json").read_text())["uni"]["coaching_hba1c"]
REL = 1e-8
Z975 = norm.ppf(0.975)
runner = CliRunner()


# --------------------------------------------------------------------------- registry
def test_registry_holds_at_least_14_trials_with_sources() -> None:
    keys = list_evidence()
    assert len(keys) >= 14
    assert {"hcpc", "peer"} <= set(keys)  # the seed trials, from the seed registry
    no_doi = {k for k in keys if not get_evidence(k).citation.doi}
    assert no_doi == {"palmas2014"}  # its DOI could not be confirmed: recorded without one
    for key in keys:
        t = get_evidence(key)
        assert t.citation.checked, key
        assert t.design.months > 0 and t.design.country, key
        for o in t.outcomes:
            assert o.location, (key, o.outcome)
            if not t.seed:
                assert o.source.startswith("http"), (key, o.outcome)


def test_every_printed_interval_contains_its_estimate() -> None:
    """A CI typed in wrong (digits swapped, sign lost) would fail this."""
    for key in list_evidence():
        for o in get_evidence(key).outcomes:
            d = o.printed_difference()
            if d is not None and o.ci:
                assert d.conf_low < d.estimate < d.conf_high, key
                # printed to 2 decimals: symmetric within rounding
                assert abs((d.conf_low + d.conf_high) / 2 - d.estimate) <= 0.011, key


def test_derivations_match_hand_formulas() -> None:
    assert se_from_ci(-1.84, -0.31) == pytest.approx(1.53 / (2 * Z975), rel=1e-12)
    assert se_from_p(-0.7, 0.02) == pytest.approx(0.7 / norm.ppf(0.99), rel=1e-12)
    long = get_evidence("long2012").outcome("hba1c").effect()
    assert long.estimate == -1.07 and long.origins["estimate"].derivation == "printed"
    assert long.std_error == pytest.approx(1.53 / (2 * Z975), rel=1e-12)
    se_origin = long.origins["std_error"]
    assert se_origin.derivation == "computed" and "CI" in se_origin.detail
    assert long.origins["ci"].derivation == "printed" and se_origin.location.startswith("abstract")
    nelson = get_evidence("nelson2017").outcome("hba1c").effect()
    assert nelson.estimate == pytest.approx(-0.51 - -0.33, abs=1e-12)
    assert nelson.origins["estimate"].derivation == "computed"
    assert nelson.origins["ci"].derivation == "computed"  # estimate +/- z SE: no CI printed
    assert nelson.std_error == pytest.approx(0.18 / norm.ppf(1 - 0.54 / 2), rel=1e-12)
    palmas = get_evidence("palmas2014").outcome("hba1c").effect()  # from baseline and follow-up
    assert palmas.estimate == pytest.approx((8.40 - 8.77) - (8.53 - 8.58), abs=1e-12)
    heisler = get_evidence("heisler2010").outcome("hba1c").effect()
    assert heisler.estimate == pytest.approx(-0.58)  # printed as a 0.58 difference favouring peers
    mcd = get_evidence("mcdermott2015").outcome("hba1c").effect()
    assert mcd.std_error == pytest.approx(0.8 / norm.ppf(0.99), rel=1e-12)  # from P, not the SE 0.2


def test_seed_trial_figures_come_from_the_seed_registry() -> None:
    from coachstats.trials import get_trial

    peer = get_evidence("peer")
    target = get_trial("peer").target("hba1c_change")
    o = peer.outcome("hba1c")
    e = o.effect()
    assert e.estimate == float(target.difference) and e.origins["estimate"].derivation == "printed"
    assert (o.coaching.n, o.control.n) == (122, 114)
    assert o.coaching.change == get_trial("peer").published_values("hba1c_change")[0]
    assert e.std_error == pytest.approx(0.77 / norm.ppf(1 - 0.01 / 2), rel=1e-12)
    assert peer.citation.doi == get_trial("peer").citation.doi
    assert get_evidence("hcpc").outcomes == ()


def test_not_poolable_outcomes_say_why() -> None:
    o = get_evidence("spencer2011").outcome("hba1c")
    assert not o.poolable and "< .01" in o.why_not_poolable
    with pytest.raises(OptionError, match="cannot be pooled"):
        o.effect()
    with pytest.raises(OptionError, match="reports no 'sbp'"):
        get_evidence("long2012").outcome("sbp")


def test_loader_rejects_unknown_keys_and_values(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    good = (HERE.parents[1] / "src/coachstats/trials/data/evidence/long2012.toml").read_text()
    path.write_text(good.replace('country = "USA"', 'country = "USA"\ncountri = "x"'))
    with pytest.raises(OptionError, match="countri"):
        load_evidence_file(path)
    path.write_text(good.replace('coach = "peer"', 'coach = "doctor"'))
    with pytest.raises(OptionError, match="coach"):
        load_evidence_file(path)
    path.write_text(good)
    assert isinstance(load_evidence_file(path), EvidenceTrial)
    with pytest.raises(OptionError, match="no evidence trial"):
        get_evidence("nope")


def test_figures_are_published_values_as_printed() -> None:
    """The arms' figures are the seed registry's value classes, with their printed text."""
    from coachstats.trials.values import Mean, Proportion

    palmas = get_evidence("palmas2014").outcome("hba1c")
    assert isinstance(palmas.coaching.followup, Mean) and palmas.coaching.followup.text == "8.40"
    assert palmas.coaching.followup.origins["mean"].derivation == "printed"
    assert palmas.coaching.n == 181 and palmas.coaching.followup.origins["n"].location
    change = palmas.coaching.change_from_baseline
    assert change is not None and change.origins["mean"].derivation == "computed"
    assert palmas.printed == "8.77 to 8.40 vs 8.58 to 8.53 (coaching vs control), P = 0.131"
    ishani = get_evidence("ishani2011").outcome("composite_all")
    events = ishani.coaching.events
    assert isinstance(events, Proportion) and (events.events, events.n) == (61, 278)
    assert events.share == 0.219 and not ishani.poolable
    peach = get_evidence("peach2013").outcome("sbp").coaching.mean
    assert peach is not None and (peach.mean, peach.sd) == (133.0, 14.0)
    long = get_evidence("long2012").outcome("hba1c")
    assert long.printed == "-1.07 (95 % CI -1.84 to -0.31)"
    assert get_evidence("spencer2011").outcome("hba1c").printed == "-0.8, P < .01"


def _outcome_file(tmp_path: Path, outcome: str) -> Path:
    good = (HERE.parents[1] / "src/coachstats/trials/data/evidence/long2012.toml").read_text()
    head = good.split("[[outcomes]]")[0]
    path = tmp_path / "t.toml"
    path.write_text(head + "[[outcomes]]\n" + outcome, encoding="utf-8")
    return path


def test_se_from_sds_printed_se_and_p_bounds(tmp_path: Path) -> None:
    means = """outcome = "sbp"
kind = "arm_means"
months = 6
coaching = { n = 40, mean = "131.2 (14.0)" }
control = { n = 38, mean = "136.0 (16.5)" }
location = "Table 2"
"""
    e = load_evidence_file(_outcome_file(tmp_path, means)).outcome("sbp").effect()
    assert e.estimate == pytest.approx(131.2 - 136.0, abs=1e-10)
    assert e.std_error == pytest.approx(math.sqrt(14.0**2 / 40 + 16.5**2 / 38), rel=1e-14)
    assert "SDs and n" in e.se_method and e.origins["std_error"].location == "Table 2"
    printed_se = means.replace("location", 'se = "3.4"\nlocation')
    e = load_evidence_file(_outcome_file(tmp_path, printed_se)).outcome("sbp").effect()
    assert e.std_error == 3.4 and e.origins["std_error"].derivation == "printed"
    bound = 'outcome = "hba1c"\nkind = "difference"\nmonths = 6\ndifference = "-0.6"\n'
    bound += 'p = "< .01"\nse_from = "p"\nlocation = "abstract"\n'
    with pytest.raises(OptionError, match="not an exact value"):
        load_evidence_file(_outcome_file(tmp_path, bound)).outcome("hba1c").effect()


@pytest.mark.parametrize(
    ("outcome", "match"),
    [
        ("difference = -0.6\n", "in quotes"),
        ('difference = "-0.6 %"\n', "without '%'"),
        ('difference = "-0.6"\n', "goes with kind = 'difference'"),
        ('ci = ["-1.0", "0.1"]\n', "two printed bounds of the printed difference"),
        ("coaching = { n = 40 }\n", "without a figure"),
        ('se_from = "ci"\ncoaching = { change = "-0.6" }\ncontrol = { change = "-0.1" }\n', None),
        ('coaching = { change = -0.6 }\ncontrol = { change = "-0.1" }\n', "in quotes"),
        ('coaching = { events = "-0.6" }\ncontrol = { change = "-0.1" }\n', "count with its share"),
        ('coaching = { chnage = "-0.6" }\n', "chnage"),
    ],
)
def test_printed_figures_must_be_text_in_their_form(
    tmp_path: Path, outcome: str, match: str | None
) -> None:
    body = 'outcome = "hba1c"\nkind = "arm_changes"\nmonths = 6\nlocation = "abstract"\n'
    if match is None:  # loads, but cannot give the SE it names
        trial = load_evidence_file(_outcome_file(tmp_path, body + outcome))
        with pytest.raises(OptionError, match="se_from = 'ci' but no ci was printed"):
            trial.outcome("hba1c").effect()
        return
    with pytest.raises(OptionError, match=match):
        load_evidence_file(_outcome_file(tmp_path, body + outcome))


# --------------------------------------------------------------------------- pooling
def test_fixture_for_r_is_the_registry() -> None:
    frame = effects("hba1c")
    assert frame["trial"].tolist() == REF["study"]
    pd.testing.assert_series_equal(
        frame["estimate"], pd.Series(REF["yi"], name="estimate"), rtol=1e-15
    )
    pd.testing.assert_series_equal(
        frame["std_error"], pd.Series(REF["sei"], name="std_error"), rtol=1e-15
    )


def test_pooled_hba1c_matches_metafor() -> None:
    s = pool_evidence("hba1c")
    r = REF["fits"]["REML_knha"]
    m = s.meta
    for ours, theirs in [
        (m.estimate, r["estimate"]),
        (m.conf_low, r["ci_lb"]),
        (m.conf_high, r["ci_ub"]),
        (m.pi_low, r["pi_lb"]),
        (m.pi_high, r["pi_ub"]),
        (m.tau2, r["tau2"]),
        (100 * m.i2, r["I2"]),
        (m.tau2_conf_high, r["tau2_ci"][1]),
    ]:
        assert math.isclose(ours, theirs, rel_tol=REL, abs_tol=1e-12), (ours, theirs)
    assert m.k == 9 and m.test == "knha"
    text = s.summary()
    assert "prediction interval" in text and "Not pooled:" in text and "Heisler 2010" in text
    frame = s.to_frame()
    assert frame["trial"].iloc[-1].startswith("Pooled") and frame["weight"].iloc[
        :-1
    ].sum() == pytest.approx(1)


def test_the_trial_list_marks_what_was_computed_rather_than_printed() -> None:
    # a reader must not cite a reconstructed interval as the paper's
    s = pool_evidence("hba1c")
    lines = {
        line.split("  ")[1]: line for line in s.summary().splitlines() if line.startswith("  ")
    }
    for r in s.effects.itertuples():
        from_p = "from the printed P" in r.se_origin
        computed_difference = r.estimate_origin.startswith("computed")
        line = lines[r.trial]
        assert (")*" in line) == from_p, line
        assert ("†" in line) == computed_difference, line
    thom = lines["Thom 2013"]  # P = .01 printed, no CI: the interval is ours
    assert ")*" in thom
    footnotes = s.summary().split("Not printed as shown")[1].split("Pooled")[0]
    assert "Thom 2013" in footnotes.split("†")[0] and "Long 2012" not in footnotes


def test_excluded_trials_and_active_comparators() -> None:
    out = excluded("hba1c")
    assert set(out["key"]) == {"heisler2010", "mons2013", "peach2013", "spencer2011"}
    assert "active comparator" in out.set_index("key").loc["heisler2010", "reason"]
    with_active = pool_evidence("hba1c", include_active=True)
    assert with_active.meta.k == 10 and "Heisler 2010" in with_active.meta.labels
    with pytest.raises(AnalysisError, match="0 poolable"):
        pool_evidence("sbp")


def test_trial_table_lists_evidence_and_seed_papers() -> None:
    t = trial_table()
    assert set(t["kind"]) == {"evidence", "seed paper"}
    row = t.set_index("key").loc["long2012"]
    assert "doi:10.7326/0003-4819-156-6-201203200-00004" in row["citation"]
    assert "PMID 22431674" in row["citation"] and "39 coaching / 39 control" in row["design"]


# --------------------------------------------------------------------------- position
@pytest.fixture(scope="module")
def hba1c():  # type: ignore[no-untyped-def]
    return pool_evidence("hba1c")


def test_position_wording_by_direction_and_uncertainty(hba1c) -> None:  # type: ignore[no-untyped-def]
    m = hba1c.meta
    inside = position_against_evidence(-0.45, 0.18, evidence=hba1c)
    assert inside.range_position == "inside" and inside.range_certain
    assert inside.verdict == "inconclusive" and inside.favours == "neither"
    assert "lies inside the range where 95 % of comparable coaching programs" in inside.sentence
    assert f"{abs(m.pi_low):.2f}" in inside.sentence and "too uncertain" in inside.sentence
    better = position_against_evidence(-1.6, 0.2, evidence=hba1c)
    assert (better.range_position, better.verdict, better.favours) == (
        "beyond",
        "larger",
        "program",
    )
    assert "side of a larger benefit" in better.sentence
    worse = position_against_evidence(0.5, 0.1, evidence=hba1c)
    assert (worse.range_position, worse.verdict, worse.favours) == ("short", "smaller", "published")
    similar = position_against_evidence(m.estimate + 0.02, 0.04, evidence=hba1c)
    assert similar.verdict == "similar" and "90 % CI" in similar.sentence
    vague = position_against_evidence(-1.2, 0.5, evidence=hba1c)
    assert vague.range_position == "beyond" and not vague.range_certain
    assert "chance may explain it" in vague.sentence and vague.verdict == "inconclusive"
    # the difference is program minus pooled, with independent SEs; the pooled SE is the one
    # its Hartung-Knapp CI implies (t on k - 1 df), not the bare HK SE with a normal quantile
    assert inside.difference == pytest.approx(-0.45 - m.estimate)
    se_pooled = t_dist.ppf(0.975, m.k - 1) / Z975 * m.std_error
    assert inside.pooled_std_error == pytest.approx(se_pooled, rel=1e-9)
    half = Z975 * math.hypot(0.18, se_pooled)
    assert inside.difference_high - inside.difference == pytest.approx(half, rel=1e-6)


def test_position_errors(hba1c) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OptionError, match="no default margin"):
        position_against_evidence(-2.0, 1.0, "composite_all")
    with pytest.raises(OptionError, match="SE > 0"):
        position_against_evidence(-0.4, 0.0, evidence=hba1c)
    with pytest.raises(OptionError, match="margin must be > 0"):
        position_against_evidence(-0.4, 0.1, evidence=hba1c, margin=-1)


RANK = {"smaller": 0, "inconclusive": 1, "similar": 1, "larger": 2}


@settings(max_examples=60, deadline=None)
@given(st.floats(-3, 2), st.floats(0.01, 2), st.floats(0.01, 2))
def test_more_benefit_never_ranks_lower(est: float, se: float, shift: float) -> None:
    """HbA1c: a lower effect (more benefit) never gets a worse verdict or range position."""
    ev = _HBA1C
    a = position_against_evidence(est, se, evidence=ev)
    b = position_against_evidence(est - shift, se, evidence=ev)
    assert RANK[b.verdict] >= RANK[a.verdict]
    order = {"short": 0, "inside": 1, "beyond": 2}
    assert order[b.range_position] >= order[a.range_position]


_HBA1C = pool_evidence("hba1c")


# --------------------------------------------------------------------------- CLI
def test_cli_evidence_and_trials(tmp_path: Path) -> None:
    png = tmp_path / "forest.png"
    res = runner.invoke(app, ["evidence", "hba1c", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    assert "Pooled (REML random effects (Hartung-Knapp), k = 9)" in res.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    res = runner.invoke(app, ["evidence", "--format", "csv", "--method", "DL", "--test", "z"])
    assert res.exit_code == 0 and "Pooled (DerSimonian-Laird random effects, k = 9)" in res.output
    res = runner.invoke(app, ["evidence", "sbp"])
    assert res.exit_code == 2 and "0 poolable" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["evidence", "--method", "ML"])
    assert res.exit_code == 2 and "'REML'" in res.output
    res = runner.invoke(app, ["trials"])
    assert res.exit_code == 0
    assert "Long 2012 [long2012]" in res.output and "[hcpc_24]" in res.output
    # two headed parts, so that HCPC and the peer trial, in both, are not read as duplicates
    evidence, _, seeds = res.output.partition("\nSeed papers: ")
    assert evidence.startswith("Evidence base: ") and "[long2012]" in evidence
    assert "[hcpc_24]" in seeds and "[hcpc_24]" not in evidence
    assert (
        "none the evidence base pools; its figures are among the seed papers ([hcpc])" in evidence
    )


def test_docs_page_quotes_the_current_pooled_numbers() -> None:
    """docs/evidence.md is written by hand: it must keep up with the registry."""
    text = (HERE.parents[1] / "docs" / "evidence.md").read_text(encoding="utf-8")
    m = _HBA1C.meta

    def fmt(x: float) -> str:
        return f"{x:+.2f}".replace("-", "\u2212").replace("+", "" if x < 0 else "+")

    row = (
        f"| **{fmt(m.estimate)}** | {fmt(m.conf_low)} to {fmt(m.conf_high)} | "
        f"{fmt(m.pi_low)} to {fmt(m.pi_high)} |"
    )
    assert row in text, row
    assert f"I² = {100 * m.i2:.0f} %" in text and f"τ² = {m.tau2:.3f}" in text
    assert f"(k = {m.k}" in text
    for key in list_evidence():
        assert get_evidence(key).label.split(" (")[0] in text, key
