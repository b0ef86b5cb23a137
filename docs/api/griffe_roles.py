"""A griffe extension for the API reference (mkdocs.yml loads it; it is not part of the site).

- Sphinx roles in docstrings become cross-references. The docstrings write ``:class:`~worldflux.records.Preset```,
  ``:func:`create_world_model``` and the like, which Markdown would show as they are. Each becomes an optional
  autorefs link: the name resolved in the docstring's scope, shown as code (``~`` keeps only the last component),
  linked when the target is in the reference and plain code otherwise.
- Names a package exports lazily through an ``_EXPORTS = {name: module}`` dict and ``__getattr__``
  (``worldflux.training``) become members of the package, so ``worldflux.training.Trainer`` is documented
  under the name users import.
- Config fields declared ``name: T = config_field(default, help="...", validator=v)`` are documented by their
  help text, with the default as their value (the ``worldflux models show`` view of a config).
"""

from __future__ import annotations

import ast
import html
import re
from typing import Any, Iterator

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const):`(~?)([^`<>]+)`")


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)  # type: ignore[arg-type]


def _target(obj: griffe.Object, name: str) -> str:
    head, _, rest = name.lstrip(".").partition(".")
    try:
        base = obj.resolve(head)
    except Exception:  # not in scope (e.g. a standard-library name): keep the text; the link stays optional
        return name
    return f"{base}.{rest}" if rest else base


def _link(obj: griffe.Object, match: re.Match[str]) -> str:
    short, name = match.group(1), match.group(2).strip()
    title = name.rsplit(".", 1)[-1] if short else name
    target = _target(obj, name)
    return f'<autoref identifier="{html.escape(target)}" optional><code>{html.escape(title)}</code></autoref>'


def _config_field(attr: griffe.Object) -> None:
    value = getattr(attr, "value", None)
    if not isinstance(value, griffe.ExprCall) or str(value.function).rsplit(".", 1)[-1] != "config_field":
        return
    keywords = {a.name: a.value for a in value.arguments if isinstance(a, griffe.ExprKeyword)}
    positional = [a for a in value.arguments if not isinstance(a, griffe.ExprKeyword)]
    default = positional[0] if positional else keywords.get("default")
    attr.value = default  # type: ignore[attr-defined]  # None: a required field, shown without a value
    if attr.docstring is None and "help" in keywords:
        try:
            text = ast.literal_eval(f"({keywords['help']})")
        except (SyntaxError, ValueError):
            text = str(keywords["help"])
        text = html.escape(text, quote=False)  # plain text: "runs/<model>-..." is not an HTML tag
        if "validator" in keywords:
            text += f" (checked by `{keywords['validator']}`)"
        attr.docstring = griffe.Docstring(text, parent=attr)


def _lazy_exports(module: griffe.Object) -> None:
    exports = module.members.get("_EXPORTS")
    if not module.is_module or exports is None or exports.is_alias or "__getattr__" not in module.members:
        return
    try:
        names = ast.literal_eval(str(exports.value))
    except (SyntaxError, ValueError):
        return
    for name, source in names.items():
        if name not in module.members:
            module.set_member(name, griffe.Alias(name, f"{source}.{name}", parent=module))  # type: ignore[arg-type]
    module.exports = sorted(names)  # type: ignore[attr-defined]


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring of a loaded package, and document config fields."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in list(_objects(pkg)):
            _lazy_exports(obj)
            if obj.is_attribute:
                _config_field(obj)
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = ROLE.sub(lambda m, o=obj: _link(o, m), obj.docstring.value)
