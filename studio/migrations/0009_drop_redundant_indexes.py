"""Drop indexes that others already cover: every one is one more write on each portrait status change.

- studio_portrait.owner_id and .character_id: the composite gallery indexes (owner/character, created_at, id)
  start with them and serve every lookup and ON DELETE CASCADE.
- studio_like.user_id, studio_favourite.user_id: the unique (user, portrait) constraints start with them.
- like_portrait, favourite_portrait: the same column as each foreign key's own index.

The foreign keys change only in Django's state (db_index=False); the database just drops their indexes by
name (the names Django gave them on SQLite and PostgreSQL alike), so no constraint is dropped and re-validated
and no SQLite table is rebuilt.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studio', '0008_style_lab'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='favourite',
            name='favourite_portrait',
        ),
        migrations.RemoveIndex(
            model_name='like',
            name='like_portrait',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='favourite',
                    name='user',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='favourites', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='like',
                    name='user',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='likes', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='portrait',
                    name='character',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='portraits', to='studio.character'),
                ),
                migrations.AlterField(
                    model_name='portrait',
                    name='owner',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='portraits', to=settings.AUTH_USER_MODEL),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "studio_favourite_user_id_5a0770ce"',
                    reverse_sql='CREATE INDEX "studio_favourite_user_id_5a0770ce" ON "studio_favourite" ("user_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "studio_like_user_id_0036f15e"',
                    reverse_sql='CREATE INDEX "studio_like_user_id_0036f15e" ON "studio_like" ("user_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "studio_portrait_character_id_04efd5e3"',
                    reverse_sql='CREATE INDEX "studio_portrait_character_id_04efd5e3" ON "studio_portrait" ("character_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "studio_portrait_owner_id_f37e54e7"',
                    reverse_sql='CREATE INDEX "studio_portrait_owner_id_f37e54e7" ON "studio_portrait" ("owner_id")',
                ),
            ],
        ),
    ]
