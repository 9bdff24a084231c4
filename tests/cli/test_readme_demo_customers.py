"""The README's lookups of a `make demo` customer (`query ... why_no_cart_reminder --customer ...`) name customers of
the demo data.  One of them named an address the demo never generated (``Henry.White12@inbox.example.net``): a
newcomer trying it got "no customer with identifier email (hashed)".  Checked against the demo's own generator run
(``make demo``: 2,000 customers, 30 days, seed 7), with the lookup's normalization (case of the email, phone to
E.164)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import phonenumbers

from journeyflow.tools.generator import generate

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_demo_customer_the_readme_looks_up_is_in_the_demo_data(tmp_path):
    values = re.findall(r"why_no_cart_reminder --customer (\"[^\"]+\"|\S+)", README.read_text(encoding="utf-8"))
    assert len(values) >= 3
    generate(2000, 30, 7, tmp_path)
    crm_ids, emails, phones = set(), set(), set()
    for line in (tmp_path / "crm.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:  # (the demo's deliberately malformed records)
            continue
        if not isinstance(rec, dict):
            continue
        if isinstance(rec.get("crm_id"), str):
            crm_ids.add(rec["crm_id"])
        if isinstance(rec.get("email"), str):
            emails.add(rec["email"].lower())
        if isinstance(rec.get("phone"), str):
            try:
                phones.add(phonenumbers.format_number(phonenumbers.parse(rec["phone"], None),
                                                      phonenumbers.PhoneNumberFormat.E164))
            except phonenumbers.NumberParseException:
                pass
    for v in (x.strip('"') for x in values):
        if v.startswith("crm:"):
            assert v[4:] in crm_ids, v
        elif "@" in v:
            assert v.lower() in emails, v
        else:
            e164 = phonenumbers.format_number(phonenumbers.parse(v, None), phonenumbers.PhoneNumberFormat.E164)
            assert e164 in phones, v
