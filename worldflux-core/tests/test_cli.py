"""The worldflux CLI, run in-process with click's runner against the toy catalog."""

from __future__ import annotations

import json

from click.testing import CliRunner

from worldflux.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_models_list_prints_names(toy):
    out = run("models", "list")
    assert out.exit_code == 0 and out.stdout.split() == ["toy:tiny"]


def test_models_list_verbose_table(toy):
    out = run("models", "list", "--surface", "all", "--verbose")
    assert out.exit_code == 0
    header, rule, *rows = out.stdout.splitlines()
    assert header.split()[:4] == ["name", "family", "maturity", "surface"]
    assert [r.split()[0] for r in rows] == ["toy:tiny", "toy:wide", "toy:draft"]
    assert "toy, toy-tiny" in rows[0] and "worldflux-toy" in rows[0]


def test_models_list_filters_and_json(toy):
    out = run("models", "list", "--surface", "all", "--maturity", "skeleton", "--json")
    assert json.loads(out.stdout) == ["toy:draft"]
    out = run("models", "list", "--family", "toy", "--verbose", "--json")
    assert json.loads(out.stdout)["toy:tiny"]["param_count"] == 157


def test_bad_choice_is_a_usage_error(toy):
    out = run("models", "list", "--surface", "everything")
    assert out.exit_code == 2 and "Invalid value for '--surface'" in out.stderr


def test_models_show_resolves_an_alias(toy):
    out = run("models", "show", "toy")
    assert out.exit_code == 0
    assert out.stdout.startswith("toy:tiny  (toy, experimental, surface supported)\n  8-dim latent\n"
                                 "  parity role: unclaimed (makes no claim to match an official implementation)\n")
    assert "latent_dim" in out.stdout and "latent size" in out.stdout
    assert "measured with obs_shape=(4,), action_dim=2" in out.stdout
    data = json.loads(run("models", "show", "toy:tiny", "--json").stdout)
    assert data["config"]["latent_dim"] == 8 and data["aliases"] == ["toy", "toy-tiny"]


def test_unknown_model_is_exit_1_on_stderr(toy):
    out = run("models", "show", "toy:tinny")
    assert out.exit_code == 1 and out.stdout == ""
    assert "Unknown model 'toy:tinny'. Did you mean 'toy:tiny'" in out.stderr


def test_plugins_lists_registrations_and_errors(plugins):
    plugins.add_toy()
    plugins.add("worldflux-broken", "broken_plugin", {"broken_plugin.py": "raise ImportError('needs jax')\n"})
    plugins.load()
    out = run("plugins")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["plugin", "distribution", "version", "status", "registered"]
    assert any(line.split()[:5] == ["worldflux-toy", "worldflux-toy", "1.0", "ok", "1"] for line in lines)
    assert any(line.startswith("worldflux-broken: failed to load: ImportError: needs jax") for line in lines)
    data = json.loads(run("plugins", "--json").stdout)
    assert {d["name"]: d["registered"]["presets"] for d in data if d["name"] == "worldflux-toy"} == {
        "worldflux-toy": ["toy:tiny", "toy:wide", "toy:draft"]}
