"""``python -m coachstats.cli``: the ``coachstats`` command."""

from coachstats.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
