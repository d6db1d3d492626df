"""Record -> calibrate -> serve --calibration, replay and drift, against an upstream that is
another fake (other timings and failure messages) behind a recording proxy."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mock_kling.assemble import build_backend
from mock_kling.cli import main
from mock_kling.core.calibration import Calibration
from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.core.tasks import FAILED
from mock_kling.http.app import create_app
from mock_kling.record.calibrate import calibrate
from mock_kling.record.cassette import CALLBACK_HEADER, MASK, Cassette
from mock_kling.record.drift import drift
from mock_kling.record.fakerun import submitted_and_processing
from mock_kling.record.ks import ks_2samp
from mock_kling.record.replay import Replay
from mock_kling.testing.receiver import CallbackReceiver

from .record_harness import MESSAGES, PLAN, ROUTE, record_session, rig


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One recorded session (with callbacks) as a cassette file."""
    tmp = tmp_path_factory.mktemp("record")
    with CallbackReceiver() as receiver, rig(tmp) as r:
        record_session(r, receiver.url)
        receiver.wait_for(6, timeout=10)  # submitted, processing and the end, of two tasks
        assert len(r.cassette.interactions) >= 30
    return tmp / "kling.yaml"


def test_the_cassette_is_vcr_yaml_with_secrets_masked_and_images_described(recorded: Path) -> None:
    import yaml

    data = yaml.safe_load(recorded.read_text())
    assert data["version"] == 1
    first = data["interactions"][0]
    assert set(first["request"]) == {"method", "uri", "body", "headers"}  # VCR's Request(**dct)
    assert first["response"]["status"]["code"] == 200
    assert isinstance(first["response"]["body"]["string"], str)
    assert first["request"]["headers"]["authorization"] == [MASK]
    assert "<base64 png 400x400, " in first["request"]["body"]
    assert "iVBOR" not in recorded.read_text()
    assert isinstance(first["recorded_at_ms"], int)


def test_callbacks_are_recorded_marked_and_forwarded(recorded: Path) -> None:
    cassette = Cassette.load(recorded)
    callbacks = [i for i in cassette.interactions if i.is_callback]
    assert len(callbacks) == 6
    assert all(i.request_headers[CALLBACK_HEADER] == "1" for i in callbacks)
    assert all(i.uri.endswith("/callback") and i.status == 200 for i in callbacks)
    created = [i.request_json() for i in cassette.interactions if i.method == "POST"]
    assert created[1]["callback_url"].endswith("/callback")  # the client's URL, not the proxy's


def test_calibration_reads_timings_failures_and_open_questions(recorded: Path) -> None:
    result = calibrate(Cassette.load(recorded).interactions)
    every = result["timings"]["*"]
    assert sorted(every["processing_seconds"]) == sorted(p for _, p, _ in PLAN)
    assert every["median_submitted_seconds"] == 3.0
    assert set(result["timings"]) == {"*", "std/5"}
    assert result["failure_rate"] == 0.25
    assert set(result["failure_messages"]) == set(MESSAGES)
    questions = result["questions"]
    assert questions["q1_unknown_id"]["http_status"] == 404
    assert questions["q1_unknown_id"]["code"] == 1203
    assert questions["q14_list_order"] == "newest first"
    assert "q3_duplicate_external_id" in questions
    assert "data.task_id" in result["fields"]["create 200"]


def test_a_calibrated_fake_reproduces_the_upstream_medians_and_messages(recorded: Path) -> None:
    calibration = Calibration.from_json(calibrate(Cassette.load(recorded).interactions))
    backend = build_backend(Config(seed=3, api_keys=["k"], calibration=calibration), ManualClock())
    client = create_app(backend=backend).test_client()
    body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "wave"}
    for _ in range(200):
        client.post(ROUTE, json=body, headers={"Authorization": "Bearer k"})
    tasks = backend.all_tasks()
    timings = [submitted_and_processing(task) for task in tasks]
    upstream_processing = statistics.median(p for _, p, _ in PLAN)
    assert statistics.median(s for s, _ in timings) == pytest.approx(3.0, rel=0.1)
    assert statistics.median(p for _, p in timings) == pytest.approx(upstream_processing, rel=0.1)
    ends = [task.timeline[-1] for task in tasks]
    failed = [step.status_msg for step in ends if step.status == FAILED]
    assert set(failed) == set(MESSAGES)
    assert 0.15 < len(failed) / len(tasks) < 0.35
    backend.close()


