"""Warm judges without Ray: naming and matching by fingerprint, the idle clock, the thin
client's forwarding (over fake warm actors, named as such), the manifest record, the list
table, and the CLI's refusals. The real thing: tests/test_warm_judges.py."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from jobs.cli import main
from jobs.judges_command import warm_table
from pipeline.warm.client import WarmJudgeClient
from pipeline.warm.idle import IdleClock
from pipeline.warm.names import actor_name, is_warm_judge, names_for
from pipeline.warm.use import warm_line, warm_manifest
from scorers.judge.labels import YES_NO
from scorers.judge.result import JudgeResult

FP = "ab" * 32
OTHER = "cd" * 32


def test_a_judges_actors_are_named_from_its_fingerprint_and_slot():
    assert actor_name(FP, 0) == f"judge-{FP[:16]}-0"
    assert is_warm_judge(actor_name(FP, 3)) and not is_warm_judge("serve-app")


def test_matching_finds_only_the_fingerprints_actors_by_slot():
    names = [
        actor_name(FP, 10),
        actor_name(OTHER, 0),
        actor_name(FP, 2),
        "judge-x",
        f"judge-{FP[:16]}-a",
    ]
    assert names_for(FP, names) == [actor_name(FP, 2), actor_name(FP, 10)]
    assert names_for("ef" * 32, names) == []


def test_the_idle_clock_runs_from_the_end_of_the_last_call():
    clock = IdleClock(10, now=100.0)
    assert not clock.expired(now=105.0) and clock.expired(now=110.0)
    with clock.call():
        assert not clock.expired(now=1e12)  # busy: never idle
    assert not clock.expired(now=clock.last_used + 9)
    assert IdleClock(None, now=0).expired(now=1e12) is False
    with pytest.raises(ValueError, match="idle-timeout-s: 0"):
        IdleClock(0)


class FakeWarmActor:
    """A stand-in for a warm actor's handle: `.judge.remote(...)` answers at once."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.judge = self  # handle.judge.remote(...)

    def remote(self, prompts: list[str], label_set: Any) -> list[JudgeResult]:
        self.calls.append(prompts)
        return [JudgeResult((0.5, 0.5), 1.0, None) for _ in prompts]


def info(generates: bool, truncates: bool = True) -> dict[str, Any]:
    return {"generates": generates, "truncates": truncates}


def test_the_client_spreads_whole_calls_across_the_warm_actors():
    actors = [FakeWarmActor(), FakeWarmActor()]
    client = WarmJudgeClient(actors, [info(True), info(True)], get=lambda result: result)
    for n in range(4):
        assert len(client.judge([f"p{n}a", f"p{n}b"], YES_NO)) == 2
    assert Counter(len(a.calls) for a in actors) == {2: 2}
    assert all(call[0][:2] == call[1][:2] for a in actors for call in a.calls)  # whole calls


def test_the_client_offers_what_every_warm_engine_can_do():
    both = WarmJudgeClient([FakeWarmActor()], [info(True)], get=lambda r: r)
    assert hasattr(both, "generate") and hasattr(both, "truncate_texts")
    one = WarmJudgeClient(
        [FakeWarmActor(), FakeWarmActor()], [info(True), info(False, False)], get=lambda r: r
    )
    assert not hasattr(one, "generate") and not hasattr(one, "truncate_texts")
    with pytest.raises(ValueError, match="at least one warm actor"):
        WarmJudgeClient([], [], get=lambda r: r)


def warm_info(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": "models/tiny-judge",
        "fingerprint": FP,
        "node": "10.0.0.1",
        "started": 1000.0,
        "ready": 1012.5,
        "last_used": 1100.0,
        "idle_timeout_s": 600.0,
    }


def test_the_manifest_names_the_warm_actors_and_their_own_engine_start():
    record = warm_manifest({"judge": [warm_info("judge-a-0"), warm_info("judge-a-1")]})
    assert record["warm"] == {"judge": ["judge-a-0", "judge-a-1"]}
    assert record["warm_engines"]["judge-a-1"]["engine_start_s"] == 12.5
    assert warm_manifest({}) == {"warm": {}, "warm_engines": {}, "warm_fallbacks": {}}
    gone = warm_manifest({"judge": [warm_info("judge-a-0")]}, {"judge": ["idle time-out"]})
    assert gone["warm_fallbacks"] == {"judge": ["idle time-out"]}
    assert "judge 'judge' is warm: 1 actor(s) (judge-a-0)" in warm_line(
        "judge", [warm_info("judge-a-0")]
    )


