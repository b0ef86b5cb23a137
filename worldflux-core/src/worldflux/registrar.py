"""The objects plugin hooks receive; each is bound to one plugin, so records know their provider."""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from worldflux.lazy import split_ref
from worldflux.records import Backend, Family, Official, Preset, Provider


def normalise(name: str) -> str:
    """Names and aliases are case-insensitive: stored and looked up in lowercase."""
    return name.strip().lower()


def _positive_int(value: Any) -> bool:
    return type(value) is int and value > 0


NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def check_preset_fields(name: Any, family: Any, obs_shape: Any, action_dim: Any, param_count: Any) -> None:
    """Raise ValueError naming the field when a registration's value cannot describe a preset."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a preset name must be a non-empty string; got {name!r}")
    parts = normalise(name).split(":")
    if len(parts) != 2 or not all(NAME.fullmatch(part) for part in parts):
        raise ValueError(f"preset {name!r}: a preset name is 'prefix:size' (letters, digits, '_', '.', '-'), "
                         f"the prefix being its family's name or one the family owns, e.g. 'acme:small'")
    if not isinstance(family, str) or not family.strip():
        raise ValueError(f"preset {name!r}: family must be a non-empty string; got {family!r}")
    if isinstance(obs_shape, (str, bytes)) or not isinstance(obs_shape, Sequence) or not obs_shape \
            or not all(_positive_int(d) for d in obs_shape):
        raise ValueError(f"preset {name!r}: obs_shape must be a sequence of positive ints; got {obs_shape!r}")
    if not _positive_int(action_dim):
        raise ValueError(f"preset {name!r}: action_dim must be a positive int; got {action_dim!r}")
    if param_count is not None and not (type(param_count) is int and param_count >= 0):
        raise ValueError(f"preset {name!r}: param_count must be a non-negative int or None; got {param_count!r}")


class FamilyRegistrar:
    """Passed to ``worldflux_register_families``: collects one plugin's families, presets, aliases."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.families: list[Family] = []
        self.presets: list[Preset] = []
        self.aliases: dict[str, str] = {}
        self.officials: list[Official] = []
        self.problems: list[str] = []  # registrations refused (e.g. a preset with a bad field)

    def add_family(self, name: str, *, description: str, prefixes: Sequence[str] = ()) -> None:
        """Register a model family by name (e.g. ``"dreamerv3"``).

        Its presets are named ``name:size``, or ``prefix:size`` with one of ``prefixes``
        (``dreamerv3`` also owns ``dreamer``); no other family may use these prefixes.
        """
        if not isinstance(name, str) or not NAME.fullmatch(normalise(name)) or ":" in name:
            self.problems.append(f"family {name!r}: a family name is lowercase letters, digits, '_', '.', '-'")
            return
        self.families.append(Family(name=normalise(name), description=description,
                                    prefixes=tuple(normalise(p) for p in prefixes), provider=self.provider))

    def add_preset(
        self,
        name: str,
        *,
        family: str,
        config_class: str,
        builder: str,
        description: str,
        obs_shape: Sequence[int],
        action_dim: int,
        config: Mapping[str, Any] | None = None,
        maturity: str = "experimental",
        surface: str = "supported",
        parity_role: str = "unclaimed",
        param_count: int | None = None,
        reference_spec: Mapping[str, Any] | None = None,
        aliases: Sequence[str] = (),
        evidence: Sequence[str] = (),
        agent: str | None = None,
    ) -> None:
        """Register a preset; ``config_class``, ``builder`` and ``agent`` are ``"module:attr"`` strings.

        ``name`` is ``prefix:size`` with a prefix ``family`` owns (see :meth:`add_family`).
        ``agent`` is the family's training object (``agent(model, num_envs)``, see
        :class:`worldflux.training.Agent`); a preset without one cannot be trained by the Trainer.
        ``maturity`` is one of :data:`~worldflux.records.MATURITIES`, ``surface`` one of
        :data:`~worldflux.records.SURFACES` and ``parity_role`` a key of
        :data:`~worldflux.records.PARITY_ROLES`; the defaults (``experimental``, ``unclaimed``)
        claim nothing. ``param_count`` is the trainable parameter count of
        ``create_world_model(name, **reference_spec)``, measured; the conformance kit checks it.
        ``evidence`` lists what shows that the preset's parity role holds (shown by ``worldflux models show``).
        A registration with a bad field is refused and reported; the plugin's other registrations stay.
        """
        try:
            check_preset_fields(name, family, obs_shape, action_dim, param_count)
            for field, ref in (("config_class", config_class), ("builder", builder), ("agent", agent)):
                if ref is not None and (not isinstance(ref, str) or ref.count(":") != 1 or ref.startswith(":")
                                        or ref.endswith(":")):
                    raise ValueError(f"preset {name!r}: {field} must be a 'module:attr' string; got {ref!r}")
            preset = Preset(
                name=normalise(name), family=normalise(family), config_class=config_class, builder=builder,
                agent=agent, description=description, maturity=maturity, surface=surface, parity_role=parity_role,
                obs_shape=obs_shape, action_dim=action_dim, config=config or {}, param_count=param_count,
                reference_spec=reference_spec or {}, evidence=evidence, provider=self.provider,
            )
        except (ValueError, TypeError) as exc:  # the rest of the plugin stays usable; the catalog reports this
            text = str(exc)
            self.problems.append(text if text.startswith(("preset ", "a preset ")) else f"preset {name!r}: {text}")
            return
        self.presets.append(preset)
        for alias in aliases:
            self.add_alias(alias, preset.name)

    def add_alias(self, alias: str, target: str) -> None:
        """Make ``alias`` resolve to the preset ``target``."""
        self.aliases[normalise(alias)] = normalise(target)

    def add_official(
        self,
        name: str,
        *,
        family: str,
        description: str,
        convert: str,
        export: str | None = None,
        probe: str | None = None,
        compare: str | None = None,
        python_env: str | None = None,
        checkout_env: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Register the tools for an official implementation of ``family`` (see :class:`~worldflux.records.Official`).

        ``convert``, ``export`` and ``compare`` are ``"module:attr"`` strings; ``probe`` is a module name;
        ``backend`` names the delegated backend that trains with the official code.
        """
        for ref in (convert, export, compare):
            if ref is not None:
                split_ref(ref)
        self.officials.append(Official(
            name=normalise(name), family=normalise(family), description=description, convert=convert,
            export=export, probe=probe, compare=compare, python_env=python_env, checkout_env=checkout_env,
            backend=backend and normalise(backend), provider=self.provider,
        ))


class BackendRegistrar:
    """Passed to ``worldflux_register_backends``: collects one plugin's backends."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.backends: list[Backend] = []
        self.aliases: dict[str, str] = {}

    def add_backend(
        self,
        name: str,
        *,
        description: str,
        presets: Sequence[str],
        launcher: str,
        check: str | None = None,
        aliases: Sequence[str] = (),
    ) -> None:
        """Register a backend running the presets matching ``presets`` (fnmatch patterns).

        ``launcher`` and ``check`` are ``"module:attr"`` strings, imported only when used.
        """
        split_ref(launcher)
        if check is not None:
            split_ref(check)
        backend = Backend(
            name=normalise(name),
            description=description,
            presets=tuple(normalise(p) for p in presets),
            launcher=launcher,
            check=check,
            provider=self.provider,
        )
        self.backends.append(backend)
        for alias in aliases:
            self.aliases[normalise(alias)] = backend.name
