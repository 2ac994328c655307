"""The records of a registry file besides its targets: the citation (checked against the
published record), the design, and the key check every registry loader runs on its TOML
tables (:mod:`coachstats.trials.registry`, :mod:`coachstats.trials.evidence`).

Examples
--------
>>> Design(arms={"coaching": 224, "usual_care": 217}, months=12).n_randomized
441
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from coachstats.core.errors import OptionError

__all__ = ["Citation", "Design", "check_keys"]


def check_keys(allowed: type | Iterable[str], data: Mapping[str, Any], what: str) -> None:
    """Raise :class:`OptionError` naming the keys of ``data`` not allowed in a registry table.

    ``allowed`` is a dataclass (its fields) or the key names. The registries'
    loaders (this module's, :mod:`coachstats.trials.evidence`) call it on each
    TOML table, so that a misspelt key fails when the file loads.

    Examples
    --------
    >>> check_keys(Citation, {"authors": "A", "jounral": "J"}, "citation")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: citation: unknown key(s) ['jounral']; allowed: ['authors', 'doi', 'issue', 'journal', ...]
    """
    names = {f.name for f in fields(allowed)} if isinstance(allowed, type) else set(allowed)
    bad = sorted(set(data) - names)
    if bad:
        raise OptionError(f"{what}: unknown key(s) {bad}; allowed: {sorted(names)}")


@dataclass(frozen=True)
class Citation:
    """Where the published figures come from: the paper, checked against its published record.

    ``authors`` lists the authors as printed (Vancouver style, ``"Thom DH, Ghorob A"``);
    ``pmid`` the PubMed id, ``registration`` the trial registration (NCT number);
    ``verification`` says where each identifier was checked, and which could not be
    (an identifier that could not be checked is left out, never guessed).

    Examples
    --------
    >>> c = Citation("Thom DH, Ghorob A, Hessler D, De Vore D, Chen E, Bodenheimer TA",
    ...              "Ann Fam Med", 2013, "11", "137-144", "10.1370/afm.1443", pmid="23508600")
    >>> c.short_authors
    'Thom DH, et al.'
    >>> c.text()
    'Thom DH, et al. Ann Fam Med 2013;11:137-144. doi:10.1370/afm.1443 PMID 23508600'
    """

    authors: str
    journal: str
    year: int
    volume: str | None = None
    pages: str | None = None
    doi: str | None = None
    title: str | None = None
    registration: str | None = None
    pmid: str | None = None
    issue: str | None = None
    verification: str = ""

    @property
    def short_authors(self) -> str:
        """The first author and "et al." when there are more than three (else all of them)."""
        names = [a.strip() for a in self.authors.removesuffix("et al.").split(",") if a.strip()]
        if self.authors.rstrip().endswith("et al.") or len(names) > 3:
            return f"{names[0]}, et al."
        return ", ".join(names) + "."

    def _identifiers(self) -> str:
        ids = [f"doi:{self.doi}"] if self.doi else []
        if self.pmid:
            ids.append(f"PMID {self.pmid}")
        if self.registration:
            ids.append(self.registration)
        return " ".join(ids)

    def text(self) -> str:
        """Short one-line reference: first author, journal, year;volume:pages, identifiers."""
        ref = f"{self.short_authors} {self.journal} {self.year}"
        if self.volume:
            ref += f";{self.volume}"
        if self.pages:
            ref += f":{self.pages}"
        ref += "."
        ids = self._identifiers()
        return f"{ref} {ids}" if ids else ref

    def reference(self) -> str:
        """The full Vancouver reference: every author, title, journal, issue and identifiers.

        Examples
        --------
        >>> from coachstats.trials.registry import get_trial
        >>> print(get_trial("peer").citation.reference())  # doctest: +NORMALIZE_WHITESPACE
        Thom DH, Ghorob A, Hessler D, De Vore D, Chen E, Bodenheimer TA. Impact of peer health
        coaching on glycemic control in low-income patients with diabetes: a randomized
        controlled trial. Ann Fam Med. 2013;11(2):137-144. doi:10.1370/afm.1443 PMID 23508600
        NCT01040806
        """
        authors = self.authors.rstrip(".")
        ref = f"{authors}. "
        if self.title:
            title = self.title.rstrip(".")
            ref += title + (" " if title.endswith(("?", "!")) else ". ")
        ref += f"{self.journal}. {self.year}"
        if self.volume:
            ref += f";{self.volume}" + (f"({self.issue})" if self.issue else "")
        if self.pages:
            ref += f":{self.pages}"
        ref += "."
        ids = self._identifiers()
        return f"{ref} {ids}" if ids else ref


@dataclass(frozen=True)
class Design:
    """Arms and n randomized, sites, follow-up months."""

    arms: Mapping[str, int]
    months: int
    sites: Mapping[str, int] = field(default_factory=dict)
    n_sites: int | None = None
    description: str = ""
    eligibility: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", MappingProxyType(dict(self.arms)))
        object.__setattr__(self, "sites", MappingProxyType(dict(self.sites)))
        if self.n_sites is None:
            object.__setattr__(self, "n_sites", len(self.sites) or None)

    @property
    def n_randomized(self) -> int:
        """Total randomized."""
        return int(sum(self.arms.values()))
