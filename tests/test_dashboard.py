"""The dashboard at /__mock__/ui/: its routes and the control API's polling answers in process,
then the page itself in a real headless Chromium (Debian's chromium and chromedriver, driven by
Selenium) against `mock-kling serve --clock manual`, with a screenshot of each state."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.selenium_manager import SeleniumManager
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from mock_kling.core.clock import ManualClock
from mock_kling.core.config import Config
from mock_kling.http import dashboard
from mock_kling.http.app import backend_of, create_app
from mock_kling.testing.receiver import CallbackReceiver

from .test_serve import API_KEY, Server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"  # git-ignored; see docs/dev-backend.md
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1440,1200",
)
PATH = "/kling/v1/videos/multi-image2video"
HEADERS = {"Authorization": f"Bearer {API_KEY}"}
BODY = {"image_list": [{"image": "https://example.com/a.png"}], "prompt": "two friends wave"}


# --- in process: routes and the control API's polling answers ---------------------------------
@pytest.fixture
def app() -> Any:
    return create_app(Config(seed=3, api_keys=[API_KEY]), clock=ManualClock())


def _submit(app: Any, **fields: Any) -> str:
    answer = app.test_client().post(PATH, json={**BODY, **fields}, headers=HEADERS)
    task_id: str = answer.get_json()["data"]["task_id"]
    return task_id


def test_root_redirects_to_the_page_which_loads_nothing_from_elsewhere(app: Any):
    client = app.test_client()
    root = client.get("/")
    assert (root.status_code, root.headers["Location"]) == (302, dashboard.UI)
    page = client.get(dashboard.UI)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for name in ("app.js", "app.css"):
        assert f'"{name}"' in page.get_data(as_text=True)
        assert client.get(dashboard.UI + name).status_code == 200
    missing = client.get(dashboard.UI + "secret.txt")
    assert (missing.status_code, missing.get_json()["code"]) == (404, 1203)


def test_root_stays_free_only_while_no_profile_serves_the_api_there():
    assert dashboard.root_is_free()
    assert not dashboard.root_is_free(("/v1", ""))
    assert not dashboard.root_is_free(("/",))


def test_the_page_is_hand_written_offline_and_light():
    files = [dashboard.ASSETS / name for name in sorted(dashboard.FILES)]
    assert sum(f.stat().st_size for f in files) < 150 * 1024
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?https?:""", text)
        assert not re.search(r"""(fetch|import)\(\s*["'`]https?:""", text)
        assert "innerHTML" not in text  # server text goes in through textContent only


def test_journal_without_parameters_answers_as_before(app: Any):
    _submit(app)
    client = app.test_client()
    backend = backend_of(app)
    assert client.get("/__mock__/requests").get_json() == [r.to_json() for r in backend.requests()]
    assert len(client.get("/__mock__/tasks").get_json()) == 1


def test_requests_since_a_cursor_answers_only_what_came_after(app: Any):
    client = app.test_client()
    first = client.get("/__mock__/requests?since=").get_json()
    assert first == {"items": [], "cursor": "", "restart": False}
    _submit(app)
    answer = client.get("/__mock__/requests?since=").get_json()
    assert [r["method"] for r in answer["items"]] == ["POST"]
    assert answer["cursor"] == answer["items"][0]["request_id"]
    assert not answer["restart"]
    assert client.get(f"/__mock__/requests?since={answer['cursor']}").get_json() == {
        "items": [],
        "cursor": answer["cursor"],
        "restart": False,
    }
    _submit(app)
    _submit(app)
    later = client.get(f"/__mock__/requests?since={answer['cursor']}").get_json()
    assert len(later["items"]) == 2
    assert not later["restart"]


def test_a_cursor_that_left_the_journal_or_a_cut_says_restart(app: Any):
    client = app.test_client()
    for _ in range(3):
        _submit(app)
    gone = client.get("/__mock__/requests?since=not-a-request-id").get_json()
    assert (len(gone["items"]), gone["restart"]) == (3, True)
    cut = client.get("/__mock__/requests?since=&limit=2").get_json()
    assert (len(cut["items"]), cut["restart"]) == (2, True)
    assert cut["items"][-1]["request_id"] == cut["cursor"]
    assert len(client.get("/__mock__/requests?limit=1").get_json()) == 1


