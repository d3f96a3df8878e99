"""Generating with reference images, provider by provider, against the fake servers: what is sent (images,
their order, sizes and parameters), what it costs, and what a user reads for each failure."""

from __future__ import annotations

import base64
import io
from decimal import Decimal

import openai
import pytest
from PIL import Image

from studio.portraits.providers import ErrorKind, GenerationRequest, ProviderError, get_provider
from studio.portraits.providers.base import ReferenceInput
from studio.portraits.providers.pricing import actual_cost, estimate_cost
from studio.portraits.references_prep import prepare_references
from studio.tests.fakes import FakeOpenAI, jpeg_bytes, openai_error, png_bytes

# Providers look up announced shutdown dates in the shared cache (a database table unless Redis is set).
pytestmark = pytest.mark.django_db


PROMPT = "Captain Isolde Marrow, a weathered sea captain with a scar across her left cheek."


def picture(width: int, height: int, color: tuple[int, int, int] = (120, 80, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def references(*roles: str, sizes: tuple[tuple[int, int], ...] = ()) -> tuple[ReferenceInput, ...]:
    """Prepared references with these roles, named after them, each a different colour and size."""
    images = [
        picture(*(sizes[index] if index < len(sizes) else (1024, 1024)), (40 * index, 90, 160))
        for index in range(len(roles))
    ]
    names = [f"Isolde {role} {index + 1}" for index, role in enumerate(roles)]
    return prepare_references(images, roles=roles, names=names)


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def failure(provider, request: GenerationRequest) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.generate(request)
    return caught.value


# OpenAI GPT Image: POST /v1/images/edits.


@pytest.fixture
def openai_provider(fake_openai: FakeOpenAI):
    provider = get_provider("openai")
    provider.sleep = lambda seconds: None
    return provider


def test_it_sends_references_to_openai_edits_as_image_parts_in_the_users_order(
    openai_provider, fake_openai
) -> None:
    sent_references = references("face", "outfit", "style", sizes=((1024, 1536), (800, 800), (1024, 1024)))

    result = openai_provider.generate(
        GenerationRequest(
            prompt=PROMPT,
            size="1024x1536",
            quality="medium",
            options={"moderation": "low", "background": "opaque"},
            references=sent_references,
        )
    )

    sent = fake_openai.last
    assert (sent.method, sent.path) == ("POST", "/v1/images/edits")
    assert [part.field for part in sent.files] == ["image[]"] * 3
    assert [part.filename for part in sent.files] == ["reference-1.png", "reference-2.png", "reference-3.png"]
    assert [part.content_type for part in sent.files] == ["image/png"] * 3
    assert [part.data for part in sent.files] == [reference.data for reference in sent_references]
    # Downscaled to 1024 px on the long side before sending; smaller ones as they were.
    assert [part.size for part in sent.files] == [(683, 1024), (800, 800), (1024, 1024)]
    assert sent.form["model"] == "gpt-image-2"
    assert sent.form["size"] == "1024x1536"
    assert sent.form["quality"] == "medium"
    assert "input_fidelity" not in sent.form  # gpt-image-2 takes none: the SDK says omit it
    assert "moderation" not in sent.form  # edits take no moderation
    assert sent.form["background"] == "opaque"
    assert sent.form["prompt"].startswith(PROMPT)
    assert "Keep the identity of the person in the reference images" in sent.form["prompt"]
    assert (
        "image 1 shows the face and identity; image 2 shows the outfit; image 3 shows the art style"
        in (sent.form["prompt"])
    )
    assert [item["sha256"] for item in result.parameters["references"]] == [r.sha256 for r in sent_references]
    assert result.parameters["references"][0] == {
        "name": "Isolde face 1",
        "role": "face",
        "sha256": sent_references[0].sha256,
    }
    assert "image" not in result.parameters


@pytest.mark.parametrize(("model", "fidelity"), [("gpt-image-1.5", "high"), ("gpt-image-1-mini", "low")])
def test_it_sends_the_highest_input_fidelity_the_model_takes(openai_provider, fake_openai, model, fidelity):
    openai_provider.generate(
        GenerationRequest(prompt=PROMPT, model=model, quality="low", references=references("face"))
    )

    assert fake_openai.last.form["input_fidelity"] == fidelity
    assert fake_openai.last.form["model"] == model


def test_it_generates_from_the_prompt_alone_without_references(openai_provider, fake_openai) -> None:
    result = openai_provider.generate(GenerationRequest(prompt=PROMPT, quality="low"))

    assert fake_openai.last.path == "/v1/images/generations"
    assert fake_openai.last.json["prompt"] == PROMPT
    assert "references" not in result.parameters


def test_it_books_the_reference_input_tokens_from_the_edit_usage(openai_provider, fake_openai) -> None:
    with_refs = openai_provider.generate(
        GenerationRequest(prompt=PROMPT, quality="low", count=2, references=references("face", "outfit"))
    )
    without = openai_provider.generate(GenerationRequest(prompt=PROMPT, quality="low", count=2))

    # The fake reports 4354 image input tokens per 1024 px square reference read at high fidelity.
    assert with_refs.usage["input_tokens_details"]["image_tokens"] == 2 * 4354
    booked = actual_cost("openai", "gpt-image-2", with_refs.usage)
    plain = actual_cost("openai", "gpt-image-2", without.usage)
    # 8708 image tokens at $8 per million ($0.0697), and the identity instruction's text tokens.
    assert booked - plain == Decimal("0.0700")
    # The estimate counts the references (as portraits, the dearer shape) and never falls short.
    assert with_refs.estimated_cost == Decimal("0.1170")  # 2 x $0.006 + 2 x 6563 tokens at $8/M
    assert with_refs.estimated_cost >= booked
    assert without.estimated_cost == Decimal("0.0120")


def test_it_estimates_reference_inputs_once_per_edit_call() -> None:
    one_call = estimate_cost("openai", "gpt-image-2", "low", "1024x1024", 10, references=4)
    two_calls = estimate_cost("openai", "gpt-image-2", "low", "1024x1024", 11, references=4)
    plain = estimate_cost("openai", "gpt-image-2", "low", "1024x1024", 10)

    per_call = Decimal(4 * 6563 * 8) / Decimal(1_000_000)
    assert one_call - plain == per_call.quantize(Decimal("0.0001"))
    assert two_calls - estimate_cost("openai", "gpt-image-2", "low", "1024x1024", 11) == (
        2 * per_call
    ).quantize(Decimal("0.0001"))
    # gpt-image-1-mini takes low fidelity only: its references cost tiles, not the high-fidelity extra.
    mini = estimate_cost("openai", "gpt-image-1-mini", "low", "1024x1024", 1, references=4)
    assert mini - estimate_cost("openai", "gpt-image-1-mini", "low", "1024x1024", 1) == Decimal("0.0032")


def test_it_says_what_openai_keeps(openai_provider) -> None:
    assert openai_provider.model_options("gpt-image-2").max_references == 16
    assert openai_provider.reference_note("gpt-image-2", ["face", "outfit", "face"]) == (
        "Keeps the look: 3 references (face, outfit)."
    )
    assert openai_provider.reference_note("gpt-image-2", []) == ""


def test_it_names_the_reference_openai_could_not_read(openai_provider, fake_openai) -> None:
    sent = references("face", "outfit")
    broken = ReferenceInput(b"\x89PNG\r\n\x1a\nnot really", "outfit", "Isolde's coat", "0" * 64)

    error = failure(openai_provider, GenerationRequest(prompt=PROMPT, references=(sent[0], broken)))

    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.status == 400
    assert error.message.startswith(
        'OpenAI could not use the reference image "Isolde\'s coat": Invalid image'
    )
    assert "Replace or remove that reference" in error.message
    assert len(fake_openai.requests) == 1  # a 400 is not retried


def test_it_refuses_a_reference_that_is_no_image_before_sending(openai_provider, fake_openai) -> None:
    garbage = ReferenceInput(b"GIF89a....", "face", "old avatar.gif", "1" * 64)

    error = failure(openai_provider, GenerationRequest(prompt=PROMPT, references=(garbage,)))

    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.message == (
        'OpenAI could not use the reference image "old avatar.gif": it is not a PNG, JPEG or WebP image. '
        "Replace or remove that reference in the character's reference set and try again."
    )
    assert fake_openai.requests == []


def test_it_names_every_reference_when_openai_does_not_say_which(openai_provider, fake_openai) -> None:
    fake_openai.push(
        openai_error(
            400,
            "Invalid file 'image': unsupported mimetype ('application/octet-stream'). Supported file formats "
            "are 'image/jpeg', 'image/png', and 'image/webp'.",
            param="image",
        )
    )

    error = failure(openai_provider, GenerationRequest(prompt=PROMPT, references=references("face", "pose")))

    assert error.message.startswith(
        'OpenAI could not use one of the reference images ("Isolde face 1", "Isolde pose 2"): Invalid file'
    )


def test_it_keeps_other_edit_failures_in_their_own_words(openai_provider, fake_openai) -> None:
    fake_openai.push(
        openai_error(400, "Your request was rejected by the safety system.", code="moderation_blocked")
    )

    error = failure(openai_provider, GenerationRequest(prompt=PROMPT, references=references("face")))

    assert error.kind is ErrorKind.MODERATION
    assert "safety system declined this prompt" in error.message


def test_it_retries_a_rate_limited_edit_with_the_same_images(openai_provider, fake_openai) -> None:
    fake_openai.push(openai_error(429, "Rate limit reached.", type="requests", headers={"retry-after": "1"}))

    openai_provider.generate(GenerationRequest(prompt=PROMPT, references=references("face", "outfit")))

    first, second = fake_openai.requests
    assert [part.data for part in first.files] == [part.data for part in second.files]
    assert second.path == "/v1/images/edits"


# The fake speaks the edits protocol's limits, as the API answers them.


def edit(fake: FakeOpenAI, images: list[tuple[str, bytes, str]], **params: object) -> openai.BadRequestError:
    client = openai.OpenAI(api_key=fake.api_key, base_url=f"{fake.url}/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.edit(image=images, prompt=PROMPT, **params)  # type: ignore[arg-type]
    return caught.value


def test_the_fake_refuses_more_than_16_images(fake_openai) -> None:
    error = edit(
        fake_openai, [(f"r{n}.png", png_bytes(), "image/png") for n in range(17)], model="gpt-image-2"
    )

    assert error.body == {
        "message": "Invalid 'image': array too long. Expected an array with maximum length 16, but got an "
        "array with length 17 instead.",
        "type": "invalid_request_error",
        "param": "image",
        "code": "array_above_max_length",
    }


def test_the_fake_refuses_an_unsupported_format(fake_openai) -> None:
    error = edit(fake_openai, [("a.gif", b"GIF89a", "image/gif")], model="gpt-image-2")

    assert error.body["param"] == "image"
    assert "unsupported mimetype ('image/gif')" in error.body["message"]


@pytest.mark.parametrize(
    ("model", "fidelity", "code"),
    [("gpt-image-2", "high", "unsupported_parameter"), ("gpt-image-1-mini", "high", "invalid_value")],
)
def test_the_fake_refuses_an_input_fidelity_the_model_does_not_take(
    fake_openai, model, fidelity, code
) -> None:
    error = edit(fake_openai, [("a.png", png_bytes(), "image/png")], model=model, input_fidelity=fidelity)

    assert (error.body["param"], error.body["code"]) == ("input_fidelity", code)


def test_the_fake_takes_jpeg_and_answers_like_generations(fake_openai) -> None:
    client = openai.OpenAI(api_key=fake_openai.api_key, base_url=f"{fake_openai.url}/v1", max_retries=0)

    response = client.images.edit(
        image=[("a.jpg", jpeg_bytes(), "image/jpeg")],
        prompt=PROMPT,
        model="gpt-image-1.5",
        input_fidelity="low",
    )

    assert base64.b64decode(response.data[0].b64_json) == png_bytes()
    assert response.usage.input_tokens_details.image_tokens == 65 + 129  # a 16 px square: one tile, low


# Stability AI: one reference, on the endpoint its role needs.


@pytest.fixture
def stability(fake_stability):
    provider = get_provider("stability")
    provider.sleep = lambda seconds: None
    return provider


def test_it_starts_sd3_from_the_face_reference_with_image_to_image(stability, fake_stability) -> None:
    sent_references = references("style", "face", "face", sizes=((1024, 1024), (683, 1024), (512, 512)))

    result = stability.generate(
        GenerationRequest(
            prompt=PROMPT, model="sd3.5-large", size="2:3", seed=9, references=sent_references, count=2
        )
    )

    assert len(fake_stability.requests) == 2
    sent = fake_stability.last
    assert sent.path == "/v2beta/stable-image/generate/sd3"
    assert sent.form == {
        "prompt": PROMPT,
        "output_format": "png",
        "model": "sd3.5-large",
        "seed": "10",
        "mode": "image-to-image",
        "strength": "0.6",
    }
    # The first face reference (the second in the user's order), as the one image part.
    assert [(part.field, part.content_type, part.size) for part in sent.files] == [
        ("image", "image/png", (683, 1024))
    ]
    assert sent.files[0].data == sent_references[1].data
    assert result.parameters["endpoint"] == "image-to-image"
    assert [item["name"] for item in result.parameters["references"]] == ["Isolde face 2"]
    assert result.usage == {"credits": 13.0}  # 2 x SD 3.5 Large's 6.5


def test_it_sends_a_pose_reference_to_control_structure(stability, fake_stability) -> None:
    result = stability.generate(
        GenerationRequest(
            prompt=PROMPT, size="2:3", style="fantasy-art", references=references("outfit", "pose")
        )
    )

    sent = fake_stability.last
    assert sent.path == "/v2beta/stable-image/control/structure"
    assert sent.form == {
        "prompt": PROMPT,
        "output_format": "png",
        "style_preset": "fantasy-art",
        "control_strength": "0.7",
    }
    assert sent.files[0].size == (1024, 1024)
    assert result.usage == {"credits": 3.0}
    assert result.estimated_cost == Decimal("0.0400")  # never short: the dearer Control service


def test_it_sends_a_style_reference_to_control_style_with_the_aspect_ratio(stability, fake_stability) -> None:
    stability.generate(GenerationRequest(prompt=PROMPT, size="16:9", references=references("style")))

    sent = fake_stability.last
    assert sent.path == "/v2beta/stable-image/control/style"
    assert sent.form["aspect_ratio"] == "16:9"
    assert sent.form["fidelity"] == "0.5"
    assert "model" not in sent.form


def test_it_generates_from_the_prompt_when_core_has_only_a_face_reference(stability, fake_stability) -> None:
    result = stability.generate(GenerationRequest(prompt=PROMPT, references=references("face")))

    assert fake_stability.last.path == "/v2beta/stable-image/generate/core"
    assert fake_stability.last.files == []
    assert "references" not in result.parameters


def test_it_says_what_stability_keeps_and_what_it_does_not(stability) -> None:
    assert stability.reference_note("sd3.5-large", ["outfit", "face", "style"]) == (
        "Stability AI uses one reference: the first face reference, as the starting picture "
        "(image-to-image): it keeps colours, composition and a rough likeness, not a reliable identity; "
        "the other 2 are not used."
    )
    assert stability.reference_note("core", ["face", "pose"]) == (
        "Stability AI uses one reference: the first pose reference, for the pose and composition "
        "(Control Structure): it does not keep the face; the other reference is not used."
    )
    assert "Choose SD 3.5 or Ultra" in stability.reference_note("core", ["face"])
    assert stability.model_options("ultra").max_references == 1


def test_it_names_the_reference_stability_refused(stability, fake_stability) -> None:
    too_wide = prepare_references([picture(1000, 300)], roles=["pose"], names=["Isolde on the deck"])

    error = failure(stability, GenerationRequest(prompt=PROMPT, references=too_wide))

    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.message == (
        'Stability AI could not use the reference image "Isolde on the deck": image: the aspect ratio must '
        "be between 1:2.5 and 2.5:1. Replace or remove that reference in the character's reference set and "
        "try again."
    )
    assert len(fake_stability.requests) == 1


def test_it_keeps_stability_failures_about_other_fields_in_their_own_words(stability, fake_stability) -> None:
    from studio.tests.fakes import stability_error

    fake_stability.push(stability_error(402, "payment_required", "You lack sufficient credits."))

    error = failure(stability, GenerationRequest(prompt=PROMPT, references=references("pose")))

    assert error.kind is ErrorKind.QUOTA
    assert "run out of credit" in error.message


# Hugging Face: image-to-image with an instruction-editing model, one reference.


@pytest.fixture
def huggingface(fake_huggingface):
    provider = get_provider("huggingface")
    provider.sleep = lambda seconds: None
    return provider


def test_it_sends_the_first_face_reference_to_the_editing_model(huggingface, fake_huggingface) -> None:
    sent_references = references("outfit", "face", "face", sizes=((1024, 1024), (683, 1024), (512, 512)))

    result = huggingface.generate(
        GenerationRequest(prompt=PROMPT, size="832x1216", seed=5, references=sent_references)
    )

    sent = fake_huggingface.last
    assert sent.path == "/hf-inference/models/black-forest-labs/FLUX.1-Kontext-dev"
    assert sent.headers["authorization"] == "Bearer hf_test_token"
    assert base64.b64decode(sent.json["inputs"]) == sent_references[1].data
    assert size_of(base64.b64decode(sent.json["inputs"])) == (683, 1024)
    parameters = sent.json["parameters"]
    assert parameters["target_size"] == {"width": 832, "height": 1216}
    assert parameters["seed"] == 5
    assert parameters["prompt"].startswith(PROMPT)
    assert "image 1 shows the face and identity" in parameters["prompt"]
    assert "width" not in parameters
    assert result.model == "black-forest-labs/FLUX.1-Kontext-dev"
    assert result.parameters == {
        "size": "832x1216",
        "n": 1,
        "references": [{"name": "Isolde face 2", "role": "face", "sha256": sent_references[1].sha256}],
    }


def test_it_uses_the_first_reference_when_there_is_no_face(huggingface, fake_huggingface) -> None:
    sent_references = references("style", "outfit")

    huggingface.generate(GenerationRequest(prompt=PROMPT, references=sent_references))

    assert base64.b64decode(fake_huggingface.last.json["inputs"]) == sent_references[0].data


def test_it_keeps_text_to_image_for_requests_without_references(huggingface, fake_huggingface) -> None:
    huggingface.generate(GenerationRequest(prompt=PROMPT))

    assert fake_huggingface.last.path == "/hf-inference/models/black-forest-labs/FLUX.1-schnell"
    assert fake_huggingface.last.json["inputs"] == PROMPT


def test_it_says_hugging_face_uses_one_reference(huggingface) -> None:
    assert huggingface.reference_note("", ["outfit", "face", "style"]) == (
        "Hugging Face uses one reference: the first face reference, with FLUX.1 Kontext [dev] (instruction "
        "editing) in place of the chosen model; the other 2 are not used."
    )
    assert huggingface.model_options("").max_references == 1


def test_it_names_the_reference_hugging_face_could_not_decode(huggingface, fake_huggingface) -> None:
    unreadable = ReferenceInput(b"\x89PNG\r\n\x1a\n...", "face", "Isolde sketch", "2" * 64)

    error = failure(huggingface, GenerationRequest(prompt=PROMPT, references=(unreadable,)))

    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.message.startswith(
        'Hugging Face could not use the reference image "Isolde sketch": Invalid image: the inputs could not'
    )


def test_it_refuses_a_prompt_the_instruction_makes_too_long(huggingface, fake_huggingface) -> None:
    error = failure(huggingface, GenerationRequest(prompt="x" * 1990, references=references("face")))

    assert error.kind is ErrorKind.INVALID_REQUEST
    assert "the prompt with the reference instruction is" in error.message
    assert "shorten the character's description" in error.message
    assert fake_huggingface.requests == []


# The offline painter: the first face reference's painter seed is the portrait's identity.

ISOLDE = {"name": "Isolde Marrow", "hair_color": "auburn", "eye_color": "green"}


def painted(request: GenerationRequest) -> bytes:
    return get_provider("local").generate(request).images[0].data


def test_it_paints_the_face_of_the_first_face_references_painter_seed() -> None:
    from studio import painter

    face = ReferenceInput(picture(64, 64), "face", "Isolde, first portrait", "3" * 64, painter_seed=777)
    outfit = ReferenceInput(picture(64, 64), "outfit", "Isolde's coat", "4" * 64, painter_seed=5)

    result = get_provider("local").generate(
        GenerationRequest(
            prompt="ignored", attributes=ISOLDE, size="128x128", seed=3, references=(outfit, face)
        )
    )

    assert result.images[0].data == painter.render_png(ISOLDE, 3, 128, identity_seed=777)
    assert result.images[0].data != painted(
        GenerationRequest(prompt="ignored", attributes=ISOLDE, size="128x128", seed=3)
    )
    assert result.parameters["references"] == [
        {"name": "Isolde, first portrait", "role": "face", "sha256": "3" * 64}
    ]


def test_it_keeps_the_characters_own_face_for_an_uploaded_face_reference() -> None:
    uploaded = ReferenceInput(picture(64, 64), "face", "photo.png", "5" * 64)
    plain = GenerationRequest(prompt="ignored", attributes=ISOLDE, size="128x128", seed=3)

    result = get_provider("local").generate(
        GenerationRequest(prompt="ignored", attributes=ISOLDE, size="128x128", seed=3, references=(uploaded,))
    )

    assert result.images[0].data == painted(plain)
    assert "references" not in result.parameters


def test_it_lets_an_identity_seed_the_caller_chose_win_over_the_reference() -> None:
    from studio import painter

    face = ReferenceInput(picture(64, 64), "face", "Isolde", "6" * 64, painter_seed=777)

    data = painted(
        GenerationRequest(
            prompt="A quick captain",
            size="128x128",
            seed=1,
            options={"identity_seed": 42},
            references=(face,),
        )
    )
    from_reference = painted(
        GenerationRequest(prompt="A quick captain", size="128x128", seed=1, references=(face,))
    )

    values = painter.read_prompt("A quick captain").values
    assert data == painter.render_png(values, 1, 128, identity_seed=42)
    assert from_reference == painter.render_png(values, 1, 128, identity_seed=777)


def test_it_says_what_the_painter_keeps() -> None:
    local = get_provider("local")

    assert local.reference_note("", ["outfit", "face"]) == (
        "The local painter keeps the face of the first face reference (a portrait it painted; from an "
        "uploaded image it keeps nothing); the other reference is not used."
    )
    assert "with no face reference the face comes from the character" in local.reference_note("", ["style"])


def test_it_points_at_the_reference_model_setting_when_the_router_does_not_serve_it(
    huggingface, fake_huggingface, settings
) -> None:
    settings.HUGGINGFACE_REFERENCE_MODEL = "runwayml/stable-diffusion-v1-5"  # never served by hf-inference

    error = failure(huggingface, GenerationRequest(prompt=PROMPT, references=references("face")))

    assert error.kind is ErrorKind.MODEL_UNAVAILABLE
    assert fake_huggingface.last.path == "/hf-inference/models/runwayml/stable-diffusion-v1-5"
    assert error.message == (
        'The model "runwayml/stable-diffusion-v1-5" is not available from Hugging Face: it may be retired or '
        "not enabled for this account. Choose another model, or ask the studio admin to change it (setting "
        "HUGGINGFACE_REFERENCE_MODEL)."
    )
