"""A person approves a gate in the Prefect UI: headless Debian chromium fills in the Resume form."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefect_server, pytest.mark.xdist_group("approvals")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
# where the screenshots of the form go, to look at when the UI changes (default: the test's tmp)
SCREENSHOTS = os.environ.get("STACKFLOW_TEST_SCREENSHOTS")


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def test_gate_approved_in_the_prefect_ui_lets_the_apply_run(gate_server, gate_flow, browser_page,
                                                            tmp_path):
    demo = gate_flow([{"instance": "plat-ue1-prod/vpc", "timeout_s": 600}], sibling_s=0.1)
    gate = demo.wait_paused(1)["plat-ue1-prod/vpc"]
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path

    page = browser_page
    page.goto(f"{gate_server.ui_url}/runs/flow-run/{gate['id']}")
    page.get_by_role("button", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Apply").first.wait_for()
    # the plan summary is the form's description
    assert "plat-ue1-prod/vpc" in dialog.inner_text()
    assert "aws_s3_bucket.vpc" in dialog.inner_text()
    page.screenshot(path=str(shots / "approval-form.png"), full_page=True)

    select = dialog.locator("button.p-select-button__control")
    assert "reject" in select.inner_text()  # fail closed: the form starts at reject
    select.focus()
    page.keyboard.press("Space")
    page.locator(".p-select-option", has_text="approve").click()
    textareas = dialog.locator("textarea")
    textareas.nth(0).fill("plan reviewed, CHG-1234")
    textareas.nth(1).fill("dora")
    page.screenshot(path=str(shots / "approval-filled.png"), full_page=True)
    dialog.get_by_role("button", name="Submit").click()

    got = demo.result()["instances"]["plat-ue1-prod/vpc"]
    assert (got["decision"], got["by"], got["reason"]) == ("approved", "dora", "plan reviewed, CHG-1234")
    assert got["status"] == "applied"
