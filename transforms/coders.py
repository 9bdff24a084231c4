"""Deterministic Beam coders for journeyflow's records (keys and state must not depend on pickling)."""
from __future__ import annotations

import apache_beam as beam

from journeyflow.core.model import Event, decode_event, encode_event


class EventCoder(beam.coders.Coder):
    def encode(self, value: Event) -> bytes:
        return encode_event(value)

    def decode(self, encoded: bytes) -> Event:
        return decode_event(encoded)

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self):
        return Event


beam.coders.registry.register_coder(Event, EventCoder)
