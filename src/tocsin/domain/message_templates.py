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
- `**` and `%` on strings are refused, `*`, `+` and `~` may not build text
  or lists past the output limit, and integers stay small;
- loops neither nest nor recurse, and there is no `set`, `with`, filter
  block, block, include, import or macro: without them no name can be bound
  to a value built from itself, which is how a short template grows
  exponentially;
- every operation, method call, filter and loop iteration counts against
  MAX_STEPS, so a loop cannot do unbounded work that prints nothing;
- only text and numbers are printed or joined, never a list or dict (whose
  text can be far larger than the list itself);
- the output is cut off (and refused) past MAX_OUTPUT characters;
- an undefined variable is an error naming it, never an empty string.

Every refusal is InvalidInput, which the API turns into a 400 problem.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import (
    StrictUndefined,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    meta,
    nodes,
    pass_context,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from tocsin.errors import InvalidInput

MAX_SOURCE = 20_000
MAX_OUTPUT = 20_000
MAX_STEPS = 10_000
MAX_INT_BITS = 256

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
_FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "import",
    nodes.Macro: "macro",
    # Without extends a block is only a macro by another name, callable
    # through self['name']() and so able to double its output per level.
    nodes.Block: "block",
    nodes.CallBlock: "call block",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.FilterBlock: "filter block",
}
_TEXT_FILTERS = frozenset(_FILTERS) - {"default", "d", "first", "last", "length"}

# The steps the render under way has left; None outside render(), e.g. while
# the compiler folds constants (a refusal there just leaves the work to run
# time, inside the budget).
_STEPS_LEFT: ContextVar[list[int] | None] = ContextVar("steps_left", default=None)


def _step() -> None:
    left = _STEPS_LEFT.get()
    if left is None:
        raise SecurityError("not rendering")
    left[0] -= 1
    if left[0] < 0:
        raise SecurityError(f"the template takes more than {MAX_STEPS} steps")


def _text_only(value: Any) -> Any:
    # An allowlist: anything else prints its repr, and Jinja's own objects
    # (`self`, `loop`, a block) show a heap address in theirs. An Undefined
    # goes on, to raise its own error (undefined name, unsafe attribute).
    if value is not None and not isinstance(value, str | int | float | Undefined):
        raise SecurityError("only text and numbers can be printed or joined")
    return value


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


@pass_context
def _counted(context: JinjaContext, items: Iterable[Any]) -> Iterator[Any]:
    """A loop's items, each iteration a step."""
    for item in items:
        _step()
        yield item


@pass_context
def _joined(context: JinjaContext, parts: list[Any]) -> str:
    """`a ~ b ~ c`, bounded like the output."""
    _step()
    text = "".join(str(_text_only(part)) for part in parts)
    if len(text) > MAX_OUTPUT:
        raise SecurityError(f"the result would be longer than {MAX_OUTPUT}")
    return text


def _guarded(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and, when it works on text, refuses a
    list or dict."""

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _step()
        if name in _TEXT_FILTERS:
            # The value is the first argument, after the context or
            # environment the filter may ask for.
            passed = getattr(function, "jinja_pass_arg", None)
            _text_only(args[1] if passed is not None else args[0])
        return function(*args, **kwargs)

    return guarded


class _Bounded(NodeTransformer):
    """Routes loops and `~` through the step budget and size bound."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(
            node.iter, "_counted", [], [], None, None, lineno=node.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(parts, "_joined", [], [], None, None, lineno=node.lineno)


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "**", "%"})
    intercepted_unops = frozenset({"+", "-"})

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
        _step()
        if operator == "**":
            raise SecurityError("the ** operator is not allowed in templates")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting is not allowed in templates")
        left_size, right_size = _size(left), _size(right)
        if operator == "*" and left_size is not None:
            _bounded_repeat(left_size, right)
        if operator == "*" and right_size is not None:
            _bounded_repeat(right_size, left)
        if operator == "+" and left_size is not None and right_size is not None:
            _bounded_repeat(left_size + right_size, 1)
        if (
            operator == "*"
            and _is_int(left)
            and _is_int(right)
            and abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS
        ):
            raise SecurityError("the number would be too large")
        result = super().call_binop(context, operator, left, right)
        if _is_int(result) and abs(result).bit_length() > MAX_INT_BITS:
            raise SecurityError("the number would be too large")
        return result

    def call_unop(self, context: JinjaContext, operator: str, arg: Any) -> Any:
        _step()
        return super().call_unop(context, operator, arg)

    def call(
        __self, __context: JinjaContext, __obj: Any, *args: Any, **kwargs: Any
    ) -> Any:
        _step()
        return super().call(__context, __obj, *args, **kwargs)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _step()
        return super().getitem(obj, argument)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _step()
        return super().getattr(obj, attribute)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bounded_repeat(size: int, times: Any) -> None:
    if isinstance(times, int) and size * max(times, 0) > MAX_OUTPUT:
        raise SecurityError(f"the result would be longer than {MAX_OUTPUT}")


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, finalize=_text_only)
    env.globals.clear()
    env.filters = {name: _guarded(name, env.filters[name]) for name in _FILTERS}
    env.filters["_counted"] = _counted
    env.filters["_joined"] = _joined
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
    _bounded_tree(source, what)


def _bounded_tree(source: str, what: str) -> nodes.Template:
    """The parsed template, checked, with its loops and joins bounded."""
    try:
        tree = _ENV.parse(source)
        # Compiling finds unknown filters and tests.
        _ENV.compile(tree)
    except TemplateSyntaxError as error:
        raise InvalidInput(f"{what}, line {error.lineno}: {error.message}") from None
    except SecurityError as error:  # a constant list printed, say
        raise InvalidInput(f"{what}: {error}") from None
    except (SyntaxError, RecursionError, MemoryError):
        # Jinja and Python's compiler give up on very deep nesting.
        raise InvalidInput(f"{what} is nested too deeply") from None
    for node in tree.find_all(tuple(_FORBIDDEN_NODES)):
        name = _FORBIDDEN_NODES[type(node)]
        raise InvalidInput(f"{what}, line {node.lineno}: no {name} in templates")
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise InvalidInput(
                f"{what}, line {loop.lineno}: recursive loops are not allowed"
            )
        inner = next(iter(loop.find_all(nodes.For)), None)
        if inner is not None:
            raise InvalidInput(
                f"{what}, line {inner.lineno}: loops inside loops are not allowed"
            )
    for name in ("_counted", "_joined"):
        if any(f.name == name for f in tree.find_all(nodes.Filter)):
            raise InvalidInput(f"{what}: no filter named {name!r}")
    _Bounded().visit(tree)  # edits the tree in place; its root stays
    return tree


def variables(source: str, what: str) -> frozenset[str]:
    """The top-level names `source` reads (Tocsin's values and the sender's
    variables alike); InvalidInput when it does not parse."""
    check(source, what)
    return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))


def render(source: str, values: Mapping[str, Any], what: str) -> str:
    """`source` rendered with `values`. InvalidInput for an undefined variable,
    anything the sandbox refuses, an error while rendering, or output longer
    than MAX_OUTPUT."""
    tree = _bounded_tree(source, what)
    budget = _STEPS_LEFT.set([MAX_STEPS])
    try:
        template = _ENV.from_string(tree)
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
    finally:
        _STEPS_LEFT.reset(budget)
    return "".join(out)
