"""Word documents (python-docx): journal tables, figures, headings and notes.

:func:`add_table` writes a :class:`~coachstats.present.journal.JournalTable` the way a
journal sets it: three horizontal rules (above the headers, under them, under the last
row) and no vertical lines, a short rule under each column group, numbers right-aligned,
footnote letters as superscripts after the row label and the notes under the table in a
smaller type; the header rows repeat on every page a long table runs over.
:func:`add_figure` embeds a PNG image with its title and caption. The Word report of
:mod:`coachstats.present.report.word` is built from these.

python-docx is imported only when a document is made.

Examples
--------
>>> from coachstats.present import journal
>>> doc = new_document()
>>> t = add_table(doc, journal.JournalTable(("Outcome", "P"), (("One clinical goal", ".02"),)))
>>> [c.text for c in t.rows[1].cells], rules(t)
(['One clinical goal', '.02'], {'top': [0], 'bottom': [0, 1]})
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table, _Cell


class TableLayout(Protocol):
    """What :func:`add_table` reads of a :class:`coachstats.present.journal.JournalTable`
    (a protocol: that module imports this one to write itself)."""

    @property
    def headers(self) -> tuple[str, ...]: ...
    @property
    def rows(self) -> tuple[tuple[str, ...], ...]: ...
    @property
    def caption(self) -> str: ...
    @property
    def spans(self) -> tuple[tuple[str, int, int], ...]: ...
    @property
    def right(self) -> tuple[bool, ...]: ...
    @property
    def indented(self) -> tuple[bool, ...]: ...
    @property
    def marks(self) -> tuple[str, ...]: ...
    @property
    def notes(self) -> tuple[str, ...]: ...
    @property
    def mark_column(self) -> int: ...


__all__ = [
    "BODY_FONT",
    "add_figure",
    "add_note",
    "add_table",
    "landscape",
    "new_document",
    "rules",
    "save_document",
    "to_bytes",
]

BODY_FONT = "Arial"
"""The font of the document (Liberation Sans stands in for it where Arial is missing)."""
_BODY_PT = 10.0
_TABLE_PT = 9.0
_WIDE_TABLE_PT = 7.5  # tables of more than 8 columns
_NOTE_PT = 8.0
_RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}  # 1 pt
_THIN_RULE = {"val": "single", "sz": "4", "space": "0", "color": "000000"}  # 1/2 pt


def new_document(title: str | None = None) -> Document:
    """A new Word document: A4 with 2 cm margins, Arial 10 pt, and ``title`` as its heading.

    Examples
    --------
    >>> doc = new_document("Report")
    >>> doc.paragraphs[0].text, doc.paragraphs[0].style.name
    ('Report', 'Title')
    """
    import docx
    from docx.shared import Cm, Pt

    doc = docx.Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(_BODY_PT)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "Caption"):
        doc.styles[name].font.name = BODY_FONT
    if title:
        doc.add_heading(title, level=0)
    return doc


@contextmanager
def landscape(document: Document) -> Iterator[None]:
    """Set what is added inside the block on landscape pages (wide tables), then portrait again.

    Examples
    --------
    >>> doc = new_document()
    >>> with landscape(doc):
    ...     _ = doc.add_paragraph("wide")
    >>> [int(s.orientation) for s in doc.sections]  # portrait, landscape, portrait
    [0, 1, 0]
    """
    from docx.enum.section import WD_ORIENT, WD_SECTION

    def turn(orientation: Any) -> None:
        section = document.add_section(WD_SECTION.NEW_PAGE)
        if section.orientation != orientation:
            section.page_width, section.page_height = section.page_height, section.page_width
        section.orientation = orientation

    turn(WD_ORIENT.LANDSCAPE)
    try:
        yield
    finally:
        turn(WD_ORIENT.PORTRAIT)


def _borders(cell: _Cell, **edges: dict[str, str]) -> None:
    """Set the given borders (``top=``, ``bottom=``) of ``cell`` (w:tcBorders)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    for edge, attrs in edges.items():
        element = borders.find(qn(f"w:{edge}"))
        if element is None:
            element = OxmlElement(f"w:{edge}")
            borders.append(element)
        for key, value in attrs.items():
            element.set(qn(f"w:{key}"), value)


