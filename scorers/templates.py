"""Prompt templates: the built-in ones in scorers/prompts/, `{name}` placeholders filled."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

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
