"""Shared type aliases: one name for each array kind, one ``Window``, one ``TimeLike``."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import numpy.typing as npt

__all__ = ["ComplexArray", "Float32Array", "FloatArray", "IntArray", "TimeLike", "Window"]

#: float64 arrays (geometry, statistics).
FloatArray = npt.NDArray[np.float64]
#: float32 arrays (estimator outputs).
Float32Array = npt.NDArray[np.float32]
#: complex64 arrays (SLC samples).
ComplexArray = npt.NDArray[np.complex64]
IntArray = npt.NDArray[np.int64]
#: A boxcar window: ``(azimuth_looks, range_looks)``.
Window = tuple[int, int]
#: A time: ``datetime64``, an array of them, an ISO string or a ``datetime``.
TimeLike = np.datetime64 | npt.NDArray[np.datetime64] | str | _dt.datetime
