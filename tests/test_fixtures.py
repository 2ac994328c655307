"""Versioned fixtures (issue 24): the hash list, ``coachstats fixtures``, the manifest and its schema.

The expected values of the manifest are the registry's printed figures; the
test that they hold on the fixtures recomputes every target with coachstats'
own pipeline (``reproduce``) and checks it in the results format -- the same
check another pipeline's results go through.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.errors import DataWarning, FixtureError
from coachstats.core.paths import bundled_data_dir
from coachstats.tasks import fixtures as fx
from coachstats.tasks.check import check_results
from coachstats.tasks.expected import PROVENANCES, check_targets
from coachstats.tasks.reproduce import ReproductionResult, reproduce
from coachstats.tasks.schemas import schema
from coachstats.trials.registry import PrintedValue

runner = CliRunner()


# --------------------------------------------------------------------------- versions


def _sha256(path: Path) -> str:
    """The hash computed here, not by the code under test."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundled_files_are_the_current_fixture_version() -> None:
    """Any change of a fixture byte needs a new fixture version (fixture_versions.json)."""
    current = fx.fixture_versions()[-1]
    found = {p.name: _sha256(p) for p in fx.bundled_fixture_files()}
    if found != dict(current.files):
        entry = {
            "version": str(int(current.version) + 1),
            "change": "WHAT CHANGED AND WHY",
            "files": found,
        }
        pytest.fail(
            f"data/synthetic differs from fixture version {current.version}. A changed fixture "
            "needs a new version: append this entry to src/coachstats/tasks/fixture_versions.json "
            "(never edit a released one), and say what changed in docs/ci.md:\n"
            + json.dumps(entry, indent=2)
        )
    assert fx.verify_bundled() == current.version == fx.fixture_version()


def test_fixture_versions_are_ordered_and_each_changes_the_bytes() -> None:
    versions = fx.fixture_versions()
    numbers = [int(v.version) for v in versions]
    assert numbers == list(range(1, len(numbers) + 1))
    for old, new in itertools.pairwise(versions):
        assert dict(old.files) != dict(new.files), f"version {new.version} changes no byte"
    for v in versions:
        assert v.change.strip() and all(len(h) == 64 for h in v.files.values())


def test_a_changed_byte_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "synthetic"
    shutil.copytree(bundled_data_dir(), copy)
    target = copy / "peer_patients.csv"
    target.write_bytes(target.read_bytes().replace(b"usual_care", b"usual_carE", 1))
    monkeypatch.setattr(fx, "bundled_data_dir", lambda: copy)
    with pytest.raises(
        FixtureError,
        match=rf"not fixture version {fx.fixture_version()} \(changed: peer_patients.csv\)",
    ):
        fx.verify_bundled()
    (copy / "peer_patients.csv").unlink()
    with pytest.raises(FixtureError, match=r"missing: peer_patients.csv"):
        fx.build_manifest("peer")


# --------------------------------------------------------------------------- writing


