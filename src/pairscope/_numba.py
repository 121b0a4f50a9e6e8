"""numba decorators with their types kept for mypy (one home for every module's kernels).

``cache=True`` on module-level functions only: numba's disk cache keys on the function's file and
name, so closures built at run time would recompile in every new process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["jit", "pjit"]

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(func: _F) -> _F:
    """``numba.njit(cache=True, nogil=True)`` with its type kept for mypy."""
    return cast(_F, numba.njit(cache=True, nogil=True)(func))


def pjit(func: _F) -> _F:
    """``numba.njit(cache=True, nogil=True, parallel=True)`` with its type kept for mypy."""
    return cast(_F, numba.njit(cache=True, nogil=True, parallel=True)(func))
