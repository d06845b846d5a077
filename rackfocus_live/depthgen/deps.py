"""The ``depth`` extra (onnxruntime, Pillow): checked before the pipeline is imported, so a core
install gets one line saying what to install instead of a traceback."""

from __future__ import annotations

import importlib.util

from rackfocus_live.errors import InputError

#: Import name -> pip name of what ``pip install 'rackfocus-live[depth]'`` brings.
DEPTH_EXTRA_MODULES = {"onnxruntime": "onnxruntime", "PIL": "pillow"}
INSTALL_HINT = "pip install 'rackfocus-live[depth]'"


def missing_depth_modules() -> list[str]:
    """pip names of the depth extra's packages that are not installed."""
    return [pip for module, pip in DEPTH_EXTRA_MODULES.items()
            if importlib.util.find_spec(module) is None]


def require_depth_extra() -> None:
    """Raises InputError (one line) when the depth extra is not installed."""
    missing = missing_depth_modules()
    if missing:
        raise InputError(f"making depth needs {', '.join(missing)}: install rackfocus-live[depth] "
                         f"({INSTALL_HINT})")
