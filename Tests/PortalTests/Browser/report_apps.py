#!/usr/bin/env python3
"""Opens the demo's two report apps through the portal in headless Chromium and uses them
inside the report page's sandboxed frame, as a reader would: the experiment notebook (a link
to an experiment, then its form), and the support team's Datasette (a table, its next page,
a facet, a canned query's form). The portal's page itself must never navigate away.

    report_apps.py --chromium /usr/bin/chromium --url http://127.0.0.1:PORT --screenshots DIR

Prints one line per check and exits 1 if any failed (used by PortalTests/BrowserTests).
"""
import argparse
import sys
import time

from devtools import HANG_GUARD, Checks, browser_page

# The app's frame runs in the page's own renderer, so the checks can reach into it.
FLAGS = ["--disable-features=IsolateSandboxedIframes,site-per-process", "--disable-site-isolation-trials"]


def frame(page, path):
    """The id and URL of the report frame whose URL contains `path`."""
    tree = page.call("Page.getFrameTree")["frameTree"]
    for child in tree.get("childFrames", []):
        if path in child["frame"]["url"]:
            return child["frame"]["id"], child["frame"]["url"]
    return None, None


def in_frame(page, frame_id, expression):
    """Evaluates `expression` in the frame's document (an isolated world shares its DOM)."""
    world = page.call("Page.createIsolatedWorld", frameId=frame_id, worldName="check")["executionContextId"]
    result = page.call("Runtime.evaluate", expression=expression, contextId=world, returnByValue=True,
                       awaitPromise=True)
    return result.get("result", {}).get("value")


def wait_frame(page, path, condition):
    """Waits until the frame at `path` has loaded and `condition` holds in it; its id and URL."""
    deadline = time.time() + HANG_GUARD
    while time.time() < deadline:
        frame_id, url = frame(page, path)
        if frame_id:
            try:
                if in_frame(page, frame_id, f"document.readyState === 'complete' && ({condition})"):
                    return frame_id, url
            except RuntimeError:
                pass  # the frame is between two documents
        time.sleep(0.05)
    return None, None


def click(page, frame_id, finder):
    """Clicks the element `finder` (an expression) picks in the frame; whether there was one."""
    return in_frame(page, frame_id, f"(() => {{ const e = {finder}; if (!e) return false; e.click(); return true; }})()")


def text(condition_text):
    return f"document.body.innerText.includes({condition_text!r})"


def notebook(page, args, check):
    page.call("Page.navigate", url=f"{args.url}/reports/experiment-notebook")
    frame_id, _ = wait_frame(page, "/x/experiment-notebook/", text("Onboarding checklist"))
    check(frame_id is not None, "the experiment notebook shows in the report's frame")
    if not frame_id:
        return
    clicked = click(page, frame_id, """document.querySelector('a[href$="/experiments/onboarding-checklist"]')""")
    check(clicked, "the notebook lists the onboarding-checklist experiment as a link")
    frame_id, url = wait_frame(page, "/x/experiment-notebook/experiments/onboarding-checklist", text("Day by day"))
    check(frame_id is not None, "clicking it opens the experiment in the frame")
    if not frame_id:
        return
    check(in_frame(page, frame_id, "document.querySelectorAll('svg').length >= 2"), "its day-by-day charts are drawn")
    in_frame(page, frame_id, """(() => { const s = document.querySelector('select[name=segment]');
        s.value = 'country'; s.form.requestSubmit(); return true; })()""")
    frame_id, url = wait_frame(page, "segment=country", text("By country"))
    check(frame_id is not None, f"its form cuts the results by country ({url})")
    check(page.js("location.pathname") == "/reports/experiment-notebook", "the portal's page stayed where it was")
    page.screenshot(f"{args.screenshots}/report-app-notebook.png")


def datasette(page, args, check):
    page.call("Page.navigate", url=f"{args.url}/reports/support-insights")
    frame_id, _ = wait_frame(page, "/x/support-insights/", text("Support insights"))
    check(frame_id is not None, "Datasette shows in the support-insights report's frame")
    if not frame_id:
        return
    check(click(page, frame_id, """document.querySelector('a[href$="/warehouse/support_tickets"]')"""),
          "it links to the tickets table")
    frame_id, url = wait_frame(page, "/warehouse/support_tickets", text("rows"))
    check(frame_id is not None, "the tickets table opens in the frame")
    if not frame_id:
        return
    check(click(page, frame_id, "[...document.querySelectorAll('a')].find(a => a.textContent.trim() === 'Next page')"),
          "the table has a next page")
    frame_id, url = wait_frame(page, "_next=", text("rows"))
    check(frame_id is not None and "/x/support-insights/" in (url or ""), f"its next page stays in the frame ({url})")
    if not frame_id:
        return
    check(click(page, frame_id, """document.querySelector('.facet-results a[href*="queue="]')"""),
          "the queue facet has links")
    frame_id, url = wait_frame(page, "queue=", text("rows"))
    check(frame_id is not None and "/x/support-insights/" in (url or ""), f"a facet filters the table ({url})")
    if not frame_id:
        return
    in_frame(page, frame_id, "location.assign('/x/support-insights/warehouse/customer_tickets'); true")
    frame_id, _ = wait_frame(page, "/warehouse/customer_tickets", "!!document.querySelector('input[name=domain]')")
    check(frame_id is not None, "a canned query shows its form")
    if not frame_id:
        return
    in_frame(page, frame_id, """(() => { const input = document.querySelector('input[name=domain]');
        input.value = 'globex.com'; input.form.requestSubmit(); return true; })()""")
    frame_id, url = wait_frame(page, "domain=globex.com", "!!document.querySelector('table')")
    check(frame_id is not None, f"submitting it answers with a table ({url})")
    check(page.js("location.pathname") == "/reports/support-insights", "the portal's page stayed where it was")
    page.screenshot(f"{args.screenshots}/report-app-datasette.png")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--url", required=True, help="the portal's origin")
    ap.add_argument("--screenshots", required=True, help="folder for the screenshots")
    args = ap.parse_args()
    check = Checks()
    with browser_page(args.chromium, window="1280,1400", flags=FLAGS) as page:
        notebook(page, args, check)
        datasette(page, args, check)
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
