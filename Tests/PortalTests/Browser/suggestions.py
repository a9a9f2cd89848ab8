#!/usr/bin/env python3
"""Drives the global search box in headless Chromium over the DevTools protocol, as a
keyboard user would: type, arrow down and up through the suggestions, Escape, Enter.

    suggestions.py --chromium /usr/bin/chromium --url http://127.0.0.1:PORT/ --screenshot out.png

Prints one line per check and exits 1 if any failed (used by PortalTests/BrowserTests).
Needs the websocket-client package (scripts/install-prerequisites --tests installs it).
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=10)
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

    def wait(self, expression, timeout=10):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--screenshot", required=True)
    args = ap.parse_args()

    profile = tempfile.mkdtemp(prefix="almanac-chromium-")
    browser = subprocess.Popen(
        [args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "--window-size=1280,800", "about:blank"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            failures.append(what)

    try:
        port = None
        deadline = time.time() + 30
        while time.time() < deadline and port is None:
            line = browser.stderr.readline()
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line or "")
            if found:
                port = int(found.group(1))
        if port is None:
            raise RuntimeError("Chromium did not start its DevTools endpoint")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page_target = next(t for t in targets if t.get("type") == "page")
        page = Page(page_target["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Page.navigate", url=args.url)
        check(page.wait("document.readyState === 'complete' && !!document.querySelector('input[role=combobox]')"),
              "the page loads with a combobox search box")
        page.js("document.querySelector('input[role=combobox]').focus()")
        page.call("Input.insertText", text="sig")
        options = "document.querySelectorAll('#search-suggestions [role=option]')"
        check(page.wait(f"{options}.length > 1 && !document.getElementById('search-suggestions').hidden"),
              "typing 'sig' shows suggestions")
        check(page.js("document.querySelector('input[role=combobox]').getAttribute('aria-expanded')") == "true",
              "aria-expanded is true while the list is open")
        first_text = page.js(f"{options}[0].textContent")
        check("Sign-ups" in (first_text or ""), f"the first suggestion is Sign-ups (got {first_text!r})")
        page.key("ArrowDown", 40)
        active = "document.querySelector('input[role=combobox]').getAttribute('aria-activedescendant')"
        check(page.js(active) == page.js(f"{options}[0].id"), "ArrowDown selects the first suggestion")
        check(page.js(f"{options}[0].getAttribute('aria-selected')") == "true", "it is marked aria-selected")
        page.key("ArrowDown", 40)
        check(page.js(active) == page.js(f"{options}[1].id"), "ArrowDown again moves to the second")
        page.key("ArrowUp", 38)
        check(page.js(active) == page.js(f"{options}[0].id"), "ArrowUp moves back to the first")
        shot = page.call("Page.captureScreenshot", format="png")
        with open(args.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        page.key("Escape", 27)
        check(page.wait("document.getElementById('search-suggestions').hidden"), "Escape closes the list")
        page.key("ArrowDown", 40)
        check(page.wait(f"{options}.length > 0 && !document.getElementById('search-suggestions').hidden"),
              "ArrowDown opens it again")
        if page.js(active) != page.js(f"{options}[0].id"):
            page.key("ArrowDown", 40)
        check(page.js(active) == page.js(f"{options}[0].id"), "the first suggestion is active again")
        target = page.js("fetch('/api/suggest?q=sig').then(r => r.json()).then(d => d.suggestions[0].url)")
        page.enter()
        check(page.wait(f"location.pathname === {json.dumps(target)}"), f"Enter opens the suggestion ({target})")
    except Exception as error:  # reported as a failure, never a crash
        check(False, f"browser session: {error}")
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
