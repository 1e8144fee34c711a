"""User Python snippets (scorers and metrics): `<< config.x >>` substitution, compile, find
the function, call a def or an async def alike.

Errors surface at spec load, before any engine starts: an unknown config key, a syntax error
(with its line), a snippet that does not define the function it must.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Mapping
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
