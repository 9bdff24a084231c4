"""One generated person at a time: identity (names, addresses with their written variants, phones, devices) and
the life of each person kind (known customer, anonymous visitor, newsletter subscriber)."""

from __future__ import annotations

from journeyflow.tools.generator.activity import _Activity
from journeyflow.tools.generator.events import _dumps
from journeyflow.tools.generator.population import _Consent, _Person
from journeyflow.tools.generator.reference import (
    _FIRST,
    _LAST,
    _MAIL_DOMAINS,
    _REFERRERS,
    _REGION_CODES,
    _REGIONS,
    _STAGES,
    _WORK_DOMAINS,
    _perm,
    _phone_formats,
    _uuid,
)


class _Generator(_Activity):
    """The whole generator: ``person(i)`` generates person ``i`` and writes its events into the sink."""

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

