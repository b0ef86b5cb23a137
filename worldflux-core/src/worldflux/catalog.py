"""The merged view of every plugin's registrations: presets, aliases, families, backends."""

from __future__ import annotations

import difflib
from typing import Any

from worldflux.errors import BackendError, UnknownModelError
from worldflux.lazy import module_exists
from worldflux.plugins import PluginHost, PluginReport, PluginSettings
from worldflux.records import MATURITIES, NATIVE_BACKEND, SURFACES, Backend, Family, Official, Preset, Provider
from worldflux.registrar import normalise

# First-party families and the extra that installs each, for the "not installed" hint.
FIRST_PARTY_EXTRAS = {"dreamer": "dreamer", "dreamerv3": "dreamer", "tdmpc": "tdmpc2", "tdmpc2": "tdmpc2"}


CONTESTED = ""  # the owner of a name that two plugins registered


class Catalog:
    """Families, presets, aliases and backends of the loaded plugins, checked for clashes."""

    def __init__(self, host: PluginHost) -> None:
        self.host = host
        self.families: dict[str, Family] = {}
        self.presets: dict[str, Preset] = {}
        self.aliases: dict[str, str] = {}
        self.backends: dict[str, Backend] = {}
        self.backend_aliases: dict[str, str] = {}
        self.officials: dict[str, Official] = {}
        self._merge_families()
        self._merge_backends()

    @classmethod
    def load(cls, settings: PluginSettings | None = None) -> Catalog:
        """Discover plugins through entry points and build their catalog."""
        host = PluginHost(settings)
        host.load_entry_points()
        return cls(host)

    @property
    def reports(self) -> dict[str, PluginReport]:
        return self.host.reports

    def _claim(self, table: dict[str, Any], owners: dict[str, str], kind: str, name: str, value: Any,
               provider: Provider) -> None:
        """Add ``name`` to ``table`` unless another plugin registered it too: then neither keeps it, both plugins
        report the clash (``worldflux plugins``), and everything else they registered stays usable."""
        owner = owners.setdefault(name, provider.name)
        if owner == provider.name:
            table[name] = value
            return
        table.pop(name, None)
        contenders = sorted({owner, provider.name} - {CONTESTED})
        message = (f"{kind} {name!r} is registered by " + " and ".join(str(self.reports[c].provider) for c in
                   contenders) + (" and others" if owner == CONTESTED else "") + ", so it is not used. Uninstall "
                   "one of them, or load only the plugins you want with WORLDFLUX_PLUGINS=name,name.")
        owners[name] = CONTESTED
        for contender in contenders:
            self.host.fail(self.reports[contender], message)

    def _merge_families(self) -> None:
        owners: dict[str, str] = {}
        registrars = self.host.family_registrars()
        prefixes: dict[str, str] = {}  # preset-name prefix -> the family owning it
        for reg in registrars:
            for family in reg.families:
                self._claim(self.families, owners, "family", family.name, family, reg.provider)
        for reg in registrars:
            for family in reg.families:
                if family.name in self.families:
                    for prefix in family.owned_prefixes:
                        self._claim(prefixes, owners, "preset prefix", f"{prefix}:", family.name, reg.provider)
        for reg in registrars:
            report = self.reports[reg.provider.name]
            for problem in reg.problems:
                self.host.fail(report, problem)
            for preset in reg.presets:
                problem = self._naming_problem(preset, prefixes)
                if problem:
                    self.host.fail(report, problem)
                    continue
                missing = [ref for ref in (preset.builder, preset.config_class) if not module_exists(ref)]
                if missing:
                    self.host.fail(report, f"preset {preset.name!r} names code that does not exist: {missing}")
                    continue
                self._claim(self.presets, owners, "preset", preset.name, preset, reg.provider)
            report.registered["families"] = [f.name for f in reg.families]
            report.registered["presets"] = [p.name for p in reg.presets if p.name in self.presets]
        for reg in registrars:
            report = self.reports[reg.provider.name]
            for alias, target in reg.aliases.items():
                problem = self._alias_problem(alias, target, reg.provider, prefixes)
                if problem:
                    self.host.fail(report, problem)
                    continue
                self._claim(self.aliases, owners, "alias", alias, target, reg.provider)
            report.registered["aliases"] = [a for a in reg.aliases if a in self.aliases]
        for reg in registrars:
            report = self.reports[reg.provider.name]
            for official in reg.officials:
                if official.family not in self.families:
                    self.host.fail(report, f"official {official.name!r} names unregistered family {official.family!r}")
                    continue
                self._claim(self.officials, owners, "official implementation", official.name, official, reg.provider)
            if reg.officials:
                report.registered["officials"] = [o.name for o in reg.officials if o.name in self.officials]

    def _naming_problem(self, preset: Preset, prefixes: dict[str, str]) -> str | None:
        """Why ``preset`` may not be registered under its name and family, or None: a plugin adds presets only
        to families it registers, named with a prefix of that family."""
        family = self.families.get(preset.family)
        if family is None:
            return f"preset {preset.name!r} names unregistered family {preset.family!r}"
        if family.provider != preset.provider:
            return (f"preset {preset.name!r}: family {family.name!r} is provided by {family.provider}; a plugin adds "
                    f"presets only to families it registers itself (add_family('yourname', ...))")
        prefix = preset.name.split(":")[0]
        owner = prefixes.get(f"{prefix}:")
        if owner is None and prefix in family.owned_prefixes:
            return f"preset {preset.name!r}: its prefix {prefix!r} is claimed by two families, so it is not used"
        if owner != family.name:
            whose = f"belongs to family {owner!r}" if owner else f"is not a prefix of family {family.name!r}"
            return (f"preset {preset.name!r}: the prefix {prefix!r} {whose}; name it "
                    f"'{family.name}:{preset.name.split(':')[1]}' or register the prefix with "
                    f"add_family({family.name!r}, prefixes=[...])")
        return None

    def _alias_problem(self, alias: str, target: str, provider: Provider, prefixes: dict[str, str]) -> str | None:
        """Why ``alias`` may not point to ``target``, or None: a plugin names only its own presets, and an alias
        shaped like a preset name uses a prefix of the target's family."""
        preset = self.presets.get(target)
        if preset is None:
            return f"alias {alias!r} points to unknown preset {target!r}"
        if preset.provider != provider:
            return f"alias {alias!r} points to {target!r} of {preset.provider}; a plugin aliases only its own presets"
        if ":" in alias:
            owner = prefixes.get(alias.split(":")[0] + ":")
            if owner != preset.family:
                whose = f"belongs to family {owner!r}" if owner else "is no family's"
                return (f"alias {alias!r}: the prefix {alias.split(':')[0]!r} {whose}, not to {preset.family!r} of "
                        f"its preset {target!r}")
        return None

    def _merge_backends(self) -> None:
        owners: dict[str, str] = {}
        for reg in self.host.backend_registrars():
            for backend in reg.backends:
                self._claim(self.backends, owners, "backend", backend.name, backend, reg.provider)
            for alias, target in reg.aliases.items():
                self._claim(self.backend_aliases, owners, "backend", alias, target, reg.provider)
            self.reports[reg.provider.name].registered["backends"] = [b.name for b in reg.backends]

    # --- lookups -----------------------------------------------------------------

    def resolve(self, name: str) -> Preset:
        """The preset ``name`` (a preset name or alias) stands for, or a helpful error."""
        key = normalise(name)
        key = self.aliases.get(key, key)
        if key in self.presets:
            return self.presets[key]
        raise UnknownModelError(self._unknown_message(name))

    def _unknown_message(self, name: str) -> str:
        key = normalise(name)
        extra = FIRST_PARTY_EXTRAS.get(key.split(":")[0].split("-")[0])
        if extra and not any(r.ok and r.provider.distribution == f"worldflux-{extra}" for r in self.reports.values()):
            return (
                f"Model {name!r} belongs to a family provided by worldflux-{extra}, which is not "
                f'installed or not loaded. Install it with: pip install "worldflux[{extra}]" '
                f"(`worldflux plugins` shows what is loaded)."
            )
        known = sorted(self.presets) + sorted(self.aliases)
        close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        message = f"Unknown model {name!r}."
        if close:
            message += f" Did you mean {', '.join(repr(c) for c in close)}?"
        message += " Run `worldflux models list --surface all` to see every installed preset."
        broken = [r for r in self.reports.values() if not r.ok]
        if broken:
            details = "; ".join(f"{r.provider}: {r.errors[0]}" for r in broken)
            message += f" Some plugins failed to load and may provide it: {details}"
        return message

    def select(self, *, surface: str = "supported", maturity: str | None = None, family: str | None = None) -> list[Preset]:
        """Presets on ``surface``, optionally of one maturity and family, in registration order."""
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {', '.join(SURFACES)}; got {surface!r}")
        if maturity is not None and maturity not in MATURITIES:
            raise ValueError(f"maturity must be one of {', '.join(MATURITIES)}; got {maturity!r}")
        return [
            p
            for p in self.presets.values()
            if p.on_surface(surface)
            and (maturity is None or p.maturity == maturity)
            and (family is None or p.family == normalise(family))
        ]

    def official(self, name: str) -> Official:
        """The official implementation ``name`` (e.g. ``"official-tdmpc2"``), or an error listing the known ones."""
        key = normalise(name)
        if key in self.officials:
            return self.officials[key]
        known = ", ".join(sorted(self.officials)) or "none (install a family: pip install \"worldflux[all]\")"
        raise UnknownModelError(f"Unknown official implementation {name!r}. Known: {known}.")

    def official_of_family(self, family: str) -> Official:
        """The official implementation registered for ``family``, or an error saying there is none."""
        found = [o for o in self.officials.values() if o.family == family]
        if not found:
            raise UnknownModelError(f"No official implementation is registered for family {family!r}.")
        return found[0]

    def aliases_of(self, preset: str) -> list[str]:
        return sorted(a for a, t in self.aliases.items() if t == preset)

    def backend(self, name: str) -> Backend:
        """The backend ``name`` (or one of its aliases), or an error listing the installed ones."""
        key = normalise(name)
        key = self.backend_aliases.get(key, key)
        if key in self.backends:
            return self.backends[key]
        installed = ", ".join(sorted(self.backends)) or "none"
        raise BackendError(
            f"Unknown backend {name!r}. Installed backends: {NATIVE_BACKEND}, {installed}. "
            f'Delegated backends come with: pip install "worldflux[backends]"'
        )

