"""Delegated execution: a handle naming which backend runs which preset, and how."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import attrs

from worldflux.errors import BackendError
from worldflux.records import Preset


@attrs.frozen(kw_only=True)
class OfficialBackendHandle:
    """A preset to be run by a delegated backend; pass it to ``Trainer(...).submit()``.

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


def make_handle(preset: Preset, backend: str, device: str, options: Mapping[str, Any]) -> OfficialBackendHandle:
    """A handle for running ``preset`` on the registered ``backend``, checked against what it accepts."""
    from worldflux.state import catalog

    record = catalog().backend(backend)
    if preset.name not in record.presets:
        raise BackendError(
            f"Backend {record.name!r} does not run {preset.name!r}; it accepts: "
            f"{', '.join(record.presets)}."
        )
    return OfficialBackendHandle(
        backend=record.name,
        model_id=preset.name,
        profile=preset.name.split(":", 1)[-1],
        device=str(device),
        metadata=options,
    )
