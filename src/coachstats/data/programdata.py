"""Load an evaluator's program file: column-mapping files and tolerant loading.

:func:`read_mapping` reads a mapping file (YAML, JSON or TOML) that says which
of your columns is which schema column (``arm: Group``, ``hba1c_0: A1c
baseline``), how your arm labels map to ``coaching`` / ``usual_care``, the
units of your labs and the Excel sheet. :func:`load_program` loads the patient
table through :func:`coachstats.load_trial`, loads single-arm programs when
asked (``design="single-arm"``; a file that is not clearly two-arm is refused,
with the columns that look like an arm), and can exclude the rows that fail validation
-- listing each, with its reason and patient ids, in ``TrialData.notes`` --
instead of refusing the whole file.

Examples
--------
>>> import pandas as pd
>>> td = load_program(pd.DataFrame({"id": [1, 2], "a1c": [9.5, 8.7], "a1c_12": [8.1, 8.0]}),
...                   columns={"id": "patient_id", "a1c": "hba1c_0", "a1c_12": "hba1c_12"},
...                   design="single-arm")
>>> td.n, td.followup, td.notes[0]
(2, 12, 'no arm column: a single-arm program (every patient coached)')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from coachstats.core.errors import FileFormatError, SchemaError, check_option, list_some, shorten
from coachstats.core.paths import require_file
from coachstats.data.io import file_sha256
from coachstats.data.schema import MISSING_ID, PATIENT_SCHEMA, column_spec, normalize_arm_labels
from coachstats.data.suggest import (
    arm_candidates,
    arms_option,
    measure_hint,
    with_column_hints,
)
from coachstats.data.trialdata import TrialData

__all__ = ["DESIGNS", "MappingFile", "load_program", "orient_columns", "read_mapping"]

ProgramDesign = Literal["auto", "two-arm", "single-arm"]
DESIGNS: tuple[str, ...] = get_args(ProgramDesign)
OnInvalid = Literal["error", "exclude"]


@dataclass(frozen=True)
class MappingFile:
    """What a mapping file says: your column names, arm labels, units, category levels and sheet.

    ``columns`` maps your names to the schema's (as ``load_trial(columns=)``).
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    arms: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sheet: str | int | None = None
    path: str = ""


_SCHEMA_NAMES = frozenset(c.name for c in PATIENT_SCHEMA)


def _is_schema_name(name: object) -> bool:
    return isinstance(name, str) and (name in _SCHEMA_NAMES or column_spec(name) is not None)


def orient_columns(mapping: Mapping[str, Any], source: str) -> dict[str, str]:
    """Your name -> schema name, from a mapping written either way round.

    Raises :class:`SchemaError` naming the entries with no schema column on
    either side (``source`` says where the mapping came from).

    Examples
    --------
    >>> orient_columns({"arm": "Group", "hba1c_0": "A1c base"}, "--map")
    {'Group': 'arm', 'A1c base': 'hba1c_0'}
    """
    pairs = {str(k): str(v) for k, v in mapping.items()}
    if not pairs:
        return {}
    keys_schema = all(_is_schema_name(k) for k in pairs)
    values_schema = all(_is_schema_name(v) for v in pairs.values())
    if keys_schema:
        return {yours: schema for schema, yours in pairs.items()}
    if values_schema:
        return pairs
    bad = sorted(k for k, v in pairs.items() if not _is_schema_name(k) and not _is_schema_name(v))
    raise SchemaError(
        [
            {
                "column": ", ".join(bad) or ", ".join(pairs),
                "rows": [],
                "values": [],
                "problem": f"{source}: write the column mapping as 'schema_name: your_column' "
                "(e.g. 'arm: Group', 'hba1c_0: A1c baseline'); these entries name no schema column "
                f"on either side (schema columns: {', '.join(sorted(_SCHEMA_NAMES))}, "
                "hba1c_0, hba1c_12, sbp_0, ...)",
            }
        ],
        title="column mapping problem(s)",
    )


