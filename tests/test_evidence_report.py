"""``coachstats evidence --report``: the evidence section of the HTML report (issue 19).

The pooled numbers in the page are checked against R metafor's (tests/reference/meta.json,
set ``coaching_hba1c``, printed at the report's precision: 2 decimals for differences, 3 for
tau², whole percents for I², 1 decimal for weights); the trials' rows against the registry
(figures as printed, where they were printed, how each SE was obtained); the provenance
against the SHA-256 of the registry files on disk. The output guard: the report is written
with the other files or not at all.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import lxml.html
import numpy as np
import pytest
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.formatting import format_number
from coachstats.tasks.evidence import excluded
from coachstats.trials.evidence import get_evidence, list_evidence

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "meta.json").read_text())["uni"]["coaching_hba1c"]
R = REF["fits"]["REML_knha"]
KEYS = {get_evidence(k).label: k for k in list_evidence()}
runner = CliRunner()


def _signed(x: float) -> str:
    return format_number(x, 2, signed=True)


def _text(el: lxml.html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> lxml.html.HtmlElement:
    out = tmp_path_factory.mktemp("evidence") / "evidence.html"
    res = runner.invoke(app, ["evidence", "hba1c", "--report", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "http-equiv" not in html.lower()
    return lxml.html.document_fromstring(html)


def _section(doc: lxml.html.HtmlElement, sid: str) -> lxml.html.HtmlElement:
    (sec,) = doc.xpath(f"//section[@id='{sid}']")
    return sec


def test_sections_of_an_evidence_report(page: lxml.html.HtmlElement) -> None:
    ids = set(page.xpath("//section/@id"))
    assert {
        "evidence",
        "evidence-pooled",
        "evidence-forest",
        "evidence-trials",
        "evidence-excluded",
        "evidence-small-studies",
        "evidence-references",
        "methods",
        "provenance",
    } <= ids
    # no patient-level data: no design, flow, Table 1 or outcome sections
    assert not ids & {"design", "flow", "baseline", "outcomes", "figures"}
    assert page.xpath("//nav//a/@href")[0] == "#evidence"


def test_pooled_table_is_metafor(page: lxml.html.HtmlElement) -> None:
    rows = {
        _text(tr[0]): _text(tr[1]) for tr in _section(page, "evidence-pooled").xpath(".//tbody/tr")
    }
    assert rows["Pooled difference, coaching minus control"] == (
        f"{_signed(R['estimate'])} percentage points"
    )
    assert rows["95 % confidence interval"] == f"{_signed(R['ci_lb'])} to {_signed(R['ci_ub'])}"
    assert rows["95 % prediction interval"] == f"{_signed(R['pi_lb'])} to {_signed(R['pi_ub'])}"
    lo, hi = R["tau2_ci"]
    assert rows["τ² (95 % Q-profile CI)"] == f"{R['tau2']:.3f} ({lo:.3f} to {hi:.3f})"
    i_lo, i_hi = R["I2_ci"]
    assert rows["I² (95 % CI)"] == f"{R['I2']:.0f} % ({i_lo:.0f} to {i_hi:.0f} %)"
    assert rows["Cochran's Q"].startswith(f"{R['QE']:.2f} on 8 df")
    assert rows["Trials pooled (k)"] == str(len(REF["study"]))
    intro = _text(_section(page, "evidence-pooled").xpath(".//p")[0])
    assert "prediction interval" in intro and "new comparable coaching program" in intro


def test_trial_rows_carry_printed_figures_locations_and_derivations(
    page: lxml.html.HtmlElement,
) -> None:
    rows = _section(page, "evidence-trials").xpath(".//tbody/tr")
    assert [_text(r[0]) for r in rows] == REF["study"]
    weights = []
    for tr, label, yi, w in zip(rows, REF["study"], REF["yi"], R["weights"], strict=True):
        o = get_evidence(KEYS[label]).outcome("hba1c")
        printed = _text(tr[2])
        assert o.printed in printed and " ".join(o.location.split()) in printed, label
        assert _text(tr[3]).startswith(_signed(yi)), label
        how = _text(tr[5])
        assert how.startswith("Estimate printed" if o.difference else "Estimate computed")
        assert ("printed CI" in how) == bool(o.ci) and ("printed P" in how) != bool(o.ci)
        assert _text(tr[6]) == f"{100 * w:.1f} %"  # metafor's weights (fractions), in percent
        weights.append(w)
    assert sum(weights) == pytest.approx(1.0)


def test_trials_not_pooled_say_why(page: lxml.html.HtmlElement) -> None:
    rows = _section(page, "evidence-excluded").xpath(".//tbody/tr")
    want = excluded("hba1c")
    assert [_text(r[0]) for r in rows] == list(want["trial"])
    for tr, key, reason in zip(rows, want["key"], want["reason"], strict=True):
        assert _text(tr[2]) == " ".join(reason.split())
        assert get_evidence(key).outcome("hba1c").printed in _text(tr[1])
    small = _text(_section(page, "evidence-small-studies"))
    assert "need at least 10 trials" in small and "k = 9" in small
    refs = _section(page, "evidence-references").xpath(".//li")
    assert len(refs) == len(REF["study"]) + len(want)
    assert any("doi:10.7326/0003-4819-156-6-201203200-00004" in _text(li) for li in refs)


def test_forest_plot_is_embedded(page: lxml.html.HtmlElement) -> None:
    from PIL import Image

    (img,) = _section(page, "evidence-forest").xpath(".//img")
    head, data = img.get("src").split(",", 1)
    assert head == "data:image/png;base64" and img.get("alt") == "Forest plot: HbA1c"
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), float)
    assert pixels.std() > 5  # something is drawn
    caption = _text(_section(page, "evidence-forest").xpath(".//figcaption")[0])
    assert "pooled diamond" in caption and "prediction interval" in caption


def test_methods_and_provenance(page: lxml.html.HtmlElement) -> None:
    methods = _text(_section(page, "methods"))
    assert "restricted maximum likelihood" in methods and "Hartung-Knapp" in methods
    assert "t on 8 df" in methods and "Q-profile" in methods and "run_plan" not in methods
    files = {
        _text(tr[1]): _text(tr[2])
        for tr in _section(page, "provenance").xpath(".//table[@class='files']/tbody/tr")
    }
    folder = HERE.parent / "src" / "coachstats" / "trials" / "data" / "evidence"
    assert len(files) == len(REF["study"]) + len(excluded("hba1c"))
    for name, sha in files.items():
        assert sha == hashlib.sha256((folder / Path(name).name).read_bytes()).hexdigest()


def test_with_active_comparators_the_funnel_and_egger_are_in(tmp_path: Path) -> None:
    out = tmp_path / "active.html"
    res = runner.invoke(
        app, ["evidence", "--include-active", "--method", "DL", "--test", "z", "--report", str(out)]
    )
    assert res.exit_code == 0, res.output
    doc = lxml.html.document_fromstring(out.read_text(encoding="utf-8"))
    small = _section(doc, "evidence-small-studies")
    assert "Egger's test" in _text(small) and small.xpath(".//img[@alt='Funnel plot']")
    methods = _text(_section(doc, "methods"))
    assert "DerSimonian-Laird" in methods and "Wald 95 % CI" in methods and "active" in methods
    assert "Heisler 2010" in [
        _text(r[0]) for r in doc.xpath("//table[@class='evidence-trials']//tbody/tr")
    ]


def test_report_goes_through_the_one_output_guard(tmp_path: Path) -> None:
    report, plot = tmp_path / "evidence.html", tmp_path / "forest.png"
    report.write_text("earlier", encoding="utf-8")
    res = runner.invoke(app, ["evidence", "--report", str(report), "--plot", str(plot)])
    assert res.exit_code == 2 and "--force" in res.output and "Traceback" not in res.output
    assert report.read_text(encoding="utf-8") == "earlier" and not plot.exists()  # none written
    res = runner.invoke(app, ["evidence", "--report", str(tmp_path / "evidence.pdf")])
    assert res.exit_code == 2 and ".html" in res.output
    res = runner.invoke(app, ["evidence", "--report", str(report), "--plot", str(plot), "--force"])
    assert res.exit_code == 0, res.output
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_word_report_of_the_evidence(tmp_path: Path) -> None:
    # `coachstats evidence --report x.docx` wrote the HTML page's bytes into a .docx file
    # (not a Word document), and the Word report had no evidence section at all
    import docx

    out = tmp_path / "evidence.docx"
    res = runner.invoke(app, ["evidence", "hba1c", "--report", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:2] == b"PK"  # Office Open XML, not HTML
    doc = docx.Document(str(out))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    # as the HTML: no design, flow, Table 1 or outcome sections for the evidence alone
    assert headings == ["1. Evidence base: HbA1c", "2. Methods", "3. Provenance"]
    cells = [[" ".join(c.text.split()) for c in row.cells] for t in doc.tables for row in t.rows]
    rows = {r[0]: r[1] for r in cells if len(r) == 2}
    # metafor's numbers, printed at the report's precision (as test_pooled_table_is_metafor)
    assert rows["Pooled difference, coaching minus control"] == (
        f"{_signed(R['estimate'])} percentage points"
    )
    assert rows["95 % prediction interval"] == f"{_signed(R['pi_lb'])} to {_signed(R['pi_ub'])}"
    lo, hi = R["tau2_ci"]
    assert rows["τ² (95 % Q-profile CI)"] == f"{R['tau2']:.3f} ({lo:.3f} to {hi:.3f})"
    weights = [r[-1] for r in cells if r[0] in REF["study"]]
    assert weights == [f"{100 * w:.1f} %" for w in R["weights"]]
    assert [r[0] for r in cells if r[0] in set(excluded("hba1c")["trial"])] == list(
        excluded("hba1c")["trial"]
    )
    text = [p.text for p in doc.paragraphs]
    assert any("restricted maximum likelihood" in t for t in text)
    assert not any("run_plan" in t for t in text)  # no analysis plan ran
    registry = [r for r in cells if r[0] == "Evidence registry"]
    assert len(registry) == len(REF["study"]) + len(excluded("hba1c"))
