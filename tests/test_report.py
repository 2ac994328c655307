"""HTML report (coachstats.report): parsed with lxml; the numbers in it are the result objects'.

The browser test renders the report in headless Chromium (marked ``browser``; skipped when
/usr/bin/chromium is absent: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import numpy as np
import pandas as pd
import pytest

import coachstats
from coachstats.analysis import AnalysisPlan, AnalysisSpec, PlanResult, run_plan
from coachstats.core.paths import bundled_table
from coachstats.core.vocabulary import outcome_label
from coachstats.errors import OptionError, OutputError
from coachstats.evaluate import EvaluationResult, evaluate, trial_name
from coachstats.flow import Flow
from coachstats.goals import HCPC_GOALS
from coachstats.io import load_trial
from coachstats.present.report.evaluation import verdict_class
from coachstats.programdata import load_program
from coachstats.programs import single_arm_program
from coachstats.report import (
    Report,
    build_report,
    methods_sentence,
    methods_text,
    report_from_analysis,
    report_from_evaluation,
    report_from_reproduction,
    write_report,
)
from coachstats.reproduce import ReproductionResult, reproduce
from coachstats.results import format_p
from coachstats.synthetic import hcpc_cohort
from coachstats.synthetic.hcpc import DEFAULT_SEED as HCPC_SEED
from coachstats.table1 import baseline_table
from coachstats.trialdata import TrialData

SECTIONS = ("design", "flow", "baseline", "outcomes", "figures", "methods", "provenance")
CHROMIUM = Path("/usr/bin/chromium")
XSS = "<script>alert(1)</script>"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def hcpc() -> ReproductionResult:
    return reproduce("hcpc")


@pytest.fixture(scope="module")
def hcpc_report(hcpc: ReproductionResult) -> Report:
    return report_from_reproduction(hcpc, seed=7)


@pytest.fixture(scope="module")
def hcpc_html(hcpc_report: Report) -> str:
    return build_report(hcpc_report)


@pytest.fixture(scope="module")
def doc(hcpc_html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(hcpc_html)


def _facts(node: lxml.html.HtmlElement, path: str) -> dict[str, str]:
    """A definition list's terms mapped to their definitions (``path`` + ``dt``/``dd``)."""
    terms = [dt.text_content() for dt in node.xpath(f"{path}dt")]
    defs = [dd.text_content() for dd in node.xpath(f"{path}dd")]
    return dict(zip(terms, defs, strict=True))


def _section(doc: lxml.html.HtmlElement, name: str) -> lxml.html.HtmlElement:
    found = doc.xpath(f"//section[@id='{name}']")
    assert len(found) == 1, name
    return found[0]


def _rows(table: lxml.html.HtmlElement) -> list[list[str]]:
    """The body cells' text, without the footnote letters (``<sup>``), as Word's ``_plain``."""
    return [
        ["".join(c.xpath(".//text()[not(ancestor::sup)]")).strip() for c in tr.xpath("./td")]
        for tr in table.xpath("./tbody/tr")
    ]


def _table(doc: lxml.html.HtmlElement, section: str, cls: str) -> list[lxml.html.HtmlElement]:
    return _section(doc, section).xpath(f".//table[contains(@class, '{cls}')]")


def _small_trial(site_b: str = "B") -> pd.DataFrame:
    """A small two-arm trial with HbA1c at 0 and 12 months (seeded)."""
    rng = np.random.default_rng(11)
    n = 80
    arm = np.array(["coaching", "usual_care"] * (n // 2))
    base = np.round(rng.normal(9.5, 1.2, n), 1)
    follow = np.round(base - np.where(arm == "coaching", 0.9, 0.3) + rng.normal(0, 1.0, n), 1)
    follow[rng.random(n) < 0.15] = np.nan
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:03d}" for i in range(n)],
            "arm": arm,
            "site": np.where(rng.random(n) < 0.6, "A", site_b),
            "diabetes": True,
            "age": np.round(rng.normal(55, 10, n)),
            "hba1c_0": base,
            "hba1c_12": follow,
        }
    )


def _small_plan() -> AnalysisPlan:
    return AnalysisPlan(
        [
            AnalysisSpec("at_goal_hba1c", "chi_square", label="HbA1c goal"),
            AnalysisSpec("change_hba1c", "t_test", label="HbA1c change"),
            AnalysisSpec("change_hba1c", "linear", covariates=("age",), label="HbA1c change, adj"),
        ],
        goals="hcpc",
    )


# --------------------------------------------------------------------------- structure


def test_every_section_present(doc: lxml.html.HtmlElement) -> None:
    for name in (*SECTIONS, "reproduction"):
        sec = _section(doc, name)
        assert sec.xpath("./h2"), name
    nav = [a.get("href") for a in doc.xpath("//nav//a")]
    assert nav == [
        f"#{s}"
        for s in (
            "design",
            "flow",
            "baseline",
            "outcomes",
            "figures",
            "reproduction",
            "methods",
            "provenance",
        )
    ]


def _assert_self_contained(html: str) -> None:
    """No script, frame or linked resource; every src/href is local; images are data: URIs."""
    doc = lxml.html.document_fromstring(html)
    assert "<script" not in html.lower()
    assert not doc.xpath("//script | //link | //iframe | //object | //embed")
    for el in doc.xpath("//*[@src or @href]"):
        for attr in ("src", "href"):
            value = el.get(attr) or ""
            assert not value.startswith(("http://", "https://", "//")), value
    assert "@import" not in html and "url(" not in html
    assert all(img.get("src").startswith("data:image/") for img in doc.xpath("//img"))


