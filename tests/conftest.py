"""Shared pytest configuration."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import matplotlib
import pytest

if TYPE_CHECKING:
    from coachstats.tasks.evaluate import EvaluationResult

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def evaluated_two_arm() -> EvaluationResult:
    """A two-arm HCPC-like program of 600 evaluated against every trial (no tracking)."""
    from coachstats.synthetic import hcpc_cohort
    from coachstats.tasks.evaluate import evaluate

    return evaluate(hcpc_cohort(n=600, seed=4).patients, against="all", tracking=False)


@pytest.fixture(scope="session")
def evaluated_single_arm() -> EvaluationResult:
    """A single-arm program (half of each arm of an HCPC-like cohort of 1200), evaluated."""
    from coachstats.synthetic import hcpc_cohort
    from coachstats.synthetic.programs import single_arm_program
    from coachstats.tasks.evaluate import evaluate

    program = single_arm_program(hcpc_cohort(n=1200, seed=2).patients)
    return evaluate(program, against="all", tracking=False, design="single-arm")
