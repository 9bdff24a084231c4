"""How generated events are written: compact JSON fragments, the written form of event times (epoch ms or ISO-8601
at some offset), and one emitter per input stream that writes a record with the fields of ``schemas/<stream>.avsc``
in schema order into the sink and notes which raw identifiers each person used."""

from __future__ import annotations

import bisect
import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from journeyflow.tools.generator.population import _Person, _Population
from journeyflow.tools.generator.reference import _HOUR_CUM, _OTHER_OFFSETS

_W, _O, _S, _C, _E, _N = range(6)  # stream indexes, same order as STREAMS

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


class _Events(_Population):
    """Time helpers and the six stream emitters on top of the planned population."""

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

    def _use_contact(self, p: _Person, email: str | None, phone: str | None) -> None:
        if email is not None:
            p.used_emails[email] = None
        if phone is not None:
            self._use_phone(p, phone)

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
        self._use_contact(p, email, phone)
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
        self._use_contact(p, email, phone)
        return True

    def engagement(self, p: _Person, ms: int, email: str | None, phone: str | None, crm: str | None,
                   channel: str, typ: str) -> bool:
        key, ts = self._ts(ms, None if self.rnd() < 0.5 else p.tz)
        if not self.S <= key < self.E:
            return False
        # the generator's bounces stop the newsletter to that person for good: hard bounces
        self.sink.add(_E, key, '{"ts":%s,"email":%s,"phone":%s,"crm_id":%s,"channel":"%s","type":"%s",'
                               '"bounce_type":%s,"decision_id":null}'
                      % (ts, _qn(email), _qn(phone), _qn(crm), channel, typ,
                         '"hard"' if typ == "bounced" else "null"))
        self._use_contact(p, email, phone)
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
        self._use_contact(p, email, phone)
        return True

