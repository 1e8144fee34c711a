"""Warm judges through real Ray and the real engine: a head started here (`ray start --head`
in its own process group, its own ports, temp dir and token: bench.ray_head), `judges up` a
tiny-judge spec, a `rayscore run` on it scores as a cold run did and starts no engine of its
own, `judges list` shows it, `judges down` removes it, and an idle time-out ends it.

Engines started: the cold run's, the warm judge's, and the idle one's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ENGINE_KWARGS, NO_LABEL_FLOOR
from same_scores import assert_same_scores

from bench.ray_head import ray_head

pytestmark = [pytest.mark.ray, pytest.mark.engine]
BIN = Path(sys.executable).parent
RAYSCORE = str(BIN / "rayscore")
ROWS = 8


@pytest.fixture(scope="module")
def head() -> Iterator[dict[str, str]]:
    """A Ray head outliving each command; yields the environment commands run with."""
    with ray_head(cpus=2) as env:
        yield env


def rayscore(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAYSCORE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, demo_parquet: Path):
    """Write a spec with output path `{out}` left to fill in per run."""
    folder = tmp_path_factory.mktemp("warm")
    data = folder / "rows.parquet"
    pq.write_table(pq.read_table(demo_parquet).slice(0, ROWS), data)

    def write(out: str, idle_model: bool = False, extra_question: str | None = None) -> Path:
        spec = {
            "name": "warm",
            "input": {"path": str(data), "id_column": "id"},
            "output": {"path": str(folder / out)},
            "judge": {
                "model": str(tiny_model),
                "engine_kwargs": ENGINE_KWARGS | ({"block_size": 32} if idle_model else {}),
                "batch_size": 4,
                "num_cpus": 0.5,
                **NO_LABEL_FLOOR,
            },
            "definition": {
                "scorers": [
                    {
                        "type": "checklist",
                        "key": "quality",
                        "input_column": "prompt",
                        "target_column": "response",
                        "checklist": [
                            {"question": "Does the response answer the question?"},
                            {"question": "Is the response free of factual errors?"},
                        ]
                        + ([{"question": extra_question}] if extra_question else []),
                    }
                ]
            },
        }
        path = folder / f"{out}.yaml"
        path.write_text(yaml.safe_dump(spec))
        return path

    return write


def scores(manifest_dir: Path) -> pl.DataFrame:
    return (
        pl.read_parquet(manifest_dir / "scores")
        .select("id", pl.col("quality").struct.field("item_scores").alias("item"))
        .explode("item")
        .unnest("item")
        .select("id", "index", "answer", "confidence")
        .sort("id", "index")
    )


@pytest.fixture(scope="module")
def cold(head: dict[str, str], spec_file) -> Path:
    """The spec run before any judge is warm: its own engine."""
    spec = spec_file("cold")
    ok(rayscore("run", str(spec), env=head))
    return spec.parent / "cold"


@pytest.fixture(scope="module")
def warm_names(head: dict[str, str], spec_file, cold: Path) -> list[str]:
    out = ok(rayscore("judges", "up", str(spec_file("up")), env=head))
    assert "warm; started judge-" in out
    listed = ok(rayscore("judges", "list", env=head))
    return [line.split()[1] for line in listed.splitlines() if "│ judge-" in line]


def test_judges_up_and_list(
    warm_names: list[str], head: dict[str, str], tiny_model: Path, spec_file
):
    assert len(warm_names) == 1 and warm_names[0].startswith("judge-")
    listed = ok(rayscore("judges", "list", env=head))
    row = next(line for line in listed.splitlines() if "│ judge-" in line)
    assert str(tiny_model) in row and warm_names[0] in row, listed
    again = ok(rayscore("judges", "up", str(spec_file("again")), env=head))
    assert f"already warm {warm_names[0]}" in again  # no second engine
    assert ok(rayscore("judges", "list", env=head)).count("│ judge-") == 1


def test_run_on_a_warm_judge_scores_as_a_cold_run_without_an_engine(
    warm_names: list[str], head: dict[str, str], spec_file, cold: Path
):
    spec = spec_file("warm")
    done = rayscore("run", str(spec), env=head)
    ok(done)
    assert f"is warm: 1 actor(s) ({warm_names[0]})" in done.stderr
    assert "answered by warm judge(s)" in done.stdout
    manifest = json.loads((spec.parent / "warm" / "manifest.json").read_text())
    judge = manifest["judge"]
    assert judge["warm"] == {"judge": warm_names}
    assert judge["warm_engines"][warm_names[0]]["engine_start_s"] > 1  # the warm actor's own
    assert judge["timings_s"]["judge"]["engine_start_s"] < 5  # this run's: a connection
    cold_manifest = json.loads((cold / "manifest.json").read_text())
    assert cold_manifest["judge"]["warm"] == {}
    assert cold_manifest["judge"]["timings_s"]["judge"]["engine_start_s"] > 1
    warm_scores, cold_scores = scores(spec.parent / "warm"), scores(cold)
    assert warm_scores.height == ROWS * 2
    assert_same_scores(warm_scores, cold_scores)


def test_a_checklist_edit_runs_on_the_same_warm_judge(
    warm_names: list[str], head: dict[str, str], spec_file
):
    spec = spec_file("edited", extra_question="Is the response polite?")
    ok(rayscore("run", str(spec), env=head))
    manifest = json.loads((spec.parent / "edited" / "manifest.json").read_text())
    assert manifest["judge"]["warm"] == {"judge": warm_names}
    assert manifest["judge"]["requests"] == ROWS * 3
    assert scores(spec.parent / "edited")["index"].max() == 2


def test_a_different_judge_setting_finds_no_warm_judge(warm_names: list[str], head, spec_file):
    """A changed engine setting changes the fingerprint: the warm judge is not its own."""
    from pipeline.judge_fingerprint import judge_fingerprint
    from pipeline.plan import plan_of
    from pipeline.spec_loader import load_spec
    from pipeline.warm.names import names_for

    other = plan_of(load_spec(str(spec_file("other", idle_model=True)))).judges["judge"]
    assert names_for(judge_fingerprint(other), warm_names) == []


def test_judges_down_removes_it(warm_names: list[str], head: dict[str, str], spec_file):
    done = ok(rayscore("judges", "down", str(spec_file("down")), env=head))
    assert f"stopped 1 warm judge(s): {warm_names[0]}" in done
    assert "no warm judges" in ok(rayscore("judges", "list", env=head))


def test_idle_timeout_ends_the_warm_judge(head: dict[str, str], spec_file, warm_names):
    rayscore("judges", "down", str(spec_file("idle")), env=head)  # an up below starts afresh
    ok(rayscore("judges", "up", str(spec_file("idle")), "--idle-timeout-s", "2", env=head))
    deadline = time.monotonic() + 60
    while "no warm judges" not in ok(rayscore("judges", "list", env=head)):
        assert time.monotonic() < deadline, "the idle warm judge did not exit"
        time.sleep(2)


def test_judges_need_a_named_cluster(spec_file):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = rayscore("judges", "up", str(spec_file("none")), env=env)
    assert done.returncode == 2 and "--address" in done.stderr and "RAY_ADDRESS" in done.stderr
