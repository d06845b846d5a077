"""Small numpy helpers shared by the pure-numpy modules."""

from __future__ import annotations

from typing import TypeGuard

import numpy as np
import numpy.typing as npt


def is_integer_array(a: npt.NDArray[np.generic]) -> TypeGuard[npt.NDArray[np.integer]]:
    """Whether ``a`` holds integers; a type guard, so ``np.iinfo(a.dtype)`` type-checks after it
    (``np.issubdtype`` on the dtype narrows nothing)."""
    return np.issubdtype(a.dtype, np.integer)
