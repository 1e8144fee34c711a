"""cluster.yaml is checked by the cluster launcher's own JSON schema (shipped in the ray
package) and by the launcher's own validation, the two steps `ray up` runs before it starts
anything; a typo fails both here instead of on a cloud bill. Then: the judge placement the file
promises holds (judge actors fit on the GPU workers, never on the head), and every node starts
Ray with the same auth token."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipeline.resources import Node, ResourceError, check_resources
from scorers.judge.spec import JudgeSpec

CLUSTER_YAML = Path(__file__).resolve().parents[1] / "cluster.yaml"
# What the launcher fills in from the AWS instance types cluster.yaml names.
INSTANCE_GPUS = {"m6i.2xlarge": (8, 0), "m6i.4xlarge": (16, 0), "g6.xlarge": (4, 1),
                 "g6.12xlarge": (48, 4)}  # fmt: skip


def cluster() -> dict[str, Any]:
    return yaml.safe_load(CLUSTER_YAML.read_text())


def launcher_schema() -> dict[str, Any]:
    import ray.autoscaler

    return json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())


def launcher_check(config: dict[str, Any]) -> None:
    """What `ray up` does with the file before it talks to a cloud: its JSON schema on the file
    as written, then defaults merged in (prepare_config) and validate_config (the schema again,
    head_node_type among the node types, min_workers within max_workers)."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    jsonschema.validate(config, launcher_schema())
    validate_config(prepare_config(copy.deepcopy(config)))


def test_cluster_yaml_passes_the_launchers_own_checks():
    config = cluster()
    launcher_check(config)
    types = config["available_node_types"]
    assert config["head_node_type"] == "head"
    assert config["file_mounts"]["/home/ubuntu/rayscore"] == "."
    assert any("/home/ubuntu/rayscore[gpu]" in c for c in config["setup_commands"])
    assert "judge" not in types["head"]["resources"]  # no judge actor on the head
    assert types["gpu_worker"]["resources"]["judge"] >= 1
    assert types["cpu_worker"]["min_workers"] == 0  # optional


def test_every_node_starts_ray_with_the_same_auth_token():
    """Ray's set-up for VMs: the token generated where `ray up` runs is copied to every node
    (file_mounts go to all of them) and Ray starts in token mode on head and workers."""
    config = cluster()
    assert config["file_mounts"]["/home/ubuntu/.ray/auth_token"] == "~/.ray/auth_token"
    for commands in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in config[commands] if "ray start" in c]
        assert starts and all(c.startswith("RAY_AUTH_MODE=token ray start") for c in starts)
    assert any("export RAY_AUTH_MODE=token" in c for c in config["initialization_commands"])


def typo(path: tuple[str, ...], wrong: str) -> dict[str, Any]:
    config = cluster()
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    parent[wrong] = parent.pop(path[-1])
    return config


NODE_TYPES = ("available_node_types",)
GPU_WORKER = (*NODE_TYPES, "gpu_worker")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (typo(NODE_TYPES, "availabe_node_types"), "'availabe_node_types' was unexpected"),
        (typo((*GPU_WORKER, "min_workers"), "min_worker"), "'min_worker' was unexpected"),
        (typo((*GPU_WORKER, "resources"), "resource"), "'resources' is a required"),
        (typo(("setup_commands",), "setup_command"), "'setup_command' was unexpected"),
        (typo(("worker_start_ray_commands",), "worker_start_commands"), "'worker_start_commands'"),
    ],
)
def test_a_typo_in_a_key_is_rejected_by_the_schema(config, message):
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(config, launcher_schema())


def test_wrong_values_are_rejected_by_the_launcher():
    config = cluster()
    config["available_node_types"]["gpu_worker"]["resources"] = {"judge": 0.5}
    with pytest.raises(jsonschema.ValidationError, match="is not of type 'integer'"):
        launcher_check(config)
    config = cluster()
    config["head_node_type"] = "haed"  # the schema takes any string; validate_config does not
    jsonschema.validate(config, launcher_schema())
    with pytest.raises(ValueError, match="head_node_type` must be one of"):
        launcher_check(config)
    config = cluster()
    config["available_node_types"]["gpu_worker"]["min_workers"] = 20
    with pytest.raises(ValueError, match="smaller than the sum of `min_workers`"):
        launcher_check(config)


def test_what_the_launcher_does_not_check():
    """Provider settings and node_config are the cloud's, free-form to Ray: a typo there
    passes both checks and fails only at `ray up` (so they are kept few)."""
    config = cluster()
    config["provider"]["regoin"] = config["provider"].pop("region")
    config["available_node_types"]["head"]["node_config"]["InstanceTyp"] = "m6i.2xlarge"
    launcher_check(config)


def nodes_of(types: list[str]) -> list[Node]:
    """Nodes as the launcher would start them: each type's resources, CPU and GPU filled in."""
    node_types = cluster()["available_node_types"]
    nodes = []
    for name in types:
        node_type = node_types[name]
        cpus, gpus = INSTANCE_GPUS[node_type["node_config"]["InstanceType"]]
        resources = {"CPU": float(cpus), "GPU": float(gpus), **node_type["resources"]}
        nodes.append(Node(resources=resources, labels=node_type.get("labels", {}), node_id=name))
    return nodes


def test_the_placement_cluster_yaml_promises():
    judge = JudgeSpec(model="m/m", num_gpus=1, concurrency=2, resources={"judge": 1})
    check_resources({"judge": judge}, nodes_of(["head", "gpu_worker", "gpu_worker"]))
    labelled = judge.model_copy(update={"resources": {}, "node_labels": {"rayscore/role": "judge"}})
    check_resources({"judge": labelled}, nodes_of(["head", "gpu_worker", "gpu_worker"]))
    with pytest.raises(ResourceError, match=r"judge.resources: each judge actor needs judge: 1"):
        check_resources({"judge": judge}, nodes_of(["head", "cpu_worker"]))
    wide = JudgeSpec(model="m/m", engine_kwargs={"tensor_parallel_size": 4}, resources={"judge": 1})
    check_resources({"judge": wide}, nodes_of(["head", "gpu_worker_4x"]))
    with pytest.raises(ResourceError, match=r"judge\.engine_kwargs\.tensor_parallel_size"):
        check_resources({"judge": wide}, nodes_of(["head", "gpu_worker", "gpu_worker"]))


def test_the_gpu_example_spec_fits_the_gpu_workers():
    from pipeline.spec_loader import load_spec

    example = CLUSTER_YAML.parent / "jobs/examples/gpu/checklist_7b.yaml"
    judges = {"judge": load_spec(example).judge}
    check_resources(judges, nodes_of(["head", *["gpu_worker"] * 8]))
    with pytest.raises(ResourceError, match=r"judge\.concurrency: 8 actors"):
        check_resources(judges, nodes_of(["head", *["gpu_worker"] * 7]))
