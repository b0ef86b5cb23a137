"""Import ``"module:attr"`` references only when they are needed.

Presets and backends name their code this way (like gymnasium's ``entry_point``),
so listing the catalog imports neither torch nor model code.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from worldflux.errors import PluginError


def split_ref(ref: str) -> tuple[str, str]:
    """Split ``"pkg.module:Attr"``; raise ValueError when the form is wrong."""
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"expected a 'module:attr' reference, got {ref!r}")
    return module, attr


def module_exists(ref: str) -> bool:
    """Whether the module of ``ref`` can be found, without importing it (parents are imported)."""
    module, _ = split_ref(ref)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def load_ref(ref: str, *, provider: str) -> Any:
    """Import ``ref``; a failure names the distribution that registered it."""
    module, attr = split_ref(ref)
    try:
        obj: Any = importlib.import_module(module)
    except Exception as exc:
        raise PluginError(
            f"{provider} registered {ref!r}, but importing {module!r} failed: "
            f"{type(exc).__name__}: {exc}. Reinstall or upgrade {provider}, "
            f"or install what it needs."
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise PluginError(
                f"{provider} registered {ref!r}, but {module!r} has no {attr!r}. "
                f"Reinstall or upgrade {provider}."
            ) from exc
    return obj
