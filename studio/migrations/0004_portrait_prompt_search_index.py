"""Full-text search over prompts: a GIN index on PostgreSQL (SQLite searches with LIKE and needs none).

The expression must match what studio.galleries builds with SearchVector("prompt", config="english"), so the
planner uses the index. Also fills Portrait.is_public for rows that existed before the flag.
"""

from django.db import migrations

INDEX = "portrait_prompt_search"


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON studio_portrait "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(prompt, '')))"
    )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def fill_public_flags(apps, schema_editor):
    Portrait = apps.get_model("studio", "Portrait")
    Portrait.objects.filter(visibility="public").update(is_public=True)
    Portrait.objects.filter(character__visibility="public").update(is_public=True)


class Migration(migrations.Migration):
    dependencies = [("studio", "0003_galleries_likes_favourites_public")]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index),
        migrations.RunPython(fill_public_flags, migrations.RunPython.noop),
    ]
