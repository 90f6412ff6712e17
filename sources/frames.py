"""Helpers for the big observation frames that parsers and staging share."""

from __future__ import annotations

import numpy as np


def shared_where(mask: np.ndarray, value, other) -> np.ndarray:
    """An object array: ``value`` where ``mask``, else ``other`` (as ``np.where``, same values).

    Why not ``np.where``/``Series.where``: on object data they make a new str (or NaN float) object per
    row; on the 2.18 M Breitbandatlas rows 'gemeinde' and NaN alone held about 150 MiB, INKAR's notes
    another ~150 MiB. Here every row refers to the one object ``other``/``value``, or to the element of
    ``value`` at its position when ``value`` is an array."""
    out = np.empty(len(mask), dtype=object)
    out[:] = other
    out[mask] = value[mask] if isinstance(value, np.ndarray) else value
    return out
