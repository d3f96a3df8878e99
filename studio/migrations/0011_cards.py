"""Cards travel intact: Character.card (the card's own fields as data), description, age_years (the exact age;
the range follows from it), and CharacterImport.card_record (a card parsed once, at upload)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0010_portrait_queued_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="character",
            name="age_years",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="In years; it decides the age range.",
                null=True,
                verbose_name="Exact age",
            ),
        ),
        migrations.AddField(
            model_name="character",
            name="card",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="character",
            name="description",
            field=models.TextField(
                blank=True,
                help_text="Who the character is, in your words (a card's description); not sent to image models.",
            ),
        ),
        migrations.AddField(
            model_name="characterimport",
            name="card_record",
            field=models.JSONField(blank=True, null=True),
        ),
    ]
