"""The python metric's user code: checked at spec load (without running it), loaded at finalize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scorers.snippet import call_sync, load_function, parse_snippet, top_level_functions

SNIPPET_FILE = "<compute_metric_snippet>"
SIGNATURE = "def compute_metric(values: list) -> float | dict"


def check_snippet(source: str) -> None:
    """Raise ValueError unless the code compiles and defines compute_metric taking one argument."""
    try:
        tree = parse_snippet(source, SNIPPET_FILE)
    except SyntaxError as exc:
        raise ValueError(
            f"compute_metric_snippet does not compile: line {exc.lineno}: {exc.msg}"
        ) from None
    defs = top_level_functions(tree, "compute_metric")
    if not defs:
        raise ValueError(f"compute_metric_snippet must define `{SIGNATURE}` at top level")
    args = defs[-1].args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    if required > 1 or (not positional and args.vararg is None):
        raise ValueError(
            f"compute_metric (line {defs[-1].lineno}) must take one argument, the list of "
            f"values: `{SIGNATURE}`"
        )


def load_compute_metric(source: str) -> Callable[[list[Any]], Any]:
    """Run the snippet and return its compute_metric; an async def is awaited when called."""
    function = load_function(source, "compute_metric", SNIPPET_FILE)
    return lambda values: call_sync(function, values)
