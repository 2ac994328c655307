"""Versioned fixtures: the bundled cohorts with a manifest of their known answers.

:func:`write_fixtures` (``coachstats fixtures OUTDIR``) copies the bundled
synthetic cohorts of the chosen trials and writes ``manifest.json`` (schema
``manifest.schema.json``, written beside it):

* the **fixture version**, the generators' seeds and sizes, and the SHA-256 of
  every file;
* every **target** (:mod:`coachstats.tasks.expected`): its id, label,
  definition (endpoint, population, analysis), the expected values with their
  tolerances and the reason for each tolerance, and its provenance.

**Versions.** ``fixture_versions.json`` (in this package) lists every released
version with the SHA-256 of each file. Any change of a fixture byte needs a new
version there (a test enforces it), so a CI pipeline can pin the version it
was validated against. The manifest is deterministic: the same version gives
the same bytes.

Examples
--------
>>> fixture_version()
'2'
>>> m = build_manifest(["peer"])
>>> m["fixture_version"], [f["path"] for f in m["files"]]
('2', ['peer_patients.csv', 'peer_patients.parquet'])
>>> m["cohorts"]["peer"]["seed"]
20130301
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from coachstats.core.errors import FixtureError, OptionError, OutputError
from coachstats.core.paths import bundled_data_dir
from coachstats.data.io import file_sha256
from coachstats.data.outputs import OutputSet
from coachstats.tasks.expected import check_targets
from coachstats.tasks.schemas import schema, stamp
from coachstats.trials import get_trial, list_trials

__all__ = [
    "FIXTURE_FORMATS",
    "MANIFEST",
    "MANIFEST_SCHEMA",
    "FixtureSet",
    "FixtureVersion",
    "build_manifest",
    "bundled_fixture_files",
    "fixture_version",
    "fixture_versions",
    "resolve_trials",
    "verify_bundled",
    "write_fixtures",
]

#: The file formats the fixtures ship in.
FIXTURE_FORMATS: tuple[str, ...] = (".csv", ".parquet")
#: File names written next to the cohorts.
MANIFEST, MANIFEST_SCHEMA = "manifest.json", "manifest.schema.json"


@dataclass(frozen=True)
class FixtureVersion:
    """One released fixture version: its name, what changed, and each file's SHA-256."""

    version: str
    change: str
    files: Mapping[str, str]


@lru_cache(maxsize=1)
def fixture_versions() -> tuple[FixtureVersion, ...]:
    """Every released fixture version, oldest first (``fixture_versions.json``)."""
    text = resources.files("coachstats.tasks").joinpath("fixture_versions.json").read_text("utf-8")
    return tuple(
        FixtureVersion(str(v["version"]), v["change"], dict(v["files"]))
        for v in json.loads(text)["versions"]
    )


def fixture_version() -> str:
    """The current fixture version (the last released one)."""
    return fixture_versions()[-1].version


def resolve_trials(trials: str | Iterable[str] | None) -> list[str]:
    """Registry trial names from ``None``/``"all"`` (every trial), a name, or a list of names.

    Comma-separated names are split. Raises :class:`OptionError` naming the
    allowed trials for an unknown name.

    Examples
    --------
    >>> resolve_trials("hcpc,peer")
    ['hcpc', 'peer']
    >>> resolve_trials(None) == list_trials()
    True
    """
    if trials is None:
        return list_trials()
    items = [trials] if isinstance(trials, str) else list(trials)
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    if not names or "all" in names:
        return list_trials()
    for name in names:
        get_trial(name)  # raises OptionError listing the registered trials
    return list(dict.fromkeys(names))


def _cohorts(trials: Sequence[str]) -> list[str]:
    cohorts = []
    for name in trials:
        cohort = get_trial(name).cohort
        if cohort is None:
            raise OptionError(f"trial {name!r} has no bundled cohort, so it has no fixtures")
        if cohort not in cohorts:
            cohorts.append(cohort)
    return cohorts


def bundled_fixture_files(cohorts: Iterable[str] | None = None) -> list[Path]:
    """The bundled fixture files (CSV and Parquet) of these cohorts (all by default), sorted."""
    folder = bundled_data_dir()
    wanted = tuple(f"{c}_" for c in cohorts) if cohorts is not None else None
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in FIXTURE_FORMATS and (wanted is None or p.name.startswith(wanted))
    )


