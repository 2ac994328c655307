"""Regenerate the bundled synthetic cohorts: ``python -m coachstats.synthetic [DIR]``.

``DIR`` defaults to ``data/synthetic`` (relative to the working directory, i.e.
run it from the repository root). The files are byte-identical on every run
with the same library versions.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from coachstats import synthetic


def main(argv: Sequence[str] | None = None) -> int:
    """Write every generator's default cohort into the directory given (or data/synthetic)."""
    args = list(sys.argv[1:] if argv is None else argv)
    directory = Path(args[0]) if args else Path("data") / "synthetic"
    paths = synthetic.hcpc_cohort().write(directory)
    peer = getattr(synthetic, "peer_cohort", None)
    if peer is not None and hasattr(peer(), "write"):
        paths += peer().write(directory)
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
