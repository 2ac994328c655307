"""Word export (issue 21 item 7): every file is read back with python-docx.

The cells of the Word tables must be the numbers of the HTML report and of the result
frames (the HTML report is parsed with lxml as in test_report); the tables are journal
tables (a top rule, a rule under the headers, a bottom rule, no vertical lines); the
figures are embedded PNG images; the notes and footnotes are under the tables.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import docx
import lxml.html
import pytest
from docx.oxml.ns import qn
from docx.table import Table
from typer.testing import CliRunner

from coachstats.analysis import run_plan
from coachstats.cli import app
from coachstats.compare.means import t_test_from_stats
from coachstats.compare.proportions import two_proportions
from coachstats.errors import OptionError, OutputError
from coachstats.evaluate import evaluate
from coachstats.io import load_trial
from coachstats.present.docx import new_document, rules
from coachstats.present.journal import JournalTable
from coachstats.present.report.word import build_docx, evaluation_docx
from coachstats.report import (
    build_report,
    report_from_analysis,
    report_from_evaluation,
    report_from_reproduction,
    write_report,
)
from coachstats.reproduce import reproduce
from coachstats.synthetic import hcpc_cohort
from coachstats.table1 import baseline_table
from coachstats.tables import publication_table, to_docx
from tests.test_report import _small_plan, _small_trial

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- reading back


def _plain(cell: Any) -> str:
    """A cell's text without its superscript runs (the footnote letters)."""
    return "".join(
        run.text for p in cell.paragraphs for run in p.runs if not run.font.superscript
    ).strip()


def _marks(table: Table, first_body_row: int) -> list[str]:
    return [
        "".join(r.text for r in row.cells[0].paragraphs[0].runs if r.font.superscript)
        for row in table.rows[first_body_row:]
    ]


def _body(table: Table, header_rows: int) -> list[list[str]]:
    return [[_plain(c) for c in row.cells] for row in table.rows[header_rows:]]


def _header_rows(table: Table) -> int:
    return sum(
        1
        for row in table.rows
        if row._tr.trPr is not None and row._tr.trPr.find(qn("w:tblHeader")) is not None
    )


def _vertical_borders(table: Table) -> list[str]:
    """Every left, right or inside-vertical border that is drawn (should be none)."""
    found = []
    for tc in table._tbl.iter(qn("w:tc")):
        pr = tc.tcPr
        borders = pr.find(qn("w:tcBorders")) if pr is not None else None
        for edge in ("left", "right", "start", "end", "insideV"):
            el = borders.find(qn(f"w:{edge}")) if borders is not None else None
            if el is not None and el.get(qn("w:val")) not in ("nil", "none"):
                found.append(edge)
    tbl_borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert tbl_borders is not None
    for el in tbl_borders:
        if el.get(qn("w:val")) not in ("nil", "none"):
            found.append(el.tag)
    return found


def _reread(doc: Any) -> Any:
    buffer = io.BytesIO()
    doc.save(buffer)
    return docx.Document(io.BytesIO(buffer.getvalue()))


def _html_rows(table: lxml.html.HtmlElement) -> list[list[str]]:
    """The body cells' text, without the footnote letters (``<sup>``), as Word's ``_plain``."""
    return [
        ["".join(c.xpath(".//text()[not(ancestor::sup)]")).strip() for c in tr.xpath("./td")]
        for tr in table.xpath("./tbody/tr")
    ]


def _docx_table(doc: Any, first_header: str, contains: str | None = None) -> Table:
    """The Word table whose first header cell is ``first_header`` (and holding ``contains``)."""
    for t in doc.tables:
        heads = [_plain(c) for row in t.rows[: _header_rows(t)] for c in row.cells]
        if first_header in heads and (contains is None or contains in "".join(heads)):
            return t
    raise AssertionError(f"no table headed {first_header!r}")


def _caption_before(doc: Any, table: Table) -> str:
    """The text of the paragraph right before ``table`` (its caption)."""
    prev = table._tbl.getprevious()
    assert prev is not None and prev.tag == qn("w:p")
    return "".join(t.text or "" for t in prev.iter(qn("w:t")))


# --------------------------------------------------------------------------- journal tables


