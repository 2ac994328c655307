"""Tests of the trial registry (coachstats.trials): integrity, parsing, data not code.

The printed strings are checked against ../shared/published.md by hand-copied
expectations below (the published figures), not against the registry itself.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coachstats.analysis import METHODS, AnalysisPlan, compare_function
from coachstats.errors import OptionError
from coachstats.results import ArmSummary
from coachstats.trials import (
    PrintedP,
    PrintedValue,
    Trial,
    get_trial,
    iter_targets,
    list_trials,
    load_trial_file,
)

ALL = ["hcpc", "hcpc_adherence", "hcpc_trust", "hcpc_pacic", "hcpc_clinician", "hcpc_24", "peer"]
ALL_TARGETS = list(iter_targets())


def test_every_paper_is_registered() -> None:
    assert list_trials() == ALL
    assert list_trials(cohort="hcpc") == ALL[:-1]


def test_citations_are_complete_and_checked() -> None:
    """Every entry has authors, title, journal, year, volume, issue and pages; the DOIs and
    PubMed ids are those checked against PubMed and the journals (issue 18). An identifier
    that could not be checked is absent, and the entry's verification note says so."""
    dois = {n: get_trial(n).citation.doi for n in ALL}
    assert dois == {
        "hcpc": "10.1370/afm.1768",
        "hcpc_adherence": "10.3122/jabfm.2015.01.140123",
        "hcpc_trust": "10.1016/j.pec.2014.03.018",
        "hcpc_pacic": None,
        "hcpc_clinician": "10.1037/fsh0000110",
        "hcpc_24": None,
        "peer": "10.1370/afm.1443",
    }
    pmids = {n: get_trial(n).citation.pmid for n in ALL}
    assert pmids == {
        "hcpc": "25755034",
        "hcpc_adherence": None,
        "hcpc_trust": "24776175",
        "hcpc_pacic": None,
        "hcpc_clinician": "25751177",
        "hcpc_24": None,
        "peer": "23508600",
    }
    assert get_trial("peer").citation.registration == "NCT01040806"
    for name in ALL:
        c = get_trial(name).citation
        assert c.authors and c.title and c.journal and c.year and c.volume and c.issue, name
        assert c.pages and c.verification, name
        for ident in ("DOI", "PubMed id"):
            if (ident == "DOI" and c.doi is None) or (ident == "PubMed id" and c.pmid is None):
                assert "could not be" in c.verification and ident in c.verification, (name, ident)
    # the 24-month paper: its end page was not verified, and the note says so
    assert get_trial("hcpc_24").citation.pages == "200-"
    assert "end page" in get_trial("hcpc_24").citation.verification


def test_registry_files_point_to_nothing_outside_the_package() -> None:
    """The TOML headers cite the papers, not a file that does not ship (issue 18)."""
    from importlib import resources

    folder = resources.files("coachstats.trials").joinpath("data")
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            text = entry.read_text(encoding="utf-8")
            assert "published.md" not in text and "../" not in text, entry.name


def test_designs() -> None:
    hcpc, peer = get_trial("hcpc"), get_trial("peer")
    assert dict(hcpc.design.arms) == {"coaching": 224, "usual_care": 217}
    assert dict(hcpc.design.sites) == {"A": 332, "B": 109} and hcpc.design.months == 12
    assert dict(peer.design.arms) == {"coaching": 148, "usual_care": 151}
    assert peer.design.n_sites == 6 and peer.design.months == 6
    assert hcpc.goals is not None and hcpc.goals.name == "hcpc"
    assert peer.goals is not None and peer.goals.name == "peer"


@pytest.mark.parametrize(
    ("trial", "target", "values", "p"),
    [
        ("hcpc", "composite_any", ("46.4 %", "34.3 %"), ".02"),
        ("hcpc", "composite_all", ("34.0 %", "24.7 %"), ".05"),
        ("hcpc", "hba1c_goal", ("48.6 %", "27.6 %"), ".01"),
        ("hcpc", "ldl_goal_site_a", ("41.8 %", "25.4 %"), ".04"),
        ("hcpc_pacic", "pacic_12", ("3.82", "3.13"), "< .001"),
        ("hcpc_pacic", "recommend_12", ("85 %", "73 %"), ".002"),
        ("hcpc_clinician", "demanding", ("2.44", "3.06"), "< .001"),
        ("hcpc_24", "composite_any_24", ("47.1 %", "45.9 %"), ".80"),
        ("peer", "hba1c_change", ("-1.07 (2.8)", "-0.30 (3.1)"), ".01"),
        ("peer", "hba1c_drop", ("60/121 (49.6 %)", "34/108 (31.5 %)"), ".005"),
        ("peer", "sbp_change", ("+1.4 (22.3)", "-4.3 (26.0)"), ".06"),
    ],
)
def test_printed_values_as_published(
    trial: str, target: str, values: tuple[str, ...], p: str
) -> None:
    t = get_trial(trial).target(target)
    assert t.values == values and t.p == p


