"""Check results another pipeline computed on the fixtures against their known answers.

``coachstats check RESULTS --against hcpc|peer|all`` (and
:func:`check_results`) reads a tidy table of results -- CSV or JSON, one row
per target id (:mod:`coachstats.tasks.expected`; the ids are listed in the
fixture manifest) -- and compares each with the expected value within its
tolerance.

**The results format** (schema ``results.schema.json``; docs/ci.md):

============  ========  ====================================================
column        required  meaning
============  ========  ====================================================
``target``    yes       the target id, e.g. ``hcpc.composite_any.coaching``
``estimate``  yes       the value on the target's scale (percent 0-100, count,
                        mean, or the difference first group minus second);
                        may be blank on a row that only gives a P value
``conf_low``  no        lower confidence limit
``conf_high`` no        upper confidence limit
``p``         no        the P value (0-1)
``n``         no        the number of patients analysed in the group
``sd``        no        the standard deviation (group means)
``label``     no        free text, ignored
``note``      no        free text, ignored
============  ========  ====================================================

A JSON file is either a list of such rows or an object
``{"fixture_version": "2", "results": [rows]}``.

**What is reported**: every selected target passes, fails (a field outside its
tolerance, with expected, got and the tolerance's reason) or is missing; ids
that are not targets are *unknown* (each with a did-you-mean); targets of
trials outside ``--against`` (or ``--only``) are *outside the selection*. The
estimate and the P value are required where a published value exists; n, SD
and the interval are checked when given (the interval must contain the
estimate). The check fails on a mismatch, a missing target, or an unknown id.

Examples
--------
>>> rows = [{"target": "peer.randomized.coaching", "estimate": 148},
...         {"target": "peer.randomized.usual_care", "estimate": 150},
...         {"target": "peer.clinic", "estimate": 6}]
>>> report = check_results(rows, against="peer", only=["peer.randomized.*", "peer.clinics"])
>>> report.ok, report.counts()
(False, {'pass': 1, 'fail': 1, 'missing': 1, 'unknown': 1, 'outside selection': 0})
>>> print(report.diff())
2 of 3 targets do not match; 1 unknown target id(s) (fixture version 2):
  peer.randomized.usual_care (Randomized: Usual care group)
    estimate: expected exactly 151, got 150 [a count: exact]
  peer.clinics (Clinics): missing from the results (required: estimate)
  unknown target 'peer.clinic': did you mean 'peer.clinics'?
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pandas as pd

from coachstats.core.errors import FileFormatError, FixtureError, OptionError, raise_if_failures
from coachstats.core.paths import require_file
from coachstats.data.source import IN_MEMORY
from coachstats.tasks.expected import FIELDS, Bound, CheckTarget, check_targets
from coachstats.tasks.fixtures import fixture_version as current_fixture_version
from coachstats.tasks.schemas import stamp

__all__ = [
    "NUMERIC_COLUMNS",
    "RESULT_COLUMNS",
    "STATUSES",
    "CheckReport",
    "FieldResult",
    "TargetCheck",
    "UnknownId",
    "assert_matches_published",
    "check_results",
    "read_results",
]

#: Columns of the results format, in order (``target`` and ``estimate`` required).
RESULT_COLUMNS: tuple[str, ...] = (
    "target",
    "estimate",
    "conf_low",
    "conf_high",
    "p",
    "n",
    "sd",
    "label",
    "note",
)
NUMERIC_COLUMNS: tuple[str, ...] = ("estimate", "conf_low", "conf_high", "p", "n", "sd")
_REQUIRED_COLUMNS = ("target", "estimate")
#: Column names other pipelines often use, and the results format's name for them.
_COLUMN_HINTS = {
    "id": "target",
    "target_id": "target",
    "p_value": "p",
    "pvalue": "p",
    "pval": "p",
    "value": "estimate",
    "est": "estimate",
    "lower": "conf_low",
    "upper": "conf_high",
    "ci_low": "conf_low",
    "ci_high": "conf_high",
    "lcl": "conf_low",
    "ucl": "conf_high",
    "std": "sd",
    "std_dev": "sd",
}
PASS, FAIL, MISSING, NOT_CHECKED = "pass", "fail", "missing", "not checked"
#: Per-target statuses.
STATUSES: tuple[str, ...] = (PASS, FAIL, MISSING, NOT_CHECKED)


# --------------------------------------------------------------------------- reading


def _frame_from_json(doc: Any, where: str) -> tuple[pd.DataFrame, str | None]:
    if isinstance(doc, Mapping) and "results" in doc:
        version = doc.get("fixture_version")
        return pd.DataFrame(list(doc["results"])), None if version is None else str(version)
    if isinstance(doc, list):
        return pd.DataFrame(doc), None
    raise FileFormatError(
        f"{where}: expected a list of result rows or an object with a 'results' list "
        "(docs/ci.md, 'The results format')"
    )


def _load(source: Any) -> tuple[pd.DataFrame, str | None, str]:
    """(rows, declared fixture version, description of the source)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), None, IN_MEMORY
    if isinstance(source, (str, Path)):
        path = require_file(source, "results file")
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                return pd.read_csv(path, dtype={"target": str}), None, str(path)
            if suffix == ".json":
                doc = json.loads(path.read_text(encoding="utf-8"))
                frame, version = _frame_from_json(doc, str(path))
                return frame, version, str(path)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FileFormatError(f"cannot read {path} as {suffix[1:]}: {exc}") from None
        raise FileFormatError(f"results file {path.name}: use a .csv or .json file")
    if isinstance(source, Mapping):
        if "results" in source:
            frame, version = _frame_from_json(source, "results")
            return frame, version, "<mapping>"
        rows = [
            {"target": k, **(dict(v) if isinstance(v, Mapping) else {"estimate": v})}
            for k, v in source.items()
        ]
        return (
            pd.DataFrame(rows, columns=None if rows else ["target", "estimate"]),
            None,
            "<mapping>",
        )
    if isinstance(source, Iterable):
        return pd.DataFrame(list(source)), None, "<rows>"
    raise FileFormatError(
        "results must be a .csv or .json path, a DataFrame, a list of row dicts or a mapping "
        f"of target id to estimate; got {type(source).__name__}"
    )


