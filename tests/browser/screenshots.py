"""Screenshots of the main pages for a human to look at (not a test; PNGs stay out of git).

    .venv/bin/python tests/browser/screenshots.py --base-url http://127.0.0.1:8000 \\
        --citizen USER:PASSWORD --staff USER:PASSWORD --out var/screenshots

Takes home, sign-in, my account and workbench in zh-hans, en and elder mode, at 375 px and
1280 px, signing in through the real form, and prints each page's scroll width.
"""

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CHROMIUM, CHROMIUM_ARGS

PAGES = [("home", "/", None), ("login", "/accounts/login/", None), ("account", "/account/", "citizen")]
PAGES_STAFF = [("workbench", "/workbench/", "staff")]
MODES = [("zh", "zh-hans", False), ("en", "en", False), ("elder", "zh-hans", True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--citizen", required=True, help="USER:PASSWORD")
    parser.add_argument("--staff", help="USER:PASSWORD")
    parser.add_argument("--out", default="var/screenshots")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    accounts = {"citizen": args.citizen, "staff": args.staff}
    pages = PAGES + (PAGES_STAFF if args.staff else [])
    too_wide = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width in (375, 1280):
            for mode, language, elder in MODES:
                for name, path, who in pages:
                    context = browser.new_context(viewport={"width": width, "height": 900})
                    context.add_cookies(
                        [
                            {"name": "django_language", "value": language, "url": args.base_url},
                            {"name": "yiwang_elder", "value": "1" if elder else "0", "url": args.base_url},
                        ]
                    )
                    page = context.new_page()
                    if who:
                        username, password = accounts[who].split(":", 1)
                        page.goto(args.base_url + "/accounts/login/")
                        page.fill("input[name=username]", username)
                        page.fill("input[name=password]", password)
                        page.click("main form button[type=submit]")
                        page.wait_for_load_state()
                        # The account remembers elder mode; put it in the state this shot wants.
                        if page.evaluate("document.documentElement.classList.contains('elder')") != elder:
                            page.click("#elder-toggle")
                            page.wait_for_load_state()
                    page.goto(args.base_url + path)
                    scroll_width = page.evaluate("document.documentElement.scrollWidth")
                    target = out / f"{name}-{mode}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    flag = "  TOO WIDE" if scroll_width > width else ""
                    too_wide += bool(flag)
                    print(f"{target}  scrollWidth={scroll_width}{flag}")
                    context.close()
        browser.close()
    return 1 if too_wide else 0


if __name__ == "__main__":
    sys.exit(main())
