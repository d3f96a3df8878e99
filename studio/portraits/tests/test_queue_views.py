from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from studio.portraits.generation import JobOptions, cancel_batch, queue_character_portraits, retry_portrait
from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Batch, Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db

QUICK = {"provider": "local", "model": "painter-v1", "size": "512x512"}


def test_it_queues_every_quick_prompt_as_one_batch(logged_in_client, user):
    data = QUICK | {"prompt": ["a lighthouse", "a fox"], "negative_prompt": ["fog", ""], "seed": ["7", ""]}
    response = logged_in_client.post(reverse("studio:quick_generate"), data)
    batch = Batch.objects.get()
    assert response["Location"] == batch.get_absolute_url()
    first, second = batch.portraits.order_by("id")
    assert (first.prompt, first.negative_prompt, first.seed) == ("a lighthouse", "fog", 7)
    assert second.prompt == "a fox" and second.character is None
    page = logged_in_client.get(batch.get_absolute_url())
    assert ">2 queued</span>" in page.text


def test_it_shows_each_quick_prompt_error_next_to_its_row_and_queues_nothing(logged_in_client, htmx_headers):
    data = QUICK | {
        "prompt": ["fine", "", "x" * 10001],
        "negative_prompt": ["", "", ""],
        "seed": ["", "-3", ""],
    }
    response = logged_in_client.post(reverse("studio:quick_generate"), data, **htmx_headers)
    assert not Portrait.objects.exists()
    rows = response.text.split('class="card mb-2 quick-row"')[1:]
    assert "row-errors" not in rows[0]
    assert "Write a prompt, or remove this row." in rows[1]
    assert "whole number" in rows[1]
    assert "the limit for Local painter is 10000. Shorten the prompt." in rows[2]
    assert "distinguishing features" not in rows[2], "a typed prompt has no character attributes"
    assert ">fine</textarea>" in rows[0], "what the user typed is kept"


HUGGINGFACE = {"provider": "huggingface", "model": "black-forest-labs/FLUX.1-schnell", "size": "1024x1024"}


def test_it_refuses_a_quick_prompt_over_the_chosen_providers_limit_and_nothing_else(
    logged_in_client, htmx_headers, fake_huggingface
):
    # Counted as it is sent: runs of spaces and line breaks are one space. 2,000 is Hugging Face's limit.
    at_limit = "a  \n " + "x" * 1998
    over = "x" * 2001
    data = HUGGINGFACE | {"prompt": [at_limit, over], "negative_prompt": ["", ""], "seed": ["", ""]}
    response = logged_in_client.post(reverse("studio:quick_generate"), data, **htmx_headers)
    assert not Portrait.objects.exists(), "one prompt too long queues none of the batch"
    first, second = response.text.split('class="card mb-2 quick-row"')[1:]
    assert "row-errors" not in first
    assert (
        "The prompt is 2001 characters long; the limit for Hugging Face is 2000. Shorten the prompt."
        in second
    )
    assert "Some prompts need attention" in response.text

    data["prompt"] = [at_limit, over[:2000]]
    logged_in_client.post(reverse("studio:quick_generate"), data)
    assert Portrait.objects.filter(provider="huggingface").count() == 2