@pytest.mark.parametrize("limit", ["0", "x", "-1", "100001", "1.5"])
def test_a_bad_limit_is_a_kling_error_naming_the_parameter(app: Any, limit: str):
    answer = app.test_client().get(f"/__mock__/tasks?limit={limit}")
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["code"] == 1200
    assert "limit" in body["message"]


def test_tasks_limit_gives_the_newest_page(app: Any):
    ids = [_submit(app) for _ in range(3)]
    page = app.test_client().get("/__mock__/tasks?limit=2").get_json()
    assert [view["task"]["task_id"] for view in page] == ids[::-1][:2]


def test_callbacks_filtered_by_task_and_followed_by_cursor(app: Any):
    with CallbackReceiver() as receiver:
        one = _submit(app, callback_url=receiver.url)
        _submit(app, callback_url=receiver.url)
        backend_of(app).advance(3)
        client = app.test_client()
        mine = client.get(f"/__mock__/callbacks?task_id={one}").get_json()
        assert mine
        assert {a["task_id"] for a in mine} == {one}
        followed = client.get(f"/__mock__/callbacks?task_id={one}&since=").get_json()
        assert followed["items"] == mine
        backend_of(app).advance(20)
        more = client.get(f"/__mock__/callbacks?since={followed['cursor']}").get_json()
        assert more["items"]
        assert not more["restart"]


