"""Lighthouse and axe-core on the studio's main pages, served as in production: 1280 and 390 px, light, dark.

Run: python bench/ux.py [--pages "queue,community"] [--widths 1280,390] [--schemes light,dark]

The app runs under gunicorn with DEBUG off and collected static files (SSL redirect and secure cookies off
for a local http run) on a scratch SQLite database seeded with the demo (`studio seed-demo`, two public
portraits, a depth dataset and a style). Lighthouse (npm `lighthouse`, installed once into
bench/.scratch/node_modules) runs with the system Chromium and no throttling: the desktop preset at 1280 px,
the mobile form factor at 390 px; dark is Chromium's --force-dark-mode (the theme follows the OS). Signed-in
pages get the demo user's session cookie in the browser's cookie jar (bench/_lighthouse.mjs). axe-core
(vendored in e2e/vendor) runs in Playwright on the same pages and counts violations of every impact.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _setup import ROOT, budget, exit_code, free_port, production_like_demo, start_gunicorn

SCRATCH = ROOT / "bench" / ".scratch"
LIGHTHOUSE = SCRATCH / "node_modules" / "lighthouse"
LIGHTHOUSE_PACKAGE = "lighthouse@12"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices")
WIDTHS = (1280, 390)
SCHEMES = ("light", "dark")


def ensure_lighthouse() -> Path:
    if not (LIGHTHOUSE / "package.json").exists():
        SCRATCH.mkdir(parents=True, exist_ok=True)
        print(f"installing {LIGHTHOUSE_PACKAGE} into {SCRATCH} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(SCRATCH), LIGHTHOUSE_PACKAGE, "--no-audit", "--no-fund"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return LIGHTHOUSE


def run_lighthouse(jobs: list[dict]) -> dict[tuple[str, int, str], dict]:
    """All runs in one Node process (bench/_lighthouse.mjs); results keyed by (url, width, scheme)."""
    runner = SCRATCH / "_lighthouse.mjs"
    shutil.copyfile(ROOT / "bench" / "_lighthouse.mjs", runner)  # so Node finds SCRATCH's node_modules
    runner_process = subprocess.Popen(
        ["node", str(runner)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CHROME_PATH": CHROME},
    )
    runner_process.stdin.write(json.dumps(jobs))
    runner_process.stdin.close()
    results = {}
    for line in runner_process.stdout:
        if line.startswith("{"):
            result = json.loads(line)
            results[(result["url"], result["width"], result["scheme"])] = result
            scores = "/".join(str(result["scores"][name]) for name in CATEGORIES)
            print(
                f"  lighthouse {len(results)}/{len(jobs)} {result['width']} {result['scheme']} "
                f"{result['url'].split('/', 3)[-1] or '/'} {scores}",
                file=sys.stderr,
                flush=True,
            )
    if runner_process.wait():
        raise SystemExit("Lighthouse failed (see its messages above)")
    return results


def run_axe(base_url: str, pages, width: int, scheme: str, cookie_value: str) -> dict[str, list[dict]]:
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from studio.tests.ux_pages import AXE_RUN, AXE_SCRIPT, OVERFLOW

    results: dict[str, list[dict]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROME)
        context = browser.new_context(viewport={"width": width, "height": 844}, color_scheme=scheme)
        # axe comes as if from the site: its Content-Security-Policy allows scripts from 'self' only.
        context.route(
            f"{base_url}/__axe.min.js",
            lambda route: route.fulfill(path=str(AXE_SCRIPT), content_type="application/javascript"),
        )
        page = context.new_page()
        signed_in = False
        for entry in sorted(pages, key=lambda entry: entry.signed_in):
            if entry.signed_in and not signed_in:
                signed_in = True
                context.add_cookies(
                    [{"name": settings.SESSION_COOKIE_NAME, "value": cookie_value, "url": base_url}]
                )
            page.goto(base_url + entry.path, wait_until="networkidle")
            page.add_script_tag(url=f"{base_url}/__axe.min.js")
            violations = page.evaluate(AXE_RUN)
            overflow = page.evaluate(OVERFLOW)
            if overflow > 0 and width < 1000:
                violations.append(
                    {"id": f"overflow-{overflow}px", "impact": "layout", "count": 1, "targets": []}
                )
            results[entry.name] = violations
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    parser.add_argument("--axe-only", action="store_true", help="skip Lighthouse (a quick axe-core check)")
    options = parser.parse_args()
    widths = [int(width) for width in options.widths.split(",")]
    schemes = options.schemes.split(",")

    ensure_lighthouse()
    demo, session = production_like_demo("ux")
    from django.conf import settings

    pages = [page for page in demo.pages if not options.pages or page.name in options.pages.split(",")]

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port)
    worst = {"performance": 100, "accessibility": 100, "best-practices": 100}
    axe_total = 0
    try:
        axe = {
            (width, scheme): run_axe(base_url, pages, width, scheme, session)
            for width in widths
            for scheme in schemes
        }
        jobs = [
            {
                "url": base_url + entry.path,
                "width": width,
                "scheme": scheme,
                "cookie": {"name": settings.SESSION_COOKIE_NAME, "value": session}
                if entry.signed_in
                else None,
            }
            for scheme in schemes
            for width in widths
            for entry in pages
            if entry.status == 200  # Lighthouse does not score an error page (axe-core does)
        ]
        lighthouse = {} if options.axe_only else run_lighthouse(jobs)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Lighthouse ({LIGHTHOUSE_PACKAGE}, {CHROME}, no throttling) and axe-core on {len(pages)} pages")
    print(f"{'page':<16} {'width':>5} {'scheme':<6} {'perf':>4} {'a11y':>4} {'best':>4} {'axe':>3}  failing")
    for entry in pages:
        for width in widths:
            for scheme in schemes:
                # Not scored: an error page, or --axe-only ("-" in the table, no effect on the budgets).
                empty = {"scores": dict.fromkeys(CATEGORIES, "-"), "failing": []}
                result = lighthouse.get((base_url + entry.path, width, scheme), empty)
                scores = result["scores"]
                for name, score in scores.items():
                    if score != "-":
                        worst[name] = min(worst[name], score)
                violations = axe[(width, scheme)][entry.name]
                axe_total += len(violations)
                notes = result["failing"] + [f"axe:{v['id']}({v['impact']})" for v in violations]
                print(
                    f"{entry.name:<16} {width:>5} {scheme:<6} {scores['performance']:>4} "
                    f"{scores['accessibility']:>4} {scores['best-practices']:>4} {len(violations):>3}  "
                    + " ".join(notes)
                )
                for audit, items in result.get("details", {}).items():
                    print(f"{'':<16} {audit}: {' | '.join(map(str, items))[:300]}")
    if lighthouse:
        budget("lighthouse accessibility (worst page)", worst["accessibility"], "", 100, at_least=True)
        budget("lighthouse best practices (worst page)", worst["best-practices"], "", 100, at_least=True)
        budget("lighthouse performance (worst page)", worst["performance"], "", 95, at_least=True)
    budget("axe-core violations and 390 px overflows (all pages)", axe_total, "", 0)
    return exit_code()


if __name__ == "__main__":
    sys.exit(main())