def test_each_prompt_row_measures_its_prompt_against_the_chosen_providers_limit(
    logged_in_client, htmx_headers, fake_huggingface
):
    page = logged_in_client.get(reverse("studio:quick_generate")).text
    assert 'id="prompt-1-length">0 / 10000 characters</span>' in page, "the local painter by default"
    assert 'data-prompt-limit="10000" data-prompt-provider="Local painter"' in page

    prompts = ["a  lighthouse\n at dusk", "x" * 2001]
    data = HUGGINGFACE | {"prompt": prompts, "negative_prompt": ["", ""], "seed": ["", ""], "_add": "1"}
    rows = logged_in_client.post(reverse("studio:quick_generate"), data, **htmx_headers).text
    first, second, added = rows.split('class="card mb-2 quick-row"')[1:]
    assert 'text-bg-light" aria-live="off" id="prompt-1-length">20 / 2000 characters</span>' in first
    assert 'data-state="ok"' in first and "Too long" not in first
    assert 'text-bg-warning" aria-live="off" id="prompt-2-length">2001 / 2000 characters</span>' in second
    assert 'data-state="over"' in second and 'class="progress-bar bg-warning" style="width: 100%"' in second
    assert (
        'id="prompt-2-length-note">Too long for Hugging Face: shorten it or choose another provider.'
        in second
    )
    assert 'id="prompt-3-length">0 / 2000 characters' in added

    # A change of provider brings the new limit, which the meters (prompt_meter.js) read.
    options = HUGGINGFACE | {"per_row": "1", "changed": "provider", "prompt": prompts}
    changed = logged_in_client.post(reverse("studio:generator_options"), options, **htmx_headers).text
    assert 'data-prompt-limit="2000" data-prompt-provider="Hugging Face"' in changed


def test_it_adds_and_removes_rows_keeping_each_rows_text(logged_in_client, htmx_headers):
    url = reverse("studio:quick_generate")
    data = QUICK | {
        "prompt": ["one", "two", "three"],
        "negative_prompt": ["n1", "n2", "n3"],
        "seed": ["1", "2", "3"],
    }
    removed = logged_in_client.post(url, data | {"_remove": "1"}, **htmx_headers)
    assert "two" not in removed.text
    described = 'aria-describedby="prompt-2-length prompt-2-length-note"'
    assert f'id="prompt-2" rows="2" class="form-control" {described}>three</textarea>' in removed.text
    assert 'id="seed-2" value="3"' in removed.text
    added = logged_in_client.post(url, data | {"_add": "1"}, **htmx_headers)
    assert 'for="prompt-4">Prompt 4</label>' in added.text
    assert not Portrait.objects.exists()


def test_the_only_prompt_row_has_no_remove_button(logged_in_client, htmx_headers):
    url = reverse("studio:quick_generate")
    page = logged_in_client.get(url).text
    assert page.count('class="card mb-2 quick-row"') == 1 and 'name="_remove"' not in page
    # Two rows: each can go; removing one leaves the other without its button (with and without htmx).
    data = QUICK | {"prompt": ["one", "two"], "negative_prompt": ["", ""], "seed": ["", ""]}
    added = logged_in_client.post(url, data | {"_add": "1"}, **htmx_headers).text
    assert added.count('name="_remove"') == 3
    for headers in (htmx_headers, {}):
        removed = logged_in_client.post(url, data | {"_remove": "0"}, **headers).text
        assert ">two</textarea>" in removed and ">one</textarea>" not in removed
        assert 'name="_remove"' not in removed
    # An empty only row is asked for a prompt, not told to remove a row it cannot remove.
    response = logged_in_client.post(url, QUICK | {"prompt": [""], "negative_prompt": [""], "seed": [""]})
    assert "Write a prompt." in response.text and "or remove this row" not in response.text
    assert not Portrait.objects.exists()


def test_it_refuses_a_batch_over_the_daily_limit_with_a_clear_message(logged_in_client, user, settings):
    settings.DAILY_IMAGE_LIMIT = 1
    data = QUICK | {"prompt": ["a", "b"], "negative_prompt": ["", ""], "seed": ["", ""]}
    response = logged_in_client.post(reverse("studio:quick_generate"), data, follow=True)
    assert "daily limit of 1 images" in response.text
    assert not Portrait.objects.exists()


def test_the_generator_estimates_the_cost_and_follows_the_provider(
    logged_in_client, htmx_headers, fake_openai
):
    response = logged_in_client.get(
        reverse("studio:generator_options"),
        {"provider": "openai", "model": "painter-v1", "quality": "low", "size": "1024x1024", "count": "4"},
        **htmx_headers,
    )
    assert '<option value="gpt-image-2" selected>' in response.text, "a model the provider lacks is reset"
    assert "4 images × $0.006 = <strong>$0.02</strong> estimated" in response.text