# --- in a real browser ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    server = Server(
        "--clock", "manual", "--seed", "15", "--api-key", API_KEY, "--callback-backoff", "1"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(
            f"the dashboard tests need Debian's chromium and chromium-driver ({', '.join(missing)} "
            "missing): run scripts/check as root, or apt-get install chromium chromium-driver"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:  # Selenium Manager must never download anything
        patch.setattr(SeleniumManager, "binary_paths", _no_selenium_manager)
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _no_selenium_manager(*args: object) -> dict[str, str]:
    raise AssertionError("Selenium Manager was asked for a driver: pass chromedriver's path")


@pytest.fixture
def page(server: Server, browser: WebDriver) -> Iterator[WebDriver]:
    """The dashboard on a fresh fake, opened from the URL the banner prints; after the test the
    browser's log must hold no error."""
    assert requests.post(f"{server.url}/__mock__/reset", timeout=10).status_code == 200
    url = re.search(r"dashboard: (http://\S+)", server.banner)
    assert url is not None, server.banner
    browser.get(url.group(1))
    _wait(browser, lambda d: "live" in d.find_element(By.ID, "live").text, "the first poll")
    yield browser
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def _wait(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str, timeout=5.0) -> Any:
    """Poll the DOM until `condition` holds (bounded by `timeout` seconds)."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)
    except TimeoutException:
        _shot(driver, "timeout")
        raise AssertionError(f"the page did not show {what} within {timeout} s") from None


def _shot(driver: WebDriver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _submit_live(server: Server, **fields: Any) -> str:
    answer = requests.post(server.url + PATH, json={**BODY, **fields}, headers=HEADERS, timeout=10)
    task_id: str = answer.json()["data"]["task_id"]
    return task_id


def _row(driver: WebDriver, task_id: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#tasks tr[data-key="{task_id}"]')


def _status_is(task_id: str, status: str) -> Callable[[WebDriver], bool]:
    def shown(driver: WebDriver) -> bool:
        rows = driver.find_elements(By.CSS_SELECTOR, f'#tasks tr[data-key="{task_id}"] .badge')
        return bool(rows) and rows[0].text == status

    return shown


def _advance_on_screen(driver: WebDriver, seconds: float) -> None:
    field = driver.find_element(By.ID, "advance-seconds")
    field.clear()
    field.send_keys(str(seconds))
    driver.find_element(By.ID, "advance").click()


def _choose(driver: WebDriver, task_id: str) -> None:
    """By keyboard: the task id is a real button."""
    _row(driver, task_id).find_element(By.TAG_NAME, "button").send_keys(Keys.ENTER)
    _wait(driver, lambda d: d.find_element(By.ID, "detail-id").text == task_id, "the task's detail")


@pytest.mark.slow
def test_the_page_loads_without_console_errors(page: WebDriver):
    assert page.title == "mock-kling dashboard"
    assert page.find_element(By.ID, "clock-kind").text == "manual clock"
    assert page.find_element(By.ID, "tasks-empty").is_displayed()
    _shot(page, "1-empty")


@pytest.mark.slow
def test_a_fault_rule_added_on_screen_shows_in_the_filtered_journal(
    server: Server, page: WebDriver
):
    page.find_element(By.ID, "fault-endpoint").send_keys("create")
    page.find_element(By.ID, "fault-code").send_keys("1302")
    page.find_element(By.ID, "fault-times").send_keys("1")
    page.find_element(By.ID, "add-fault").click()
    _wait(page, lambda d: "code 1302" in d.find_element(By.ID, "fault-list").text, "the rule")
    refused = requests.post(server.url + PATH, json=BODY, headers=HEADERS, timeout=10)
    assert refused.status_code == 429
    _submit_live(server)
    Select(page.find_element(By.ID, "filter-status")).select_by_value("4")
    journal = page.find_element(By.ID, "requests")
    _wait(page, lambda d: "1302" in journal.text, "the refused request")
    assert " 200 " not in f" {journal.text} "
    _shot(page, "6-fault-and-journal")


@pytest.mark.slow
def test_a_submitted_task_appears_within_a_second_and_advance_moves_it(
    server: Server, page: WebDriver
):
    task_id = _submit_live(server, external_task_id="order-7")
    started = time.monotonic()
    _wait(page, _status_is(task_id, "submitted"), "the new task", timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert "order-7" in _row(page, task_id).text
    _shot(page, "2-submitted")
    _advance_on_screen(page, 3)
    _wait(page, _status_is(task_id, "processing"), "the task processing")
    _shot(page, "3-processing")
    _advance_on_screen(page, 10)
    _wait(page, _status_is(task_id, "succeed"), "the task succeeded")
    _choose(page, task_id)
    steps = page.find_elements(By.CSS_SELECTOR, "#timeline li.reached")
    assert [s.find_element(By.CLASS_NAME, "badge").text for s in steps] == [
        "submitted",
        "processing",
        "succeed",
    ]
    requests_shown = page.find_element(By.ID, "requests").text
    assert "POST /kling/v1/videos/multi-image2video" in requests_shown


@pytest.mark.slow
def test_a_receiver_answering_500_shows_its_failed_attempts(server: Server, page: WebDriver):
    with CallbackReceiver() as receiver:
        receiver.answer(*[500] * 20)
        task_id = _submit_live(server, callback_url=receiver.url)
        _wait(page, _status_is(task_id, "submitted"), "the new task")
        _choose(page, task_id)
        for _ in range(4):  # processing, then retries 1, 2 and 4 s later (fake time)
            _advance_on_screen(page, 4)
        _wait(
            page,
            lambda d: "failed" in _row(d, task_id).find_elements(By.TAG_NAME, "td")[6].text,
            "failed callbacks in the task's row",
        )
        table = page.find_element(By.ID, "attempts")
        _wait(page, lambda d: "500" in table.text, "an attempt answered 500")
        assert receiver.url in table.text
        assert "retrying" in table.text or "gave_up" in table.text
        _shot(page, "4-callbacks-failing")


@pytest.mark.slow
def test_force_fail_shows_failed_with_its_message(server: Server, page: WebDriver):
    task_id = _submit_live(server)
    _wait(page, _status_is(task_id, "submitted"), "the new task")
    _choose(page, task_id)
    Select(page.find_element(By.ID, "outcome-result")).select_by_value("fail")
    page.find_element(By.ID, "outcome-message").send_keys("GPU melted")
    page.find_element(By.ID, "force-outcome").click()
    _wait(page, lambda d: "re-planned" in d.find_element(By.ID, "timeline").text, "the re-plan")
    _advance_on_screen(page, 30)
    _wait(page, _status_is(task_id, "failed"), "the task failed")
    _wait(page, lambda d: "GPU melted" in d.find_element(By.ID, "detail").text, "its message")
    assert 'fail: "GPU melted"' in _row(page, task_id).text
    _shot(page, "5-forced-fail")
