"""Right-hand sides of model formulas: ``"age + bmi + C(site)"``, ``"insulin*arm"``.

:func:`parse_formula` reads a main-effects formula into ``(name, categorical)``
terms and :func:`covariate_terms` merges them with ``covariates=`` given by
name. :func:`model_terms` also reads interactions, as R and patsy write them:
``a:b`` is the product term and ``a*b`` expands to ``a + b + a:b`` (``a*b*c``
to every main effect and product). The arm column may appear in an
interaction (``"arm*insulin"``: effect modification by insulin use) and as a
bare term, which adds nothing (the arm is always in the model). The coding of
each term is :func:`coachstats.compare.design.build_design`'s.

Examples
--------
>>> parse_formula("age + bmi + C(site)")
(('age', False), ('bmi', False), ('site', True))
>>> t = model_terms(["age"], "insulin*arm + C(site)*age", arm="arm")
>>> t.main, t.interactions
((('age', False), ('insulin', False), ('site', True)), (('insulin', 'arm'), ('site', 'age')))
>>> t.arm_interactions
(('insulin', 'arm'),)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from coachstats.core.errors import OptionError

__all__ = ["ModelTerms", "covariate_terms", "model_terms", "parse_formula"]

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


# --------------------------------------------------------------------------- interactions


@dataclass(frozen=True)
class ModelTerms:
    """The terms of a model besides the arm: main effects and interactions.

    Attributes
    ----------
    main : tuple of (str, bool)
        Main-effect covariates ``(name, categorical)``, as :func:`covariate_terms`
        gives them (the arm is never one of them).
    interactions : tuple of tuple of str
        Product terms, each the factor names in the order written (two or
        more; the arm column may be one of them).
    categorical : frozenset of str
        Names written as ``C(name)`` anywhere (coded as categorical).
    arm : str
        Name of the arm column.
    """

    main: tuple[tuple[str, bool], ...] = ()
    interactions: tuple[tuple[str, ...], ...] = ()
    categorical: frozenset[str] = frozenset()
    arm: str = "arm"

    @property
    def arm_interactions(self) -> tuple[tuple[str, ...], ...]:
        """The interactions that involve the arm (effect modification)."""
        return tuple(t for t in self.interactions if self.arm in t)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column the terms use, the arm excluded, in order of appearance."""
        names = [n for n, _ in self.main]
        names += [f for t in self.interactions for f in t if f != self.arm]
        return tuple(dict.fromkeys(names))

    def is_categorical(self, name: str) -> bool:
        """True when ``name`` was written ``C(name)``."""
        return name in self.categorical

    def present(self, factors: Sequence[str]) -> bool:
        """True when the term with these factors is in the model (the arm always is).

        The empty term (the intercept) is present too.
        """
        wanted = frozenset(factors)
        if len(wanted) == 0 or wanted == {self.arm}:
            return True
        if len(wanted) == 1:
            return next(iter(wanted)) in {n for n, _ in self.main}
        return any(frozenset(t) == wanted for t in self.interactions)


def _factor(text: str, formula: str) -> tuple[str, bool]:
    m = _TERM.match(text.strip())
    if m is None or text.strip() in ("0", "1", "-1"):
        raise OptionError(
            f"formula term {text.strip()!r} in {formula!r} is not supported; write column "
            "names and C(name), joined by '+', ':' (product) or '*' (main effects and "
            "product); no transformations or left-hand side"
        )
    return (m.group("cat") or m.group("name")).strip(), m.group("cat") is not None


def model_terms(
    covariates: Sequence[str] | str = (), formula: str | None = None, *, arm: str = "arm"
) -> ModelTerms:
    """Main effects and interactions from ``covariates=`` and ``formula=``.

    ``a*b`` expands to ``a + b + a:b``; a factor repeated in a product counts
    once (``a:a`` is ``a``); the bare arm adds nothing. ``covariates`` are
    main effects by name.

    Raises
    ------
    OptionError
        A term that is not a column name or ``C(name)``: a left-hand side,
        a transformation (``log(x)``), ``-1``, an empty term.

    Examples
    --------
    >>> model_terms(formula="a*b*arm", arm="arm").interactions
    (('a', 'b'), ('a', 'arm'), ('b', 'arm'), ('a', 'b', 'arm'))
    >>> model_terms(formula="age:arm + arm", arm="arm").main
    ()
    """
    names = [covariates] if isinstance(covariates, str) else list(covariates)
    main: dict[str, bool] = {str(c): False for c in names}
    products: dict[frozenset[str], tuple[str, ...]] = {}
    categorical: set[str] = set()
    text = (formula or "").strip()
    if text.startswith("~"):
        text = text[1:]
    for raw in text.split("+") if text else ():
        if "~" in raw:
            _factor(raw, formula or "")  # raises
        parts = [[_factor(f, formula or "") for f in p.split(":")] for p in raw.split("*")]
        for part in parts:
            categorical.update(name for name, cat in part if cat)
        for k in range(1, len(parts) + 1):
            for combo in itertools.combinations(parts, k):
                factors = tuple(dict.fromkeys(name for part in combo for name, _ in part))
                if len(factors) == 1:
                    if factors[0] != arm:
                        main.setdefault(factors[0], False)
                else:
                    products.setdefault(frozenset(factors), factors)
    for name in main:
        main[name] = main[name] or name in categorical
    return ModelTerms(
        main=tuple(main.items()),
        interactions=tuple(products.values()),
        categorical=frozenset(categorical),
        arm=arm,
    )