def read_mapping(path: str | Path) -> MappingFile:
    """Read a column-mapping file (YAML, JSON or TOML).

    The file is either a flat mapping of schema names to your column names
    (``arm: Group``), the same orientation as ``--map arm=Group`` (the other
    orientation, your name to schema name, is recognised too), or a document
    with the sections ``columns``, ``arms`` (your label -> ``coaching`` /
    ``usual_care``), ``units`` (measure -> unit, e.g. ``hba1c: mmol/mol``),
    ``levels`` (categorical column -> your label -> level, e.g. ``sex: {1: male,
    2: female}``) and ``sheet`` (Excel sheet). YAML needs PyYAML.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.json"
    >>> _ = p.write_text('{"columns": {"patient_id": "MRN", "arm": "Group"}, "units": {"hba1c": "mmol/mol"}}')
    >>> m = read_mapping(p)
    >>> dict(m.columns), dict(m.units)
    ({'MRN': 'patient_id', 'Group': 'arm'}, {'hba1c': 'mmol/mol'})
    """
    p = require_file(path, "mapping file")
    if p.stat().st_size > MAX_MAPPING_BYTES:
        raise FileFormatError(
            f"mapping file {shorten(p.name)} has {p.stat().st_size:,} bytes; a mapping file lists "
            f"column names and labels (at most {MAX_MAPPING_BYTES:,} bytes): is it the data file?"
        )
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"mapping file {shorten(p.name)} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from None
    suffix = p.suffix.lower()
    try:
        if suffix == ".json":
            doc = json.loads(text)
        elif suffix == ".toml":
            import tomllib

            doc = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml  # noqa: F401  (checked here, used by _load_yaml)
            except ImportError as exc:  # pragma: no cover - PyYAML ships with the environment
                raise FileFormatError(
                    "reading a YAML mapping needs PyYAML (pip install pyyaml); or write it as JSON/TOML"
                ) from exc
            doc = _load_yaml(text, p.name)
        else:
            raise FileFormatError(f"mapping file {p.name}: use .yaml, .yml, .json or .toml")
    except FileFormatError:
        raise
    except Exception as exc:  # each parser raises its own error type
        raise FileFormatError(
            f"cannot parse the mapping file {shorten(p.name)}: {shorten(exc, 300)}"
        ) from None
    if not isinstance(doc, Mapping):
        raise FileFormatError(f"mapping file {p.name} must hold a mapping (key: value lines)")
    sections = {"columns", "arms", "units", "levels", "sheet"}
    if not (set(doc) & sections) or (set(doc) - sections and "columns" not in doc):
        _refuse_nested(doc, f"mapping file {p.name}")
        return MappingFile(columns=orient_columns(doc, p.name), path=str(p))
    unknown = sorted(set(doc) - sections)
    if unknown:
        raise FileFormatError(
            f"mapping file {p.name}: unknown section(s) {unknown}; allowed: {sorted(sections)}"
        )
    for key in ("columns", "arms", "units", "levels"):
        if key in doc and not isinstance(doc[key], Mapping):
            raise FileFormatError(f"mapping file {p.name}: '{key}' must be a mapping")
        if key != "levels":
            _refuse_nested(doc.get(key) or {}, f"mapping file {p.name}, section '{key}'")
    levels = doc.get("levels") or {}
    for col, spec in levels.items():
        if not isinstance(spec, Mapping):
            raise FileFormatError(
                f"mapping file {p.name}: levels of {col!r} must map your labels to levels "
                "(e.g. sex: {1: male, 2: female})"
            )
        _refuse_nested(spec, f"mapping file {p.name}, levels of {col!r}")
    sheet = doc.get("sheet")
    return MappingFile(
        columns=orient_columns(doc.get("columns") or {}, p.name),
        arms={str(k): str(v) for k, v in (doc.get("arms") or {}).items()},
        units={str(k): str(v) for k, v in (doc.get("units") or {}).items()},
        levels={str(c): {str(k): str(v) for k, v in m.items()} for c, m in levels.items()},
        sheet=sheet if isinstance(sheet, (str, int)) else None,
        path=str(p),
    )


#: The largest mapping file read (a mapping lists names; a larger file is another file).
MAX_MAPPING_BYTES = 1_000_000
#: The most YAML nodes a mapping file may expand to, aliases followed (alias bombs are refused).
MAX_YAML_NODES = 10_000


