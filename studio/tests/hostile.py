"""Hostile uploads (issue 14): a generator for each file, and a child process that sends them.

`python -m studio.tests.hostile CASE...` sets Django up on a scratch SQLite database, limits its own address
space (RLIMIT_AS, 1 GiB unless --as-limit-mb says otherwise), and sends each case as a gunicorn worker would
receive it: the multipart body is written to a file and read from there by Django's WSGI handler, so the
request's memory is the server's alone. It prints one JSON line per case: the status, the error message,
the exception if any, the peak RSS over the idle process (VmHWM after resetting it through
/proc/self/clear_refs) and whether any row or media file was written. test_hostile_uploads.py runs it.
"""

from __future__ import annotations

import argparse
import gc
import html
import io
import json
import os
import re
import resource
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1024 * 1024
BOUNDARY = "----dali-hostile-boundary"


# --- generators -------------------------------------------------------------------------------------------


def pixel_header(width: int) -> bytes:
    return ("depth," + ",".join(f"col{i}" for i in range(1, width + 1)) + "\n").encode()


def depth_width_csv(rows: int = 60_000) -> bytes:
    """`depth,col1` and `rows` rows of `i,7`: tiny, but each row becomes 4096 pixels with width=4096."""
    return b"depth,col1\n" + b"".join(b"%d,7\n" % index for index in range(rows))


def depth_long_cell_csv(rows: int = 1200, width: int = 4096, digits: int = 70) -> bytes:
    """A width-column pixel CSV of 7s whose first pixel is a `digits`-digit number."""
    sevens = b",".join([b"7"] * width)
    first = b"0," + b"7" * digits + sevens[1:] + b"\n"
    return pixel_header(width) + first + b"".join(b"%d,%s\n" % (index, sevens) for index in range(1, rows))


def depth_valid_csv(rows: int = 300, width: int = 4096) -> bytes:
    import numpy as np

    pixels = np.random.default_rng(4).integers(0, 256, (rows, width))
    lines = [f"{index * 0.5}," + ",".join(map(str, row)) for index, row in enumerate(pixels.tolist())]
    return pixel_header(width) + ("\n".join(lines) + "\n").encode()


