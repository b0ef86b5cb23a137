"""Family configs: frozen attrs classes whose fields carry help text and check their values.

Decorate a config class with :func:`worldflux_config` and declare fields with
:func:`config_field`. Fields typed ``int``, ``float``, ``bool``, ``str``,
``tuple[int, ...]``, ``tuple[str, ...]`` or ``dict[str, tuple[int, ...]]`` (named
shapes, e.g. the parts of a dict observation; optionally ``| None``) are
type-checked and converted (lists become tuples, ints become floats), so a
config rebuilt from JSON equals the one saved. Every family config has
``obs_shape`` and ``action_dim``.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Callable, Mapping, TypeVar

import attrs

from worldflux.errors import ConfigError

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def config_field(default: Any = attrs.NOTHING, *, help: str, validator: Validator | None = None) -> Any:
    """A config field with a default, a one-line ``help`` and an optional extra validator."""
    return attrs.field(default=default, validator=validator, metadata={"help": help})


def _fail(inst: Any, attribute: attrs.Attribute[Any], wanted: str, value: Any) -> None:
    raise ConfigError(
        f"{type(inst).__name__}.{attribute.name} must be {wanted}; got {value!r} ({type(value).__name__})"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _is_int(value):
        _fail(inst, attribute, "an int", value)


def _check_float(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, float):
        _fail(inst, attribute, "a number", value)


def _check_bool(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        _fail(inst, attribute, "True or False", value)


def _check_str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        _fail(inst, attribute, "a string", value)


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and bool(value) and all(_is_int(v) and v > 0 for v in value)


def _check_shape(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _is_shape(value):
        _fail(inst, attribute, "a non-empty tuple of positive ints", value)


def _check_shapes(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, dict) and value
            and all(isinstance(k, str) and k and _is_shape(v) for k, v in value.items())):
        _fail(inst, attribute, "a non-empty mapping of names to non-empty tuples of positive ints", value)


def _check_names(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, tuple) and all(isinstance(v, str) and v for v in value)):
        _fail(inst, attribute, "a tuple of non-empty strings", value)


def _to_float(value: Any) -> Any:
    return float(value) if _is_int(value) else value


def _to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _to_shapes(value: Any) -> Any:
    return {k: _to_tuple(v) for k, v in value.items()} if isinstance(value, Mapping) else value


_CHECKS: dict[str, tuple[Validator, Callable[[Any], Any] | None]] = {
    "int": (_check_int, None),
    "float": (_check_float, _to_float),
    "bool": (_check_bool, None),
    "str": (_check_str, None),
    "tuple[int, ...]": (_check_shape, _to_tuple),
    "tuple[str, ...]": (_check_names, _to_tuple),
    "dict[str, tuple[int, ...]]": (_check_shapes, _to_shapes),
}


def _optional(check: Validator) -> Validator:
    def run(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(inst, attribute, value)

    return run


def _type_name(annotation: Any) -> str:
    """``int`` / ``"int"`` -> ``"int"``; ``tuple[int, ...]`` -> ``"tuple[int, ...]"``."""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _add_type_checks(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    out = []
    for field in fields:
        name = _type_name(field.type)
        optional = name.endswith(" | None")
        if name.removesuffix(" | None") not in _CHECKS:
            raise ConfigError(f"{cls.__name__}.{field.name} is annotated {name!r}; a config field is one of "
                              f"{', '.join(_CHECKS)} (optionally '| None'), so that it survives saving as JSON")
        check, convert = _CHECKS[name.removesuffix(" | None")]
        validators = [_optional(check) if optional else check]
        if field.validator is not None:
            validators.append(field.validator)
        out.append(field.evolve(validator=attrs.validators.and_(*validators), converter=field.converter or convert))
    return out


def worldflux_config(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen, keyword-only attrs config with type-checked fields."""
    return attrs.frozen(cls, kw_only=True, field_transformer=_add_type_checks)


# --- value validators --------------------------------------------------------------


def positive(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator: the value must be finite and > 0."""
    if value is not None and not 0 < value < math.inf:
        raise ConfigError(f"{type(inst).__name__}.{attribute.name} must be a finite number > 0; got {value!r}")


def non_negative(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator: the value must be finite and >= 0."""
    if value is not None and not 0 <= value < math.inf:
        raise ConfigError(f"{type(inst).__name__}.{attribute.name} must be a finite number >= 0; got {value!r}")


def unit_interval(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validator: the value must lie in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{type(inst).__name__}.{attribute.name} must be in [0, 1]; got {value!r}")


def ordered(*pairs: tuple[str, str]) -> Callable[[Any], None]:
    """A post-init check that each ``(low, high)`` field pair has ``low <= high`` (a reversed range is an error)."""

    def check(inst: Any) -> None:
        for low, high in pairs:
            if not getattr(inst, low) <= getattr(inst, high):
                raise ConfigError(f"{type(inst).__name__}.{low} ({getattr(inst, low)!r}) must not exceed {high} "
                                  f"({getattr(inst, high)!r})")

    return check


def one_of(*choices: Any) -> Validator:
    """Validator: the value must be one of ``choices``."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise ConfigError(
                f"{type(inst).__name__}.{attribute.name} must be one of {list(choices)}; got {value!r}"
            )

    return check


# --- building and changing configs ---------------------------------------------------


def check_field_names(config_class: type, names: Any) -> None:
    """Raise :class:`ConfigError` for names that are not fields, suggesting close ones."""
    valid = [f.name for f in attrs.fields(config_class)]
    unknown = [n for n in names if n not in valid]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    raise ConfigError(
        f"{config_class.__name__} has no field {', '.join(parts)}. "
        f"Valid fields: {', '.join(valid)}."
    )


def make_config(config_class: type[T], values: Mapping[str, Any]) -> T:
    """Build ``config_class`` from ``values`` with name checks and field-naming errors."""
    check_field_names(config_class, values)
    try:
        return config_class(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {config_class.__name__}: {exc}") from exc


def evolve_config(config: T, changes: Mapping[str, Any]) -> T:
    """A copy of ``config`` with ``changes`` applied, checked like :func:`make_config`."""
    values = attrs.asdict(config, recurse=False)
    values.update(changes)
    return make_config(type(config), values)


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config's fields as JSON-ready values (tuples become lists)."""
    return attrs.asdict(config)


def field_help(config_class: type) -> list[tuple[str, str]]:
    """``(field name, help text)`` for each field, in declaration order."""
    return [(f.name, f.metadata.get("help", "")) for f in attrs.fields(config_class)]
