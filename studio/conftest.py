from __future__ import annotations

from studio.tests.fakes import fake_huggingface, fake_openai, fake_stability, slow_fake_provider  # noqa: F401
from studio.tests.s3 import s3_server, s3_storage  # noqa: F401