def read_results(source: Any) -> tuple[pd.DataFrame, str | None, str]:
    """Read and validate results in the check format.

    Returns the rows (columns of :data:`RESULT_COLUMNS`, numbers as floats),
    the fixture version the results declare (JSON only; None otherwise) and a
    description of the source.

    Raises
    ------
    SchemaError
        Listing every problem: unknown or missing columns (with the format's
        name for a familiar one), empty or duplicated target ids, values that
        are not numbers, P values outside 0-1, negative or fractional n.
    FileFormatError
        A file that cannot be found or read.

    Examples
    --------
    >>> try:
    ...     read_results([{"id": "hcpc.age", "estimate": "52,7", "p_value": 0.2}])
    ... except Exception as e:
    ...     print(e)
    4 problem(s) found in the results <rows>:
      1. column 'id': not a column of the results format; rename it to 'target'
      2. column 'p_value': not a column of the results format; rename it to 'p'
      3. column 'target': required column missing; columns: target, estimate, conf_low, conf_high, p, n, sd, label, note
      4. column 'estimate': not a number [rows: 1] [values: '52,7']
    """
    frame, version, where = _load(source)
    failures: list[dict[str, Any]] = []
    for col in frame.columns:
        if col not in RESULT_COLUMNS:
            hint = _COLUMN_HINTS.get(str(col).lower()) or next(
                iter(difflib.get_close_matches(str(col), RESULT_COLUMNS, n=1)), None
            )
            fix = f"rename it to {hint!r}" if hint else f"columns: {', '.join(RESULT_COLUMNS)}"
            failures.append(
                {"column": col, "problem": f"not a column of the results format; {fix}"}
            )
    for col in _REQUIRED_COLUMNS:
        if col not in frame.columns:
            failures.append(
                {
                    "column": col,
                    "problem": f"required column missing; columns: {', '.join(RESULT_COLUMNS)}",
                }
            )
    rows = pd.RangeIndex(1, len(frame) + 1)  # 1-based row numbers as a reader counts them
    out = pd.DataFrame(index=frame.index)
    if "target" in frame.columns:
        ids = frame["target"].astype("string").str.strip()
        blank = ids.isna() | (ids == "")
        if blank.any():
            failures.append(_rows("target", "empty target id", blank, rows))
        dup = ids.duplicated(keep=False) & ~blank
        if dup.any():
            failures.append(_rows("target", "duplicated target id", dup, rows, ids))
        out["target"] = ids
    for col in NUMERIC_COLUMNS:
        if col not in frame.columns:
            out[col] = math.nan
            continue
        raw = frame[col]
        numbers = pd.to_numeric(raw.map(_blank_to_na), errors="coerce")
        bad = numbers.isna() & raw.map(_blank_to_na).notna()
        bad |= raw.map(lambda v: isinstance(v, bool))
        if bad.any():
            failures.append(_rows(col, "not a number", bad, rows, raw))
        out[col] = numbers.astype(float)
    p, n, sd = out["p"], out["n"], out["sd"]
    for col, mask, problem in (
        ("p", (p < 0) | (p > 1), "P value outside 0 to 1"),
        ("n", n.notna() & ((n < 0) | (n % 1 != 0)), "n must be a whole number of patients"),
        ("sd", sd < 0, "SD must not be negative"),
    ):
        if mask.any():
            failures.append(_rows(col, problem, mask, rows, out[col]))
    raise_if_failures(failures, f"results {where}")
    return out.reset_index(drop=True), version, where


