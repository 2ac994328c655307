"""Levels of the categorical patient columns: sex, language, ethnicity.

Files code these columns their own way (``F``/``M``, ``Female``/``male``,
``Hispanic``, ``Español``, ``1``/``2``). :func:`normalize_levels` maps the
common spellings onto one canonical level per category
(:data:`CATEGORY_LEVELS`), so that a comparison with a published share -- the
female share of a trial -- counts the same patients whatever the spelling.
Tokens for an unknown value (``unknown``, ``declined``...) become missing.

Numeric codes are not guessed (``1`` is male under ISO/IEC 5218 but female in
many exports): they, and any other level that is not recognised, are left as
they are and reported, and a comparison that needs the column does not count
them as 0 % -- it says the level is unmatched. ``levels=`` maps them:
``{"sex": {"1": "male", "2": "female"}}`` (``--levels sex=1:male,2:female``;
a mapping file's ``levels:`` section).

Examples
--------
>>> import pandas as pd
>>> s, unmatched = normalize_levels(pd.Series(["F", "male", "Female", None, 2]), "sex")
>>> s.tolist(), unmatched
(['female', 'male', 'female', <NA>, '2'], ['2'])
>>> normalize_levels(pd.Series([1, 2, 2]), "sex", {"1": "male", "2": "female"})[0].tolist()
['male', 'female', 'female']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from coachstats.core.errors import SchemaError

__all__ = [
    "CATEGORY_LEVELS",
    "MISSING_TOKENS",
    "canonical_levels",
    "levels_advice",
    "normalize_levels",
]


def _key(x: object) -> str:
    """A label compared case-, space- and punctuation-insensitively (``1.0`` reads as ``1``)."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return re.sub(r"[\s\-/]+", "_", str(x).strip().lower()).strip("_")


#: Canonical levels of each categorical column, and the spellings recognised for each.
CATEGORY_LEVELS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "sex": {
            "female": ("female", "f", "woman", "women", "femme", "mujer", "fem"),
            "male": ("male", "m", "man", "men", "hombre", "masc"),
            "other": ("other", "nonbinary", "non_binary", "x", "intersex"),
        },
        "language": {
            "spanish": ("spanish", "espanol", "español", "es", "spa", "sp"),
            "english": ("english", "en", "eng"),
            "chinese": ("chinese", "cantonese", "mandarin", "zh"),
            "other": ("other",),
        },
        "ethnicity": {
            "latino": (
                "latino",
                "latina",
                "latinx",
                "latine",
                "hispanic",
                "hispanic_latino",
                "hispanic_or_latino",
                "latino_hispanic",
            ),
            "african_american": (
                "african_american",
                "black",
                "black_african_american",
                "black_or_african_american",
            ),
            "asian": ("asian", "asian_american", "asian_pacific_islander", "api"),
            "white": ("white", "caucasian", "non_hispanic_white"),
            "other": ("other", "multiracial", "mixed", "native_american", "pacific_islander"),
        },
    }
)
#: Spellings of an unknown value: read as missing.
MISSING_TOKENS = frozenset(
    {"unknown", "not_known", "not_stated", "declined", "refused", "prefer_not_to_say", "na", "n_a"}
)


def canonical_levels(column: str) -> tuple[str, ...]:
    """The canonical levels of a categorical column (empty for other columns).

    Examples
    --------
    >>> canonical_levels("sex")
    ('female', 'male', 'other')
    """
    return tuple(CATEGORY_LEVELS.get(column, {}))


def levels_advice(column: str, unmatched: Sequence[str]) -> str:
    """How to map a column's unrecognised levels, without guessing what they mean.

    The example names the file's own levels and leaves each one's meaning to the user
    (``LEVEL``): a code such as ``1`` is male in one export and female in another, and an
    example that paired each with a level would be copied as it stands.

    Examples
    --------
    >>> levels_advice("sex", ["1", "2"])
    "map them with levels={'sex': {...}} (--levels sex=1:LEVEL,2:LEVEL, each LEVEL one of female, male, other)"
    """
    example = ",".join(f"{u}:LEVEL" for u in unmatched[:2])
    return (
        f"map them with levels={{'{column}': {{...}}}} (--levels {column}={example}, each "
        f"LEVEL one of {', '.join(canonical_levels(column))})"
    )


def _lookup(column: str, mapping: Mapping[Any, str] | None) -> dict[str, str]:
    table = {_key(s): level for level, spells in CATEGORY_LEVELS[column].items() for s in spells}
    allowed = canonical_levels(column)
    for yours, level in (mapping or {}).items():
        target = _key(level)
        if target not in allowed:
            raise SchemaError(
                [
                    {
                        "column": column,
                        "rows": [],
                        "values": [level],
                        "problem": f"levels= maps {yours!r} to {level!r}; allowed levels of "
                        f"{column}: {', '.join(allowed)}",
                    }
                ],
                title="level mapping problem(s)",
            )
        table[_key(yours)] = target
    return table


#: Inferred kinds of an object column whose equal values always give the same level.
_ONE_KIND = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float", "boolean"})


def normalize_levels(
    values: pd.Series, column: str, mapping: Mapping[Any, str] | None = None
) -> tuple[pd.Series, list[str]]:
    """Map a categorical column's values onto its canonical levels.

    ``mapping`` (your label -> canonical level) comes first, then the
    recognised spellings of :data:`CATEGORY_LEVELS`; tokens of
    :data:`MISSING_TOKENS` become missing. Values matching nothing are kept
    as given (as text) and returned in the list of unmatched labels.

    Raises
    ------
    SchemaError
        ``mapping`` names a level the column does not have.
    """
    table = _lookup(column, mapping)
    unmatched: list[str] = []

    def level(x: object) -> object:
        k = _key(x)
        if k in table:
            return table[k]
        if k in MISSING_TOKENS or k == "":
            return pd.NA
        label = str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)
        if label not in unmatched:
            unmatched.append(label)
        return label

    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in _ONE_KIND:
        # values of several kinds (True == 1 when hashed): each by its type and value
        seen: dict[tuple[type, object], object] = {}
        out: list[object] = []
        for x in values.tolist():
            if x is None or (not isinstance(x, str) and pd.isna(x)):
                out.append(pd.NA)
                continue
            key = (type(x), x)
            if key not in seen:
                seen[key] = level(x)
            out.append(seen[key])
        return pd.Series(out, index=values.index, dtype="string"), unmatched
    # each distinct value once (in order of first appearance, as the notes list them)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([*(level(u) for u in uniques), pd.NA], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="string"), unmatched
