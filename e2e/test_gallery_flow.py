from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio.portraits.models import Portrait
from studio.portraits.seeding import seed_portraits

pytestmark = pytest.mark.e2e


def scroll_to_the_end(page) -> None:
    for _ in range(12):
        if page.locator("#gallery-end").count():
            return
        page.locator(".gallery-card").last.scroll_into_view_if_needed()
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(150)
    raise AssertionError("the gallery never reached its end")


def open_the_first_card(page, live_server, owner, portraits: int):
    """Seed portraits for the owner, open My portraits and its first card in the lightbox: (pk, lightbox)."""
    seed_portraits(owner, portraits, characters=1, public_fraction=0)
    page.goto(f"{live_server.url}/studio/gallery/")
    card = page.locator(".gallery-card").first
    pk = card.get_attribute("id").removeprefix("card-")
    card.locator("a[data-lightbox]").click()
    lightbox = page.locator("#lightbox")
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", pk)
    return pk, lightbox


def test_a_user_scrolls_filters_likes_steps_through_and_bulk_deletes(page, live_server, signed_in):
    seed_portraits(signed_in, 100, characters=3, public_fraction=0)
    page.goto(f"{live_server.url}/studio/gallery/")
    page.evaluate("window.__sameDocument = true")
    expect(page.locator(".gallery-card")).to_have_count(24)

    # Infinite scroll: every card once, appended without a reload.
    scroll_to_the_end(page)
    expect(page.locator(".gallery-card")).to_have_count(100)
    ids = page.locator(".gallery-card").evaluate_all("cards => cards.map(c => c.id)")
    assert len(set(ids)) == 100

    # Filter by provider: the grid is replaced through HTMX and the URL says so.
    page.get_by_label("Provider").select_option("local")
    expect(page).to_have_url(re.compile(r"provider=local"))
    local = Portrait.objects.filter(owner=signed_in, provider="local").count()
    assert 24 < local < 100
    # The first 24 local portraits replace the grid; the page was scrolled to the end, so infinite scroll
    # may already be fetching the rest of them: never more than the local ones.
    page.wait_for_function(
        "local => { const n = document.querySelectorAll('.gallery-card').length; "
        "return n >= 24 && n <= local; }",
        arg=local,
    )
    # Every card shown is a local one, and the grid starts with the newest of them.
    newest_local = list(
        Portrait.objects.filter(owner=signed_in, provider="local")
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    shown = [int(pk) for pk in page.locator(".gallery-card").evaluate_all("cs => cs.map(c => c.id.slice(5))")]
    assert set(shown) <= set(newest_local), "a card from another provider survived the filter"
    assert shown[:24] == newest_local[:24]
    page.get_by_role("link", name="Clear").click()  # a plain link: a fresh page
    expect(page.locator(".gallery-card")).to_have_count(24)
    page.evaluate("window.__sameDocument = true")

    # Like the first card: its count changes in place.
    first = page.locator(".gallery-card").first
    like = first.locator(".like-button")
    expect(like).to_have_attribute("aria-pressed", "false")
    like.click()
    expect(first.locator(".like-button")).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".like-count")).to_have_text("1")

    # The lightbox: open, step with the arrow keys, close with Escape.
    card_ids = page.locator(".gallery-card").evaluate_all("cards => cards.map(c => c.id.slice(5))")
    first.locator("a[data-lightbox]").click()
    lightbox = page.locator("#lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", card_ids[0])
    expect(lightbox.get_by_text("Provider / model")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", card_ids[1])
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", card_ids[2])
    page.keyboard.press("ArrowLeft")
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", card_ids[1])
    # The address bar names the portrait shown (a link to share)...
    expect(page).to_have_url(re.compile(rf"/studio/gallery/{card_ids[1]}/$"))
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    # ...and closing gives the gallery's address back.
    expect(page).to_have_url(re.compile(r"/studio/gallery/(\?[^/]*)?$"))
    # Focus returns to the card of the portrait last shown, so the keyboard carries on from there.
    expect(page.locator(f"#card-{card_ids[1]} a[data-lightbox]")).to_be_focused()
    # Escape right after opening closes it too.
    first.locator("a[data-lightbox]").click()
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", card_ids[0])
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(first.locator("a[data-lightbox]")).to_be_focused()

    # Unlike inside the lightbox: the card behind it follows.
    first.locator("a[data-lightbox]").click()
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", card_ids[0])
    lightbox.locator(".like-button").click()
    expect(lightbox.locator(".like-button")).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(first.locator(".like-button")).to_have_attribute("aria-pressed", "false")
    expect(first.locator(".like-count")).to_have_text("0")

    # Bulk delete three: click one, shift-click the third.
    boxes = page.locator(".gallery-select")
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator(".gallery-card")).to_have_count(21)
    for pk in card_ids[:3]:
        expect(page.locator(f"#card-{pk}")).to_have_count(0)
    assert Portrait.objects.filter(owner=signed_in).count() == 97


