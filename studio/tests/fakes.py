"""Local fake servers that speak the image providers' HTTP protocols, for tests and benchmarks.

Each fake is a real HTTP server on 127.0.0.1 (a free port), so the real `openai` SDK and `requests`
run their whole stack against it. Program replies with `fake.reply(...)` (first in, first out; when the
queue is empty the fake answers like the provider does on success) and read `fake.requests` to assert
what was sent. Use them as context managers (`with FakeOpenAI(latency=0.2) as fake:`) or through the
pytest fixtures at the bottom, which also point the Django settings at the fake.
"""

from __future__ import annotations

import base64
import functools
import io
import json as jsonlib
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

_UNSET: Any = object()


@functools.cache
def png_bytes(width: int = 16, height: int = 16, color: tuple[int, int, int] = (180, 120, 90)) -> bytes:
    """A real, small PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


@functools.cache
def jpeg_bytes(width: int = 16, height: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any = None
    form: dict[str, str] | None = None
    client_port: int = 0  # which TCP connection it came on: the same port means a reused connection
    # Multipart file parts, in the order sent (OpenAI's image[], Stability's image).
    files: list[FilePart] = field(default_factory=list)


@dataclass(frozen=True)
class FilePart:
    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> tuple[int, int]:
        with Image.open(io.BytesIO(self.data)) as image:
            return image.size


@dataclass
class Reply:
    status: int = 200
    json: Any = _UNSET
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Close the connection without answering (a dropped connection after the request was sent).
    drop: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not _UNSET:
            headers.setdefault("Content-Type", "application/json")
            return jsonlib.dumps(self.json).encode(), headers
        return self.body, headers


def dropped_connection(delay: float = 0.0) -> Reply:
    """The server reads the request, then closes the connection without a status line."""
    return Reply(drop=True, delay=delay)


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[FilePart]]:
    """Text fields by name, and file parts (those with a filename) in order."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields = {}
    files = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True)
        if filename is not None:
            files.append(FilePart(name, filename, part.get_content_type(), payload))
        else:
            fields[name] = payload.decode()
    return fields, files


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, a kept-alive connection waits
    # for the client's delayed ACK (~40 ms) before the body. Real API servers set TCP_NODELAY too.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        content_type = headers.get("content-type", "")
        parsed = urlsplit(self.path)
        recorded = Recorded(self.command, parsed.path, parse_qs(parsed.query), headers, body)
        recorded.client_port = self.client_address[1]
        if content_type.startswith("application/json") and body:
            try:
                recorded.json = jsonlib.loads(body)
            except ValueError:
                recorded.json = None
        elif content_type.startswith("multipart/form-data"):
            recorded.form, recorded.files = _parse_multipart(content_type, body)
        reply = self.server.fake.next_reply(recorded)
        time.sleep(self.server.fake.latency + reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        payload, reply_headers = reply.encoded()
        try:
            self.send_response(reply.status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test); nothing to answer.
            self.close_connection = True

    do_GET = do_POST = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeServer


class FakeServer:
    """A threaded HTTP server with a programmable reply queue and a record of requests."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: list[Recorded] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle.

    def start(self) -> FakeServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # Programming and inspection.

    def reply(
        self,
        status: int = 200,
        json: Any = _UNSET,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        """Queue one reply; replies are used in order, then the fake answers with success."""
        self._replies.append(Reply(status, json, body, headers or {}, delay, drop))

    def push(self, *replies: Reply) -> None:
        """Queue prepared replies (from openai_error, stability_error, hf_error, or Reply(...))."""
        self._replies.extend(replies)

    def next_reply(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            queued = self._replies.popleft() if self._replies else None
        return queued or self.success(request)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def success(self, request: Recorded) -> Reply:
        return Reply(404, {"error": "not found"})


# OpenAI.


def openai_error(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """An error in the OpenAI API's shape: {"error": {"message", "type", "param", "code"}}."""
    return Reply(
        status,
        {"error": {"message": message, "type": type, "param": param, "code": code}},
        b"",
        headers or {},
    )


def openai_unverified_organization(model: str) -> Reply:
    """What api.openai.com answers an organization that has not completed verification for a GPT Image
    model: 403, type invalid_request_error, code and param null."""
    return openai_error(
        403,
        f"Your organization must be verified to use the model `{model}`. Please go to: "
        "https://platform.openai.com/settings/organization/general and click on Verify Organization. "
        "If you just verified, it can take up to 15 minutes for access to propagate.",
    )


class FakeOpenAI(FakeServer):
    """POST /v1/images/generations, POST /v1/images/edits and GET /v1/models, as api.openai.com answers them.

    Edits take multipart `image[]` parts and refuse, with the API's error bodies: more than 16 images, a
    part that is not PNG, JPEG or WebP (by its content type, and by its bytes), and an input_fidelity the
    model does not take (per the catalog, which records the SDK's docstring)."""

    def __init__(self, latency: float = 0.0, api_key: str = "sk-test-key") -> None:
        super().__init__(latency)
        self.api_key = api_key
        self.image = png_bytes()  # what every generation answers (bench/queue.py sends a bigger one)
        # Answer with a revised prompt per image, as an OpenAI-compatible server may (DALL·E 3 did).
        self.revise_prompts = False
        self.models: list[dict[str, Any]] = [
            {"id": "gpt-image-2", "object": "model", "created": 1776729600, "owned_by": "system"},
            {"id": "gpt-image-1-mini", "object": "model", "created": 1743465600, "owned_by": "system"},
            {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
        ]

    def success(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return openai_error(
                401,
                "Incorrect API key provided: sk-wron*****. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        if request.method == "GET" and request.path == "/v1/models":
            return Reply(200, {"object": "list", "data": self.models})
        if request.method == "POST" and request.path == "/v1/images/generations":
            return self._images(request.json or {})
        if request.method == "POST" and request.path == "/v1/images/edits":
            return self._edits(request)
        return openai_error(404, f"Invalid URL ({request.method} {request.path})")

    def _edits(self, request: Recorded) -> Reply:
        from studio.portraits.providers import catalog

        form = request.form or {}
        images = [part for part in request.files if part.field in ("image", "image[]")]
        if not images:
            return openai_error(
                400, "Missing required parameter: 'image'.", param="image", code="missing_required_parameter"
            )
        if len(images) > MAX_EDIT_IMAGES:
            return openai_error(
                400,
                f"Invalid 'image': array too long. Expected an array with maximum length {MAX_EDIT_IMAGES}, "
                f"but got an array with length {len(images)} instead.",
                param="image",
                code="array_above_max_length",
            )
        sizes = []
        for part in images:
            if part.content_type not in EDIT_MIMETYPES:
                return openai_error(
                    400,
                    f"Invalid file 'image': unsupported mimetype ('{part.content_type}'). "
                    "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                    param="image",
                )
            try:
                sizes.append(part.size)
            except OSError:
                # Modelled: the API's words for bytes that do not decode are not documented.
                return openai_error(
                    400,
                    f"Invalid image file '{part.filename}': the data is not a valid PNG, JPEG or WebP image.",
                    param="image",
                    code="invalid_image",
                )
        model = form.get("model", "gpt-image-2")
        fidelity = form.get("input_fidelity")
        entry = catalog.OPENAI_MODELS.get(model)
        taken = entry.input_fidelity if entry else ()
        if fidelity is not None and not taken:
            return openai_error(
                400,
                "Unsupported parameter: 'input_fidelity' is not supported with this model.",
                param="input_fidelity",
                code="unsupported_parameter",
            )
        if fidelity is not None and fidelity not in taken:
            supported = ", ".join(f"'{value}'" for value in taken)
            return openai_error(
                400,
                f"Invalid value: '{fidelity}'. Supported values are: {supported}.",
                param="input_fidelity",
                code="invalid_value",
            )
        from studio.portraits.providers.pricing import gpt_image_input_tokens

        read_as = fidelity or ("low" if taken else "high")  # the default is low where the parameter exists
        image_tokens = sum(gpt_image_input_tokens(width, height, read_as) for width, height in sizes)
        return self._images(dict(form, n=int(form.get("n") or 1)), image_tokens=image_tokens)

    def _images(self, body: dict[str, Any], image_tokens: int = 0) -> Reply:
        model = body.get("model", "gpt-image-2")
        if model in RETIRED_OPENAI_MODELS:
            # What api.openai.com answers for a shut-down model.
            return openai_error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        count = int(body.get("n") or 1)
        encoded = base64.b64encode(self.image).decode()
        images: list[dict[str, Any]] = [{"b64_json": encoded} for _ in range(count)]
        if self.revise_prompts:
            for image in images:
                image["revised_prompt"] = "A painterly portrait, revised: " + body.get("prompt", "")[:40]
        size = body.get("size", "auto")
        quality = body.get("quality", "auto")
        # Like the API, the response says which quality and size "auto" turned into.
        used_quality = "high" if quality == "auto" else quality
        used_size = "1024x1024" if size == "auto" else size
        payload: dict[str, Any] = {
            "created": int(time.time()),
            "data": images,
            "background": "transparent" if body.get("background") == "transparent" else "opaque",
            "output_format": body.get("output_format", "png"),
            "quality": used_quality,
            "size": used_size,
            "usage": gpt_image_usage(body.get("prompt", ""), used_quality, used_size, count, image_tokens),
        }
        return Reply(200, payload)


RETIRED_OPENAI_MODELS = {"dall-e-2", "dall-e-3", "gpt-image-1"}
MAX_EDIT_IMAGES = 16
EDIT_MIMETYPES = {"image/png", "image/jpeg", "image/webp"}


def gpt_image_usage(
    prompt: str, quality: str, size: str, count: int, image_tokens: int = 0
) -> dict[str, Any]:
    """A usage block shaped like the API's (ImagesResponse.usage): text tokens for the prompt (about one per
    four characters), `image_tokens` of input images (an edit's references) and OpenAI's output-token count
    for each image's quality and size."""
    from studio.portraits.providers.pricing import gpt_image_output_tokens

    width, height = (int(side) for side in size.split("x"))
    text_tokens = max(len(prompt) // 4, 1)
    output = gpt_image_output_tokens(quality, width, height) * count
    return {
        "input_tokens": text_tokens + image_tokens,
        "input_tokens_details": {"image_tokens": image_tokens, "text_tokens": text_tokens},
        "output_tokens": output,
        "output_tokens_details": {"image_tokens": output, "text_tokens": 0},
        "total_tokens": text_tokens + image_tokens + output,
    }


# Stability AI.


def stability_error(status: int, name: str, *errors: str, headers: dict[str, str] | None = None) -> Reply:
    """An error in Stability's shape: {"id", "name", "errors": [...]}."""
    return Reply(status, {"id": uuid.uuid4().hex, "name": name, "errors": list(errors)}, b"", headers or {})


class FakeStability(FakeServer):
    """POST /v2beta/stable-image/generate/{core,ultra,sd3} and /v2beta/stable-image/control/{structure,style}
    (multipart in, image bytes or JSON out).

    An `image` part (image-to-image on sd3 or ultra, the Control services' required one) is checked as the API
    documents it: PNG, JPEG or WebP, each side at least 64 px, 4,096 to 9,437,184 pixels, an aspect ratio
    between 1:2.5 and 2.5:1; a failure is a 400 whose errors start with "image:"."""

    def __init__(self, latency: float = 0.0, api_key: str = "sk-stability-test") -> None:
        super().__init__(latency)
        self.api_key = api_key
        # Generate endpoints served; remove one to act out Stability retiring it (404 not_found).
        self.endpoints = {"core", "ultra", "sd3"}
        self.control = {"structure", "style"}

    def success(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return stability_error(401, "unauthorized", "authorization: invalid or missing API key")
        service, _, endpoint = request.path.removeprefix("/v2beta/stable-image/").partition("/")
        served = {"generate": self.endpoints, "control": self.control}.get(service, set())
        if request.method != "POST" or endpoint not in served:
            return stability_error(404, "not_found", f"{request.path} is not a valid endpoint")
        form = request.form or {}
        if not form.get("prompt"):
            return stability_error(400, "bad_request", "prompt: cannot be empty")
        image = next((part for part in request.files if part.field == "image"), None)
        takes_image = service == "control" or endpoint == "ultra" or form.get("mode") == "image-to-image"
        if image is None and (service == "control" or form.get("mode") == "image-to-image"):
            return stability_error(400, "bad_request", "image: is required")
        if image is not None and not takes_image:
            return stability_error(400, "bad_request", "image: this endpoint does not take an image")
        if image is not None and (problem := self._image_problem(image)):
            return stability_error(400, "bad_request", f"image: {problem}")
        if form.get("mode") == "image-to-image" and not form.get("strength"):
            return stability_error(400, "bad_request", "strength: is required when mode is image-to-image")
        seed = int(form.get("seed") or 0) or 1234567
        result = png_bytes()
        if request.headers.get("accept") == "application/json":
            payload = {"image": base64.b64encode(result).decode(), "finish_reason": "SUCCESS", "seed": seed}
            return Reply(200, payload)
        headers = {"Content-Type": "image/png", "finish-reason": "SUCCESS", "seed": str(seed)}
        return Reply(200, body=result, headers=headers)

    @staticmethod
    def _image_problem(part: FilePart) -> str:
        try:
            width, height = part.size
        except OSError:
            return "unsupported or unreadable image; use jpeg, png or webp"
        if min(width, height) < 64:
            return f"each side must be at least 64 pixels, got {width}x{height}"
        if not 4096 <= width * height <= 9_437_184:
            return f"the image must have between 4,096 and 9,437,184 pixels, got {width * height:,}"
        if max(width, height) > 2.5 * min(width, height):
            return "the aspect ratio must be between 1:2.5 and 2.5:1"
        return ""


# Hugging Face.


def hf_error(status: int, error: str, headers: dict[str, str] | None = None, **extra: Any) -> Reply:
    """An error in the Hugging Face inference shape: {"error": "...", ...}."""
    return Reply(status, {"error": error, **extra}, b"", headers or {})


HF_RETIRED = "The requested model is deprecated and no longer supported by provider hf-inference"
HF_NOT_SUPPORTED = "Model not supported by provider hf-inference"


class FakeHuggingFace(FakeServer):
    """POST /hf-inference/models/{owner}/{model} on the inference router: JSON in, image bytes out; for an
    image-to-image model, the task's body ({"inputs": base64 image, "parameters": {"prompt", ...}}).

    Like the router, it answers 410 for models hf-inference has retired (SDXL base among them) and 400
    for models it never served there.
    """

    def __init__(self, latency: float = 0.0, api_key: str = "hf_test_token") -> None:
        super().__init__(latency)
        self.api_key = api_key
        self.retired = {"stabilityai/stable-diffusion-xl-base-1.0"}
        self.not_supported = {"runwayml/stable-diffusion-v1-5"}
        # Image-to-image models: `inputs` is a base64 image and parameters.prompt the instruction.
        self.image_to_image = {"black-forest-labs/FLUX.1-Kontext-dev"}

    def success(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return hf_error(401, "Invalid credentials in Authorization header")
        if request.method != "POST" or not request.path.startswith("/hf-inference/models/"):
            return hf_error(404, "Not Found")
        model = request.path.removeprefix("/hf-inference/models/")
        if model in self.retired:
            return hf_error(410, HF_RETIRED)
        if model in self.not_supported:
            return hf_error(400, HF_NOT_SUPPORTED)
        body = request.json or {}
        if not body.get("inputs"):
            return hf_error(400, "Input should be a valid string")
        if model in self.image_to_image:
            try:
                with Image.open(io.BytesIO(base64.b64decode(body["inputs"], validate=True))) as image:
                    image.load()
            except (ValueError, OSError):
                return hf_error(400, "Invalid image: the inputs could not be decoded as an image")
            if not (body.get("parameters") or {}).get("prompt"):
                return hf_error(400, "parameters.prompt: field required")
        return Reply(200, body=png_bytes(), headers={"Content-Type": "image/png"})


# Pytest fixtures (registered through studio/tests/conftest.py).


@pytest.fixture
def fake_openai(settings: Any) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        settings.OPENAI_API_KEY = fake.api_key
        settings.OPENAI_BASE_URL = f"{fake.url}/v1"
        yield fake


@pytest.fixture
def fake_stability(settings: Any) -> Iterator[FakeStability]:
    with FakeStability() as fake:
        settings.STABILITY_API_KEY = fake.api_key
        settings.STABILITY_BASE_URL = fake.url
        yield fake


@pytest.fixture
def fake_huggingface(settings: Any) -> Iterator[FakeHuggingFace]:
    with FakeHuggingFace() as fake:
        settings.HUGGINGFACE_API_TOKEN = fake.api_key
        settings.HUGGINGFACE_BASE_URL = fake.url
        yield fake


@pytest.fixture
def slow_fake_provider(settings: Any) -> Iterator[Callable[..., FakeServer]]:
    """A factory: slow_fake_provider("openai", latency=0.2) starts that fake, answering after `latency` s,
    and points the settings at it."""
    started: list[FakeServer] = []

    def start(provider: str = "openai", latency: float = 0.1) -> FakeServer:
        fake: FakeServer
        if provider == "openai":
            fake = FakeOpenAI(latency).start()
            settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = fake.api_key, f"{fake.url}/v1"
        elif provider == "stability":
            fake = FakeStability(latency).start()
            settings.STABILITY_API_KEY, settings.STABILITY_BASE_URL = fake.api_key, fake.url
        elif provider == "huggingface":
            fake = FakeHuggingFace(latency).start()
            settings.HUGGINGFACE_API_TOKEN, settings.HUGGINGFACE_BASE_URL = fake.api_key, fake.url
        else:
            raise ValueError(f"no fake for provider {provider!r}")
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
