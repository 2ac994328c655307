"""Building blocks shared by the synthetic cohort generators (HCPC and peer): arguments, random streams, ids and the design columns.

Everything in :mod:`coachstats.synthetic` is vectorized numpy and deterministic given a
:class:`numpy.random.Generator`. The helpers fall in four modules:

* **arguments and streams** (here) -- :func:`check_seed`, :func:`check_size`,
  :func:`stream_rng` (one independent generator per generation block),
  :func:`sequential_ids` and :func:`design_columns`;
* **exact counts** (:mod:`coachstats.synthetic.counts`) -- largest-remainder
  apportionment and label arrays with exactly the published counts;
* **draws and calibration** (:mod:`coachstats.synthetic.moments`) -- truncated
  normal draws, item totals, exact means and SDs, printed group means;
* **writing** (:mod:`coachstats.synthetic.tables`) -- byte-stable CSV / Parquet.

Examples
--------
>>> sequential_ids("H", 3, 4).tolist()
['H0001', 'H0002', 'H0003']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from coachstats.core.errors import OptionError

__all__ = [
    "ARMS",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "check_seed",
    "check_size",
    "design_columns",
    "int_array",
    "rng_from",
    "sequential_ids",
    "str_take",
    "stream_rng",
    "top_k",
]


FloatArray = npt.NDArray[np.float64]


IntArray = npt.NDArray[np.int64]


BoolArray = npt.NDArray[np.bool_]


#: Arm labels of both trials, coaching (code 0) first.
ARMS: tuple[str, str] = ("coaching", "usual_care")


def check_seed(seed: object) -> int:
    """The seed as an ``int``; anything but a non-negative whole number raises.

    Examples
    --------
    >>> check_seed(np.int64(7))
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: seed must be a non-negative integer, got -1
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise OptionError(f"seed must be a non-negative integer, got {seed!r}")


def check_size(n: object, minimum: int) -> int:
    """The cohort size as an ``int``; anything but a whole number >= ``minimum`` raises.

    Examples
    --------
    >>> check_size(441, 50)
    441
    >>> check_size(10, 50)
    Traceback (most recent call last):
    ...
    coachstats.core.errors.OptionError: n must be a whole number >= 50, got 10
    """
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= minimum:
        return int(n)
    raise OptionError(f"n must be a whole number >= {minimum}, got {n!r}")


def rng_from(seed: int | np.random.Generator) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from an integer seed (or the generator itself).

    Examples
    --------
    >>> float(rng_from(3).random()) == float(np.random.default_rng(3).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed))


def stream_rng(seed: int, streams: Sequence[str], stream: str, *key: int) -> np.random.Generator:
    """The generator of one block: ``SeedSequence(seed, spawn_key=(i, *key))``.

    ``i`` is the position of ``stream`` in ``streams``, so every block (design,
    covariates, labs...) draws from its own child of the seed and tuning one
    block leaves the others unchanged; ``key`` adds further levels (e.g. a
    noise substream searched by a calibration). New blocks are appended to
    ``streams``.

    Examples
    --------
    >>> a = stream_rng(1, ("design", "labs"), "labs").random()
    >>> b = np.random.default_rng(np.random.SeedSequence(1, spawn_key=(1,))).random()
    >>> a == b
    True
    """
    return np.random.default_rng(
        np.random.SeedSequence(int(seed), spawn_key=(streams.index(stream), *map(int, key)))
    )


def sequential_ids(prefix: str, n: int, min_width: int) -> npt.NDArray[np.str_]:
    """``prefix`` + 1..n, zero-padded to ``max(min_width, digits of n)`` (e.g. ``H0001``).

    Examples
    --------
    >>> sequential_ids("V", 3, 3).tolist(), str(sequential_ids("P", 12345, 4)[-1])
    (['V001', 'V002', 'V003'], 'P12345')
    """
    width = max(min_width, len(str(n)))
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def design_columns(
    prefix: str, arm: IntArray, site: IntArray, sites: Sequence[str]
) -> dict[str, npt.NDArray[np.object_]]:
    """``patient_id`` (:func:`sequential_ids`, at least 4 digits), ``arm`` and ``site`` labels.

    ``arm`` holds codes into :data:`ARMS`, ``site`` codes into ``sites``.

    Examples
    --------
    >>> cols = design_columns("P", np.array([1, 0]), np.array([0, 0]), ["C1"])
    >>> [cols[k].tolist() for k in ("patient_id", "arm", "site")]
    [['P0001', 'P0002'], ['usual_care', 'coaching'], ['C1', 'C1']]
    """
    return {
        "patient_id": sequential_ids(prefix, arm.size, 4).astype(object),
        "arm": np.array(ARMS, dtype=object)[arm],
        "site": np.array(list(sites), dtype=object)[site],
    }


def top_k(score: npt.ArrayLike, k: int) -> IntArray:
    """Indices of the ``k`` largest scores, ties broken by position (as a stable sort would).

    Linear time (``np.partition`` for the threshold), so it stays fast for
    millions of values; equals ``np.argsort(-score, kind="stable")[:k]`` as a set.

    Examples
    --------
    >>> top_k([0.5, 0.9, 0.5, 0.1], 2).tolist()
    [0, 1]
    """
    v = np.asarray(score, dtype=float)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k >= v.size:
        return np.arange(v.size, dtype=np.int64)
    threshold = np.partition(v, v.size - k)[v.size - k]
    above = np.flatnonzero(v > threshold)
    tied = np.flatnonzero(v == threshold)[: k - above.size]
    return np.sort(np.concatenate([above, tied])).astype(np.int64)


def str_take(categories: Sequence[str] | npt.ArrayLike, codes: npt.ArrayLike) -> pd.Series:
    """A pandas ``str`` Series ``categories[codes]``, built in Arrow (fast for millions of rows).

    Examples
    --------
    >>> str_take(["coaching", "usual_care"], [1, 0, 0]).tolist()
    ['usual_care', 'coaching', 'coaching']
    """
    cats = np.asarray(categories, dtype=object).astype(str)
    idx = np.asarray(codes, dtype=np.int64)
    try:
        import pyarrow as pa

        dtype = pd.StringDtype(storage="pyarrow", na_value=np.nan)
        if pd.Series([], dtype="str").dtype != dtype:  # pragma: no cover - pandas < 3
            raise TypeError
        return pd.Series(pa.array(cats).take(pa.array(idx)), dtype=dtype)
    except (ImportError, TypeError):  # pragma: no cover - pandas < 3 or no pyarrow
        return pd.Series(cats[idx], dtype=object).astype("str")


def int_array(values: FloatArray) -> pd.arrays.IntegerArray:
    """Nullable integers (NaN -> <NA>)."""
    na = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(na, 0, values).astype(np.int64), na)
