"""What each calibration step reads, and the provenance it gives each registry target (issue 18).

The synthetic cohorts are built from published figures in four places: the generator
modules (``coachstats.synthetic.hcpc`` and ``.peer``: exact counts and matched moments)
and the calibration scripts (``tools/calibration``: the design integer program and the
seeded searches). Each states, as data (``READS``), which registry targets it reads and
how the cohort then holds them. These tests check that

* no held-out target is read by any step (a held-out figure is a test, never a fit);
* every declared target exists in the registry;
* each target's ``provenance`` is how the cohort holds it: the strongest kind of any step
  that reads it (tuned over moment-matched over construction), "held-out" when none does;
* at least 8 targets are held out;
* the peer search's loss is built from exactly the targets it declares.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from tools.calibration import calibrate_hcpc, calibrate_peer

from coachstats.synthetic import hcpc, hcpc_spec, peer, peer_spec
from coachstats.trials import PROVENANCES, iter_targets

STEPS: dict[str, Mapping[str, tuple[str, ...]]] = {
    "coachstats.synthetic.hcpc": hcpc_spec.READS,
    "coachstats.synthetic.peer": peer_spec.READS,
    "tools.calibration.calibrate_hcpc": calibrate_hcpc.READS,
    "tools.calibration.calibrate_peer": calibrate_peer.READS,
}
RANK = {"construction": 0, "moment-matched": 1, "tuned": 2}
REGISTRY = {f"{trial.name}:{t.id}": t for trial, t in iter_targets()}


def _kinds() -> dict[str, set[str]]:
    """target key -> the kinds of every step that reads it."""
    out: dict[str, set[str]] = {}
    for reads in STEPS.values():
        for kind, keys in reads.items():
            for key in keys:
                out.setdefault(key, set()).add(kind)
    return out


def test_declarations_are_well_formed() -> None:
    for step, reads in STEPS.items():
        assert set(reads) <= set(RANK), step
        for keys in reads.values():
            assert len(keys) == len(set(keys)), step
            unknown = sorted(set(keys) - set(REGISTRY))
            assert not unknown, f"{step} reads targets that are not in the registry: {unknown}"


def test_no_held_out_target_is_read() -> None:
    held = {key for key, t in REGISTRY.items() if t.provenance == "held-out"}
    for step, reads in STEPS.items():
        read = {key for keys in reads.values() for key in keys}
        assert not (read & held), f"{step} reads held-out targets {sorted(read & held)}"


def test_provenance_is_how_the_cohort_holds_the_figure() -> None:
    kinds = _kinds()
    for key, t in REGISTRY.items():
        assert t.provenance in PROVENANCES, key
        expected = max(kinds[key], key=RANK.__getitem__) if key in kinds else "held-out"
        assert t.provenance == expected, (key, t.provenance, sorted(kinds.get(key, ())))


def test_at_least_eight_figures_are_held_out() -> None:
    held = sorted(key for key, t in REGISTRY.items() if t.held_out)
    assert len(held) >= 8, held
    # the trust P after adjustment for PCP visits, the 24-month paired figures and the
    # peer trial's adjusted figures
    assert {
        "hcpc_trust:trust_change_adj",
        "hcpc_24:composite_any_24",
        "hcpc_24:hba1c_goal_24",
        "peer:hba1c_change_adj",
        "peer:hba1c_drop_adj",
    } <= set(held)


@pytest.mark.parametrize("outcome", sorted(calibrate_peer.TARGETS))
def test_peer_search_loss_reads_only_what_it_declares(outcome: str) -> None:
    declared = set(calibrate_peer.READS["tuned"])
    for tid, *_ in calibrate_peer.targets(outcome):
        assert f"peer:{tid}" in declared
        assert not REGISTRY[f"peer:{tid}"].held_out
    # the covariate effects only the held-out figures would inform are fixed, not searched
    assert not set(calibrate_peer.KNOBS[outcome]) & set(calibrate_peer.FIXED[outcome])
    for name, value in calibrate_peer.FIXED[outcome].items():
        assert peer.CALIBRATION[outcome][name] == value, (outcome, name)


def test_hcpc_design_reads_no_24_month_goal_figure() -> None:
    """The design's 24-month class sizes come from the 290 seen at both times, split by the
    arms' analysed shares (not from the 24-month percentages), and no goal count at 24
    months is a constraint."""
    assert sum(hcpc_spec.SEEN_24.values()) == 290
    analysed = {
        a: sum(hcpc_spec.RANDOMIZED[a, s] - hcpc_spec.LOST_12[a, s] for s in hcpc.SITES)
        for a in hcpc.ARMS
    }
    assert analysed == {"coaching": 194, "usual_care": 178}
    assert hcpc_spec.SEEN_24 == {"coaching": 151, "usual_care": 139}  # 290 * 194 / 372 = 151.2
    assert not hasattr(hcpc, "FOLLOWUP_24")
    assert set(calibrate_hcpc.PRIOR) == {"prevalence", "goal", "persist_24"}
