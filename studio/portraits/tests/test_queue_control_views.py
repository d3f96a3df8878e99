"""The queue page's controls: pause and resume my queue, move a job to the front, cancel a batch or a whole
import run's portraits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.imports.models import CharacterImport
from studio.portraits.models import Batch, Portrait
from studio.portraits.scheduling import claim_next
from studio.tests.factories import PortraitFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("studio:queue")


def _queued(owner, count: int) -> list[Portrait]:
    return [PortraitFactory(owner=owner, character=None, prompt=f"job prompt {n}") for n in range(count)]


def test_it_pauses_and_resumes_my_queue_from_the_queue_page(logged_in_client, user):
    (job,) = _queued(user, 1)
    assert "Pause my queue" in logged_in_client.get(QUEUE).text
    page = logged_in_client.post(reverse("studio:queue_pause"), follow=True).text
    assert "Your queue is paused: queued jobs wait until you resume it." in page
    assert "Resume my queue" in page
    assert claim_next() is None, "no worker starts a paused user's job"
    page = logged_in_client.post(reverse("studio:queue_resume"), follow=True).text
    assert "Your queue is running again (1 queued job)." in page
    assert "Pause my queue" in page
    assert claim_next()[0].pk == job.pk


def test_pausing_with_htmx_swaps_the_toolbar_and_refreshes_the_list(logged_in_client, htmx_headers):
    response = logged_in_client.post(reverse("studio:queue_pause"), **htmx_headers)
    assert 'id="queue-toolbar"' in response.text and "Resume my queue" in response.text
    assert "portraitsChanged" in response["HX-Trigger"]


def test_my_pause_does_not_hold_anyone_elses_jobs(client, user, other_user):
    (theirs,) = _queued(other_user, 1)
    client.force_login(user)
    client.post(reverse("studio:queue_pause"))
    assert claim_next()[0].pk == theirs.pk


def test_it_moves_a_queued_job_to_the_front_of_my_queue(logged_in_client, user):
    first, second, third = _queued(user, 3)
    page = logged_in_client.get(QUEUE).text
    assert f'aria-label="Move job {third.pk} to the front of my queue"' in page
    assert f'aria-label="Move job {first.pk} to the front of my queue"' not in page, "already next"
    response = logged_in_client.post(reverse("studio:portrait_to_front", args=[third.pk]), follow=True)
    assert f"Job #{third.pk} is now the next of yours to start." in response.text
    rows = response.text.split('id="job-')[1:]
    assert [row.split('"', 1)[0] for row in rows] == [str(third.pk), str(first.pk), str(second.pk)]
    assert claim_next()[0].pk == third.pk


def test_a_job_that_already_started_is_not_moved(logged_in_client, user):
    (job,) = _queued(user, 1)
    claim_next()
    response = logged_in_client.post(reverse("studio:portrait_to_front", args=[job.pk]), follow=True)
    assert f"Job #{job.pk} is no longer queued" in response.text


def test_nobody_can_reorder_or_see_anyone_elses_queue(client, user, other_user):
    (theirs,) = _queued(other_user, 1)
    client.force_login(user)
    assert client.post(reverse("studio:portrait_to_front", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("studio:portrait_to_front", args=[theirs.pk])).status_code == 405
    assert client.get(reverse("studio:queue_pause")).status_code == 405


def test_the_controls_need_a_login(client):
    response = client.post(reverse("studio:queue_pause"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_cancels_the_queued_rest_of_a_batch_from_the_queue_page(logged_in_client, user):
    batch = Batch.objects.create(owner=user, kind=Batch.Kind.QUICK)
    jobs = [PortraitFactory(owner=user, character=None, batch=batch) for _ in range(3)]
    (loose,) = _queued(user, 1)
    claim_next()  # the first job of the batch is already being painted
    page = logged_in_client.get(QUEUE).text
    assert "Cancel 2 queued" in page
    response = logged_in_client.post(reverse("studio:batch_cancel", args=[batch.pk]), {"next": QUEUE})
    assert response["Location"] == QUEUE
    statuses = {job.pk: job.status for job in Portrait.objects.all()}
    assert [statuses[job.pk] for job in jobs] == ["running", "cancelled", "cancelled"]
    assert statuses[loose.pk] == "queued"


def test_it_cancels_everything_an_import_run_queued_at_once(logged_in_client, user, htmx_headers):
    (mine,) = _queued(user, 1)
    text = "name,gender,hair colour\r\nAda,female,black\r\nBram,male,red\r\nCleo,female,blonde\r\n"
    logged_in_client.post(reverse("studio:import_upload"), {"text": text}, **htmx_headers)
    job = CharacterImport.objects.get(owner=user)
    logged_in_client.post(reverse("studio:import_commit", args=[job.pk]), {}, **htmx_headers)
    logged_in_client.post(reverse("studio:import_portraits", args=[job.pk]), **htmx_headers)
    job.refresh_from_db()
    batch = job.portrait_batch
    assert batch is not None and batch.kind == Batch.Kind.IMPORT
    assert batch.portraits.count() == 3
    page = logged_in_client.get(QUEUE).text
    assert "Portraits for the import of" in page and "Cancel 3 queued" in page
    logged_in_client.post(reverse("studio:batch_cancel", args=[batch.pk]), {"next": QUEUE})
    assert set(batch.portraits.values_list("status", flat=True)) == {"cancelled"}
    mine.refresh_from_db()
    assert mine.status == "queued", "jobs from elsewhere are not touched"


def test_the_import_page_cancels_its_queued_portraits(logged_in_client, user, htmx_headers):
    text = "name,gender\r\nAda,female\r\nBram,male\r\n"
    logged_in_client.post(reverse("studio:import_upload"), {"text": text}, **htmx_headers)
    job = CharacterImport.objects.get(owner=user)
    logged_in_client.post(reverse("studio:import_commit", args=[job.pk]), {}, **htmx_headers)
    logged_in_client.post(reverse("studio:import_portraits", args=[job.pk]), **htmx_headers)
    job.refresh_from_db()
    page = logged_in_client.get(reverse("studio:import_detail", args=[job.pk])).text
    assert "cancel the ones not started yet" in page
    cancel = reverse("studio:batch_cancel", args=[job.portrait_batch_id])
    back = reverse("studio:import_detail", args=[job.pk])
    response = logged_in_client.post(cancel, {"next": back}, follow=True)
    assert "2 queued jobs cancelled." in response.text
    assert set(Portrait.objects.filter(owner=user).values_list("status", flat=True)) == {"cancelled"}
