"""Command-line interface: ``coachstats reproduce | analyze | evaluate | evidence | trials | power | endpoints | synth | fixtures | check``.

Exit codes: 0 success; 1 an analysis finding (e.g. a reproduced figure
differs from the published one); 2 bad input (the error lists every
problem); 3 an internal error; 141 when the reader of the output closed it
early (``coachstats reproduce | head -3``: the command stops quietly). Tracebacks
are shown only with ``--debug``.

Each command is a module of this package; they import their heavy
dependencies inside the command, so ``coachstats --help`` starts fast.
"""

from __future__ import annotations

import sys
from typing import Any

from coachstats.cli import check, data, evidence, fixtures, power, program, reproduce
from coachstats.cli.app import app
from coachstats.cli.common import closed_pipe_exit, stdout_identity

__all__ = ["app", "main"]
_COMMANDS = (
    data,
    evidence,
    power,
    program,
    reproduce,
    fixtures,
    check,
)  # imported for their @app.command registrations
#: The order ``coachstats --help`` lists the commands in: the main job first.
ORDER = (
    "reproduce",
    "analyze",
    "evaluate",
    "evidence",
    "trials",
    "power",
    "endpoints",
    "synth",
    "fixtures",
    "check",
)


def _rank(command: Any) -> int:
    name = command.name or getattr(command.callback, "__name__", "")
    return ORDER.index(name) if name in ORDER else len(ORDER)


app.registered_commands.sort(key=_rank)


def main() -> None:
    """Entry point of the ``coachstats`` command.

    A pipe closed by the output's reader (``| head``) ends the command quietly with exit
    :data:`~coachstats.cli.common.EXIT_CLOSED_PIPE` (141), wherever the write fails: in a
    command (:func:`~coachstats.cli.common.guard`), in the last flush of buffered output, or
    in the printing of click and rich (``--help``, a usage error), which end with exit 1
    after swapping ``sys.stdout`` (click) or pointing it at the null device (rich): that
    change of standard output is how such an exit is recognised here.
    """
    before = stdout_identity()
    try:
        try:
            app()
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        closed_pipe_exit(SystemExit)
    except SystemExit:
        if stdout_identity() != before:
            closed_pipe_exit(SystemExit)
        raise