def _blank_to_na(v: Any) -> Any:
    return None if (isinstance(v, str) and not v.strip()) else v


def _rows(
    column: str, problem: str, mask: pd.Series, rows: pd.Index, values: pd.Series | None = None
) -> dict[str, Any]:
    keep = mask.fillna(False).to_numpy(dtype=bool)
    vals = [] if values is None else list(dict.fromkeys(values[keep].tolist()))
    return {"column": column, "rows": rows[keep].tolist(), "values": vals, "problem": problem}


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class FieldResult:
    """One field of one target: expected, got, and the verdict (``pass``, ``fail``, ``missing``)."""

    field: str
    status: str
    got: float
    expected: Bound | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "field": self.field,
            "status": self.status,
            "expected": self.expected.to_dict() if self.expected else None,
            "got": self.got if math.isfinite(self.got) else None,
            "message": self.message,
        }


@dataclass(frozen=True)
class TargetCheck:
    """One target's verdict: ``pass``, ``fail``, ``missing`` or ``not checked``, with each field."""

    target: CheckTarget
    status: str
    fields: tuple[FieldResult, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """A mismatch or a missing target."""
        return self.status in (FAIL, MISSING)

    def describe(self) -> str:
        """The lines a reader needs: which target, and what is wrong."""
        head = f"{self.target.id} ({self.target.label})"
        if self.status == MISSING:
            return f"{head}: missing from the results (required: {', '.join(self.target.required)})"
        lines = [head] + [f"  {f.message}" for f in self.fields if f.status != PASS]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "id": self.target.id,
            "trial": self.target.trial,
            "label": self.target.label,
            "status": self.status,
            "provenance": self.target.provenance,
            "fields": [f.to_dict() for f in self.fields],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class UnknownId:
    """A results row whose id is no target, with the closest target ids."""

    id: str
    suggestions: tuple[str, ...]

    def describe(self) -> str:
        """``unknown target 'x': did you mean 'y'?``."""
        hint = " or ".join(repr(s) for s in self.suggestions)
        return f"unknown target {self.id!r}" + (f": did you mean {hint}?" if hint else "")


def _field(name: str, bound: Bound, got: float, statistic: str) -> FieldResult:
    if bound.contains(got):
        return FieldResult(name, PASS, got, bound)
    message = f"{name}: expected {bound.describe()}, got {got:.10g} [{bound.reason}]"
    if statistic == "percent" and bound.contains(100 * got):
        message += "; this looks like a proportion: give percentages (0-100)"
    return FieldResult(name, FAIL, got, bound, message)


def _compare(target: CheckTarget, row: Mapping[str, Any]) -> TargetCheck:
    fields: list[FieldResult] = []
    notes: list[str] = []
    expected = target.expected()
    for name in FIELDS:
        got = float(row[name])
        bound = expected.get(name)
        if bound is None:
            if math.isfinite(got):
                why = target.not_checked.get(name, "no published value")
                notes.append(f"{name} not checked: {why}")
            continue
        if not math.isfinite(got):
            if name in target.required:
                fields.append(FieldResult(name, MISSING, got, bound, f"{name}: not given"))
            continue
        fields.append(_field(name, bound, got, target.statistic))
    low, high, est = (float(row[c]) for c in ("conf_low", "conf_high", "estimate"))
    if math.isfinite(low) or math.isfinite(high):
        ok = math.isfinite(low) and math.isfinite(high) and low <= high
        ok = ok and (not math.isfinite(est) or low <= est <= high)
        message = (
            ""
            if ok
            else f"confidence interval: ({low:.10g}, {high:.10g}) must be two limits "
            f"around the estimate {est:.10g}"
        )
        fields.append(FieldResult("ci", PASS if ok else FAIL, math.nan, None, message))
        if ok:
            notes.append("interval checked for consistency only (no published interval)")
    if not expected:
        return TargetCheck(target, NOT_CHECKED, tuple(fields), tuple(notes))
    failed = any(f.status != PASS for f in fields)
    return TargetCheck(target, FAIL if failed else PASS, tuple(fields), tuple(notes))


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, eq=False)
class CheckReport:
    """The verdict of :func:`check_results`: per target, unknown ids, targets outside the selection."""

    against: tuple[str, ...]
    only: tuple[str, ...]
    fixture_version: str
    source: str
    checks: tuple[TargetCheck, ...]
    unknown: tuple[UnknownId, ...] = ()
    outside: tuple[str, ...] = ()
    manifest: str = "installed coachstats"
    results_version: str | None = field(default=None)

    @property
    def ok(self) -> bool:
        """No mismatch, no missing target, no unknown id."""
        return not self.unknown and not any(c.failed for c in self.checks)

    def counts(self) -> dict[str, int]:
        """Targets per status, then unknown ids and results outside the selection."""
        out = {s: 0 for s in (PASS, FAIL, MISSING)}
        for c in self.checks:
            if c.status in out:
                out[c.status] += 1
        return {**out, "unknown": len(self.unknown), "outside selection": len(self.outside)}

    def failures(self) -> list[TargetCheck]:
        """The targets that failed or are missing."""
        return [c for c in self.checks if c.failed]

    def _scope(self) -> str:
        text = ", ".join(self.against)
        if self.only:
            text += f" (only {', '.join(self.only)})"
        return text

    def diff(self) -> str:
        """What does not match: each failing target with expected, got and tolerance."""
        bad = self.failures()
        checked = sum(1 for c in self.checks if c.status != NOT_CHECKED)
        if not bad and not self.unknown:
            return f"all {checked} targets match (fixture version {self.fixture_version})"
        head = f"{len(bad)} of {checked} targets do not match"
        if self.unknown:
            head += f"; {len(self.unknown)} unknown target id(s)"
        lines = [f"{head} (fixture version {self.fixture_version}):"]
        lines += ["  " + c.describe().replace("\n", "\n  ") for c in bad]
        lines += ["  " + u.describe() for u in self.unknown]
        return "\n".join(lines)

    def summary(self) -> str:
        """The text report: scope, counts, what does not match, what was not checked."""
        counts = self.counts()
        lines = [
            f"coachstats check: {self.source} against {self._scope()} "
            f"(fixture version {self.fixture_version}; expected values from {self.manifest})",
            "  " + ", ".join(f"{v} {k}" for k, v in counts.items()),
        ]
        if not self.ok:
            lines.append(self.diff())
        if self.outside:
            lines.append(
                f"outside the selection (not checked): {', '.join(self.outside[:10])}"
                + (f" and {len(self.outside) - 10} more" if len(self.outside) > 10 else "")
            )
        lines.append("OK" if self.ok else "FAILED")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (schema ``check.schema.json``)."""
        return stamp(
            "check",
            {
                "ok": self.ok,
                "fixture_version": self.fixture_version,
                "results_fixture_version": self.results_version,
                "manifest": self.manifest,
                "source": self.source,
                "against": list(self.against),
                "only": list(self.only),
                "counts": self.counts(),
                "targets": [c.to_dict() for c in self.checks],
                "unknown": [{"id": u.id, "suggestions": list(u.suggestions)} for u in self.unknown],
                "outside_selection": list(self.outside),
            },
        )

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_junit(self) -> str:
        """JUnit XML: a test suite per trial, a test case per target, failures with their diff."""
        root = ET.Element("testsuites", name="coachstats check")
        suites: dict[str, ET.Element] = {}

        def suite(name: str) -> ET.Element:
            if name not in suites:
                suites[name] = ET.SubElement(root, "testsuite", name=f"coachstats check: {name}")
                props = ET.SubElement(suites[name], "properties")
                for key, value in (
                    ("fixture_version", self.fixture_version),
                    ("source", self.source),
                    ("against", self._scope()),
                ):
                    ET.SubElement(props, "property", name=key, value=value)
            return suites[name]

        for c in self.checks:
            case = ET.SubElement(
                suite(c.target.trial),
                "testcase",
                classname=f"coachstats.{c.target.trial}",
                name=c.target.id,
            )
            if c.status == FAIL:
                messages = [f.message for f in c.fields if f.status != PASS]
                ET.SubElement(
                    case, "failure", type="mismatch", message="; ".join(messages)
                ).text = c.describe()
            elif c.status == MISSING:
                ET.SubElement(
                    case, "failure", type="missing", message="missing from the results"
                ).text = c.describe()
            elif c.status == NOT_CHECKED:
                reasons = "; ".join(f"{k}: {v}" for k, v in c.target.not_checked.items())
                ET.SubElement(case, "skipped", message=f"nothing to check: {reasons}")
        for u in self.unknown:
            case = ET.SubElement(suite("unknown"), "testcase", classname="coachstats", name=u.id)
            ET.SubElement(case, "failure", type="unknown id", message=u.describe())
        for tid in self.outside:
            case = ET.SubElement(
                suite("outside selection"), "testcase", classname="coachstats", name=tid
            )
            ET.SubElement(case, "skipped", message="outside --against / --only: not checked")
        total = {"tests": 0, "failures": 0, "skipped": 0}
        for element in suites.values():
            tests = element.findall("testcase")
            counts = {
                "tests": len(tests),
                "failures": sum(1 for t in tests if t.find("failure") is not None),
                "skipped": sum(1 for t in tests if t.find("skipped") is not None),
            }
            for key, value in counts.items():
                element.set(key, str(value))
                total[key] += value
            element.set("errors", "0")
        for key, value in total.items():
            root.set(key, str(value))
        root.set("errors", "0")
        ET.indent(root)
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(root, encoding="unicode")
            + "\n"
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items() if v)
        return f"<CheckReport {list(self.against)}: {counts}; ok={self.ok}>"


# --------------------------------------------------------------------------- entry points


def _targets_of(manifest: Any) -> tuple[list[CheckTarget], str, str]:
    """(targets, fixture version, where the expected values come from)."""
    if manifest is None:
        return check_targets(), current_fixture_version(), "installed coachstats"
    where = "<manifest>"
    doc = manifest
    if isinstance(manifest, (str, Path)):
        path = Path(manifest)
        if not path.is_file():
            raise FileFormatError(f"manifest not found: {path}")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise FileFormatError(f"cannot read {path} as JSON: {exc}") from None
        where = str(path)
    if not isinstance(doc, Mapping) or "targets" not in doc or "fixture_version" not in doc:
        raise FileFormatError(
            f"{where} is not a fixture manifest (no 'targets' or 'fixture_version'); "
            "write one with `coachstats fixtures OUTDIR`"
        )
    targets = [CheckTarget.from_dict(t) for t in doc["targets"]]
    return targets, str(doc["fixture_version"]), where


def _selected_trials(against: str | Sequence[str], known: Sequence[str], where: str) -> list[str]:
    """The trials named by ``against`` (``"all"``, names, comma-separated names)."""
    trials = list(dict.fromkeys(known))
    items = [against] if isinstance(against, str) else list(against)
    names = [n.strip() for item in items for n in str(item).split(",") if n.strip()]
    if not names or "all" in names:
        return trials
    bad = [n for n in names if n not in trials]
    if bad:
        raise OptionError(
            f"--against {', '.join(bad)}: no such trial in {where}; "
            f"choose all or one of {', '.join(trials)}"
        )
    return list(dict.fromkeys(names))


def check_results(
    results: Any,
    against: str | Sequence[str] = "all",
    *,
    only: Sequence[str] | None = None,
    manifest: Any = None,
    fixture_version: str | None = None,
) -> CheckReport:
    """Compare another pipeline's results with the fixtures' expected values.

    Parameters
    ----------
    results : path, DataFrame, list of dicts or mapping
        In the results format (:func:`read_results`); a mapping may also be
        ``{target id: estimate}`` or ``{target id: {"estimate": ..., "p": ...}}``.
    against : str or list of str
        ``"all"``, a registry trial (``"hcpc"``, ``"peer"``, ``"hcpc_24"``...)
        or several (a list, or comma-separated).
    only : list of str, optional
        Glob patterns of target ids to check (``"hcpc.composite_*"``); the
        other targets of ``against`` are not required.
    manifest : path or dict, optional
        A ``manifest.json`` written by ``coachstats fixtures`` (a pinned
        version); default: this coachstats' own targets and fixture version.
    fixture_version : str, optional
        The fixture version the results were computed on; also read from a
        JSON results file. A version other than the manifest's raises.

    Raises
    ------
    FixtureError
        The results declare another fixture version than the manifest's.
    """
    targets, version, where = _targets_of(manifest)
    trials = _selected_trials(against, [t.trial for t in targets], where)
    frame, declared, source = read_results(results)
    given = fixture_version if fixture_version is not None else declared
    if given is not None and str(given) != version:
        raise FixtureError(
            f"the results were computed on fixture version {given}, but the expected values are "
            f"for fixture version {version}; recompute on `coachstats fixtures OUTDIR` of this "
            "version, or check against the manifest of your version with --manifest"
        )
    patterns = tuple(only or ())
    _refuse_dead_patterns(patterns, [t.id for t in targets if t.trial in trials], trials)
    selected = [
        t
        for t in targets
        if t.trial in trials
        and (not patterns or any(fnmatch.fnmatchcase(t.id, p) for p in patterns))
    ]
    by_id: dict[str, dict[str, Any]] = {
        str(r["target"]): {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    }
    checks = []
    for t in selected:
        row = by_id.get(t.id)
        if row is not None:
            checks.append(_compare(t, row))
        elif t.required:
            checks.append(TargetCheck(t, MISSING))
        else:
            checks.append(TargetCheck(t, NOT_CHECKED))
    all_ids = [t.id for t in targets]
    chosen = {t.id for t in selected}
    unknown = tuple(
        UnknownId(i, tuple(difflib.get_close_matches(i, all_ids, n=2, cutoff=0.75)))
        for i in by_id
        if i not in set(all_ids)
    )
    outside = tuple(i for i in by_id if i in set(all_ids) and i not in chosen)
    return CheckReport(
        against=tuple(trials),
        only=patterns,
        fixture_version=version,
        source=source,
        checks=tuple(checks),
        unknown=unknown,
        outside=outside,
        manifest=where,
        results_version=None if given is None else str(given),
    )


def _refuse_dead_patterns(
    patterns: Sequence[str], ids: Sequence[str], trials: Sequence[str]
) -> None:
    """Raise :class:`OptionError` naming every ``only`` pattern that matches no target of ``trials``.

    A pattern that matches nothing (a typo) would otherwise check nothing and pass.

    Examples
    --------
    >>> _refuse_dead_patterns(["peer.clin*"], ["peer.clinics"], ["peer"])
    >>> _refuse_dead_patterns(["peer.clinic", "zz*"], ["peer.clinics"], ["peer"])
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: --only: 2 pattern(s) match no target of peer, so nothing would be checked for them: 'peer.clinic' (did you mean 'peer.clinics'?), 'zz*'; target ids are trial.figure[.group], e.g. 'peer.clinics' (manifest.json of `coachstats fixtures OUTDIR` lists them all)
    """
    dead = [p for p in patterns if not any(fnmatch.fnmatchcase(i, p) for i in ids)]
    if not dead:
        return
    shown = []
    for p in dead:
        close = difflib.get_close_matches(p, ids, n=2, cutoff=0.75)
        shown.append(repr(p) + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
    example = f", e.g. {ids[0]!r}" if ids else ""
    raise OptionError(
        f"--only: {len(dead)} pattern(s) match no target of {', '.join(trials)}, so nothing "
        f"would be checked for them: {', '.join(shown)}; target ids are trial.figure[.group]"
        f"{example} (manifest.json of `coachstats fixtures OUTDIR` lists them all)"
    )


def assert_matches_published(
    results: Any,
    trial: str | Sequence[str] = "all",
    *,
    only: Sequence[str] | None = None,
    manifest: Any = None,
) -> CheckReport:
    """Raise ``AssertionError`` with a readable diff unless ``results`` match the published figures.

    The pytest plugin (:mod:`coachstats.testing`) exposes it; the arguments
    are those of :func:`check_results`. Returns the report when everything
    matches.

    Examples
    --------
    >>> assert_matches_published({"peer.clinics": 6}, trial="peer", only=["peer.clinics"])
    <CheckReport ['peer']: pass=1; ok=True>
    >>> assert_matches_published({"peer.clinics": 7}, trial="peer", only=["peer.clinics"])
    Traceback (most recent call last):
    ...
    AssertionError: 1 of 1 targets do not match (fixture version 2):
      peer.clinics (Clinics)
        estimate: expected exactly 6, got 7 [a count: exact]
    """
    __tracebackhide__ = True
    report = check_results(results, trial, only=only, manifest=manifest)
    if not report.ok:
        raise AssertionError(report.diff())
    return report
