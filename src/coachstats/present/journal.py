"""A table as a journal prints it: :class:`JournalTable`, rendered as text or in Word.

A journal table has three horizontal rules (above the headers, under them, under the
last row) and no vertical lines; column groups are spanned by a header with a short rule
under it; numbers are right-aligned; what the numbers are and how they were computed is
said in notes (footnotes) under the table, each row pointing to its note with a
superscript letter. Every coachstats table that a reader sees -- the outcome table
(:mod:`coachstats.present.tables`), Table 1 (:mod:`coachstats.present.table1`), the
evaluation and reproduction tables of a report -- is built as one
:class:`JournalTable`, then printed by the command line (:meth:`JournalTable.to_text`)
or written to Word (:meth:`JournalTable.to_docx`, :mod:`coachstats.present.docx`).

Examples
--------
>>> t = JournalTable(("Outcome", "Coaching", "Usual care", "P"),
...     (("One clinical goal", "90 (46.4%)", "61 (34.3%)", ".02"),),
...     caption="Table 2. Outcomes", marks=("a",), notes=("a Pearson's chi-square test.",))
>>> print(t.to_text())
Table 2. Outcomes
──────────────────────────────────────────────────
Outcome                  Coaching  Usual care    P
──────────────────────────────────────────────────
One clinical goal (a)  90 (46.4%)  61 (34.3%)  .02
──────────────────────────────────────────────────
a Pearson's chi-square test.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from coachstats.core.errors import OptionError

if TYPE_CHECKING:
    from docx.document import Document

__all__ = ["RULE", "JournalTable", "Span", "footnote_marks"]

RULE = "\u2500"
"""The character of the text rules (a box-drawing horizontal line)."""

Span = tuple[str, int, int]
"""A column group: its header and the first and one-past-last column it spans."""

_GAP = 2  # spaces between text columns


def footnote_marks(notes: list[str], texts: list[str]) -> list[str]:
    """One footnote letter per text (``"a"``, ``"b"``...), the same letter for the same text.

    ``notes`` collects the distinct texts, each prefixed with its letter, in order.
    An empty text gets no letter.

    Examples
    --------
    >>> notes = []
    >>> footnote_marks(notes, ["chi-square", "t test", "chi-square", ""]), notes
    (['a', 'b', 'a', ''], ['a chi-square', 'b t test'])
    """
    letters: dict[str, str] = {}
    out = []
    for text in texts:
        if not text:
            out.append("")
            continue
        if text not in letters:
            k = len(letters)
            letters[text] = chr(ord("a") + k % 26) * (k // 26 + 1)
            notes.append(f"{letters[text]} {text}")
        out.append(letters[text])
    return out


@dataclass(frozen=True)
class JournalTable:
    """A table as a journal prints it: headers, rows of text cells, column groups, notes.

    Attributes
    ----------
    headers : tuple of str
        One per column.
    rows : tuple of tuple of str
        The body, one text cell per column.
    caption : str
        The title above the table (``"Table 2. ..."``).
    spans : tuple of Span
        Column groups: a header spanning columns ``first`` to ``last - 1``.
    numeric : tuple of bool
        Right-aligned (number) columns; default every column but the first.
    indented : tuple of bool
        Rows whose first cell is indented (the levels of a categorical variable).
    marks : tuple of str
        Per row, the footnote letter(s) after its cell in :attr:`mark_column` (empty: none).
    notes : tuple of str
        The notes under the table (footnotes start with their letter).
    mark_column : int
        The column whose cells carry the footnote letters (default the first).
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    spans: tuple[Span, ...] = ()
    numeric: tuple[bool, ...] = ()
    indented: tuple[bool, ...] = ()
    marks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    mark_column: int = 0

    def __post_init__(self) -> None:
        k = len(self.headers)
        bad = [i for i, r in enumerate(self.rows) if len(r) != k]
        if bad:
            raise OptionError(f"table rows {bad[:5]} do not have {k} cells (one per header)")
        for name in ("numeric",):
            given = getattr(self, name)
            if given and len(given) != k:
                raise OptionError(f"{name} needs one flag per column ({k}), got {len(given)}")
        for name in ("indented", "marks"):
            given = getattr(self, name)
            if given and len(given) != len(self.rows):
                raise OptionError(f"{name} needs one entry per row ({len(self.rows)})")
        if not 0 <= self.mark_column < k:
            raise OptionError(f"mark_column {self.mark_column} is not one of the {k} columns")
        for label, first, last in self.spans:
            if not 0 <= first < last <= k:
                raise OptionError(f"span {label!r} covers columns {first}..{last - 1} of {k}")

    @property
    def right(self) -> tuple[bool, ...]:
        """Right-aligned columns (:attr:`numeric`, default every column but the first)."""
        return self.numeric or tuple(i > 0 for i in range(len(self.headers)))

    def text_cells(self, row: int) -> list[str]:
        """The cells of ``row`` with its footnote letter in parentheses (for text)."""
        cells = list(self.rows[row])
        mark = self.marks[row] if self.marks else ""
        if mark:
            cells[self.mark_column] += f" ({mark})"
        return cells

    def without_empty_columns(self) -> JournalTable:
        """The table without the columns that are empty in every row (the first column stays).

        Examples
        --------
        >>> t = JournalTable(("a", "b", "c"), (("x", "", "1"), ("y", "", "2")), spans=(("g", 1, 3),))
        >>> s = t.without_empty_columns()
        >>> s.headers, s.rows, s.spans
        (('a', 'c'), (('x', '1'), ('y', '2')), (('g', 1, 2),))
        """
        keep = [
            i for i in range(len(self.headers)) if i == 0 or any(r[i].strip() for r in self.rows)
        ]
        if len(keep) == len(self.headers):
            return self
        spans = []
        for label, first, last in self.spans:
            inside = [j for j, i in enumerate(keep) if first <= i < last]
            if inside:
                spans.append((label, inside[0], inside[-1] + 1))
        return replace(
            self,
            headers=tuple(self.headers[i] for i in keep),
            rows=tuple(tuple(r[i] for i in keep) for r in self.rows),
            spans=tuple(spans),
            numeric=tuple(self.right[i] for i in keep),
            mark_column=keep.index(self.mark_column) if self.mark_column in keep else 0,
        )

    def to_text(self, *, width: int = 100) -> str:
        """The table as plain text: three rules of :data:`RULE`, spanners, right-aligned numbers.

        Notes are wrapped at ``width`` characters (the table itself is as wide as it needs).
        """
        k = len(self.headers)
        body = [self.text_cells(i) for i in range(len(self.rows))]
        indent = self.indented or (False,) * len(body)
        for cells, ind in zip(body, indent, strict=True):
            if ind:
                cells[0] = "  " + cells[0]
        widths = [max([len(self.headers[j]), *(len(r[j]) for r in body)]) for j in range(k)]
        for label, first, last in self.spans:  # a spanner wider than its columns widens the last
            inner = sum(widths[first:last]) + _GAP * (last - first - 1)
            if len(label) > inner:
                widths[last - 1] += len(label) - inner
        right = self.right

        def line(cells: list[str]) -> str:
            out = [
                c.rjust(w) if right[j] else c.ljust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return (" " * _GAP).join(out).rstrip()

        total = sum(widths) + _GAP * (k - 1)
        rule = RULE * total
        lines = [self.caption] if self.caption else []
        lines.append(rule)
        if self.spans:
            starts = [sum(widths[:j]) + _GAP * j for j in range(k)]
            top = [" "] * total
            under = [" "] * total
            for label, first, last in self.spans:
                a, b = starts[first], starts[last - 1] + widths[last - 1]
                text = label.center(b - a)
                top[a:b] = list(text)
                under[a:b] = list(RULE * (b - a))
            lines += ["".join(top).rstrip(), "".join(under).rstrip()]
        lines += [line(list(self.headers)), rule]
        lines += [line(cells) for cells in body]
        lines.append(rule)
        for note in self.notes:
            lines += textwrap.wrap(note, width) or [""]
        return "\n".join(lines)

    def to_docx(
        self, path: str | Path | None = None, *, document: Document | None = None
    ) -> Document:
        """The table in Word: a three-line table, footnote letters as superscripts, the notes.

        Parameters
        ----------
        path : str or Path, optional
            Save the document here (``.docx``).
        document : docx.document.Document, optional
            Add the table to this document; default a new one
            (:func:`coachstats.present.docx.new_document`).

        Returns
        -------
        docx.document.Document
        """
        from coachstats.present.docx import add_table, new_document, save_document

        doc = document if document is not None else new_document()
        add_table(doc, self)
        if path is not None:
            save_document(doc, path)
        return doc
