"""Phone number types (``phonenumbers``' per-region number patterns): which normalized numbers can take a text.

Kept apart from :mod:`journeyflow.stages.identity.keys` (which normalizes and hashes identifiers): this is asked
when a send picks its address (``deliverability.delivery_address``), of the raw E.164 number kept for delivery."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

__all__ = ["sms_capable"]


@lru_cache(maxsize=1 << 16)  # (one entry per phone of a worker's customers; a miss parses, ~0.1 ms)
def sms_capable(e164: str) -> bool:
    """False when ``phonenumbers`` types the normalized number (E.164 text, as :meth:`Hasher.phone` gives it) as
    ``FIXED_LINE``: a landline takes calls, not texts, so it is no SMS delivery address
    (``deliverability.delivery_address``).  True for every other type (``MOBILE``; ``FIXED_LINE_OR_MOBILE``, which
    is every US and Canadian number: the numbering plan does not tell; toll free, VoIP ...: the customer's word
    stands) and for text that does not parse.  Source: libphonenumber's per-region number patterns."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return True
    return phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.FIXED_LINE
