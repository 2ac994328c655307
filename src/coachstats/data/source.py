"""Where analysed data came from: :class:`DataSource`.

Every result that was computed from loaded data carries its source -- the
file, the SHA-256 of its bytes, and the loader options that mapped and
converted it -- so a report, a JSON output or a reviewer can tell exactly
which data, read how, produced each number.

Examples
--------
>>> s = DataSource("program.csv", "ab" * 32, {"columns": {"group": "arm"}, "sheet": None})
>>> s.describe()
"program.csv (SHA-256 abababababab...); loaded with columns={'group': 'arm'}"
>>> DataSource().describe()
'<DataFrame>'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["IN_MEMORY", "DataSource"]

#: The path of data given as a DataFrame rather than a file.
IN_MEMORY = "<DataFrame>"


@dataclass(frozen=True)
class DataSource:
    """A data set's origin: ``path`` (or ``"<DataFrame>"``), ``sha256`` of the file, loader ``options``.

    ``options`` holds the keyword arguments the loader was called with, as
    given (column mapping, arm labels, units, sheet, design...); options left
    at None are omitted from :meth:`describe`.
    """

    path: str = IN_MEMORY
    sha256: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @property
    def is_file(self) -> bool:
        """True when the data were read from a file."""
        return self.path != IN_MEMORY

    def describe(self) -> str:
        """One line: the path, a short hash, and the options that were set."""
        text = self.path
        if self.sha256:
            text += f" (SHA-256 {self.sha256[:12]}...)"
        given = {k: v for k, v in self.options.items() if v is not None}
        if given:
            text += "; loaded with " + ", ".join(f"{k}={v!r}" for k, v in given.items())
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON outputs."""
        return {"path": self.path, "sha256": self.sha256, "options": dict(self.options)}
