"""The judge fingerprint tells weights and engines apart: a large weight file saved again
(same size) changes it, a copy elsewhere does not; so do the engine's package versions, and
an earlier run on other engine versions reuses nothing, saying why."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import judge_fingerprint as fingerprints
from pipeline import manifest
from pipeline.incremental.earlier_run import check_earlier_run
from pipeline.incremental.spec import IncrementalSpec
from scorers.judge.spec import JudgeSpec

LARGE = 3 << 20


def model_folder(folder, weights: bytes):
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_large_weights_saved_again_change_the_fingerprint_and_a_copy_does_not(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(manifest, "HASH_LIMIT_BYTES", 1 << 20)  # the weights count as large
    weights = bytearray(LARGE)
    night1 = model_folder(tmp_path / "night1", bytes(weights))
    copy = shutil.copytree(night1, tmp_path / "copy")
    weights[LARGE // 3] = 1  # retrained: same size, other values
    retrained = model_folder(tmp_path / "retrained", bytes(weights))

    def files(folder):
        return manifest.model_fingerprint(str(folder))["files_sha256"]

    assert files(night1)["model.safetensors"].startswith(f"{LARGE} bytes")
    assert files(copy) == files(night1)
    assert files(retrained) != files(night1)


def test_the_engine_versions_are_part_of_an_in_process_judges_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
):
    vllm = JudgeSpec(model="m/m")
    served = JudgeSpec(backend="openai", model="m/m", base_url="http://judge:8000/v1")
    before = fingerprints.judge_fingerprint(vllm), fingerprints.judge_fingerprint(served)
    monkeypatch.setattr(fingerprints, "engine_versions", lambda: {"torch": "9.9"})
    after = fingerprints.judge_fingerprint(vllm), fingerprints.judge_fingerprint(served)
    assert after[0] != before[0]
    assert after[1] == before[1]  # a server's engine is not ours to see
    assert fingerprints.local_engine_versions([served]) == {}


def test_an_earlier_run_on_other_engine_versions_reuses_nothing(tmp_path):
    (tmp_path / "judgments").mkdir()
    pq.write_table(pa.table({"id": ["a"]}), tmp_path / "judgments" / "part-0.parquet")
    earlier = {"run_id": "r1", "judge": {"fingerprints": {"default": "aaa"}}}
    earlier["versions"] = {"vllm": "0.9.0", "torch": "2.6.0"}
    (tmp_path / "manifest.json").write_text(json.dumps(earlier))
    section = IncrementalSpec.model_validate({"from": str(tmp_path)})
    same = {"vllm": "0.9.0", "torch": "2.6.0"}
    assert (
        check_earlier_run(section, {}, {"default": "aaa"}, engine=same).nothing_reused_because
        is None
    )
    moved = check_earlier_run(section, {}, {"default": "aaa"}, engine={**same, "torch": "2.7.0"})
    assert "torch 2.6.0 -> 2.7.0" in (moved.nothing_reused_because or "")
