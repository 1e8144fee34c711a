"""Prompt templates: the built-in ones in scorers/prompts/, `{name}` placeholders filled."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

import pyarrow as pa
import pyarrow.compute as pc

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@cache
def prompt_template(name: str) -> str:
    """A built-in template from scorers/prompts/<name>.md."""
    return resources.files("scorers").joinpath(f"prompts/{name}.md").read_text()


def template_placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def render(template: str, values: dict[str, str]) -> str:
    """Fill `{name}` placeholders; other braces (JSON examples, code) stay as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


TEXT = pa.large_string()  # 64-bit offsets: a batch's prompts may pass 2 GiB together


def render_columns(template: str, values: Mapping[str, str | pa.Array], length: int) -> pa.Array:
    """`render` for `length` rows at once: an array fills its placeholder with its row's text
    (no nulls), a str fills every row alike. One pass, as in `render`, so filled-in text is
    never read for placeholders."""
    pieces: list[str | pa.Array] = []
    last = 0
    for match in PLACEHOLDER.finditer(template):
        value = values.get(match.group(1), match.group(0))
        literal = template[last : match.start()]
        if isinstance(value, str):
            pieces.append(literal + value)
        else:
            pieces.extend([literal, value.cast(TEXT)])
        last = match.end()
    pieces.append(template[last:])
    merged = _merge_literals(pieces)
    if all(isinstance(piece, str) for piece in merged):
        return pa.array(["".join(map(str, merged))] * length, TEXT)
    args = [pa.scalar(p, TEXT) if isinstance(p, str) else p for p in merged]
    return pc.binary_join_element_wise(*args, pa.scalar("", TEXT))


def _merge_literals(pieces: list[str | pa.Array]) -> list[str | pa.Array]:
    merged: list[str | pa.Array] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif not (isinstance(piece, str) and not piece):
            merged.append(piece)
    return merged
