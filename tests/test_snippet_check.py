"""check_defines: a snippet's shape checked at spec load, its code never run."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorers.snippet import check_defines, load_function

SOURCE = "<job.compute_scores_snippet>"


@pytest.mark.parametrize(
    "code",
    [
        "def compute_scores(samples):\n    return []\n",
        "async def compute_scores(samples):\n    return []\n",
        "import math\n\nX = 1\n\n\ndef helper():\n    pass\n\n\ndef compute_scores(s, k=1):\n"
        "    return [math.pi] * len(s)\n",
    ],
)
def test_a_top_level_def_or_async_def_passes(code):
    check_defines(code, "compute_scores", SOURCE)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "def score(samples):\n    return []\n",
        "compute_scores = lambda samples: []\n",
        "class compute_scores:\n    pass\n",
        "def outer():\n    def compute_scores(samples):\n        return []\n",
        "# def compute_scores(samples): ...\n",
    ],
)
def test_no_top_level_function_of_that_name_is_named(code):
    with pytest.raises(ValueError) as err:
        check_defines(code, "compute_scores", SOURCE)
    assert str(err.value) == f"{SOURCE}: the snippet must define a function compute_scores(...)"


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("def compute_scores(samples):\n    return [\n\n  x = \n", 2),
        ("x = 1\ndef compute_scores(samples)\n    return []\n", 2),
        # Parsing accepts this; compiling does not. check_defines compiles too.
        ("return 1\ndef compute_scores(samples):\n    return []\n", 1),
    ],
)
def test_a_syntax_error_gives_the_same_message_as_load_function(code, line):
    with pytest.raises(ValueError) as checked:
        check_defines(code, "compute_scores", SOURCE)
    with pytest.raises(ValueError) as loaded:
        load_function(code, "compute_scores", SOURCE)
    assert str(checked.value) == str(loaded.value)
    assert str(checked.value).startswith(f"{SOURCE}: syntax error at line {line}: ")


def test_the_snippet_top_level_is_never_executed(tmp_path: Path):
    marker = tmp_path / "ran"
    code = (
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "raise RuntimeError('the top level ran')\n"
        "\n"
        "def compute_scores(samples):\n"
        "    return []\n"
    )
    check_defines(code, "compute_scores", SOURCE)
    assert not marker.exists()
    # load_function, by contrast, runs it: the check above is what proves it did not.
    with pytest.raises(RuntimeError, match="the top level ran"):
        load_function(code, "compute_scores", SOURCE)
    assert marker.exists()


def test_a_failing_function_body_is_not_run_either():
    code = "def compute_scores(samples):\n    raise SystemExit(3)\n"
    check_defines(code, "compute_scores", SOURCE)
