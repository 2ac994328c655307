"""docs/reproduction.md holds exactly what the code prints (issue 18: docs numbers come from
the code). The page's generated blocks are recomputed here from the registry and
``reproduce(sensitivity=True)``; when they differ, rerun ``python -m tools.docs.reproduction_page``.
"""

from __future__ import annotations

import warnings

import pytest
from tools.docs import reproduction_page as page

from coachstats.reproduce import ReproductionResult, reproduce


@pytest.fixture(scope="module")
def result() -> ReproductionResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reproduce(sensitivity=True)


@pytest.fixture(scope="module")
def generated(result: ReproductionResult) -> dict[str, str]:
    return page.blocks(result)


def test_every_block_is_on_the_page(generated: dict[str, str]) -> None:
    on_page = page.current(page.PAGE.read_text(encoding="utf-8"))
    assert set(on_page) == set(generated)


@pytest.mark.parametrize(
    "name", ["result", "citations", "tables", "held-out", "assumptions", "sensitivity"]
)
def test_page_block_is_current(name: str, generated: dict[str, str]) -> None:
    on_page = page.current(page.PAGE.read_text(encoding="utf-8"))
    assert on_page[name] == generated[name], (
        f"docs/reproduction.md block {name!r} is stale: run `python -m tools.docs.reproduction_page`"
    )


def test_page_states_the_current_summary_line(result: ReproductionResult) -> None:
    text = page.PAGE.read_text(encoding="utf-8")
    assert result.figures_line() in text
    # the sentence the issue found stale (the composite under multiple imputation) is now the
    # generated sensitivity table's row, not prose
    assert "P = .055" not in text


def test_update_replaces_only_the_blocks() -> None:
    text = "x\n<!-- BEGIN generated: a -->\nold\n<!-- END generated: a -->\ny\n"
    assert page.update(text, {"a": "new"}) == text.replace("old", "new")
    with pytest.raises(Exception, match="no generated block"):
        page.update(text, {"b": "new"})


def test_p_value_figure_data(result: ReproductionResult) -> None:
    data = page.p_values(result)
    assert set(data["provenance"]) <= {"construction", "moment-matched", "tuned", "held-out"}
    assert (data["published"] > 0).all() and (data["reproduced"] >= 0).all()
    assert "hcpc_trust: trust_change_adj" in set(data["target"])
