"""Gallery pages through the client: scoping, community visibility, scroll pages, filters, likes, bulk."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.portraits.models import Portrait
from studio.portraits.tests.test_galleries import make_portraits, png_bytes
from studio.tests.factories import CharacterFactory, PortraitFactory, UserFactory

pytestmark = pytest.mark.django_db


def painted(owner, colour="red", **fields) -> Portrait:
    character = fields.pop("character", None) or CharacterFactory(owner=owner)
    portrait = PortraitFactory(character=character, **fields)
    portrait.store_image(png_bytes(colour))
    return portrait


def card_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="card-(\d+)"', html)]


def test_it_shows_my_portraits_and_nobody_elses(logged_in_client, user, other_user):
    mine = painted(user)
    theirs = painted(other_user, visibility="public")
    response = logged_in_client.get(reverse("studio:my_gallery"))
    assert card_ids(response.text) == [mine.pk]
    assert reverse("studio:portrait_thumbnail", args=[mine.pk]) in response.text
    assert f"card-{theirs.pk}" not in response.text
    assert 'loading="lazy"' in response.text and 'width="32" height="32"' in response.text


def test_it_never_shows_the_full_image_on_a_card(logged_in_client, user):
    portrait = painted(user)
    response = logged_in_client.get(reverse("studio:my_gallery"))
    assert reverse("studio:portrait_image", args=[portrait.pk]) not in response.text


def test_it_asks_anonymous_visitors_to_log_in_for_private_galleries(client, user):
    character = CharacterFactory(owner=user)
    for url in (
        reverse("studio:my_gallery"),
        reverse("studio:character_gallery", args=[character.pk]),
        reverse("studio:gallery_stats"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_hides_another_users_character_gallery_and_lightbox(logged_in_client, other_user):
    theirs = painted(other_user, visibility="public")
    assert (
        logged_in_client.get(reverse("studio:character_gallery", args=[theirs.character.pk])).status_code
        == 404
    )
    assert logged_in_client.get(reverse("studio:gallery_portrait", args=[theirs.pk])).status_code == 404


def test_it_shows_a_characters_gallery_with_only_its_portraits(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Iris Vane")
    own = painted(user, character=character)
    painted(user)
    response = logged_in_client.get(reverse("studio:character_gallery", args=[character.pk]))
    assert card_ids(response.text) == [own.pk]
    assert "Iris Vane" in response.text


def test_anonymous_visitors_browse_only_public_portraits_in_the_community(client, user, other_user):
    public = painted(user, visibility="public")
    public_character = CharacterFactory(owner=other_user, visibility="public")
    through_character = painted(other_user, character=public_character)
    private = painted(user)
    unfinished = PortraitFactory(character=CharacterFactory(owner=user), visibility="public")
    response = client.get(reverse("studio:community_gallery"))
    assert response.status_code == 200
    assert sorted(card_ids(response.text)) == sorted([public.pk, through_character.pk])
    assert f"card-{private.pk}" not in response.text and f"card-{unfinished.pk}" not in response.text
    assert reverse("studio:community_thumbnail", args=[public.pk]) in response.text
    assert "gallery-select" not in response.text  # no bulk selection for other people's portraits


def test_public_files_and_pages_serve_only_public_portraits(client, user):
    public = painted(user, visibility="public")
    private = painted(user)
    thumb = client.get(reverse("studio:community_thumbnail", args=[public.pk]))
    assert b"".join(thumb.streaming_content)[8:12] == b"WEBP"
    assert client.get(reverse("studio:community_image", args=[public.pk])).status_code == 200
    assert client.get(reverse("studio:community_portrait", args=[public.pk])).status_code == 200
    for route in ("studio:community_thumbnail", "studio:community_image", "studio:community_portrait"):
        assert client.get(reverse(route, args=[private.pk])).status_code == 404


def test_making_a_character_private_takes_its_portraits_out_of_the_community(client, user):
    character = CharacterFactory(owner=user, visibility="public")
    portrait = painted(user, character=character)
    assert card_ids(client.get(reverse("studio:community_gallery")).text) == [portrait.pk]
    character.visibility = "private"
    character.save()
    assert card_ids(client.get(reverse("studio:community_gallery")).text) == []


def test_it_scrolls_with_htmx_pages_that_link_to_the_next_one(logged_in_client, user, htmx_headers):
    portraits = make_portraits(user, 30, status="succeeded")
    first = logged_in_client.get(reverse("studio:my_gallery"))
    assert len(card_ids(first.text)) == 24
    assert 'hx-trigger="revealed"' in first.text
    next_url = re.search(r'<a class="btn btn-outline-secondary gallery-more-link" href="([^"]+)"', first.text)
    assert next_url, "a real Load more link for browsers without JS"
    url = next_url.group(1).replace("&amp;", "&")
    with CaptureQueriesContext(connection) as queries:
        second = logged_in_client.get(url, HTTP_HX_TARGET="gallery-more", **htmx_headers)
    assert len(queries) <= 3  # session, user, one portraits query
    assert "<html" not in second.text
    assert len(card_ids(second.text)) == 6
    assert set(card_ids(first.text)) | set(card_ids(second.text)) == {p.pk for p in portraits}
    assert "That's all of them." in second.text and "revealed" not in second.text


def test_the_load_more_link_works_without_javascript(logged_in_client, user):
    make_portraits(user, 26)
    first = logged_in_client.get(reverse("studio:my_gallery"), {"provider": "local"})
    url = re.search(r'gallery-more-link" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    assert "provider=local" in url
    second = logged_in_client.get(url)
    assert "<html" in second.text and len(card_ids(second.text)) == 2


def test_a_garbled_cursor_shows_the_first_page(logged_in_client, user):
    make_portraits(user, 3)
    response = logged_in_client.get(reverse("studio:my_gallery"), {"after": "%%%garbage"})
    assert response.status_code == 200 and len(card_ids(response.text)) == 3


def test_it_filters_by_provider_status_character_and_date(logged_in_client, user):
    character = CharacterFactory(owner=user)
    local = PortraitFactory(character=character, provider="local", status="succeeded")
    remote = PortraitFactory(character=character, provider="openai", status="failed")
    other = PortraitFactory(character=CharacterFactory(owner=user), provider="openai", status="succeeded")
    url = reverse("studio:my_gallery")
    assert card_ids(logged_in_client.get(url, {"provider": "local"}).text) == [local.pk]
    assert card_ids(logged_in_client.get(url, {"status": "failed"}).text) == [remote.pk]
    assert card_ids(logged_in_client.get(url, {"character": other.character_id}).text) == [other.pk]
    today = local.created_at.date().isoformat()
    assert len(card_ids(logged_in_client.get(url, {"date_from": today, "date_to": today}).text)) == 3
    assert card_ids(logged_in_client.get(url, {"date_to": "2001-01-01"}).text) == []


def test_filters_update_only_the_results_through_htmx(logged_in_client, user, htmx_headers):
    wanted = PortraitFactory(character=CharacterFactory(owner=user), prompt="A pirate with a parrot.")
    PortraitFactory(character=CharacterFactory(owner=user), prompt="A queen in a castle.")
    response = logged_in_client.get(
        reverse("studio:my_gallery"), {"q": "parrot"}, HTTP_HX_TARGET="gallery-results", **htmx_headers
    )
    assert card_ids(response.text) == [wanted.pk]
    assert '<form method="get"' not in response.text


def test_it_says_when_no_portrait_matches(logged_in_client, user):
    PortraitFactory(character=CharacterFactory(owner=user))
    response = logged_in_client.get(reverse("studio:my_gallery"), {"q": "zeppelin"})
    assert "No portrait matches these filters" in response.text


def test_it_ignores_a_bad_filter_with_a_message_instead_of_failing(logged_in_client, user):
    response = logged_in_client.get(reverse("studio:my_gallery"), {"date_from": "soon", "character": "x"})
    assert response.status_code == 200
    assert "Ignored a filter" in response.text


def test_liking_updates_the_count_in_place(logged_in_client, user, other_user, htmx_headers):
    portrait = painted(other_user, visibility="public")
    url = reverse("studio:portrait_like", args=[portrait.pk])
    response = logged_in_client.post(url, **htmx_headers)
    assert 'aria-pressed="true"' in response.text
    assert '<span class="like-count">1</span>' in response.text
    response = logged_in_client.post(url, **htmx_headers)
    assert 'aria-pressed="false"' in response.text
    assert '<span class="like-count">0</span>' in response.text


def test_like_and_favourite_buttons_work_without_javascript(logged_in_client, user, other_user):
    portrait = painted(other_user, visibility="public")
    gallery = reverse("studio:community_gallery")
    page = logged_in_client.get(gallery).text
    like_url = reverse("studio:portrait_like", args=[portrait.pk])
    # Each button submits the page's one card-actions form (CSRF token, way back) to its own URL.
    assert f'form="card-actions" formaction="{like_url}"' in page
    form = re.search(r'<form id="card-actions" method="post"[^>]*>(.*?)</form>', page).group(1)
    assert 'name="csrfmiddlewaretoken"' in form and f'name="next" value="{gallery}"' in form
    response = logged_in_client.post(like_url, {"next": gallery})
    assert response.status_code == 302 and response["Location"] == gallery
    assert 'aria-pressed="true"' in logged_in_client.get(gallery).text
    lightbox = logged_in_client.get(reverse("studio:community_portrait", args=[portrait.pk])).text
    assert '<form id="card-actions"' in lightbox and f'formaction="{like_url}"' in lightbox


def test_it_liked_by_me_and_favourites_filters(logged_in_client, user):
    liked, starred, plain = (painted(user) for _ in range(3))
    logged_in_client.post(reverse("studio:portrait_like", args=[liked.pk]))
    logged_in_client.post(reverse("studio:portrait_favourite", args=[starred.pk]))
    url = reverse("studio:my_gallery")
    assert card_ids(logged_in_client.get(url, {"liked": "1"}).text) == [liked.pk]
    assert card_ids(logged_in_client.get(url, {"favourites": "1"}).text) == [starred.pk]
    assert plain.pk in card_ids(logged_in_client.get(url).text)


def test_nobody_can_like_or_star_a_private_portrait_of_someone_else(logged_in_client, other_user):
    private = painted(other_user)
    for route in ("studio:portrait_like", "studio:portrait_favourite"):
        assert logged_in_client.post(reverse(route, args=[private.pk])).status_code == 404
    assert private.likes.count() == 0


def test_anonymous_visitors_are_asked_to_log_in_to_like(client, user):
    public = painted(user, visibility="public")
    response = client.post(reverse("studio:portrait_like", args=[public.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_favourites_are_private(client, logged_in_client, user, other_user):
    public = painted(user, visibility="public")
    logged_in_client.post(reverse("studio:portrait_favourite", args=[public.pk]))
    client.force_login(other_user)
    assert card_ids(client.get(reverse("studio:community_gallery"), {"favourites": "1"}).text) == []


def test_bulk_delete_removes_only_my_portraits(logged_in_client, user, other_user, htmx_headers):
    mine = [painted(user) for _ in range(3)]
    keep = painted(user)
    theirs = painted(other_user)
    ids = [p.pk for p in mine] + [theirs.pk]
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {"action": "delete", "ids": ids, "sent_from": "grid"}, **htmx_headers
    )
    assert response.status_code == 200
    for portrait in mine:
        assert f'id="card-{portrait.pk}" hx-swap-oob="delete"' in response.text
    assert f"card-{theirs.pk}" not in response.text
    assert "Deleted 3 portraits." in response.text
    assert set(Portrait.objects.values_list("pk", flat=True)) == {keep.pk, theirs.pk}


def test_bulk_visibility_without_javascript_redirects_back(logged_in_client, user, other_user):
    mine = painted(user)
    theirs = painted(other_user)
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"),
        {"action": "public", "ids": [mine.pk, theirs.pk], "next": "/studio/gallery/?provider=local"},
    )
    assert response.status_code == 302 and response["Location"] == "/studio/gallery/?provider=local"
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.is_public and mine.visibility == "public"
    assert not theirs.is_public
    logged_in_client.post(reverse("studio:gallery_bulk"), {"action": "private", "ids": [mine.pk]})
    mine.refresh_from_db()
    assert not mine.is_public


def test_bulk_rejects_unknown_actions_and_empty_selections(logged_in_client, user, other_user):
    theirs = painted(other_user)
    url = reverse("studio:gallery_bulk")
    response = logged_in_client.post(url, {"action": "explode", "ids": [theirs.pk]}, follow=True)
    assert "Choose what to do" in response.text
    response = logged_in_client.post(url, {"action": "delete", "ids": [theirs.pk]}, follow=True)
    assert "Select at least one of your portraits" in response.text
    assert Portrait.objects.filter(pk=theirs.pk).exists()


def test_bulk_download_streams_a_zip_of_my_selected_portraits(logged_in_client, user, other_user):
    character = CharacterFactory(owner=user, name="Iris Vane")
    mine = [painted(user, colour=colour, character=character) for colour in ("red", "blue")]
    theirs = painted(other_user)
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {"action": "zip", "ids": [p.pk for p in [*mine, theirs]]}
    )
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"iris-vane-{p.pk}.png" for p in mine)


def test_the_lightbox_shows_metadata_actions_and_neighbours(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user, name="Iris Vane")
    older, middle, newer = make_portraits(user, 3, tie_every=1, character=character)[::-1]
    middle.store_image(png_bytes())
    response = logged_in_client.get(reverse("studio:gallery_portrait", args=[middle.pk]), **htmx_headers)
    assert "<html" not in response.text
    for text in (
        middle.prompt,
        "Local painter · painter-v1",
        str(middle.seed),
        "32x32",
        "Iris Vane",
        "Download",
    ):
        assert text in response.text
    assert reverse("studio:portrait_image", args=[middle.pk]) in response.text
    assert (
        f'href="{reverse("studio:gallery_portrait", args=[newer.pk])}" data-lightbox data-lightbox-prev'
        in (response.text)
    )
    assert (
        f'href="{reverse("studio:gallery_portrait", args=[older.pk])}" data-lightbox data-lightbox-next'
        in (response.text)
    )
    assert "Make public" in response.text and "Remix" in response.text and "Delete" in response.text


def test_the_lightbox_steps_within_the_current_filters(logged_in_client, user):
    character = CharacterFactory(owner=user)
    first, _skipped, last = make_portraits(user, 3, tie_every=1, character=character)
    _skipped.provider = "openai"
    _skipped.save()
    response = logged_in_client.get(
        reverse("studio:gallery_portrait", args=[first.pk]), {"provider": "local"}
    )
    assert f"{reverse('studio:gallery_portrait', args=[last.pk])}?provider=local" in response.text


def test_the_community_lightbox_has_no_owner_actions(client, user):
    public = painted(user, visibility="public")
    response = client.get(reverse("studio:community_portrait", args=[public.pk]))
    assert reverse("studio:community_image", args=[public.pk]) in response.text
    assert "Make private" not in response.text and "Delete" not in response.text


def test_the_stats_page_charts_my_characters_and_portraits(logged_in_client, user):
    character = CharacterFactory(owner=user, hair_color="auburn")
    liked = painted(user, character=character, provider="openai")
    PortraitFactory(character=character, provider="local")
    logged_in_client.post(reverse("studio:portrait_like", args=[liked.pk]))
    response = logged_in_client.get(reverse("studio:gallery_stats"))
    assert response.status_code == 200
    assert response.text.count("<svg") == 4
    assert "Hair colour: Auburn" in response.text
    assert '<th scope="row">OpenAI</th><td>1</td>' in response.text
    assert '<th scope="row">Local painter</th><td>1</td>' in response.text
    assert reverse("studio:gallery_portrait", args=[liked.pk]) in response.text


def test_the_navigation_links_the_galleries(logged_in_client, user):
    response = logged_in_client.get(reverse("studio:character_list"))
    for name in ("My portraits", "Community", "Stats"):
        assert f">{name}</a>" in response.text
    logged_in_client.logout()
    assert ">Community</a>" in logged_in_client.get("/").text


def character_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*id="gallery-character".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select)


def test_the_full_page_needs_three_queries_once_the_character_list_is_known(logged_in_client, user):
    make_portraits(user, 5, status="succeeded")
    PortraitFactory(owner=user, character=None, provider="patterns", model="mandala", status="succeeded")
    url = reverse("studio:my_gallery")
    logged_in_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = logged_in_client.get(url)
    assert len(queries) == 3, [q["sql"] for q in queries]  # session, user, one portraits query
    assert len(card_ids(response.text)) == 6
    assert "Pattern: mandala" in response.text  # a card without a character names how it was made


def test_the_character_filter_follows_adds_renames_and_deletes_at_once(logged_in_client, user):
    from studio.imports.commit import commit

    CharacterFactory(owner=user, name="Ann")
    url = reverse("studio:my_gallery")
    assert character_options(logged_in_client.get(url).text) == ["Ann"]
    bob = CharacterFactory(owner=user, name="Bob")
    CharacterFactory(owner=UserFactory(), name="Not mine")
    assert character_options(logged_in_client.get(url).text) == ["Ann", "Bob"]
    bob.name = "Abe"
    bob.save()
    assert character_options(logged_in_client.get(url).text) == ["Abe", "Ann"]
    bob.delete()
    assert character_options(logged_in_client.get(url).text) == ["Ann"]
    commit(b"name\nCleo\n", user)  # imports write with raw SQL
    assert character_options(logged_in_client.get(url).text) == ["Ann", "Cleo"]
    ann = user.characters.get(name="Ann")
    commit(f"id,name\n{ann.pk},Anna\n".encode(), user)
    assert character_options(logged_in_client.get(url).text) == ["Anna", "Cleo"]


def test_it_ignores_a_date_beyond_the_calendar_on_every_gallery_and_lightbox_page(logged_in_client, user):
    portrait = painted(user, visibility="public")
    urls = (
        reverse("studio:my_gallery"),
        reverse("studio:character_gallery", args=[portrait.character_id]),
        reverse("studio:community_gallery"),
        reverse("studio:gallery_portrait", args=[portrait.pk]),
        reverse("studio:community_portrait", args=[portrait.pk]),
    )
    for url in urls:
        for query in ({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}):
            response = logged_in_client.get(url, query)
            assert response.status_code == 200, (url, query)
            assert "between 1900 and 9998" in response.text, (url, query)
            assert f"card-{portrait.pk}" in response.text or f'data-portrait="{portrait.pk}"' in response.text


def test_a_cursor_that_overflows_in_utc_shows_the_first_page(logged_in_client, user, htmx_headers):
    make_portraits(user, 3)
    crafted = "MDAwMS0wMS0wMVQwMDowMDowMCswNTowMF81"  # 0001-01-01T00:00:00+05:00, id 5
    for url in (reverse("studio:my_gallery"), reverse("studio:community_gallery")):
        response = logged_in_client.get(url, {"after": crafted})
        assert response.status_code == 200
    assert len(card_ids(logged_in_client.get(reverse("studio:my_gallery"), {"after": crafted}).text)) == 3
    # An HTMX scroll request with a bad cursor appends nothing, not a whole page into the grid.
    scroll = logged_in_client.get(
        reverse("studio:my_gallery"), {"after": crafted}, HTTP_HX_TARGET="gallery-more", **htmx_headers
    )
    assert scroll.status_code == 200 and "<html" not in scroll.text and card_ids(scroll.text) == []


def test_the_lightbox_remix_button_opens_quick_generate_prefilled(logged_in_client, user, htmx_headers):
    with_character = painted(user)
    without = PortraitFactory(
        owner=user, character=None, provider="patterns", model="mandala", status="succeeded"
    )
    quick = reverse("studio:quick_generate")
    for portrait in (with_character, without):
        for headers in ({}, htmx_headers):
            response = logged_in_client.get(reverse("studio:gallery_portrait", args=[portrait.pk]), **headers)
            assert f'href="{quick}?remix={portrait.pk}"' in response.text
    remix = logged_in_client.get(f"{quick}?remix={without.pk}")
    assert remix.status_code == 200 and without.prompt in remix.text


def test_the_standalone_portrait_page_goes_back_to_the_gallery_after_an_htmx_delete(
    logged_in_client, user, htmx_headers
):
    portrait = painted(user)
    page = logged_in_client.get(reverse("studio:gallery_portrait", args=[portrait.pk]), {"provider": "local"})
    assert "gallery.js" in page.text  # arrow keys step to the newer/older portrait here too
    delete_form = re.search(
        r'<form[^>]*hx-confirm="Delete this portrait\?"[^>]*>(.*?)</form>', page.text, re.S
    )
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', delete_form.group(1)))
    assert "data-close-lightbox" not in delete_form.group(0)
    fields["next"] = fields["next"].replace("&amp;", "&")
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {**fields, "action": "delete"}, **htmx_headers
    )
    assert response["HX-Redirect"] == f"{reverse('studio:my_gallery')}?provider=local"
    assert not Portrait.objects.filter(pk=portrait.pk).exists()
    assert "Deleted 1 portrait." in logged_in_client.get(response["HX-Redirect"]).text
    # In the lightbox the same form closes the lightbox instead, and the card leaves the grid.
    other = painted(user)
    lightbox = logged_in_client.get(reverse("studio:gallery_portrait", args=[other.pk]), **htmx_headers).text
    delete_form = re.search(
        r'<form[^>]*hx-confirm="Delete this portrait\?"[^>]*>(.*?)</form>', lightbox, re.S
    )
    assert "data-close-lightbox" in delete_form.group(0) and 'name="redirect"' not in delete_form.group(1)
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"),
        {"action": "delete", "ids": [other.pk], "card": other.pk},
        **htmx_headers,
    )
    assert "HX-Redirect" not in response and f'id="card-{other.pk}" hx-swap-oob="delete"' in response.text
    # The lightbox had stepped past the cards the grid has loaded (gallery.js sends no card): none is named.
    third = painted(user)
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {"action": "delete", "ids": [third.pk]}, **htmx_headers
    )
    assert "Deleted 1 portrait." in response.text and 'hx-swap-oob="delete"' not in response.text


def test_an_htmx_visibility_change_flips_the_portraits_label_and_button(logged_in_client, user, htmx_headers):
    portrait = painted(user)
    page = logged_in_client.get(reverse("studio:gallery_portrait", args=[portrait.pk])).text
    assert f'id="visibility-button-{portrait.pk}"' in page and "Make public" in page
    form = re.search(r'<form[^>]*>((?:(?!</form>).)*?id="visibility-button-.*?)</form>', page, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert fields["sent_from"] == "portrait" and fields["ids"] == str(portrait.pk)
    url = reverse("studio:gallery_bulk")
    response = logged_in_client.post(url, {**fields, "action": "public"}, **htmx_headers)
    # The portrait's own page has no grid card: its badge is not named.
    assert f"public-badge-{portrait.pk}" not in response.text
    state = re.search(
        rf'<span id="visibility-state-{portrait.pk}" hx-swap-oob="true">(.*?)</span>', response.text
    )
    assert "Public" in state.group(1)
    button = re.search(
        rf'<span id="visibility-button-{portrait.pk}" hx-swap-oob="true">(.*?)</span>', response.text, re.S
    )
    assert "Make private" in button.group(1) and "Make public" not in button.group(1)
    response = logged_in_client.post(url, {**fields, "action": "private"}, **htmx_headers)
    button = re.search(
        rf'<span id="visibility-button-{portrait.pk}" hx-swap-oob="true">(.*?)</span>', response.text, re.S
    )
    assert "Make public" in button.group(1)


def test_bulk_visibility_swaps_out_of_band_only_what_the_requesting_page_shows(
    logged_in_client, user, htmx_headers
):
    first, second = painted(user), painted(user)
    grid = logged_in_client.get(reverse("studio:my_gallery")).text
    bulk_form = re.search(r'<form id="bulk-form".*?</form>', grid, re.S).group(0)
    assert '<input type="hidden" name="sent_from" value="grid">' in bulk_form
    url = reverse("studio:gallery_bulk")
    ids = [first.pk, second.pk]

    def swapped(response) -> list[str]:
        return re.findall(r'id="([\w-]+)" hx-swap-oob', response.text.split('<div id="toasts"')[0])

    # The grid: each ticked card's badge, and nothing of the lightbox or portrait page (not on the grid page).
    response = logged_in_client.post(
        url, {"action": "public", "ids": ids, "sent_from": "grid"}, **htmx_headers
    )
    assert sorted(swapped(response)) == sorted(f"public-badge-{pk}" for pk in ids)
    assert response.text.count("bi-globe2") == 2 and "Made 2 portraits public." in response.text
    # The lightbox over a loaded card (gallery.js names it): its label and button, and that card's badge.
    fields = {"ids": [first.pk], "sent_from": "portrait", "card": first.pk}
    response = logged_in_client.post(url, {**fields, "action": "private"}, **htmx_headers)
    assert sorted(swapped(response)) == sorted(
        [f"public-badge-{first.pk}", f"visibility-state-{first.pk}", f"visibility-button-{first.pk}"]
    )
    # A card named that is not one of the portraits acted on is never swapped.
    fields = {"ids": [first.pk], "sent_from": "portrait", "card": second.pk}
    response = logged_in_client.post(url, {**fields, "action": "public"}, **htmx_headers)
    assert sorted(swapped(response)) == [f"visibility-button-{first.pk}", f"visibility-state-{first.pk}"]
    # A request that says nothing of its page gets no out-of-band swap, only the event and the toast.
    response = logged_in_client.post(url, {"action": "private", "ids": ids}, **htmx_headers)
    assert swapped(response) == [] and response["HX-Trigger"] == "portraitsChanged"
    assert "Made 2 portraits private." in response.text
    assert not Portrait.objects.filter(pk__in=ids, is_public=True).exists()


def test_it_shows_only_my_data_on_the_stats_page(logged_in_client, user, other_user):
    mine = painted(user, character=CharacterFactory(owner=user, hair_color="auburn"), provider="openai")
    theirs = painted(
        other_user, character=CharacterFactory(owner=other_user, hair_color="black"), provider="stability"
    )
    theirs.visibility = "public"
    theirs.save()
    logged_in_client.post(
        reverse("studio:portrait_like", args=[theirs.pk])
    )  # a like I gave, on their portrait
    response = logged_in_client.get(reverse("studio:gallery_stats"))
    assert "1 character, 1 portrait, 0 in the community gallery." in response.text
    assert '<th scope="row">OpenAI</th><td>1</td>' in response.text
    assert "Stability AI" not in response.text and "Hair colour: Black" not in response.text
    assert reverse("studio:gallery_portrait", args=[theirs.pk]) not in response.text
    assert "No likes yet" in response.text
    assert mine.pk


def test_community_scroll_pages_skip_private_portraits(client, user, other_user, htmx_headers):
    portraits = make_portraits(user, 60, tie_every=2, status="succeeded")
    for index, portrait in enumerate(portraits):
        portrait.visibility = "public" if index % 3 else "private"
        portrait.save()
    public = {p.pk for i, p in enumerate(portraits) if i % 3}  # 40: two pages
    first = client.get(reverse("studio:community_gallery")).text
    seen, scroll_pages = card_ids(first), 0
    next_url = re.search(r'gallery-more-link" href="([^"]+)"', first)
    while next_url:
        page = client.get(
            next_url.group(1).replace("&amp;", "&"), HTTP_HX_TARGET="gallery-more", **htmx_headers
        )
        seen += card_ids(page.text)
        scroll_pages += 1
        next_url = re.search(r'gallery-more-link" href="([^"]+)"', page.text)
    assert scroll_pages == 1
    assert len(seen) == len(set(seen)) and set(seen) == public


def test_the_community_lightbox_steps_over_private_portraits(client, user):
    newest, private, oldest = make_portraits(user, 3, tie_every=1, status="succeeded")
    for portrait in (newest, oldest):
        portrait.visibility = "public"
        portrait.save()
    first = client.get(reverse("studio:community_portrait", args=[newest.pk])).text
    assert (
        f'href="{reverse("studio:community_portrait", args=[oldest.pk])}" data-lightbox data-lightbox-next'
        in first
    )
    last = client.get(reverse("studio:community_portrait", args=[oldest.pk])).text
    assert (
        f'href="{reverse("studio:community_portrait", args=[newest.pk])}" data-lightbox data-lightbox-prev'
        in last
    )
    for html in (first, last):
        assert reverse("studio:community_portrait", args=[private.pk]) not in html


def test_gallery_pages_vary_on_the_htmx_headers(logged_in_client, user, htmx_headers):
    portrait = painted(user, visibility="public")
    for url in (
        reverse("studio:my_gallery"),
        reverse("studio:character_gallery", args=[portrait.character_id]),
        reverse("studio:community_gallery"),
    ):
        for headers in ({}, {**htmx_headers, "HTTP_HX_TARGET": "gallery-results"}):
            vary = logged_in_client.get(url, **headers)["Vary"]
            assert "HX-Request" in vary and "HX-Target" in vary, url
    for url in (
        reverse("studio:gallery_portrait", args=[portrait.pk]),
        reverse("studio:community_portrait", args=[portrait.pk]),
    ):
        assert "HX-Request" in logged_in_client.get(url)["Vary"], url


def test_liking_in_the_lightbox_updates_the_grid_card_too(logged_in_client, user, other_user, htmx_headers):
    portrait = painted(other_user, visibility="public")
    lightbox = logged_in_client.get(
        reverse("studio:community_portrait", args=[portrait.pk]), **htmx_headers
    ).text
    assert (
        f'id="lightbox-like-{portrait.pk}"' in lightbox
        and f'id="lightbox-favourite-{portrait.pk}"' in lightbox
    )
    grid = logged_in_client.get(reverse("studio:community_gallery")).text
    assert f'id="like-{portrait.pk}"' in grid and f'id="favourite-{portrait.pk}"' in grid
    url = reverse("studio:portrait_like", args=[portrait.pk])
    # gallery.js names the card when the grid has it loaded.
    response = logged_in_client.post(
        url, {"card": portrait.pk}, HTTP_HX_TRIGGER=f"lightbox-like-{portrait.pk}", **htmx_headers
    )
    main, card = re.findall(r"<button .*?</button>", response.text, re.S)
    assert f'id="lightbox-like-{portrait.pk}"' in main and "hx-swap-oob" not in main
    assert f'id="like-{portrait.pk}" hx-swap-oob="true"' in card
    assert 'aria-pressed="true"' in card and '<span class="like-count">1</span>' in card
    # Liked from the card itself: only the card's button comes back.
    response = logged_in_client.post(url, HTTP_HX_TRIGGER=f"like-{portrait.pk}", **htmx_headers)
    assert (
        response.text.count("<button") == 1
        and "hx-swap-oob" not in response.text.split('<div id="toasts"')[0]
    )
    favourite = reverse("studio:portrait_favourite", args=[portrait.pk])
    trigger = f"lightbox-favourite-{portrait.pk}"
    response = logged_in_client.post(
        favourite, {"card": portrait.pk}, HTTP_HX_TRIGGER=trigger, **htmx_headers
    )
    assert f'id="favourite-{portrait.pk}" hx-swap-oob="true"' in response.text
    # The lightbox stepped past the cards loaded (no card named): only its own button comes back.
    for target, button in ((url, f"lightbox-like-{portrait.pk}"), (favourite, trigger)):
        response = logged_in_client.post(target, HTTP_HX_TRIGGER=button, **htmx_headers)
        assert response.text.count("<button") == 1 and f'id="{button}"' in response.text
        assert "hx-swap-oob" not in response.text.split('<div id="toasts"')[0]


def test_bulk_actions_say_when_the_selection_was_cut_to_the_limit(
    logged_in_client, user, settings, htmx_headers
):
    settings.GALLERY_BULK_LIMIT = 2
    portraits = [painted(user) for _ in range(3)]
    url = reverse("studio:gallery_bulk")
    response = logged_in_client.post(
        url, {"action": "delete", "ids": [p.pk for p in portraits]}, **htmx_headers
    )
    assert "Deleted 2 portraits." in response.text
    assert (
        "at most 2 portraits" in response.text and "1 of the selected portraits was left out" in response.text
    )
    assert Portrait.objects.filter(owner=user).count() == 1
    more = [painted(user) for _ in range(2)]
    ids = [p.pk for p in Portrait.objects.filter(owner=user)]
    response = logged_in_client.post(url, {"action": "public", "ids": ids}, follow=True)  # without JS
    assert (
        "Made 2 portraits public." in response.text
        and "1 of the selected portraits was left out" in response.text
    )
    response = logged_in_client.post(url, {"action": "private", "ids": [p.pk for p in more]}, follow=True)
    assert "Made 2 portraits private." in response.text and "left out" not in response.text


def test_community_files_may_be_cached_only_briefly(client, user):
    public = painted(user, visibility="public")
    for route in ("studio:community_thumbnail", "studio:community_image"):
        response = client.get(reverse(route, args=[public.pk]))
        assert response["Cache-Control"] == "public, max-age=60"


def test_an_empty_scroll_page_still_says_thats_all(logged_in_client, user, htmx_headers):
    make_portraits(user, 25, status="succeeded")
    first = logged_in_client.get(reverse("studio:my_gallery")).text
    next_url = re.search(r'gallery-more-link" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    Portrait.objects.filter(owner=user).exclude(pk__in=card_ids(first)).delete()  # the 25th went meanwhile
    response = logged_in_client.get(next_url, HTTP_HX_TARGET="gallery-more", **htmx_headers)
    assert card_ids(response.text) == []
    assert 'id="gallery-end"' in response.text and "That's all of them." in response.text


def test_a_selection_of_more_than_a_thousand_portraits_reaches_the_bulk_limit_not_a_400(
    logged_in_client, user, settings, htmx_headers
):
    """Django's default DATA_UPLOAD_MAX_NUMBER_FIELDS (1000) would refuse the form before the view runs."""
    portraits = [PortraitFactory(owner=user, character=None) for _ in range(3)]
    ids = [p.pk for p in portraits] + list(range(10**9, 10**9 + 1500))  # 1,503 fields; unknown ids skipped
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {"action": "private", "ids": ids}, **htmx_headers
    )
    assert response.status_code == 200
    assert "3 portraits" in response.text


