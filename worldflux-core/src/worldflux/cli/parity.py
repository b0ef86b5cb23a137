"""``worldflux parity check|run|report``: numerical and learning-curve parity with the official code."""

from __future__ import annotations

from pathlib import Path

import attrs
import click

from worldflux.cli.output import echo_json, echo_table
from worldflux.errors import ConfigError


@click.group()
def parity() -> None:
    """Compare the native models with their official implementations."""


@parity.command("check")
@click.argument("preset")
@click.option("--python", help="Interpreter of the official code's environment.  [default: $WORLDFLUX_*_PYTHON]")
@click.option("--checkout", type=click.Path(path_type=Path), help="Checkout of the official code.  "
              "[default: $WORLDFLUX_*_CHECKOUT]")
@click.option("--keep", type=click.Path(path_type=Path), help="Keep the official fixture in this directory.")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="A model config field for both sides (repeatable), e.g. --set warmup=0.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def check(preset: str, python: str | None, checkout: Path | None, keep: Path | None, settings: tuple[str, ...],
          as_json: bool) -> None:
    """Run the official code at PRESET's architecture and compare the native model with it, quantity by quantity.

    Exits 1 when a quantity is outside its tolerance.
    """
    from worldflux.cli.train import split_settings
    from worldflux.lazy import load_ref
    from worldflux.parity.check import check_preset
    from worldflux.parity.table import format_rows
    from worldflux.state import catalog

    record = catalog().resolve(preset)
    fields = [f.name for f in attrs.fields(load_ref(record.config_class, provider=str(record.provider)))]
    training, overrides = split_settings(settings, fields)
    if training:
        raise ConfigError(f"--set {', '.join(training)}: a parity check compares models; TrainingConfig fields "
                          f"have no part in it")
    rows = check_preset(preset, python=python, checkout=checkout, keep=keep, overrides=overrides)
    if as_json:
        echo_json([r.to_dict() for r in rows])
    else:
        echo_table(format_rows(rows), ["quantity", "official", "native", "error", "tolerance", ""])
    failed = [r.quantity for r in rows if not r.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(rows)} quantities differ beyond tolerance: "
                                   f"{', '.join(failed)}")


@parity.command("run")
@click.option("--preset", required=True, help="The preset both sides train, e.g. dreamerv3:size1m.")
@click.option("--env", "envs", required=True, multiple=True, help="A task (repeatable): CartPole-v1, dmc:...")
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds 0..N-1 per task and side.")
@click.option("--steps", type=int, required=True, help="Env steps per run.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Campaign directory.")
@click.option("--backend", help="The official backend.  [default: the one the family names]")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="A model config or TrainingConfig field for both sides (repeatable).")
@click.option("--official-option", "official_options", multiple=True, metavar="NAME=VALUE",
              help="An option of the official backend (repeatable), e.g. python=/env/bin/python.")
@click.option("--parallel", type=int, default=1, show_default=True, help="Runs trained at once.")
@click.option("--side", type=click.Choice(["both", "native", "official"]), default="both", show_default=True,
              help="Train one side only (e.g. the official one on another machine).")
@click.option("--ray", "ray_address", metavar="ADDRESS", help="Train the native runs as Ray tasks: a cluster "
              "address (ray://head:10001, auto) or 'local'. Official runs stay local processes.")
def run(preset: str, envs: tuple[str, ...], seeds: int, steps: int, out: Path, backend: str | None,
        settings: tuple[str, ...], official_options: tuple[str, ...], parallel: int, side: str,
        ray_address: str | None) -> None:
    """Train PRESET natively and with the official code on the same tasks and seeds, then wait for all runs.

    Running the same command again continues an interrupted campaign.
    """
    from worldflux.cli.train import _value, split_settings
    from worldflux.lazy import load_ref
    from worldflux.parity.campaign import make_campaign, run_campaign
    from worldflux.state import catalog

    record = catalog().resolve(preset)
    fields = [f.name for f in attrs.fields(load_ref(record.config_class, provider=str(record.provider)))]
    training, model = split_settings(settings, fields)
    official = {}
    for pair in official_options:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ConfigError(f"--official-option takes name=value; got {pair!r}")
        official[name] = _value(text)
    if parallel < 1:
        raise ConfigError(f"--parallel must be at least 1; got {parallel}")
    ray = None if ray_address is None else ({} if ray_address == "local" else {"address": ray_address})
    campaign = make_campaign(record.name, envs, range(seeds), steps, backend=backend, training=training,
                             model=model, official=official, ray=ray)
    sides = ("native", "official") if side == "both" else (side,)
    results = run_campaign(campaign, out, parallel=parallel, sides=sides)
    echo_table([(r["side"], r["task"], r["seed"], r["status"] or "not started", r["run_dir"]) for r in results],
               ["side", "task", "seed", "status", "run dir"])
    if any(r["status"] != "finished" for r in results if r["side"] in sides):
        raise click.ClickException("some runs did not finish; see their logs.txt, then run the same command again")


@parity.command("report")
@click.argument("campaign", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path), help="Where to write report.json/.md and curves.png.  "
              "[default: CAMPAIGN/report]")
@click.option("--metric", type=click.Choice(["eval_return", "return"]),
              help="The curve compared.  [default: eval_return if every run has it, else return]")
@click.option("--margin", default="10%", show_default=True,
              help="Equivalence margin: return units, or a percentage of the official mean.")
@click.option("--alpha", type=float, default=0.05, show_default=True)
def report(campaign: Path, out: Path | None, metric: str | None, margin: str, alpha: float) -> None:
    """Final return and AUC per task, paired differences with bootstrap intervals, TOST with Holm correction."""
    from worldflux.parity.report import campaign_report, write_report

    data = campaign_report(campaign, metric=metric, margin=margin, alpha=alpha)
    for path in write_report(data, campaign, out or campaign / "report"):
        click.echo(str(path))
