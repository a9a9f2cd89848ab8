#!/usr/bin/env python3
"""Drives the global search box in headless Chromium over the DevTools protocol, as a
keyboard user would: type, arrow down and up through the suggestions, Escape, Enter.

    suggestions.py --chromium /usr/bin/chromium --url http://127.0.0.1:PORT/ --screenshot out.png

Prints one line per check and exits 1 if any failed (used by PortalTests/BrowserTests).
Needs the websocket-client package (scripts/install-prerequisites --tests installs it).
"""
import argparse
import json
import sys

from devtools import Checks, browser_page


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--screenshot", required=True)
    args = ap.parse_args()
    check = Checks()
    try:
        with browser_page(args.chromium) as page:
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
            page.screenshot(args.screenshot)
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
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
