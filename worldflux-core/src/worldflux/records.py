"""Frozen records of what plugins register: families, presets and backends."""

from __future__ import annotations

import fnmatch
from types import MappingProxyType
from typing import Any, Mapping

import attrs

MATURITIES = ("reference", "experimental", "skeleton")
SURFACES = ("supported", "public", "all")  # each one includes the ones before it
# What a preset claims about an official implementation; the first makes no claim and is the default.
PARITY_ROLES = {
    "unclaimed": "makes no claim to match an official implementation",
    "ci-only": "a tiny network for tests and quick checks; not for results",
    "reference-family": "an official network size, built by code that parity fixtures check against the official code",
    "proof-canonical": "the official default configuration: the preset parity checks and campaigns run on",
    "compatibility": "the same network as a proof-canonical preset, under a name users already know",
    "legacy-compatibility": "the network of an earlier official release, to load its checkpoints",
}
NATIVE_BACKEND = "native_torch"  # the models in this process; every other backend is a registered one


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _one_of(options: Any) -> Any:
    """An attrs validator whose error is one plain sentence (attrs' own ``in_`` appends its internals)."""
    def check(_: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value not in options:
            raise ValueError(f"{attribute.name} must be one of {', '.join(options)}; got {value!r}")
    return check


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


@attrs.frozen
class Provider:
    """The plugin behind a record: its entry-point name, distribution and version."""

    name: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.distribution} {self.version}"


@attrs.frozen(kw_only=True)
class Family:
    """A model family, such as DreamerV3; its presets share one config class and builder.

    ``prefixes`` are the preset-name prefixes the family owns besides its own
    name (``dreamerv3`` also owns ``dreamer:``): a preset ``p:size`` must belong
    to the family owning ``p``, and only the plugin that registers a family
    adds presets to it.
    """

    name: str
    description: str
    prefixes: tuple[str, ...] = attrs.field(converter=tuple, default=())
    provider: Provider

    @property
    def owned_prefixes(self) -> tuple[str, ...]:
        """Every preset-name prefix of this family: its name, then its extra prefixes."""
        return (self.name, *self.prefixes)


@attrs.frozen(kw_only=True)
class Preset:
    """A named, ready-to-build configuration of a family.

    ``config_class`` and ``builder`` are lazy ``"module:attr"`` references: the
    builder is called with a config instance and returns the model.
    ``agent`` (also ``"module:attr"``, optional) is the family's training object, called as
    ``agent(model, num_envs)``; without one the Trainer cannot train the preset.
    ``param_count`` was measured with ``create_world_model(name, **reference_spec)``.
    ``evidence`` says what shows the preset's parity role holds (fixture
    tests, a live check, campaign reports), one item per entry.
    """

    name: str
    family: str
    config_class: str
    builder: str
    agent: str | None = None
    description: str
    maturity: str = attrs.field(validator=_one_of(MATURITIES))
    surface: str = attrs.field(validator=_one_of(SURFACES))
    parity_role: str = attrs.field(validator=_one_of(tuple(PARITY_ROLES)))
    obs_shape: tuple[int, ...] = attrs.field(converter=_shape)
    action_dim: int
    config: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, factory=dict)
    param_count: int | None = None
    reference_spec: Mapping[str, Any] = attrs.field(converter=_frozen_mapping, factory=dict)
    evidence: tuple[str, ...] = attrs.field(converter=tuple, default=())
    provider: Provider

    def on_surface(self, surface: str) -> bool:
        """Whether this preset is listed on ``surface`` (supported ⊂ public ⊂ all)."""
        return SURFACES.index(self.surface) <= SURFACES.index(surface)


@attrs.frozen(kw_only=True)
class Official:
    """An official implementation a family reproduces, and the family's tools for it.

    Lazy ``"module:attr"`` references, imported only when used:

    - ``convert(source: Path, out: Path, **options: str) -> Path``: an official
      checkpoint in, a saved WorldFlux model directory out;
    - ``export(model_dir: Path, out: Path, **options: str) -> Path`` (optional):
      a saved WorldFlux model in, a checkpoint the official code loads out;
    - ``compare(fixture: Path) -> list[ParityRow]`` (optional): replays a parity
      fixture with the native model and compares every recorded quantity.

    ``probe`` (optional) is a module that the official code's own interpreter
    runs as a script (``python PROBE --checkout DIR --request FILE --out DIR``)
    to write a parity fixture; ``python_env`` and ``checkout_env`` are the
    environment variables naming that interpreter and checkout. ``backend``
    names the delegated backend that trains with the official code, for
    learning-curve campaigns.
    """

    name: str
    family: str
    description: str
    convert: str
    export: str | None = None
    probe: str | None = None
    compare: str | None = None
    python_env: str | None = None
    checkout_env: str | None = None
    backend: str | None = None
    provider: Provider


@attrs.frozen(kw_only=True)
class Backend:
    """A delegated execution backend.

    ``presets`` are the preset names it runs, as fnmatch patterns
    (``"tdmpc2:official_*"``, ``"*"``). ``launcher`` and ``check`` are lazy
    ``"module:attr"`` references: ``launch(handle, training_config) -> Job`` and
    ``check() -> list[str]``, what this machine lacks to run it (empty: available).
    """

    name: str
    description: str
    presets: tuple[str, ...] = attrs.field(converter=tuple)
    launcher: str
    check: str | None = None
    provider: Provider

    def accepts(self, preset: str) -> bool:
        """Whether ``preset`` matches one of the accepted patterns."""
        return any(fnmatch.fnmatchcase(preset, pattern) for pattern in self.presets)
