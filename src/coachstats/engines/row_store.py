"""Model rows kept between the passes of a streamed analysis, each column in the smallest exact type.

An iterative fit takes a pass over the data per step. Reading a chunk again,
deriving its endpoints and building its model rows costs far more than the
step's arithmetic, so the rows a pass builds are kept (:class:`RowStore`) and
the next passes start from them.

Kept rows are packed without loss: a float column whose every value is an
``int8`` (0/1 indicators, the arm, a binary outcome, ages in whole years) or a
``float32`` (whole or half numbers in the thousands) is kept in that type, bit
for bit (``-0.0`` stays a float); integer codes in the smallest integer type
that holds them. A column equal to one already kept for the chunk (the same
covariate in a second model) is kept once. A pass unpacks them into arrays of
their own type that are reused from chunk to chunk (:meth:`RowStore.unpack`),
so a step allocates no rows.

Examples
--------
>>> import numpy as np
>>> pack(np.array([0.0, 1.0, 1.0])).dtype
dtype('int8')
>>> pack(np.array([153.5, 261.0])).dtype
dtype('float32')
>>> pack(np.array([9.1, 7.3])).dtype
dtype('float64')
>>> pack(np.array([-0.0, 1.0])).dtype   # the sign of zero is kept
dtype('float32')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

__all__ = ["Packed", "RowStore", "pack"]


def pack(values: np.ndarray) -> np.ndarray:
    """``values`` in the smallest type that holds each of them exactly (always a copy).

    Floats: ``int8``, else ``float32``, else ``float64``, compared bit for bit.
    Integers: the smallest of ``int8``/``int16``/``int32`` that holds their
    range. Anything else is copied as it is.
    """
    if values.dtype == np.float64:
        with np.errstate(all="ignore"):  # NaN, inf or large values do not fit: compared below
            for small_float in (np.dtype(np.int8), np.dtype(np.float32)):
                small = values.astype(small_float)
                if _same_bits(small.astype(np.float64), values):
                    return small
        return values.copy()
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        for small_int in (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32)):
            info = np.iinfo(small_int)
            if info.min <= low and high <= info.max:
                return values.astype(small_int)
    return values.copy()


@dataclass(frozen=True, eq=False)
class Packed:
    """An array of ``shape`` and ``dtype`` kept as packed rows (one per row of a 2-D array)."""

    rows: tuple[np.ndarray, ...]
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @classmethod
    def of(cls, values: np.ndarray) -> Packed:
        """Pack a 1-D or ``(k, n)`` array, row by row."""
        rows = (values,) if values.ndim == 1 else tuple(values)
        return cls(tuple(pack(r) for r in rows), values.shape, values.dtype)

    @staticmethod
    def packs(value: Any) -> bool:
        """Whether :meth:`RowStore.keep` packs ``value`` (a float64 or integer array)."""
        return isinstance(value, np.ndarray) and (
            value.dtype == np.float64 or value.dtype.kind in "iu"
        )

    @property
    def nbytes(self) -> int:
        """Bytes of the packed rows."""
        return sum(r.nbytes for r in self.rows)


class RowStore:
    """The model rows of each chunk, kept between passes up to ``budget`` bytes (packed).

    Arrays are offered with :meth:`keep` the first time a pass builds them;
    they are kept while the total stays within the budget, so a pass whose
    every request finds its rows here reads no chunk
    (:func:`~coachstats.engines.passes.local_pass`). Float64 and integer
    arrays are :class:`Packed`; :meth:`unpack` gives them back in their own type.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.chunks: list[dict[Any, Any]] = []
        self.complete = False  # every chunk seen once: their number is known
        self._scratch: dict[str, list[np.ndarray]] = {}

    def of_chunk(self, index: int) -> dict[Any, Any]:
        """The kept entries of chunk ``index``."""
        while len(self.chunks) <= index:
            self.chunks.append({})
        return self.chunks[index]

    def forget(self, kept: dict[Any, Any], keys: Iterable[Any]) -> None:
        """Drop the entries ``keys`` of a chunk's ``kept``, and the bytes only they held."""
        before = _unique_bytes(kept.values())
        for key in list(keys):
            kept.pop(key, None)
        self.used -= before - _unique_bytes(kept.values())

    def keep(self, kept: dict[Any, Any], key: Any, values: tuple[Any, ...]) -> None:
        """Keep ``values`` under ``key`` if the budget allows.

        Float64 and integer arrays are kept :class:`Packed`, other values as
        they are. An array (or packed row) equal to one the chunk already
        keeps is that one.
        """
        if self.used >= self.budget:
            return
        shared = [a for v in kept.values() for a in _arrays(v)]
        size = 0

        def once(a: np.ndarray) -> np.ndarray:
            nonlocal size
            for b in shared:
                if b.shape == a.shape and b.dtype == a.dtype and _same_bits(a, b):
                    return b
            shared.append(a)
            size += a.nbytes
            return a

        out: list[Any] = []
        for v in values:
            if Packed.packs(v):
                packed = Packed.of(v)
                v = Packed(tuple(once(r) for r in packed.rows), packed.shape, packed.dtype)
            elif isinstance(v, np.ndarray):
                v = once(v.copy())
            out.append(v)
        if self.used + size > self.budget:
            return
        self.used += size
        kept[key] = tuple(out)

    def unpack(
        self, packed: Packed, memo: dict[Any, Any], select: Sequence[int] | None = None
    ) -> np.ndarray:
        """``packed`` in its own type (rows ``select`` of a 2-D array), once per chunk and pass.

        The array is a scratch buffer of the store, written again for the next
        chunk: it lives as long as one chunk's requests (``memo`` is the
        chunk's), which return sums, never the rows.
        """
        rows = packed.rows if select is None else tuple(packed.rows[j] for j in select)
        shape = packed.shape if select is None else (len(rows), packed.shape[1])
        key = ("unpacked", shape, packed.dtype.str, tuple(id(r) for r in rows))
        hit = memo.get(key)
        if hit is not None:
            return cast(np.ndarray, hit)
        # the i-th array of this type unpacked for the chunk reuses the i-th buffer
        slot = ("scratch", packed.dtype.str)
        used = memo.get(slot, 0)
        memo[slot] = used + 1
        buffers = self._scratch.setdefault(packed.dtype.str, [])
        size = int(np.prod(shape))
        if len(buffers) <= used:
            buffers.append(np.empty(size, dtype=packed.dtype))
        elif buffers[used].size < size:
            buffers[used] = np.empty(size, dtype=packed.dtype)
        out = buffers[used][:size].reshape(shape)
        if len(shape) == 1:
            out[...] = rows[0]
        else:
            for j, r in enumerate(rows):
                out[j] = r
        memo[key] = out
        return out


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of one type and shape hold the same bits.

    ``np.array_equal`` calls ``-0.0`` equal to ``0.0`` (and NaN unequal to
    itself), so a row kept once for both would not give each back bit for bit:
    floats are compared as the unsigned integers of their bits.
    """
    if a.dtype.kind == "f" and a.dtype.itemsize in (2, 4, 8):
        bits = np.dtype(f"u{a.dtype.itemsize}")
        return bool(np.array_equal(a.view(bits), b.view(bits)))
    return bool(np.array_equal(a, b))


def _unique_bytes(values: Iterable[tuple[Any, ...]]) -> int:
    """Bytes of the distinct arrays of some entries (a shared row counted once)."""
    arrays = {id(a): a for v in values for a in _arrays(v)}
    return sum(a.nbytes for a in arrays.values())


def _arrays(value: tuple[Any, ...]) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for v in value:
        if isinstance(v, Packed):
            out.extend(v.rows)
        elif isinstance(v, np.ndarray):
            out.append(v)
    return out