def test_self_contained(hcpc_html: str) -> None:
    _assert_self_contained(hcpc_html)


def test_images_are_embedded_and_not_blank(doc: lxml.html.HtmlElement) -> None:
    from PIL import Image

    imgs = doc.xpath("//img")
    # CONSORT, bars by arm, forest of the risk differences
    assert len(imgs) >= 3
    titles = {img.get("alt") for img in imgs}
    assert {
        "CONSORT flow: ≥ 1 goal",
        "Patients with the outcome by arm",
        "Forest plot: risk difference",
    } <= titles
    for img in imgs:
        head, data = img.get("src").split(",", 1)
        assert head == "data:image/png;base64"
        raw = base64.b64decode(data)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n")
        pixels = np.asarray(Image.open(io.BytesIO(raw)).convert("L"), dtype=float)
        assert pixels.std() > 5  # something is drawn


def test_title_and_design(doc: lxml.html.HtmlElement, hcpc: ReproductionResult) -> None:
    assert doc.xpath("//title")[0].text == "Reproduction of the published health-coaching trials"
    design = _section(doc, "design")
    facts = _facts(design, ".//")
    assert facts["Randomized"] == "441 (health coaching 224, usual care 217)"  # issue 20: labels
    assert facts["Citation"].startswith("Willard-Grace R, et al. Ann Fam Med 2015")
    assert facts["Follow-up"] == "12 months"


# --------------------------------------------------------------------------- numbers


def test_outcome_table_equals_results(doc: lxml.html.HtmlElement, hcpc: ReproductionResult) -> None:
    (table,) = _table(doc, "outcomes", "outcomes")
    rows = {r[0]: r for r in _rows(table)}
    plan = hcpc.plan_results["hcpc"]
    labels = {t.analysis.label: t.label for t in coachstats.trials.get_trial("hcpc").targets}
    compared = [
        (labels[s.label], r)
        for s, r in zip(plan.specs, plan.results, strict=True)
        if r is not None and s.method != "describe"
    ]
    assert set(rows) == {lab for lab, _ in compared}
    for label, r in compared:
        cells = rows[label]
        a, b = r.arms
        assert (int(cells[1]), int(cells[2])) == (a.n, b.n)
        assert cells[3] == f"{a.events} ({100 * a.value:.1f}%)"
        assert cells[4] == f"{b.events} ({100 * b.value:.1f}%)"
        est, lo, hi = (float(x) for x in re.findall(r"-?\d+\.\d", cells[6]))
        assert est == pytest.approx(round(100 * r.estimate, 1), abs=1e-9)
        assert (lo, hi) == pytest.approx(
            (round(100 * r.conf_low, 1), round(100 * r.conf_high, 1)), abs=1e-9
        )
        # journal style read against the result's level: a P near .05 shows its side
        assert cells[7] == format_p(r.p_value, alpha=1 - r.conf_level)
    # the primary outcome as published (inferred counts 90/194 vs 61/178, P = .02)
    assert rows["One clinical goal"][1:5] == ["194", "178", "90 (46.4%)", "61 (34.3%)"]
    assert rows["One clinical goal"][7] == ".02"


def test_reproduction_table_equals_frame(
    doc: lxml.html.HtmlElement, hcpc: ReproductionResult
) -> None:
    (table,) = _table(doc, "reproduction", "reproduction")
    frame = hcpc.to_frame().set_index("target")
    trs = table.xpath("./tbody/tr")
    assert [tr.get("data-target") for tr in trs] == frame.index.tolist()
    cols = [
        f"{side}_{c}"
        for side in ("published", "reproduced")
        for c in ("coaching", "usual_care", "difference", "p")
    ]
    # issue 20: figures of other groups than the arms (sites, all patients) name their group
    # in the cell, so that none sits under the Coaching / Usual care headers unlabelled;
    # issue 18: a reproduced value the paper did not print is marked "(reproduced; published:
    # n.s.)" (the values as TargetResult.display_row shows them)
    group_names = {"A": "Site A", "B": "Site B", "all": "All patients"}
    shown = {t.target.id: t.display_row() for t in hcpc.targets}
    for tr in trs:
        cells = [td.text_content().strip() for td in tr.xpath("./td")]
        row = frame.loc[tr.get("data-target")]
        groups = [g for g in str(row["groups"]).split(" / ") if g]
        expected = [str(shown[tr.get("data-target")][c]) for c in cols]
        if groups and groups != ["coaching", "usual_care"]:
            for start in (0, 4):
                for i, g in enumerate(groups):
                    if expected[start + i]:
                        expected[start + i] = f"{group_names[g]}: {expected[start + i]}"
        assert cells[1:9] == expected
        # a match of a figure built into the cohort is shown "match (built in)" (display_row)
        assert cells[9] == shown[tr.get("data-target")]["verdict"]
        assert tr.xpath("./td")[9].get("class") == "verdict-" + row["verdict"].split(" (")[
            0
        ].replace(" ", "-")
        assert cells[10] == row["provenance"]
    assert "(reproduced; published: n.s.)" in shown["sbp_goal"]["reproduced_coaching"]
    by_site = next(tr for tr in trs if tr.get("data-target") == "randomized_by_site")
    assert [td.text_content() for td in by_site.xpath("./td")][1:3] == [
        "Site A: 332",
        "Site B: 109",
    ]
    summary = _section(doc, "reproduction").xpath(".//p")[0].text_content()
    assert summary.startswith(hcpc.figures_line())
    assert ("ok" if hcpc.ok else "failed") == _section(doc, "reproduction").xpath(".//p")[0].get(
        "class"
    )