def test_journal_table_is_three_lines_with_spans_marks_and_notes(tmp_path: Path) -> None:
    table = JournalTable(
        headers=("Characteristic", "n", "Value", "n", "Value"),
        rows=(("Sex", "", "", "", ""), ("Female", "3", "2 (66.7)", "1", "1 (100.0)")),
        caption="Table 1. Test",
        spans=(("Coaching", 1, 3), ("Usual care", 3, 5)),
        indented=(False, True),
        marks=("", "a"),
        notes=("Counts and percentages.", "a Two of three.", "n (%) of the analysed rows."),
    )
    path = tmp_path / "t.docx"
    table.to_docx(path)
    doc = docx.Document(str(path))
    (t,) = doc.tables
    assert _header_rows(t) == 2
    # rules: above the headers, under them, under the last row -- and no vertical lines
    assert rules(t) == {"top": [0], "bottom": [1, 3]}
    assert _vertical_borders(t) == []
    # the spanners are merged over their columns, with a short rule under each
    assert [_plain(c) for c in t.rows[0].cells] == [
        "",
        "Coaching",
        "Coaching",
        "Usual care",
        "Usual care",
    ]
    assert _body(t, 2) == [list(r) for r in table.rows]
    assert _marks(t, 2) == ["", "a"]
    assert t.rows[3].cells[0].paragraphs[0].paragraph_format.left_indent > 0
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "Table 1. Test" and doc.paragraphs[0].runs[0].bold
    assert "Counts and percentages." in texts and "a Two of three." in texts
    note = next(p for p in doc.paragraphs if p.text == "a Two of three.")
    assert note.runs[0].text == "a" and note.runs[0].font.superscript
    # a note whose first word is short and lowercase but no row's letter stays as it is
    plain = next(p for p in doc.paragraphs if p.text == "n (%) of the analysed rows.")
    assert not any(r.font.superscript for r in plain.runs)
    # numbers right-aligned, the label column left
    assert t.rows[3].cells[2].paragraphs[0].alignment == 2
    assert t.rows[3].cells[0].paragraphs[0].alignment is None
    with pytest.raises(OptionError, match="one flag per column"):
        JournalTable(("a", "b"), (("x", "1"),), numeric=(True,))


def test_outcome_table_to_docx_equals_the_publication_table(tmp_path: Path) -> None:
    arms = ("coaching", "usual_care")
    results = [
        two_proportions(90, 194, 61, 178, labels=arms, outcome="composite_any"),
        two_proportions(34, 70, 21, 76, labels=arms, outcome="at_goal_hba1c"),
        # Thom et al. 2013: HbA1c change -1.07 (2.8), n = 122 vs -0.30 (3.1), n = 114
        t_test_from_stats(-1.07, 2.8, 122, -0.30, 3.1, 114, labels=arms, outcome="change_hba1c"),
    ]
    labels = ["One clinical goal", "HbA1c goal", "HbA1c change"]
    path = tmp_path / "outcomes.docx"
    to_docx(results, path, labels=labels, caption="Table 2. Outcomes")
    doc = docx.Document(str(path))
    (t,) = doc.tables
    expected = publication_table(results, labels=labels)
    body = _body(t, _header_rows(t))
    assert len(body) == len(expected)
    for got, (_, row) in zip(body, expected.iterrows(), strict=True):
        # columns: outcome, n, value, n, value, effect, difference, P
        assert got == [
            row["outcome"],
            str(row["n1"]),
            row["value1"],
            str(row["n2"]),
            row["value2"],
            row["effect"],
            row["difference"],
            row["p"],
        ]
    assert body[0][6] == "12.1 (2.2 to 22.0)" and body[0][7] == ".02"  # HCPC, published
    # one footnote per method: the chi-square rows share theirs
    assert _marks(t, _header_rows(t)) == ["a", "a", "b"]
    notes = [p.text for p in doc.paragraphs]
    assert "a Pearson chi-square; complete-case analysis." in notes
    assert any(n.startswith("b Welch") for n in notes)
    assert _caption_before(doc, t) == "Table 2. Outcomes"
    assert rules(t)["bottom"][-1] == len(t.rows) - 1 and _vertical_borders(t) == []