def png_image(side: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (90, 60, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def ztxt_bomb_card(chunks: int = 40, inflated: int = 20 * MB) -> bytes:
    """An 8x8 PNG with `chunks` zTXt chunks after IDAT, each `inflated` zeros compressed (1/1000 the size)."""
    png = png_image()
    end = png.rindex(b"IEND") - 4
    compressed = zlib.compress(bytes(inflated), 9)
    extra = b""
    for index in range(chunks):
        body = b"k%d\0\0" % index + compressed
        crc = struct.pack(">I", zlib.crc32(b"zTXt" + body))
        extra += struct.pack(">I", len(body)) + b"zTXt" + body + crc
    return png[:end] + extra + png[end:]


def huge_fake_png(size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(size - 8)


def wide_character_csv(columns: int = 100_000) -> bytes:
    """One character row under a header of `columns` columns (unknown ones, each a mapping <select>)."""
    header = "name," + ",".join(f"x{index}" for index in range(1, columns))
    return (header + "\nAlice" + "," * (columns - 1) + "\n").encode()


def deep_json(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


# --- the child --------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[dict[str, Any]], str]
    files: Callable[[], list[tuple[str, str, bytes]]] = list  # (field, filename, content)
    fields: dict[str, str] = field(default_factory=dict)
    allowed_bytes: int = 0  # the configured limit on what the request may send (0: no upload)
    query: str = ""


def _fixed(url: str) -> Callable[[dict[str, Any]], str]:
    return lambda _objects: url


FRAMES_API, FRAMES_PAGE, IMPORT = (
    "/api/frames/upload-csv/",
    "/studio/frames/upload/",
    "/studio/characters/import/upload/",
)
FRAMES_LIMIT, IMPORT_LIMIT, LAB_LIMIT = 50 * MB, 20 * MB, 10 * MB


def _style_upload(objects: dict[str, Any]) -> str:
    return f"/studio/lab/styles/{objects['style']}/upload/"


def _seeded_png(objects: dict[str, Any]) -> str:
    return f"/api/frames/{objects['seeded']}/image.png"


CASES = {
    case.name: case
    for case in [
        Case(
            "frames api width amplification", "POST", _fixed(FRAMES_API),
            lambda: [("file", "w.csv", depth_width_csv())],
            {"dataset": "wide", "width": "4096"}, FRAMES_LIMIT,
        ),
        Case(
            "frames api long cell", "POST", _fixed(FRAMES_API),
            lambda: [("file", "l.csv", depth_long_cell_csv())], {"dataset": "long"}, FRAMES_LIMIT,
        ),
        Case(
            "frames page long cell", "POST", _fixed(FRAMES_PAGE),
            lambda: [("file", "l.csv", depth_long_cell_csv())], {"dataset": "long"}, FRAMES_LIMIT,
        ),
        Case(
            "frames api valid 4096 wide", "POST", _fixed(FRAMES_API),
            lambda: [("file", "v.csv", depth_valid_csv())], {"dataset": "valid"}, FRAMES_LIMIT,
        ),
        Case("frames range over the limit", "GET", _seeded_png),
        Case(
            "card zTXt bomb", "POST", _fixed(IMPORT),
            lambda: [("file", "card.png", ztxt_bomb_card())], {}, IMPORT_LIMIT,
        ),
        Case(
            "character csv 10,000 columns", "POST", _fixed(IMPORT),
            lambda: [("file", "wide.csv", wide_character_csv(10_000))], {}, IMPORT_LIMIT,
        ),
        Case(
            "character json nested 100,000 deep", "POST", _fixed(IMPORT),
            lambda: [("file", "deep.json", deep_json())], {}, IMPORT_LIMIT,
        ),
        Case(
            "lab 4 files of 64 MB", "POST", _style_upload,
            lambda: [("images", f"{index}.png", huge_fake_png(64 * MB)) for index in range(4)],
            {}, 4 * LAB_LIMIT,
        ),
    ]
}  # fmt: skip


def _setup_django(scratch: Path) -> None:
    os.environ.update(
        DATABASE_URL=f"sqlite:///{scratch / 'db.sqlite3'}",
        DJANGO_SETTINGS_MODULE="site_config.settings",
        DEBUG="0",
        SECRET_KEY="hostile-uploads-only-secret-key-not-used-anywhere-0123456789",
        ALLOWED_HOSTS="testserver,localhost",
        SECURE_SSL_REDIRECT="0",
        MEDIA_ROOT=str(scratch / "media"),
    )
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import override_settings

    django.setup()
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}).enable()
    call_command("migrate", verbosity=0, interactive=False)


def _memory_kb(name: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(name + ":"))


def _state(media: Path) -> dict[str, int]:
    from studio.models import Character, CharacterImport, DepthDataset, DepthFrameChunk, StyleImage

    counts = {model.__name__: model.objects.count() for model in (Character, CharacterImport, DepthDataset)}
    counts |= {model.__name__: model.objects.count() for model in (DepthFrameChunk, StyleImage)}
    counts["media files"] = sum(1 for path in media.rglob("*") if path.is_file()) if media.exists() else 0
    return counts


def _message(content: bytes, content_type: str) -> str:
    if content_type.startswith("application/json"):
        return str(json.loads(content).get("error", ""))
    return page_message(content)


def page_message(content: bytes) -> str:
    """The text of the first error alert or form error on a page ('' when there is none)."""
    text = content[:1_000_000].decode("utf-8", "replace")
    found = re.search(
        r'class="[^"]*(?:alert-danger|invalid-feedback|errorlist)[^"]*"[^>]*>(.*?)</', text, re.S
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) if found else ""


def _seed_range_dataset(owner: Any, rows: int = 20_000, width: int = 4096) -> str:
    import numpy as np

    from studio.frames.ingest import CHUNK_ROWS
    from studio.models import DepthDataset, DepthFrameChunk

    dataset = DepthDataset.objects.create(
        owner=owner, name="seeded", width=width, source_width=width, row_count=rows, depth_min=0.0,
        depth_max=float(rows - 1),
    )  # fmt: skip
    pixels = np.full((CHUNK_ROWS, width), 7, dtype=np.uint8).tobytes()
    for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
        depths = np.arange(start, min(start + CHUNK_ROWS, rows), dtype="<f8")
        DepthFrameChunk.objects.create(
            dataset=dataset, index=index, row_count=len(depths), depth_min=depths[0], depth_max=depths[-1],
            depths=depths.tobytes(), pixels=pixels[: len(depths) * width],
        )  # fmt: skip
    return dataset.name


def run_cases(names: list[str], as_limit_mb: int) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="dali-hostile-"))
    _setup_django(scratch)
    from django.core.signals import got_request_exception
    from django.test import Client

    from studio.models import Style
    from studio.tests.factories import UserFactory

    user = UserFactory()
    client = Client()
    client.force_login(user)
    objects = {"style": Style.objects.create(owner=user, name="hostile").pk}
    if any(CASES[name].method == "GET" for name in names):
        objects["seeded"] = _seed_range_dataset(user)
    client.get("/studio/characters/import/")  # warm-up: templates, lazy imports
    client.post(FRAMES_API, {"dataset": "warm-up", "file": io.BytesIO(b"depth,col1\n1,2\n")})
    client.post(IMPORT, {"text": "name\nWarm Up\n"})
    resource.setrlimit(resource.RLIMIT_AS, (as_limit_mb * MB, as_limit_mb * MB))
    exceptions: list[str] = []
    got_request_exception.connect(
        lambda sender, **_kwargs: exceptions.append(repr(sys.exc_info()[1])[:300]), weak=False
    )
    for name in names:
        case = CASES[name]
        files = case.files()
        upload_bytes = sum(len(content) for _field, _filename, content in files)
        body_path = scratch / "body"
        with body_path.open("wb") as body:
            for key, value in case.fields.items():
                disposition = f'Content-Disposition: form-data; name="{key}"'
                body.write(f"--{BOUNDARY}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
            for key, filename, content in files:
                body.write(
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n".encode()
                )
                body.write(content)
                body.write(b"\r\n")
            body.write(f"--{BOUNDARY}--\r\n".encode())
            body_bytes = body.tell()
        del files
        before = _state(scratch / "media")
        exceptions.clear()
        gc.collect()
        idle = _memory_kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        started = time.perf_counter()
        environ: dict[str, Any] = {"PATH_INFO": case.url(objects), "REQUEST_METHOD": case.method}
        environ["QUERY_STRING"] = case.query
        if case.method == "POST":
            environ |= {
                "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
                "CONTENT_LENGTH": str(body_bytes),
                "wsgi.input": body_path.open("rb"),
            }
        try:
            response = client.handler(client._base_environ(**environ))
            status, content_type = response.status_code, response.get("Content-Type", "")
            content = b"" if response.streaming else response.content
            if status in (302, 303):  # the page a browser lands on is part of the request's cost
                response = client.get(response["Location"])
                status, content_type = response.status_code, response.get("Content-Type", "")
                content = b"" if response.streaming else response.content
        except MemoryError:
            status, content_type, content = 500, "", b""
            exceptions.append("MemoryError")
        peak_kb = _memory_kb("VmHWM")
        after = _state(scratch / "media")
        result = {
            "name": name,
            "status": status,
            "message": _message(content, content_type),
            "exception": exceptions[0] if exceptions else None,
            "seconds": round(time.perf_counter() - started, 3),
            "peak_mb": round(max(0, peak_kb - idle) / 1024, 1),
            "upload_mb": round(upload_bytes / MB, 3),
            "budget_mb": round(64 + 4 * min(upload_bytes, case.allowed_bytes) / MB, 1),
            "written": {key: value - before[key] for key, value in after.items() if value != before[key]},
        }
        print("RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", help="case names (all when none)")
    parser.add_argument("--as-limit-mb", type=int, default=1024)
    args = parser.parse_args()
    run_cases(args.cases or list(CASES), args.as_limit_mb)


if __name__ == "__main__":
    main()