def test_fixtures_command_writes_files_manifest_and_schema(tmp_path: Path) -> None:
    out = tmp_path / "fx"
    res = runner.invoke(app, ["fixtures", str(out), "--trial", "peer", "--trial", "hcpc"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert "manifest.json" in names and "manifest.schema.json" in names
    assert {p.name for p in fx.bundled_fixture_files()} <= set(names)
    manifest = json.loads((out / "manifest.json").read_text())
    published = json.loads((out / "manifest.schema.json").read_text())
    assert published == schema("manifest")
    jsonschema.validate(manifest, published, cls=jsonschema.Draft202012Validator)
    assert (
        manifest["fixture_version"] == fx.fixture_version() and manifest["schema_version"] == "1.0"
    )
    assert manifest["cohorts"]["hcpc"]["seed"] == 20150301
    assert manifest["cohorts"]["peer"]["seed"] == 20130301
    assert [t["name"] for t in manifest["trials"]] == ["peer", "hcpc"]
    for f in manifest["files"]:
        written = out / f["path"]
        assert _sha256(written) == f["sha256"] == _sha256(bundled_data_dir() / f["path"])
        assert written.stat().st_size == f["bytes"]
    # refuses to overwrite without --force; deterministic with it
    res = runner.invoke(app, ["fixtures", str(out), "--trial", "peer,hcpc"])
    assert res.exit_code == 2 and "exists; pass --force" in res.output
    before = (out / "manifest.json").read_bytes()
    res = runner.invoke(app, ["fixtures", str(out), "--trial", "peer,hcpc", "--force"])
    assert res.exit_code == 0 and (out / "manifest.json").read_bytes() == before


def test_unknown_trial_is_bad_input(tmp_path: Path) -> None:
    res = runner.invoke(app, ["fixtures", str(tmp_path), "--trial", "hcpc2"])
    assert res.exit_code == 2 and "choose one of 'hcpc'" in res.output


# --------------------------------------------------------------------------- the targets


def test_every_target_states_its_tolerance_and_reason() -> None:
    targets = check_targets()
    ids = [t.id for t in targets]
    assert len(ids) == len(set(ids))
    for t in targets:
        assert t.provenance in PROVENANCES
        for name, bound in t.expected().items():
            assert bound.reason, (t.id, name)
            assert bound.low <= bound.high
            if bound.value is not None:
                assert bound.low <= bound.value <= bound.high
    by_id = {t.id: t for t in targets}
    # printed precision: half a unit of the last printed digit
    assert by_id["hcpc.composite_any.coaching"].estimate.tolerance == 0.05  # "46.4 %"
    assert by_id["peer.hba1c_change.coaching"].estimate.tolerance == 0.005  # "-1.07 (2.8)"
    assert by_id["peer.hba1c_change.coaching"].sd.tolerance == 0.05
    assert by_id["hcpc_pacic.recommend_12.coaching"].estimate.tolerance == 0.5  # "85 %"
    assert by_id["hcpc.randomized.coaching"].estimate.tolerance == 0  # a count
    p = by_id["hcpc.composite_any"].p
    assert (p.low, p.high) == (0.015, 0.025)
    assert (by_id["hcpc_pacic.pacic_12"].p.low, by_id["hcpc_pacic.pacic_12"].p.high) == (0, 0.001)
    assert by_id["hcpc.sbp_goal"].p.low == 0.05  # "not significant"
    # declared unreachable: listed with the registry's reason, never checked
    trust = by_id["hcpc_trust.trust_change"]
    assert trust.p is None and "0.47" in trust.not_checked["p"] and trust.required == ()
    assert "estimate" in by_id["peer.hba1c_lt_7_5"].not_checked
    # "n.s." per-group values are not targets
    assert "hcpc.sbp_goal.coaching" not in by_id


def test_provenance_comes_from_the_registry() -> None:
    """Issue 18 added ``provenance`` to the registry's targets; the manifest carries it, and a
    held-out target's figures are listed as not checked (the fixtures are not built to them)."""
    from coachstats.trials import iter_targets

    registry = {(trial.name, t.id): t.provenance for trial, t in iter_targets()}
    targets = check_targets()
    assert {t.provenance for t in targets} == {
        "construction",
        "moment-matched",
        "tuned",
        "held-out",
    }
    for t in targets:
        assert t.provenance == registry[t.trial, t.target], t.id
        if t.provenance == "held-out":
            assert not t.expected() and not t.required, t.id
            assert all("held out" in why for why in t.not_checked.values()), t.id


def own_results(result: ReproductionResult) -> list[dict[str, float | str]]:
    """coachstats' own reproduced figures (unrounded) in the results format."""
    rows: list[dict[str, float | str]] = []
    by_target = {(tr.trial, tr.target.id): tr for tr in result.targets}
    for t in check_targets(result.trials):
        tr = by_target[(t.trial, t.target)]
        row: dict[str, float | str] = {"target": t.id}
        if t.kind == "comparison":
            row["p"] = tr.p_value
            if tr.difference:
                row["estimate"] = PrintedValue.parse(tr.difference).number()
        else:
            arms = {a.arm: a for a in tr.values_result.arms}  # type: ignore[union-attr]
            counts = {a.arm: a for a in tr.result.arms}  # type: ignore[union-attr]
            arm = arms[t.group]
            if t.statistic == "percent":
                row["estimate"] = 100 * arm.value
            elif t.statistic == "count":
                row["estimate"] = arm.events if t.n is not None else arm.value
            else:
                row["estimate"] = arm.value
            if not math.isnan(arm.sd):
                row["sd"] = arm.sd
            row["n"] = counts.get(t.group, arm).n
        rows.append(row)
    return rows


def test_expected_values_hold_on_the_fixtures() -> None:
    """Every expected value, tolerance and n of the manifest holds on the fixtures."""
    with pytest.warns(DataWarning, match="excluded 672 medication row"):  # HCPC's 'other' drugs
        result = reproduce()
    rows = own_results(result)
    report = check_results(rows)
    assert report.ok, report.diff()
    counts = report.counts()
    # all but the trust P printed as .47 and the held-out figures (nothing checked: not built in)
    held = sum(1 for t in check_targets() if not t.expected())  # the .47 P has none either
    assert counts["pass"] == len(check_targets()) - held
    assert counts["fail"] == counts["missing"] == counts["unknown"] == 0
