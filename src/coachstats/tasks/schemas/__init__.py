"""The published JSON Schemas of coachstats' JSON outputs and inputs, in one place.

Each schema is a file ``<name>.schema.json`` in this package (JSON Schema
draft 2020-12) and carries its own version as the ``const`` of its
``schema_version`` property; the outputs read their version from here, so a
schema and the version its outputs declare cannot disagree. The change policy
is in ``docs/schemas.md``:

* ``manifest`` -- ``manifest.json`` of ``coachstats fixtures``;
* ``results`` -- the results another pipeline hands to ``coachstats check``
  (JSON form; the CSV form has the same columns);
* ``check`` -- ``coachstats check --format json``;
* ``reproduce`` -- ``coachstats reproduce --format json``;
* ``analyze`` -- ``coachstats analyze --out result.json``;
* ``evaluate`` -- ``coachstats evaluate --out result.json``.

Examples
--------
>>> schema_version("check")
'1.0'
>>> schema("manifest")["title"]
'coachstats fixture manifest'
>>> stamp("check", {"ok": True})
{'schema_version': '1.0', 'ok': True}
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from coachstats.core.errors import check_option

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCHEMAS", "json_records", "schema", "schema_file", "schema_version", "stamp"]

#: The names of the published schemas.
SCHEMAS: tuple[str, ...] = ("manifest", "results", "check", "reproduce", "analyze", "evaluate")


def schema_file(name: str) -> Traversable:
    """The schema file of ``name`` (one of :data:`SCHEMAS`), inside the installed package."""
    check_option("schema", name, SCHEMAS)
    return resources.files(__name__).joinpath(f"{name}.schema.json")


@cache
def _load(name: str) -> str:
    return schema_file(name).read_text(encoding="utf-8")


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of ``name`` as a dict (a fresh copy)."""
    out: dict[str, Any] = json.loads(_load(name))
    return out


def schema_version(name: str) -> str:
    """The version the schema of ``name`` declares (``properties.schema_version.const``)."""
    return str(schema(name)["properties"]["schema_version"]["const"])


def stamp(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with ``schema_version`` first: what every JSON output of ``name`` carries."""
    return {"schema_version": schema_version(name), **payload}


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON-ready records: NaN and NA become null, dates ISO text, other objects text.

    Examples
    --------
    >>> import pandas as pd
    >>> json_records(pd.DataFrame({"a": [1.5, float("nan")], "b": ["x", None]}))
    [{'a': 1.5, 'b': 'x'}, {'a': None, 'b': None}]
    """
    out: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return out
