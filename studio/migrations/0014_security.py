"""Shared throttles and the studio-wide spend cap.

- The shared cache's table (settings.CACHES without REDIS_URL), so that `migrate` is all a deploy runs.
- An index for the studio-wide daily spend check (every user's paid attempts queued since midnight).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations, models

TABLE = "studio_cache"


def create_cache_table(apps, schema_editor):
    # createcachetable's own DDL (it does nothing when the table exists), whatever CACHES says today: a
    # deployment may move from Redis to the database cache after this migration ran.
    if TABLE in schema_editor.connection.introspection.table_names():
        return
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0013_references"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_cache_table, drop_cache_table, elidable=False),
        migrations.AddIndex(
            model_name="portrait",
            index=models.Index(
                condition=models.Q(("estimated_cost__gt", 0)), fields=["queued_at"], name="portrait_paid_queued"
            ),
        ),
    ]
