"""A single-arm program's report shows its own outcomes, with the caveat, in HTML and Word."""

from __future__ import annotations

import math
from pathlib import Path

import docx
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from coachstats.cli import app
from coachstats.core.paths import bundled_table


@pytest.fixture
def single(tmp_path: Path) -> Path:
    """80 coached HCPC patients, no arm column."""
    df = pd.read_csv(bundled_table("hcpc_patients"))
    df = df.loc[df["arm"] == "coaching"].head(80).drop(columns=["arm"])
    path = tmp_path / "single.csv"
    df.to_csv(path, index=False)
    return path


def _sbp_change_cell(path: Path) -> str:
    """The SBP change cell computed here: mean (t interval) of sbp_12 - sbp_0, complete cases."""
    d = pd.read_csv(path)
    x = (d["sbp_12"] - d["sbp_0"]).dropna()
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    m = x.mean()
    return f"{m:.2f} ({m - half:.2f} to {m + half:.2f})"


@pytest.mark.parametrize("suffix", [".html", ".docx"])
def test_single_arm_report_shows_the_outcomes_and_the_caveat(
    single: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"report{suffix}"
    result = CliRunner().invoke(app, ["analyze", str(single), "--single-arm", "--report", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".html":
        text = out.read_text(encoding="utf-8")
    else:
        document = docx.Document(str(out))
        cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
        text = "\n".join([p.text for p in document.paragraphs] + cells)
    assert "No two-arm comparison was run" not in text
    assert "Outcomes of the coached patients" in text
    assert "SBP change (mm Hg)" in text and _sbp_change_cell(single) in text
    assert "without a concurrent control group" in text  # the caveat, where the figures are
    assert "A single-arm program has no Table 1 by arm" in text
