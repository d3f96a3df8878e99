from __future__ import annotations

import base64
import copy
import functools
import io
import json
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from studio.imports import cardformat as cf
from studio.imports.cardformat import CardData, CardError

MiB = 1024 * 1024


# --- helpers: a PNG, and SillyTavern's writer and reader (character-card-parser.js) as plain Python --------


def _png(colour: tuple[int, int, int] = (200, 30, 90), size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, position = [], 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        out.append((kind, png[position + 8 : position + 8 + length]))
        position += 12 + length
    return out


def _with_chunks(png: bytes, extra: list[bytes]) -> bytes:
    """The PNG with chunks inserted before IEND (the last 12 bytes)."""
    return png[:-12] + b"".join(extra) + png[-12:]


def _st_json(card: dict[str, Any]) -> bytes:
    return json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode()


def st_write(png: bytes, v2: dict[str, Any]) -> bytes:
    """SillyTavern's write(): drop chara/ccv3 tEXt, add chara (V2) and ccv3 (same data, spec bumped)."""
    kept = [
        (kind, body)
        for kind, body in _chunks(png)
        if not (kind == b"tEXt" and body.split(b"\0")[0].lower() in (b"chara", b"ccv3"))
    ]
    v3 = {**v2, "spec": "chara_card_v3", "spec_version": "3.0"}
    text = [(b"tEXt", k + b"\0" + base64.b64encode(_st_json(c))) for k, c in ((b"chara", v2), (b"ccv3", v3))]
    kept[-1:-1] = text
    return cf.PNG_SIGNATURE + b"".join(_chunk(kind, body) for kind, body in kept)


def st_read(png: bytes) -> dict[str, Any]:
    """SillyTavern's read(): tEXt chunks only, ``ccv3`` (any case), else ``chara``; base64 UTF-8 JSON."""
    texts = [body.decode("latin-1").split("\0", 1) for kind, body in _chunks(png) if kind == b"tEXt"]
    for wanted in ("ccv3", "chara"):
        for keyword, text in texts:
            if keyword.lower() == wanted:
                return json.loads(base64.b64decode(text).decode("utf-8"))
    raise AssertionError("no card")


def st_card() -> dict[str, Any]:
    """A V2 card as SillyTavern exports it: V1 copies at the top, every field, a lorebook, its extensions."""
    data = {
        "name": "Zoë 龍 🐉",
        "description": "A cartographer of 雲 and storms. Она говорит тихо. مرحبا",
        "personality": "curious, stubborn 🧭",
        "scenario": "{{user}} meets {{char}} at the harbour.",
        "first_mes": "*looks up* Oh — you're early. 😊",
        "mes_example": "<START>\n{{user}}: Hi\n{{char}}: 你好!",
        "creator_notes": "Best with long replies.\nZero-width: a\u200bb",
        "system_prompt": "Write as {{char}}.",
        "post_history_instructions": "Stay in character.",
        "alternate_greetings": ["Second greeting ✨", "第三の挨拶"],
        "character_book": {
            "name": "Atlas",
            "entries": [
                {
                    "id": 0,
                    "keys": ["harbour", "港"],
                    "secondary_keys": [],
                    "comment": "the harbour",
                    "content": "The harbour is old. 🌊",
                    "constant": False,
                    "selective": True,
                    "insertion_order": 100,
                    "enabled": True,
                    "position": "before_char",
                    "extensions": {
                        "position": 0,
                        "depth": 4,
                        "probability": 100,
                        "group": "",
                        "weird": [1, None],
                    },
                },
                {
                    "id": 1,
                    "keys": ["storm"],
                    "content": "Storms come at dusk.",
                    "insertion_order": 50,
                    "enabled": False,
                    "extensions": {},
                },
            ],
            "extensions": {"scan_depth": 3},
        },
        "tags": ["fantasy", "女性", "OC"],
        "creator": "nobody@example",
        "character_version": "1.2",
        "extensions": {
            "talkativeness": "0.5",
            "fav": False,
            "world": "Atlas",
            "depth_prompt": {"prompt": "Remember the map.", "depth": 4, "role": "system"},
            "chub": {"full_path": "x/zoe", "expressions": None, "related_lorebooks": []},
            "risuai": {"utilityBot": False, "nested": {"a": [1.5, "b", {"c": True}]}},
        },
        "x_future_field": {"kept": "exactly"},
    }
    v1 = {k: data[k] for k in ("name", "description", "personality", "scenario", "first_mes", "mes_example")}
    return {
        **v1,
        "creatorcomment": data["creator_notes"],
        "avatar": "none",
        "chat": "Zoë - 2024-5-1 @12h 00m",
        "talkativeness": "0.5",
        "fav": False,
        "tags": data["tags"],
        "create_date": "2024-5-1 @12h 00m 00s 000ms",
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": data,
    }


def _raises_with_peak(action: Callable[[], Any]) -> tuple[CardError, int]:
    tracemalloc.start()
    try:
        with pytest.raises(CardError) as caught:
            action()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return caught.value, peak


# --- round trips --------------------------------------------------------------------------------------------


def test_it_reads_a_sillytavern_card_and_writes_back_the_same_json_for_every_field() -> None:
    original = st_card()
    png = st_write(_png(), original)
    read = cf.read_png_card(io.BytesIO(png))
    assert read == {**original, "spec": "chara_card_v3", "spec_version": "3.0"}  # ccv3 preferred

    card = CardData.from_card(read)
    assert card.nickname is None and cf.lorebook_entry_count(card.character_book) == 2
    out = cf.write_png_card(png, card.to_v3(), card.to_v2())
    again = cf.read_png_card(io.BytesIO(out))
    for key, value in original.items():
        if key not in ("spec", "spec_version", "data"):
            assert again[key] == value, key
    for key, value in original["data"].items():
        assert again["data"][key] == value, key
    assert set(again["data"]) - set(original["data"]) == {"group_only_greetings"}  # required in V3
    assert again["data"]["group_only_greetings"] == []

    # a reader following SillyTavern's rules reads our output; a second trip changes nothing
    assert st_read(out) == again
    card = CardData.from_card(again)
    assert cf.read_png_card(io.BytesIO(cf.write_png_card(out, card.to_v3(), card.to_v2()))) == again
    with Image.open(io.BytesIO(out)) as image:
        assert image.getpixel((3, 3)) == (200, 30, 90)


def test_it_keeps_a_lone_surrogate_from_a_javascript_tool() -> None:
    card = st_card()
    card["data"]["extensions"]["half_emoji"] = "\ud83d"
    payload = json.dumps(card).encode()  # escaped, as JSON.stringify writes it
    png = _with_chunks(_png(), [_chunk(b"tEXt", b"chara\0" + base64.b64encode(payload))])
    read = cf.read_png_card(io.BytesIO(png))
    out = cf.write_png_card(png, cf.v3_from_v2(read))
    assert cf.read_png_card(io.BytesIO(out))["data"]["extensions"]["half_emoji"] == "\ud83d"


def test_it_writes_one_chara_and_one_ccv3_text_chunk_before_iend() -> None:
    png = st_write(_png(), st_card())
    stale = _chunk(b"zTXt", b"Chara\0\0" + zlib.compress(b"old"))
    card = CardData.from_card(cf.read_png_card(io.BytesIO(png)))
    out = cf.write_png_card(_with_chunks(png, [stale]), card.to_v3())
    kinds = [(kind, body.split(b"\0")[0]) for kind, body in _chunks(out)]
    assert kinds[-3:] == [(b"tEXt", b"chara"), (b"tEXt", b"ccv3"), (b"IEND", b"")]
    assert sum(1 for _, keyword in kinds if keyword.lower() in (b"chara", b"ccv3")) == 2
    texts = {body.split(b"\0")[0]: body.split(b"\0", 1)[1] for kind, body in _chunks(out) if kind == b"tEXt"}
    v2 = json.loads(base64.b64decode(texts[b"chara"]))
    assert (v2["spec"], v2["spec_version"]) == ("chara_card_v2", "2.0")
    assert v2["data"] == card.to_data()


def test_it_prefers_ccv3_then_chara_whatever_the_keyword_case_and_chunk_kind() -> None:
    def text(keyword: bytes, name: str) -> bytes:
        card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": name}}
        return _chunk(b"tEXt", keyword + b"\0" + base64.b64encode(_st_json(card)))

    assert (
        cf.read_png_card(io.BytesIO(_with_chunks(_png(), [text(b"CHARA", "two")])))["data"]["name"] == "two"
    )
    both = _with_chunks(_png(), [text(b"chara", "two"), text(b"Ccv3", "three"), text(b"ccv3", "later")])
    assert cf.read_png_card(io.BytesIO(both))["data"]["name"] == "three"
    payload = base64.b64encode(_st_json({"spec": "chara_card_v3", "data": {"name": "z"}}))
    ztxt = _chunk(b"zTXt", b"ccv3\0\0" + zlib.compress(payload))
    itxt = _chunk(b"iTXt", b"chara\0\1\0en\0Chara\0" + zlib.compress(payload.rstrip(b"=")))
    assert cf.read_png_card(io.BytesIO(_with_chunks(_png(), [ztxt])))["data"]["name"] == "z"
    assert cf.read_png_card(io.BytesIO(_with_chunks(_png(), [itxt])))["data"]["name"] == "z"


def test_it_converts_between_v2_and_v3_keeping_every_field() -> None:
    v3 = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "N",
            "description": "D",
            "tags": [],
            "creator": "",
            "character_version": "",
            "mes_example": "",
            "extensions": {"x": {"y": 1}},
            "creator_notes": "",
            "group_only_greetings": ["group hi"],
            "nickname": "Nick",
            "creator_notes_multilingual": {"fr": "Bonjour"},
            "source": ["https://example.com/n"],
            "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
            "creation_date": 1700000000,
            "modification_date": 0,
            "x_new": 1,
        },
    }
    v2 = cf.v2_from_v3(v3)
    assert (v2["spec"], v2["spec_version"]) == ("chara_card_v2", "2.0")
    assert {k: v2["data"][k] for k in v3["data"]} == v3["data"]  # V3-only fields stay in data
    assert v2["data"]["first_mes"] == "" and v2["data"]["alternate_greetings"] == []  # V2's required fields
    assert cf.v3_from_v2(v2) == {**v2, "spec": "chara_card_v3", "spec_version": "3.0"}


