"""Right-hand sides of model formulas: ``"age + bmi + C(site)"``.

:func:`parse_formula` reads a formula into ``(name, categorical)`` terms and
:func:`covariate_terms` merges them with ``covariates=`` given by name; the
coding of each term is :func:`coachstats.compare.design.build_design`'s.

Examples
--------
>>> parse_formula("age + bmi + C(site)")
(('age', False), ('bmi', False), ('site', True))
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from coachstats.core.errors import OptionError

__all__ = ["covariate_terms", "parse_formula"]

_TERM = re.compile(r"^C\(\s*(?P<cat>[^()]+?)\s*\)$|^(?P<name>[^()~+*:]+)$")


# --------------------------------------------------------------------------- formulas


def parse_formula(formula: str) -> tuple[tuple[str, bool], ...]:
    """Parse a right-hand side such as ``"age + bmi + C(site)"``.

    Terms are column names separated by ``+``; ``C(name)`` codes ``name`` as
    categorical whatever its dtype. A leading ``~`` is allowed; a left-hand
    side, interactions (``:``, ``*``), transformations and ``-1`` are not.

    Returns
    -------
    tuple of (name, categorical)
        One entry per term, in order, duplicates removed.

    Examples
    --------
    >>> parse_formula("~ age + C(clinic_size)")
    (('age', False), ('clinic_size', True))
    >>> parse_formula("age * sex")
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: formula term 'age * sex' is not supported; write column names \
and C(name) separated by '+' (no interactions, transformations or left-hand side)
    """
    text = formula.strip()
    if text.startswith("~"):
        text = text[1:]
    terms: dict[str, bool] = {}
    for raw in text.split("+"):
        term = raw.strip()
        m = _TERM.match(term) if term else None
        if m is None or "~" in term or term in ("0", "1", "-1"):
            raise OptionError(
                f"formula term {term!r} is not supported; write column names and C(name) "
                "separated by '+' (no interactions, transformations or left-hand side)"
            )
        name = (m.group("cat") or m.group("name")).strip()
        terms[name] = terms.get(name, False) or m.group("cat") is not None
    return tuple(terms.items())


def covariate_terms(
    covariates: Sequence[str] | str = (), formula: str | None = None
) -> tuple[tuple[str, bool], ...]:
    """Combine ``covariates=`` (names) and ``formula=`` into one list of terms.

    Examples
    --------
    >>> covariate_terms(["age"], "bmi + C(site)")
    (('age', False), ('bmi', False), ('site', True))
    """
    names = [covariates] if isinstance(covariates, str) else list(covariates)
    terms: dict[str, bool] = {str(c): False for c in names}
    for name, cat in parse_formula(formula) if formula else ():
        terms[name] = terms.get(name, False) or cat
    return tuple(terms.items())
