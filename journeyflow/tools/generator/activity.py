"""What persons do: consents, support tickets, web sessions (browse, cart, login, checkout), orders and the
engagement history (email newsletter, SMS campaigns, push) -- the building blocks the person kinds are made of."""

from __future__ import annotations

import bisect

from journeyflow.tools.generator.events import _Events, _dumps, _qn
from journeyflow.tools.generator.population import _Consent, _Person
from journeyflow.tools.generator.reference import _PAGES, _REFERRERS

#: Share of high/critical-severity tickets about which the customer contacts support again while it is still open
#: (a second ticket of the same severity; the default ``repeat_contact`` journey routes it to the priority queue).
REPEAT_CONTACT_RATE = 0.35
#: Share of failed payments that fail again after the dunning email and SMS (26-60 h later; the default ``dunning``
#: journey then proposes a call).  The others succeed 5-120 min after the first failure.
REFAIL_RATE = 0.3


class _Activity(_Events):
    """The building blocks of a person's activity, on top of the emitters."""

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
        rt = None
        if self.rnd() < 0.85:
            rt = t + self.ri(2 * 3_600_000, 5 * 86_400_000)
            csat = None
            if self.rnd() < 0.8:
                csat = rng.choices((1, 2, 3, 4, 5), (8, 10, 17, 30, 35))[0]
            if self.support(p, rt, crm, email, phone, tk, "ticket_resolved", sev, csat):
                resolved = rt
        if sev in ("high", "critical") and self.rnd() < REPEAT_CONTACT_RATE:
            self._repeat_contact(p, t, rt, crm, email, phone, sev)
        return opened, resolved

    def _repeat_contact(self, p: _Person, t: int, rt: int | None, crm: str | None, email: str | None,
                        phone: str | None, sev: str) -> None:
        """The customer contacts support again about a still-open high-severity ticket (opened or escalated at
        ``t``, resolved at ``rt`` or never): the desk logs the contact as a new ticket of the same severity, 30 min
        to 2 days later and before the resolution, closed together with the first one."""
        span = 2 * 86_400_000 if rt is None else min(2 * 86_400_000, rt - t - 60_000)
        if span <= 1_800_000:
            return
        tk2 = self._next_ticket()
        t2 = t + self.ri(1_800_000, span)
        if self.support(p, t2, crm, email, phone, tk2, "ticket_opened", sev, None) and rt is not None:
            self.support(p, rt + self.ri(60_000, 600_000), crm, email, phone, tk2, "ticket_resolved", sev, None)

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
            if self.rnd() < REFAIL_RATE:
                # the card keeps failing: retried 26-60 h later (after the dunning email and SMS), failing again;
                # the order then goes through some hours later or is cancelled
                t += self.ri(26 * 3_600_000, 60 * 3_600_000)
                if not self.order(p, t, crm, email, oid, "payment_failed", cart, amount, p.currency):
                    return
                if self.rnd() < 0.4:
                    self.order(p, t + self.ri(3_600_000, 48 * 3_600_000), crm, email, oid, "order_cancelled", cart,
                               amount, p.currency)
                    return
                t += self.ri(3_600_000, 30 * 3_600_000)
            else:
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

