"""Check, before Ray or any engine starts, that the run directory can be written.

The run directory need not exist yet: the check finds the nearest folder that does (the
directory itself, or its first existing ancestor, where makedirs would start) and creates and
removes a small probe file there.
"""

from __future__ import annotations

import posixpath
from typing import Any

import fsspec

from pipeline.storage.filesystems import is_remote

PROBE = ".rayscore-write-probe"


class OutputNotWritable(ValueError):
    """output.path cannot be written; the message names the path and the reason."""


def check_output_writable(uri: str, storage_options: dict[str, Any] | None = None) -> None:
    """Raise OutputNotWritable unless a run directory at `uri` could be created and written."""
    fs, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))

    def refuse(reason: str) -> OutputNotWritable:
        return OutputNotWritable(f"output.path: cannot write to {uri!r}: {reason}")

    existing = path.rstrip("/") or path
    if is_remote(uri):  # object stores have no folders: probe where the run will write
        try:
            probe = posixpath.join(existing, PROBE)
            with fs.open(probe, "wb") as handle:
                handle.write(b"")
            fs.rm(probe)
        except OSError as exc:
            raise refuse(exc.strerror or str(exc) or type(exc).__name__) from None
        return
    try:
        while not fs.exists(existing):
            parent = posixpath.dirname(existing)
            if parent in ("", existing):
                break
            existing = parent
        if fs.exists(existing) and not fs.isdir(existing):
            what = "it" if existing == path.rstrip("/") else existing
            raise refuse(f"{what} is a file, not a folder")
        probe = posixpath.join(existing, PROBE)
        with fs.open(probe, "wb") as handle:
            handle.write(b"")
        fs.rm(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise refuse(f"{reason} ({existing})") from None
