"""Portraits on S3-compatible storage, against a real S3-protocol server on 127.0.0.1 (moto's server mode)."""

from __future__ import annotations

import io
import zipfile

import pytest
import requests
from django.urls import reverse

from studio.portraits.jobs import run_portrait_job
from studio.portraits.models import Portrait
from studio.tests.factories import CharacterFactory, PortraitFactory

pytestmark = pytest.mark.django_db


def paint(character) -> Portrait:
    portrait = PortraitFactory(character=character, parameters={"size": "64x64"})
    run_portrait_job(portrait.pk)  # the local painter's image goes through store_image to the bucket
    portrait.refresh_from_db()
    assert portrait.status == Portrait.Status.SUCCEEDED
    return portrait


def test_it_stores_a_painted_portrait_in_the_bucket(s3_storage, user):
    server, bucket = s3_storage
    portrait = paint(CharacterFactory(owner=user))
    assert server.keys(bucket) == sorted([f"media/{portrait.image.name}", f"media/{portrait.thumbnail.name}"])
    # Private: the object cannot be read without signing.
    assert (
        requests.get(f"{server.endpoint}/{bucket}/media/{portrait.image.name}", timeout=5).status_code == 403
    )


def test_it_serves_the_files_only_to_their_owner(s3_storage, user, other_user, client):
    portrait = paint(CharacterFactory(owner=user, name="Iris Vane"))
    client.force_login(user)
    image = client.get(reverse("studio:portrait_image", args=[portrait.pk]), {"download": "1"})
    assert image.status_code == 200
    assert f'filename="iris-vane-{portrait.pk}.png"' in image["Content-Disposition"]
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")
    thumbnail = b"".join(
        client.get(reverse("studio:portrait_thumbnail", args=[portrait.pk])).streaming_content
    )
    assert thumbnail[8:12] == b"WEBP"
    client.force_login(other_user)
    assert client.get(reverse("studio:portrait_image", args=[portrait.pk])).status_code == 404


def test_it_deletes_both_files_from_the_bucket(s3_storage, user, logged_in_client):
    server, bucket = s3_storage
    kept = paint(CharacterFactory(owner=user))
    deleted = paint(kept.character)
    response = logged_in_client.post(reverse("studio:portrait_delete", args=[deleted.pk]), follow=True)
    assert "The portrait was deleted." in response.text
    assert server.keys(bucket) == sorted([f"media/{kept.image.name}", f"media/{kept.thumbnail.name}"])


def test_it_zips_the_selected_portraits_from_the_bucket(s3_storage, user, other_user, logged_in_client):
    character = CharacterFactory(owner=user, name="Iris Vane")
    mine = [paint(character), paint(character)]
    theirs = paint(CharacterFactory(owner=other_user))
    response = logged_in_client.post(
        reverse("studio:gallery_bulk"), {"action": "zip", "ids": [p.pk for p in [*mine, theirs]]}
    )
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"iris-vane-{p.pk}.png" for p in mine)
    assert all(archive.read(name).startswith(b"\x89PNG") for name in archive.namelist())


def test_it_says_the_file_is_missing_when_the_object_is_gone(s3_storage, user, logged_in_client):
    server, bucket = s3_storage
    portrait = paint(CharacterFactory(owner=user))
    server.client().delete_object(Bucket=bucket, Key=f"media/{portrait.image.name}")
    response = logged_in_client.get(reverse("studio:portrait_image", args=[portrait.pk]))
    assert response.status_code == 404