def test_flow_table_equals_flow(doc: lxml.html.HtmlElement) -> None:
    td = load_trial(bundled_table("hcpc_patients"), require_baseline=False)
    flow: Flow = td.flow_for(HCPC_GOALS)
    (table,) = _table(doc, "flow", "consort")
    rows = {r[0]: [int(x) for x in r[1:]] for r in _rows(table)}
    assert rows["Randomized"] == [224, 217, 441]
    assert rows["Randomized"][:2] == [flow.randomized["coaching"], flow.randomized["usual_care"]]
    lost = flow.lost("composite_any")  # lost and not analysed (issue 20: not excluded again)
    assert rows["Lost to follow-up (no follow-up measurement)"][:2] == [
        lost["coaching"],
        lost["usual_care"],
    ]
    analysed = flow.analysed("composite_any")
    assert rows["Analysed"] == [
        analysed["coaching"],
        analysed["usual_care"],
        sum(analysed.values()),
    ]
    assert rows["Analysed"][:2] == [194, 178]
    # every patient in one box: randomized = lost + excluded (by reason) + analysed
    excluded = [v for k, v in rows.items() if k.startswith("Excluded from analysis")]
    boxes = [rows["Lost to follow-up (no follow-up measurement)"], *excluded, rows["Analysed"]]
    for i in range(3):
        assert sum(v[i] for v in boxes) == rows["Randomized"][i]
    (per_endpoint,) = _table(doc, "flow", "flow-endpoints")
    t = flow.endpoints.set_index(["endpoint", "status", "arm"])["n"]
    name = {outcome_label(str(e)): str(e) for e in flow.endpoints["endpoint"]}
    for r in _rows(per_endpoint):  # endpoints are shown by their labels, not column names
        assert [int(r[2]), int(r[3])] == [
            t[(name[r[0]], r[1], "coaching")],
            t[(name[r[0]], r[1], "usual_care")],
        ]


def test_baseline_table_equals_table1(doc: lxml.html.HtmlElement) -> None:
    td = load_trial(bundled_table("hcpc_patients"), require_baseline=False)
    variables = [v for v in coachstats.report.BASELINE_VARIABLES if v in td.patients.columns]
    expected = baseline_table(td.patients, variables)
    (table,) = _table(doc, "baseline", "table1")
    rows = _rows(table)
    disp = expected.to_display()
    assert [c.strip() for c in disp["Characteristic"]] == [r[0] for r in rows]
    head = [th.text_content() for th in table.xpath("./thead//th")]
    assert head[1:3] == ["Health coaching group (n = 224)", "Usual care group (n = 217)"]
    age = next(v for v in expected.variables if v.name == "age")
    age_row = next(r for r in rows if r[0] == "Age, mean (SD)")
    assert age_row[1] == f"{age.mean[0]:.1f} ({age.sd[0]:.1f})"
    assert age_row[3] == f"{age.smd:.2f}"


def test_methods_and_provenance(doc: lxml.html.HtmlElement, hcpc: ReproductionResult) -> None:
    items = [
        li.text_content() for li in _section(doc, "methods").xpath(".//ul[@class='methods']/li")
    ]
    trial = coachstats.trials.get_trial("hcpc")
    for t in trial.targets:
        if t.analysis.method != "describe":
            assert methods_sentence(t.analysis, label=t.label) in items
    assert items[-1].startswith("Described without a test")
    prov = _section(doc, "provenance")
    versions = dict(_rows(prov.xpath(".//table[@class='versions']")[0]))
    assert versions["coachstats"] == coachstats.__version__
    files = _rows(prov.xpath(".//table[@class='files']")[0])
    path = bundled_table("hcpc_patients")
    assert ["HCPC cohort", path.name, hashlib.sha256(path.read_bytes()).hexdigest()] in files
    seeds = dict(_rows(prov.xpath(".//table[@class='seeds']")[0]))
    assert seeds["synthetic hcpc cohort (coachstats.synthetic)"] == "20150301"
    assert seeds["given"] == "7"


# --------------------------------------------------------------------------- escaping


