"""Retries for one request to an OpenAI-compatible endpoint: bounded exponential backoff.

Retried: HTTP 429, 5xx, timeouts and connection errors; Retry-After (seconds or an HTTP
date) is honoured up to the backoff bound. Any other 4xx fails at once. The final reason
names the status and the number of attempts.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import openai

T = TypeVar("T")

MAX_MESSAGE_CHARS = 300


class RequestFailed(Exception):
    """A request that will not succeed; `reason` says why (status, message, attempts)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status  # the HTTP status that ended it; None for timeouts and the like


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0

    def delay_s(self, retry: int, retry_after_s: float | None) -> float:
        """Seconds before retry number `retry` (0-based): full jitter on base·2^retry, or the
        server's Retry-After; never more than backoff_max_s."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.backoff_max_s)
        ceiling = min(self.backoff_base_s * 2**retry, self.backoff_max_s)
        return random.uniform(ceiling / 2, ceiling)


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`call()`'s result, retrying transient failures; raises RequestFailed when it gives up."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except openai.APIStatusError as exc:
            message = re.sub(r"^Error code: \d+ - ", "", exc.message)
            reason = f"HTTP {exc.status_code}: {_short(message)}"
            if exc.status_code != 429 and exc.status_code < 500:
                raise RequestFailed(reason, exc.status_code) from None
            retry_after = _retry_after_s(exc.response.headers)
        except openai.APITimeoutError:
            reason, retry_after = f"request timed out after {timeout_s:g} s", None
        except openai.APIConnectionError as exc:
            reason, retry_after = f"connection error: {_short(str(exc.__cause__ or exc))}", None
        if attempt > policy.max_retries:
            raise RequestFailed(f"{reason} (gave up after {attempt} attempts)") from None
        sleep(policy.delay_s(attempt - 1, retry_after))


def _retry_after_s(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "..."