def test_the_community_says_when_it_ignores_a_character_nobody_can_see(client, user, other_user):
    shown = painted(user, visibility="public")
    hidden_character = CharacterFactory(owner=other_user)  # private, with no shared portrait
    gallery = reverse("studio:community_gallery")
    for number in ("999999", str(hidden_character.pk)):  # no such character, or someone's private one
        response = client.get(gallery, {"character": number})
        assert response.status_code == 200
        assert "Ignored a filter. Character: no character you can see has that number." in response.text
        assert card_ids(response.text) == [shown.pk]  # the gallery without that filter
    assert "Ignored a filter. Character:" in client.get(gallery, {"character": "abc"}).text


def test_the_community_filters_by_a_character_the_viewer_can_see(client, logged_in_client, user, other_user):
    public_character = CharacterFactory(owner=other_user, visibility="public")
    of_public = painted(other_user, character=public_character)
    private_character = CharacterFactory(owner=other_user)
    shared_of_private = painted(other_user, character=private_character, visibility="public")
    own_private = CharacterFactory(owner=user)
    gallery = reverse("studio:community_gallery")
    for viewer, character, expected in (
        (client, public_character, [of_public.pk]),
        (client, private_character, [shared_of_private.pk]),  # its shared portrait is in the Community
        (logged_in_client, own_private, []),  # the viewer's own: nothing of it is shared
    ):
        response = viewer.get(gallery, {"character": character.pk})
        assert "Ignored a filter" not in response.text
        assert card_ids(response.text) == expected


def test_the_community_lightbox_says_when_it_ignores_a_character(client, user):
    portrait = painted(user, visibility="public")
    response = client.get(reverse("studio:community_portrait", args=[portrait.pk]), {"character": 999999})
    assert response.status_code == 200
    assert "Ignored a filter. Character: no character you can see has that number." in response.text
