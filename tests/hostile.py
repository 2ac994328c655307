"""Generators of hostile patient files (issue 23), shared by the loader tests and the fuzzers.

Each builds a file the way a clinic's export or an evaluator's IT staff would
break it; the tests say what the loader must do with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HEADER = ["patient_id", "arm", "site", "diabetes", "hba1c_0", "hba1c_12", "sbp_0", "sbp_12"]


def clean_rows(n: int = 40, seed: int = 1) -> list[list[str]]:
    """``n`` valid wide rows as text cells (ids P001..., two arms, two sites)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rows.append(
            [
                f"P{i + 1:03d}",
                "coaching" if i % 2 == 0 else "usual_care",
                "North" if i % 3 else "South",
                "yes",
                f"{rng.uniform(8.1, 11):.1f}",
                f"{rng.uniform(6, 10):.1f}",
                f"{rng.integers(135, 170)}",
                f"{rng.integers(115, 160)}",
            ]
        )
    return rows


def write_rows(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def unbalanced_quote(path: Path, n: int = 40, opened: int = 10, closed: int = 14) -> Path:
    """A site cell opens a quote on row ``opened`` that a later site cell closes: rows between vanish."""
    rows = clean_rows(n)
    rows[opened][2] = '"' + rows[opened][2]
    rows[closed][2] = rows[closed][2] + '"'
    return write_rows(path, rows)


def quoted_line_breaks(path: Path, n: int = 6) -> Path:
    """A legitimate multi-line note in quotes: one row over three lines."""
    rows = clean_rows(n)
    header = [*HEADER, "notes"]
    rows = [[*r, ""] for r in rows]
    rows[2][-1] = '"called twice\nleft a message\nno answer"'
    return write_rows(path, rows, header)


def ids_as_text(path: Path) -> Path:
    """Ids and site codes that numbers would merge or change: 007/7, 1e3/1000, 00001, 01/1."""
    ids = ["007", "7", "1e3", "1000", "00001", "P1"]
    sites = ["01", "1", "01", "1", "001", "A"]
    rows = clean_rows(len(ids))
    for r, i, s in zip(rows, ids, sites, strict=True):
        r[0], r[2] = i, s
    return write_rows(path, rows)


def space_variant_ids(path: Path) -> Path:
    rows = clean_rows(4)
    rows[0][0], rows[1][0] = "P1 ", "P1"
    return write_rows(path, rows)


def mixed_encoding(path: Path, filler_rows: int = 2000) -> Path:
    """UTF-8 'Peña' on line 2, then > 64 KiB of rows, then 'Peña' in Windows-1252."""
    rows = clean_rows(filler_rows + 2)
    rows[0][2] = "Peña"
    text = "\n".join(",".join(r) for r in [HEADER, *rows[:-1]]) + "\n"
    last = rows[-1]
    last[2] = "Peña"
    data = text.encode("utf-8") + (",".join(last) + "\n").encode("cp1252")
    assert len(data) > 64 * 1024
    path.write_bytes(data)
    return path


def long_header(path: Path, columns: int = 3000) -> Path:
    """A header longer than 64 KiB whose names share long prefixes (a cut would duplicate one)."""
    stem = "questionnaire_item_with_a_long_name_"
    extra = [f"{stem}{i}" for i in range(columns)]
    rows = [[*r, *(["1"] * columns)] for r in clean_rows(4)]
    return write_rows(path, rows, [*HEADER, *extra])


def wide(path: Path, columns: int, rows: int = 4) -> Path:
    """``columns`` extra numeric columns next to the schema's."""
    extra = [f"x{i}" for i in range(columns)]
    body = [[*r, *(["1"] * columns)] for r in clean_rows(rows)]
    return write_rows(path, body, [*HEADER, *extra])


def baseline_only(path: Path) -> Path:
    """HbA1c at baseline only (no hba1c_12), SBP at both months."""
    rows = [[r[0], r[1], r[2], r[3], r[4], r[6], r[7]] for r in clean_rows(20)]
    return write_rows(
        path, rows, ["patient_id", "arm", "site", "diabetes", "hba1c_0", "sbp_0", "sbp_12"]
    )


def long_rows(n: int = 6) -> pd.DataFrame:
    """Long data: one row per patient x month x measure."""
    out = []
    for r in clean_rows(n):
        for measure, month, value in (("hba1c", 0, r[4]), ("hba1c", 12, r[5]), ("sbp", 0, r[6])):
            out.append(
                {
                    "patient_id": r[0],
                    "arm": r[1],
                    "measure": measure,
                    "month": month,
                    "value": value,
                }
            )
    return pd.DataFrame(out)


def workbook(
    path: Path, *, formulas: bool = False, errors: bool = False, hidden: bool = False
) -> Path:
    """An .xlsx: formula cells without saved results, error cells, a hidden stale first sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    if hidden:
        first.title = "Old export"
        first.append(HEADER)
        for r in clean_rows(3, seed=9):
            first.append(r)
        first.sheet_state = "hidden"
        sheet = book.create_sheet("Patients")
    else:
        sheet = first
        sheet.title = "Patients"
    sheet.append(HEADER)
    for i, r in enumerate(clean_rows(10)):
        row: list[object] = [r[0], r[1], r[2], r[3], float(r[4]), float(r[5]), int(r[6]), int(r[7])]
        if formulas:
            row[5] = f"=E{i + 2}-1"  # openpyxl saves formulas without results
        if errors and i == 3:
            row[4] = "#DIV/0!"
        sheet.append(row)
    book.save(path)
    return path


def legacy_xls(path: Path) -> Path:
    """A BIFF .xls workbook (xlwt), with a text id '007' and a hidden stale sheet first."""
    import xlwt

    book = xlwt.Workbook()
    old = book.add_sheet("Old")
    old.write(0, 0, "patient_id")
    old.write(1, 0, "stale")
    old.visibility = 1  # hidden
    sheet = book.add_sheet("Patients")
    for j, name in enumerate(HEADER):
        sheet.write(0, j, name)
    for i, r in enumerate(clean_rows(6), start=1):
        r[0] = "007" if i == 1 else r[0]
        for j, cell in enumerate(r):
            sheet.write(i, j, float(cell) if j >= 4 else cell)
    book.save(str(path))
    return path


def alias_bomb(path: Path, levels: int = 9) -> Path:
    """A YAML mapping of a few hundred bytes whose nested aliases expand to 9**levels items."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for k in range(1, levels):
        ref = f"*a{k - 1}"
        lines.append(f"a{k}: &a{k} [{', '.join([ref] * 9)}]")
    lines.append(f"columns: {{arm: *a{levels - 1}}}")
    path.write_text("\n".join(lines) + "\n")
    return path