def test_the_cli_and_the_marker_read_a_calibration_file(recorded: Path, tmp_path: Path) -> None:
    from mock_kling.testing.plugin import _config

    out = tmp_path / "calibration.json"
    result = CliRunner().invoke(main, ["calibrate", str(recorded), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _config({"calibration": str(out)}).calibration == Calibration.from_json(
        json.loads(out.read_text())
    )


def test_replay_answers_the_recorded_exchanges_in_order(recorded: Path) -> None:
    interactions = [i for i in Cassette.load(recorded).interactions if not i.is_callback]
    client = _client(Replay(interactions))
    for item in interactions:
        path = item.uri.split("/", 3)[3]
        answer = client.open("/" + path, method=item.method, data=item.request_body or "")
        assert (answer.status_code, answer.get_data(as_text=True)) == (
            item.status,
            item.response_body,
        )


def test_replay_names_the_nearest_recorded_request_on_a_miss(recorded: Path) -> None:
    client = _client(Replay(Cassette.load(recorded).interactions))
    answer = client.get(ROUTE + "/no-such-tusk")
    assert answer.status_code == 404
    body = answer.get_json()
    assert body["code"] == 1203
    assert body["request_id"]
    assert f"nearest recorded request: GET {ROUTE}/no-such-task" in body["message"]


def test_drift_names_each_planted_difference(tmp_path: Path) -> None:
    with rig(tmp_path, drift=True) as r:
        record_session(r, "")
        interactions = r.cassette.interactions
    report = drift(interactions, Config(seed=0))
    text = "\n".join(report.differences)
    assert report.text().startswith(f"{len(report.differences)} differences")
    assert (
        "field request_id (create 200): in the fake's answers, missing from the recording" in text
    )
    assert "field task.task_status_message (task succeed): in the recording, not in" in text
    unknown = f"GET {ROUTE}/no-such-task: the recording has HTTP 400 code 1203, the fake answers"
    assert unknown + " HTTP 404 code 1203" in text
    contract = "contract create_response: at the body: 'request_id' is a required property (20 "
    assert contract in text
    median = statistics.median(p for _, p, _ in PLAN)
    assert f"timing processing: median {median} s recorded (n=20), 8.0 s in the fake" in text


def test_drift_of_a_faithful_upstream_against_its_calibration_is_clean(
    recorded: Path, tmp_path: Path
) -> None:
    calibration = tmp_path / "c.json"
    calibration.write_text(json.dumps(calibrate(Cassette.load(recorded).interactions)))
    args = ["drift", str(recorded), "--calibration", str(calibration)]
    result = CliRunner().invoke(main, args)
    assert result.output.startswith("0 differences"), result.output
    assert result.exit_code == 0


def test_ks_statistic_and_p_value() -> None:
    same = ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (same.statistic, same.p_value) == (0.0, 1.0)
    apart = ks_2samp([3.0] * 10, [2.0] * 10)
    assert apart.statistic == 1.0
    assert apart.p_value < 1e-4  # scipy's exact p-value is 1.1e-5


def _client(app: Replay):  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    return Client(app)


@pytest.mark.slow  # two server processes
def test_serve_with_a_calibration_and_serve_replay(recorded: Path, tmp_path: Path) -> None:
    import requests

    from .test_serve import MOCK_KLING, Server

    calibration = tmp_path / "calibration.json"
    calibration.write_text(json.dumps(calibrate(Cassette.load(recorded).interactions)))
    server = Server("--calibration", str(calibration), "--api-key", "k", "--seed", "2")
    try:
        body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "wave"}
        for _ in range(40):
            requests.post(
                server.url + ROUTE, json=body, headers={"Authorization": "Bearer k"}, timeout=10
            )
        views = requests.get(server.url + "/__mock__/tasks", timeout=10).json()
    finally:
        server.stop()
    processing = [(v["timeline"][2]["at_ms"] - v["timeline"][1]["at_ms"]) / 1000 for v in views]
    upstream = statistics.median(p for _, p, _ in PLAN)
    assert statistics.median(processing) == pytest.approx(upstream, rel=0.1)
    assert {v["timeline"][-1]["status_msg"] for v in views} - {""} <= set(MESSAGES)

    replay = subprocess.Popen(
        [*MOCK_KLING, "serve", "--replay", str(recorded), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert replay.stdout is not None
        url = replay.stdout.readline().split(" on ")[-1].strip()
        first = Cassette.load(recorded).interactions[0]
        answer = requests.post(url + ROUTE, data=first.request_body, timeout=10)
        assert answer.text == first.response_body
        miss = requests.get(url + ROUTE + "/nope", timeout=10)
        assert (miss.status_code, miss.json()["code"]) == (404, 1203)
    finally:
        replay.terminate()
        replay.wait(timeout=10)
        if replay.stdout is not None:
            replay.stdout.close()