def test_the_list_table_has_one_row_per_warm_actor():
    table = warm_table([warm_info("judge-a-0")])
    assert table.columns == [
        "name", "model", "fingerprint", "node", "started", "last used", "idle timeout s"
    ]  # fmt: skip
    assert table.row(0)[:3] == ("judge-a-0", "models/tiny-judge", FP[:16])
    assert warm_table([]).height == 0


def test_judges_need_a_cluster_that_outlives_the_command(monkeypatch, capsys):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["judges", "list"]) == 2
    assert "--address" in capsys.readouterr().err


def test_judges_down_needs_a_spec_or_all(monkeypatch, capsys):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert main(["judges", "down"]) == 2
    assert "SPEC or --all" in capsys.readouterr().err


def test_judges_up_refuses_a_time_out_of_zero_before_joining(monkeypatch, capsys):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert main(["judges", "up", "spec.yaml", "--idle-timeout-s", "0"]) == 2
    assert "idle-timeout-s: 0" in capsys.readouterr().err


def test_find_warm_matches_the_given_fingerprint_without_hashing_the_model(monkeypatch):
    """The run's fingerprint, worked out once by check_job, is passed in: no model files
    hashed again on the driver."""
    from pipeline.warm import registry

    def no_hashing(judge: Any) -> str:
        raise AssertionError("find_warm worked out the fingerprint again")

    names = [actor_name(FP, 0), actor_name(OTHER, 0)]
    stale = warm_info(actor_name(FP, 1)) | {"fingerprint": FP[:16] + "0" * 48}
    monkeypatch.setattr(registry, "judge_fingerprint", no_hashing)
    monkeypatch.setattr(registry, "warm_names", lambda: [*names, actor_name(FP, 1)])
    monkeypatch.setattr(
        registry,
        "infos",
        lambda asked, touch: registry.Asked([*(warm_info(n) for n in asked[:1]), stale], []),
    )
    assert [i["name"] for i in registry.find_warm(FP)] == [actor_name(FP, 0)]


class FakeInfoHandle:
    """A stand-in for a warm actor's handle whose info() answers, is busy, or has died
    (`ray.get` on it is faked too); it records the concurrency group each call asked for."""

    def __init__(self, name: str, state: str) -> None:
        self.name, self.state, self.groups, self.touched = name, state, [], False
        self.info = self

    @property
    def touch(self) -> FakeInfoHandle:
        self.touched = True
        return self

    def options(self, concurrency_group: str) -> FakeInfoHandle:
        self.groups.append(concurrency_group)
        return self

    def remote(self) -> FakeInfoHandle:
        return self


@pytest.fixture
def fake_cluster(monkeypatch) -> dict[str, FakeInfoHandle]:
    import ray

    handles = {
        actor_name(FP, 0): FakeInfoHandle(actor_name(FP, 0), "answers"),
        actor_name(FP, 1): FakeInfoHandle(actor_name(FP, 1), "busy"),
        actor_name(FP, 2): FakeInfoHandle(actor_name(FP, 2), "dead"),
    }

    def get_actor(name: str, namespace: str) -> FakeInfoHandle:
        if name not in handles:
            raise ValueError(f"Failed to look up actor with name '{name}'")
        return handles[name]

    def get(answer: FakeInfoHandle, timeout: float) -> dict[str, Any]:
        if answer.state == "busy":
            raise ray.exceptions.GetTimeoutError("Get timed out")
        if answer.state == "dead":
            raise ray.exceptions.ActorDiedError()
        return warm_info(answer.name)

    monkeypatch.setattr(ray, "get_actor", get_actor)
    monkeypatch.setattr(ray, "get", get)
    return handles


def test_info_is_asked_in_its_own_group_and_a_busy_actor_is_not_taken_for_dead(fake_cluster):
    from pipeline.warm.actor import INFO_GROUP
    from pipeline.warm.registry import infos

    asked = infos([*fake_cluster, actor_name(FP, 3)])  # the last stopped since listed
    assert [i["name"] for i in asked.answered] == [actor_name(FP, 0)]
    assert asked.not_answering == [actor_name(FP, 1)]  # alive: not left out like the dead one
    assert all(h.groups == [INFO_GROUP] for h in fake_cluster.values())
    assert not any(h.touched for h in fake_cluster.values())  # `judges list` keeps idle times


def test_a_run_starts_no_engine_beside_a_warm_actor_that_does_not_answer(fake_cluster, monkeypatch):
    from pipeline.warm import registry

    monkeypatch.setattr(registry, "warm_names", lambda: sorted(fake_cluster))
    with pytest.raises(registry.WarmJudgesNotAnswering, match=f"{actor_name(FP, 1)} .*alive"):
        registry.find_warm(FP)
    assert fake_cluster[actor_name(FP, 0)].touched  # found: its idle time starts again


