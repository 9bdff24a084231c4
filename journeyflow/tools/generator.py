"""Deterministic sample-data generator for the six journeyflow input streams.

``generate(customers, days, seed, out)`` writes, into ``out``:

* ``web.jsonl``, ``orders.jsonl``, ``support.jsonl``, ``crm.jsonl``,
  ``engagement.jsonl``, ``consent.jsonl`` -- one JSON object per line with the
  fields of ``schemas/<stream>.avsc`` in schema order, sorted by event time.
  ``ts`` is ~70 % ISO-8601 with a UTC offset (the person's local offset, UTC as
  ``+00:00`` or ``Z``, or another offset; always the same instant) and ~30 %
  epoch milliseconds.  ``event_id`` is ``<stream>-<line number, 6+ digits>``,
  so it is unique within the stream (malformed lines get one too).
* ``malformed_rate`` extra malformed lines per stream, interleaved at
  deterministic positions, listed in ``malformed_expected.jsonl`` as
  ``{"stream", "line" (1-based), "kind", "detail"}``.  Kinds (labels):
  ``invalid_json`` (truncated line), ``not_an_object`` (JSON array),
  ``missing_field`` (a required field dropped), ``wrong_type`` (e.g. amount
  ``"abc"``), ``unknown_type`` (event type / enum symbol not in the schema),
  ``bad_timestamp`` (unparsable ``ts`` string), ``absurd_timestamp`` (year
  1970 or 2200, e.g. epoch seconds written as milliseconds),
  ``no_identifier`` (orders/support/engagement/consent without any
  identifier), ``invalid_email`` (the only identifier -- or, in crm, the email
  next to the required crm_id -- is not an email), ``invalid_timezone`` (crm).
  Malformed lines are derived from a neighbouring good record, so they
  carry real identifiers (and e.g. the same order_id as that record).
* ``ground_truth.jsonl``: one line per person (``person_id``, ``crm_id``, raw
  ``emails``/``phones``/``anonymous_ids`` actually used in good records,
  ``timezone``, ``region``).  Normalised identifiers (email stripped and
  lower-cased, phone in E.164) never belong to two persons.
* ``ground_truth_shared.jsonl``: identifiers used by several persons and
  therefore listed for no person: ``{"kind": "anonymous_id"|"phone", "value",
  "person_ids", "note"}`` -- family tablets, an in-store kiosk (>= 12 persons
  log in on it when customers >= 200), family landlines and support agents'
  desk phones (one on tickets of >= 15 persons when customers >= 200).

Determinism: everything derives from ``random.Random(seed)`` (never the global
generator, never the wall clock), so the same arguments give byte-identical
files; the output does not depend on the spill threshold below.

Volume and speed: ~45-50 events per person over 30 days (web ~60 %, engagement
~27 %), i.e. ~95k events for 2,000 persons; ~100k events/s of CPU time.

Memory: persons are generated one at a time (their ground-truth line is written
at once); each event is serialised immediately and kept as a ~250-byte string in
a per-stream buffer.  When the buffers hold ``SPILL_LINES`` lines in total
(default 500,000; peak RSS measured ~190 MB for 2.3M events) they are sorted
and spilled to run files in a temporary ``.generate-*`` directory inside
``out``, which are k-way merged into the final files and then removed.  Besides
that the generator keeps two bytes per planned person (type, region), the
household/kiosk/agent plans, and the set of used canonical emails (~80 bytes
per person).

Phone numbers are fictional where a fictional range exists (US/CA 555-01XX,
GB 020 7946 0XXX / 0191 498 0XXX, FR 01 99 00 XX XX, AU 02/08 5550 XXXX) and
then fall back to other numbers that are valid for ``phonenumbers``.  Non-US
persons always use international "+CC" formats (the pipeline parses phones
with default region "US"); US persons also use national formats.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from journeyflow.model.reasons import DeadLetterReason

__all__ = ["STREAMS", "MALFORMED_KINDS", "PARSER_REASON", "GenerateSummary", "generate"]

STREAMS: tuple[str, ...] = ("web", "orders", "support", "crm", "engagement", "consent")
_W, _O, _S, _C, _E, _N = range(6)  # stream indexes, same order as STREAMS

MALFORMED_KINDS: dict[str, tuple[str, ...]] = {
    "web": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
            "bad_timestamp", "absurd_timestamp"),
    "orders": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
               "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
    "support": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
                "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
    "crm": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
            "bad_timestamp", "absurd_timestamp", "invalid_email", "invalid_timezone"),
    "engagement": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
                   "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
    "consent": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
                "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
}

# Dead-letter reason that journeyflow.stages.parse is expected to give for each malformed kind.
PARSER_REASON: dict[str, DeadLetterReason] = {
    "invalid_json": DeadLetterReason.INVALID_JSON,
    "not_an_object": DeadLetterReason.NOT_AN_OBJECT,
    "missing_field": DeadLetterReason.SCHEMA_VIOLATION,
    "wrong_type": DeadLetterReason.SCHEMA_VIOLATION,
    "unknown_type": DeadLetterReason.UNKNOWN_TYPE,
    "bad_timestamp": DeadLetterReason.BAD_TIMESTAMP,
    "absurd_timestamp": DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
    "no_identifier": DeadLetterReason.MISSING_IDENTIFIER,
    "invalid_email": DeadLetterReason.INVALID_IDENTIFIER,
    "invalid_timezone": DeadLetterReason.INVALID_FIELD,
}

# Lines buffered in memory (all streams together) before sorted runs are spilled to disk.
SPILL_LINES = 500_000

_KEY_LEN = 26  # "%015d%010d\t": event-time key, global sequence, tab


@dataclass
class GenerateSummary:
    """What ``generate`` wrote.  ``records`` counts well-formed records per stream,
    ``malformed`` the extra malformed lines; a stream file has both."""

    out: Path
    persons: int
    records: dict[str, int] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    shared_devices: int = 0
    shared_phones: int = 0

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    @property
    def total_malformed(self) -> int:
        return sum(self.malformed.values())

    @property
    def total_lines(self) -> int:
        return self.total_records + self.total_malformed


# --------------------------------------------------------------------------- reference data

_FIRST = {
    "US": "james mary john patricia robert jennifer michael linda david elizabeth william barbara "
          "richard susan joseph jessica thomas sarah chris karen daniel nancy matthew lisa "
          "anthony betty mark sandra kevin ashley brian emily jason megan tyler olivia".split(),
    "CA": "liam olivia noah emma lucas charlotte ethan amelia logan ava benjamin chloe "
          "jacob sophie owen mia samuel zoe nathan claire".split(),
    "GB": "oliver amelia george isla harry ava jack emily jacob sophie charlie grace thomas "
          "lily oscar freya william ella james poppy alfie evie henry chloe".split(),
    "DE": "lukas anna leon lea finn lena jonas hannah paul mia felix laura maximilian sarah "
          "jan julia tim lisa niklas katharina moritz johanna".split(),
    "FR": "lucas emma hugo jade louis louise gabriel alice arthur chloe jules lea adam manon "
          "raphael camille theo ines nathan sarah antoine juliette".split(),
    "ES": "hugo lucia martin sofia pablo maria alejandro paula daniel valeria alvaro carmen "
          "javier elena diego laura".split(),
    "IT": "leonardo sofia francesco giulia alessandro aurora lorenzo alice mattia ginevra "
          "andrea emma gabriele giorgia matteo chiara".split(),
    "NL": "daan emma sem julia lucas mila levi tess finn sophie milan zoe jesse sara "
          "bram anna".split(),
    "AU": "oliver charlotte noah amelia jack isla william olivia leo mia henry ava lucas grace "
          "thomas chloe".split(),
    "JP": "haruto yui sota hina yuto sakura riku aoi hinata mei kaito yuna ren akari "
          "takumi miyu".split(),
    "IN": "aarav ananya vihaan diya arjun isha sai saanvi reyansh aadhya krishna myra "
          "ishaan kavya rohan priya".split(),
}
_LAST = {
    "US": "smith johnson williams brown jones garcia miller davis rodriguez martinez wilson "
          "anderson taylor thomas moore jackson martin lee thompson white harris clark "
          "lewis walker hall allen young king wright scott".split(),
    "CA": "tremblay gagnon roy cote bouchard gauthier morin lavoie fortin smith brown wilson "
          "macdonald campbell stewart".split(),
    "GB": "smith jones williams taylor davies brown evans wilson thomas johnson roberts "
          "robinson thompson wright walker white edwards hughes green hall".split(),
    "DE": "mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann "
          "schaefer koch bauer richter klein wolf schroeder neumann".split(),
    "FR": "martin bernard dubois thomas robert richard petit durand leroy moreau simon "
          "laurent lefebvre michel garcia david bertrand roux".split(),
    "ES": "garcia rodriguez gonzalez fernandez lopez martinez sanchez perez gomez martin "
          "jimenez ruiz hernandez diaz".split(),
    "IT": "rossi russo ferrari esposito bianchi romano colombo ricci marino greco bruno "
          "gallo conti deluca".split(),
    "NL": "dejong jansen devries vandenberg vandijk bakker janssen visser smit meijer "
          "deboer mulder".split(),
    "AU": "smith jones williams brown wilson taylor johnson white martin anderson thompson "
          "nguyen thomas walker".split(),
    "JP": "sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato "
          "yoshida yamada".split(),
    "IN": "sharma verma gupta singh kumar patel reddy iyer nair mehta joshi rao".split(),
}

_MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com",
                 "inbox.example.net", "post.example.org")
_WORK_DOMAINS = ("corp.example.com", "work.example.net", "company.example.org")

# region -> (weight, currency, fx vs USD, [(timezone, weight, phone scheme)])
_US_AREAS = {
    "America/New_York": (212, 646, 617, 305, 404, 215, 202),
    "America/Chicago": (312, 773, 214, 512, 612, 713),
    "America/Denver": (303, 720, 801),
    "America/Phoenix": (602, 480),
    "America/Los_Angeles": (415, 213, 206, 503, 702, 310),
    "America/Toronto": (416, 647),
    "America/Vancouver": (604, 778),
}
_REGIONS: dict[str, tuple[float, str, float, tuple[tuple[str, float], ...]]] = {
    "US": (0.40, "USD", 1.0, (("America/New_York", 0.45), ("America/Chicago", 0.25),
                              ("America/Denver", 0.08), ("America/Phoenix", 0.04),
                              ("America/Los_Angeles", 0.18))),
    "GB": (0.12, "GBP", 0.8, (("Europe/London", 1.0),)),
    "DE": (0.10, "EUR", 0.92, (("Europe/Berlin", 1.0),)),
    "FR": (0.08, "EUR", 0.92, (("Europe/Paris", 1.0),)),
    "CA": (0.06, "CAD", 1.35, (("America/Toronto", 0.6), ("America/Vancouver", 0.4))),
    "AU": (0.05, "AUD", 1.5, (("Australia/Sydney", 0.7), ("Australia/Perth", 0.3))),
    "ES": (0.04, "EUR", 0.92, (("Europe/Madrid", 1.0),)),
    "IT": (0.04, "EUR", 0.92, (("Europe/Rome", 1.0),)),
    "NL": (0.04, "EUR", 0.92, (("Europe/Amsterdam", 1.0),)),
    "IN": (0.04, "INR", 83.0, (("Asia/Kolkata", 1.0),)),
    "JP": (0.03, "JPY", 150.0, (("Asia/Tokyo", 1.0),)),
}
_REGION_CODES = tuple(_REGIONS)
_REGION_CUM = tuple(_acc for _acc in
                    [sum(_REGIONS[c][0] for c in _REGION_CODES[: i + 1]) for i in range(len(_REGION_CODES))])
_COUNTRY_CODE = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "AU": "61",
                 "ES": "34", "IT": "39", "NL": "31", "IN": "91", "JP": "81"}
_TRUNK_ZERO = {"GB", "DE", "FR", "AU", "NL", "JP"}  # "+44 (0)20 ..." is a common written form

# Unusual UTC offsets used for a share of ISO timestamps (same instant, other clock).
_OTHER_OFFSETS = (-36000, -25200, -18000, -14400, -10800, 3600, 7200, 10800, 19800, 28800,
                  32400, 34200, 43200, 20700)

_HOUR_WEIGHTS = (0.6, 0.35, 0.2, 0.12, 0.1, 0.2, 0.7, 1.6, 2.6, 3.0, 3.0, 3.2, 3.6, 3.1, 2.8,
                 2.8, 3.0, 3.5, 4.6, 5.6, 6.0, 5.4, 4.0, 2.0)
_HOUR_CUM = tuple(sum(_HOUR_WEIGHTS[: i + 1]) for i in range(24))

_CATEGORIES = ("shoes", "apparel", "outdoor", "electronics", "home", "beauty", "toys", "sports",
               "books", "garden")
_PAGES = ("/", "/", "/", "/sale", "/new", "/help", "/account", "/blog/how-to-choose",
          "/stores", "/shipping")
_REFERRERS = (None, None, None, "google", "google", "instagram", "newsletter", "bing",
              "facebook", "direct")
_STAGES = ("subscriber", "lead", "marketing_qualified", "sales_qualified", "opportunity",
           "customer", "evangelist")
_EXCH = tuple(e for e in range(201, 1000) if e != 555 and e % 100 != 11)

try:  # the C encoder, built once (json.dumps rebuilds it on every call)
    from json.encoder import c_make_encoder as _c_make_encoder
    from json.encoder import encode_basestring_ascii as _enc_str

    _c_encode = _c_make_encoder(None, None, _enc_str, None, ":", ",", False, False, True)

    def _dumps(obj) -> str:
        return "".join(_c_encode(obj, 0))
except (ImportError, TypeError):  # pragma: no cover - pure-Python json
    _dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

_q = json.encoder.encode_basestring_ascii  # JSON string literal (C implementation)


def _qn(s: str | None) -> str:
    return "null" if s is None else _q(s)


_OFFSET_STR: dict[int, str] = {}


def _perm(k: int, m: int, add: int = 0) -> int:
    """Bijection of [0, m) (k in range) that looks random."""
    add += (m * 3) // 7  # so that the first numbers do not look sequential
    for mult in (48271, 69621, 16807, 40692):
        if math.gcd(mult, m) == 1:
            return (k * mult + add) % m
    raise AssertionError("no multiplier")  # pragma: no cover


def _phone_groups(region: str, tz: str, k: int) -> tuple[str, ...]:
    """k-th distinct national number of (region, tz), as digit groups."""
    if region in ("US", "CA"):
        areas = _US_AREAS[tz]
        na = len(areas)
        if k < 100 * na:
            return (str(areas[k % na]), "555", "%04d" % (100 + k // na))
        cap = na * len(_EXCH) * 10000
        u = _perm(k - 100 * na, cap, 7)
        v = u // na
        return (str(areas[u % na]), str(_EXCH[v // 10000]), "%04d" % (v % 10000))
    if region == "GB":
        if k < 1000:
            return ("20", "7946", "%04d" % k)
        if k < 2000:
            return ("191", "498", "%04d" % (k - 1000))
        u = _perm(k - 2000, 10 ** 7, 11)
        return ("20", "8%03d" % (u // 10000), "%04d" % (u % 10000))
    if region == "FR":
        if k < 10000:
            return ("1", "99", "00", "%02d" % (k // 100), "%02d" % (k % 100))
        s = "%08d" % (10 ** 7 + _perm(k - 10000, 89 * 10 ** 6, 13))
        return ("1", s[0:2], s[2:4], s[4:6], s[6:8])
    if region == "AU":
        area = "2" if tz == "Australia/Sydney" else "8"
        if k < 10000:
            return (area, "5550", "%04d" % k)
        s = "%07d" % _perm(k - 10000, 10 ** 7, 17)
        return (area, "9" + s[:3], s[3:])
    if region == "DE":
        s = "%08d" % (10 ** 7 + _perm(k, 9 * 10 ** 7, 19))
        return ("30", s[:4], s[4:])
    if region == "ES":
        s = "91%07d" % _perm(k, 10 ** 7, 23)
        return (s[:3], s[3:6], s[6:])
    if region == "IT":
        s = "%08d" % (10 ** 7 + _perm(k, 9 * 10 ** 7, 29))
        return ("06", s[:4], s[4:])
    if region == "NL":
        s = "%07d" % (10 ** 6 + _perm(k, 9 * 10 ** 6, 31))
        return ("20", s[:3], s[3:])
    if region == "JP":
        s = "%08d" % (10 ** 7 + _perm(k, 9 * 10 ** 7, 37))
        return ("3", s[:4], s[4:])
    if region == "IN":
        s = "98%08d" % _perm(k, 10 ** 8, 41)
        return (s[:5], s[5:])
    raise ValueError(region)  # pragma: no cover


def _phone_formats(region: str, groups: tuple[str, ...]) -> list[str]:
    """Written forms of one number. Only US numbers get national (no +CC) forms."""
    cc = _COUNTRY_CODE[region]
    if region == "US":
        a, b, c = groups
        return [f"+1 {a}-{b}-{c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"{a}-{b}-{c}",
                f"+1{a}{b}{c}", f"1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}", f"{a}{b}{c}"]
    forms = [f"+{cc} " + " ".join(groups), f"+{cc}" + "".join(groups), f"+{cc}-" + "-".join(groups)]
    if region != "IN":
        forms.append(f"+{cc} ({groups[0]}) " + " ".join(groups[1:]))
    if region in _TRUNK_ZERO:
        forms.append(f"+{cc} (0)" + " ".join(groups))
    return forms


def _uuid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _parse_start(start: str | datetime) -> int:
    if isinstance(start, datetime):
        dt = start
    else:
        s = start.strip()
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


# --------------------------------------------------------------------------- model objects

class _Person:
    __slots__ = ("pid", "kind", "region", "tz", "crm_id", "first", "last",
                 "addresses", "phone_variants", "devices", "logged", "used_emails",
                 "used_phones", "used_anon", "stage", "owner", "landline", "fav",
                 "login_prob", "activity", "created", "currency", "fx", "has_tz_in_crm",
                 "email_ok", "sms_ok", "push_ok", "ordered", "account")

    def email(self, rng: random.Random, which: str = "any", addr: int = 0) -> str:
        """A raw written form of address ``addr`` as a given source would store it."""
        variants = self.addresses[addr]
        if which == "form":
            return variants[0]
        if which == "esp":
            return variants[1] if len(variants) > 1 else variants[0]
        return variants[int(rng.random() * len(variants))]

    def phone(self, rng: random.Random, which: str = "any") -> str:
        v = self.phone_variants
        if which == "crm":
            return v[0]
        return v[int(rng.random() * len(v))]


class _Consent:
    __slots__ = ("granted", "revoked")

    def __init__(self, granted: int, revoked: int | None) -> None:
        self.granted = granted
        self.revoked = revoked

    def active(self, t: int) -> bool:
        return self.granted <= t and (self.revoked is None or t < self.revoked)


class _Sink:
    """Per-stream buffers of "<key><seq>\\t<json without event_id>\\n" with spilling."""

    def __init__(self, spill_lines: int, tmp_parent: Path) -> None:
        self.buffers: list[list[str]] = [[] for _ in STREAMS]
        self.runs: list[list[str]] = [[] for _ in STREAMS]
        self.counts = [0] * len(STREAMS)
        self.seq = 0
        self.buffered = 0
        self.spill_lines = max(1, spill_lines)
        self.tmp_parent = tmp_parent
        self.tmpdir: str | None = None
        self.open_files: list = []

    def add(self, stream: int, key: int, payload: str) -> None:
        self.seq += 1
        self.buffers[stream].append("%015d%010d\t%s\n" % (key, self.seq, payload))
        self.counts[stream] += 1
        self.buffered += 1
        if self.buffered >= self.spill_lines:
            self.spill()

    def spill(self) -> None:
        if self.tmpdir is None:
            self.tmpdir = tempfile.mkdtemp(prefix=".generate-", dir=self.tmp_parent)
        for s, buf in enumerate(self.buffers):
            if not buf:
                continue
            buf.sort()
            path = os.path.join(self.tmpdir, "%s-%05d.run" % (STREAMS[s], len(self.runs[s])))
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.writelines(buf)
            self.runs[s].append(path)
            self.buffers[s] = []
        self.buffered = 0

    def sorted_lines(self, stream: int):
        buf = self.buffers[stream]
        buf.sort()
        if not self.runs[stream]:
            return iter(buf)
        files = [open(p, encoding="utf-8", newline="\n") for p in self.runs[stream]]
        self.open_files.extend(files)
        return heapq.merge(*files, buf)

    def close(self) -> None:
        for fh in self.open_files:
            fh.close()
        self.open_files = []
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


# --------------------------------------------------------------------------- generator

class _Generator:
    def __init__(self, customers: int, days: int, seed: int, start_ms: int, sink: _Sink) -> None:
        self.n = customers
        self.days = days
        self.seed = seed
        self.rng = random.Random(seed)
        rnd = self.rnd = self.rng.random

        def ri(a: int, b: int | None = None) -> int:
            """Like randrange(a, b) / randrange(a) but much faster (float based)."""
            if b is None:
                return int(rnd() * a)
            return a + int(rnd() * (b - a))

        def pick(seq):
            return seq[int(rnd() * len(seq))]

        self.ri = ri
        self.pick = pick
        self.S = start_ms
        self.E = start_ms + days * 86_400_000
        self.day0 = (start_ms // 86_400_000) * 86_400  # UTC midnight of the start date, seconds
        self.sink = sink
        self.order_no = 0
        self.ticket_no = 0
        self.used_addresses: set[str] = set()
        self.phone_counter: dict[tuple[str, str], int] = {}
        self._off_cache: dict[tuple[str, int], int] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self._dates: dict[int, str] = {}
        self.shared_usage: dict[str, dict[str, None]] = {}  # shared value -> person ids
        self.shared_meta: list[tuple[str, str, str]] = []   # (kind, value, note)
        self.shared_values: set[str] = set()
        self._plan()

    # ------------------------------------------------------------------ planning
    def _plan(self) -> None:
        rng = self.rng
        n = self.n
        # product catalogue: price (USD), category, popularity
        self.products = ["SKU-%03d" % i for i in range(1, 201)]
        self.price = {p: math.floor(min(899.0, max(4.0, rng.lognormvariate(3.4, 0.75)))) + 0.99
                      for p in self.products}
        self.category = {p: _CATEGORIES[self.ri(len(_CATEGORIES))] for p in self.products}
        order = self.products[:]
        rng.shuffle(order)
        self.pop_products = order
        acc, cum = 0.0, []
        for rank in range(len(order)):
            acc += 1.0 / (rank + 1) ** 0.8
            cum.append(acc)
        self.pop_cum = cum
        self.crm_add = self.ri(10 ** 7)

        # person types (known customer / anonymous visitor / newsletter subscriber) and regions
        ptype = bytearray(n)
        pregion = bytearray(n)
        for i in range(n):
            r = self.rnd()
            ptype[i] = 0 if r < 0.85 else (1 if r < 0.92 else 2)
            pregion[i] = bisect.bisect_left(_REGION_CUM, self.rnd() * _REGION_CUM[-1])
        self.ptype = ptype
        self.pregion = pregion
        known = [i for i in range(n) if ptype[i] == 0]

        # families: 2-4 known persons in one household (same region/timezone/last name),
        # sharing a tablet and sometimes a landline.
        self.family: dict[int, dict] = {}
        free = known[:]
        rng.shuffle(free)
        n_families = max(0, int(len(known) * 0.025)) if len(known) >= 6 else 0
        if len(known) >= 4 and n_families == 0:
            n_families = 1
        pos = 0
        for _ in range(n_families):
            size = self.pick((2, 2, 3, 3, 4))
            members = sorted(free[pos:pos + size])
            pos += size
            if len(members) < 2:
                break
            region = _REGION_CODES[pregion[members[0]]]
            tz = self._pick_tz(region)
            fam = {"members": members, "tz": tz, "region": region, "last": None,
                   "tablet": _uuid(rng), "landline": None}
            if self.rnd() < 0.6:
                fam["landline"] = self._phone_format_fixed(region, tz)
                self._add_shared("phone", fam["landline"], "family landline")
            self._add_shared("anonymous_id", fam["tablet"], "family tablet")
            for m in members:
                pregion[m] = pregion[members[0]]
                self.family[m] = fam

        # in-store kiosk: many known persons log in on the same device
        if n >= 200:
            ksize = min(40, max(12, n // 25))
        elif n >= 10:
            ksize = max(2, n // 8)
        else:
            ksize = 0
        ksize = min(ksize, len(known))
        self.kiosk = _uuid(rng) if ksize >= 2 else None
        self.kiosk_members: set[int] = set(rng.sample(known, ksize)) if self.kiosk else set()
        if self.kiosk:
            self._add_shared("anonymous_id", self.kiosk, "in-store kiosk")

        # support agents whose desk phone gets typed into customers' tickets
        self.agent_of: dict[int, str] = {}
        if n >= 200:
            sizes = [min(60, max(15, n // 15)), max(3, n // 100)]
        elif n >= 20:
            sizes = [max(2, n // 10)]
        else:
            sizes = []
        pool = known[:]
        rng.shuffle(pool)
        pos = 0
        for size in sizes:
            members = pool[pos:pos + size]
            pos += size
            if len(members) < 2:
                break
            phone = self._phone_format_fixed("US", "America/New_York", national=True)
            self._add_shared("phone", phone, "support agent desk phone")
            for m in members:
                self.agent_of[m] = phone

    def _add_shared(self, kind: str, value: str, note: str) -> None:
        self.shared_meta.append((kind, value, note))
        self.shared_values.add(value)
        self.shared_usage[value] = {}

    def _pick_tz(self, region: str) -> str:
        tzs = _REGIONS[region][3]
        if len(tzs) == 1:
            return tzs[0][0]
        r = self.rnd() * sum(w for _, w in tzs)
        for tz, w in tzs:
            r -= w
            if r < 0:
                return tz
        return tzs[-1][0]

    def _next_phone(self, region: str, tz: str) -> tuple[str, ...]:
        key = (region, tz if region in ("US", "CA", "AU") else "")
        k = self.phone_counter.get(key, 0)
        self.phone_counter[key] = k + 1
        return _phone_groups(region, tz, k)

    def _phone_format_fixed(self, region: str, tz: str, national: bool = False) -> str:
        forms = _phone_formats(region, self._next_phone(region, tz))
        if national and region == "US":
            return forms[1]
        return forms[self.ri(len(forms))]

    # ------------------------------------------------------------------ time helpers
    def _zone(self, tz: str) -> ZoneInfo:
        z = self._zones.get(tz)
        if z is None:
            z = self._zones[tz] = ZoneInfo(tz)
        return z

    def _offset(self, tz: str, sec: int) -> int:
        """UTC offset (seconds) of tz at instant sec; DST changes happen on whole UTC hours."""
        key = (tz, sec // 3600)
        off = self._off_cache.get(key)
        if off is None:
            off = int(datetime.fromtimestamp(key[1] * 3600, self._zone(tz)).utcoffset().total_seconds())
            self._off_cache[key] = off
        return off

    def _local(self, p: _Person, day: int, hour: int, minute_sec: int) -> int:
        """Epoch ms of local clock time day/hour:minute_sec (seconds into the hour) for p."""
        base = self.day0 + day * 86400
        off = self._offset(p.tz, base + 43200)
        return (base - off + hour * 3600 + minute_sec) * 1000 + self.ri(1000)

    def _rand_local(self, p: _Person, day: int, lo_hour: int = 0, hi_hour: int = 24) -> int:
        if lo_hour == 0 and hi_hour == 24:
            hour = bisect.bisect_left(_HOUR_CUM, self.rnd() * _HOUR_CUM[-1])
        else:
            hour = self.ri(lo_hour, hi_hour)
        return self._local(p, day, hour, self.ri(3600))

    def _ts(self, ms: int, tz: str | None) -> tuple[int, str]:
        """Choose the written form of event time ms: (sort key ms, ts as a JSON fragment).

        30 % epoch ms; otherwise ISO-8601 at the person's local offset, at UTC ("Z" or
        "+00:00") or at some other offset -- always denoting the same instant; 40 % of
        the ISO strings carry milliseconds, the others are truncated to the second (the
        sort key follows the written value)."""
        rnd = self.rnd
        r = rnd()
        if r < 0.30:
            return ms, str(ms)
        if r < 0.52 or tz is None:
            off = 0
            suffix = "Z" if r < 0.37 else "+00:00"
        else:
            if r < 0.92:
                off = self._offset(tz, ms // 1000)
            else:
                off = _OTHER_OFFSETS[int(rnd() * len(_OTHER_OFFSETS))]
            suffix = _OFFSET_STR.get(off)
            if suffix is None:
                a = abs(off)
                suffix = _OFFSET_STR[off] = "%s%02d:%02d" % ("+" if off >= 0 else "-", a // 3600,
                                                             (a % 3600) // 60)
        sec, frac = divmod(ms, 1000)
        day, sod = divmod(sec + off, 86400)
        date = self._dates.get(day)
        if date is None:
            date = self._dates[day] = '"%04d-%02d-%02dT' % time.gmtime(day * 86400)[:3]
        hh, rem = divmod(sod, 3600)
        if rnd() < 0.4:
            return ms, '%s%02d:%02d:%02d.%03d%s"' % (date, hh, rem // 60, rem % 60, frac, suffix)
        return ms - frac, '%s%02d:%02d:%02d%s"' % (date, hh, rem // 60, rem % 60, suffix)

    # ------------------------------------------------------------------ emitters
    # Each emitter writes one record with the fields of its Avro schema, in schema order,
    # returns False (and writes nothing) when the event falls outside the window, and
    # records which raw identifiers each person used (shared values are tracked apart).
    def _use_anon(self, p: _Person | None, anon: str) -> None:
        if anon in self.shared_values:
            if p is not None:
                self.shared_usage[anon][p.pid] = None
        elif p is not None:
            p.used_anon[anon] = None

    def _use_phone(self, p: _Person, phone: str) -> None:
        if phone in self.shared_values:
            self.shared_usage[phone][p.pid] = None
        else:
            p.used_phones[phone] = None

    def web(self, p: _Person | None, tz: str, ms: int, anon: str, user: str | None, email: str | None,
            typ: str, product: str | None, props: str) -> bool:
        """``props`` is the properties map, already serialised as JSON."""
        key, ts = self._ts(ms, tz)
        if not self.S <= key < self.E:
            return False
        self.sink.add(_W, key, '{"ts":%s,"anonymous_id":%s,"user_id":%s,"email":%s,"type":"%s",'
                               '"product_id":%s,"properties":%s}'
                      % (ts, _q(anon), _qn(user), _qn(email), typ, _qn(product), props))
        self._use_anon(p, anon)
        if email is not None:
            p.used_emails[email] = None
        return True

    def order(self, p: _Person, ms: int, crm: str | None, email: str | None, order_id: str, typ: str,
              products: list[str], amount, currency: str | None) -> bool:
        key, ts = self._ts(ms, p.tz)
        if not self.S <= key < self.E:
            return False
        self.sink.add(_O, key, '{"ts":%s,"crm_id":%s,"email":%s,"order_id":%s,"type":"%s",'
                               '"product_ids":%s,"amount":%s,"currency":%s}'
                      % (ts, _qn(crm), _qn(email), _q(order_id), typ, _dumps(products),
                         _dumps(amount), _qn(currency)))
        if email is not None:
            p.used_emails[email] = None
        return True

    def support(self, p: _Person, ms: int, crm: str | None, email: str | None, phone: str | None,
                ticket: str, typ: str, severity: str | None, csat: int | None) -> bool:
        key, ts = self._ts(ms, "America/New_York" if self.rnd() < 0.5 else p.tz)
        if not self.S <= key < self.E:
            return False
        self.sink.add(_S, key, '{"ts":%s,"crm_id":%s,"email":%s,"phone":%s,"ticket_id":%s,"type":"%s",'
                               '"severity":%s,"csat":%s}'
                      % (ts, _qn(crm), _qn(email), _qn(phone), _q(ticket), typ, _qn(severity),
                         "null" if csat is None else int(csat)))
        if email is not None:
            p.used_emails[email] = None
        if phone is not None:
            self._use_phone(p, phone)
        return True

    def crm(self, p: _Person, ms: int, typ: str, email: str | None = None, phone: str | None = None,
            stage: str | None = None, tz: str | None = None, owner: str | None = None) -> bool:
        key, ts = self._ts(ms, None)
        if not self.S <= key < self.E:
            return False
        self.sink.add(_C, key, '{"ts":%s,"crm_id":%s,"email":%s,"phone":%s,"type":"%s",'
                               '"lifecycle_stage":%s,"timezone":%s,"owner_id":%s}'
                      % (ts, _q(p.crm_id), _qn(email), _qn(phone), typ, _qn(stage), _qn(tz),
                         _qn(owner)))
        if email is not None:
            p.used_emails[email] = None
        if phone is not None:
            self._use_phone(p, phone)
        return True

    def engagement(self, p: _Person, ms: int, email: str | None, phone: str | None, crm: str | None,
                   channel: str, typ: str) -> bool:
        key, ts = self._ts(ms, None if self.rnd() < 0.5 else p.tz)
        if not self.S <= key < self.E:
            return False
        self.sink.add(_E, key, '{"ts":%s,"email":%s,"phone":%s,"crm_id":%s,"channel":"%s","type":"%s",'
                               '"decision_id":null}'
                      % (ts, _qn(email), _qn(phone), _qn(crm), channel, typ))
        if email is not None:
            p.used_emails[email] = None
        if phone is not None:
            self._use_phone(p, phone)
        return True

    def consent(self, p: _Person, ms: int, channel: str, status: str) -> bool:
        """Exactly one identifier: email (email channel), phone (sms/call) or crm_id."""
        rnd = self.rnd
        email = phone = crm = None
        if channel == "email" and (p.crm_id is None or rnd() < 0.7):
            email = p.email(self.rng)
        elif channel in ("sms", "call") and p.phone_variants and rnd() < 0.8:
            phone = p.phone(self.rng)
        else:
            crm = p.crm_id
        key, ts = self._ts(ms, p.tz)
        if not self.S <= key < self.E:
            return False
        self.sink.add(_N, key, '{"ts":%s,"email":%s,"phone":%s,"crm_id":%s,"channel":"%s","status":"%s"}'
                      % (ts, _qn(email), _qn(phone), _qn(crm), channel, status))
        if email is not None:
            p.used_emails[email] = None
        if phone is not None:
            self._use_phone(p, phone)
        return True

    # ------------------------------------------------------------------ person
    def _new_address(self, p: _Person, work: bool) -> list[str]:
        f, l = p.first, p.last
        if work:
            local = self.pick((f"{f}.{l}", f"{f[0]}{l}", f"{f[0]}.{l}"))
            domain = self.pick(_WORK_DOMAINS)
        else:
            local = self.pick((f"{f}.{l}", f"{f}{l}", f"{f[0]}{l}", f"{f}_{l}", f"{l}.{f}",
                                f"{f}.{l}{self.ri(1, 99)}", f"{f}{self.ri(1950, 2008)}"))
            domain = self.pick(_MAIL_DOMAINS)
        canon = f"{local}@{domain}"
        while canon in self.used_addresses:
            canon = f"{local}{self.ri(1, 10000)}@{domain}"
        self.used_addresses.add(canon)
        local, domain = canon.split("@")
        title = ".".join(x.capitalize() for x in local.split("."))
        title = "_".join(x[:1].upper() + x[1:] for x in title.split("_"))
        others = [canon.upper(), " " + canon, canon + " ", f"{title}@{domain.capitalize()}",
                  f"{local}@{domain.upper()}", f" {title}@{domain} "]
        form = f"{title}@{domain}" if self.rnd() < 0.6 else canon
        variants = [form, canon] if form != canon else [canon]
        if self.rnd() < 0.6:
            variants.append(others[self.ri(len(others))])
        return variants

    def person(self, i: int) -> _Person:
        rng = self.rng
        p = _Person()
        p.pid = "P%06d" % (i + 1)
        kind = self.ptype[i]
        p.kind = kind
        fam = self.family.get(i)
        p.region = _REGION_CODES[self.pregion[i]]
        p.tz = fam["tz"] if fam else self._pick_tz(p.region)
        _, p.currency, p.fx, _ = _REGIONS[p.region]
        p.first = self.pick(_FIRST[p.region])
        if fam:
            if fam["last"] is None:
                fam["last"] = self.pick(_LAST[p.region])
            p.last = fam["last"]
        else:
            p.last = self.pick(_LAST[p.region])
        p.crm_id = "C%08d" % (10 ** 7 + _perm(i, 9 * 10 ** 7, self.crm_add)) if kind == 0 else None
        p.addresses = []
        if kind != 1:
            p.addresses.append(self._new_address(p, False))
            if kind == 0 and self.rnd() < 0.15:
                p.addresses.append(self._new_address(p, True))
        p.phone_variants = []
        if kind == 0 and self.rnd() < 0.65:
            forms = _phone_formats(p.region, self._next_phone(p.region, p.tz))
            k = self.pick((1, 2, 2, 3))
            p.phone_variants = rng.sample(forms, k)
        p.devices = [_uuid(rng) for _ in range(self.pick((1, 1, 2, 2, 3)))]
        p.logged = set()
        p.used_emails, p.used_phones, p.used_anon = {}, {}, {}
        p.stage = self.pick(("customer", "customer", "customer", "lead", "subscriber",
                              "marketing_qualified"))
        p.owner = "owner-%02d" % self.ri(1, 26) if self.rnd() < 0.75 else None
        p.landline = fam["landline"] if fam else None
        p.fav = [self._popular() for _ in range(self.pick((2, 3, 3, 4)))]
        p.login_prob = self.pick((0.3, 0.5, 0.7))
        p.activity = rng.choices((0.05, 0.13, 0.24, 0.42), (0.25, 0.35, 0.28, 0.12))[0]
        p.has_tz_in_crm = self.rnd() < 0.92
        p.email_ok = p.sms_ok = p.push_ok = None
        p.ordered = False
        p.account = False  # can log in / be named by crm_id (known persons, once the contact exists)

        if kind == 0:
            self._known(i, p, fam)
        elif kind == 1:
            self._visitor(p)
        else:
            self._subscriber(p)
        return p

    def _popular(self) -> str:
        j = bisect.bisect_left(self.pop_cum, self.rnd() * self.pop_cum[-1])
        return self.pop_products[min(j, len(self.pop_products) - 1)]

    def _window_ms(self, lo_frac: float = 0.0, hi_frac: float = 1.0) -> int:
        span = self.E - self.S
        return self.S + int(span * (lo_frac + (hi_frac - lo_frac) * self.rnd()))

    def _session_times(self, p: _Person, from_ms: int) -> list[int]:
        out = []
        lam = p.activity
        for day in range(self.days):
            r = self.rnd()
            if r < lam:
                out.append(self._rand_local(p, day))
                if r < lam * 0.3:
                    out.append(self._rand_local(p, day))
        return sorted(t for t in out if t >= from_ms)

    # ------------------------------------------------------------------ person kinds
    def _known(self, i: int, p: _Person, fam: dict | None) -> None:
        rng = self.rng
        existing = self.rnd() < 0.72 or i in self.kiosk_members or i in self.agent_of or fam
        if existing:
            created = self.S + self.ri(6 * 3_600_000)
            p.account = True
        else:
            created = self._window_ms(0.05, 0.7)
        p.created = created

        # anonymous browsing before the account exists (new customers)
        device = p.devices[0]
        if not existing:
            for t in self._session_times(p, self.S):
                if t >= created - 600_000:
                    break
                self.session(p, t, device if self.rnd() < 0.8 else self.pick(p.devices))
            # signup session: page_view, signup with email, then the CRM contact
            t = created - self.ri(60_000, 600_000)
            self.web(p, p.tz, t, device, None, None, "page_view", None,
                     _dumps({"path": "/signup", "referrer": self.pick(_REFERRERS)}))
            t += self.ri(20_000, 240_000)
            self.web(p, p.tz, t, device, None, p.email(rng, "form"), "signup", None,
                     _dumps({"form": "account", "newsletter": self.rnd() < 0.5}))
            p.logged.add(device)
            p.account = True
            p.stage = "lead"
            created = t + self.ri(30_000, 300_000)
            p.created = created

        phone_in_crm = None
        if p.landline:  # every member of the household is recorded with the home phone
            phone_in_crm = p.landline
        elif p.phone_variants and self.rnd() < 0.85:
            phone_in_crm = p.phone(rng, "crm")
        self.crm(p, created, "contact_created", p.email(rng, "form"), phone_in_crm, p.stage,
                 p.tz if p.has_tz_in_crm else None, p.owner)

        # consent
        self._consents(p, created + self.ri(1000, 120_000))

        # CRM follow-ups
        need_update = len(p.addresses) > 1 or (p.phone_variants and phone_in_crm is None
                                                and self.rnd() < 0.7)
        if need_update or self.rnd() < 0.2:
            t = created + self.ri(3_600_000, max(3_600_001, self.E - created))
            addr = 1 if len(p.addresses) > 1 else 0
            phone = p.phone(rng, "crm") if p.phone_variants else phone_in_crm
            self.crm(p, t, "contact_updated", p.email(rng, "form", addr), phone, p.stage,
                     p.tz if p.has_tz_in_crm or self.rnd() < 0.5 else None, p.owner)
        if self.rnd() < 0.25:
            t = created + self.ri(3_600_000, max(3_600_001, self.E - created))
            nxt = _STAGES[min(len(_STAGES) - 1, _STAGES.index(p.stage) + 1)]
            if self.crm(p, t, "lifecycle_changed", stage=nxt):
                p.stage = nxt
        if self.rnd() < 0.04:
            t = created + self.ri(3_600_000, max(3_600_001, self.E - created))
            owner = p.owner or "owner-%02d" % self.ri(1, 26)
            self.crm(p, t, "opportunity_opened", stage="opportunity", owner=owner)
            if self.rnd() < 0.6:
                self.crm(p, t + self.ri(86_400_000, 20 * 86_400_000), "opportunity_closed",
                         stage=self.pick(("customer", "customer", "lead")), owner=owner)

        # support tickets (may force a browse-and-cart session while the ticket is open)
        forced_sessions: list[tuple[int, str, bool]] = []
        n_tickets = 0
        if i in self.agent_of:
            n_tickets = 1
        elif self.rnd() < 0.18:
            n_tickets = self.pick((1, 1, 1, 2))
        for k in range(n_tickets):
            agent_phone = self.agent_of.get(i) if k == 0 else None
            opened, resolved = self._ticket(p, max(created + 60_000, self._window_ms(0.0, 0.95)),
                                            agent_phone)
            if opened is not None and self.rnd() < 0.35:
                hi = (resolved if resolved is not None else self.E) - opened
                if hi > 1_800_000:
                    t = opened + self.ri(1_800_000, min(hi, 48 * 3_600_000) + 1)
                    forced_sessions.append((t, p.devices[0], True))

        # web sessions
        for t in self._session_times(p, created):
            r = self.rnd()
            if fam and r < 0.15:
                dev = fam["tablet"]
            else:
                dev = p.devices[0] if self.rnd() < 0.7 else self.pick(p.devices)
            self.session(p, t, dev)
        for t, dev, cart in forced_sessions:
            self.session(p, t, dev, force_login=True, force_cart=cart)
        if fam:  # every family member logs in on the family tablet at least once
            self.session(p, max(created + 60_000, self._window_ms(0.0, 0.95)), fam["tablet"],
                         force_login=True)
        if i in self.kiosk_members:
            for _ in range(self.pick((1, 1, 2))):
                self.session(p, max(created + 60_000, self._window_ms(0.02, 0.95)), self.kiosk,
                             force_login=True)
            if self.rnd() < 0.5:  # a walk-in who does not log in
                self.session(None, self._window_ms(0.02, 0.95), self.kiosk, tz=p.tz)
        if self.rnd() < 0.2:  # browse-to-offer: same product 3+ times within 7 days
            focus = p.fav[0]
            t0 = max(created, self._window_ms(0.0, 0.75))
            for _ in range(self.pick((3, 3, 4, 5))):
                t = t0 + self.ri(7 * 86_400_000 - 3_600_000)
                self.session(p, t, p.devices[0], focus=focus)

        # engagement history (ESP, SMS gateway, push)
        self._engagement(p)

    def _visitor(self, p: _Person) -> None:
        for t in self._session_times(p, self.S):
            self.session(p, t, p.devices[0] if self.rnd() < 0.8 else self.pick(p.devices))

    def _subscriber(self, p: _Person) -> None:
        rng = self.rng
        times = self._session_times(p, self.S)
        signup = times[self.ri(len(times))] if times and self.rnd() < 0.7 else None
        if signup is not None:
            t = signup
            self.web(p, p.tz, t, p.devices[0], None, None, "page_view", None,
                     _dumps({"path": "/newsletter", "referrer": self.pick(_REFERRERS)}))
            t += self.ri(10_000, 120_000)
            self.web(p, p.tz, t, p.devices[0], None, p.email(rng, "form"), "signup", None,
                     _dumps({"form": "newsletter", "newsletter": True}))
            granted = t + self.ri(1000, 60_000)
        else:
            granted = self._window_ms(0.0, 0.3)
        for t in times:
            if t != signup:
                self.session(p, t, p.devices[0] if self.rnd() < 0.8 else self.pick(p.devices))
        if self.consent(p, granted, "email", "granted"):
            revoked = None
            if self.rnd() < 0.05:
                revoked = granted + self.ri(3_600_000, max(3_600_001, self.E - granted))
                if not self.consent(p, revoked, "email", "revoked"):
                    revoked = None
            p.email_ok = _Consent(granted, revoked)
        if self.rnd() < 0.03:
            tk = self._next_ticket()
            t = self._window_ms(0.1, 0.9)
            email = p.email(rng)
            self.support(p, t, None, email, None, tk, "ticket_opened", "low", None)
            self.support(p, t + self.ri(3_600_000, 72 * 3_600_000), None, email, None, tk,
                         "ticket_resolved", "low", self.pick((3, 4, 5)))
        self._engagement(p)

    # ------------------------------------------------------------------ building blocks
    def _consents(self, p: _Person, t: int) -> None:
        plan = [("email", 0.85, "email_ok"), ("sms", 0.45 if p.phone_variants else 0.0, "sms_ok"),
                ("push", 0.3, "push_ok"), ("call", 0.12 if p.phone_variants else 0.0, None)]
        for channel, prob, attr in plan:
            if self.rnd() >= prob:
                continue
            g = t + self.ri(60_000)
            if not self.consent(p, g, channel, "granted"):
                continue
            revoked = None
            if self.rnd() < 0.05:
                revoked = g + self.ri(3_600_000, max(3_600_001, self.E - g))
                if not self.consent(p, revoked, channel, "revoked"):
                    revoked = None
            if attr:
                setattr(p, attr, _Consent(g, revoked))

    def _next_ticket(self) -> str:
        self.ticket_no += 1
        return "TCK-%07d" % self.ticket_no

    def _ticket(self, p: _Person, opened: int, agent_phone: str | None) -> tuple[int | None, int | None]:
        rng = self.rng
        tk = self._next_ticket()
        crm = email = phone = None
        r = self.rnd()
        if agent_phone:
            phone = agent_phone
            if r < 0.6:
                crm = p.crm_id
            else:
                email = p.email(rng)
        elif p.phone_variants and r < 0.25:
            phone = p.phone(rng)
        elif r < 0.6:
            email = p.email(rng)
        else:
            crm = p.crm_id
            if self.rnd() < 0.4:
                email = p.email(rng)
        sev = rng.choices(("low", "medium", "high", "critical"), (40, 35, 20, 5))[0]
        if not self.support(p, opened, crm, email, phone, tk, "ticket_opened", sev, None):
            return None, None
        t = opened
        if self.rnd() < 0.15:
            t += self.ri(1_800_000, 24 * 3_600_000)
            sev = {"low": "medium", "medium": "high"}.get(sev, "critical")
            self.support(p, t, crm, email, phone, tk, "ticket_escalated", sev, None)
        resolved = None
        if self.rnd() < 0.85:
            rt = t + self.ri(2 * 3_600_000, 5 * 86_400_000)
            csat = None
            if self.rnd() < 0.8:
                csat = rng.choices((1, 2, 3, 4, 5), (8, 10, 17, 30, 35))[0]
            if self.support(p, rt, crm, email, phone, tk, "ticket_resolved", sev, csat):
                resolved = rt
        return opened, resolved

    def session(self, p: _Person | None, t: int, device: str, force_login: bool = False,
                force_cart: bool = False, focus: str | None = None, tz: str | None = None) -> None:
        """One visit: landing page, maybe login, product views, maybe cart/checkout/order."""
        tz = p.tz if p is not None else tz
        shared = device in self.shared_values
        logged = p is not None and p.account and device in p.logged and not shared
        user = p.crm_id if logged else None
        self.web(p, tz, t, device, user, None, "page_view", None,
                 '{"path":"%s","referrer":%s}' % (self.pick(_PAGES), _qn(self.pick(_REFERRERS))))
        t += self.ri(5_000, 90_000)
        if p is not None and p.account and not logged and (
                force_login or self.rnd() < p.login_prob):
            if self.web(p, tz, t, device, p.crm_id, None, "login", None,
                        '{"method":"%s"}' % self.pick(("password", "password", "magic_link", "google"))):
                logged = True
                user = p.crm_id
                if not shared:
                    p.logged.add(device)
            t += self.ri(3_000, 40_000)
        n_views = self.pick((0, 1, 1, 2, 2, 3, 4)) if focus is None else self.pick((1, 2))
        cart: list[str] = []
        t_cart = None
        for v in range(n_views):
            if focus is not None and v == 0:
                sku = focus
            elif p is not None and self.rnd() < 0.25:
                sku = p.fav[self.ri(len(p.fav))]
            else:
                sku = self._popular()
            price = self.price[sku] * (p.fx if p is not None else 1.0)
            self.web(p, tz, t, device, user, None, "product_view", sku,
                     '{"price":%r,"category":"%s"}' % (round(price, 2), self.category[sku]))
            t += self.ri(8_000, 150_000)
            if self.rnd() < (0.14 if not force_cart else 0.6) and sku not in cart:
                q = self.pick((1, 1, 1, 2))
                if self.web(p, tz, t, device, user, None, "add_to_cart", sku,
                            '{"quantity":%d,"price":%r}' % (q, round(price, 2))):
                    cart.append(sku)
                    t_cart = t
                t += self.ri(5_000, 60_000)
        if force_cart and not cart:
            sku = p.fav[0] if p is not None else self._popular()
            price = self.price[sku] * (p.fx if p is not None else 1.0)
            if self.web(p, tz, t, device, user, None, "add_to_cart", sku,
                        '{"quantity":1,"price":%r}' % round(price, 2)):
                cart.append(sku)
                t_cart = t
            t += self.ri(5_000, 60_000)
        if self.rnd() < 0.3:
            self.web(p, tz, t, device, user, None, "page_view", None,
                     '{"path":"%s","referrer":null}' % self.pick(_PAGES))
            t += self.ri(5_000, 60_000)
        if not cart or p is None:
            return
        value = round(sum(self.price[s] for s in cart) * p.fx, 2)
        if self.rnd() < 0.55:
            self.web(p, tz, t, device, user, None, "checkout_started", None,
                     _dumps({"items": len(cart), "cart_value": value, "currency": p.currency}))
        if not p.addresses or self.rnd() >= 0.4:
            return  # abandoned cart
        self._order(p, t_cart + self.ri(10 * 60_000, 50 * 60_000), cart, logged)

    def _order(self, p: _Person, t: int, cart: list[str], logged: bool) -> None:
        rng = self.rng
        self.order_no += 1
        oid = "ORD-%08d" % self.order_no
        crm = email = None
        if logged and p.account:
            r = self.rnd()
            if r < 0.70:
                crm, email = p.crm_id, p.email(rng)
            elif r < 0.85:
                crm = p.crm_id
            else:
                email = p.email(rng)  # guest checkout by email right after a logged-in cart
        elif p.account and self.rnd() < 0.3:
            crm, email = p.crm_id, p.email(rng)
        else:
            email = p.email(rng)
        qty = [self.pick((1, 1, 1, 2)) for _ in cart]
        amount = sum(self.price[s] * q for s, q in zip(cart, qty)) * p.fx
        if p.currency in ("JPY", "INR") or self.rnd() < 0.05:
            amount = int(round(amount))
        else:
            amount = round(amount, 2)
        if self.rnd() < 0.08:
            if not self.order(p, t, crm, email, oid, "payment_failed", cart, amount, p.currency):
                return
            t += self.ri(5 * 60_000, 120 * 60_000)
        if not self.order(p, t, crm, email, oid, "order_placed", cart, amount, p.currency):
            return
        if p.account and not p.ordered and p.stage != "customer":
            if self.crm(p, t + self.ri(60_000, 3_600_000), "lifecycle_changed", stage="customer"):
                p.stage = "customer"
        p.ordered = True
        if self.rnd() < 0.05:
            self.order(p, t + self.ri(3_600_000, 4 * 86_400_000), crm, email, oid,
                       "order_cancelled", cart, amount, p.currency)

    def _engagement(self, p: _Person) -> None:
        rng = self.rng
        if not p.addresses and not p.phone_variants and p.crm_id is None:
            return
        bounce = self.rnd() < 0.012
        complain = self.rnd() < 0.005
        unsub = self.rnd() < 0.045  # -> ~3 % of persons (needs an opened email)
        email_stop = False
        for day in range(self.days):
            dow = day % 7
            # email newsletter twice a week
            if dow in (1, 4) and p.email_ok is not None and not email_stop:
                t = self._local(p, day, self.ri(8, 11), self.ri(3600))
                if p.email_ok.active(t):
                    email = p.email(rng, "esp") if self.rnd() < 0.9 else p.email(rng)
                    crm = p.crm_id if p.crm_id and self.rnd() < 0.3 else None
                    if bounce:
                        self.engagement(p, t, email, None, crm, "email", "bounced")
                        email_stop = True
                        continue
                    if not self.engagement(p, t, email, None, crm, "email", "delivered"):
                        continue
                    if complain and self.rnd() < 0.3:
                        self.engagement(p, t + self.ri(60_000, 7_200_000), email, None, crm,
                                        "email", "complained")
                        email_stop = True
                        continue
                    if self.rnd() < 0.35:
                        to = t + self.ri(60_000, 10 * 3_600_000)
                        if not self.engagement(p, to, email, None, crm, "email", "opened"):
                            continue
                        if unsub and self.rnd() < 0.5:
                            tu = to + self.ri(5_000, 120_000)
                            if self.engagement(p, tu, email, None, crm, "email", "unsubscribed"):
                                email_stop = True
                                if self.rnd() < 0.7:
                                    self.consent(p, tu + self.ri(60_000, 1_800_000), "email",
                                                 "revoked")
                            continue
                        if self.rnd() < 0.25:
                            tc = to + self.ri(5_000, 600_000)
                            if self.engagement(p, tc, email, None, crm, "email", "clicked") \
                                    and self.rnd() < 0.6:
                                self.session(p, tc + self.ri(3_000, 60_000), p.devices[0])
            # SMS campaign every 10 days
            if day % 10 == 5 and p.sms_ok is not None:
                t = self._local(p, day, self.ri(12, 18), self.ri(3600))
                if p.sms_ok.active(t):
                    phone = p.phone(rng)
                    if self.engagement(p, t, None, phone, None, "sms", "delivered") and self.rnd() < 0.1:
                        self.engagement(p, t + self.ri(30_000, 3_600_000), None, phone, None,
                                        "sms", "clicked")
            # push three times a week
            if dow in (0, 2, 5) and p.push_ok is not None:
                t = self._local(p, day, self.ri(11, 20), self.ri(3600))
                if p.push_ok.active(t) and self.engagement(p, t, None, None, p.crm_id, "push", "delivered"):
                    if self.rnd() < 0.2:
                        self.engagement(p, t + self.ri(10_000, 3_600_000), None, None, p.crm_id,
                                        "push", "opened")


# --------------------------------------------------------------------------- malformed lines

# Required fields that missing_field may drop.  The type / status field is never dropped (a
# record without it is reported as unknown_type by the parser, which checks the type first).
_REQUIRED = {
    "web": ("ts", "anonymous_id"),
    "orders": ("ts", "order_id"),
    "support": ("ts", "ticket_id"),
    "crm": ("ts", "crm_id"),
    "engagement": ("ts", "channel"),
    "consent": ("ts", "channel"),
}
_WRONG_TYPE = {
    "web": (("product_id", 12345), ("properties", "utm_source=newsletter"), ("anonymous_id", 987654321)),
    "orders": (("amount", "abc"), ("amount", "12,50"), ("product_ids", "SKU-001,SKU-002")),
    "support": (("csat", "five"), ("severity", 3), ("ticket_id", 4711)),
    "crm": (("crm_id", 12345678), ("lifecycle_stage", 3), ("owner_id", 7)),
    "engagement": (("decision_id", 42), ("channel", 1)),
    "consent": (("channel", 2), ("crm_id", 1234567)),
}
_UNKNOWN_TYPE = {
    "web": ("type", ("page_viewed", "purchase", "wishlist_add")),
    "orders": ("type", ("order_refunded", "order_shipped")),
    "support": ("type", ("ticket_merged", "ticket_reopened")),
    "crm": ("type", ("contact_deleted", "contact_merged")),
    "engagement": ("type", ("forwarded", "soft_bounce")),
    "consent": ("status", ("pending", "unknown")),
}
_IDENTIFIERS = {
    "orders": ("crm_id", "email"),
    "support": ("crm_id", "email", "phone"),
    "engagement": ("email", "phone", "crm_id"),
    "consent": ("email", "phone", "crm_id"),
}
_BAD_TS = ("not-a-date", "2026-13-45T25:61:00+00:00", "31/10/2026 14:05", "", "yesterday",
           "2026-10-05T10:00:00+25:00", "NaN", "Oct 5 2026 10:00AM")
_BAD_EMAILS = ("not-an-email", "jane.doe@", "@example.com", "john doe@example", "n/a")
_BAD_TZ = ("Mars/Olympus_Mons", "Europe/Parris", "GMT+25", "Eastern Standard Time",
           "America/Springfield")


def _malformed_line(stream: str, kind: str, good: str, rng: random.Random) -> tuple[str, str]:
    """A malformed variant of the good line ``good`` (which ends with a newline)."""
    if kind == "invalid_json":
        body = good.rstrip("\n")
        cut = rng.randrange(len(body) // 3, (2 * len(body)) // 3)
        return body[:cut] + "\n", f"line truncated after {cut} characters"
    d = json.loads(good)
    if kind == "not_an_object":
        if rng.random() < 0.5:
            return _dumps([d]) + "\n", "record wrapped in a JSON array"
        return _dumps(list(d.values())) + "\n", "JSON array of values instead of an object"
    if kind == "missing_field":
        f = rng.choice(_REQUIRED[stream])
        del d[f]
        detail = f"required field {f} missing"
    elif kind == "wrong_type":
        f, v = rng.choice(_WRONG_TYPE[stream])
        d[f] = v
        detail = f"{f}={v!r}"
    elif kind == "unknown_type":
        f, values = _UNKNOWN_TYPE[stream]
        d[f] = rng.choice(values)
        detail = f"{f}={d[f]!r}"
    elif kind == "bad_timestamp":
        d["ts"] = rng.choice(_BAD_TS)
        detail = f"ts={d['ts']!r}"
    elif kind == "absurd_timestamp":
        ts = d["ts"]
        ms = ts if isinstance(ts, int) else _iso_ms(ts)
        r = rng.randrange(4)
        if r == 0:
            d["ts"] = ms // 1000  # epoch seconds written as milliseconds -> January 1970
        elif r == 1:
            d["ts"] = rng.choice((0, "1970-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z"))
        else:
            dt = datetime.fromtimestamp(ms // 1000, timezone.utc)
            dt = dt.replace(year=2200, day=min(dt.day, 28))
            d["ts"] = int(dt.timestamp()) * 1000 if r == 2 else dt.isoformat()
        detail = f"ts={d['ts']!r}"
    elif kind == "no_identifier":
        for f in _IDENTIFIERS[stream]:
            d[f] = None
        detail = "no identifier (" + ", ".join(_IDENTIFIERS[stream]) + " all null)"
    elif kind == "invalid_email":
        if stream in _IDENTIFIERS:
            for f in _IDENTIFIERS[stream]:
                d[f] = None
        if stream == "engagement":
            d["channel"] = "email"
        d["email"] = rng.choice(_BAD_EMAILS)
        detail = f"email={d['email']!r}"
    elif kind == "invalid_timezone":
        d["timezone"] = rng.choice(_BAD_TZ)
        detail = f"timezone={d['timezone']!r}"
    else:  # pragma: no cover
        raise ValueError(kind)
    return _dumps(d) + "\n", detail


def _iso_ms(s: str) -> int:
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return int(round(datetime.fromisoformat(s).timestamp() * 1000))


# --------------------------------------------------------------------------- entry point

def generate(customers: int, days: int, seed: int, out: str | os.PathLike,
             start: str = "2026-10-01T00:00:00+00:00", malformed_rate: float = 0.02,
             progress: bool = False) -> GenerateSummary:
    """Write the sample streams and ground truth for ``customers`` persons over ``days`` days."""
    if customers < 1:
        raise ValueError("customers must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    if not 0.0 <= malformed_rate < 1.0:
        raise ValueError("malformed_rate must be in [0, 1)")
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    start_ms = _parse_start(start)
    t0 = time.perf_counter()
    sink = _Sink(SPILL_LINES, out_path)
    try:
        gen = _Generator(customers, days, seed, start_ms, sink)
        step = max(1, math.ceil(customers / 20))
        with open(out_path / "ground_truth.jsonl", "w", encoding="utf-8", newline="\n") as gt:
            for i in range(customers):
                p = gen.person(i)
                gt.write(_dumps({"person_id": p.pid, "crm_id": p.crm_id,
                                 "emails": list(p.used_emails), "phones": list(p.used_phones),
                                 "anonymous_ids": list(p.used_anon), "timezone": p.tz,
                                 "region": p.region}) + "\n")
                if progress and ((i + 1) % step == 0 or i + 1 == customers):
                    el = time.perf_counter() - t0
                    print(f"generate: {i + 1}/{customers} persons ({100 * (i + 1) // customers}%), "
                          f"{sink.seq} events, {el:.1f}s", file=sys.stderr, flush=True)

        shared_devices = shared_phones = 0
        with open(out_path / "ground_truth_shared.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for kind, value, note in gen.shared_meta:
                persons = sorted(gen.shared_usage[value])
                if not persons:  # planned but never written (e.g. outside the window)
                    continue
                if kind == "anonymous_id":
                    shared_devices += 1
                else:
                    shared_phones += 1
                fh.write(_dumps({"kind": kind, "value": value, "person_ids": persons,
                                 "note": note}) + "\n")

        records: dict[str, int] = {}
        malformed: dict[str, int] = {}
        mrng = random.Random(f"journeyflow-malformed/{seed}")
        expected: list[dict] = []
        for s, stream in enumerate(STREAMS):
            n_good = sink.counts[s]
            m = 0
            if malformed_rate > 0 and n_good > 0:
                m = max(1, round(n_good * malformed_rate))
            positions = sorted(mrng.sample(range(1, n_good + m + 1), m)) if m else []
            kinds: list[str] = []
            records[stream] = n_good
            malformed[stream] = m
            with open(out_path / f"{stream}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
                line_no = 0
                pi = 0
                next_pos = positions[0] if positions else -1
                buf: list[str] = []
                last_good = None
                for item in sink.sorted_lines(s):
                    line_no += 1
                    payload = item[_KEY_LEN + 1:]
                    while line_no == next_pos:
                        good = '{"event_id":"%s-%06d",%s' % (stream, line_no, payload)
                        if not kinds:
                            kinds = list(MALFORMED_KINDS[stream])
                            mrng.shuffle(kinds)
                        kind = kinds.pop()
                        line, detail = _malformed_line(stream, kind, good, mrng)
                        buf.append(line)
                        expected.append({"stream": stream, "line": line_no, "kind": kind,
                                         "detail": detail})
                        line_no += 1
                        pi += 1
                        next_pos = positions[pi] if pi < len(positions) else -1
                    buf.append('{"event_id":"%s-%06d",%s' % (stream, line_no, payload))
                    last_good = payload
                    if len(buf) >= 8192:
                        fh.writelines(buf)
                        buf.clear()
                while pi < len(positions):
                    line_no += 1
                    good = '{"event_id":"%s-%06d",%s' % (stream, line_no, last_good)
                    if not kinds:
                        kinds = list(MALFORMED_KINDS[stream])
                        mrng.shuffle(kinds)
                    kind = kinds.pop()
                    line, detail = _malformed_line(stream, kind, good, mrng)
                    buf.append(line)
                    expected.append({"stream": stream, "line": line_no, "kind": kind, "detail": detail})
                    pi += 1
                fh.writelines(buf)
        with open(out_path / "malformed_expected.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for e in expected:
                fh.write(_dumps(e) + "\n")
        if progress:
            print(f"generate: wrote {sum(records.values())} records + {sum(malformed.values())} "
                  f"malformed lines to {out_path} in {time.perf_counter() - t0:.1f}s",
                  file=sys.stderr, flush=True)
    finally:
        sink.close()
    return GenerateSummary(out=out_path, persons=customers, records=records, malformed=malformed,
                           shared_devices=shared_devices, shared_phones=shared_phones)
