"""Hostile and large uploads: peak memory and time of one request each, in a child process per case.

Budget (issue 14, DESIGN.md section 5): a request peaks at <= 64 MB + 4 x what it is allowed to send over
the idle process: 4 x its upload size, or 4 x the configured limit when the upload is over one (what passes a
limit must be refused before it is read). Every case must also answer without a 5xx.

python bench/uploads.py [--quick] [--case NAME ...] [--as-limit-gb 8] [--timeout 180]

Each case runs in its own child process (`--child NAME`), one at a time, with RLIMIT_AS (8 GB unless told)
and a wall-clock timeout, so a runaway case reports MemoryError, a 500 or a timeout as its figure instead of
taking the machine down. The child sets up Django on a scratch SQLite database, writes the upload as a
multipart body to a file on disk, sends one small warm-up request to the same endpoint, then measures:
RSS of the idle process (VmRSS), resets the high-water mark (`5` to /proc/self/clear_refs) and sends the
request through Django's WSGI handler reading the body from that file, as a gunicorn worker would (the test
client would hold the encoded body in memory and charge it to the request). Peak = VmHWM - idle. A redirect
after a POST is followed (the import preview page is part of the cost). --quick scales every size down ~10x.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from _setup import budget_line, django_with_scratch_db, exit_code

MB = 1024 * 1024
BOUNDARY = "----dali-bench-uploads-boundary"
QUICK = False  # set by --quick in the child


def scale(full: int, quick: int) -> int:
    return quick if QUICK else full


# --- upload bodies, streamed to disk ----------------------------------------------------------------------


Writer = Callable[[BinaryIO], None]


@dataclass
class Upload:
    fields: dict[str, str]
    files: list[tuple[str, str, Writer]]  # (field, filename, writer)


def write_multipart(path: Path, upload: Upload) -> tuple[int, int]:
    """The multipart/form-data body to `path`; (body bytes, bytes of the files alone)."""
    file_bytes = 0
    with path.open("wb") as out:
        for name, value in upload.fields.items():
            out.write(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for field, filename, writer in upload.files:
            out.write(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            start = out.tell()
            writer(out)
            file_bytes += out.tell() - start
            out.write(b"\r\n")
        out.write(f"--{BOUNDARY}--\r\n".encode())
        return out.tell(), file_bytes


def lines_writer(lines: Callable[[], Iterator[str]]) -> Writer:
    def write(out: BinaryIO) -> None:
        batch: list[str] = []
        for line in lines():
            batch.append(line)
            if len(batch) >= 256:
                out.write("".join(batch).encode())
                batch.clear()
        out.write("".join(batch).encode())

    return write


def bytes_writer(data: bytes) -> Writer:
    return lambda out: out.write(data)


def zeros_writer(prefix: bytes, size: int) -> Writer:
    def write(out: BinaryIO) -> None:
        out.write(prefix)
        block = bytes(MB)
        left = size - len(prefix)
        while left > 0:
            out.write(block[: min(left, MB)])
            left -= MB

    return write


def pixel_header(width: int) -> str:
    return "depth," + ",".join(f"col{i}" for i in range(1, width + 1)) + "\n"


def depth_width_rows() -> Iterator[str]:
    yield "depth,col1\n"
    for index in range(scale(60_000, 6_000)):
        yield f"{index},7\n"


def depth_wide_within_limit_rows() -> Iterator[str]:
    yield "depth,col1\n"
    for index in range(scale(7_000, 700)):  # 7,000 x 4096 = 28.7 M stored pixels, under FRAMES_MAX_CELLS
        yield f"{index},7\n"


def depth_long_cell_rows() -> Iterator[str]:
    yield pixel_header(4096)
    sevens = ",".join(["7"] * 4096)
    for index in range(scale(1_200, 120)):
        yield f"{index},{'7' * 70 + sevens[1:] if index == 0 else sevens}\n"


def depth_valid_rows() -> Iterator[str]:
    import numpy as np

    rng = np.random.default_rng(4)
    yield pixel_header(4096)
    for index in range(scale(3_000, 300)):
        yield f"{index * 0.5}," + ",".join(map(str, rng.integers(0, 256, 4096).tolist())) + "\n"


def png_bytes(side: int, noise: bool = False) -> bytes:
    import numpy as np
    from PIL import Image

    if noise:
        pixels = np.random.default_rng(side).integers(0, 256, (side, side, 3), dtype=np.uint8)
    else:
        pixels = np.full((side, side, 3), 90, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def ztxt_bomb_card() -> bytes:
    """An 8x8 PNG with zTXt chunks after IDAT, each 20 MiB of zeros compressed to ~20 KB."""
    import struct

    png = png_bytes(8)
    end = png.rindex(b"IEND") - 4
    compressed = zlib.compress(bytes(20 * MB), 9)
    chunks = b""
    for index in range(scale(40, 10)):
        body = f"k{index}".encode() + b"\0\0" + compressed
        chunks += (
            struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body))
        )
    return png[:end] + chunks + png[end:]


def wide_character_rows() -> Iterator[str]:
    columns = scale(100_000, 10_000)
    yield "name," + ",".join(f"x{i}" for i in range(1, columns)) + "\n"
    yield "Alice" + "," * (columns - 1) + "\n"


def valid_character_csv(out: BinaryIO) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "bench_csv_import", Path(__file__).with_name("csv_import.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "characters.csv"
        module.generate(path, scale(90_000, 5_000))  # 100,000 would pass the 20 MB limit
        out.write(path.read_bytes())


# --- cases ------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    what: str
    method: str  # POST or GET
    path: Callable[[dict[str, Any]], str]  # from the set-up's objects
    upload: Callable[[dict[str, Any]], Upload] | None
    warm_up: Callable[[dict[str, Any]], Upload] | None
    allowed_bytes: Callable[[], int | None]  # the configured limit on what this request may send
    query: str = ""


def _setting(name: str) -> int:
    from django.conf import settings

    return int(getattr(settings, name))


def _frames_upload(rows: Callable[[], Iterator[str]], width: int | None = None) -> Callable[..., Upload]:
    def make(_objects: dict[str, Any]) -> Upload:
        fields = {"dataset": "bench"} | ({"width": str(width)} if width else {})
        return Upload(fields, [("file", "frames.csv", lines_writer(rows))])

    return make


def _frames_warm_up(_objects: dict[str, Any]) -> Upload:
    return Upload({"dataset": "warm-up"}, [("file", "w.csv", bytes_writer(b"depth,col1,col2\n1,2,3\n"))])


def _import_warm_up(_objects: dict[str, Any]) -> Upload:
    return Upload({}, [("file", "w.csv", bytes_writer(b"name\nWarm Up\n"))])


def _lab_upload(size: int, valid: bool) -> Callable[..., Upload]:
    def make(_objects: dict[str, Any]) -> Upload:
        if valid:
            image = png_bytes(scale(1600, 500), noise=True)
            writers = [bytes_writer(image)] * 4
        else:
            writers = [zeros_writer(b"\x89PNG\r\n\x1a\n", size)] * 4
        return Upload({}, [("images", f"image{index}.png", writer) for index, writer in enumerate(writers)])

    return make


def _lab_warm_up(_objects: dict[str, Any]) -> Upload:
    return Upload({}, [("images", "w.txt", bytes_writer(b"not an image"))])


def _card_valid(objects: dict[str, Any]) -> Upload:
    return Upload({}, [("file", "card.png", bytes_writer(objects["card"]))])


def _frames_url(name: str) -> Callable[[dict[str, Any]], str]:
    def url(_objects: dict[str, Any]) -> str:
        from django.urls import reverse

        return reverse(name)

    return url


def _style_url(objects: dict[str, Any]) -> str:
    return objects["style"].get_absolute_url() + "upload/"


def _range_url(objects: dict[str, Any]) -> str:
    from django.urls import reverse

    return reverse("api:frames_image_png", args=[objects["seeded"].name])


CASES = [
    Case(
        "frames width amplification",
        "depth,col1 x 60,000 rows, width=4096, API",
        "POST",
        _frames_url("api:frames_upload_csv"),
        _frames_upload(depth_width_rows, 4096),
        _frames_warm_up,
        lambda: _setting("FRAMES_MAX_UPLOAD_BYTES"),
    ),
    Case(
        "frames width 4096 within limit",
        "depth,col1 x 7,000 rows, width=4096 (28.7 M stored pixels), API",
        "POST",
        _frames_url("api:frames_upload_csv"),
        _frames_upload(depth_wide_within_limit_rows, 4096),
        _frames_warm_up,
        lambda: _setting("FRAMES_MAX_UPLOAD_BYTES"),
    ),
    Case(
        "frames long cell",
        "4096 columns x 1,200 rows, one 70-digit cell, API",
        "POST",
        _frames_url("api:frames_upload_csv"),
        _frames_upload(depth_long_cell_rows),
        _frames_warm_up,
        lambda: _setting("FRAMES_MAX_UPLOAD_BYTES"),
    ),
    Case(
        "frames valid large",
        "4096 columns x 3,000 rows of 0-255, width 150, API",
        "POST",
        _frames_url("api:frames_upload_csv"),
        _frames_upload(depth_valid_rows),
        _frames_warm_up,
        lambda: _setting("FRAMES_MAX_UPLOAD_BYTES"),
    ),
    Case(
        "frames range over the limit",
        "image.png of a 60,000 x 4096 dataset, no bounds (over 2,000 rows)",
        "GET",
        _range_url,
        None,
        None,
        lambda: 0,
    ),
    Case(
        "frames range valid",
        "image.png of the first 2,000 rows of that dataset",
        "GET",
        _range_url,
        None,
        None,
        lambda: 0,
        query="depth_min=0&depth_max=1999",
    ),
    Case(
        "card zTXt bomb",
        "8x8 PNG + 40 zTXt chunks of 20 MiB zeros, import upload + preview",
        "POST",
        _frames_url("studio:import_upload"),
        lambda _objects: Upload({}, [("file", "card.png", bytes_writer(ztxt_bomb_card()))]),
        _import_warm_up,
        lambda: _setting("CHARACTER_CARD_MAX_BYTES"),
    ),
    Case(
        "card valid large",
        "1024x1024 noise portrait card with long text fields, import upload + preview",
        "POST",
        _frames_url("studio:import_upload"),
        _card_valid,
        _import_warm_up,
        lambda: _setting("CHARACTER_CARD_MAX_BYTES"),
    ),
    Case(
        "lab 4 huge files",
        "4 x 100 MB files (PNG signature + zeros) to a style",
        "POST",
        _style_url,
        _lab_upload(100 * MB, valid=False),
        _lab_warm_up,
        lambda: 4 * _setting("LAB_MAX_UPLOAD_BYTES"),
    ),
    Case(
        "lab valid large",
        "4 x 1600x1600 noise PNGs (~7.7 MB each) to a style",
        "POST",
        _style_url,
        _lab_upload(0, valid=True),
        _lab_warm_up,
        lambda: 4 * _setting("LAB_MAX_UPLOAD_BYTES"),
    ),
    Case(
        "character CSV 100,000 columns",
        "one row, 100,000 columns, import upload + preview",
        "POST",
        _frames_url("studio:import_upload"),
        lambda _objects: Upload({}, [("file", "wide.csv", lines_writer(wide_character_rows))]),
        _import_warm_up,
        lambda: _setting("CHARACTER_IMPORT_MAX_BYTES"),
    ),
    Case(
        "character CSV valid large",
        "90,000 generated characters, import upload + preview",
        "POST",
        _frames_url("studio:import_upload"),
        lambda _objects: Upload({}, [("file", "characters.csv", valid_character_csv)]),
        _import_warm_up,
        lambda: _setting("CHARACTER_IMPORT_MAX_BYTES"),
    ),
]


# --- child: one case --------------------------------------------------------------------------------------


def memory_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def seed_dataset(owner: Any, rows: int, width: int) -> Any:
    """A dataset written chunk by chunk, without the ingest workflow (which is what is measured)."""
    import numpy as np

    from studio.frames.ingest import CHUNK_ROWS
    from studio.models import DepthDataset, DepthFrameChunk

    dataset = DepthDataset.objects.create(
        owner=owner, name="seeded", width=width, source_width=width, row_count=rows, depth_min=0.0,
        depth_max=float(rows - 1),
    )  # fmt: skip
    rng = np.random.default_rng(5)
    batch = []
    for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
        depths = np.arange(start, min(start + CHUNK_ROWS, rows), dtype="<f8")
        pixels = rng.integers(0, 256, (len(depths), width), dtype=np.uint8)
        batch.append(
            DepthFrameChunk(
                dataset=dataset, index=index, row_count=len(depths), depth_min=float(depths[0]),
                depth_max=float(depths[-1]), depths=depths.tobytes(), pixels=pixels.tobytes(),
            )
        )  # fmt: skip
        if len(batch) == 16:
            DepthFrameChunk.objects.bulk_create(batch)
            batch.clear()
    DepthFrameChunk.objects.bulk_create(batch)
    return dataset


def run_child(case: Case) -> dict[str, Any]:
    django_with_scratch_db("uploads")
    from django.conf import settings
    from django.core.signals import got_request_exception
    from django.test import Client, override_settings

    # No collectstatic in a bench: plain static URLs instead of the production manifest.
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}).enable()

    from studio.models import Style
    from studio.tests.factories import CharacterFactory, UserFactory

    user = UserFactory()
    client = Client()
    client.force_login(user)
    objects: dict[str, Any] = {"style": Style.objects.create(owner=user, name="bench")}
    if case.method == "GET":
        objects["seeded"] = seed_dataset(user, scale(60_000, 6_000), 4096)
    if case.name == "card valid large":
        from studio.imports import cards

        character = CharacterFactory(owner=user, name="Card", notes="n" * 100_000)
        objects["card"] = cards.export_card(character, png_bytes(1024, noise=True))
        character.delete()

    exceptions: list[str] = []
    got_request_exception.connect(
        lambda sender, request=None, **_kwargs: exceptions.append(repr(sys.exc_info()[1])[:200]), weak=False
    )
    scratch = Path(tempfile.mkdtemp(prefix="dali-bench-uploads-body-"))

    def send(upload: Upload | None, query: str = "") -> tuple[Any, int, int]:
        environ: dict[str, Any] = {"PATH_INFO": case.path(objects), "REQUEST_METHOD": case.method}
        environ["QUERY_STRING"] = query
        body_bytes = file_bytes = 0
        if upload is not None:
            body = scratch / "body"
            body_bytes, file_bytes = write_multipart(body, upload)
            environ |= {
                "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
                "CONTENT_LENGTH": str(body_bytes),
                "wsgi.input": body.open("rb"),
            }
        return client.handler(client._base_environ(**environ)), body_bytes, file_bytes

    if case.method == "GET":
        send(None, "depth_min=0&depth_max=10")
    elif case.warm_up is not None:
        send(case.warm_up(objects))
    upload = case.upload(objects) if case.upload else None
    if upload is not None:  # write the body now so that its generation is not measured
        for index, (field, filename, writer) in enumerate(upload.files):
            path = scratch / f"file{index}"
            with path.open("wb") as out:
                writer(out)
            upload.files[index] = (field, filename, (lambda p: lambda out: out.write(p.read_bytes()))(path))
    exceptions.clear()
    body_path = scratch / "body"
    body_bytes = file_bytes = 0
    if upload is not None:
        body_bytes, file_bytes = write_multipart(body_path, upload)
        upload = None
    gc.collect()
    idle = memory_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    started = time.perf_counter()
    status, note = 0, ""
    try:
        environ: dict[str, Any] = {
            "PATH_INFO": case.path(objects),
            "REQUEST_METHOD": case.method,
            "QUERY_STRING": case.query,
        }
        if body_bytes:
            environ |= {
                "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
                "CONTENT_LENGTH": str(body_bytes),
                "wsgi.input": body_path.open("rb"),
            }
        response = client.handler(client._base_environ(**environ))
        status = response.status_code
        content = response.content if not response.streaming else b""
        if status in (301, 302, 303) and case.method == "POST":
            location = response["Location"]
            followed = client.get(location)
            status = followed.status_code
            content = followed.content
        if status >= 400:
            note = _message(content)
    except MemoryError:
        status, note = 500, "MemoryError (not caught by Django)"
    elapsed = time.perf_counter() - started
    peak = memory_kb("VmHWM")
    if exceptions:
        note = (note + " | " if note else "") + exceptions[0]
    return {
        "status": status,
        "seconds": elapsed,
        "idle_mb": idle / 1024,
        "peak_over_idle_mb": max(0, peak - idle) / 1024,
        "upload_mb": file_bytes / MB,
        "body_mb": body_bytes / MB,
        "allowed_mb": (case.allowed_bytes() or 0) / MB,
        "note": note[:160],
    }


def _message(content: bytes) -> str:
    """The error message of a JSON answer, or the first alert / error text of a page."""
    import html
    import re

    text = content[:2_000_000].decode("utf-8", "replace")
    try:
        return str(json.loads(text).get("error", ""))
    except (ValueError, AttributeError):
        pass
    for pattern in (
        r'class="[^"]*(?:alert-danger|invalid-feedback|errorlist)[^"]*"[^>]*>(.*?)</',
        r"<h1>(.*?)</h1>",
    ):
        found = re.search(pattern, text, re.S)
        if found:
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())
    return text[:120]


# --- parent -----------------------------------------------------------------------------------------------


def run_case(case: Case, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", case.name]
    command += ["--quick"] if args.quick else []
    limit = int(args.as_limit_gb * 1024**3)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started = time.perf_counter()
    try:
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, preexec_fn=limit_memory
        )
    except subprocess.TimeoutExpired:
        return {"status": 999, "seconds": time.perf_counter() - started, "note": f"timeout {args.timeout} s"}
    for line in finished.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (finished.stderr or finished.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"status": 998, "seconds": time.perf_counter() - started, "note": f"child died: {tail[0][:150]}"}


def main() -> None:
    global QUICK
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sizes scaled down ~10x")
    parser.add_argument("--case", action="append", help="run only these cases (by name, repeatable)")
    parser.add_argument("--as-limit-gb", type=float, default=8.0, help="RLIMIT_AS of each child")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    QUICK = args.quick
    if args.child:
        case = next(case for case in CASES if case.name == args.child)
        print("RESULT " + json.dumps(run_child(case)), flush=True)
        return

    chosen = [case for case in CASES if not args.case or case.name in args.case]
    print(f"uploads bench{' (--quick)' if args.quick else ''}: RLIMIT_AS {args.as_limit_gb:g} GB per child")
    lines = []
    for case in chosen:
        result = run_case(case, args)
        upload, allowed = result.get("upload_mb", 0.0), result.get("allowed_mb", 0.0)
        limit = 64 + 4 * min(upload, allowed)
        peak = result.get("peak_over_idle_mb", float("nan"))
        print(
            f"{case.name:32} {result['status']:>3}  {result['seconds']:7.2f} s  "
            f"peak +{peak:8.1f} MB (idle {result.get('idle_mb', 0):5.0f} MB)  "
            f"upload {upload:7.2f} MB  budget {limit:7.1f} MB  {case.what}"
        )
        if result.get("note"):
            print(f"{'':32} -> {result['note']}")
        sys.stdout.flush()
        lines.append(
            budget_line(f"{case.name} peak RSS over idle", peak if peak == peak else 1e9, "MB", limit)
        )
        lines.append(budget_line(f"{case.name} HTTP status (timeout 999)", result["status"], "", 499))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
    sys.exit(exit_code())
