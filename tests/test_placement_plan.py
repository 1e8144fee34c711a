"""Where judge actors may run (judge.resources, judge.node_labels) and how many GPUs a
tensor-parallel engine reserves, checked against fake node lists before any actor starts."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.resources import Node, ResourceError, check_resources, labels_match
from pipeline.spec_loader import SpecError, parse_spec
from scorers.judge.spec import JudgeSpec

HEAD = Node({"CPU": 8.0}, {"ray.io/node-id": "h"}, "h")
GPU2 = Node({"CPU": 8.0, "GPU": 2.0, "judge": 2.0}, {"rayscore/role": "judge"}, "g2")
TP = "tensor_parallel_size"
GPU4 = Node({"CPU": 16.0, "GPU": 4.0}, {}, "g4")  # GPUs, but no `judge` and no label


def judge(**knobs: Any) -> JudgeSpec:
    return JudgeSpec(model="m/m", **knobs)


def refused(judges: dict[str, JudgeSpec], nodes: list[Node]) -> str:
    with pytest.raises(ResourceError) as err:
        check_resources(judges, nodes)
    return str(err.value)


@pytest.mark.parametrize(
    ("knobs", "gpus"),
    [
        ({}, 0),
        ({"num_gpus": 1}, 1),
        ({"engine_kwargs": {"tensor_parallel_size": 2}}, 2),  # num_gpus 0: tp decides
        ({"num_gpus": 1, "engine_kwargs": {"tensor_parallel_size": 4}}, 4),
        ({"num_gpus": 8, "engine_kwargs": {"tensor_parallel_size": 4}}, 8),  # higher num_gpus wins
        ({"engine_kwargs": {"tensor_parallel_size": 2, "pipeline_parallel_size": 2}}, 4),
        ({"backend": "openai", "base_url": "http://x/v1",
          "engine_kwargs": {"tensor_parallel_size": 4}}, 0),  # no engine in the actor
    ],
)  # fmt: skip
def test_gpus_per_actor_compose_num_gpus_and_tensor_parallel_size(knobs, gpus):
    assert judge(**knobs).gpus_per_actor == gpus


def test_a_tensor_parallel_engine_wider_than_any_node_is_refused_by_its_key():
    message = refused(
        {"judge": judge(engine_kwargs={"tensor_parallel_size": 8})}, [HEAD, GPU2, GPU4]
    )
    assert message.startswith("judge.engine_kwargs.tensor_parallel_size: tensor_parallel_size 8")
    assert "the most any node has is 4" in message
    # num_gpus set higher than the split: then num_gpus is what does not fit
    message = refused({"judge": judge(num_gpus=8, engine_kwargs={"tensor_parallel_size": 2})},
                      [HEAD, GPU4])  # fmt: skip
    assert message.startswith("judge.num_gpus: each judge actor needs 8 GPU(s)")
    # 4 GPUs exist, but not on a node the judge may use
    message = refused(
        {"judge": judge(engine_kwargs={"tensor_parallel_size": 4}, resources={"judge": 1})},
        [HEAD, GPU2, GPU4],
    )
    assert "tensor_parallel_size" in message and "among the nodes offering judge: 1" in message


def test_tensor_parallel_actors_are_counted_in_whole_nodes():
    tp2 = judge(engine_kwargs={"tensor_parallel_size": 2}, concurrency=4)  # 1 + 2 fit
    message = refused({"judge": tp2}, [HEAD, GPU2, GPU4])
    assert (
        "judge.concurrency: 4 actors of 2 GPU(s) do not fit on the cluster's nodes: 3 do" in message
    )
    check_resources({"judge": tp2.model_copy(update={"concurrency": 3})}, [HEAD, GPU2, GPU4])


def test_a_custom_resource_no_node_offers_is_refused_with_what_the_cluster_has():
    message = refused({"judge": judge(num_gpus=1, resources={"judge": 1})}, [HEAD, GPU4])
    assert message.startswith("judge.resources: each judge actor needs judge: 1")
    assert "{CPU: 8}; {CPU: 16, GPU: 4}" in message  # what each node offers
    assert "--no-resource-check" in message  # the way out on an autoscaling cluster
    named = {"large": judge(resources={"big": 1})}
    assert refused(named, [HEAD, GPU2]).startswith("judges.large.resources: ")


def test_custom_resources_bound_how_many_actors_fit():
    many = judge(num_gpus=0.5, resources={"judge": 1}, concurrency=3)
    # GPU2 offers judge: 2: two actors, though its GPUs would take four
    assert "3 actors of 0.5 GPU(s), judge: 1 do not fit" in refused({"judge": many}, [HEAD, GPU2])
    a, b = judge(resources={"judge": 1}, concurrency=2), judge(resources={"judge": 1})
    assert "need 3 'judge' (judge.resources) at once" in refused({"a": a, "b": b}, [HEAD, GPU2])
    check_resources({"judge": many.model_copy(update={"concurrency": 2})}, [HEAD, GPU2])


def test_node_labels_select_the_nodes():
    labelled = judge(num_gpus=1, node_labels={"rayscore/role": "judge"})
    check_resources({"judge": labelled}, [HEAD, GPU2, GPU4])
    message = refused({"judge": labelled}, [HEAD, GPU4])
    assert message.startswith("judge.node_labels: no live node's labels match")
    assert refused({"judge": judge(num_gpus=4, node_labels={"rayscore/role": "judge"})},
                   [HEAD, GPU2, GPU4]).startswith("judge.num_gpus")  # fmt: skip


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({"role": "judge"}, True),
        ({"role": "!judge"}, False),
        ({"role": "in(cpu, judge)"}, True),
        ({"role": "!in(cpu,judge)"}, False),
        ({"zone": "!b"}, True),  # absent counts as not equal
        ({"zone": "a"}, False),
        ({"role": "judge", "zone": "in(a,b)"}, False),
    ],
)
def test_label_selectors_match_like_rays(selector, matches):
    assert labels_match(selector, {"role": "judge"}) is matches


def spec_with(**judge_knobs: Any) -> dict[str, Any]:
    return {
        "name": "p",
        "input": {"path": "x.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": {"model": "m", **judge_knobs},
        "definition": {"scorers": [{"type": "checklist", "target_column": "r",
                                    "checklist": [{"question": "ok?"}]}]},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"engine_kwargs": {TP: 0}}, "judge.engine_kwargs: tensor_parallel_size: 0 must be"),
        ({"engine_kwargs": {TP: "2"}}, "judge.engine_kwargs: tensor_parallel_size: '2' must"),
        ({"engine_kwargs": {"pipeline_parallel_size": 1.5}}, "judge.engine_kwargs: pipeline_"),
        ({"resources": {"GPU": 1}}, "judge.resources: 'GPU' is not a custom resource"),
        ({"resources": {"judge": 1.5}}, "judge.resources: judge: 1.5: Ray takes whole numbers"),
        ({"resources": {"judge": 0}}, "judge.resources: judge: 0 must be more than 0"),
        ({"node_labels": {"role": "in()"}}, "judge.node_labels: role: 'in\\(\\)' is not a label"),
        ({"node_labels": {"-bad": "x"}}, "judge.node_labels: '-bad' is not a label key"),
        ({"resorces": {"judge": 1}}, "judge.resorces: unknown key"),
    ],
)  # fmt: skip
def test_placement_settings_are_checked_at_load(knobs, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec_with(**knobs))


def test_unset_placement_is_left_out_of_dumps():
    """Runs started before judge.resources existed keep their fingerprint (it hashes the
    judge's dump), and a dumped spec loads again."""
    plain = parse_spec(spec_with()).model_dump(mode="json")
    assert "resources" not in plain["judge"] and "node_labels" not in plain["judge"]
    placed = parse_spec(spec_with(resources={"judge": 1}, node_labels={"rayscore/role": "judge"}))
    dumped = placed.model_dump(mode="json")
    assert dumped["judge"]["resources"] == {"judge": 1.0}
    assert parse_spec(dumped) == placed
