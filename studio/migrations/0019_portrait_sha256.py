"""Portrait.sha256: the stored image file's hash, so that importing a character card's images again does not
duplicate them. Existing rows stay blank (no file is read here); an import hashes the few it compares."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0018_large_deletes"),
    ]

    operations = [
        migrations.AddField(
            model_name="portrait",
            name="sha256",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
    ]