def test_the_lightbox_has_its_own_address_and_back_closes_it(page, live_server, signed_in):
    pk, lightbox = open_the_first_card(page, live_server, signed_in, 3)
    expect(page).to_have_url(re.compile(rf"/studio/gallery/{pk}/"))

    page.go_back()

    expect(lightbox).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/studio/gallery/$"))
    # The address shared from the lightbox opens the portrait's own page.
    page.goto(f"{live_server.url}/studio/gallery/{pk}/")
    expect(page.locator(f'.lightbox[data-portrait="{pk}"]')).to_be_visible()


def test_bulk_and_lightbox_visibility_changes_update_what_is_shown_without_console_errors(
    page, live_server, signed_in
):
    """Every out-of-band swap names a target on the requesting page (the page_problems fixture fails the test
    on htmx:oobErrorNoTarget): the grid, the lightbox (on a card loaded in the grid, and stepped past the last
    loaded card) and the portrait's own page."""
    seed_portraits(signed_in, 26, characters=2, public_fraction=0)
    page.goto(f"{live_server.url}/studio/gallery/")
    cards = page.locator(".gallery-card")
    expect(cards).to_have_count(24)  # the first page: the two oldest portraits are not loaded yet
    ids = cards.evaluate_all("cards => cards.map(c => c.id.slice(5))")

    # In the grid: tick three, make them public, then private again; their badges follow.
    boxes = page.locator(".gallery-select")
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    bulk = page.get_by_role("form", name="Bulk actions")
    bulk.get_by_role("button", name="Make public").click()
    for pk in ids[:3]:
        expect(page.locator(f"#public-badge-{pk}")).to_contain_text("public")
    expect(page.locator(f"#public-badge-{ids[3]}")).to_have_text("")
    assert Portrait.objects.filter(owner=signed_in, is_public=True).count() == 3
    bulk.get_by_role("button", name="Make private").click()
    for pk in ids[:3]:
        expect(page.locator(f"#public-badge-{pk}")).to_have_text("")
    expect(page.locator(".toast").last).to_contain_text("Made 3 portraits private.")
    assert not Portrait.objects.filter(owner=signed_in, is_public=True).exists()

    # In the lightbox, on a card the grid shows: the lightbox's label and button flip, and the card's badge.
    lightbox = page.locator("#lightbox")
    cards.nth(1).locator("a[data-lightbox]").click()
    expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", ids[1])
    lightbox.get_by_role("button", name="Make public").click()
    expect(lightbox.locator(f"#visibility-state-{ids[1]}")).to_contain_text("Public")
    expect(lightbox.get_by_role("button", name="Make private")).to_be_visible()
    expect(page.locator(f"#public-badge-{ids[1]}")).to_contain_text("public")
    lightbox.get_by_role("button", name="Make private").click()
    expect(lightbox.locator(f"#visibility-state-{ids[1]}")).to_contain_text("Private")
    expect(page.locator(f"#public-badge-{ids[1]}")).to_have_text("")

    # Stepped past the last loaded card (the arrow keys, so the grid never scrolls to load more): the lightbox
    # still updates, and no card is named.
    for pk in ids[2:]:
        page.keyboard.press("ArrowRight")
        expect(lightbox.locator(".lightbox")).to_have_attribute("data-portrait", pk)
    page.keyboard.press("ArrowRight")
    expect(lightbox.locator(".lightbox")).not_to_have_attribute("data-portrait", ids[-1])
    unloaded = lightbox.locator(".lightbox").get_attribute("data-portrait")
    assert unloaded not in ids and page.locator(f"#card-{unloaded}").count() == 0
    lightbox.get_by_role("button", name="Make public").click()
    expect(lightbox.locator(f"#visibility-state-{unloaded}")).to_contain_text("Public")
    expect(lightbox.get_by_role("button", name="Make private")).to_be_visible()
    assert Portrait.objects.get(pk=unloaded).is_public
    # Liking it too names no card (the like button's own swap is the only one).
    lightbox.locator(".like-button").click()
    expect(lightbox.locator(".like-button")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    # The portrait's own page: its label and button flip in place.
    page.goto(f"{live_server.url}/studio/gallery/{ids[0]}/")
    page.get_by_role("button", name="Make public").click()
    expect(page.locator(f"#visibility-state-{ids[0]}")).to_contain_text("Public")
    page.get_by_role("button", name="Make private").click()
    expect(page.locator(f"#visibility-state-{ids[0]}")).to_contain_text("Private")
    expect(page.get_by_role("button", name="Make public")).to_be_visible()
    assert not Portrait.objects.get(pk=ids[0]).is_public

    # Public through its character: no Make public (it would change nothing), a link to the character instead.
    character = Portrait.objects.get(pk=ids[0]).character
    character.visibility = "public"
    character.save()
    page.reload()
    expect(page.locator(f"#visibility-state-{ids[0]}")).to_contain_text("Public with its character")
    expect(page.get_by_role("button", name="Make public")).to_have_count(0)
    page.get_by_role("link", name="Change on the character").click()
    expect(page).to_have_url(re.compile(rf"/studio/characters/{character.pk}/edit/#id_visibility$"))


def test_on_a_phone_the_grid_does_not_move_while_the_page_loads(page, live_server, signed_in):
    """Controls that scripts show are in place from the first paint: nothing pushes the grid down later (a
    layout shift Lighthouse counted against My portraits at 390 px)."""
    seed_portraits(signed_in, 12, characters=2, public_fraction=0)
    page.set_viewport_size({"width": 390, "height": 844})
    page.add_init_script(
        """window.__shifts = [];
        new PerformanceObserver((found) => {
            for (const shift of found.getEntries()) {
                if (!shift.hadRecentInput) window.__shifts.push(shift.value);
            }
        }).observe({type: "layout-shift", buffered: true});"""
    )
    page.goto(f"{live_server.url}/studio/gallery/", wait_until="networkidle")
    expect(page.get_by_role("button", name="Select all loaded")).to_be_visible()
    page.wait_for_timeout(300)
    shift = page.evaluate("window.__shifts.reduce((a, b) => a + b, 0)")
    assert shift < 0.01, f"cumulative layout shift {shift:.3f}"


def test_a_like_right_after_make_public_in_the_lightbox_is_kept_on_screen(page, live_server, signed_in):
    """Make public answers with the label and button it changes; the lightbox is not reloaded behind it, so a
    Like clicked meanwhile is not swapped into a button the reload has replaced (seen once in CI)."""
    pk, lightbox = open_the_first_card(page, live_server, signed_in, 2)
    reloads = []
    page.on(
        "request",
        lambda request: request.method == "GET" and f"/gallery/{pk}/" in request.url and reloads.append(1),
    )

    lightbox.get_by_role("button", name="Make public").click()
    lightbox.locator(".like-button").click()  # at once, while the first answer may still be settling

    expect(lightbox.get_by_role("button", name="Make private")).to_be_visible()
    expect(lightbox.locator(".like-button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#like-{pk}")).to_have_attribute("aria-pressed", "true")  # the card behind it too
    page.wait_for_timeout(500)
    expect(lightbox.locator(".like-button")).to_have_attribute("aria-pressed", "true")
    assert not reloads, "the lightbox was reloaded behind the change"
    portrait = Portrait.objects.get(pk=pk)
    assert portrait.is_public and portrait.like_count == 1
