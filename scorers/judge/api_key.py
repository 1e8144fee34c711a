"""The judge's API key: read from the environment variable a spec names, in one place.

The key itself never appears in a message; only the variable's name does.
"""

from __future__ import annotations

import os

NO_KEY = "EMPTY"  # what vLLM servers without --api-key accept


def read_api_key(api_key_env: str | None) -> str:
    """The key in the environment variable `api_key_env`; NO_KEY when no variable is named.

    Raises ValueError naming the variable (never a value) when it is unset or empty.
    """
    if api_key_env is None:
        return NO_KEY
    key = os.environ.get(api_key_env)
    if not key:
        raise ValueError(f"judge.api_key_env: environment variable {api_key_env} is not set")
    return key


def api_key_env_vars(api_key_env: str | None) -> dict[str, str]:
    """{name: key} to hand to the processes that call the endpoint; {} when none is named.

    Reads the key now, so a missing one fails before anything starts.
    """
    if api_key_env is None:
        return {}
    return {api_key_env: read_api_key(api_key_env)}