@pytest.mark.parametrize(("trial", "target"), [(tr.name, t.id) for tr, t in ALL_TARGETS])
def test_every_target_is_well_formed(trial: str, target: str) -> None:
    """Parsable printed strings, a known method with accepted options, documented assumptions."""
    t = get_trial(trial).target(target)
    for spec in t.specs:
        assert spec.method in METHODS
        if spec.method != "describe":
            params = inspect.signature(compare_function(spec.method)).parameters
            reserved = {"m", "seed", "maxit", "impute", "singleton_clusters", "baseline"}
            assert set(spec.options) - reserved <= set(params), spec.options
            if spec.covariates:
                assert "covariates" in params
            if spec.cluster:
                assert "cluster" in params
    pv = t.printed_values()
    assert len(pv) == len(t.values)
    pp = t.printed_p()
    if t.p:
        assert pp.printed
        assert pp.kind == "not_significant" or 0 < pp.value() < 1
    # a target with a test must say what was assumed about it
    if t.p and not t.adjusted:
        assert t.assumption or t.not_published or trial == "peer"
    for key in t.unreachable:
        assert key in ("values", "n", "difference", "p") and t.unreachable[key]


def test_plans_have_unique_labels_and_goals() -> None:
    for name in ALL:
        trial = get_trial(name)
        plan = trial.plan()
        assert isinstance(plan, AnalysisPlan)
        labels = [s.label for s in plan.specs]
        assert len(labels) == len(set(labels)) >= len(trial.targets)


def test_sensitivity_variants() -> None:
    plan = get_trial("hcpc").sensitivity_plan()
    labels = [s.label for s in plan.specs]
    assert "composite_any | as published" in labels
    yates = plan.specs[labels.index("composite_any | Yates continuity correction")]
    assert yates.options["correct"] is True and yates.method == "chi_square"
    logistic = plan.specs[
        labels.index("composite_any | Logistic regression adjusted for site (risk difference)")
    ]
    assert "correct" not in logistic.options  # options replaced when the method changes
    assert not any(lab.startswith("ldl_goal_site_a | Logistic") for lab in labels)
    # issue 18: the peer trial has variants too (MI, missing as failure, the clinic clustering)
    peer = [s.label for s in get_trial("peer").sensitivity_plan().specs]
    assert "hba1c_change | Multiple imputation (m = 20)" in peer
    assert "hba1c_drop | Missing follow-up = no drop" in peer
    assert not any(lab.startswith("hba1c_change | Missing") for lab in peer)  # binary only
    # an empty string in a variant's changes removes the field (TOML has no null)
    welch = (
        get_trial("peer")
        .sensitivity_plan()
        .specs[peer.index("hba1c_change | Clustering by clinic ignored (Welch t test)")]
    )
    assert welch.cluster is None and welch.method == "t_test"


# --------------------------------------------------------------------------- printed values


@pytest.mark.parametrize(
    ("text", "kind", "arm", "formatted"),
    [
        ("46.4 %", "percent", ArmSummary("coaching", 194, events=90, value=90 / 194), "46.4 %"),
        ("85 %", "percent", ArmSummary("coaching", 300, events=254, value=254 / 300), "85 %"),
        ("-1.07 (2.8)", "mean_sd", ArmSummary("c", 122, value=-1.0749, sd=2.849), "-1.07 (2.8)"),
        ("+1.4 (22.3)", "mean_sd", ArmSummary("c", 128, value=1.36, sd=22.3), "+1.4 (22.3)"),
        (
            "60/121 (49.6 %)",
            "fraction",
            ArmSummary("c", 121, events=60, value=60 / 121),
            "60/121 (49.6 %)",
        ),
        (
            "27 (22.0 %)",
            "events_pct",
            ArmSummary("c", 123, events=27, value=27 / 123),
            "27 (22.0 %)",
        ),
        ("290/441", "fraction", ArmSummary("all", 441, events=290, value=290 / 441), "290/441"),
        ("224", "count", ArmSummary("c", 224, value=224.0), "224"),
        ("3.82", "number", ArmSummary("c", 200, value=3.8249), "3.82"),
        ("+16.3 %", "percent", ArmSummary("c", 200, value=0.16349), "+16.3 %"),
        ("-0.1", "number", ArmSummary("c", 128, value=-0.0501), "-0.1"),
    ],
)
def test_printed_value_round_trip(text: str, kind: str, arm: ArmSummary, formatted: str) -> None:
    pv = PrintedValue.parse(text)
    assert pv.kind == kind
    assert pv.format_arm(arm) == formatted
    assert pv.matches(formatted)