def test_it_queues_variations_from_the_character_generator(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user)
    data = {"provider": "local", "model": "painter-v1", "size": "512x512", "count": "3", "seed": "10"}
    response = logged_in_client.post(
        reverse("studio:portrait_generate", args=[character.pk]), data, **htmx_headers
    )
    assert sorted(Portrait.objects.values_list("seed", flat=True)) == [10, 11, 12]
    assert response.text.count('class="col portrait-card-col"') == 3
    assert "portraitsChanged" in response["HX-Trigger"]


def test_it_cancels_and_retries_from_the_card(logged_in_client, user, htmx_headers):
    portrait = PortraitFactory(character=CharacterFactory(owner=user))
    response = logged_in_client.post(reverse("studio:portrait_cancel", args=[portrait.pk]), **htmx_headers)
    assert 'data-status="cancelled"' in response.text
    failed = PortraitFactory(character=portrait.character, status="failed", error_kind="transient")
    response = logged_in_client.post(reverse("studio:portrait_retry", args=[failed.pk]), **htmx_headers)
    assert 'data-status="queued"' in response.text
    refused = PortraitFactory(character=portrait.character, status="failed", error_kind="moderation")
    response = logged_in_client.post(reverse("studio:portrait_retry", args=[refused.pk]), **htmx_headers)
    assert "would fail the same way" in response.text


@pytest.mark.parametrize("route", ["studio:portrait_cancel", "studio:portrait_retry"])
def test_it_hides_another_users_job(client, other_user, user, route):
    portrait = PortraitFactory(
        character=CharacterFactory(owner=user), status="failed", error_kind="transient"
    )
    client.force_login(other_user)
    assert client.post(reverse(route, args=[portrait.pk])).status_code == 404


def test_the_queue_page_and_badge_show_active_jobs(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user, name="Orla")
    PortraitFactory.create_batch(2, character=character)
    page = logged_in_client.get(reverse("studio:queue"))
    assert "Running and queued" in page.text and 'data-active="2"' in page.text
    badge = logged_in_client.get(reverse("studio:queue_badge"), **htmx_headers)
    assert ">2<" in badge.text
    assert "portraitsChanged from:body, jobsChanged from:body" in badge.text  # events refresh it
    # Only where no poller of the page's own runs (one that sends jobsChanged) does the badge look itself.
    assert "every 5s," in badge.text and "data-poll-unless-page-polls" in badge.text
    assert "every 3s" not in badge.text
    Portrait.objects.update(status="succeeded")
    badge = logged_in_client.get(reverse("studio:queue_badge"), **htmx_headers)
    assert "every" not in badge.text, "nothing in flight: no poll at all"


def test_the_batch_page_shows_its_jobs_and_progress(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user, name="Orla")
    queue_character_portraits(character, JobOptions(size="64x64"), count=3)
    batch = Batch.objects.get()
    run_portrait_job(batch.portraits.order_by("id").first().pk)
    page = logged_in_client.get(batch.get_absolute_url())
    assert "Variations of Orla" in page.text and "1 painted, 2 queued" in page.text
    partial = logged_in_client.get(batch.get_absolute_url(), **htmx_headers)
    assert "1 painted, 2 queued" in partial.text and "<html" not in partial.text


def test_cancelling_a_batch_cancels_only_its_queued_jobs(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user)
    done, running, *queued = queue_character_portraits(character, JobOptions(size="64x64"), count=4)
    run_portrait_job(done.pk)
    running.mark_running()
    other_batch_job = queue_character_portraits(character, JobOptions(size="64x64"), count=2)[0]
    batch = done.batch
    response = logged_in_client.post(reverse("studio:batch_cancel", args=[batch.pk]))
    assert response["Location"] == batch.get_absolute_url()
    statuses = dict(batch.portraits.values_list("pk", "status"))
    assert statuses == {done.pk: "succeeded", running.pk: "running"} | {job.pk: "cancelled" for job in queued}
    assert Portrait.objects.get(pk=other_batch_job.pk).status == "queued", "other batches are untouched"
    page = logged_in_client.get(batch.get_absolute_url())
    assert "2 queued jobs cancelled." in page.text
    again = logged_in_client.post(reverse("studio:batch_cancel", args=[batch.pk]), **htmx_headers)
    assert again["HX-Reswap"] == "none" and "portraitsChanged" in again["HX-Trigger"]
    assert cancel_batch(batch) == 0


