"""Config helpers: type checks, conversions, JSON round trip, help text."""

from __future__ import annotations

import attrs
import pytest

from worldflux.config import config_field, config_to_dict, evolve_config, field_help, make_config, one_of, \
    unit_interval, worldflux_config
from worldflux.errors import ConfigError


@worldflux_config
class Example:
    obs_shape: tuple[int, ...] = config_field((3, 64, 64), help="observation shape")
    action_dim: int = config_field(6, help="action size")
    scale: float = config_field(1, help="a float given as an int")
    act: str = config_field("silu", help="activation", validator=one_of("silu", "mish"))
    frac: float = config_field(0.5, help="in [0, 1]", validator=unit_interval)
    limit: int | None = config_field(None, help="optional int")


def test_conversions_make_json_round_trips_exact():
    config = Example(obs_shape=[3, 32, 32], scale=2)
    assert config.obs_shape == (3, 32, 32) and config.scale == 2.0 and isinstance(config.scale, float)
    assert make_config(Example, config_to_dict(config)) == config


def test_frozen_and_keyword_only():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Example().act = "mish"
    with pytest.raises(TypeError):
        Example((3, 64, 64))  # type: ignore[misc]


@pytest.mark.parametrize("values, message", [
    ({"act": "relu"}, r"Example.act must be one of \['silu', 'mish'\]; got 'relu'"),
    ({"frac": 1.5}, r"Example.frac must be in \[0, 1\]; got 1.5"),
    ({"limit": "3"}, r"Example.limit must be an int; got '3' \(str\)"),
    ({"actt": "silu"}, r"Example has no field 'actt' \(did you mean 'act'\?\)"),
])
def test_errors_name_the_field(values, message):
    with pytest.raises(ConfigError, match=message):
        make_config(Example, values)


def test_optional_accepts_none_and_evolve_checks():
    assert evolve_config(Example(), {"limit": 3}).limit == 3
    with pytest.raises(ConfigError, match="no field 'nope'"):
        evolve_config(Example(), {"nope": 1})


def test_help_text():
    assert field_help(Example)[0] == ("obs_shape", "observation shape")


def test_a_field_type_that_cannot_round_trip_through_json_is_refused_at_class_creation():
    with pytest.raises(ConfigError, match=r"Odd.widths is annotated 'list\[int\]'; a config field is one of int, "
                                          r"float, bool, str, tuple\[int, ...\], tuple\[str, ...\]"):
        @worldflux_config
        class Odd:
            widths: list[int] = config_field([1], help="h")