def _no_table_borders(table: Table) -> None:
    """Switch off every border of the table's style (the rules are set per cell)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


def _write(cell: _Cell, text: str, *, size: float, right: bool, bold: bool = False) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.space_before = Pt(1)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
    return paragraph


def _column_widths(table: TableLayout, total_cm: float, size: float) -> list[float]:
    """Column widths in cm: each column as wide as its longest cell when the page allows;
    otherwise the columns with slack wrap first, none narrower than its longest word (a
    number column: its longest cell up to 20 characters)."""
    char = size * 0.52 / 72 * 2.54  # an average character of Arial at ``size`` points, in cm
    bold = size * 0.62 / 72 * 2.54  # of bold Arial (the headers)
    pad = 0.45  # the cell's left and right margins
    right = table.right
    need, least = [], []
    for j, header in enumerate(table.headers):
        body = [r[j] for r in table.rows]
        longest = max((len(c) for c in body), default=0) * char
        word = max(
            max((len(w) for w in header.split()), default=0) * bold,
            max((len(w) for c in body for w in c.split()), default=0) * char,
        )
        need.append(max(longest, word) + pad)
        least.append((max(min(longest, 20 * char), word) if right[j] else word) + pad)
    # a column of one long word (a SHA-256) breaks inside it rather than squeeze the others
    least = [min(m, 0.45 * total_cm) for m in least]
    if sum(need) <= total_cm:
        extra = total_cm - sum(need)
        return [w + extra * w / sum(need) for w in need]
    slack = [n - m for n, m in zip(need, least, strict=True)]
    excess = sum(need) - total_cm
    if sum(slack) >= excess:
        return [n - excess * s / sum(slack) for n, s in zip(need, slack, strict=True)]
    return [m * total_cm / sum(least) for m in least]


def add_table(document: Document, table: TableLayout) -> Table:
    """Add ``table`` to ``document`` as a journal sets it (see the module); returns the Word table.

    The caption goes above in bold, the notes below in 8 pt; the first column is left-aligned
    (indented rows by 0.4 cm), the number columns right-aligned, and the footnote letters
    superscript after the cells of the table's ``mark_column``.
    """
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Cm, Pt

    k = len(table.headers)
    size = _WIDE_TABLE_PT if k > 8 else _TABLE_PT
    if table.caption:
        caption = document.add_paragraph()
        caption.paragraph_format.keep_with_next = True
        caption.paragraph_format.space_after = Pt(3)
        run = caption.add_run(table.caption)
        run.bold = True
        run.font.size = Pt(size + 0.5)
    n_head = 2 if table.spans else 1
    out = document.add_table(rows=n_head + len(table.rows), cols=k)
    out.alignment = WD_TABLE_ALIGNMENT.LEFT
    _no_table_borders(out)
    right = table.right
    if table.spans:
        for label, first, last in table.spans:
            cell = out.cell(0, first)
            if last - 1 > first:
                cell = cell.merge(out.cell(0, last - 1))
            paragraph = _write(cell, label, size=size, right=False, bold=True)
            paragraph.alignment = 1  # centred over its columns
            _borders(cell, bottom=_THIN_RULE)
    for j, header in enumerate(table.headers):
        _write(out.cell(n_head - 1, j), header, size=size, right=right[j], bold=True)
    for i, row in enumerate(table.rows):
        for j, text in enumerate(row):
            paragraph = _write(out.cell(n_head + i, j), text, size=size, right=right[j])
            if j == table.mark_column and table.marks and table.marks[i]:
                mark = paragraph.add_run(table.marks[i])
                mark.font.superscript = True
                mark.font.size = Pt(size)
            if j == 0 and table.indented and table.indented[i]:
                paragraph.paragraph_format.left_indent = Cm(0.4)
    for h in range(n_head):
        _repeat_header(out.rows[h])
    for cell in out.rows[0].cells:
        _borders(cell, top=_RULE)
    for cell in out.rows[n_head - 1].cells:
        _borders(cell, bottom=_RULE)
    for cell in out.rows[-1].cells:
        _borders(cell, bottom=_RULE)
    section = document.sections[-1]
    page = [section.page_width, section.left_margin, section.right_margin]
    width, left, right_margin = (int(x) if x is not None else 0 for x in page)
    usable = (width - left - right_margin) / 360000  # EMU to cm
    out.autofit = False
    for j, cm in enumerate(_column_widths(table, usable, size)):
        out.columns[j].width = Cm(cm)  # the grid (LibreOffice reads it)
        for cell in out.columns[j].cells:
            cell.width = Cm(cm)  # and each cell (Word reads these)
    letters = set(table.marks) - {""}
    for note in table.notes:
        add_note(document, note, letters=letters)
    document.add_paragraph().paragraph_format.space_after = Pt(2)
    return out


def add_note(document: Document, text: str, *, letters: Collection[str] = ()) -> None:
    """A note under a table or figure, in 8 pt.

    A note that starts with one of ``letters`` (the footnote letters of the
    table's rows, ``"a ..."``) has that letter in superscript; no other word is
    taken for one (a note may start "at" or "n").
    """
    from docx.shared import Pt

    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(1)
    head, _, rest = text.partition(" ")
    if rest and head in letters:
        mark = paragraph.add_run(head)
        mark.font.superscript = True
        mark.font.size = Pt(_NOTE_PT)
        text = " " + rest
    run = paragraph.add_run(text)
    run.font.size = Pt(_NOTE_PT)


def add_figure(
    document: Document, png: bytes, title: str, caption: str, *, width_cm: float = 16.0
) -> None:
    """Embed a PNG image, its bold title and its caption (as the HTML report's figure)."""
    from docx.shared import Cm, Pt

    picture = document.add_paragraph()
    picture.paragraph_format.keep_with_next = True
    picture.add_run().add_picture(io.BytesIO(png), width=Cm(width_cm))
    text = document.add_paragraph()
    text.paragraph_format.space_after = Pt(8)
    head = text.add_run(f"{title}. ")
    head.bold = True
    head.font.size = Pt(_NOTE_PT + 1)
    body = text.add_run(caption)
    body.font.size = Pt(_NOTE_PT + 1)


def to_bytes(document: Document) -> bytes:
    """The ``.docx`` file of ``document``, as bytes."""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def save_document(
    document: Document,
    path: str | Path,
    *,
    force: bool = True,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write ``document`` to ``path`` (``.docx``) atomically (:func:`~coachstats.data.outputs.write_atomic`).

    Raises
    ------
    OptionError
        ``path`` does not end in ``.docx``.
    OutputError
        ``path`` exists and ``force`` is False, or is one of ``inputs``.
    """
    from coachstats.core.errors import OptionError
    from coachstats.data.outputs import write_atomic

    if Path(path).suffix.lower() != ".docx":
        raise OptionError(f"a Word document is written to a .docx file, got {path}")
    return write_atomic(path, to_bytes(document), force=force, inputs=inputs)


def rules(table: Table) -> dict[str, list[int]]:
    """The rows of a Word table with a rule (a border on every cell): ``{"top": [...], "bottom": [...]}``.

    What a journal table has: a top rule on the first row, bottom rules under the header
    row(s) and the last row, and nothing else (see :func:`add_table`).
    """
    from docx.oxml.ns import qn

    def ruled(row: Any, edge: str) -> bool:
        cells: Sequence[Any] = row._tr.tc_lst
        for tc in cells:
            pr = tc.tcPr
            borders = pr.find(qn("w:tcBorders")) if pr is not None else None
            element = borders.find(qn(f"w:{edge}")) if borders is not None else None
            if element is None or element.get(qn("w:val")) in (None, "nil", "none"):
                return False
        return True

    return {
        edge: [i for i, row in enumerate(table.rows) if ruled(row, edge)]
        for edge in ("top", "bottom")
    }
