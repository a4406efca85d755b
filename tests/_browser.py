"""A headless Chromium for tests: Debian's ``chromium``, driven over the DevTools protocol.

The browser is the distribution's package (``make test`` installs it when it
is missing); nothing is downloaded at run time. It listens on a port of the
loopback interface that it picks itself and writes to ``DevToolsActivePort``
in its profile directory; the test speaks the protocol to the page over a
websocket (``websocket-client``).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

__all__ = ["Chromium", "chromium_path"]

_START_TIMEOUT = 60.0
_CALL_TIMEOUT = 60.0


def chromium_path():
    """The ``chromium`` executable; a one-line error when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("chromium is not installed: run `make test` (it installs Debian's chromium)")
    return path


class Chromium:
    """One headless browser with one page; a context manager.

    Parameters
    ----------
    width, height : `int`
        The viewport, in CSS pixels.
    """

    def __init__(self, width, height):
        self._profile = tempfile.mkdtemp(prefix="chromium-")
        arguments = [chromium_path(), "--headless", "--disable-gpu", "--no-first-run",
                     "--no-default-browser-check", "--disable-dev-shm-usage", "--remote-debugging-port=0",
                     "--remote-debugging-address=127.0.0.1", "--hide-scrollbars",
                     f"--user-data-dir={self._profile}", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            arguments.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root
        self._process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._next_id = 0
        self._events = []
        try:
            port = self._wait_for_port()
            page = next(target for target in self._targets(port) if target["type"] == "page")
            self._socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=_CALL_TIMEOUT,
                                                       suppress_origin=True)
            self.call("Emulation.setDeviceMetricsOverride",
                      width=width, height=height, deviceScaleFactor=1, mobile=False)
            self.call("Page.enable")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _wait_for_port(self):
        active = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self._process.returncode} at start")
            if active.exists() and active.read_text().strip():
                return int(active.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError(f"chromium did not open its DevTools port within {_START_TIMEOUT:.0f} s")

    @staticmethod
    def _targets(port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=_START_TIMEOUT) as answer:
            return json.load(answer)

    def call(self, method, **params):
        """Send one DevTools command and return its result (events that arrive meanwhile are kept)."""
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            self._events.append(message)

    def open(self, url):
        """Load ``url`` and wait for its load event."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + _CALL_TIMEOUT
        while not any(event.get("method") == "Page.loadEventFired" for event in self._events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not load within {_CALL_TIMEOUT:.0f} s")
            self._events.append(json.loads(self._socket.recv()))

    def evaluate(self, expression):
        """The JSON-serialisable value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails'].get('text')}: "
                               f"{result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def screenshot(self, path):
        """Write a PNG of the whole page (not only the viewport) to ``path``."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        """Stop the browser and remove its profile."""
        socket = getattr(self, "_socket", None)
        if socket is not None:
            socket.close()
            self._socket = None
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._profile, ignore_errors=True)
