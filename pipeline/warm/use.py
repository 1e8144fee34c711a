"""What a run does with the warm judges it found: thin client actors in its judge pool, a
line saying so, and the manifest's record of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

# A client actor holds no engine: it prepares and finishes scorers' batches and waits on
# the warm actors, so it reserves little CPU and no GPU, and may run on any node.
THIN_CLIENT_OPTIONS: dict[str, Any] = {"num_cpus": 0.25, "num_gpus": 0}


def warm_line(judge: str, infos: Sequence[Mapping[str, Any]]) -> str:
    names = ", ".join(str(i["name"]) for i in infos)
    loaded = min(float(i["ready"]) for i in infos)
    return (
        f"rayscore: judge {judge!r} is warm: {len(infos)} actor(s) ({names}), engine loaded "
        f"{iso_time(loaded)}; this run starts no engine of its own"
    )


def warm_manifest(
    warm: Mapping[str, Sequence[Mapping[str, Any]]],
    fallbacks: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """`judge.warm` (judge name -> the warm actors that judged for it),
    `judge.warm_engines` (actor -> when its engine started and how long that took: the
    run's own judge clock counts only its connection to them), and `judge.warm_fallbacks`
    (judge name -> why each of its thin clients that found the warm actors gone started an
    engine of its own: pipeline.warm.fallback)."""
    return {
        "warm_fallbacks": {judge: list(why) for judge, why in (fallbacks or {}).items()},
        "warm": {judge: [str(i["name"]) for i in infos] for judge, infos in warm.items()},
        "warm_engines": {
            str(i["name"]): {
                "started_at": iso_time(float(i["started"])),
                "engine_start_s": round(float(i["ready"]) - float(i["started"]), 3),
                "node": i["node"],
            }
            for infos in warm.values()
            for i in infos
        },
    }


def iso_time(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="seconds")
