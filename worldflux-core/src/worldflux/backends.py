"""Delegated execution: a handle naming which backend runs which preset, and how.

A backend that runs an official implementation (one that an ``Official`` record names) gives an
:class:`OfficialBackendHandle`; any other (Ray) gives the general :class:`DelegatedHandle`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import attrs

from worldflux.errors import BackendError
from worldflux.lazy import load_ref
from worldflux.records import Backend, Preset


@attrs.frozen(kw_only=True)
class DelegatedHandle:
    """A preset to be run by a registered backend instead of this process; pass it to ``Trainer(...).submit()``.

    ``metadata`` carries the backend options given to ``create_world_model``.
    """

    backend: str
    model_id: str
    profile: str
    device: str
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=lambda m: MappingProxyType(dict(m)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the handle."""
        return {
            "backend": self.backend,
            "model_id": self.model_id,
            "profile": self.profile,
            "device": self.device,
            "metadata": dict(self.metadata),
        }


@attrs.frozen(kw_only=True)
class OfficialBackendHandle(DelegatedHandle):
    """A :class:`DelegatedHandle` whose backend runs the official implementation of the preset's family."""


def make_handle(preset: Preset, backend: str, device: str, options: Mapping[str, Any]) -> DelegatedHandle:
    """A handle for running ``preset`` on the registered ``backend``, checked against what it accepts."""
    from worldflux.state import catalog

    record = catalog().backend(backend)
    official = any(o.backend == record.name for o in catalog().officials.values())
    if not record.accepts(preset.name):
        accepted = [name for name in catalog().presets if record.accepts(name)]
        raise BackendError(
            f"Backend {record.name!r} does not run {preset.name!r}; it accepts: "
            f"{', '.join(accepted) or ', '.join(record.presets)}."
        )
    return (OfficialBackendHandle if official else DelegatedHandle)(
        backend=record.name,
        model_id=preset.name,
        profile=preset.name.split(":", 1)[-1],
        device=str(device),
        metadata=options,
    )


def backend_status(record: Backend) -> list[str]:
    """What this machine lacks to run ``record`` (empty: available); a failing check is reported, not raised."""
    if record.check is None:
        return []
    try:
        return list(load_ref(record.check, provider=str(record.provider))())
    except Exception as exc:  # noqa: BLE001 - a broken check must not break listing
        return [f"its availability check failed: {type(exc).__name__}: {exc}"]
