"""Headless Chromium driven over the Chrome DevTools protocol, for the playground page tests.

Only the standard library and `websockets` (which uvicorn[standard] brings) are used: the
browser is Debian's `chromium` package, which scripts/test.sh installs when run as root.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often mount a tiny /dev/shm
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    """The Chromium executable on PATH, if any."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Page:
    """One browser tab: navigate, type, click, read and take screenshots."""

    def __init__(self, socket: ClientConnection, session: str) -> None:
        self._socket = socket
        self._session = session
        self._next_id = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command in this tab and return its result."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        self._socket.send(json.dumps({**message, "sessionId": self._session}))
        while True:
            reply = json.loads(self._socket.recv(timeout=30))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError(f"{method} failed: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0) -> Any:
        """Poll `expression` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching `selector`."""
        x, y = self.wait_for(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e || e.disabled) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];"
            " })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type(self, selector: str, text: str) -> None:
        """Click into `selector` and type `text` as keyboard input."""
        self.click(selector)
        self.send("Input.insertText", text=text)

    def screenshot(self, path: Path, width: int, height: int, *, mobile: bool = False) -> Path:
        """A PNG of the page at a window of `width` x `height` CSS pixels."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=2 if mobile else 1,
            mobile=mobile,
        )
        self.evaluate(
            "window.scrollTo(0, 0); new Promise((done) => requestAnimationFrame(() => done(true)))"
        )
        shot = self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@contextmanager
def chromium_page(executable: str) -> Iterator[Page]:
    """A fresh headless Chromium (its own profile) with one blank tab; closed afterwards.

    Chromium runs in a process group of its own and the whole group is killed at the end:
    killing the browser process alone left its helpers writing into the profile while it was
    removed ("Directory not empty" in a CI run). Helpers may still be exiting, so the profile's
    removal is retried for a few seconds."""
    profile = tempfile.mkdtemp(prefix="edgembed-chromium-")
    process = subprocess.Popen(
        [executable, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with connect(_devtools_url(Path(profile), process), max_size=None) as socket:
            yield _attach(socket)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        _remove(Path(profile))


def _remove(folder: Path, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            shutil.rmtree(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _devtools_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes its DevTools port and path to DevToolsActivePort once it listens."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"chromium exited with {process.returncode}")
        lines = active.read_text().split() if active.exists() else []
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise AssertionError("chromium did not open its DevTools port in time")


def _attach(socket: ClientConnection) -> Page:
    def browser_call(call_id: int, method: str, **params: Any) -> dict[str, Any]:
        socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            reply = json.loads(socket.recv(timeout=30))
            if reply.get("id") == call_id:
                result: dict[str, Any] = reply["result"]
                return result

    target = browser_call(900_001, "Target.createTarget", url="about:blank")["targetId"]
    session = browser_call(900_002, "Target.attachToTarget", targetId=target, flatten=True)
    page = Page(socket, session["sessionId"])
    page.send("Page.enable")
    return page
