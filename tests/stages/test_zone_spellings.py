"""A time zone written in another letter case (``america/new_york``) is read as its IANA zone without loading
every zone of the machine (fields._zones_by_folded_name: ~600 zone files, ~0.1 s per worker, paid by the first
such record), with the same answer as checking every zone first."""
from __future__ import annotations

import zoneinfo

from journeyflow.stages import fields


def _spelling_checking_every_zone(zones: dict[str, str], name: str) -> str | None:
    zone = zones.get(name.casefold())
    return zone if zone is not None and fields._iana_zone(zone) else None


def test_the_folded_names_are_read_without_loading_every_zone():
    fields._zones_by_folded_name.cache_clear()
    fields._iana_zone.cache_clear()
    assert fields._iana_spelling("america/new_york") == "America/New_York"
    assert fields._iana_zone.cache_info().currsize < 10  # (it was every zone of the machine: ~600)


def test_every_spelling_gets_the_zone_checking_every_zone_gives():
    names = sorted(zoneinfo.available_timezones())
    cases = [f(z) for z in names for f in (str.lower, str.upper, str.swapcase)]
    cases += ["localtime", "LOCALTIME", "posix/europe/paris", "RIGHT/UTC", "factory", "", "no/such_zone", "utc"]
    fields._zones_by_folded_name.cache_clear()
    got = [fields._iana_spelling(c) for c in cases]
    zones = {z.casefold(): z for z in names if fields._iana_zone(z)}  # (the former way: every zone loaded)
    assert got == [_spelling_checking_every_zone(zones, c) for c in cases]
    assert got[cases.index("utc")] == "UTC"
