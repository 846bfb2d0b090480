"""Browser preview for real: a live run served on loopback, read over HTTP and in headless Chromium."""
from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import decode_video
from rtstyle.controls import LiveControls
from rtstyle.errors import SinkError
from rtstyle.live import LivePipeline
from rtstyle.painter import Painter
from rtstyle.preview import PreviewServer, is_loopback, parse_address
from rtstyle.sources import PacedSource

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def live(data: Path, two_styles: dict[str, Path]) -> Iterator[tuple[PreviewServer, LiveControls, Painter]]:
    """A looping clip painted live and served on a free loopback port, stopped afterwards."""
    controls = LiveControls(list(two_styles))
    stylers = Painter(two_styles, threads=1)
    server = PreviewServer("127.0.0.1", 0, controls)
    pipe = LivePipeline(PacedSource(data / "walk_tone.mp4", loop=True), stylers, controls, [server])
    thread = threading.Thread(target=pipe.run, kwargs={"duration": 120}, daemon=True)
    thread.start()
    yield server, controls, stylers
    controls.quit()
    thread.join(timeout=10)
    assert not thread.is_alive()


def get(url: str, timeout: float = 10) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def nearest_style(jpeg: bytes, index: int, data: Path, stylers: Painter) -> str:
    """Which style (or 'original') a served frame is closest to, frame index from the server."""
    frame = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    source = decode_video(data / "walk_tone.mp4")[index % 30]
    candidates = {"original": source, **{name: stylers.stylizer(name)(source) for name in ("tiny", "other")}}
    diffs = {name: np.abs(frame.astype(int) - img.astype(int)).mean() for name, img in candidates.items()}
    return min(diffs, key=diffs.get)


def test_address_parsing_and_loopback():
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address(":9000") == ("127.0.0.1", 9000)
    assert parse_address("[::1]:8080") == ("::1", 8080)
    with pytest.raises(SinkError, match="HOST:PORT"):
        parse_address("8080x")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("192.0.2.1") and not is_loopback("0.0.0.0")


def test_endpoints_serve_stylized_frames_and_share_the_controls(live, data: Path):
    server, controls, stylers = live
    status, headers, body = get(server.url + "frame.jpg")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and headers["X-Style"] == "tiny"
    assert nearest_style(body, int(headers["X-Frame-Index"]), data, stylers) == "tiny"

    status, state = post(server.url + "control", b'{"action": "next_style"}')
    assert status == 200 and state["style"] == "other" and controls.state().style == "other"
    assert post(server.url + "control", b'{"action": "strength", "value": 0.25}')[1]["strength"] == 0.25
    assert post(server.url + "control", b'{"action": "nope"}')[0] == 400
    assert post(server.url + "control", b"action=quit", "application/x-www-form-urlencoded")[0] == 415
    assert not controls.quitting, "a form post (what another web page could send) must not act"
    assert get(server.url + "missing")[0] == 404

    state = json.loads(get(server.url + "state")[2])
    assert state["keys"]["n"] == "next_style" and state["styles"] == ["tiny", "other"]
    assert {"fps", "latency_p50_ms", "dropped", "hud_lines", "frame_style"} <= state.keys()


def test_mjpeg_stream_delivers_successive_frames(live):
    server, _, _ = live
    with urllib.request.urlopen(server.url + "stream.mjpg", timeout=10) as r:
        assert r.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
        images = []
        while len(images) < 3:
            assert r.readline() == b"--frame\r\n"
            headers = {}
            while (line := r.readline().strip()):
                k, v = line.decode().split(": ", 1)
                headers[k] = v
            images.append(r.read(int(headers["Content-Length"])))
            assert r.readline() == b"\r\n"
    decoded = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in images]
    assert all(d is not None and d.shape == (240, 320, 3) for d in decoded)
    assert len({bytes(b) for b in images}) == 3, "each part is a new frame"


def _chromium(tmp_path: Path):
    """Headless Chromium from the system packages (installed by .ci/run), without Selenium Manager."""
    driver_path = shutil.which("chromedriver")
    if not (CHROMIUM.is_file() and driver_path):
        if os.environ.get("CI"):
            pytest.fail("CI must have chromium and chromium-driver (see .ci/run)")
        pytest.skip("chromium / chromium-driver not installed")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,720", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver_path))


def test_page_in_headless_chromium_shows_the_stream_and_its_controls_work(live, data: Path, tmp_path: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, controls, stylers = live
    browser = _chromium(tmp_path)
    try:
        browser.get(server.url)
        wait = WebDriverWait(browser, 30)
        wait.until(lambda b: b.execute_script("return document.getElementById('view').naturalWidth") == 320)
        wait.until(lambda b: "tiny" in b.find_element(By.ID, "hud").text)
        assert browser.find_element(By.ID, "style").get_attribute("value") == "tiny"

        browser.find_element(By.CSS_SELECTOR, "button[data-action=next_style]").click()
        wait.until(lambda b: b.find_element(By.ID, "hud").text.startswith("other"))  # frames painted by it are shown
        assert controls.state().style == "other"
        _, headers, body = get(server.url + "frame.jpg")
        assert headers["X-Style"] == "other"
        assert nearest_style(body, int(headers["X-Frame-Index"]), data, stylers) == "other"

        browser.find_element(By.TAG_NAME, "body").send_keys("-----")  # the window's hotkey, on the page
        wait.until(lambda b: b.find_element(By.ID, "strength_value").text == "0.50")
        assert controls.state().strength == 0.5
        wait.until(lambda b: "strength 0.5" in b.find_element(By.ID, "hud").text)  # half style, half camera

        browser.save_screenshot(str(tmp_path / "live_preview.png"))
        if os.environ.get("RTSTYLE_SCREENSHOT_DIR"):  # how the docs screenshot is made
            shutil.copy(tmp_path / "live_preview.png", Path(os.environ["RTSTYLE_SCREENSHOT_DIR"]) / "live_preview.png")
        shot = cv2.imread(str(tmp_path / "live_preview.png"))
        assert shot is not None and shot.shape[1] >= 1000

        browser.find_element(By.CSS_SELECTOR, "button[data-action=toggle_mirror]").click()
        wait.until(lambda b: "mirrored" in b.find_element(By.ID, "hud").text)
        assert controls.state().mirror
        assert "on" in browser.find_element(By.CSS_SELECTOR, "button[data-flag=mirror]").get_attribute("class")
        browser.find_element(By.CSS_SELECTOR, "button[data-action=toggle_painting]").click()
        wait.until(lambda b: "PAINTING OFF" in b.find_element(By.ID, "hud").text)
        assert not controls.state().painting
    finally:
        browser.quit()
