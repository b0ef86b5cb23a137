"""Discover and load plugins: entry points of group ``worldflux``, each loaded on its own.

A broken plugin is reported (``worldflux plugins``, stderr, the unknown-model
error) and never hides the others, unless strict mode makes load errors fatal.
Switches come from :class:`PluginSettings` or the environment:

- ``WORLDFLUX_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points but those named in ``WORLDFLUX_PLUGINS``;
- ``WORLDFLUX_PLUGINS=a,b``: load only the entry points named ``a`` and ``b``;
- ``WORLDFLUX_STRICT_PLUGINS=1``: raise on the first load or registration error;
- ``WORLDFLUX_TRACE_PLUGINS=1``: log every hook call.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable

import attrs
import importlib_metadata
import pluggy

from worldflux import hookspecs
from worldflux.errors import PluginError
from worldflux.log import get_logger
from worldflux.records import Provider
from worldflux.registrar import BackendRegistrar, FamilyRegistrar

ENTRY_POINT_GROUP = "worldflux"
log = get_logger(__name__)


def distribution_key(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503: case and runs of ``-_.`` do not matter)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@attrs.frozen(kw_only=True)
class PluginSettings:
    """Which plugins to load and how strictly; ``from_env`` reads the ``WORLDFLUX_*`` switches."""

    autoload: bool = True
    only: tuple[str, ...] | None = None
    strict: bool = False
    trace: bool = False

    @classmethod
    def from_env(cls) -> PluginSettings:
        names = os.environ.get("WORLDFLUX_PLUGINS", "").strip()
        return cls(
            autoload=not _env_flag("WORLDFLUX_DISABLE_PLUGIN_AUTOLOAD"),
            only=tuple(n.strip() for n in names.split(",") if n.strip()) if names else None,
            strict=_env_flag("WORLDFLUX_STRICT_PLUGINS"),
            trace=_env_flag("WORLDFLUX_TRACE_PLUGINS"),
        )


@attrs.define
class PluginReport:
    """What one plugin is, what it registered, and what went wrong while loading it."""

    provider: Provider
    module: str
    errors: list[str] = attrs.field(factory=list)
    registered: dict[str, list[str]] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class PluginHost:
    """A pluggy manager plus per-plugin reports; one per catalog, so tests get fresh ones."""

    def __init__(self, settings: PluginSettings | None = None) -> None:
        self.settings = settings or PluginSettings.from_env()
        self.manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.manager.add_hookspecs(hookspecs)
        self.reports: dict[str, PluginReport] = {}
        if self.settings.trace:
            self.manager.trace.root.setwriter(lambda msg: log.info("trace: %s", msg.rstrip()))
            self.manager.enable_tracing()

    def fail(self, report: PluginReport, message: str, exc: BaseException | None = None) -> None:
        """Record an error of ``report``'s plugin; raise it in strict mode."""
        report.errors.append(message)
        if self.settings.strict:
            raise PluginError(f"plugin {report.provider.name!r} ({report.provider}): {message}") from exc
        log.warning("plugin %r (%s) %s", report.provider.name, report.provider, message)

    def register(self, plugin: Any, provider: Provider) -> None:
        """Register an already-imported plugin object or module under ``provider.name``."""
        report = PluginReport(provider=provider, module=getattr(plugin, "__name__", repr(plugin)))
        self.reports[provider.name] = report
        try:
            self.manager.register(plugin, name=provider.name)
        except Exception as exc:
            self.fail(report, f"could not be registered: {type(exc).__name__}: {exc}", exc)
            return
        for caller in self.manager.get_hookcallers(plugin) or []:
            if caller.spec is None:
                self.fail(report, f"implements {caller.name!r}, which is not a worldflux hook (the hooks are "
                                  f"worldflux_register_families and worldflux_register_backends); check its spelling")

    def load_entry_points(self) -> None:
        """Load the entry points the settings select, each in its own try/except."""
        wanted = self.settings.only
        if wanted is None and not self.settings.autoload:
            return
        seen: dict[str, importlib_metadata.EntryPoint] = {}
        for ep in sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if wanted is not None and ep.name not in wanted:
                continue
            dist = ep.dist.name if ep.dist else "unknown distribution"
            provider = Provider(ep.name, dist, ep.dist.version if ep.dist else "?")
            if distribution_key(ep.name) != distribution_key(dist):  # it could hide that distribution's plugin
                report = PluginReport(provider=provider, module=ep.value)
                self.reports.setdefault(f"{ep.name} ({dist})", report)
                self.fail(report, f"names its entry point {ep.name!r}, not after its own distribution {dist!r}, "
                                  f"so it is not loaded: a plugin's entry point carries its distribution's name")
                continue
            earlier = seen.get(ep.name)
            if earlier is not None:
                if earlier.dist and earlier.dist.name != dist:
                    self.fail(
                        self.reports[ep.name],
                        f"shares its entry-point name with {dist}; one would hide the other. "
                        f"Uninstall one of {earlier.dist.name} and {dist}.",
                    )
                continue
            seen[ep.name] = ep
            try:
                plugin = ep.load()
            except BaseException as exc:  # noqa: BLE001 - sys.exit() or Ctrl-C in a plugin must not end worldflux
                report = PluginReport(provider=provider, module=ep.value)
                self.reports[ep.name] = report
                self.fail(report, f"failed to load: {_describe(exc)}", exc)
                continue
            self.register(plugin, provider)
        for name in sorted(set(wanted or ()) - set(seen)):
            message = f"WORLDFLUX_PLUGINS names {name!r}, but no installed plugin has that name"
            if self.settings.strict:
                raise PluginError(message)
            log.warning(message)

    def call_each(self, hook: str, make: Callable[[Provider], Any]) -> list[Any]:
        """Call ``hook`` once per plugin with a registrar bound to that plugin."""
        registrars = []
        for name, report in self.reports.items():
            plugin = self.manager.get_plugin(name)
            if plugin is None:
                continue
            others = [p for p in self.manager.get_plugins() if p is not plugin]
            caller = self.manager.subset_hook_caller(hook, remove_plugins=others)
            registrar = make(report.provider)
            try:
                caller(registry=registrar)
            except BaseException as exc:  # noqa: BLE001 - as at import: a plugin cannot end the process
                self.fail(report, f"raised in {hook}: {_describe(exc)}", exc)
                continue
            registrars.append(registrar)
        return registrars

    def family_registrars(self) -> list[FamilyRegistrar]:
        return self.call_each("worldflux_register_families", FamilyRegistrar)

    def backend_registrars(self) -> list[BackendRegistrar]:
        return self.call_each("worldflux_register_backends", BackendRegistrar)