def test_printed_value_signs_and_zero() -> None:
    pv = PrintedValue.parse("0.0")
    assert pv.format_number(-0.04) == "0.0" and pv.matches("-0.0")
    assert not PrintedValue.parse("-0.77").matches("-0.78")
    assert PrintedValue.parse("\u22120.9").matches("-0.9")  # typographic minus
    assert PrintedValue.parse("n.s.").kind == "none" and not PrintedValue.parse("").printed
    with pytest.raises(OptionError, match="no known form"):
        PrintedValue.parse("about half")


@pytest.mark.parametrize(
    ("printed", "p", "match", "formatted"),
    [
        (".01", 0.009, True, ".01"),  # the brief's rule: round to the printed decimals
        (".01", 0.0151, False, ".02"),
        (".02", 0.0174, True, ".02"),
        (".005", 0.00543, True, ".005"),
        (".80", 0.7995, True, ".80"),
        (".013", 0.0136, False, ".014"),
        ("< .001", 0.0004, True, "< .001"),
        ("< .001", 0.0012, False, ".001"),
        ("not significant", 0.6, True, "not significant"),
        ("not significant", 0.03, False, ".03"),  # journal style (format_p)
        ("not significant", 0.0004, False, "< .001"),
        (".013", 0.0004, False, "< .001"),  # never ".000"
        (".02", 0.004, False, "< .01"),
        ("p = .05", 0.0496, True, ".05"),
    ],
)
def test_printed_p(printed: str, p: float, match: bool, formatted: str) -> None:
    pp = PrintedP.parse(printed)
    assert pp.matches(p) is match
    assert pp.format(p) == formatted


def test_printed_p_rejects_nonsense() -> None:
    with pytest.raises(OptionError, match="no known form"):
        PrintedP.parse("significant")
    assert not PrintedP.parse("").printed and math.isnan(PrintedP.parse("").value())


@settings(max_examples=50, deadline=None)
@given(p=st.floats(0.0005, 0.9994), decimals=st.integers(2, 3))
def test_formatted_p_matches_itself(p: float, decimals: int) -> None:
    """A P printed at some precision is matched by the P it was printed from."""
    printed = f"{p:.{decimals}f}".lstrip("0")
    if float(printed) == 0.0:
        return
    assert PrintedP.parse(printed).matches(p)


# --------------------------------------------------------------------------- data, not code


def test_a_trial_is_a_data_file(tmp_path: Path) -> None:
    text = """
name = "my_program"
title = "My coaching program"
goals = "peer"
[citation]
authors = "Me"
journal = "Internal report"
year = 2024
[design]
arms = { coaching = 50, usual_care = 50 }
months = 6
[[targets]]
id = "drop"
label = "HbA1c drop >= 1"
values = ["20/45 (44.4 %)", "12/44 (27.3 %)"]
p = ".09"
analysis = { outcome = "hba1c_drop_ge1", method = "chi_square" }
"""
    path = tmp_path / "my_program.toml"
    path.write_text(text, encoding="utf-8")
    trial = get_trial(str(path))
    assert isinstance(trial, Trial) and trial.name == "my_program"
    assert trial.target("drop").analysis.label == "drop"
    assert load_trial_file(path).plan().goals is not None
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('p = ".09"', 'p = ".09"\nprinted = "x"'), encoding="utf-8")
    with pytest.raises(OptionError, match="unknown key"):
        load_trial_file(bad)
    bad.write_text(
        text.replace('goals = "peer"', 'goals = "peer"\ngoal = "hcpc"'), encoding="utf-8"
    )
    with pytest.raises(OptionError, match=r"trial 'my_program': unknown key\(s\) \['goal'\]"):
        load_trial_file(bad)


def test_unknown_trial_lists_choices() -> None:
    with pytest.raises(OptionError, match="choose one of 'hcpc'"):
        get_trial("hcpc_main")