def test_a_batch_cut_short_says_what_happened_instead_of_a_full_count(logged_in_client, user):
    character = CharacterFactory(owner=user)
    done, *_queued = queue_character_portraits(character, JobOptions(size="64x64"), count=10)
    run_portrait_job(done.pk)
    cancel_batch(done.batch)

    page = logged_in_client.get(done.batch.get_absolute_url()).text

    bar = page[page.index('class="progress batch-bar"') :]
    assert 'aria-valuetext="1 painted, 9 cancelled"' in bar
    assert ">1 painted, 9 cancelled</span>" in bar
    assert "10 / 10" not in page
    assert 'class="progress-bar" style="width: 10.00%" title="1 painted"' in bar
    assert 'class="progress-bar bg-secondary" style="width: 90.00%" title="9 cancelled"' in bar


def test_a_quick_portrait_says_once_which_words_the_offline_painter_could_not_draw(logged_in_client, user):
    data = QUICK | {"size": "64x64", "prompt": ["a child astronaut floating in space, pixel art", "red hair"]}
    logged_in_client.post(reverse("studio:quick_generate"), data)
    astronaut, plain = Batch.objects.get().portraits.order_by("id")
    for portrait in (astronaut, plain):
        run_portrait_job(portrait.pk)

    result = logged_in_client.get(Batch.objects.get().get_absolute_url()).text
    detail = logged_in_client.get(reverse("studio:portrait_detail", args=[astronaut.pk])).text
    plain_detail = logged_in_client.get(reverse("studio:portrait_detail", args=[plain.pk])).text

    note = "The offline painter could not draw: floating"
    assert result.count(note) == 1
    assert detail.count(note) == 1
    assert "could not draw" not in plain_detail


def test_a_cards_last_poll_tells_the_badge_and_the_today_line_that_a_job_finished(
    logged_in_client, user, htmx_headers
):
    [job] = queue_character_portraits(CharacterFactory(owner=user), JobOptions(size="64x64"), count=1)
    card_url = reverse("studio:portrait_card", args=[job.pk])

    polling = logged_in_client.get(card_url, **htmx_headers)
    run_portrait_job(job.pk)
    last = logged_in_client.get(card_url, **htmx_headers)

    assert "data-page-poller" in polling.text and "HX-Trigger" not in polling
    assert "jobsChanged" in last["HX-Trigger"]
    assert "every 1s" not in last.text and "data-page-poller" not in last.text


def test_a_batch_pages_last_progress_poll_says_the_jobs_changed(logged_in_client, user, htmx_headers):
    job, other = queue_character_portraits(CharacterFactory(owner=user), JobOptions(size="64x64"), count=2)
    url = reverse("studio:batch_detail", args=[job.batch_id])
    Portrait.objects.filter(pk=other.pk).update(status="cancelled")

    polling = logged_in_client.get(url, **htmx_headers)
    run_portrait_job(job.pk)
    last = logged_in_client.get(url, **htmx_headers)

    assert "HX-Trigger" not in polling
    assert "jobsChanged" in last["HX-Trigger"] and ">1 painted, 1 cancelled</span>" in last.text


def test_the_today_line_is_fetched_on_events_and_counts_queued_images(logged_in_client, user, htmx_headers):
    character = CharacterFactory(owner=user)
    page = logged_in_client.get(character.get_absolute_url()).text
    line = page[page.index('id="daily-usage"') :].split(">", 1)[0]
    assert 'hx-trigger="portraitsChanged from:body, jobsChanged from:body"' in line
    assert "every" not in line

    queue_character_portraits(character, JobOptions(size="64x64"), count=3)
    fresh = logged_in_client.get(reverse("studio:daily_usage"), **htmx_headers).text

    assert 'id="daily-usage"' in fresh.lstrip().split(">", 1)[0] and "<html" not in fresh
    assert "Today: 3 of 200 images" in fresh
    # Outside the fields the generator swaps as its choices change, so it never misses an event meanwhile.
    options = reverse("studio:generator_options")
    fields = logged_in_client.get(options, {"character": character.pk}, **htmx_headers)
    assert 'id="generator-fields"' in fields.text and "daily-usage" not in fields.text


