"""``worldflux convert`` and ``worldflux export``: official checkpoints in and out."""

from __future__ import annotations

from pathlib import Path

import click

from worldflux.cli.output import echo_json
from worldflux.errors import ConfigError


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--option takes name=value; got {pair!r}")
        options[name] = value
    return options


def _official_names() -> str:
    from worldflux.state import catalog

    return ", ".join(sorted(catalog().officials)) or "none installed"


@click.command()
@click.argument("official")
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Directory of the saved model to write.")
@click.option("--option", "-o", "options", multiple=True, metavar="NAME=VALUE",
              help="A converter option (repeatable), e.g. -o episode_length=500; see docs/parity.md.")
def convert(official: str, source: Path, out: Path, options: tuple[str, ...]) -> None:
    """Turn an OFFICIAL checkpoint (official-tdmpc2, official-dreamerv3) at SOURCE into a saved model.

    The result loads with create_world_model(OUT). Checkpoints are read without running code from them.
    """
    from worldflux.official import convert_checkpoint

    path = convert_checkpoint(official, source, out, **_options(options))
    echo_json({"official": official, "source": str(source), "saved_model": str(path)})


@click.command()
@click.argument("official")
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Checkpoint file to write.")
@click.option("--option", "-o", "options", multiple=True, metavar="NAME=VALUE", help="An exporter option.")
def export(official: str, model_dir: Path, out: Path, options: tuple[str, ...]) -> None:
    """Write the saved model MODEL_DIR as a checkpoint the OFFICIAL code loads (official-tdmpc2)."""
    from worldflux.official import export_checkpoint

    path = export_checkpoint(official, model_dir, out, **_options(options))
    echo_json({"official": official, "saved_model": str(model_dir), "checkpoint": str(path)})
