from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from studio.portraits.files import read_png_metadata
from studio.portraits.generation import queue_character_portrait
from studio.portraits.jobs import _request_for, run_portrait_job
from studio.portraits.models import Portrait, ReferenceImage
from studio.portraits.providers.base import ModelOptions
from studio.portraits.providers.local import LocalProvider
from studio.portraits.references import cover_thumbnail_url, with_cover
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


def _png(width: int = 64, height: int = 64, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _paint(character) -> Portrait:
    portrait = queue_character_portrait(character, size="128x128")
    run_portrait_job(portrait.pk)
    portrait.refresh_from_db()
    return portrait


@pytest.fixture
def character(user):
    return CharacterFactory(owner=user, name="Isolde Marrow")


@pytest.fixture
def painted(character):
    return _paint(character)


def _use(client, portrait, role="face", **headers):
    url = reverse("studio:portrait_use_as_reference", args=[portrait.pk])
    return client.post(url, {"role": role}, **headers)


def _upload(client, character, data, name="me.png", role="face"):
    url = reverse("studio:reference_upload", args=[character.pk])
    return client.post(url, {"image": SimpleUploadedFile(name, data, "image/png"), "role": role}, follow=True)


def _strip_labels(client, character) -> list[str]:
    page = client.get(character.get_absolute_url()).text
    strip = page.split('id="reference-strip"', 1)[1].split("</section>", 1)[0]
    return [part.split("</", 1)[0].split(">")[-1] for part in strip.split('reference-label">')[1:]]


def test_it_adds_a_portrait_as_a_face_reference_and_shows_it_in_the_strip(logged_in_client, painted):
    response = _use(logged_in_client, painted)
    assert response.status_code == 302
    reference = ReferenceImage.objects.get()
    assert (reference.role, reference.portrait, reference.label) == (
        "face",
        painted,
        f"Portrait {painted.pk}",
    )
    page = logged_in_client.get(painted.character.get_absolute_url()).text
    assert "References <small" in page and "1 of 8" in page
    assert reverse("studio:reference_image", args=[reference.pk]) in page
    assert "Local painter uses one reference: the first face reference." in page


def test_it_answers_htmx_with_a_toast_and_an_event_that_refreshes_the_strip(
    logged_in_client, painted, htmx_headers
):
    response = _use(logged_in_client, painted, **htmx_headers)
    assert "referencesChanged" in response["HX-Trigger"]
    assert "is now a face reference of Isolde Marrow" in response.text


def test_it_refuses_the_same_portrait_twice_and_another_users_portrait(logged_in_client, painted, other_user):
    _use(logged_in_client, painted)
    response = _use(logged_in_client, painted)
    page = logged_in_client.get(response["Location"]).text
    assert f"Portrait {painted.pk} is already one of Isolde Marrow" in page
    theirs = _paint(CharacterFactory(owner=other_user))
    assert _use(logged_in_client, theirs).status_code == 404
    assert ReferenceImage.objects.count() == 1


def test_it_uploads_an_image_under_a_server_chosen_name_downscaled_to_1024_pixels(
    logged_in_client, character
):
    response = _upload(
        logged_in_client, character, _png(1600, 800), name="../../etc/passwd.png", role="outfit"
    )
    assert "The image was added to the references." in response.text
    reference = ReferenceImage.objects.get()
    assert reference.image.name.startswith("references/") and "passwd" not in reference.image.name
    assert (reference.width, reference.height, reference.role) == (1024, 512, "outfit")
    with reference.image.open("rb") as file, Image.open(file) as stored:
        assert stored.size == (1024, 512) and stored.format == "PNG"


def test_it_refuses_an_upload_over_the_limit_before_reading_it(logged_in_client, character, settings):
    settings.REFERENCE_MAX_UPLOAD_BYTES = 1024 * 1024
    response = _upload(logged_in_client, character, b"\0" * (1024 * 1024 + 1))
    assert "The uploaded file is larger than 1 MB." in response.text
    assert not ReferenceImage.objects.exists()


def test_it_refuses_a_decompression_bomb_and_a_file_that_is_not_an_image(
    logged_in_client, character, settings
):
    settings.LAB_MAX_IMAGE_PIXELS = 100 * 100
    response = _upload(logged_in_client, character, _png(200, 200))
    assert "200×200 pixels; the most the studio reads is 10,000." in response.text
    response = _upload(logged_in_client, character, b"GIF89a not really")
    assert "is not an image the studio can read" in response.text
    assert response.status_code == 200 and not ReferenceImage.objects.exists()


def test_it_keeps_at_most_eight_references(logged_in_client, character):
    for index in range(8):
        _upload(logged_in_client, character, _png(colour=(index * 20, 0, 0)))
    response = _upload(logged_in_client, character, _png())
    assert "Isolde Marrow already has 8 references" in response.text
    assert ReferenceImage.objects.count() == 8
    assert "The set is full" in response.text


def test_it_reorders_changes_the_role_and_removes_without_javascript(logged_in_client, character):
    for name in ("a.png", "b.png", "c.png"):
        _upload(logged_in_client, character, _png(), name=name)
    assert _strip_labels(logged_in_client, character) == ["Upload a.png", "Upload b.png", "Upload c.png"]
    first, second, third = ReferenceImage.objects.order_by("position")
    logged_in_client.post(reverse("studio:reference_move", args=[third.pk]), {"direction": "up"})
    assert _strip_labels(logged_in_client, character) == ["Upload a.png", "Upload c.png", "Upload b.png"]
    logged_in_client.post(reverse("studio:reference_move", args=[first.pk]), {"direction": "down"})
    assert _strip_labels(logged_in_client, character) == ["Upload c.png", "Upload a.png", "Upload b.png"]
    response = logged_in_client.post(reverse("studio:reference_role", args=[second.pk]), {"role": "pose"})
    assert response.status_code == 302
    assert ReferenceImage.objects.get(pk=second.pk).role == "pose"
    response = logged_in_client.post(
        reverse("studio:reference_role", args=[second.pk]), {"role": "hat"}, follow=True
    )
    assert "Choose a role: face, outfit, style or pose." in response.text
    logged_in_client.post(reverse("studio:reference_remove", args=[first.pk]))
    assert _strip_labels(logged_in_client, character) == ["Upload c.png", "Upload b.png"]


def test_the_strip_actions_are_owner_scoped(client, other_user, character):
    reference = ReferenceImage.objects.create(
        owner=character.owner,
        character=character,
        label="x",
        image="references/x.png",
        sha256="0" * 64,
        width=1,
        height=1,
    )
    client.force_login(other_user)
    for name, data in (("reference_move", {"direction": "up"}), ("reference_role", {"role": "face"})):
        assert client.post(reverse(f"studio:{name}", args=[reference.pk]), data).status_code == 404
    assert client.post(reverse("studio:reference_remove", args=[reference.pk])).status_code == 404
    assert client.get(reverse("studio:reference_image", args=[reference.pk])).status_code == 404
    assert ReferenceImage.objects.filter(pk=reference.pk).exists()


def test_the_cover_is_the_newest_portrait_until_one_is_chosen(logged_in_client, character):
    older = _paint(character)
    newer = _paint(character)
    page = logged_in_client.get(character.get_absolute_url()).text
    assert f'id="character-cover" data-portrait="{newer.pk}"' in page
    response = logged_in_client.post(reverse("studio:portrait_set_cover", args=[older.pk]))
    assert response.status_code == 302
    page = logged_in_client.get(character.get_absolute_url()).text
    assert f'id="character-cover" data-portrait="{older.pk}"' in page
    annotated = with_cover(type(character).objects.filter(pk=character.pk)).get()
    assert cover_thumbnail_url(annotated) == reverse("studio:portrait_thumbnail", args=[older.pk])
    older.delete()  # the chosen cover is gone: the newest one again
    assert cover_thumbnail_url(character) == reverse("studio:portrait_thumbnail", args=[newer.pk])


def test_it_records_the_chosen_references_on_the_job_faces_first_up_to_the_models_limit(
    logged_in_client, character, monkeypatch
):
    monkeypatch.setattr(LocalProvider, "model_options", lambda self, model: ModelOptions(max_references=3))
    for name, role in (
        ("outfit.png", "outfit"),
        ("style.png", "style"),
        ("face.png", "face"),
        ("p.png", "pose"),
    ):
        _upload(logged_in_client, character, _png(), name=name, role=role)
    page = logged_in_client.get(character.get_absolute_url()).text
    assert "Keeps the look: 3 references (face, outfit, style)." in page
    logged_in_client.post(reverse("studio:portrait_generate", args=[character.pk]))
    portrait = Portrait.objects.get(character=character)
    assert [record["role"] for record in portrait.references] == ["face", "outfit", "style"]
    faces = ReferenceImage.objects.get(role="face")
    assert portrait.references[0] == {
        "id": faces.pk,
        "sha256": faces.sha256,
        "role": "face",
        "name": "Upload face.png",
    }
    request = _request_for(portrait)
    assert [(reference.role, reference.name) for reference in request.references] == [
        ("face", "Upload face.png"),
        ("outfit", "Upload outfit.png"),
        ("style", "Upload style.png"),
    ]
    assert all(max(Image.open(io.BytesIO(r.data)).size) <= 1024 for r in request.references)


def test_the_generator_says_what_each_provider_does_with_the_references(logged_in_client, character):
    _upload(logged_in_client, character, _png(), role="outfit")
    url = reverse("studio:generator_options")
    response = logged_in_client.get(url, {"provider": "local", "character": character.pk})
    assert (
        "Local painter keeps only a face reference; this one paints the character&#x27;s own face."
        in response.text
    )
    response = logged_in_client.get(url, {"provider": "local"})
    assert "references-note" not in response.text


def test_a_painter_portrait_keeps_the_face_of_its_first_face_reference(logged_in_client, user, character):
    face = _paint(character)
    other = CharacterFactory(owner=user, name="Someone Else")
    alone = _paint(other)
    assert alone.parameters["sent"]["identity_seed"] != face.parameters["sent"]["identity_seed"]
    # Isolde's portrait as the other character's face reference: the painter keeps Isolde's face.
    reference = ReferenceImage.objects.create(
        owner=user,
        character=other,
        portrait=face,
        label="Isolde",
        image="references/x.png",
        sha256="a" * 64,
        width=1,
        height=1,
        painter_seed=face.parameters["sent"]["identity_seed"],
    )
    job = PortraitFactory(character=other, parameters={"size": "128x128"})
    job.references = [{"id": reference.pk, "sha256": "a" * 64, "role": "face", "name": "Isolde"}]
    job.save()
    reference.image.save("r.png", io.BytesIO(_png()), save=True)
    ReferenceImage.objects.filter(pk=reference.pk).update(sha256="a" * 64)
    run_portrait_job(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job.parameters["sent"]["identity_seed"] == face.parameters["sent"]["identity_seed"]


def test_two_characters_alike_in_every_attribute_get_two_faces(user):
    first = _paint(CharacterFactory(owner=user, name="Anna"))
    second = _paint(CharacterFactory(owner=user, name="Berit"))
    assert first.parameters["attributes"]["name"] == "Anna"
    assert first.parameters["sent"]["identity_seed"] != second.parameters["sent"]["identity_seed"]


def test_the_new_portrait_shows_its_lineage_and_its_png_carries_it(logged_in_client, painted):
    _use(logged_in_client, painted)
    logged_in_client.post(reverse("studio:portrait_generate", args=[painted.character.pk]))
    made = Portrait.objects.filter(character=painted.character).exclude(pk=painted.pk).get()
    run_portrait_job(made.pk)
    made.refresh_from_db()
    reference = ReferenceImage.objects.get()
    page = logged_in_client.get(made.get_absolute_url()).text
    assert "Made from" in page and f'<a href="{painted.get_absolute_url()}">Portrait {painted.pk}</a>' in page
    assert reference.sha256[:12] in page
    metadata = read_png_metadata(made.image.read())
    assert metadata["references"] == f"face:{reference.sha256}"


def test_a_reference_removed_before_the_job_ran_is_named_and_left_out(logged_in_client, painted):
    _use(logged_in_client, painted)
    logged_in_client.post(reverse("studio:portrait_generate", args=[painted.character.pk]))
    made = Portrait.objects.filter(character=painted.character).exclude(pk=painted.pk).get()
    ReferenceImage.objects.get().delete()
    run_portrait_job(made.pk)
    page = logged_in_client.get(made.get_absolute_url()).text
    assert f"Not sent (removed before it was painted): Portrait {painted.pk}." in page
    assert "(removed from the set since)" in page


def test_remix_keeps_the_references(logged_in_client, painted):
    _use(logged_in_client, painted)
    logged_in_client.post(reverse("studio:portrait_generate", args=[painted.character.pk]))
    made = Portrait.objects.filter(character=painted.character).exclude(pk=painted.pk).get()
    page = logged_in_client.get(reverse("studio:quick_generate"), {"remix": made.pk}).text
    assert f"Keeps the 1 reference portrait {made.pk} was made from (face)" in page
    data = {
        "prompt": made.prompt,
        "negative_prompt": "",
        "seed": "",
        "provider": "local",
        "references_from": made.pk,
    }
    logged_in_client.post(reverse("studio:quick_generate"), data)
    remix = Portrait.objects.filter(batch__kind="quick").get()
    assert remix.references == made.references


def test_the_portrait_page_and_the_lightbox_offer_reference_and_cover(logged_in_client, painted):
    for url in (painted.get_absolute_url(), reverse("studio:gallery_portrait", args=[painted.pk])):
        page = logged_in_client.get(url).text
        assert reverse("studio:portrait_use_as_reference", args=[painted.pk]) in page, url
        assert reverse("studio:portrait_set_cover", args=[painted.pk]) in page, url


def test_the_strip_answers_htmx_with_itself(logged_in_client, character, htmx_headers):
    _upload(logged_in_client, character, _png(), name="a.png")
    _upload(logged_in_client, character, _png(), name="b.png")
    second = ReferenceImage.objects.order_by("position").last()
    url = reverse("studio:reference_move", args=[second.pk])
    response = logged_in_client.post(url, {"direction": "up"}, **htmx_headers)
    assert response.text.lstrip().startswith('<section class="card mb-3" aria-labelledby="references-heading')
    assert response.text.index("Upload b.png") < response.text.index("Upload a.png")
    assert "referencesEdited" in response["HX-Trigger"]


def test_characters_without_a_name_still_get_faces_of_their_own(user):
    from studio.portraits.generation import painter_values

    first, second = CharacterFactory(owner=user, name=" "), CharacterFactory(owner=user, name="")
    assert painter_values(first)["name"] == f"character {first.pk}"
    assert painter_values(first)["name"] != painter_values(second)["name"]