def verify_bundled() -> str:
    """Check the bundled files against the current version's hash list; return the version.

    Raises
    ------
    FixtureError
        When a file differs, is missing or is not in the list: the bundled
        cohorts are not the released fixtures (a changed generator or library
        version rewrote them), and a new fixture version is needed.
    """
    current = fixture_versions()[-1]
    found = {p.name: file_sha256(p) for p in bundled_fixture_files()}
    changed = sorted(n for n in found if n in current.files and found[n] != current.files[n])
    missing = sorted(set(current.files) - set(found))
    extra = sorted(set(found) - set(current.files))
    if changed or missing or extra:
        parts = [
            f"{what}: {', '.join(names)}"
            for what, names in (("changed", changed), ("missing", missing), ("not listed", extra))
            if names
        ]
        raise FixtureError(
            f"the bundled cohorts in {bundled_data_dir()} are not fixture version "
            f"{current.version} ({'; '.join(parts)}). Reinstall coachstats to get the released "
            "files, or (developers) add a new version with these files' SHA-256 to "
            "coachstats/tasks/fixture_versions.json (docs/ci.md, 'Fixture versions')"
        )
    return current.version


def _generators() -> dict[str, dict[str, Any]]:
    """Seed, size and generator call of each bundled cohort."""
    from coachstats.synthetic import hcpc, peer

    out = {}
    for name, module in (("hcpc", hcpc), ("peer", peer)):
        seed, n = module.DEFAULT_SEED, module.N_RANDOMIZED
        out[name] = {
            "seed": seed,
            "n": n,
            "generator": f"coachstats.synthetic.{name}_cohort(seed={seed}, n={n})",
        }
    return out


def build_manifest(trials: str | Iterable[str] | None = None) -> dict[str, Any]:
    """The manifest of the fixtures of these trials (every registered trial by default).

    The bundled files are verified against the released hash list first
    (:func:`verify_bundled`).
    """
    from coachstats import __version__

    names = resolve_trials(trials)
    version = verify_bundled()
    cohorts = _cohorts(names)
    generators = _generators()
    files = []
    for path in bundled_fixture_files(cohorts):
        files.append(
            {
                "path": path.name,
                "cohort": path.name.split("_", 1)[0],
                "table": path.stem.split("_", 1)[1],
                "format": path.suffix[1:],
                "bytes": path.stat().st_size,
                "sha256": file_sha256(path),
            }
        )
    trial_entries = []
    for name in names:
        trial = get_trial(name)
        trial_entries.append(
            {
                "name": trial.name,
                "title": trial.title,
                "citation": trial.citation.text(),
                "doi": trial.citation.doi,
                "cohort": trial.cohort,
            }
        )
    return stamp(
        "manifest",
        {
            "fixture_version": version,
            "coachstats_version": __version__,
            "trials": trial_entries,
            "cohorts": {
                c: {**generators[c], "files": [f["path"] for f in files if f["cohort"] == c]}
                for c in cohorts
            },
            "files": files,
            "tolerance_policy": (
                "Every expected value is a published figure as printed. A value printed with "
                "d decimals accepts +/- half a unit of its last digit; counts and printed n are "
                "exact; a P value accepts any P that rounds to the printed one ('< .001': below "
                ".001; 'not significant': .05 or more). Each target's reason says which applies."
            ),
            "targets": [t.to_dict() for t in check_targets(names)],
        },
    )


@dataclass(frozen=True)
class FixtureSet:
    """What :func:`write_fixtures` wrote: the directory, the files, and the manifest."""

    directory: Path
    files: tuple[Path, ...]
    manifest: Mapping[str, Any]

    @property
    def version(self) -> str:
        """The fixture version written."""
        return str(self.manifest["fixture_version"])


def write_fixtures(
    outdir: str | Path, trials: str | Iterable[str] | None = None, *, force: bool = False
) -> FixtureSet:
    """Write the fixtures of these trials, ``manifest.json`` and its schema into ``outdir``.

    Every path is checked before any file is written (an existing file is
    refused unless ``force``), and the files are written all or none
    (:class:`~coachstats.data.outputs.OutputSet`).

    Examples
    --------
    >>> import tempfile
    >>> fs = write_fixtures(tempfile.mkdtemp(), "peer")
    >>> sorted(p.name for p in fs.files)
    ['manifest.json', 'manifest.schema.json', 'peer_patients.csv', 'peer_patients.parquet']
    """
    manifest = build_manifest(trials)
    directory = Path(outdir)
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"OUTDIR {directory} is a file; the fixtures are written into a folder")
    source = bundled_data_dir()
    contents: dict[str, str | bytes] = {
        f["path"]: (source / f["path"]).read_bytes() for f in manifest["files"]
    }
    contents[MANIFEST_SCHEMA] = json.dumps(schema("manifest"), indent=2) + "\n"
    contents[MANIFEST] = json.dumps(manifest, indent=2) + "\n"
    made = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    outs = OutputSet(force=force)
    try:
        for name in contents:  # every path checked before any is written
            outs.add(directory / name, option="OUTDIR")
        with outs:  # all written, or none
            for name, content in contents.items():
                outs.write(directory / name, content)
    except BaseException:
        if made:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    return FixtureSet(directory, tuple(outs.written), manifest)
