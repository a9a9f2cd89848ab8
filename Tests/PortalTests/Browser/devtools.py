"""Headless Chromium driven over the DevTools protocol, for the browser checks in
PortalTests/BrowserTests (suggestions.py, lifecycle.py).

Needs the websocket-client package (scripts/install-prerequisites --tests installs it).
"""
import base64
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

# How long to wait for the browser and the page before giving up: a guard against a hang,
# never a measure of speed, so a busy machine changes how long a check takes, not its outcome.
HANG_GUARD = 300


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=HANG_GUARD)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait(self, expression, timeout=HANG_GUARD):
        """Whether `expression` became true (checked every 50 ms) before the hang guard."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js(expression):
                return True
            time.sleep(0.05)
        return False

    def key(self, name, code):
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=name, code=name, windowsVirtualKeyCode=code,
                      nativeVirtualKeyCode=code)

    def enter(self):
        self.call("Input.dispatchKeyEvent", type="rawKeyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13)
        self.call("Input.dispatchKeyEvent", type="char", key="Enter", text="\r")
        self.call("Input.dispatchKeyEvent", type="keyUp", key="Enter", code="Enter", windowsVirtualKeyCode=13)

    def screenshot(self, path):
        shot = self.call("Page.captureScreenshot", format="png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))


class Checks:
    """One line per check ("ok   …" or "FAIL …"); `failed` says whether any failed."""

    def __init__(self):
        self.failures = []

    def __call__(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            self.failures.append(what)

    @property
    def failed(self):
        return bool(self.failures)


@contextlib.contextmanager
def browser_page(chromium, window="1280,800", flags=()):
    """A fresh headless Chromium (its own profile) and its first page, closed on exit."""
    profile = tempfile.mkdtemp(prefix="almanac-chromium-")
    browser = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", f"--window-size={window}", *flags, "about:blank"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        port = None
        deadline = time.time() + HANG_GUARD
        while time.time() < deadline and port is None:
            line = browser.stderr.readline()
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line or "")
            if found:
                port = int(found.group(1))
        if port is None:
            raise RuntimeError("Chromium did not start its DevTools endpoint")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=HANG_GUARD))
        page_target = next(t for t in targets if t.get("type") == "page")
        page = Page(page_target["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Runtime.enable")
        yield page
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)
