"""Who is in the generated population: the person record, consent periods, and the plan made before any person is
generated (product catalogue, person types and regions, families sharing a tablet and a landline, the in-store
kiosk, support agents whose desk phone ends up on tickets), plus phone-number allocation."""

from __future__ import annotations

import bisect
import math
import random
from zoneinfo import ZoneInfo

from journeyflow.tools.generator.reference import (
    _CATEGORIES,
    _REGION_CODES,
    _REGION_CUM,
    _REGIONS,
    _phone_formats,
    _phone_groups,
    _uuid,
)
from journeyflow.tools.generator.sink import _Sink

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


class _Population:
    """The random source, the window and the plan of the population (families, kiosk, agents), made up front."""

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