def test_table1_to_docx_equals_the_display() -> None:
    cohort = hcpc_cohort(n=200, seed=4).patients
    table = baseline_table(cohort, ["age", "sex", "ethnicity", "diabetes", "hba1c_0"])
    doc = _reread(table.to_docx())
    (t,) = doc.tables
    disp = table.to_display()
    assert [_plain(c) for c in t.rows[0].cells] == list(disp.columns)
    assert _body(t, 1) == [[str(c).strip() for c in row] for row in disp.itertuples(index=False)]
    levels = [r.cells[0].paragraphs[0].paragraph_format.left_indent for r in t.rows[1:]]
    assert [x is not None and x > 0 for x in levels] == [
        str(r[0]).startswith("    ") for r in disp.itertuples(index=False)
    ]
    # human labels of the levels (issue 20)
    assert "African American" in [row[0] for row in _body(t, 1)]
    assert rules(t) == {"top": [0], "bottom": [0, len(t.rows) - 1]}


# --------------------------------------------------------------------------- the Word report


@pytest.fixture(scope="module")
def analysis_report() -> Any:
    td = load_trial(_small_trial())  # the small trial and plan of test_report
    return report_from_analysis(td, run_plan(td, _small_plan()), goals="hcpc", seed=3)


def test_analysis_report_docx_has_the_html_numbers(analysis_report: Any) -> None:
    html = lxml.html.document_fromstring(build_report(analysis_report))
    doc = _reread(build_docx(analysis_report))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "1. Trial design",
        "2. CONSORT flow",
        "3. Baseline characteristics",
        "4. Outcomes",
        "5. Figures",
        "6. Methods",
        "7. Provenance",
    ]
    # the outcome table: the HTML's cells, the arms' columns side by side
    (outcomes,) = html.xpath("//table[@class='outcomes']")
    t = _docx_table(doc, "Outcome", "Health coaching group")
    heads = [_plain(c) for c in t.rows[_header_rows(t) - 1].cells]
    for h, d in zip(_html_rows(outcomes), _body(t, _header_rows(t)), strict=True):
        expected = [
            h[0],
            h[1],
            h[3],
            h[2],
            h[4],
            *([h[5]] if "Effect" in heads else []),
            h[6],
            h[7],
        ]
        assert d == expected
    # the flow and Table 1 tables
    (consort,) = html.xpath("//table[@class='consort']")
    flow = _docx_table(doc, "Stage")
    assert _body(flow, 1) == _html_rows(consort)
    (table1,) = html.xpath("//table[@class='table1']")
    t1 = _docx_table(doc, "Characteristic")
    assert _body(t1, 1) == _html_rows(table1)
    assert _caption_before(doc, t1) == table1.xpath("./caption")[0].text_content()
    # every figure of the HTML is embedded, as PNG
    images = html.xpath("//img")
    assert len(doc.inline_shapes) == len(images) >= 3
    blobs = [
        doc.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
        for s in doc.inline_shapes
    ]
    assert all(b.startswith(PNG) and len(b) > 5000 for b in blobs)
    # the methods as in the HTML, and the footnotes of the outcome table
    methods = [li.text_content() for li in html.xpath("//ul[@class='methods']/li")]
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert methods == bullets[: len(methods)]
    assert _marks(t, _header_rows(t)) == ["a", "b", "c"]


def test_reproduction_report_docx_has_the_html_numbers() -> None:
    result = reproduce(["hcpc", "hcpc_24"])
    report = report_from_reproduction(result, figures=False)
    html = lxml.html.document_fromstring(build_report(report))
    doc = _reread(build_docx(report))
    tables = html.xpath("//table[@class='reproduction']")
    assert len(tables) == 2
    for table in tables:
        caption = table.xpath("./caption")[0].text_content()
        t = next(x for x in doc.tables if _caption_before(doc, x) == caption)
        assert _header_rows(t) == 2
        rows = _html_rows(table)
        kept = [j for j in range(len(rows[0])) if j == 0 or any(r[j] for r in rows)]
        assert _body(t, 2) == [[r[j] for j in kept] for r in rows]
        # what the HTML shows as a tooltip of the verdict is a footnote (the verdict is the
        # tenth cell; the provenance column follows it since issue 18)
        notes = [tr.xpath("./td")[9].get("title") or "" for tr in table.xpath("./tbody/tr")]
        marks = _marks(t, 2)
        assert [bool(m) for m in marks] == [bool(n) for n in notes]
        texts = [p.text for p in doc.paragraphs]
        for mark, note in zip(marks, notes, strict=True):
            if note:
                assert f"{mark} {note}" in texts
    by_site = next(
        r for r in _body(_docx_table(doc, "Outcome", "Verdict"), 2) if r[0] == "Randomized by site"
    )
    assert by_site[1:3] == ["Site A: 332", "Site B: 109"]
    # the wide tables are on landscape pages
    assert any(int(s.orientation) == 1 for s in doc.sections)