def _load_yaml(text: str, name: str) -> Any:
    """``yaml.safe_load``, refusing documents whose aliases expand beyond :data:`MAX_YAML_NODES`.

    The node graph is measured before anything is built: a few hundred bytes
    of nested aliases (a "billion laughs") would otherwise expand to gigabytes.

    Examples
    --------
    >>> _load_yaml("columns: {arm: Group}", "m.yaml")
    {'columns': {'arm': 'Group'}}
    >>> bomb = "a: &a [x, x, x, x, x, x, x, x, x]\\n" + "".join(
    ...     f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\\n"
    ...     for p, c in zip("abcdefg", "bcdefgh"))
    >>> try:
    ...     _load_yaml(bomb, "m.yaml")
    ... except FileFormatError as e:
    ...     print(str(e)[:60])
    mapping file m.yaml expands to more than 10,000 YAML nodes t
    """
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, name)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: Any, name: str) -> None:
    """Count the nodes of a composed YAML graph as if every alias were copied (memoized, linear)."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = (
            [x for pair in node.value for x in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_YAML_NODES:
                raise FileFormatError(
                    f"mapping file {name} expands to more than {MAX_YAML_NODES:,} YAML nodes "
                    "through its aliases (*name); a mapping file needs no aliases: write the "
                    "names out"
                )
            continue
        if key in active:
            raise FileFormatError(f"mapping file {name} has a recursive YAML alias; remove it")
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _refuse_nested(section: Mapping[Any, Any], where: str) -> None:
    """Every entry of a mapping section names one thing: a list or mapping there is an error."""
    bad = [k for k, v in section.items() if isinstance(v, (Mapping, list, tuple, set))]
    if bad:
        raise FileFormatError(
            f"{where}: {list_some([repr(str(k)) for k in bad])} must name a column or label, "
            "not hold a list or a mapping (write 'schema_name: your_column')"
        )


def _source_column(raw: pd.DataFrame, columns: Mapping[str, str] | None, schema: str) -> str | None:
    for yours, target in (columns or {}).items():
        if target == schema and yours in raw.columns:
            return yours
    for c in raw.columns:
        if str(c).strip().lower() == schema:
            return str(c)
    return None


#: Problems in these columns concern the file (ids, arm labels), never excluded row by row.
_FILE_LEVEL = ("patient_id", "arm")


def _row_failures(error: SchemaError) -> tuple[set[Any], list[str], bool] | None:
    """Patient ids of row-level problems, the notes, and whether rows lack an id; None if any
    problem concerns the whole file.

    The rows of a missing patient id are file lines (or positions), not ids: they are
    excluded as the rows without an id, never matched against the ids (a patient whose id
    is the same number would be dropped instead).
    """
    ids: set[Any] = set()
    lines: list[str] = []
    no_id = False
    for f in error.failures.itertuples(index=False):
        rows: list[Any] = list(f.rows) if isinstance(f.rows, (list, tuple)) else []
        shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
        if rows and f.column == "patient_id" and str(f.problem).startswith(MISSING_ID):
            no_id = True  # a row's own problem (duplicated ids and arm labels are the file's)
            where = str(f.problem).split("(", 1)[-1].removesuffix(" shown)")
            lines.append(f"excluded {len(rows)} row(s) without a patient id [{where}: {shown}]")
            continue
        if not rows or f.column in _FILE_LEVEL:
            return None
        ids.update(rows)
        lines.append(
            f"excluded {len(rows)} row(s) with {f.column!r}: {f.problem} [patients: {shown}]"
        )
    return ids, lines, no_id


def _names_usual_care(label: Any, arms: Mapping[Any, str]) -> bool:
    """Whether an arm label means usual care, by the user's ``arms`` or the usual spellings.

    Examples
    --------
    >>> _names_usual_care("Usual Care", {}), _names_usual_care("UC", {}), _names_usual_care("Group A", {})
    (True, True, False)
    """
    mapped, _ = normalize_arm_labels(pd.Series([label], dtype=object), arms or None)
    return str(mapped.iloc[0]) == "usual_care"


def _check_single_arm_is_coached(td: TrialData, arm_src: str | None) -> None:
    """A single-arm program is compared as the coached arm: its one arm must map to coaching."""
    found = sorted(pd.unique(td.patients["arm"].astype(str)).tolist())
    if found != ["coaching"]:
        raise SchemaError(
            [
                {
                    "column": arm_src or "arm",
                    "rows": [],
                    "values": found,
                    "problem": "a single-arm program is evaluated as the coached arm, but its "
                    f"only arm maps to {', '.join(map(repr, found))}; map the program's label "
                    "to 'coaching' (or give a file with both arms)",
                }
            ]
        )


def _single_arm_refusal(
    raw: pd.DataFrame, columns: Mapping[str, str] | None, arm_src: str | None, labels: list[Any]
) -> SchemaError:
    """The error for a file that is not clearly two-arm, with the fixes on both interfaces."""
    single = (
        "if the program has no comparison group, say so: --single-arm (Python: design='single-arm')"
    )
    if arm_src is not None and not labels:
        problem = (
            f"the arm column is blank in every row: not a two-arm file; fill it in, or {single}"
        )
        return SchemaError([{"column": arm_src, "rows": [], "values": [], "problem": problem}])
    if arm_src is not None:
        problem = (
            f"the arm column has one label ({', '.join(map(repr, labels)) or 'none'}): not a "
            f"two-arm file; {single}"
        )
        return SchemaError([{"column": arm_src, "rows": [], "values": labels, "problem": problem}])
    candidates = arm_candidates(raw, columns)
    if candidates:
        name, values = candidates[0]
        arms_cli, arms_py = arms_option(values)
        others = "".join(f", or {n!r} ({list_some(map(repr, v))})" for n, v in candidates[1:])
        problem = (
            f"no arm column; column {name!r} looks like one ({len(values)} values: "
            f"{list_some(map(repr, values))}){others}. Map it: --map arm={name} "
            f"--arms {arms_cli} (Python: columns={{{name!r}: 'arm'}}, arms={{{arms_py}}}); "
            f"or, {single}"
        )
    else:
        problem = (
            "no arm column (coaching or usual care for each patient): map yours with "
            f"--map arm=YOUR_COLUMN (Python: columns={{'YOUR_COLUMN': 'arm'}}); or, {single}"
        )
    return SchemaError([{"column": "arm", "rows": [], "values": [], "problem": problem}])


def load_program(
    source: str | Path | pd.DataFrame | TrialData,
    *,
    columns: Mapping[str, str] | None = None,
    arms: Mapping[Any, str] | None = None,
    units: Mapping[str, str] | None = None,
    levels: Mapping[str, Mapping[Any, str]] | None = None,
    sheet: str | int | None = None,
    design: ProgramDesign = "auto",
    on_invalid: OnInvalid = "error",
    censored: Literal["error", "limit", "missing"] = "error",
    require_baseline: bool = False,
    read_columns: Literal["all", "schema"] = "all",
) -> TrialData:
    """Load a program's patient file (any format of :func:`coachstats.load_trial`).

    Parameters
    ----------
    source : path, DataFrame or TrialData
        The patient table.
    columns, arms, units, levels, sheet, censored, require_baseline
        As in :func:`coachstats.load_trial` (``columns``: your names -> schema names;
        ``levels``: e.g. ``{"sex": {"1": "male", "2": "female"}}``).
    design : {"auto", "two-arm", "single-arm"}
        ``"single-arm"``: every patient is coached (no arm column needed; a
        column with one label is mapped to ``coaching``). ``"auto"`` and
        ``"two-arm"``: the file must have both arms; a file without an arm
        column, or with one label only, is refused, and the error names the
        columns that look like an unmapped arm (a single-arm program is
        analysed only when asked).
    on_invalid : {"error", "exclude"}
        Rows failing validation (impossible or unreadable values...): raise one
        :class:`~coachstats.core.errors.SchemaError` listing every problem, or
        exclude those patients and record each exclusion, with its reason and
        the patient ids, in ``TrialData.notes`` (never silently). Problems of
        the whole file (a missing column, a mapping error, duplicate or missing
        ids, unknown or missing arm labels) always raise, as does a file whose
        every row is invalid.
    read_columns : {"all", "schema"}
        ``"schema"`` reads only the columns the schema knows (and ``columns``
        maps) from a Parquet file, for commands that analyse nothing else
        (``coachstats analyze`` and ``evaluate``): questionnaire items and
        other fields of a wide export are then neither read nor kept (a note
        counts them). Other formats are read whole.

    Returns
    -------
    TrialData

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"MRN": [1, 2, 3], "A1c": [9.4, 99.0, 8.8], "A1c 12m": [8.0, 7.5, 9.1]})
    >>> td = load_program(raw, columns={"MRN": "patient_id", "A1c": "hba1c_0", "A1c 12m": "hba1c_12"},
    ...                   design="single-arm", on_invalid="exclude")
    >>> td.n, td.patients["arm"].unique().tolist()
    (2, ['coaching'])
    >>> [n for n in td.notes if n.startswith("excluded")]
    ["excluded 1 row(s) with 'hba1c_0': impossible value(s); allowed: 3 to 20 % [patients: 2]"]
    """
    from coachstats.data.io import load_trial as _load
    from coachstats.data.io import read_table, schema_columns

    check_option("design", design, DESIGNS)
    check_option("on_invalid", on_invalid, get_args(OnInvalid))
    check_option("read_columns", read_columns, ("all", "schema"))
    if isinstance(source, TrialData):
        return source
    notes: list[str] = []
    n_invalid = 0
    sha = None
    if isinstance(source, pd.DataFrame):
        raw = source.copy(deep=False)  # copy-on-write: columns are shared until changed
        label = "<DataFrame>"
    else:
        path = Path(source)
        expected = [c.name for c in PATIENT_SCHEMA] + list(columns or {})
        keep = schema_columns(columns) if read_columns == "schema" else None
        raw = read_table(path, sheet=sheet, expected=expected, notes=notes, keep=keep)
        label = str(path)
        sha = file_sha256(path)
    raw = raw.rename(columns=lambda c: str(c).strip())
    unread = measure_hint(raw, columns)
    if unread:  # 'A1C 12m' is not hba1c_12: say so, not only "no hba1c values" later
        notes.append(unread)
    arm_src = _source_column(raw, columns, "arm")
    arm_map = dict(arms or {})
    n_arms: Literal[1, 2] = 2
    labels: list[Any] = pd.unique(raw[arm_src].dropna()).tolist() if arm_src is not None else []
    has_ids = _source_column(raw, columns, "patient_id") is not None
    has_rows = bool(raw.notna().any(axis=1).any())  # none: loading says the file has no rows
    if design == "auto" and has_ids and has_rows and (arm_src is None or len(labels) <= 1):
        # single-arm only when asked: a two-arm file with an unmapped arm column would
        # otherwise be analysed as if every patient were coached
        raise _single_arm_refusal(raw, columns, arm_src, labels)
    if design == "single-arm":
        if arm_src is None and has_ids:
            # without an id column the file is unmapped: let validation report both columns
            raw["arm"] = "coaching"
            notes.append("no arm column: a single-arm program (every patient coached)")
        n_arms = 1
        if len(labels) == 1 and _names_usual_care(labels[0], arm_map):
            notes.append(f"arm column has one label ({labels[0]!r}), which is usual care")
        elif len(labels) == 1:
            arm_map.setdefault(labels[0], "coaching")
            notes.append(f"arm column has one label ({labels[0]!r}): a single-arm program")
    kwargs: dict[str, Any] = {
        "columns": columns,
        "arms": arm_map or None,
        "units": units,
        "levels": levels,
        "n_arms": n_arms,
        "censored": censored,
        "require_baseline": require_baseline,
    }
    try:
        td = _load(raw, **kwargs)
    except SchemaError as exc:
        hinted = with_column_hints(exc, raw, columns)
        if hinted is not exc:  # a required column is missing: say which of yours looks like it
            raise hinted from None
        found = _row_failures(exc) if on_invalid == "exclude" else None
        id_src = _source_column(raw, columns, "patient_id")
        if found is None or id_src is None:
            raise
        ids, lines, no_id = found
        missing_id = raw[id_src].isna().to_numpy() if no_id else np.zeros(len(raw), dtype=bool)
        drop = raw[id_src].isin(list(ids)).to_numpy() | missing_id
        if drop.all():
            raise
        notes.extend(lines)
        # patients, not rows: a patient of long data has several rows (a row without an id
        # is one patient of its own)
        n_invalid = int(pd.unique(raw.loc[drop & ~missing_id, id_src]).size + missing_id.sum())
        n_rows = int(drop.sum())
        notes.append(
            f"{n_invalid} patient row(s) excluded as invalid (--exclude-invalid, on_invalid='exclude')"
            if n_rows == n_invalid
            else f"{n_invalid} patient(s) ({n_rows} rows of long data) excluded as invalid "
            "(--exclude-invalid, on_invalid='exclude')"
        )
        kept = raw.loc[~drop].reset_index(drop=True)
        if "lines" in raw.attrs and len(raw.attrs["lines"]) == len(raw):
            kept.attrs["lines"] = [
                x for x, d in zip(raw.attrs["lines"], drop, strict=True) if not d
            ]
        td = _load(kept, **kwargs)
        if td.intake is not None:
            td = replace(
                td,
                intake=replace(
                    td.intake,
                    records=td.intake.records + n_rows,
                    patients=td.intake.patients + n_invalid,
                ),
            )
    if n_arms == 1:
        _check_single_arm_is_coached(td, arm_src)
    all_notes = tuple(notes) + td.notes
    out = replace(
        td,
        source=label,
        sha256=sha,
        notes=all_notes,
        load_options={
            **td.load_options,
            "sheet": sheet,
            "design": design,
            "on_invalid": on_invalid,
            "read_columns": read_columns,
            "arms": dict(arms) if arms else None,
        },
        # a program's patients were enrolled, not (necessarily) randomized
        flow=replace(
            td.flow,
            notes=all_notes,
            entry="Enrolled",
            excluded_on_load={"invalid data": n_invalid} if n_invalid else {},
        ),
    )
    if out.intake is not None:
        out.intake.check(out.flow)
    return out
