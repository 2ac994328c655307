"""A pipe closed by the output's reader stops the command quietly with exit 141 (issue 20).

``coachstats reproduce | head -3`` is how a user peeks at a long output. When the
reader has read enough and closes the pipe, the command stops: no traceback, no
``internal error``, no ``Exception ignored`` from Python's last flush, and exit 141
(128 + SIGPIPE, what a shell reports for a Unix tool stopped by a closed pipe; not 0,
since the command did not finish its work). Each test runs the real command in a
separate process whose standard output is a real operating-system pipe.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coachstats.cli.common import EXIT_CLOSED_PIPE

ROOT = Path(__file__).resolve().parents[1]
HCPC = str(ROOT / "data" / "synthetic" / "hcpc_patients.csv")
COMMAND = [sys.executable, "-m", "coachstats.cli"]
NOISE = ("Traceback", "internal error", "Exception ignored", "BrokenPipeError", "Errno 32")


def _quiet(stderr: bytes) -> str:
    text = stderr.decode()
    assert not [word for word in NOISE if word in text], text
    return text


def _closed_at_once(args: list[str], *, merge_stderr: bool = False) -> tuple[int, str]:
    """Run ``coachstats args`` with its output pipe closed before it writes anything."""
    proc = subprocess.Popen(
        [*COMMAND, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first write: every write fails
    _, stderr = proc.communicate(timeout=300)
    return proc.returncode, "" if merge_stderr else _quiet(stderr)


def test_exit_code_is_128_plus_sigpipe() -> None:
    import signal

    assert 128 + int(getattr(signal, "SIGPIPE", 13)) == EXIT_CLOSED_PIPE


@pytest.mark.skipif(shutil.which("head") is None, reason="needs the POSIX head tool")
@pytest.mark.parametrize("args", [["reproduce"], ["analyze", HCPC]])
def test_piped_into_head_stops_quietly(args: list[str]) -> None:
    """``coachstats ARGS | head -3``: head's three lines, nothing on stderr but notes."""
    producer = subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    head = subprocess.Popen(["head", "-3"], stdin=producer.stdout, stdout=subprocess.PIPE)
    assert producer.stdout is not None
    producer.stdout.close()  # as a shell does: only head holds the read end
    lines, _ = head.communicate(timeout=300)
    _, stderr = producer.communicate(timeout=300)
    _quiet(stderr)
    first = lines.decode().splitlines()
    assert len(first) == 3
    assert first[0].startswith("HCPC:" if args == ["reproduce"] else HCPC)
    # 0 when the whole output fitted in the pipe before head left, else 141; never 1, 2 or 3
    assert producer.returncode in (0, EXIT_CLOSED_PIPE)


@pytest.mark.parametrize(
    "args",
    [
        ["reproduce"],  # long output, written line by line
        ["analyze", HCPC],  # written as the analysis goes
        ["power", "--published", "hcpc_composite"],  # short: fails only in the last flush
        ["--help"],  # click and rich print this, outside any command
    ],
)
def test_a_closed_pipe_exits_141_without_a_message(args: list[str]) -> None:
    code, _ = _closed_at_once(args)
    assert code == EXIT_CLOSED_PIPE


def test_a_closed_pipe_for_both_streams_exits_141() -> None:
    """``coachstats reproduce 2>&1 | head``: the notes on stderr meet the closed pipe first."""
    code, _ = _closed_at_once(["reproduce"], merge_stderr=True)
    assert code == EXIT_CLOSED_PIPE


def test_an_open_pipe_keeps_the_exit_code() -> None:
    """A reader that reads everything sees the command's own exit code (2: a usage error)."""
    done = subprocess.run(
        [*COMMAND, "analyze"], capture_output=True, cwd=ROOT, check=False, timeout=300
    )
    assert done.returncode == 2
    assert "Missing argument" in done.stderr.decode()
