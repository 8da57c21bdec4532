"""Rendering stakeholder message templates in a sandbox.

Templates are written by managers and rendered with values Tocsin builds
(plain dicts of strings and numbers) plus variables the sender types in. The
sandbox makes sure a template can neither reach Python objects nor make
Tocsin do unbounded work:

- Jinja2's ImmutableSandboxedEnvironment refuses private and internal
  attributes (`__class__`, `mro`, a function's globals) and mutation;
- on top of it, no attribute is reachable except a few harmless string
  methods, dicts are read by key only, and there are no globals (no `range`,
  no `lipsum`) and only filters that cannot blow up the output's size;
- `**` and `%` on strings are refused, `*` may not repeat text past the
  output limit, loops do not nest, and there is no include, import or macro;
- the output is cut off (and refused) past MAX_OUTPUT characters;
- an undefined variable is an error naming it, never an empty string.

Every refusal is InvalidInput, which the API turns into a 400 problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tocsin.errors import InvalidInput

MAX_SOURCE = 20_000
MAX_OUTPUT = 20_000

_STRING_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "startswith", "endswith"}
)
_FILTERS = (
    "capitalize",
    "default",
    "d",
    "escape",
    "e",
    "first",
    "last",
    "length",
    "lower",
    "round",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
    "wordcount",
)
_FORBIDDEN_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Macro,
    nodes.CallBlock,
)


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _STRING_METHODS:
            return bool(super().is_safe_attribute(obj, attr, value))
        return False

    def wrap_str_format(self, value: Any) -> None:
        # str.format would pass the attribute check in a sandboxed form, but a
        # width such as {:>99999999} still builds a huge string.
        return None

    def call_binop(
        self, context: JinjaContext, operator: str, left: Any, right: Any
    ) -> Any:
        if operator == "**":
            raise SecurityError("the ** operator is not allowed in templates")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting is not allowed in templates")
        if operator == "*" and isinstance(left, str | list | tuple):
            _bounded_repeat(len(left), right)
        if operator == "*" and isinstance(right, str | list | tuple):
            _bounded_repeat(len(right), left)
        return super().call_binop(context, operator, left, right)


def _bounded_repeat(size: int, times: Any) -> None:
    if isinstance(times, int) and size * max(times, 0) > MAX_OUTPUT:
        raise SecurityError(f"the result would be longer than {MAX_OUTPUT}")


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in _FILTERS}
    env.tests = {
        name: env.tests[name]
        for name in ("defined", "undefined", "none", "number", "string")
    }
    return env


_ENV = _environment()


def check(source: str, what: str) -> None:
    """Refuse (InvalidInput) a template that does not parse or uses what the
    sandbox does not allow."""
    if len(source) > MAX_SOURCE:
        raise InvalidInput(f"{what} is at most {MAX_SOURCE} characters")
    try:
        tree = _ENV.parse(source)
        # Compiling finds unknown filters and tests.
        _ENV.compile(tree)
    except TemplateSyntaxError as error:
        raise InvalidInput(f"{what}, line {error.lineno}: {error.message}") from None
    for node in tree.find_all(_FORBIDDEN_NODES):
        name = type(node).__name__.lower()
        raise InvalidInput(f"{what}, line {node.lineno}: no {name} in templates")
    for loop in tree.find_all(nodes.For):
        inner = next(iter(loop.find_all(nodes.For)), None)
        if inner is not None:
            raise InvalidInput(
                f"{what}, line {inner.lineno}: loops inside loops are not allowed"
            )


def variables(source: str, what: str) -> frozenset[str]:
    """The top-level names `source` reads (Tocsin's values and the sender's
    variables alike); InvalidInput when it does not parse."""
    check(source, what)
    return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))


def render(source: str, values: Mapping[str, Any], what: str) -> str:
    """`source` rendered with `values`. InvalidInput for an undefined variable,
    anything the sandbox refuses, an error while rendering, or output longer
    than MAX_OUTPUT."""
    check(source, what)
    try:
        template = _ENV.from_string(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate(dict(values)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise InvalidInput(f"{what} renders longer than {MAX_OUTPUT}")
            out.append(chunk)
    except UndefinedError as error:
        raise InvalidInput(f"{what}: {error.message}") from None
    except SecurityError as error:
        raise InvalidInput(f"{what}: {error}") from None
    except InvalidInput:
        raise
    except Exception as error:  # a template's own runtime error, e.g. 1/0
        raise InvalidInput(f"{what}: {type(error).__name__}: {error}") from None
    return "".join(out)
