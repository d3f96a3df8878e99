from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio.tests.fakes import FakeOpenAI, openai_error

pytestmark = pytest.mark.e2e


def test_quick_generate_paints_three_prompts_with_the_local_painter(
    page, live_server, signed_in, task_worker
):
    page.goto(f"{live_server.url}/studio/generate/")
    page.evaluate("window.__sameDocument = true")
    expect(page.get_by_role("button", name="Remove prompt 1")).to_have_count(0)  # the only row stays
    page.get_by_label("Prompt 1", exact=True).fill("a lighthouse at dusk, oil painting")
    page.get_by_role("button", name="Add prompt").click()
    expect(page.get_by_role("button", name="Remove prompt 1")).to_have_count(1)
    page.get_by_label("Prompt 2", exact=True).fill("a red fox in snow")
    page.get_by_role("button", name="Add prompt").click()
    page.get_by_label("Prompt 3", exact=True).fill("an old sailor with a white beard")
    expect(page.get_by_label("Prompt 1", exact=True)).to_have_value("a lighthouse at dusk, oil painting")
    estimate = page.locator("#cost-estimate")
    expect(estimate).to_contain_text("3 images", timeout=5_000)  # follows typing, not only the selects
    page.get_by_role("button", name="Add prompt").click()
    page.get_by_label("Prompt 4", exact=True).fill("a fourth prompt")
    expect(estimate).to_contain_text("4 images")
    page.get_by_role("button", name="Remove prompt 4").click()
    expect(page.get_by_label("Prompt 4", exact=True)).to_have_count(0)
    expect(estimate).to_contain_text("3 images")  # sent out of band with the rows
    page.get_by_label("Size").select_option("512x512")
    page.get_by_role("button", name="Generate", exact=True).click()

    cards = page.locator(".batch-grid .portrait-card-col")
    expect(cards).to_have_count(3)
    for index in range(3):
        expect(cards.nth(index)).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator(".batch-progress")).to_contain_text("3 painted")
    expect(page.locator("#queue-badge .badge")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the portraits appeared without a page reload"


def test_each_quick_prompt_measures_itself_against_the_chosen_providers_limit_as_it_is_typed(
    page, live_server, signed_in, settings
):
    settings.IMAGE_PROVIDERS = ["local", "huggingface"]  # limits 10,000 and 2,000
    settings.HUGGINGFACE_API_TOKEN = "hf-e2e"  # offered; nothing is sent to it
    page.goto(f"{live_server.url}/studio/generate/")
    prompt = page.get_by_label("Prompt 1", exact=True)
    meter = page.locator('[data-prompt-meter="prompt-1"]')
    count, note = page.locator("#prompt-1-length"), page.locator("#prompt-1-length-note")
    expect(count).to_have_text("0 / 10000 characters")

    prompt.press_sequentially("a  lighthouse")
    expect(count).to_have_text("12 / 10000 characters")  # at each keystroke, spaces counted as sent
    prompt.fill("x" * 9999)
    expect(count).to_have_text("9999 / 10000 characters")
    expect(meter).to_have_attribute("data-state", "ok")
    expect(note).to_have_text("")
    prompt.press("End")
    prompt.press_sequentially("yz")
    expect(count).to_have_text("10001 / 10000 characters")
    expect(meter).to_have_attribute("data-state", "over")
    expect(count).to_have_class(re.compile(r"\btext-bg-warning\b"))
    expect(meter.locator(".progress-bar")).to_have_class(re.compile(r"\bbg-warning\b"))
    expect(note).to_have_text("Too long for Local painter: shorten it or choose another provider.")
    prompt.press("Backspace")
    prompt.press("Backspace")
    expect(meter).to_have_attribute("data-state", "ok")
    expect(note).to_have_text("")

    # A change of provider brings its limit: the same prompt is now too long.
    prompt.fill("x" * 2001)
    expect(count).to_have_text("2001 / 10000 characters")
    page.get_by_label("Provider").select_option("huggingface")
    expect(count).to_have_text("2001 / 2000 characters")
    expect(meter).to_have_attribute("data-state", "over")
    expect(note).to_have_text("Too long for Hugging Face: shorten it or choose another provider.")
    page.get_by_role("button", name="Add prompt").click()
    expect(page.locator("#prompt-2-length")).to_have_text("0 / 2000 characters")
    expect(count).to_have_text("2001 / 2000 characters")  # the rows came back from the server, measured

    # Generate refuses it, next to the row.
    page.get_by_label("Prompt 2", exact=True).fill("a red fox in snow")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.locator("#prompt-1-errors")).to_contain_text("the limit for Hugging Face is 2000")
    expect(page.locator("#prompt-2-errors")).to_have_count(0)