@pytest.fixture(scope="module")
def evaluation() -> Any:
    cohort = hcpc_cohort(n=800, seed=5).patients
    return evaluate(cohort, against="hcpc", standardize=False, tracking=False)


def test_evaluation_docx_has_the_html_table(evaluation: Any, tmp_path: Path) -> None:
    report = report_from_evaluation(evaluation)
    html = lxml.html.document_fromstring(build_report(report))
    (comparison,) = html.xpath("//table[contains(@class, 'comparison')]")
    for doc in (
        _reread(build_docx(report)),
        docx.Document(str(_written(evaluation_docx, evaluation, tmp_path / "evaluation.docx"))),
    ):
        t = _docx_table(doc, "Trial", "Verdict")
        assert _body(t, 1) == _html_rows(comparison)
        assert [_plain(c) for c in t.rows[0].cells] == [
            th.text_content() for th in comparison.xpath("./thead/tr/th")
        ]
        # the tooltips (how the published SE was rebuilt) are footnotes
        assert all(_marks(t, 1))
        assert len(doc.inline_shapes) >= 1  # the forest plot


def _written(make: Any, result: Any, path: Path) -> Path:
    make(result, path)
    return path


def test_evaluation_docx_without_figures(evaluation: Any) -> None:
    doc = evaluation_docx(evaluation, figures=False)
    assert len(doc.inline_shapes) == 0 and doc.tables


def test_write_report_writes_word_and_refuses_other_suffixes(
    analysis_report: Any, tmp_path: Path
) -> None:
    out = tmp_path / "report.docx"
    assert write_report(out, analysis_report) == out
    assert out.read_bytes().startswith(b"PK")  # a zip (Office Open XML)
    assert docx.Document(str(out)).tables
    with pytest.raises(OutputError, match="exists"):
        write_report(out, analysis_report)
    with pytest.raises(OptionError, match=r"\.html or \.docx"):
        write_report(tmp_path / "report.pdf", analysis_report)
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_report_docx(tmp_path: Path) -> None:
    out = tmp_path / "analysis.docx"
    data = ROOT / "data" / "synthetic" / "hcpc_patients.csv"
    done = CliRunner().invoke(app, ["analyze", str(data), "--report", str(out)])
    assert done.exit_code == 0, done.output
    doc = docx.Document(str(out))
    t = _docx_table(doc, "Outcome", "Health coaching group")
    first = _body(t, _header_rows(t))[0]
    assert first[:3] == ["At goal for >= 1 condition", "194", "90 (46.4%)"]
    assert len(doc.inline_shapes) >= 2
    # reproduce and evaluate write it through the same render_report
    out = tmp_path / "reproduction.docx"
    done = CliRunner().invoke(app, ["reproduce", "hcpc_24", "--report", str(out)])
    assert done.exit_code == 0, done.output
    assert _docx_table(docx.Document(str(out)), "Outcome", "Verdict")
    bad = CliRunner().invoke(app, ["analyze", str(data), "--report", str(tmp_path / "r.pdf")])
    assert bad.exit_code == 2 and ".docx" in bad.output


def test_new_document_is_a4_with_the_body_font() -> None:
    doc = new_document("Title")
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert doc.styles["Normal"].font.name == "Arial"


