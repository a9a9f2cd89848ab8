#!/usr/bin/env python3
"""Deprecates and restores a report through its page's forms in headless Chromium, as an
owner would: open "Deprecate…", give a reason and a replacement, submit, and see the page
say so; then the same form posted from another origin must be refused.

    lifecycle.py --chromium /usr/bin/chromium --url http://127.0.0.1:PORT --report ID --screenshot out.png

The other origin is a page this script serves itself on another port.

Prints one line per check and exits 1 if any failed (used by PortalTests/BrowserTests).
"""
import argparse
import http.server
import json
import sys
import threading

from devtools import Checks, browser_page


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True, help="the portal's origin")
    ap.add_argument("--report", required=True)
    ap.add_argument("--screenshot", required=True)
    args = ap.parse_args()
    check = Checks()
    page_url = f"{args.url}/reports/{args.report}"

    class Elsewhere(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"<!doctype html><title>elsewhere</title><body>another site</body>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    other_origin = f"http://127.0.0.1:{elsewhere.server_address[1]}"
    try:
        with browser_page(args.chromium, window="1280,1400") as page:
            page.call("Page.navigate", url=page_url)
            form = "document.querySelector('form.lifecycle-form input[value=deprecate]')"
            check(page.wait(f"document.readyState === 'complete' && !!{form}"), "the owner sees the Deprecate form")
            page.js(f"{form}.closest('details').open = true")
            page.js(f"{form}.form.querySelector('input[name=reason]').value = 'Merged into the overview'")
            page.js(f"{form}.form.querySelector('select[name=replacement]').value = 'growth-overview'")
            page.js(f"{form}.form.querySelector('button[type=submit]').click()")
            check(page.wait("!!document.querySelector('.banner-deprecated')"),
                  "after submitting, the page shows the deprecation banner")
            banner = page.js("document.querySelector('.banner-deprecated').textContent") or ""
            check("Merged into the overview" in banner and "Growth overview" in banner,
                  f"with the reason and the replacement ({banner.strip()[:120]!r})")
            check(page.js("location.pathname") == f"/reports/{args.report}", "and stays on the report's page")
            page.screenshot(args.screenshot)
            restore = "document.querySelector('form input[value=restore]')"
            check(page.wait(f"!!{restore}"), "the owner now sees Restore")
            page.js(f"{restore}.form.querySelector('button').click()")
            check(page.wait("document.readyState === 'complete' && !document.querySelector('.banner-deprecated')"
                            " && !!document.querySelector('.badge-active')"), "Restore makes it active again")

            # A page on another origin posts the same form: the browser sends that origin, and the
            # portal refuses.
            page.call("Page.navigate", url=f"{other_origin}/")
            check(page.wait("document.readyState === 'complete'"), "a page on another origin loads")
            page.js(
                "(() => { const f = document.createElement('form'); f.method = 'post'; f.action = "
                + json.dumps(f"{args.url}/lifecycle/report/{args.report}")
                + "; for (const [k, v] of [['action', 'retire'], ['reason', 'x']]) {"
                " const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }"
                " document.body.appendChild(f); f.submit(); })()")
            check(page.wait("location.pathname.startsWith('/lifecycle/') && document.readyState === 'complete'"),
                  "the cross-origin form was submitted")
            answer = page.js("document.body.innerText") or ""
            check("Cross-site request refused" in answer, f"the portal refused it ({answer.strip()[:80]!r})")
            page.call("Page.navigate", url=page_url)
            check(page.wait("document.readyState === 'complete' && !!document.querySelector('.badge-active')"),
                  "the report is still active: the cross-origin post was refused")
    except Exception as error:  # reported as a failure, never a crash
        check(False, f"browser session: {error}")
    finally:
        elsewhere.shutdown()
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
