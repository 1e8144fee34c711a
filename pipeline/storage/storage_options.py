"""fsspec storage options: kept out of everything a run writes, and translated for Polars.

`input.storage_options` and `output.storage_options` go to fsspec as given (s3fs for s3://:
`{endpoint_url: http://127.0.0.1:9000}`, `{key, secret, token}`, `client_kwargs`, ...).
Credentials normally come from the environment (AWS_ACCESS_KEY_ID, ...); when a spec carries
them, every value whose key looks secret is written as "***" wherever the spec is recorded.

Polars reads cloud storage with its own client (Rust object_store) whose option names differ
from s3fs's and which ignores names it does not know. `endpoint_url` (and `region`) mean the
same to both, so with credentials from the environment one dict serves fsspec and Polars;
`polars_storage_options` translates s3fs's credential names and `client_kwargs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.storage.filesystems import is_remote

SECRET_WORDS = ("key", "secret", "token", "password", "credential")
REDACTED = "***"

# s3fs's names -> Polars' (object_store's AmazonS3ConfigKey) for the same setting.
S3FS_TO_POLARS = {
    "key": "aws_access_key_id",
    "secret": "aws_secret_access_key",
    "token": "aws_session_token",
    "endpoint_url": "aws_endpoint_url",
    "region_name": "aws_region",
    "region": "aws_region",
    "anon": "aws_skip_signature",
}
# Names that are Polars' already (object_store's per-cloud and client settings).
POLARS_PREFIXES = ("aws_", "google_", "azure_", "hf_")
POLARS_CLIENT_KEYS = frozenset(
    {"allow_http", "allow_invalid_certificates", "connect_timeout", "timeout", "proxy_url",
     "user_agent", "max_retries", "retry_timeout_ms", "file_cache_ttl"}
)  # fmt: skip


def looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def redact_secrets(value: Any) -> Any:
    """`value` with every dict entry whose key looks secret replaced by "***", at any depth."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if looks_secret(str(k)) else redact_secrets(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_secrets(v) for v in value]
    return value


def polars_storage_options(
    uri: str, storage_options: Mapping[str, Any] | None
) -> dict[str, str] | None:
    """The options for `pl.scan_parquet(uri, storage_options=...)` that reach the same store
    as fsspec's `storage_options`. For s3:// s3fs's credentials, endpoint (top level or in
    `client_kwargs`) and region under object_store's names (`aws_access_key_id`,
    `aws_endpoint_url`, `aws_allow_http` for an http:// endpoint, ...); names that are Polars'
    already pass through; fsspec-only settings (block sizes, caches) are left out. None for a
    local path or when there is nothing to pass (Polars then reads the environment)."""
    if not storage_options or not is_remote(uri):
        return None
    s3 = uri.startswith(("s3://", "s3a://"))
    flat = dict(storage_options)
    if s3 and isinstance(flat.get("client_kwargs"), Mapping):
        flat = {**flat.pop("client_kwargs"), **flat}
    options: dict[str, str] = {}
    for name, value in flat.items():
        if value is None or isinstance(value, Mapping):
            continue
        if s3 and name in S3FS_TO_POLARS:
            options[S3FS_TO_POLARS[name]] = _text(value)
        elif name.startswith(POLARS_PREFIXES) or name in POLARS_CLIENT_KEYS:
            options[name] = _text(value)
    if options.get("aws_endpoint_url", "").startswith("http://"):
        options.setdefault("aws_allow_http", "true")
    return options or None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