def test_nnt_and_sensitivity_sections_are_in_the_word_report() -> None:
    # the parts beyond the outcome table (issue 21: NNT and cost, tipping points) are
    # written from the same context as the HTML's sections
    from coachstats.core.goals import HCPC_GOALS
    from coachstats.data.programdata import load_program
    from coachstats.tasks.evaluate import analyze

    data = ROOT / "data" / "synthetic" / "hcpc_patients.csv"
    res = analyze(data, sensitivity=True, tracking=False)
    report = report_from_analysis(
        load_program(data),
        res.plan,
        goals=HCPC_GOALS,
        impact=res.impact,
        sensitivity=res.sensitivity,
        figures=False,
    )
    html = lxml.html.document_fromstring(build_report(report))
    doc = _reread(build_docx(report))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    for part in ("impact", "sensitivity"):
        (section,) = html.xpath(f"//section[@id='{part}']")
        heading = section.xpath("./h2")[0].text_content()
        assert any(h.endswith(f". {heading}") for h in headings), (heading, headings)
        for table in section.xpath(".//table"):
            caption = table.xpath("./caption")[0].text_content()
            t = next(x for x in doc.tables if _caption_before(doc, x) == caption)
            assert _body(t, 1) == _html_rows(table)
    assert any(
        "NNTB 8.2 (95% CI NNTB 4.5 to 44.8)" in c.text
        for t in doc.tables
        for r in t.rows
        for c in r.cells
    )


def _html_text(el: Any) -> str:
    return " ".join(el.text_content().split())


def test_evaluation_against_the_evidence_has_the_evidence_section_in_word() -> None:
    # the Word report left out the whole 'Evidence base' section of the HTML (pooled
    # estimate, trials pooled and not pooled, small-study effects, references), its
    # methods and the registry files of the provenance
    cohort = hcpc_cohort(n=400, seed=3).patients
    res = evaluate(cohort, against=["hcpc", "evidence"], standardize=False, tracking=False)
    report = report_from_evaluation(res, figures=False)
    html = lxml.html.document_fromstring(build_report(report))
    doc = _reread(build_docx(report))
    (evidence,) = html.xpath("//section[@id='evidence']")
    heading = _html_text(evidence.xpath("./h2")[0])
    assert heading == "Evidence base: HbA1c"
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert f"7. {heading}" in headings  # after "6. Program vs published trials"
    for table in evidence.xpath(".//table"):
        caption = _html_text(table.xpath("./caption")[0])
        t = next(x for x in doc.tables if _caption_before(doc, x) == caption)
        assert _body(t, 1) == _html_rows(table), caption
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    methods = html.xpath("//section[@id='methods']//ul[@class='methods']/li")
    assert [li.text_content().replace("tooltip", "footnote") for li in methods] == bullets[
        -len(methods) :
    ]
    assert any("restricted maximum likelihood" in b for b in bullets)  # the evidence's methods
    registry = html.xpath("//table[@class='files']/tbody/tr[td[1]='Evidence registry']")
    assert len(registry) >= 9
    files = _docx_table(doc, "SHA-256")
    assert [r for r in _body(files, 1) if r[0] == "Evidence registry"] == [
        [_html_text(td) for td in tr.xpath("./td")] for tr in registry
    ]


def test_reproduction_docx_has_the_provenance_key_and_the_whole_verdict() -> None:
    # the Word report said 'held-out figures are reported as they come out' without
    # 'which no calibration step read', and had no key to its Provenance column
    # (construction / moment-matched / tuned / held-out)
    report = report_from_reproduction(reproduce(["hcpc_trust"]), figures=False)
    html = lxml.html.document_fromstring(build_report(report))
    doc = _reread(build_docx(report))
    texts = [" ".join(p.text.split()) for p in doc.paragraphs]
    (key,) = html.xpath("//p[@class='provenance-key']")
    assert _html_text(key) in texts
    for term in ("construction", "moment-matched", "tuned", "held-out"):
        assert f"{term}:" in _html_text(key)
    (summary,) = html.xpath("//section[@id='reproduction']/p[1]")
    assert _html_text(summary) in texts
    assert "held-out" in _html_text(summary)
    # the outcome table's note of the covariates (hcpc_trust adjusts for PCP visits)
    note = html.xpath("//section[@id='outcomes']/p[@class='note']")[0]
    adjusted = "Adjusted analyses are adjusted for PCP visits in the prior year (see Methods)."
    assert adjusted in _html_text(note) and adjusted in texts


def test_word_notes_say_footnote_where_the_html_says_tooltip(evaluation: Any) -> None:
    # the HTML's notes point at tooltips; a Word document has none: there they are footnotes
    report = report_from_evaluation(evaluation, figures=False)
    assert "tooltip" in build_report(report)
    doc = _reread(build_docx(report))
    texts = [p.text for p in doc.paragraphs]
    assert not any("tooltip" in t for t in texts)
    assert any("The footnote of a published figure says how its standard error" in t for t in texts)
