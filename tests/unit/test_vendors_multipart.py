"""The multipart stream parser: boundaries over lengths, early hand-over, caps, and
clear reasons for whatever is broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.hikvision.parse import body_complete
from edge.vendors.multipart import BadPart, MultipartReader, Part, boundary_of

SAMPLE = "access/hikvision/01_alertStream_multipart_DS-K1T342MWX_excerpt.txt"


def feed_in_pieces(reader: MultipartReader, data: bytes, size: int) -> list[Part | BadPart]:
    out: list[Part | BadPart] = []
    for start in range(0, len(data), size):
        out += reader.feed(data[start:start + size])
    return out + reader.finish()


def serials(items: list[Part | BadPart]) -> list[int]:
    return [json.loads(item.body)["AccessControllerEvent"]["serialNo"]
            for item in items if isinstance(item, Part)]


@pytest.fixture
def sample(shared_samples: Path) -> bytes:
    return (shared_samples / SAMPLE).read_bytes()


def test_the_real_stream_splits_on_boundaries_although_its_lengths_lie(sample: bytes) -> None:
    declared = [int(line.split(b":")[1]) for line in sample.splitlines()
                if line.startswith(b"Content-Length")]
    reader = MultipartReader("MIME_boundary", complete=body_complete)
    items = reader.feed(sample) + reader.finish()
    assert all(isinstance(item, Part) for item in items)
    assert serials(items) == [1, 2, 3, 4, 10, 17, 18, 19]
    bodies = [len(item.body) for item in items if isinstance(item, Part)]
    assert all(length < said for length, said in zip(bodies, declared, strict=True))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_any_chunking_gives_the_same_parts(sample: bytes, size: int) -> None:
    crlf = sample.replace(b"\n", b"\r\n")  # the devices write CRLF; the excerpt has LF
    for data in (sample, crlf):
        whole = MultipartReader("MIME_boundary", complete=body_complete)
        expected = whole.feed(data) + whole.finish()
        pieces = feed_in_pieces(MultipartReader("MIME_boundary", complete=body_complete),
                                data, size)
        assert pieces == expected


def test_a_complete_body_is_handed_over_before_the_next_boundary() -> None:
    reader = MultipartReader("bd", complete=body_complete)
    assert reader.feed(b"--bd\r\nContent-Type: application/json\r\n\r\n{\"a\": ") == []
    (part,) = reader.feed(b"1}\r\n")
    assert isinstance(part, Part) and part.body == b'{"a": 1}'
    assert part.content_type == "application/json"
    # more body after a complete one, before a boundary: another body, same headers
    (more,) = reader.feed(b'{"b": 2}\r\n')
    assert isinstance(more, Part) and more.body == b'{"b": 2}'
    assert reader.feed(b"--bd\r\n\r\nx\r\n--bd--\r\n") == [Part({}, b"x")]
    assert reader.finish() == []


def test_without_a_completion_rule_the_next_boundary_ends_a_part() -> None:
    reader = MultipartReader("bd")
    assert reader.feed(b"--bd\nA: 1\n\nhello\n") == []
    assert reader.feed(b"--bd\n") == [Part({"a": "1"}, b"hello")]
    (cut,) = reader.feed(b"B: 2\n\npartial") + reader.finish()
    assert isinstance(cut, BadPart) and "ended inside a part" in cut.reason
    assert cut.raw == b"partial" and cut.headers == {"b": "2"}


def test_boundary_look_alikes_inside_bodies_are_not_boundaries() -> None:
    reader = MultipartReader("bd")
    items = reader.feed(b"--bd\r\n\r\nsee --bd here\r\n--bdX not one\r\n--bd \r\n\r\nnext\r\n"
                        b"--bd--")
    assert items == [Part({}, b"see --bd here\r\n--bdX not one"), Part({}, b"next")]


def test_oversized_parts_are_skipped_up_to_the_next_boundary() -> None:
    reader = MultipartReader("bd", max_part_bytes=1024)
    items = feed_in_pieces(reader, b"--bd\r\nContent-Type: image/jpeg\r\n\r\n" + b"\xff" * 5000
                           + b"\r\n--bd\r\n\r\nafter\r\n--bd--\r\n", 100)
    bad, after = items
    assert isinstance(bad, BadPart) and "larger than 1024 bytes" in bad.reason
    assert bad.content_type == "image/jpeg" and len(bad.raw) <= 1024
    assert after == Part({}, b"after")


def test_endless_headers_and_garbage_headers_are_reported() -> None:
    reader = MultipartReader("bd", max_header_bytes=100)
    items = reader.feed(b"--bd\r\n" + b"X-Long: " + b"y" * 200)
    items += reader.feed(b"\r\n\r\nbody\r\n--bd\r\nno colon here\r\n\r\nbody\r\n--bd\r\n"
                         b"Good: 1\r\n\r\nok\r\n--bd--")
    assert [type(item) for item in items] == [BadPart, BadPart, Part]
    assert isinstance(items[0], BadPart) and "headers longer than 100" in items[0].reason
    assert isinstance(items[1], BadPart) and "malformed part header line" in items[1].reason
    assert items[2] == Part({"good": "1"}, b"ok")


def test_bytes_outside_parts_are_reported_but_blank_lines_are_not() -> None:
    reader = MultipartReader("bd")
    items = reader.feed(b"\r\n\r\n--bd\r\n\r\na\r\n--bd--\r\n\r\n")
    assert items == [Part({}, b"a")]
    (noise,) = reader.feed(b"<html>oops</html>") + reader.finish()
    assert isinstance(noise, BadPart) and "outside any part" in noise.reason


def test_boundary_parameter() -> None:
    assert boundary_of('multipart/mixed; boundary="MIME_boundary"') == "MIME_boundary"
    assert boundary_of("multipart/x-mixed-replace;boundary=myboundary") == "myboundary"
    assert boundary_of("application/json") is None
    with pytest.raises(ValueError):
        MultipartReader("")
