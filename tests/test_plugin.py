"""The pytest plugin, exercised as users do: example test files run by `pytester`, the examples
of the README and of the docs' plugin page among them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_SECTION = (ROOT / "README.md").read_text(encoding="utf-8") + (
    ROOT / "docs" / "pytest-plugin.md"
).read_text(encoding="utf-8")
EXAMPLES = dict(re.findall(r"```python\n# (test_\w+\.py)\n(.*?)```", PLUGIN_SECTION, flags=re.S))
# Each test marked slow runs pytest in a subprocess: 2 to 7 seconds.


def test_readme_has_the_examples():
    assert set(EXAMPLES) == {
        "test_checkout.py",
        "test_lifecycle.py",
        "test_failures.py",
        "test_inprocess.py",
        "test_retry.py",
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example_passes(pytester: pytest.Pytester, name: str):
    pytester.makepyfile(**{name.removesuffix(".py"): EXAMPLES[name]})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=EXAMPLES[name].count("\ndef test_"))


@pytest.mark.slow
def test_each_test_gets_a_fresh_fake(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import requests

        BODY = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}

        def test_one(kling_fake):
            requests.post(kling_fake.api_url, json=BODY, headers=kling_fake.headers())
            kling_fake.add_fault(code=5000)
            kling_fake.advance(100)
            assert len(kling_fake.tasks) == 1

        def test_two(kling_fake):
            assert kling_fake.tasks == [] and kling_fake.requests == []
            answer = requests.post(kling_fake.api_url, json=BODY, headers=kling_fake.headers())
            assert answer.status_code == 200
            assert answer.json()["data"]["created_at"] == kling_fake.now_ms()
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.slow
def test_same_seed_same_ids_across_tests(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest, requests

        BODY = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}
        SEEN = []

        @pytest.mark.parametrize("run", [1, 2])
        @pytest.mark.kling(seed=42)
        def test_ids(kling_fake, run):
            answer = requests.post(kling_fake.api_url, json=BODY, headers=kling_fake.headers())
            SEEN.append(answer.json()["data"]["task_id"])
            if run == 2:
                assert SEEN[0] == SEEN[1]
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.slow
def test_options_fixture_can_be_overridden(pytester: pytest.Pytester):
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def kling_options():
            return {"outcome": "stuck", "api_keys": ["sk-team"]}
        """
    )
    pytester.makepyfile(
        """
        import requests

        def test_stuck_with_team_key(kling_fake):
            assert kling_fake.api_key == "sk-team"
            body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "p"}
            url = kling_fake.reseller_url + "/v1/videos/multi-image2video"
            task_id = requests.post(url, json=body, headers=kling_fake.headers(api_key=True)).json()["data"]["task_id"]
            kling_fake.run_until_settled()
            assert kling_fake.task(task_id).step_at(kling_fake.now_ms()).status == "processing"
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
def test_receiver_can_fail_and_hang(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest, requests

        @pytest.mark.kling(callback_timeout_seconds=0.2, callback_attempts=3)
        def test_retries(kling_fake, kling_receiver):
            kling_receiver.answer(500, 0)  # a 500, then a hang past the timeout, then 200
            body = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "mock:stuck",
                    "callback_url": kling_receiver.url}
            task_id = requests.post(kling_fake.api_url, json=body, headers=kling_fake.headers()).json()["data"]["task_id"]
            kling_fake.advance(10)
            attempts = [(a.status, a.attempt, a.result) for a in kling_fake.callbacks]
            assert attempts[:3] == [("submitted", 1, "retrying"), ("submitted", 2, "retrying"),
                                    ("submitted", 3, "delivered")]
            assert kling_fake.callbacks[1].error == "timeout"
            kling_fake.wait_for_callback(task_id, "processing")
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
def test_an_error_inside_the_fake_fails_the_test(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import requests

        def test_breaks_the_fake(kling_fake, monkeypatch):
            def explode(*args):
                raise ZeroDivisionError("deep inside")
            monkeypatch.setattr(kling_fake.backend, "list_tasks", explode)
            answer = requests.get(kling_fake.api_url, headers=kling_fake.headers())
            assert answer.json()["code"] == 5000  # the client sees Kling's 500 ...
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)  # ... and the test fails at teardown
    result.stdout.fnmatch_lines(
        ["*the fake raised inside the server: ZeroDivisionError('deep inside')*"]
    )


@pytest.mark.slow
def test_bad_marker_option_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kling(speed=3)
        def test_x(kling_fake):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*@pytest.mark.kling:*speed*"])


@pytest.mark.slow
def test_in_process_drop_fault_is_a_connection_error(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest, requests

        def test_drop(kling_inprocess):
            session = kling_inprocess.requests_session()
            kling_inprocess.add_fault(drop=True, times=1)
            with pytest.raises(requests.exceptions.ConnectionError):
                session.get(kling_inprocess.api_url, headers=kling_inprocess.headers())
            assert session.get(kling_inprocess.api_url, headers=kling_inprocess.headers()).ok
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
def test_works_under_xdist(pytester: pytest.Pytester):
    tests = "\n".join(
        f"""
def test_{n}(kling_fake):
    body = {{"image_list": [{{"image": "https://example.com/a.png"}}], "prompt": "p", "external_task_id": "same"}}
    assert requests.post(kling_fake.api_url, json=body, headers=kling_fake.headers()).status_code == 200
    kling_fake.advance(10)
    assert len(kling_fake.tasks) == 1
"""
        for n in range(8)
    )
    pytester.makepyfile("import requests\n" + tests)
    result = pytester.runpytest_subprocess("-p", "xdist", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)


@pytest.mark.slow
def test_profile_marker_and_back(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest, requests

        IMAGES = [{"image": "https://example.com/a.png"}]

        @pytest.mark.kling(profile="newapi")
        def test_newapi(kling_fake):
            assert kling_fake.api_url.endswith("/kling/v1/videos/multi-image2video")
            answer = requests.post(kling_fake.api_url, json={"image_list": IMAGES, "prompt": "p", "model": "kling-v1-6"},
                                   headers=kling_fake.headers())
            assert set(answer.json()["data"]) == {"task_id", "task_status"}
            refused = requests.post(kling_fake.api_url, json={"image_list": IMAGES, "prompt": "p"},
                                    headers=kling_fake.headers())
            assert refused.json()["message"] == "model or model_name is required"

        def test_official_again(kling_fake):
            assert kling_fake.api_url.endswith("/v1/videos/multi-image2video")
            answer = requests.post(kling_fake.api_url, json={"image_list": IMAGES, "prompt": "p"},
                                   headers=kling_fake.headers())
            assert answer.json()["data"]["task_info"] == {}
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