@pytest.mark.parametrize("method, route", [("get", "studio:batch_detail"), ("post", "studio:batch_cancel")])
def test_it_hides_another_users_batch(client, user, other_user, method, route):
    [job, _] = queue_character_portraits(CharacterFactory(owner=user), JobOptions(size="64x64"), count=2)
    client.force_login(other_user)
    response = getattr(client, method)(reverse(route, args=[job.batch_id]))
    assert response.status_code == 404
    assert Portrait.objects.filter(batch=job.batch, status="queued").count() == 2


def test_it_refuses_a_retry_over_the_daily_limit_with_a_clear_message(
    logged_in_client, user, settings, htmx_headers
):
    settings.DAILY_IMAGE_LIMIT = 1
    failed = PortraitFactory(character=CharacterFactory(owner=user), status="failed", error_kind="transient")
    response = logged_in_client.post(
        reverse("studio:portrait_retry", args=[failed.pk]), {"next": failed.get_absolute_url()}, follow=True
    )
    assert "would pass your daily limit of 1 images: 1 queued today, 0 left" in response.text
    assert "Try again tomorrow." in response.text
    assert Portrait.objects.get(pk=failed.pk).status == "failed"
    card = logged_in_client.post(reverse("studio:portrait_retry", args=[failed.pk]), **htmx_headers)
    assert 'data-status="failed"' in card.text and "daily limit of 1 images" in card.text


def test_a_retried_old_job_shows_among_the_recent_ones_when_it_finishes(logged_in_client, user):
    old = PortraitFactory(character=CharacterFactory(owner=user), status="failed", error_kind="transient")
    two_days_ago = timezone.now() - timedelta(days=2)
    Portrait.objects.filter(pk=old.pk).update(created_at=two_days_ago, queued_at=two_days_ago)
    page = logged_in_client.get(reverse("studio:queue"))
    assert f'href="{old.get_absolute_url()}"' not in page.text
    retry_portrait(Portrait.objects.get(pk=old.pk))
    run_portrait_job(old.pk)
    page = logged_in_client.get(reverse("studio:queue"))
    assert f'href="{old.get_absolute_url()}"' in page.text


def test_the_queue_shows_each_job_with_its_thumbnail_batch_and_time(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Orla")
    done, waiting = queue_character_portraits(character, JobOptions(size="64x64"), count=2)
    run_portrait_job(done.pk)
    page = logged_in_client.get(reverse("studio:queue")).text
    finished = page.split(f'id="job-{done.pk}"')[1].split("</li>")[0]
    assert reverse("studio:portrait_thumbnail", args=[done.pk]) in finished
    assert "Variations of Orla" in finished and "<time" in finished
    queued = page.split(f'id="job-{waiting.pk}"')[1].split("</li>")[0]
    assert "/thumb.webp" not in queued and "Cancel job" in queued


def test_the_queue_counts_a_batch_by_outcome_and_cancels_it_whole(logged_in_client, user):
    character = CharacterFactory(owner=user, name="Orla")
    done, *_rest = queue_character_portraits(character, JobOptions(size="64x64"), count=4)
    run_portrait_job(done.pk)
    page = logged_in_client.get(reverse("studio:queue")).text
    assert "1 painted, 3 to go" in page and "Cancel 3 queued" in page
    logged_in_client.post(reverse("studio:batch_cancel", args=[done.batch_id]))
    page = logged_in_client.get(reverse("studio:queue")).text
    assert "1 painted, 3 cancelled" in page
    assert "queued</button>" not in page
