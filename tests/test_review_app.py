"""`rayscore review`'s app through FastAPI's TestClient on hand-made finished runs (no judge):
the token, the samples table's paging, filters, sort and search, the sample page, labels
saved as annotation parts, the label queue and --compare."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from review_runs import QUESTIONS, N, confidence, items_of, make_run

from jobs.cli import main
from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.review_run import open_review
from jobs.storage_options_flag import parse_storage_options
from pipeline.annotations.labels import AnnotationsSpec, read_annotations
from pipeline.results import open_run

TOKEN = "secret-token"


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    make_run(tmp_path / "run")
    return tmp_path / "run"


def client_for(run_dir: Path, compare: Path | None = None, author: str = "ana") -> TestClient:
    run = open_review(str(run_dir), str(compare) if compare else None, author)
    client = TestClient(create_app(run, TOKEN))
    client.cookies.set(cookie_name(None), TOKEN)
    return client


def sample_ids(html: str) -> list[str]:
    return re.findall(r'class="sample-link" href="/samples/([^"]+)"', html)


def total(html: str) -> int:
    match = re.search(r'<span id="total">(\d+)</span>', html)
    assert match is not None
    return int(match[1])


def test_every_request_without_the_token_is_refused(run_dir):
    client = TestClient(create_app(open_review(str(run_dir), author="ana"), TOKEN))
    for path in ("/samples", "/samples/r1", "/queue", "/"):
        assert client.get(path, follow_redirects=False).status_code == 403
    post = client.post(
        "/labels", json={"sample_id": "r1", "labels": [{"name": "quality.item_0", "value": True}]}
    )
    assert post.status_code == 403
    assert not (run_dir / "annotations").exists()
    assert client.get("/samples?token=wrong").status_code == 403
    client.cookies.set(cookie_name(None), "wrong")
    assert client.get("/samples").status_code == 403
    assert client.get("/samples?token=%C3%A9t%C3%A9").status_code == 403  # not ASCII: refused


def test_each_port_has_a_cookie_of_its_own():
    assert cookie_name(8888) != cookie_name(8889)


def test_the_token_once_in_the_url_then_the_cookie_lets_requests_in(run_dir):
    client = TestClient(create_app(open_review(str(run_dir), author="ana"), TOKEN))
    first = client.get(f"/samples?token={TOKEN}")
    assert first.status_code == 200
    assert first.cookies.get(cookie_name(None)) == TOKEN
    assert client.get("/samples/r3").status_code == 200  # the cookie alone


def test_samples_are_paged(run_dir):
    client = client_for(run_dir)
    first = client.get("/samples").text
    assert total(first) == N
    assert sample_ids(first) == [f"r{n}" for n in range(50)]
    last = client.get("/samples?page=2").text
    assert sample_ids(last) == [f"r{n}" for n in range(100, N)]
    assert 'id="next"' not in last and 'id="prev"' in last


def test_samples_sort_by_score_and_filter_by_item_answer_level_error_and_group(run_dir):
    client = client_for(run_dir)
    rows = {f"r{n}": items_of(n) for n in range(N)}
    ranked = client.get("/samples?sort=quality&desc=1").text
    best = max(
        (
            sum(i["answer"] == "yes" for i in v) / sum(i["answer"] is not None for i in v),
            -int(k[1:]),
        )
        for k, v in rows.items()
    )
    first = sample_ids(ranked)[0]
    scored = [i for i in rows[first] if i["answer"] is not None]
    assert sum(i["answer"] == "yes" for i in scored) / len(scored) == best[0]

    says_no = {k for k, v in rows.items() if v[1]["answer"] == "no"}
    assert total(client.get("/samples?item=1&answer=no").text) == len(says_no)
    assert total(client.get("/samples?answer=none").text) == 1  # r5's unscored item
    assert total(client.get("/samples?level=yes_90").text) == sum(
        any(i["answer"] == "yes" for i in v) for v in rows.values()
    )
    with_error = client.get("/samples?error=with").text
    assert sample_ids(with_error) == ["r5"]
    assert total(client.get("/samples?error=without").text) == N - 1
    assert total(client.get("/samples?group=model&group_value=m2").text) == N // 2
    low = client.get("/samples?score_max=0.34&sort=quality").text
    assert total(low) == sum(
        sum(i["answer"] == "yes" for i in v) / sum(i["answer"] is not None for i in v) <= 0.34
        for v in rows.values()
    )


def test_search_finds_text_in_the_inputs_the_scorers_read(run_dir):
    client = client_for(run_dir)
    assert sample_ids(client.get("/samples?q=rare+WORD").text) == ["r42"]
    assert sample_ids(client.get("/samples?q=m2&group=model&group_value=m2").text)[:2] == [
        "r1",
        "r3",
    ]


def test_a_bad_query_is_answered_400_naming_the_parameter(run_dir):
    client = client_for(run_dir)
    assert "sort: no column 'nope'" in client.get("/samples?sort=nope").text
    assert client.get("/samples?score_min=high").status_code == 400
    assert "changed:" in client.get("/samples?changed=1").text


def test_the_sample_page_shows_each_item_with_its_confidence_and_points_lost(run_dir):
    page = client_for(run_dir).get("/samples/r1").text
    assert "prompt 1" in page and "response 1" in page
    for question in QUESTIONS:
        assert question in page
    assert f"{confidence(1, 0):.3f}" in page
    # r1's items: 0.07 no, 0.20 no, 0.33 no: each costs a third of the (equal) weight
    assert page.count("33.3%") == 3
    assert "quality: judge timed out" not in page
    assert "quality: judge timed out" in client_for(run_dir).get("/samples/r5").text
    assert client_for(run_dir).get("/samples/nope").status_code == 404


def test_a_posted_label_is_an_annotation_part_the_next_run_reads(run_dir):
    client = client_for(run_dir)
    answer = client.post(
        "/labels",
        json={
            "sample_id": "r7",
            "labels": [
                {"name": "quality.item_0", "value": True},
                {"name": "quality.overall", "value": False},
            ],
            "comment": "misses the point",
        },
    )
    assert answer.status_code == 200, answer.text
    assert len(list((run_dir / "annotations").glob("label-*.parquet"))) == 1
    labels = read_annotations(AnnotationsSpec(path=str(run_dir / "annotations")), "id", [], None)
    assert labels.select("sample_id", "name", "human", "author", "comment").rows() == [
        ("r7", "quality.item_0", "true", "ana", "misses the point"),
        ("r7", "quality.overall", "false", "ana", "misses the point"),
    ]
    records = pl.read_parquet(run_dir / "annotations" / "*.parquet")
    assert records.select("source", "data_type", "value").rows() == [
        ("ANNOTATION", "BOOLEAN", 1.0),
        ("ANNOTATION", "BOOLEAN", 0.0),
    ]
    page = client.get("/samples/r7").text
    assert 'class="item label-yes"' in page and "misses the point" in page


def test_a_label_naming_no_score_of_the_sample_is_refused(run_dir):
    client = client_for(run_dir)
    bad = client.post(
        "/labels", json={"sample_id": "r7", "labels": [{"name": "quality.item_9", "value": True}]}
    )
    assert bad.status_code == 400 and "quality.item_9" in bad.text
    missing = client.post(
        "/labels", json={"sample_id": "zz", "labels": [{"name": "quality.item_0", "value": True}]}
    )
    assert missing.status_code == 404
    assert not (run_dir / "annotations").exists()


def test_the_queue_puts_uncertain_items_first_and_drops_what_was_labelled(run_dir):
    client = client_for(run_dir)
    first = client.get("/queue").text
    match = re.search(r'data-sample="([^"]+)" data-name="([^"]+)"', first)
    assert match is not None
    sample, name = match[1], match[2]
    index = int(name.rsplit("_", 1)[1])
    assert abs(confidence(int(sample[1:]), index) - 0.5) == min(
        abs(confidence(n, i) - 0.5) for n in range(N) for i in range(3)
    )
    assert "uncertain" in first
    client.post("/labels", json={"sample_id": sample, "labels": [{"name": name, "value": True}]})
    after = client.get("/queue").text
    assert f'data-sample="{sample}" data-name="{name}"' not in after
    other = client_for(run_dir, author="ben").get("/queue").text
    assert f'data-sample="{sample}" data-name="{name}"' in other  # ben has not labelled it


def test_the_queue_spreads_over_confidence_bins_after_the_uncertain_items(run_dir):
    from jobs.review.label_queue import label_queue

    entries = label_queue(open_review(str(run_dir), author="ana"), size=30)
    uncertain = [e for e in entries if e.why == "uncertain"]
    spread = [e for e in entries if e.why != "uncertain"]
    assert len(uncertain) == 3 and len(spread) == 27  # a tenth uncertain
    assert max(abs(e.confidence - 0.5) for e in uncertain) <= min(
        abs(e.confidence - 0.5) for e in spread
    )
    assert len({int(e.confidence * 10) for e in spread}) >= 8


def test_compare_marks_and_filters_the_samples_that_changed(tmp_path, run_dir):
    before = Path(make_run(tmp_path / "before", flip_rows=frozenset({3, 8})))
    client = client_for(run_dir, compare=before)
    changed = client.get("/samples?changed=1").text
    assert sample_ids(changed) == ["r3", "r8"]
    assert "RUN2" in client.get("/samples/r3").text


def test_compare_pairs_items_on_their_question_not_their_index(tmp_path, run_dir):
    before = Path(make_run(tmp_path / "before", flip_rows=frozenset({3}), reordered=True))
    client = client_for(run_dir, compare=before)
    assert sample_ids(client.get("/samples?changed=1").text) == ["r3"]


def test_storage_options_are_json_or_a_file_holding_it(tmp_path):
    assert parse_storage_options('{"anon": true}') == {"anon": True}
    (tmp_path / "o.json").write_text('{"endpoint_url": "http://x"}')
    assert parse_storage_options(str(tmp_path / "o.json")) == {"endpoint_url": "http://x"}
    with pytest.raises(ValueError, match="--storage-options"):
        parse_storage_options("{nope")


def test_review_of_a_folder_that_is_no_finished_run_is_a_clear_error(tmp_path, capsys):
    assert main(["review", str(tmp_path)]) == 2
    assert "no finished run" in capsys.readouterr().err


def links_under(html: str, title: str) -> list[str]:
    block = html.split(f"<h3>{title}</h3>", 1)[1].split("<h3>", 1)[0]
    return [
        link.replace("&amp;", "&")
        for link in re.findall(r'class="samples-behind" href="([^"]+)"', block)
    ]


def test_the_overview_plots_link_to_the_samples_behind_a_bar_or_bin(run_dir):
    client = client_for(run_dir)
    page = client.get("/overview").text
    assert page.count("<svg") == 2  # the score histogram and the pass-rate bars: no labels yet
    rows = {f"r{n}": items_of(n) for n in range(N)}
    costly = links_under(page, "Items that lose the most points")
    assert len(costly) == len(QUESTIONS)
    for link in costly:
        index = int(re.search(r"item=(\d)", link)[1])  # type: ignore[index]
        says_no = sum(v[index]["answer"] == "no" for v in rows.values())
        assert total(client.get(link).text) == says_no
    histogram = links_under(page, "quality: primary score")
    assert histogram and sum(total(client.get(link).text) for link in histogram) >= N


def test_the_overview_shows_the_reliability_of_the_labels_given_in_review(run_dir):
    client = client_for(run_dir)
    for n in range(20):
        client.post(
            "/labels",
            json={
                "sample_id": f"r{n}",
                "labels": [{"name": "quality.item_0", "value": n % 2 == 0}],
            },
        )
    page = client.get("/overview").text
    assert "review labels" in page and page.count("<svg") == 3
    for link in links_under(page, "Reliability"):
        low = float(re.search(r"confidence_min=([0-9.]+)", link)[1])  # type: ignore[index]
        high = float(re.search(r"confidence_max=([0-9.]+)", link)[1])  # type: ignore[index]
        inside = sum(
            any(low <= confidence(n, i) < high or confidence(n, i) == high == 1.0 for i in range(3))
            for n in range(N)
        )
        assert total(client.get(link).text) == inside


def test_a_boolean_scorer_is_a_score_in_the_table_and_its_filter(tmp_path):
    from finished_runs import item, write_finished_run

    answers = {f"r{n}": [item(0, QUESTIONS[0], "yes", 0.9)] for n in range(4)}
    verdicts = [{"value": v, "confidence": 0.9} for v in (True, False, True, False)]
    run = write_finished_run(
        tmp_path / "bool", answers, other_scorers={"correct": ("boolean", verdicts)}
    )
    client = client_for(Path(run))
    assert sample_ids(client.get("/samples?scorer=correct&score_min=1").text) == ["r0", "r2"]


def test_reviewers_sharing_a_server_each_label_under_their_own_name(run_dir):
    client = client_for(run_dir, author="ana")
    assert client.get("/samples?author=ben").status_code == 200  # ben's browser, from now on
    saved = client.post(
        "/labels", json={"sample_id": "r1", "labels": [{"name": "quality.item_0", "value": True}]}
    )
    assert saved.status_code == 200
    other = client_for(run_dir, author="ana")  # another browser: the server's --author
    other.post(
        "/labels", json={"sample_id": "r1", "labels": [{"name": "quality.item_0", "value": False}]}
    )
    labels = read_annotations(AnnotationsSpec(path=str(run_dir / "annotations")), "id", [], None)
    assert sorted(zip(labels["author"], labels["human"], strict=True)) == [
        ("ana", "false"),
        ("ben", "true"),
    ]


def test_pages_warn_when_the_input_changed_since_the_run(run_dir):
    client = client_for(run_dir)
    assert "changed since this run" not in client.get("/samples/r1").text
    with open(run_dir / "in.parquet", "ab") as grown:
        grown.write(b"edited since")
    warned = client_for(run_dir).get("/samples/r1").text
    assert "changed since this run (1 of 1 files gone or of another size)" in warned


def test_labels_given_since_the_run_are_in_its_score_records_the_latest_per_reviewer(run_dir):
    client = client_for(run_dir)
    for value in (True, False):
        client.post(
            "/labels",
            json={"sample_id": "r3", "labels": [{"name": "quality.item_1", "value": value}]},
        )
    client_for(run_dir, author="ben").post(
        "/labels", json={"sample_id": "r3", "labels": [{"name": "quality.item_1", "value": True}]}
    )
    records = open_run(str(run_dir)).scores_long.filter(pl.col("source") == "ANNOTATION")
    assert sorted(records.select("author", "sample_id", "name", "value").collect().rows()) == [
        ("ana", "r3", "quality.item_1", 0.0),
        ("ben", "r3", "quality.item_1", 1.0),
    ]


def test_the_queue_page_offers_the_command_that_recalibrates_on_the_labels(run_dir):
    client = client_for(run_dir)
    assert 'id="next-run"' not in client.get("/queue").text  # no label yet
    client.post(
        "/labels", json={"sample_id": "r1", "labels": [{"name": "quality.item_0", "value": True}]}
    )
    page = client.get("/queue").text
    command = re.search(r'id="next-run-command">([^<]+)<', page)
    assert command is not None
    words = shlex.split(command[1].replace("&#39;", "'"))
    assert words[:2] == ["rayscore", "run"]
    flags = dict(zip(words[3::2], words[4::2], strict=True))
    assert flags == {
        "--annotations": str(run_dir / "annotations"),
        "--from": str(run_dir),
        "--output": f"{run_dir}-relabelled",
    }


def test_the_report_of_a_labelled_run_counts_its_review_labels_by_author(run_dir):
    from jobs.report_data import collect_report

    assert collect_report(str(run_dir)).labels is None
    for author, sample in (("ana", "r1"), ("ana", "r2"), ("ben", "r1")):
        client_for(run_dir, author=author).post(
            "/labels",
            json={"sample_id": sample, "labels": [{"name": "quality.item_0", "value": True}]},
        )
    labels = collect_report(str(run_dir)).labels
    assert labels is not None
    assert labels.select("author", "labels", "samples").rows() == [("ana", 2, 2), ("ben", 1, 1)]
