from pathlib import Path

import pytest

from pipeline.plan import plan_of
from pipeline.spec_loader import SpecError, load_spec, parse_spec

ISSUE_SPEC = """
name: demo
input: {path: data/demo.parquet, id_column: id}     # fsspec URI: file, folder or glob
output: {path: runs/demo}
judge:
  model: models/tiny-judge                          # local folder or HF model id
  engine_kwargs: {dtype: float32, max_model_len: 1024, enforce_eager: true}
  concurrency: 1                                    # judge actors
  num_gpus: 0                                       # per actor (1 on a GPU cluster)
  batch_size: 64
definition:
  scorers:
    - type: checklist
      key: quality
      mode: item                                    # this issue: item mode
      primary_metric: normalized                    # pass | weighted | normalized
      input_column: prompt
      target_column: response
      checklist:                                    # corpus-level; or checklist_column: <col>
        - {question: "Does the response answer the question that was asked?", weight: 100}
        - {question: "Is the response free of factual errors?", weight: 60}
      metrics:
        - {type: mean, field: primary_score, name: "Mean quality"}
"""


def write(tmp_path: Path, text: str, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_issue_spec_is_accepted_as_written(tmp_path):
    spec = load_spec(write(tmp_path, ISSUE_SPEC))
    scorer = spec.definition.scorers[0]
    assert spec.judge is not None and spec.judge.engine_kwargs["max_model_len"] == 1024
    assert scorer.primary_metric == "normalized"
    assert [i.weight for i in scorer.checklist or []] == [100, 60]
    assert list(plan_of(spec).column_requirements()) == ["id", "prompt", "response"]


def test_repo_example_specs_are_valid():
    examples = Path(__file__).resolve().parents[1] / "jobs/examples"
    paths = sorted(examples.glob("*.yaml"))
    assert paths, f"no example specs found in {examples}"
    for path in paths:
        load_spec(path)


def test_unknown_key_is_named_with_its_path_and_file(tmp_path):
    path = write(tmp_path, ISSUE_SPEC.replace("batch_size: 64", "batch_sise: 64"))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(path) in str(err.value)
    assert "judge.batch_sise: unknown key" in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("weight: 60", "weight: 160"), "definition.scorers.0.checklist.1.weight"),
        (("primary_metric: normalized", "primary_metric: best"), "primary_metric"),
        (("key: quality", "key: error"), "reserved"),
        (("key: quality", "key: 'bad key'"), "must be an identifier"),
        (("field: primary_score", "field: nope"), "not a score field"),
        (("      checklist:", "      checklist_column: rubric\n      checklist:"), "exactly one"),
        (("concurrency: 1", "concurrency: 0"), "judge.concurrency"),
        (("target_column: response", "target_column: error"), "input column 'error'"),
        (("id_column: id}", "id_column: id, passthrough_columns: [error]}"), "row errors"),
        (
            (
                "concurrency: 1",
                "concurrency: 1\n  backend: openai\n  base_url: http://x\n  prefix_padding: true",
            ),
            "prefix_padding is for backend 'vllm'",
        ),
    ],
)
def test_invalid_values_are_reported_by_key(tmp_path, change, message):
    with pytest.raises(SpecError, match=message):
        load_spec(write(tmp_path, ISSUE_SPEC.replace(*change)))


def test_duplicate_scorer_keys_are_rejected():
    raw = load_spec_dict()
    raw["definition"]["scorers"].append(dict(raw["definition"]["scorers"][0]))
    with pytest.raises(SpecError, match="duplicate scorer key 'quality'"):
        parse_spec(raw)


def test_include_is_relative_to_the_spec_and_confined_to_its_folder(tmp_path):
    (tmp_path / "q.txt").write_text("Is it polite?")
    ok = ISSUE_SPEC.replace('"Is the response free of factual errors?"', "!include q.txt")
    spec = load_spec(write(tmp_path, ok))
    assert spec.definition.scorers[0].checklist[1].question == "Is it polite?"
    outside = ISSUE_SPEC.replace('"Is the response free of factual errors?"', "!include ../x")
    with pytest.raises(SpecError, match="outside the spec's folder"):
        load_spec(write(tmp_path, outside))


def test_a_missing_or_malformed_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write(tmp_path, "name: [unclosed"))


def load_spec_dict() -> dict:
    import yaml

    return yaml.safe_load(ISSUE_SPEC)


def test_a_dumped_spec_loads_again(tmp_path):
    """Judge actors and resumed runs get the spec as JSON: it must validate unchanged."""
    from pipeline.spec import JobSpec

    spec = load_spec(write(tmp_path, ISSUE_SPEC))
    assert JobSpec.model_validate_json(spec.model_dump_json()) == spec
    for path in sorted(Path("jobs/examples").glob("*.yaml")):
        example = load_spec(path)
        assert JobSpec.model_validate_json(example.model_dump_json()) == example


def test_keys_default_to_type_and_position_and_metrics_null_means_none(tmp_path):
    raw = {
        "name": "defaults",
        "input": {"path": "x.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "config": {"field": "answer", "limit": 3},
        "definition": {
            "scorers": [
                {"type": "uniqueness", "column": "response", "metrics": None},
                {
                    "type": "python_all_samples",
                    "compute_scores_snippet": (
                        "def compute_scores(s):\n"
                        "    return [{'f': '<< config.field >>'}] * len(s)\n"
                    ),
                    "config": {"limit": 5},
                },
                {"type": "uniqueness", "key": "mine", "column": "response"},
            ]
        },
    }
    spec = parse_spec(raw)
    uniq, python, mine = spec.definition.scorers
    assert (uniq.key, python.key, mine.key) == ("uniqueness_0", "python_all_samples_1", "mine")
    assert uniq.metrics == [] and uniq.name == "uniqueness_0"
    assert python.config == {"field": "answer", "limit": 5}  # the scorer's own value wins
    assert "'answer'" in python.code()


def test_a_snippet_config_key_missing_everywhere_is_named(tmp_path):
    raw = {
        "name": "missing",
        "input": {"path": "x.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "definition": {
            "scorers": [
                {
                    "type": "python_all_samples",
                    "compute_scores_snippet": "def compute_scores(s):\n    return '<< config.x >>'",
                }
            ]
        },
    }
    with pytest.raises(SpecError, match="config has no key 'x'"):
        parse_spec(raw)