def test_user_strings_are_escaped() -> None:
    data = _small_trial(site_b=XSS)
    td = load_trial(data)
    plan = _small_plan()
    labels = {"HbA1c goal": "<b>HbA1c</b> & goal"}
    report = report_from_analysis(
        td, run_plan(td, plan), goals="hcpc", labels=labels, title=XSS, figures=False
    )
    html = build_report(report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "&lt;b&gt;HbA1c&lt;/b&gt; &amp; goal" in html
    parsed = lxml.html.document_fromstring(html)
    assert not parsed.xpath("//script | //b[text()='HbA1c']")
    assert parsed.xpath("//title")[0].text == XSS
    # the site name is a Table 1 level, shown as text
    cells = [r[0] for r in _rows(_table(parsed, "baseline", "table1")[0])]
    assert XSS in cells


# --------------------------------------------------------------------------- analysis report


def test_mean_differences_of_different_units_get_their_own_panels(tmp_path: Path) -> None:
    # a reviewer's case: HbA1c (%), SBP (mm Hg) and LDL (mg/dL) shared one forest axis
    from PIL import Image

    from coachstats.evaluate import analyze

    cohort = hcpc_cohort(n=441, seed=4).patients
    result = analyze(cohort)
    doc = report_from_analysis(load_program(cohort), result.plan, goals=HCPC_GOALS)
    parsed = lxml.html.document_fromstring(build_report(doc))
    (img,) = parsed.xpath("//img[@alt='Forest plot: mean difference']")
    caption = img.getparent().xpath("./figcaption")[0].text_content()
    assert "one panel per outcome, each on its own scale" in caption
    png = Image.open(io.BytesIO(base64.b64decode(img.get("src").split(",", 1)[1])))
    changes = [s for s in result.plan.specs if s.outcome.startswith("change_")]
    assert len({s.outcome for s in changes}) == 3 and png.height > png.width / 2  # three panels


def test_the_analysis_report_has_the_tracking_indicators_the_text_prints() -> None:
    # review 3: `analyze` printed "Program tracking" in text; its HTML report had no such section
    from coachstats.evaluate import analyze

    cohort = hcpc_cohort(n=441, seed=4).patients
    result = analyze(cohort)
    assert result.tracking is not None
    doc = report_from_analysis(
        load_program(cohort), result.plan, goals=HCPC_GOALS, tracking=result.tracking,
        figures=False,
    )  # fmt: skip
    parsed = lxml.html.document_fromstring(build_report(doc))
    (table,) = _table(parsed, "tracking", "tracking")
    rows = _rows(table)
    assert [r[0] for r in rows] == [m.label for m in result.tracking.metrics]
    for row, m in zip(rows, result.tracking.metrics, strict=True):
        assert row[1].startswith(m.format_value(m.value))
        assert row[2] == (str(m.n) if m.n else "")
        assert row[3] == m.benchmark_text
        assert row[4] == (m.status_text() or "not judged")  # the reading, in words
    without = build_report(report_from_analysis(load_program(cohort), result.plan, figures=False))
    assert 'id="tracking"' not in without


@pytest.fixture(scope="module")
def analysis() -> tuple[object, PlanResult]:
    td = load_trial(_small_trial())
    return td, run_plan(td, _small_plan())


def test_report_from_analysis(analysis: tuple[object, PlanResult]) -> None:
    td, plan = analysis
    html = build_report(report_from_analysis(td, plan, goals="hcpc", image_format="svg", seed=3))  # type: ignore[arg-type]
    doc = lxml.html.document_fromstring(html)
    for name in SECTIONS:
        _section(doc, name)
    assert not doc.xpath("//section[@id='reproduction']")
    imgs = doc.xpath("//img")
    assert imgs and all(i.get("src").startswith("data:image/svg+xml;base64,") for i in imgs)
    svg = base64.b64decode(imgs[0].get("src").split(",", 1)[1])
    assert b"<svg" in svg and b"http://www.w3.org/2000/svg" in svg  # the namespace, not a fetch
    (table,) = _table(doc, "outcomes", "outcomes")
    rows = {r[0]: r for r in _rows(table)}
    for spec, r in zip(plan.specs, plan.results, strict=True):
        assert r is not None
        label = spec.label + (" (adjusted)" if r.adjusted else "")
        assert rows[label][7] == format_p(r.p_value)
        assert (int(rows[label][1]), int(rows[label][2])) == (r.arms[0].n, r.arms[1].n)
    design = _facts(doc, "//dl/")
    assert design["Randomized"] == "80 (health coaching 40, usual care 40)"
    assert design["Follow-up"] == "12 months"
    methods = [li.text_content() for li in doc.xpath("//ul[@class='methods']/li")]
    assert methods == methods_text(plan.specs)
    files = _rows(_section(doc, "provenance").xpath(".//table[@class='files']")[0])
    assert files == [["Your data", "in-memory data (no file hash)"]]


def test_report_records_failures_and_file_hash(tmp_path: Path) -> None:
    path = tmp_path / "trial.csv"
    _small_trial().to_csv(path, index=False)
    td = load_trial(path)
    plan = AnalysisPlan(
        [*_small_plan().specs, AnalysisSpec("no_such_column", "t_test", label="Broken")],
        goals="hcpc",
    )
    result = run_plan(td, plan, errors="record")
    doc = lxml.html.document_fromstring(
        build_report(report_from_analysis(td, result, goals="hcpc", figures=False))
    )
    failed = [li.text_content() for li in _section(doc, "outcomes").xpath(".//ul/li")]
    assert len(failed) == 1 and failed[0].startswith("Broken: ColumnNotFoundError")
    files = _rows(_section(doc, "provenance").xpath(".//table[@class='files']")[0])
    assert files == [["Your data", str(path), hashlib.sha256(path.read_bytes()).hexdigest()]]


def test_reproduction_on_user_data_needs_the_data(tmp_path: Path) -> None:
    """A reproduction run on a DataFrame: the report says how to get the flow and Table 1."""
    data = load_trial(bundled_table("peer_patients"), require_baseline=False)
    res = reproduce("peer", data=data.patients)
    without = build_report(report_from_reproduction(res, figures=False))
    assert "pass data= to show the flow and Table 1" in without
    with_data = lxml.html.document_fromstring(
        build_report(report_from_reproduction(res, data=data, figures=False))
    )
    assert _table(with_data, "baseline", "table1")


# --------------------------------------------------------------------------- evaluation report


VERDICT_WORDS = ("larger", "similar", "smaller", "inconclusive")
EVAL_PARTS = ("own-effect", "comparison", "forest", "case-mix", "standardized", "tracking")


def _cells(tr: lxml.html.HtmlElement) -> list[str]:
    return [td.text_content().strip() for td in tr.xpath("./td")]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", text)]


def _shown(text: str, values: list[float], estimand: str) -> None:
    """``text`` prints ``values`` rounded as the report does: percent with 1 decimal for risk
    differences and proportions, 2 decimals otherwise (each within half its last digit)."""
    percent = "risk difference" in estimand or "proportion" in estimand
    scale, half = (100.0, 0.05) if percent else (1.0, 0.005)
    shown = _numbers(text)
    assert len(shown) == len(values), (text, values)
    for got, value in zip(shown, values, strict=True):
        assert abs(got - scale * value) <= half + 1e-9, (text, values)


@pytest.fixture(scope="module")
def program_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-arm program: an HCPC-size cohort (441 patients; the published counts, seeded)."""
    path = tmp_path_factory.mktemp("program") / "program.csv"
    hcpc_cohort(n=441, seed=8).patients.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def two_arm(program_file: Path) -> tuple[TrialData, EvaluationResult]:
    td = load_program(program_file)
    return td, evaluate(td, against="all")


@pytest.fixture(scope="module")
def eval_doc(two_arm: tuple[TrialData, EvaluationResult]) -> lxml.html.HtmlElement:
    td, res = two_arm
    html = build_report(report_from_evaluation(res, trial_data=td))
    _assert_self_contained(html)
    return lxml.html.document_fromstring(html)


def test_evaluation_report_sections(eval_doc: lxml.html.HtmlElement) -> None:
    for name in (*SECTIONS, "evaluation", *EVAL_PARTS, "evaluation-notes"):
        assert _section(eval_doc, name).xpath("./h2 | ./h3"), name
    assert not eval_doc.xpath("//section[@id='reproduction']")
    nav = [a.get("href") for a in eval_doc.xpath("//nav//a")]
    assert nav.index("#figures") < nav.index("#evaluation") < nav.index("#methods")
    assert eval_doc.xpath("//title")[0].text.startswith("Program evaluation: ")
    facts = _facts(eval_doc, "//dl/")
    assert facts["Patients"] == "441 (health coaching 224, usual care 217)"
    assert facts["Program design"].startswith("two-arm")
    assert "Willard-Grace R" in facts["Compared with HCPC 2015"]
    assert "Thom DH" in facts["Compared with Peer 2013"]


def test_evaluation_comparison_table_equals_frame(
    eval_doc: lxml.html.HtmlElement, two_arm: tuple[TrialData, EvaluationResult]
) -> None:
    _, res = two_arm
    frame = res.to_frame()
    assert frame.equals(res.tables()["outcomes"])
    (table,) = _table(eval_doc, "comparison", "comparison")
    trs = table.xpath("./tbody/tr")
    keys = [(tr.get("data-trial"), tr.get("data-target"), tr.get("data-estimand")) for tr in trs]
    assert keys == list(zip(frame["trial"], frame["target"], frame["estimand"], strict=True))
    for tr, r in zip(trs, frame.to_dict("records"), strict=True):
        cells = _cells(tr)
        est = r["estimand"]
        assert cells[2] == est
        assert cells[3] == f"{r['program_n1']} vs {r['program_n2']}"
        _shown(
            cells[4], [r["program_estimate"], r["program_conf_low"], r["program_conf_high"]], est
        )
        assert cells[5] == format_p(r["program_p_adjusted"], missing="")
        _shown(
            cells[6],
            [r["published_estimate"], r["published_conf_low"], r["published_conf_high"]],
            est,
        )
        assert tr.xpath("./td")[6].get("title") == r["published_se_method"]
        diff = [r["difference"], r["difference_conf_low"], r["difference_conf_high"]]
        _shown(cells[7], diff, est if r["difference_scale"] == "difference" else "ratio")
        assert cells[8].rstrip(" \N{DAGGER}") == format_p(r["p_adjusted"])
        assert tr.xpath("./td")[9].get("title") == r["margin_reason"]
        assert cells[10] == format_p(r["p_equivalence_adjusted"])
        assert cells[11] == r["verdict"]
        assert tr.xpath("./td")[11].get("class") == "verdict-" + r["verdict"].replace(" ", "-")
        assert tr.xpath("./td")[11].get("title") == r["reason"]
        side = {"program": "the program", "neither": "neither"}.get(r["favours"])
        assert cells[12] == (side or trial_name(r["trial"]))
    # the primary outcome: the cohort has the counts fitting the paper, 90/194 vs 61/178
    composite = _cells(trs[0])
    p1, p2 = 90 / 194, 61 / 178
    se = float(np.sqrt(p1 * (1 - p1) / 194 + p2 * (1 - p2) / 178))
    assert composite[3] == "194 vs 178"
    _shown(
        composite[4], [p1 - p2, p1 - p2 - 1.959964 * se, p1 - p2 + 1.959964 * se], "risk difference"
    )
    assert _numbers(composite[6])[0] == 12.1  # the published 46.4 % - 34.3 %
    assert composite[9] == "\N{PLUS-MINUS SIGN}12.1"  # the default margin: the published effect


def test_evaluation_verdicts_and_summary(
    eval_doc: lxml.html.HtmlElement, two_arm: tuple[TrialData, EvaluationResult]
) -> None:
    _, res = two_arm
    items = [li.text_content() for li in eval_doc.xpath("//ul[@class='verdicts']/li")]
    assert items == res.verdicts() and len(items) == 9  # 4 HCPC + 5 peer outcomes
    assert all("Against HCPC 2015 (" in v for v in items[:4])
    pairs = zip(res.rows, items, strict=True)
    assert all(r.verdict in VERDICT_WORDS and r.verdict in v for r, v in pairs)
    # the program's own effect comes first, in words a board member reads
    own = [li.text_content() for li in eval_doc.xpath("//ul[@class='headline']/li")]
    assert own == res.headline()
    assert own[0].startswith("at goal for >= 1 condition: ") and "patients in 100" in own[0]
    verdict = _section(eval_doc, "evaluation").xpath("./p")[1]
    # green only when every comparison is larger or similar; amber while any is inconclusive
    assert verdict.get("class") == verdict_class(res)
    assert verdict_class(res) == (
        "failed"
        if not res.ok
        else "ok"
        if all(r.verdict in ("larger", "similar") for r in res.rows)
        else "unsettled"
    )
    assert verdict.text_content() == f"Verdict: {res.verdict_line()}; {res.adjustment_text()}."
    assert "Holm-adjusted across 9 comparisons" in verdict.text_content()
    notes = [li.text_content() for li in eval_doc.xpath("//section[@id='evaluation-notes']//li")]
    assert notes == list(res.notes)


def test_evaluation_does_not_pool_the_program_with_the_trial(
    eval_doc: lxml.html.HtmlElement, two_arm: tuple[TrialData, EvaluationResult]
) -> None:
    # issue 17: pooling a program with the one trial it is compared with (k = 2) answers no
    # question; heterogeneity across published trials belongs to the evidence base
    _, res = two_arm
    assert not eval_doc.xpath("//section[@id='pooled']")
    assert "heterogeneity" not in res.tables() and not hasattr(res, "heterogeneity")
    methods = " ".join(li.text_content() for li in eval_doc.xpath("//ul[@class='methods']/li"))
    assert "DerSimonian" not in methods and "not pooled" in methods


def test_evaluation_case_mix_standardized_and_tracking(
    eval_doc: lxml.html.HtmlElement, two_arm: tuple[TrialData, EvaluationResult]
) -> None:
    _, res = two_arm
    tables = res.tables()
    (mix,) = _table(eval_doc, "case-mix", "case-mix")
    rows = _rows(mix)
    assert [r[1] for r in rows] == tables["case_mix"]["characteristic"].tolist()
    for cells, r in zip(rows, tables["case_mix"].to_dict("records"), strict=True):
        assert cells[3] == str(r["program_n"]) and cells[4] == r["published_text"]
        assert float(cells[6]) == pytest.approx(r["difference"], abs=0.005)
        assert (cells[7] == "material") == r["material"]
    sentences = [li.text_content() for li in eval_doc.xpath("//ul[@class='case-mix-notes']/li")]
    assert sentences == [c.sentence() for c in res.case_mix]
    (std,) = _table(eval_doc, "standardized", "standardized")
    rows = _rows(std)
    assert len(rows) == len(tables["standardized"]) == 9
    for cells, r in zip(rows, tables["standardized"].to_dict("records"), strict=True):
        est = r["estimand"]
        _shown(cells[3], [r["crude"]], est)
        _shown(cells[4], [r["adjusted"]], est)  # the same model at the program's own case mix
        _shown(cells[5], [r["standardized"], r["conf_low"], r["conf_high"]], est)
        assert cells[6] in ("delta method", "t", "percentile bootstrap")  # how the CI was made
        assert cells[7] == r["covariates"] and cells[8] == str(r["reference_n"])
        assert cells[10] == format_p(r["difference_p_value"])
        assert cells[15] == r["verdict"]  # issue 20: a verdict as every other row has
    (tracking,) = _table(eval_doc, "tracking", "tracking")
    trs = tracking.xpath("./tbody/tr")
    metrics = tables["tracking"].set_index("key")
    assert [tr.get("data-key") for tr in trs] == metrics.index.tolist()
    contacts = _cells(next(tr for tr in trs if tr.get("data-key") == "contacts"))
    value, lo, hi = _numbers(contacts[1])
    row = metrics.loc["contacts"]
    assert (value, lo, hi) == pytest.approx(
        (row["value"], row["conf_low"], row["conf_high"]), abs=0.05
    )
    assert contacts[2] == str(row["n"]) == "224"  # the coached patients
    assert contacts[5] == row["status"] and contacts[4] == "\u00b11.48"  # status and its margin


def test_evaluation_forest_is_embedded(eval_doc: lxml.html.HtmlElement) -> None:
    from PIL import Image

    (img,) = _section(eval_doc, "forest").xpath(".//img")
    assert img.get("alt") == "Forest plot: the program and the published trials"
    head, data = img.get("src").split(",", 1)
    assert head == "data:image/png;base64"
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), dtype=float)
    assert pixels.std() > 5
    # the program-only forest plots give way to the one with the trials; the bars by arm remain
    titles = [i.get("alt") for i in _section(eval_doc, "figures").xpath(".//img")]
    assert "Patients with the outcome by arm" in titles
    assert not [t for t in titles if t.startswith("Forest plot")]


def test_evaluation_flow_methods_and_provenance(
    eval_doc: lxml.html.HtmlElement,
    two_arm: tuple[TrialData, EvaluationResult],
    program_file: Path,
) -> None:
    td, res = two_arm
    (consort,) = _table(eval_doc, "flow", "consort")
    flow_rows = {r[0]: [int(x) for x in r[1:]] for r in _rows(consort)}
    # a program's patients were enrolled: the flow does not call them randomized
    assert flow_rows["Enrolled"] == [224, 217, 441] and "Randomized" not in flow_rows
    caption = consort.xpath("./caption")[0].text_content()
    assert caption.startswith("Patient flow (441 enrolled"), caption
    assert flow_rows["Analysed"][:2] == list(
        td.flow_for(HCPC_GOALS).analysed("composite_any").values()
    )
    methods = [li.text_content() for li in eval_doc.xpath("//ul[@class='methods']/li")]
    first = res.effects[0].program
    assert first is not None
    assert methods[0].startswith(
        f"at goal for >= 1 condition (HCPC 2015 analysis): {first.method}; "
    )
    assert any("difference = program - published" in m for m in methods)
    assert any("TOST" in m and "Holm-adjusted across 9 comparisons" in m for m in methods)
    assert any("Cohen's h" in m for m in methods) and any("g-computation" in m for m in methods)
    prov = _section(eval_doc, "provenance")
    files = _rows(prov.xpath(".//table[@class='files']")[0])
    sha = hashlib.sha256(program_file.read_bytes()).hexdigest()
    assert files == [["Your program", str(program_file), sha]]
    seeds = dict(_rows(prov.xpath(".//table[@class='seeds']")[0]))
    assert seeds["synthetic hcpc cohort (reference of the case mix and standardization)"] == str(
        HCPC_SEED
    )


def test_evaluation_without_trial_data(
    two_arm: tuple[TrialData, EvaluationResult], program_file: Path
) -> None:
    """Without the loaded data: no flow or Table 1, the file hashed when the report is written."""
    _, res = two_arm
    doc = lxml.html.document_fromstring(build_report(report_from_evaluation(res, figures=False)))
    assert "No patient-level data" in _section(doc, "flow").text_content()
    assert not _table(doc, "baseline", "table1")
    assert not doc.xpath("//img") and not doc.xpath("//section[@id='forest']")
    files = _rows(_section(doc, "provenance").xpath(".//table[@class='files']")[0])
    assert files == [
        ["Your program", str(program_file), hashlib.sha256(program_file.read_bytes()).hexdigest()]
    ]
    assert "pass trial_data= to show the flow" in _section(doc, "provenance").text_content()


def test_single_arm_evaluation_report() -> None:
    """Single-arm: the program beside the published arms, the plain-language verdicts, and a
    site named ``<script>`` shown as text."""
    cohort = hcpc_cohort(n=441, seed=4).patients
    program = single_arm_program(cohort, usual_care_share=0.5, seed=3)
    program["site"] = program["site"].map({"A": "A", "B": XSS})
    td = load_program(program, design="single-arm")
    res = evaluate(td, against="all", standardize=False)
    html = build_report(report_from_evaluation(res, trial_data=td, title=XSS, figures=False))
    _assert_self_contained(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    doc = lxml.html.document_fromstring(html)
    assert doc.xpath("//title")[0].text == XSS
    sites = next(
        dd.text_content()
        for dt, dd in zip(doc.xpath("//dl/dt"), doc.xpath("//dl/dd"), strict=True)
        if dt.text_content() == "Sites"
    )
    assert XSS in sites
    assert not doc.xpath("//section[@id='comparison']//table[@class='comparison']")
    assert not doc.xpath("//section[@id='pooled']")  # a program is never pooled with a trial
    assert not _table(doc, "baseline", "table1")  # one arm: the case mix instead
    # ... and the sections say why, instead of "Not available." (evaluator review)
    for name, why in (("baseline", "no Table 1 by arm"), ("outcomes", "no comparison of arms")):
        assert why in _section(doc, name).text_content()
    (table,) = _table(doc, "comparison", "arm-comparison")
    frame = res.to_frame()
    trs = table.xpath("./tbody/tr")
    assert [(tr.get("data-trial"), tr.get("data-target")) for tr in trs] == list(
        zip(frame["trial"], frame["target"], strict=True)
    )
    for tr, r in zip(trs, frame.to_dict("records"), strict=True):
        cells, est = _cells(tr), r["estimand"]
        tds = tr.xpath("./td")
        assert cells[2] == str(r["n"])
        _shown(
            cells[3], [r["program_estimate"], r["program_conf_low"], r["program_conf_high"]], est
        )
        assert tds[3].get("title") == r["caveat"] and "without a concurrent control" in r["caveat"]
        if r["regression_expected"] == r["regression_expected"]:  # estimated (HbA1c outcomes)
            _shown(cells[4], [r["regression_expected"]], est)
        else:
            assert cells[4] == ""
        _shown(cells[5], [r["published_coaching"]], est)
        _shown(cells[6], [r["published_usual_care"]], est)
        assert cells[8] == format_p(r["p_adjusted"])
        assert cells[10] == format_p(r["p_equivalence_adjusted"])
        assert cells[11] == r["verdict"]
        assert tds[11].get("class") == "verdict-" + r["verdict"]
    verdicts = [li.text_content() for li in doc.xpath("//ul[@class='verdicts']/li")]
    assert verdicts == res.verdicts() == frame["sentence"].tolist()
    # every single-arm sentence says what the figure is
    assert all("without a concurrent control group" in v for v in verdicts)
    # half the usual-care patients relabelled as coached: the figure lies between the arms
    assert (
        "coaching 46.4 %, usual care 34.3 %; the program's figure lies between the published arms"
        in verdicts[0]
    )
    summary = _section(doc, "evaluation").xpath("./p")[1]
    assert summary.get("class") == verdict_class(res)
    assert summary.text_content() == f"Verdict: {res.verdict_line()}; {res.adjustment_text()}."
    methods = [li.text_content() for li in doc.xpath("//ul[@class='methods']/li")]
    assert any(m.startswith("Single-arm program: each outcome's share (Wilson") for m in methods)
    assert any("regression to the mean" in m and "Gough" in m for m in methods)
    assert "baseline table not available" not in html


# --------------------------------------------------------------------------- methods text


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            AnalysisSpec(
                "x",
                "gee",
                cluster="coach_id",
                options={"family": "binomial", "corr": "exchangeable", "singleton_clusters": True},
            ),
            "x: generalized estimating equations (binomial family, exchangeable working correlation, robust standard errors), clustered by coach (patients without a coach as clusters of one); complete-case analysis.",
        ),
        (
            AnalysisSpec(
                "x",
                "logistic",
                covariates=("age",),
                options={"fixed_effects": "site", "estimand": "risk difference"},
            ),
            "x: logistic regression (risk difference) with site fixed effects, adjusted for age; complete-case analysis.",
        ),
        (
            AnalysisSpec("x", "chi_square", missing="failure", options={"correct": True}),
            "x: Pearson's chi-square test with Yates' continuity correction; patients with a missing follow-up value counted as not at goal.",
        ),
        (
            AnalysisSpec(
                "composite_any", "mcnemar", timepoints=(12, 24), subset="arm == 'coaching'"
            ),
            "At goal for >= 1 condition: McNemar's test for paired proportions, among patients in the health coaching arm, month 12 vs month 24; complete-case analysis.",
        ),
        (
            AnalysisSpec(
                "bmi_6", "mixed", cluster="site", change_from="bmi_0", options={"reml": False}
            ),
            "BMI at month 6 (kg/m²): a linear mixed model (ML) with a random intercept for site, of the change from baseline BMI; complete-case analysis.",
        ),
        (
            AnalysisSpec(
                "y", "t_test", complete_on=("trust_0", "trust_12"), options={"equal_var": True}
            ),
            "y: Student's t test (equal variances), among patients with Trust in Physician score at baseline and Trust in Physician score at month 12 measured; complete-case analysis.",
        ),
    ],
)
def test_methods_sentence(spec: AnalysisSpec, expected: str) -> None:
    assert methods_sentence(spec) == expected


# --------------------------------------------------------------------------- writing


def test_write_report_is_atomic_and_refuses_to_overwrite(
    tmp_path: Path, analysis: tuple[object, PlanResult]
) -> None:
    td, plan = analysis
    report = report_from_analysis(td, plan, figures=False)  # type: ignore[arg-type]
    out = tmp_path / "report.html"
    assert write_report(out, report) == out
    first = out.read_text(encoding="utf-8")
    assert first == build_report(report)
    with pytest.raises(OutputError, match="exists"):
        write_report(out, report)
    assert out.read_text(encoding="utf-8") == first
    write_report(out, report, force=True)
    data = tmp_path / "data.html"
    data.write_text("input")
    with pytest.raises(OutputError, match="input file"):
        write_report(data, report, force=True, inputs=[data])
    assert data.read_text() == "input"
    with pytest.raises(OptionError, match=r"\.html"):
        write_report(tmp_path / "report.pdf", report)
    assert not list(tmp_path.glob(".*.tmp"))


def test_image_format_is_validated() -> None:
    with pytest.raises(OptionError, match="'png', 'svg'"):
        Report("t", (), image_format="gif")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- browser


@pytest.fixture
def chromium_profile(tmp_path: Path) -> Iterator[Path]:
    profile = tmp_path / "profile"
    profile.mkdir()
    yield profile
    shutil.rmtree(profile, ignore_errors=True)


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.browser
@pytest.mark.skipif(
    # CI sets COACHSTATS_REQUIRE_BROWSER=1 after installing Chromium, so there the test never skips.
    not CHROMIUM.exists() and not os.environ.get("COACHSTATS_REQUIRE_BROWSER"),
    reason="headless Chromium not installed (/usr/bin/chromium; apt-get install -y chromium)",
)
def test_renders_in_chromium(hcpc_html: str, tmp_path: Path, chromium_profile: Path) -> None:
    from PIL import Image

    page = tmp_path / "report.html"
    page.write_text(hcpc_html, encoding="utf-8")
    shot = tmp_path / "report.png"
    run = _chromium(
        f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri(), profile=chromium_profile
    )
    assert shot.exists(), run.stderr[-2000:]
    errors = [
        line for line in run.stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line
    ]
    assert not errors, errors
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (3000, 1200)
    assert pixels.std() > 10  # text, tables and figures, not a blank page
    # the figures are decoded: the DOM after load holds the images with their data
    dom = _chromium("--dump-dom", page.as_uri(), profile=chromium_profile)
    rendered = lxml.html.document_fromstring(dom.stdout)
    assert len(rendered.xpath("//img[starts-with(@src, 'data:image/png;base64,')]")) == len(
        lxml.html.document_fromstring(hcpc_html).xpath("//img")
    )
    assert rendered.xpath("//section[@id='reproduction']//table")
