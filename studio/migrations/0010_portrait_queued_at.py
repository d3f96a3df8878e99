"""Daily limits count every attempt on the day it was queued: Portrait.queued_at (when the current attempt was
queued) and same_day_attempts (earlier attempts queued that same day), with an (owner, queued_at) index for the
quota check. Existing jobs were queued when they were created; their earlier attempts are not known.
"""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def queued_when_created(apps, schema_editor):
    Portrait = apps.get_model("studio", "Portrait")
    Portrait.objects.update(queued_at=models.F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('studio', '0009_drop_redundant_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='portrait',
            name='queued_at',
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name='portrait',
            name='same_day_attempts',
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(queued_when_created, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='portrait',
            index=models.Index(fields=['owner', 'queued_at'], name='portrait_owner_queued'),
        ),
    ]