def test_warm_actors_start_with_an_info_group_beside_the_judge_calls(monkeypatch):
    import ray

    from pipeline.warm import registry
    from pipeline.warm.actor import INFO_GROUP, MAX_CONCURRENT_CALLS

    options: dict[str, Any] = {}

    class FakeRemoteClass:
        def options(self, **given: Any) -> FakeRemoteClass:
            options.update(given)
            return self

        def remote(self, *args: Any) -> FakeInfoHandle:
            return FakeInfoHandle("judge-new-0", "answers")

    class FakeJudge:
        concurrency = 1

        def actor_options(self) -> dict[str, Any]:
            return {"num_gpus": 1}

    def remote(**given: Any) -> Any:
        options.update(given)
        return lambda cls: FakeRemoteClass()

    monkeypatch.setattr(ray, "remote", remote)
    monkeypatch.setattr(ray, "get", lambda answers: answers)
    monkeypatch.setattr(registry, "warm_names", lambda: [])
    monkeypatch.setattr(registry, "judge_fingerprint", lambda judge: FP)
    registry.start_warm(FakeJudge(), None)  # type: ignore[arg-type]
    assert options["max_concurrency"] == MAX_CONCURRENT_CALLS
    assert options["concurrency_groups"] == {INFO_GROUP: 1}


def test_a_closed_idle_clock_refuses_later_calls_and_touches_cleanly():
    from pipeline.warm.idle import WarmJudgeClosing

    clock = IdleClock(10, now=100.0)
    clock.touch(now=108.0)  # a run found it: the idle time starts again
    assert not clock.close_if_expired(now=115.0)
    with clock.call():
        assert not clock.close_if_expired(now=1e12)  # a call in flight is never cut off
    assert clock.close_if_expired(now=clock.last_used + 10)
    with pytest.raises(WarmJudgeClosing, match="closing"), clock.call():
        pass
    with pytest.raises(WarmJudgeClosing):
        clock.touch()
    assert not IdleClock(None).close_if_expired(now=1e12)


class GoneWarmActor(FakeWarmActor):
    """A stand-in for a warm actor that ends under the run: its calls raise Ray's error."""

    def remote(self, prompts: list[str], label_set: Any) -> list[JudgeResult]:
        import ray

        raise ray.exceptions.ActorDiedError()


class FakeOwnJudge:
    """A stand-in for the engine a thin client starts when its warm judges are gone."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def judge(self, prompts: list[str], label_set: Any) -> list[JudgeResult]:
        self.calls.append(list(prompts))
        return [JudgeResult((0.9, 0.1), 1.0, None) for _ in prompts]


def test_the_client_goes_cold_when_its_warm_actor_dies_mid_run():
    own, reasons = FakeOwnJudge(), []

    def fallback(reason: str) -> FakeOwnJudge:
        reasons.append(reason)
        return own

    client = WarmJudgeClient([GoneWarmActor()], [info(True)], lambda r: r, fallback)
    assert client.judge(["a", "b"], YES_NO)[0].probs == (0.9, 0.1)  # the call is not lost
    client.judge(["c"], YES_NO)
    assert own.calls == [["a", "b"], ["c"]] and len(reasons) == 1
    assert "gone while judging" in reasons[0]
    without = WarmJudgeClient([GoneWarmActor()], [info(True)], lambda r: r)
    with pytest.raises(Exception, match="died"):
        without.judge(["a"], YES_NO)


def test_a_closing_warm_actor_sends_the_client_cold_but_other_errors_do_not():
    import ray

    from pipeline.warm.client import is_gone
    from pipeline.warm.idle import WarmJudgeClosing

    def raised_in_actor(exc: Exception) -> Exception:  # as ray.get raises it
        wrapped: Exception = ray.exceptions.RayTaskError("judge", "", exc).as_instanceof_cause()
        return wrapped

    assert is_gone(raised_in_actor(WarmJudgeClosing("closing")))
    assert is_gone(ray.exceptions.ActorDiedError())
    assert not is_gone(raised_in_actor(RuntimeError("a scorer's bug")))


def test_connecting_to_warm_actors_gone_since_they_were_found_goes_cold(monkeypatch):
    import ray

    from pipeline.warm.client import connect

    def get_actor(name: str, namespace: str) -> Any:
        raise ValueError(f"Failed to look up actor with name '{name}'")

    monkeypatch.setattr(ray, "get_actor", get_actor)
    own = FakeOwnJudge()
    reasons: list[str] = []
    judge = connect(["judge-a-0"], lambda why: reasons.append(why) or own)  # type: ignore[func-returns-value]
    assert judge is own and "before the run connected" in reasons[0]
    with pytest.raises(ValueError, match="judge-a-0"):
        connect(["judge-a-0"])
