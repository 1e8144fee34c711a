"""User Python snippets (scorers and metrics): `<< config.x >>` substitution, compile, find
the function, call a def or an async def alike.

Errors surface at spec load, before any engine starts: an unknown config key, a syntax error
(with its line), a snippet that does not define the function it must. `check_defines` checks
the shape only and never runs the snippet; `load_function` runs its top level.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CONFIG_REFERENCE = re.compile(r"<<\s*config\.(\w+)\s*>>")


def substitute_config(template: str, config: Mapping[str, Any]) -> str:
    unknown = sorted({m for m in CONFIG_REFERENCE.findall(template) if m not in config})
    if unknown:
        listed = ", ".join(sorted(config)) or "(none)"
        raise ValueError(
            f"snippet uses << config.{unknown[0]} >> but config has no key {unknown[0]!r}; "
            f"config keys: {listed}"
        )
    return CONFIG_REFERENCE.sub(lambda m: str(config[m.group(1)]), template)


def parse_snippet(code: str, source: str) -> ast.Module:
    """Parse and compile `code` without running it; raises SyntaxError as `compile` would
    (compiling also catches what parsing lets through, such as `return` outside a function)."""
    tree = ast.parse(code, filename=source)
    compile(tree, source, "exec")
    return tree


def top_level_functions(
    tree: ast.Module, name: str
) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module-level `def name`/`async def name` statements, in source order."""
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
    ]


def check_defines(code: str, name: str, source: str) -> None:
    """Raise ValueError unless `code` compiles and defines a function `name` at top level.

    Checks the shape only: the snippet is never executed.
    """
    try:
        tree = parse_snippet(code, source)
    except SyntaxError as exc:
        raise ValueError(f"{source}: syntax error at line {exc.lineno}: {exc.msg}") from None
    if not top_level_functions(tree, name):
        raise ValueError(f"{source}: the snippet must define a function {name}(...)")


def load_function(code: str, name: str, source: str) -> Callable[..., Any]:
    """Compile `code` and return its function `name` (def or async def)."""
    try:
        compiled = compile(code, source, "exec")
    except SyntaxError as exc:
        raise ValueError(f"{source}: syntax error at line {exc.lineno}: {exc.msg}") from None
    namespace: dict[str, Any] = {"__name__": source}
    exec(compiled, namespace)
    function = namespace.get(name)
    if not callable(function):
        raise ValueError(f"{source}: the snippet must define a function {name}(...)")
    return function  # type: ignore[no-any-return]


def call_sync(function: Callable[..., Any], *args: Any) -> Any:
    """Call a def or an async def the same way."""
    if inspect.iscoroutinefunction(function):
        return asyncio.run(function(*args))
    return function(*args)


def call_each(function: Callable[..., Any], arguments: Sequence[Any]) -> list[Any]:
    """`function(a)` for each argument, in order; what a call raised stands in its place.

    An async def's calls run concurrently on one event loop."""
    if inspect.iscoroutinefunction(function):

        async def gathered() -> list[Any]:
            calls = (function(a) for a in arguments)
            return await asyncio.gather(*calls, return_exceptions=True)

        return asyncio.run(gathered())
    results: list[Any] = []
    for argument in arguments:
        try:
            results.append(function(argument))
        except Exception as exc:
            results.append(exc)
    return results


def snippet_line(exc: BaseException, source: str) -> int | None:
    """The snippet's line where `exc` was raised (the innermost of its frames), if any."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == source]
    return lines[-1] if lines else None
