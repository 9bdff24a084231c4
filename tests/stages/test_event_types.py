"""Event types have one home, ``journeyflow.model.events.EVENT_TYPES``: the Avro schemas of the input streams and
the journey file schema must list exactly the same streams and types."""
from __future__ import annotations

import json
from importlib import resources

import pytest

from journeyflow.model.events import BUILTIN_STREAMS, EVENT_TYPES, OPEN_STREAMS, STREAMS


def _schema(name: str) -> dict:
    return json.loads((resources.files("journeyflow.schemas") / name).read_text("utf-8"))


def _enum(avsc: dict, field: str) -> list[str]:
    for f in avsc["fields"]:
        if f["name"] == field:
            t = f["type"]
            assert isinstance(t, dict) and t["type"] == "enum", (avsc["name"], field)
            return list(t["symbols"])
    raise AssertionError(f"{avsc['name']} has no field {field!r}")


def test_every_stream_has_its_types_and_nothing_else():
    assert tuple(EVENT_TYPES) == STREAMS


def test_open_streams_have_no_closed_type_list_and_no_avro_schema():
    assert OPEN_STREAMS == {"track"} and all(EVENT_TYPES[s] == () for s in OPEN_STREAMS)
    assert not (resources.files("journeyflow.schemas") / "track.avsc").is_file()


@pytest.mark.parametrize("stream", BUILTIN_STREAMS)
def test_avro_enum_is_the_model_list(stream):
    avsc = _schema(f"{stream}.avsc")
    if stream == "consent":  # a status instead of a type; the event type is consent_<status>
        assert [f"consent_{s}" for s in _enum(avsc, "status")] == list(EVENT_TYPES[stream])
    else:
        assert _enum(avsc, "type") == list(EVENT_TYPES[stream])


def test_journey_schema_lists_the_model_types_and_streams():
    d = _schema("journey.schema.json")["$defs"]
    assert sorted(d["event_type"]["enum"]) == sorted(t for ts in EVENT_TYPES.values() for t in ts)
    # the input streams plus `track` (user-named events, issue 19), whether or not the Segment stream is merged yet
    assert tuple(d["stream"]["enum"]) == tuple(dict.fromkeys(STREAMS + ("track",)))
