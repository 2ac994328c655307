"""The generated parts of ``docs/reproduction.md``: every number on the page comes from the code.

The page holds blocks between ``<!-- BEGIN generated: NAME -->`` and
``<!-- END generated: NAME -->``; :func:`blocks` computes them from the current
registry and the current output of :func:`coachstats.tasks.reproduce.reproduce`
(with ``sensitivity=True``), :func:`update` puts them into a page's text, and
``tests/test_reproduction_page.py`` checks that the page holds exactly what the code
gives, so the page cannot go stale. Rewrite the page with::

    python -m tools.docs.reproduction_page          # rewrites docs/reproduction.md
    python -m tools.docs.reproduction_page check    # exit 1 if the page is stale

Blocks: ``result`` (the summary line and verdicts), ``citations`` (the full references),
``tables`` (published vs reproduced, with provenance), ``held-out`` (the held-out figures and
what the cohort gives), ``assumptions`` (what each paper did not print, target by target) and
``sensitivity`` (each trial's main outcomes under the alternatives, and the analyses not run).

Examples
--------
>>> update("a\\n<!-- BEGIN generated: x -->\\nold\\n<!-- END generated: x -->\\nb", {"x": "new"})
'a\\n<!-- BEGIN generated: x -->\\nnew\\n<!-- END generated: x -->\\nb'
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from coachstats.core.errors import CoachstatsError
from coachstats.present.report.formats import interval_text
from coachstats.tasks.reproduce import ReproductionResult, reproduce
from coachstats.trials import Target, Trial, get_trial

__all__ = ["PAGE", "blocks", "current", "figure", "main", "p_values", "update"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reproduction.md"
_BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated: (?P=name) -->)",
    re.S,
)


def update(text: str, new: Mapping[str, str]) -> str:
    """``text`` with each generated block replaced by ``new[name]``.

    Raises
    ------
    CoachstatsError
        A block of ``new`` is not on the page (its markers are missing).
    """
    missing = set(new) - {m.group("name") for m in _BLOCK.finditer(text)}
    if missing:
        raise CoachstatsError(f"the page has no generated block(s) {sorted(missing)}")
    return _BLOCK.sub(lambda m: m.group(1) + new[m.group("name")] + "\n" + m.group(4), text)


def current(text: str) -> dict[str, str]:
    """The generated blocks of a page, by name."""
    return {m.group("name"): m.group("body").removesuffix("\n") for m in _BLOCK.finditer(text)}


def _result(res: ReproductionResult) -> str:
    return f"**{res.figures_line()}.** {res.verdicts_line()}. How a figure is judged: {res.match_rule()}."


def _citations(res: ReproductionResult) -> str:
    lines = []
    for name in res.trials:
        c = get_trial(name).citation
        lines.append(f"- `{name}`: {c.reference()} *Checked:* {c.verification}")
    return "\n".join(lines)


def _held_out(res: ReproductionResult) -> str:
    rows = [
        "| paper | figure | published | reproduced | verdict |",
        "|---|---|---|---|---|",
    ]
    for t in res.targets:
        if not t.held_out:
            continue
        r = t.row()
        pub = _figure(r, "published")
        rep = _figure(r, "reproduced")
        rows.append(
            f"| `{t.trial}` | {t.target.label} (`{t.target.id}`) | {pub} | {rep} | {t.verdict} |"
        )
    return "\n".join(rows)


def _figure(r: Mapping[str, object], side: str) -> str:
    parts = [str(r[f"{side}_{g}"]) for g in ("coaching", "usual_care") if r[f"{side}_{g}"]]
    text = " vs ".join(parts)
    if r["published_difference"]:
        text += ("; " if text else "") + f"difference {r[f'{side}_difference']}"
    if r["published_p"]:
        text += ("; " if text else "") + f"P {r[f'{side}_p']}"
    return text


def _assumption(t: Target) -> str:
    line = f"- **{t.label}** (`{t.id}`; {t.provenance}; analysis: {t.analysis.describe_rule()})."
    if t.not_published:
        line += f" *Not published:* {t.not_published}"
    if t.assumption:
        line += f" *Assumed:* {t.assumption}"
    inferred = "; ".join(
        f"{k} {' vs '.join(map(str, v)) if isinstance(v, list | tuple) else v}"
        for k, v in t.inferred.items()
    )
    if inferred:
        line += f" *Inferred (not printed):* {inferred}."
    for field, reason in t.unreachable.items():
        line += f" *Not reproducible ({field}):* {reason}"
    return line


def _assumptions(trials: Sequence[Trial]) -> str:
    out: list[str] = []
    for trial in trials:
        out += [f"#### {trial.title}", "", " ".join(trial.notes.split()), ""]
        out += [_assumption(t) for t in trial.targets]
        out.append("")
    return "\n".join(out).rstrip()


def _sensitivity(frame: pd.DataFrame, trials: Sequence[Trial]) -> str:
    out: list[str] = []
    head = [
        "| analysis | coaching | usual care | estimate (95% CI) | P | note |",
        "|---|---|---|---|---|---|",
    ]
    for trial in trials:
        rows = frame[frame["trial"] == trial.name]
        if rows.empty:
            continue
        out += [f"### {trial.title}", ""]
        for tid in dict.fromkeys(rows["target"]):
            sub = rows[rows["target"] == tid]
            if tid == "(all)":
                out += [
                    f"*Not run* -- **{a}**: {n}"
                    for a, n in zip(sub["analysis"], sub["note"], strict=True)
                ]
                out.append("")
                continue
            label = trial.target(str(tid)).label
            out += [f"**{label}** (`{tid}`)", "", *head]
            for r in sub.to_dict("records"):
                est = interval_text(
                    r["estimate"], r["conf_low"], r["conf_high"], str(r["estimand"])
                )
                est = f"{r['estimand']} {est}" if est else ""
                cells = [r["analysis"], r["coaching"], r["usual_care"], est, r["p"], r["note"]]
                out.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
            out += ["", _moves(sub), ""]
    return "\n".join(out).rstrip()


def _moves(rows: pd.DataFrame) -> str:
    """Which alternatives put the P on the other side of .05 than the published analysis."""
    base = rows[rows["analysis"] == "as published"]["p_value"].item()
    side = base < 0.05
    flipped = [
        f"{a} (P {p})"
        for a, p, v in zip(rows["analysis"], rows["p"], rows["p_value"], strict=True)
        if a != "as published" and pd.notna(v) and (v < 0.05) != side
    ]
    verdict = "significant" if side else "not significant"
    if not flipped:
        return f"*At .05:* {verdict} as published and under every alternative."
    return f"*At .05:* {verdict} as published; the other way under " + "; ".join(flipped) + "."


def blocks(res: ReproductionResult | None = None) -> dict[str, str]:
    """Every generated block, from ``res`` (default: all trials with ``sensitivity=True``)."""
    if res is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the run's data notes are not part of the page
            res = reproduce(sensitivity=True)
    trials = [get_trial(n) for n in res.trials]
    sens = res.sensitivity if res.sensitivity is not None else pd.DataFrame()
    return {
        "result": _result(res),
        "citations": _citations(res),
        "tables": res.to_markdown().rstrip(),
        "held-out": _held_out(res),
        "assumptions": _assumptions(trials),
        "sensitivity": _sensitivity(sens, trials),
    }


def p_values(res: ReproductionResult) -> pd.DataFrame:
    """Published and reproduced P value of every target that prints one as a number (not
    "< .001", which has no value to place), with
    the target's provenance as the group (the data of the page's figure)."""
    rows = []
    for t in res.targets:
        pp = t.target.printed_p()
        if pp.kind == "value" and pd.notna(t.p_value):
            rows.append(
                {
                    "target": f"{t.trial}: {t.target.id}",
                    "provenance": t.provenance,
                    "published": pp.value(),
                    "reproduced": t.p_value,
                }
            )
    return pd.DataFrame(rows)


def figure(res: ReproductionResult, path: Path) -> Path:
    """Draw the published against the reproduced P values (log scales, one colour per
    provenance) to ``path``."""
    import matplotlib.pyplot as plt

    from coachstats.present.plots import plot_published_vs_reproduced

    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    plot_published_vs_reproduced(
        p_values(res),
        published="published",
        reproduced="reproduced",
        label="target",
        group="provenance",
        kind="scatter",
        scale="log",
        ax=ax,
    )
    ax.set_title("P values: published vs reproduced, by provenance")
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the page and its figure (or, with ``check``, exit 1 when the page is stale)."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = PAGE.read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = reproduce(sensitivity=True)
    new = update(text, blocks(res))
    if args[:1] == ["check"]:
        stale = new != text
        print("docs/reproduction.md is stale" if stale else "docs/reproduction.md is current")
        return int(stale)
    PAGE.write_text(new, encoding="utf-8")
    print(PAGE)
    print(figure(res, PAGE.parent / "img" / "published_vs_reproduced.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
