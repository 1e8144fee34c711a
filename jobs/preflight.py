"""Does this Python have rayscore's dependencies? Standard library only: it runs first.

A submitted job runs with the cluster's Python; when that Python lacks rayscore's
dependencies, `rayscore` exits with one line naming them and how to install them, instead of
a ModuleNotFoundError deep in a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys

# import name -> pip requirement, as in pyproject.toml's dependencies
DEPENDENCIES = {
    "ray": "ray[data]==2.60.0",
    "pyarrow": "pyarrow>=15",
    "polars": "polars>=1.0",
    "pydantic": "pydantic>=2.6",
    "yaml": "pyyaml>=6",
    "fsspec": "fsspec>=2024.2",
    "s3fs": "s3fs>=2024.2",
    "openai": "openai>=1.40",
    "datasketch": "datasketch>=1.6",
    "tqdm": "tqdm>=4.60",
    "sklearn": "scikit-learn>=1.4",
    "scipy": "scipy>=1.10",
    "matplotlib": "matplotlib>=3.8",
}
# Ray Jobs sets this in a submitted job's environment.
RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"


def missing_dependencies() -> list[str]:
    """The pip requirements whose modules this Python cannot import."""
    return [pip for module, pip in DEPENDENCIES.items() if importlib.util.find_spec(module) is None]


def missing_message(missing: list[str]) -> str:
    names = ", ".join(repr(name.split(">")[0].split("=")[0]) for name in missing)
    if os.environ.get(RAY_JOB_ENV):
        return (
            f"rayscore: the job's Python ({sys.executable}) lacks {names}; install rayscore's "
            "dependencies on the cluster (pip install 'rayscore[gpu]', as cluster.yaml does) "
            "or pass them to rayscore submit --pip"
        )
    return (
        f"rayscore: this Python ({sys.executable}) lacks {names}; install rayscore's "
        "dependencies (pip install -e '.[cpu]' or '.[gpu]' in the repository)"
    )


def exit_if_dependencies_missing() -> None:
    missing = missing_dependencies()
    if missing:
        raise SystemExit(missing_message(missing))
