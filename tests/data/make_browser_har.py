"""How tests/data/chromium.har was made: a real browser's HAR of the example monolith.

    python -m examples.monolith --port 8031 &
    python tests/data/make_browser_har.py http://127.0.0.1:8031 tests/data/chromium.har

Needs Playwright (``pip install playwright``, not a Parity dependency) and a
Chromium: the system's is used, so no browser is downloaded. The browser
opens a JSON answer, a PNG thumbnail (a binary body, stored base64 in the
HAR) and a 404, then posts a GraphQL query and a form from the page, so the
HAR holds request bodies too.
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

COURSE = "76931aaf-e471-4e58-aa9a-7a79279a14df"


def main(base: str, out: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(record_har_path=out, record_har_content="embed")
        page = context.new_page()
        page.goto(f"{base}/api/users/1")
        page.goto(f"{base}/api/courses/{COURSE}/thumbnail.png")
        page.goto(f"{base}/api/users/99")
        page.goto(f"{base}/api/search?q=python&tag=web")
        page.evaluate(
            """async (base) => {
                await fetch(base + "/graphql", {method: "POST",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({query: "query GetUser($id: ID!) { user(id: $id) { id name } }",
                                          variables: {id: "2"}})});
                await fetch(base + "/api/users/1/enrolments", {method: "POST",
                    headers: {"Content-Type": "application/x-www-form-urlencoded"},
                    body: "course_id=e1a9f10c-1719-470e-85f1-0cf02114f172"});
            }""",
            base,
        )
        context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
