"""fsspec URIs to the pyarrow filesystems Ray Data and Parquet readers take."""

from __future__ import annotations

from typing import Any

import fsspec
import pyarrow.fs as pafs


def arrow_filesystem(fs: Any) -> pafs.FileSystem:
    if isinstance(fs, fsspec.implementations.local.LocalFileSystem):
        return pafs.LocalFileSystem()
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs))


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")
