"""``worldflux models list`` and ``worldflux models show``."""

from __future__ import annotations

import attrs
import click

from worldflux.building import build_config
from worldflux.cli.output import echo_json, echo_table, human_count
from worldflux.config import field_help
from worldflux.errors import UnknownModelError
from worldflux.listing import list_models, preset_info
from worldflux.records import MATURITIES, PARITY_ROLES, SURFACES
from worldflux.state import catalog


@click.group()
def models() -> None:
    """Browse the model catalog of the installed plugins."""


@models.command("list")
@click.option("--surface", type=click.Choice(SURFACES), default="supported", show_default=True,
              help="supported ⊂ public ⊂ all.")
@click.option("--maturity", type=click.Choice(MATURITIES), default=None, help="Keep one maturity.")
@click.option("--family", default=None, help="Keep one family, e.g. tdmpc2.")
@click.option("--verbose", "-v", is_flag=True, help="Show catalog metadata.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(surface: str, maturity: str | None, family: str | None, verbose: bool, as_json: bool) -> None:
    """List presets."""
    families = catalog().families
    if family is not None and family.strip().lower() not in families:
        raise UnknownModelError(f"No installed family {family!r}; installed: {', '.join(sorted(families)) or 'none'}. "
                                f"See `worldflux plugins`.")
    found = list_models(verbose=verbose, maturity=maturity, surface=surface, family=family)
    if as_json:
        echo_json(found)
    elif not verbose:
        for name in found:
            click.echo(name)
    else:
        assert isinstance(found, dict)
        rows = [
            (name, i["family"], i["maturity"], i["surface"], i["parity_role"], human_count(i["param_count"]),
             ", ".join(i["aliases"]), i["provider"], i["description"])
            for name, i in found.items()
        ]
        echo_table(rows, ["name", "family", "maturity", "surface", "parity role", "params", "aliases",
                          "provider", "description"])


@models.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show_command(name: str, as_json: bool) -> None:
    """Show one preset (or alias): metadata and its resolved config fields."""
    cat = catalog()
    preset = cat.resolve(name)
    info = preset_info(preset, cat)
    config = build_config(preset, {})
    helps = dict(field_help(type(config)))
    values = attrs.asdict(config)
    if as_json:
        echo_json({"name": preset.name, **info, "config": values})
        return
    click.echo(f"{preset.name}  ({preset.family}, {preset.maturity}, surface {preset.surface})")
    click.echo(f"  {preset.description}")
    click.echo(f"  parity role: {preset.parity_role} ({PARITY_ROLES[preset.parity_role]})")
    for item in preset.evidence:
        click.echo(f"    evidence: {item}")
    click.echo(f"  aliases: {', '.join(info['aliases']) or '-'}")
    spec = ", ".join(f"{k}={v}" for k, v in preset.reference_spec.items())
    click.echo(f"  parameters: {preset.param_count if preset.param_count is not None else '-'}"
               + (f" (measured with {spec})" if spec else ""))
    click.echo(f"  provider: {preset.provider}")
    click.echo(f"  config ({type(config).__name__}):")
    echo_table([(k, repr(v), helps.get(k, "")) for k, v in values.items()], ["field", "value", "help"])