def test_it_normalises_known_fields_and_refreshes_top_level_copies() -> None:
    card = CardData.from_card(
        {"name": "Old", "description": None, "talkativeness": "0.3"}  # V1: no spec, fields at the top
    )
    assert card.description == "" and card.card_extra["talkativeness"] == "0.3" and card.extra == {}
    card.name = "New"
    assert card.to_v2()["name"] == "New" and card.to_v2()["data"]["name"] == "New"
    assert "talkativeness" not in card.to_v2()["data"]
    loose = CardData.from_card(
        {
            "spec": "chara_card_v2",
            "data": {"name": "x", "character_version": 2, "tags": "a, b ,", "creator": None},
        }
    )
    assert (loose.character_version, loose.tags, loose.creator) == ("2", ["a", "b"], "")
    with pytest.raises(CardError, match="alternate_greetings"):
        CardData.from_card({"spec": "chara_card_v2", "data": {"name": "x", "alternate_greetings": {"a": 1}}})


# --- hostile PNGs -------------------------------------------------------------------------------------------


@functools.cache
def _zeros_deflated(mebibytes: int, raw: bool = False) -> bytes:
    """``mebibytes`` MiB of zeros, deflated without ever holding them (a zlib stream, or raw deflate)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)  # the same for every MiB
    deflated = block * mebibytes + compressor.flush()
    if raw:
        return deflated
    adler = 1
    for _ in range(mebibytes):
        adler = zlib.adler32(bytes(MiB), adler)
    return b"\x78\xda" + deflated + struct.pack(">I", adler)


def test_the_bomb_helper_makes_valid_streams() -> None:
    assert zlib.decompress(_zeros_deflated(3)) == bytes(3 * MiB)
    assert zlib.decompress(_zeros_deflated(3, raw=True), -15) == bytes(3 * MiB)


@pytest.mark.parametrize("keyword", [b"chara", b"Comment"])
def test_it_refuses_forty_inflating_text_chunks_with_bounded_memory(keyword: bytes) -> None:
    bomb = _chunk(b"zTXt", keyword + b"\0\0" + _zeros_deflated(20))
    png = _with_chunks(_png(), [bomb] * 40)
    assert len(png) < 1.2 * MiB
    error, peak = _raises_with_peak(lambda: cf.read_png_card(io.BytesIO(png)))
    assert peak < 32 * MiB
    if keyword == b"chara":
        assert "8 MB limit for card text" in str(error)
    else:
        assert "no character card" in str(error)


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def test_it_reads_from_a_stream_that_cannot_seek() -> None:
    png = st_write(_png(), st_card())
    assert cf.read_png_card(io.BufferedReader(_Unseekable(png)))["data"]["name"] == "Zoë 龍 🐉"


def _text_card(text: bytes) -> bytes:
    return _with_chunks(_png(), [_chunk(b"tEXt", b"chara\0" + text)])


@pytest.mark.parametrize(
    ("png", "message"),
    [
        (b"GIF89a" + bytes(100), "not a PNG"),
        (b"", "not a PNG"),
        (_png()[:-12], "truncated"),
        (st_write(_png(), st_card())[:-200], "truncated"),
        (cf.PNG_SIGNATURE + _chunk(b"tEXt", b"chara\0x"), "image header"),
        (_text_card(b"!!!not base64!!!"), "base64"),
        (_text_card(base64.b64encode(b"{not json")), "JSON"),
        (_text_card(base64.b64encode(b"[1, 2]")), "not a character"),
        (_text_card(base64.b64encode(b'{"spec": "chara_card_v9", "data": {}}')), "chara_card_v9"),
        (_text_card(base64.b64encode(b'{"spec": "chara_card_v2", "data": "x"}')), "data"),
        (_text_card(base64.b64encode(b"[" * 500 + b"]" * 500)), "nested"),
        (_text_card(base64.b64encode(b"[" * 100_000 + b"]" * 100_000)), "not readable JSON"),
        (_text_card(base64.b64encode(b'{"spec":"chara_card_v2","data":{"n":NaN}}')), "not readable JSON"),
        (
            _text_card(
                base64.b64encode(b'{"spec":"chara_card_v2","data":{"a":' + b"[" * 200 + b"]" * 200 + b"}}")
            ),
            "nested",
        ),
        (_with_chunks(_png(), [_chunk(b"zTXt", b"ccv3\0\0" + zlib.compress(b"abc")[:-3])]), "cut short"),
        (_text_card(b"QUJD")[:-16] + b"\0\0\0\0" + _png()[-12:], "checksum"),
    ],
)
def test_it_refuses_bad_pngs_with_one_error_type(png: bytes, message: str) -> None:
    with pytest.raises(CardError, match=message):
        cf.read_png_card(io.BytesIO(png))


def test_it_refuses_files_and_texts_over_their_limits() -> None:
    png = st_write(_png(), st_card())
    with pytest.raises(CardError, match="limit is 1,000 bytes"):
        cf.read_png_card(io.BytesIO(png), max_bytes=1000)
    with pytest.raises(CardError, match="1,000 bytes limit"):
        cf.read_png_card(io.BufferedReader(_Unseekable(png)), max_bytes=1000)
    with pytest.raises(CardError, match="100 bytes limit for card text"):
        cf.read_png_card(io.BytesIO(png), max_text_bytes=100)


# --- CHARX ----------------------------------------------------------------------------------------------


def _v3() -> dict[str, Any]:
    card = copy.deepcopy(st_card())
    card["data"]["assets"] = [
        {"type": "background", "uri": "https://example.com/bg.png", "name": "bg", "ext": "png"}
    ]
    return {**card, "spec": "chara_card_v3", "spec_version": "3.0"}


def test_it_writes_and_reads_a_charx_with_twenty_portraits() -> None:
    images = [_png((i * 12, 100, 255 - i * 12), 16 + i) for i in range(20)]
    assets = [
        ("icon" if i == 0 else "other", "main" if i == 0 else f"portrait {i}", "png", b)
        for i, b in enumerate(images)
    ]
    charx = cf.write_charx(_v3(), assets)
    card, found = cf.read_charx(io.BytesIO(charx))
    assert {k: v for k, v in card["data"].items() if k != "assets"} == {
        k: v for k, v in _v3()["data"].items() if k != "assets"
    }
    written = card["data"]["assets"]
    assert written[0]["uri"] == "https://example.com/bg.png"
    assert written[1] == {
        "type": "icon",
        "uri": "embeded://assets/icon/images/1.png",
        "name": "main",
        "ext": "png",
    }
    assert [(a.type, a.name, a.ext, a.index) for a in found] == [
        (t, n, e, i + 1) for i, (t, n, e, _) in enumerate(assets)
    ]
    assert [a.read() for a in found] == images
    # rewriting what we read gives the same card and files
    again, found_again = cf.read_charx(
        io.BytesIO(cf.write_charx(card, [(a.type, a.name, a.ext, a.read()) for a in found]))
    )
    assert again == card and [a.read() for a in found_again] == images


def test_it_resolves_embedded_uris_of_other_writers() -> None:
    card = _v3()
    card["data"]["assets"] = [
        {"type": "icon", "uri": "embedded://assets/icon/images/a.png", "name": "main", "ext": "PNG"},
        {
            "type": "emotion",
            "uri": "embeded://assets/emotion/images/happy.webp",
            "name": "happy",
            "ext": "webp",
        },
        {"type": "other", "uri": "embeded://assets/missing.png", "name": "gone", "ext": "png"},
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("card.json", json.dumps(card))
        archive.writestr("assets/icon/images/a.png", b"icon")
        archive.writestr("assets/emotion/images/happy.webp", b"happy")
        archive.writestr("module.risum", b"risu data")
    read, assets = cf.read_charx(io.BytesIO(buffer.getvalue()))
    assert read == card
    assert [(a.name, a.ext, a.read()) for a in assets] == [
        ("main", "png", b"icon"),
        ("happy", "webp", b"happy"),
    ]


def _raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from (name, stored bytes, method, crc, declared size): sizes and names exactly as given."""
    out, central = io.BytesIO(), []
    for name, data, method, crc, size in entries:
        offset, encoded = out.tell(), name.encode()
        out.write(
            struct.pack("<4s5H3I2H", b"PK\3\4", 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        )
        out.write(encoded + data)
        header = (
            b"PK\1\2",
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central.append(struct.pack("<4s6H3I5H2I", *header) + encoded)
    directory, start = b"".join(central), out.tell()
    out.write(
        directory
        + struct.pack("<4s4H2IH", b"PK\5\6", 0, 0, len(entries), len(entries), len(directory), start, 0)
    )
    return out.getvalue()


def _card_entry() -> tuple[str, bytes, int, int, int]:
    data = json.dumps(_v3()).encode()
    return ("card.json", data, 0, zlib.crc32(data), len(data))


@functools.cache
def _crc_of_zeros(mebibytes: int) -> int:
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(bytes(MiB), crc)
    return crc


def test_it_refuses_a_zip_bomb_before_inflating_it() -> None:
    bomb = ("assets/icon/images/1.png", _zeros_deflated(1024, raw=True), 8, _crc_of_zeros(1024), 1024 * MiB)
    charx = _raw_zip([_card_entry(), bomb])
    assert len(charx) < 2 * MiB
    error, peak = _raises_with_peak(lambda: cf.read_charx(io.BytesIO(charx), max_asset_bytes=2048 * MiB))
    assert "suspiciously well" in str(error) and peak < 8 * MiB
    with pytest.raises(CardError, match=r"1024\.0 MB; the limit is 20 MB"):
        cf.read_charx(io.BytesIO(charx))


def test_it_stops_reading_a_bomb_that_lies_about_its_size() -> None:
    lying = ("assets/icon/images/1.png", _zeros_deflated(1024, raw=True), 8, _crc_of_zeros(1), 1 * MiB)
    card = _v3()
    card["data"]["assets"] = [
        {"type": "icon", "uri": "embeded://assets/icon/images/1.png", "name": "main", "ext": "png"}
    ]
    data = json.dumps(card).encode()
    charx = _raw_zip([("card.json", data, 0, zlib.crc32(data), len(data)), lying])
    _, assets = cf.read_charx(io.BytesIO(charx), max_total_uncompressed=3 * MiB)
    tracemalloc.start()
    try:
        assert len(assets[0].read()) == MiB  # inflation stops at the declared size
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB
    assets[0].read()
    with pytest.raises(CardError, match="limit for the whole CHARX"):  # every read counts
        assets[0].read()


@pytest.mark.parametrize(
    "name",
    [
        "../evil.png",
        "/etc/passwd",
        "assets\\..\\evil.png",
        "C:/evil.png",
        "assets/../../evil",
        "a//b",
        "a/./b",
    ],
)
def test_it_refuses_unsafe_names(name: str) -> None:
    charx = _raw_zip([_card_entry(), (name, b"x", 0, zlib.crc32(b"x"), 1)])
    with pytest.raises(CardError, match="unsafe file name"):
        cf.read_charx(io.BytesIO(charx))


def test_it_refuses_a_huge_card_json_before_reading_it() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    padding = compressor.compress(b'{"spec":"chara_card_v3","data":{"name":"x"}}') + b"".join(
        compressor.compress(b" " * MiB) for _ in range(50)
    )
    padding += compressor.flush()
    charx = _raw_zip([("card.json", padding, 8, 0, 50 * MiB + 44)])
    error, peak = _raises_with_peak(lambda: cf.read_charx(io.BytesIO(charx)))
    assert "“card.json” is 50.0 MB; the limit is 8 MB" in str(error) and peak < 4 * MiB


def test_it_refuses_ten_thousand_entries_before_listing_them() -> None:
    charx = _raw_zip([_card_entry()] + [(f"assets/other/other/{i}.txt", b"", 0, 0, 0) for i in range(10_000)])
    error, peak = _raises_with_peak(lambda: cf.read_charx(io.BytesIO(charx)))
    assert "more than 1,000 files" in str(error) and peak < 2 * MiB


@pytest.mark.parametrize(
    ("charx", "message"),
    [
        (b"PK\3\4 not really a zip", "not a CHARX"),
        (_raw_zip([("notes.txt", b"x", 0, zlib.crc32(b"x"), 1)]), "no card.json"),
        (_raw_zip([("card.json", b"[]", 0, zlib.crc32(b"[]"), 2)]), "not a character"),
        (_raw_zip([("card.json", b"{}", 0, 123, 2)]), "damaged"),
        (_raw_zip([("card.json", b"{}", 12, zlib.crc32(b"{}"), 2)]), "compression method"),
    ],
)
def test_it_refuses_bad_charx_files(charx: bytes, message: str) -> None:
    with pytest.raises(CardError, match=message):
        cf.read_charx(io.BytesIO(charx))


def test_it_refuses_a_charx_over_the_size_limit_and_unwritable_asset_words() -> None:
    charx = cf.write_charx(_v3(), [("icon", "main", "png", _png())])
    with pytest.raises(CardError, match="the limit is 1,000 bytes"):
        cf.read_charx(io.BytesIO(charx), max_bytes=1000)
    with pytest.raises(CardError, match="cannot be written"):
        cf.write_charx(_v3(), [("../icon", "main", "png", b"")])