def test_a_provider_error_is_shown_on_the_card_as_its_message(
    page, live_server, signed_in, task_worker, settings
):
    from studio.tests.factories import CharacterFactory

    character = CharacterFactory(owner=signed_in, name="Ivo Brand")
    with FakeOpenAI() as fake:
        settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake.api_key, f"{fake.url}/v1"
        fake.push(
            openai_error(
                400,
                "Your request was rejected as a result of our safety system.",
                code="content_policy_violation",
            )
        )
        page.goto(f"{live_server.url}{character.get_absolute_url()}")
        page.get_by_label("Provider").select_option("openai")
        expect(page.get_by_label("Model")).to_have_value("gpt-image-2")
        page.get_by_label("Quality").select_option("low")
        expect(page.locator("#cost-estimate")).to_contain_text("$0.006")
        page.get_by_role("button", name="Queue variations").click()
        card = page.locator(".portrait-card-col").first
        expect(card).to_have_attribute("data-status", "failed", timeout=20_000)
        expect(card.locator(".portrait-error")).to_contain_text("OpenAI's safety system declined this prompt")
        expect(card.get_by_role("button", name="Retry")).to_have_count(0)


def test_the_queue_badge_follows_events_not_a_poll(page, live_server, signed_in):
    from studio.portraits.generation import JobOptions, queue_character_portraits
    from studio.portraits.jobs import run_portrait_job
    from studio.tests.factories import CharacterFactory

    character = CharacterFactory(owner=signed_in)
    [job] = queue_character_portraits(character, JobOptions(size="64x64"), count=1)
    badge_requests = []
    page.on("request", lambda request: "/queue/badge/" in request.url and badge_requests.append(request.url))
    page.goto(f"{live_server.url}{character.get_absolute_url()}")
    expect(page.locator("#queue-badge .badge")).to_have_text("1 running or queued")
    page.wait_for_timeout(6_000)  # the character page polls for its cards; the badge does not poll too
    assert len(badge_requests) == 1, "one request: the badge's first load"

    run_portrait_job(job.pk)  # the worker finishes: the page's poller sees it and says jobsChanged
    expect(page.locator("#queue-badge .badge")).to_have_count(0, timeout=3_000)
    assert len(badge_requests) == 2


def test_the_today_line_counts_variations_queued_while_the_generator_changes(page, live_server, signed_in):
    from studio.tests.factories import CharacterFactory

    character = CharacterFactory(owner=signed_in)
    page.goto(f"{live_server.url}{character.get_absolute_url()}")
    today = page.locator("#daily-usage")
    expect(today).to_contain_text("Today: 0 of 200")
    page.get_by_label("Images").fill("2")  # re-renders the generator's fields as the click below queues
    page.get_by_role("button", name="Queue variations").click()
    expect(today).to_contain_text("Today: 2 of 200")


def test_cancelling_the_last_queued_portrait_updates_the_page_without_console_errors(
    page, live_server, signed_in
):
    from studio.portraits.generation import JobOptions, queue_character_portraits
    from studio.tests.factories import CharacterFactory

    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    character = CharacterFactory(owner=signed_in)
    [job] = queue_character_portraits(character, JobOptions(size="64x64"), count=1)
    page.goto(f"{live_server.url}{character.get_absolute_url()}")
    expect(page.locator("#queue-badge .badge")).to_have_text("1 running or queued")

    page.get_by_role("button", name=f"Cancel portrait {job.pk}").click()
    expect(page.locator(f"#portrait-{job.pk}")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("#queue-badge .badge")).to_have_count(0)  # portraitsChanged, at once
    expect(page.locator("#character-activity")).to_have_attribute("data-active", "0")
    page.wait_for_timeout(300)
    assert errors == []
