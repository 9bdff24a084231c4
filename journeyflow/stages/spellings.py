"""How sources spell the values of built-in records, read as the schemas spell them: enum symbols in another case
or another tool's word (:func:`fold_enums`, :data:`ENUM_SYNONYMS`), an opt-out naming every channel
(:func:`names_every_channel`), ids written as JSON integers (:func:`integer_ids`), an opt-out's phone written as a
JSON number (:func:`phone_digits`); and the enum and container fields of an Avro schema.  Pure Python, no Beam.
Used by :mod:`journeyflow.stages.parse` before the checks of :mod:`journeyflow.stages.fields` (which re-exports
these names)."""
from __future__ import annotations

import email.utils
import re
from typing import Any, Mapping

from journeyflow.model.reasons import FieldWarningReason
from journeyflow.stages.bounce_words import WORDS as BOUNCE_WORDS, fold_bounce
from journeyflow.stages.deletion_flags import DELETED_TYPE, deletion_flagged
from journeyflow.stages.event_words import CRM_TYPE_WORDS, ORDERS_TYPE_WORDS, WEB_TYPE_WORDS
from journeyflow.stages.json_text import MAX_EXACT_FLOAT, whole_digits  # (re-exported)
from journeyflow.stages.mailboxes import ALSO_KEYS, mailbox_key  # (ALSO_KEYS: re-exported)

__all__ = ["CHANNEL_SYNONYMS", "ENUM_SYNONYMS", "EVERY_CHANNEL", "INTEGER_ID_FIELDS", "channel_symbol",
           "container_fields", "enum_symbols", "fold_enums", "fold_symbol", "integer_ids", "names_every_channel",
           "PHONE_CHANNELS", "opt_out_scope", "clean_scalar",
           "phone_digits", "whole_digits", "MAX_EXACT_FLOAT", "ALSO_KEYS", "ALSO_FIELD", "also_named",
           "plus_bases", "several_addresses", "BAD_FIELD", "ID_MAILBOXES", "add_id_mailbox", "note_id_mailbox"]


def fold_symbol(v: str) -> str:
    """An enum value spelt as the schemas spell their symbols: trimmed, lower case, spaces and hyphens as
    underscores (``" REVOKED"`` → ``revoked``, ``"Email"`` → ``email``, ``"Add To Cart"`` → ``add_to_cart``).  Sources
    write enum values in other cases (an ESP's ``Unsubscribed``, a CRM's ``REVOKED``); such a record is understood,
    and an opt-out among them must never be lost to a dead letter; nor to a character nobody sees (a zero-width
    space, a byte order mark, a soft hyphen, a no-break space for a space: ``segment.calls.event_name_text``)."""
    if not v.isascii():
        from journeyflow.stages.segment.calls import event_name_text
        v = event_name_text(v)
    return v.strip().lower().replace(" ", "_").replace("-", "_")


def enum_symbols(schema: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Field name → its enum symbols, for every enum-typed field (nullable or not) of an Avro record ``schema``."""
    out: dict[str, frozenset[str]] = {}
    for f in schema["fields"]:
        for t in f["type"] if isinstance(f["type"], list) else [f["type"]]:
            if isinstance(t, dict) and t.get("type") == "enum":
                out[f["name"]] = frozenset(t["symbols"])
    return out


def container_fields(schema: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``(field name, "array" | "map")`` of every field of an Avro record ``schema`` that may hold a container."""
    out = []
    for f in schema["fields"]:
        for t in f["type"] if isinstance(f["type"], list) else [f["type"]]:
            if isinstance(t, dict) and t.get("type") in ("array", "map"):
                out.append((f["name"], t["type"]))
    return tuple(out)


#: Per stream and enum field, other sources' words for a symbol (after :func:`fold_symbol`; a JSON boolean as
#: ``"true"``/``"false"``).  Preference centres and ESPs say "opted_out", "unsubscribed", "withdrawn", ``false`` for
#: a revoke (read as a dead letter, the next promo would go out).  Bounce types of Amazon SES (``Permanent``/
#: ``Transient``/``Undetermined``), Mailgun/SendGrid (``permanent``/``temporary``, ``blocked``), Postmark/Braze
#: (``HardBounce``/``soft_bounce``...): only a hard one blocks the address; the others count towards the soft limit.
#: Channels as preference centres and ESPs name them (``E-Mail``, ``text``, ``push_notification``, ``voice``): an
#: opt-out naming its channel so was a ``schema_violation`` dead letter, and the channel was not blocked.  (An
#: opt-out naming a ``phone`` stops texts and calls: :data:`PHONE_CHANNELS`.)
CHANNEL_SYNONYMS: Mapping[str, str] = {
    **dict.fromkeys(("e_mail", "mail", "emails", "electronic_mail", "email_address", "e_mail_address",
                     "email_addresses", "marketing_email", "marketing_emails", "email_marketing",
                     "e_mail_marketing"), "email"),
    # MMS is texting to the same number (CTIA Messaging Principles and Best Practices: one program, one STOP)
    **dict.fromkeys(("text", "texts", "text_message", "text_messages", "txt", "sms_text", "sms_message",
                     "sms_messages", "sms_marketing", "marketing_sms", "mms", "sms_mms", "mms_message",
                     "mms_messages", "multimedia_message"), "sms"),
    **dict.fromkeys(("push_notification", "push_notifications", "mobile_push", "app_push", "pushes"), "push"),
    **dict.fromkeys(("calls", "phone_call", "phone_calls", "voice", "voice_call", "voice_calls", "telephone",
                     "telephone_call", "robocall", "robocalls", "autodialed_calls"), "call")}
ENUM_SYNONYMS: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "consent": {"channel": CHANNEL_SYNONYMS, "status": {
        **dict.fromkeys(("opted_out", "opt_out", "optout", "unsubscribed", "unsubscribe", "denied", "withdrawn",
                         "declined", "rejected", "refused", "false", "no", "off", "revoke", "withdraw", "optedout",
                         "stop", "stopped", "not_subscribed", "unsubscribe_all", "unsubscribed_all", "not_granted",
                         "cancelled", "canceled", "n", "0",
                         # a complaint written as a status (a CDP's sync: Klaviyo's SPAM_COMPLAINT suppression): an
                         # opt-out, fail safe (qa15b; before, an unknown_type dead letter)
                         "complained", "complaint", "spam", "spam_complaint", "spamcomplaint", "marked_as_spam",
                         "markedasspam", "reported_spam", "reported_as_spam", "spam_report", "spamreport",
                         "abuse",
                         # no consent (any more), in preference centres' and ESPs' sync words (qa17b; before, an
                         # unknown_type dead letter, the earlier grant stood): Klaviyo's NEVER_SUBSCRIBED and
                         # SUPPRESSED, a do-not-contact flag, an expired consent, Mailchimp's cleaned member
                         "never_subscribed", "neversubscribed", "suppressed", "do_not_contact", "donotcontact",
                         "dnc", "do_not_email", "do_not_mail", "do_not_call", "do_not_text", "not_opted_in",
                         "no_consent", "no_opt_in", "expired", "consent_expired", "cleaned",
                         "stopall", "stop_all", "quit", "end", "cancel"), "revoked"),
        **dict.fromkeys(("opted_in", "opt_in", "optin", "subscribed", "given", "accepted", "true", "yes", "on",
                         "grant", "optedin"), "granted")}},
    "engagement": {
        "channel": CHANNEL_SYNONYMS,
        "type": {"unsubscribe": "unsubscribed", "opt_out": "unsubscribed", "opted_out": "unsubscribed",
                 "complaint": "complained", "spam_report": "complained", "spamreport": "complained",
                 "spam": "complained", "bounce": "bounced", "delivery": "delivered", "open": "opened",
                 "click": "clicked",
                 # Twilio's STOP reply, Mailchimp/Mandrill's unsub, abuse, hard_bounce and cleaned, SendGrid's
                 # group_unsubscribe, Postmark's HardBounce / SpamComplaint, Braze's MarkAsSpam (a bounced record
                 # without bounce_type is hard)
                 **dict.fromkeys(("stop", "unsub", "unsubscribes", "optedout", "list_unsubscribe", "group_unsubscribe",
                                  "unsubscribe_request", "subscription_cancelled",
                                  # the keywords a person texts to revoke (47 CFR 64.1200(a)(10)(i)(B); CTIA STOPALL)
                                  "stopall", "stop_all", "quit", "end", "revoke", "cancel"), "unsubscribed"),
                 **dict.fromkeys(("abuse", "abuse_report", "complaints", "spam_complaint", "spamcomplaint",
                                  "marked_as_spam", "markasspam", "mark_as_spam"), "complained"),
                 **dict.fromkeys(("hard_bounce", "hardbounce", "bounce_hard", "cleaned"), "bounced")},
        # the ESPs', SMS gateways' and push services' words for a bounce's kind (SES, SMTP status codes, Twilio
        # codes, FCM / APNs errors): stages.bounce_words, which fold_enums applies first (an opt-out kind -- Twilio
        # 21610, a STOP -- makes the record that opt-out; a sender's fault leaves the address as it is)
        "bounce_type": {w: k for w, k in BOUNCE_WORDS.items() if k in ("hard", "soft")}},
    # helpdesks' priorities: Zendesk low/normal/high/urgent, Freshdesk low/medium/high/urgent (an urgent ticket was
    # dropped to no severity, counted as low: a repeat contact about it was never routed to the priority queue)
    # and their event names (Zendesk ticket.created / ticket.solved, Freshdesk ticket_created, HubSpot ticket.creation,
    # Salesforce cases ...): a helpdesk's "created" was an unknown_type dead letter, so a ticket open in the desk was
    # not open here and the promo went out during it (the product's first example); a "closed"/"solved" one kept a
    # ticket open until stale.  Only event names: a status (pending, on-hold) says nothing about opening or closing
    "support": {"severity": {"urgent": "critical", "normal": "medium"}, "type": {
        **dict.fromkeys(("ticket_created", "ticket.created", "ticket_creation", "ticket.creation", "created", "create",
                         "new", "new_ticket", "ticket_new", "open", "opened", "ticket_open", "ticket.opened",
                         "ticket_reopened", "ticket.reopened", "reopened", "reopen", "ticket_reopen", "case_created",
                         "case_opened", "case_reopened"), "ticket_opened"),
        **dict.fromkeys(("ticket_solved", "ticket.solved", "solved", "solve", "ticket_closed", "ticket.closed",
                         "closed", "close", "ticket_close", "resolved", "resolve", "ticket_resolve",
                         "ticket.resolved", "case_closed", "case_resolved"), "ticket_resolved"),
        **dict.fromkeys(("escalated", "escalate", "ticket_escalate", "ticket.escalated", "case_escalated"),
                        "ticket_escalated")}},
    # web, orders and crm: other tools' event names (GA4 recommended events, Segment Spec, Shopify webhook topics,
    # Stripe event types, HubSpot webhooks ...: stages.event_words, qa16a; refunds stay dead letters)
    "web": {"type": WEB_TYPE_WORDS}, "orders": {"type": ORDERS_TYPE_WORDS},
    # a CRM's or privacy tool's deletion of the contact (qa15a, stages.deletion): HubSpot's webhook events
    # contact.deletion / contact.privacyDeletion (its GDPR delete), an archived (HubSpot v3) or deleted record, an
    # erasure request (GDPR art. 17, "right to be forgotten")
    "crm": {"type": {**CRM_TYPE_WORDS, **dict.fromkeys((
        "deleted", "delete", "deletion", "contact_deletion", "contact.deletion", "contact.privacydeletion",
        "privacy_deletion", "contact_archived", "archived", "contact.archived", "account_deleted", "user_deleted",
        "erasure", "erased", "erasure_requested", "erasure_request", "gdpr_erasure", "gdpr_delete", "gdpr_deletion",
        "right_to_be_forgotten", "forgotten", "forget", "forget_me"), "contact_deleted")}},
}


def fold_enums(rec: dict[str, Any], enums: Mapping[str, frozenset[str]],
               synonyms: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """``rec``, or a copy with each enum field's value that is not a symbol but folds to one (:func:`fold_symbol`,
    then the stream's ``synonyms``: :data:`ENUM_SYNONYMS`) replaced by that symbol; anything else is left for the
    checks to report.  An ``engagement`` bounce's words first (:func:`journeyflow.stages.bounce_words.fold_bounce`:
    ``deferred``, ``bounce_type: "4.2.2 mailbox full"`` / ``UNAVAILABLE`` / ``21610``); a crm record flagged as
    deleted is a deletion (:func:`journeyflow.stages.deletion_flags.deletion_flagged`: HubSpot ``archived: true``)."""
    if "bounce_type" in enums and synonyms is not None:
        rec = fold_bounce(rec, synonyms.get("type", {}))
    elif DELETED_TYPE in enums.get("type", ()):
        rec = deletion_flagged(rec)
    out = rec
    for name, symbols in enums.items():
        v = rec.get(name)
        if v.__class__ is bool:
            v = "true" if v else "false"
        if v.__class__ is str and v not in symbols:
            folded = fold_symbol(v)
            if folded not in symbols and synonyms and name in synonyms:
                folded = synonyms[name].get(folded, folded)
            if folded in symbols:
                if out is rec:
                    out = dict(rec)
                out[name] = folded
    if synonyms is None or not ("bounce_type" in enums or "status" in enums):  # (engagement, consent only)
        return out
    from journeyflow.stages.opt_out_names import opt_out_named  # (email.unsubscribed, smsUnSubscribe: qa17b)
    return opt_out_named(out, enums)


#: The channel of an opt-out that names every channel: ``channel: "all"`` (or ``*``, ``any``, ``global`` ...),
#: absent, null or empty.  A preference centre's "unsubscribe from everything" blocks each channel (fail safe).
EVERY_CHANNEL = "all"
_EVERY_CHANNEL_SPELLINGS = frozenset({"all", "*", "any", "every", "everything", "all_channels", "global", ""})
#: The ``channel`` of a built-in opt-out naming a category ("Marketing", "Promotions", "All communications"): no
#: channel, and no consent per category is kept (``CustomerState.consent`` is per channel), so it stops every
#: channel (fail safe; CAN-SPAM, 15 U.S.C. 7704(a)(3)-(4), and the TCPA, 47 CFR 64.1200(a)(10), have an opt-out
#: honoured whatever words it comes in); a newsletter's stops email (as a Segment ``Newsletter Unsubscribed`` reads:
#: ``segment.optouts``).  A null written as text (``"null"``, ``"none"``: a CSV export) is null: every channel.
#: Before, each was a ``schema_violation`` dead letter and the next promo went out.  A grant naming one stays a dead
#: letter (a newsletter's consent is no consent to every email).  Not read in Segment event names (qa10g).
_CATEGORY_SCOPES: Mapping[str, str] = {
    **dict.fromkeys(("marketing", "all_marketing", "marketing_communications", "marketing_messages", "promotional",
                     "promotions", "promotion", "promo", "promos", "offers", "commercial", "advertising",
                     "communications", "all_communications", "unsubscribe_all", "null", "none"), "all"),
    **dict.fromkeys(("newsletter", "newsletters", "email_newsletter", "email_newsletters"), "email")}
_EVERY_CHANNEL_TYPES = {"consent": frozenset({"revoked"}), "engagement": frozenset({"unsubscribed", "complained"})}


def channel_symbol(stream: str, etype: str, value: Any, symbols: frozenset[str]) -> str | None:
    """The channel ``value`` names among the ``symbols`` of ``stream``'s schema, as the schema spells it
    (``"E-Mail"`` -> ``email``, ``"text"`` -> ``sms``: :data:`CHANNEL_SYNONYMS`), :data:`EVERY_CHANNEL` for an
    opt-out of ``stream`` / ``etype`` (a consent revoke, an unsubscribe or complaint) naming every channel, else None
    (not a channel of the stream).  For values read by a Segment mapping (``stages.segment.parse``), which the
    built-in streams' enum checks do not see."""
    kind = "revoked" if etype == "consent_revoked" else etype
    if kind in _EVERY_CHANNEL_TYPES.get(stream, ()) and (several := _several_channels(value)) is not None:
        return several if several in symbols or several in (EVERY_CHANNEL, PHONE_CHANNELS) else None
    if not isinstance(value, str):
        return None
    folded = fold_symbol(value)
    folded = CHANNEL_SYNONYMS.get(folded, folded)
    if folded in symbols:
        return folded
    if folded in _EVERY_CHANNEL_SPELLINGS and kind in _EVERY_CHANNEL_TYPES.get(stream, ()):
        return EVERY_CHANNEL
    if folded in _PHONE_SPELLINGS and kind in _EVERY_CHANNEL_TYPES.get(stream, ()):
        return PHONE_CHANNELS  # (texts and calls: which one is not known)
    if folded == "call" and kind in _EVERY_CHANNEL_TYPES.get(stream, ()):
        return "call"  # (an opt-out of calls on a stream whose schema names none: opt_out_scope)
    return None


#: The channel of an opt-out that names a phone rather than a channel (``channel: "phone"``, ``"phone_number"``,
#: ``"cell"`` ...: a preference centre's "Phone" box, a call-centre note): whether texts or calls were meant is not
#: known, so it stops both (fail safe; ``deliverability.channels_of``).  A grant naming a phone grants nothing (a
#: ``schema_violation``, as before): it cannot say which channel the person agreed to.
PHONE_CHANNELS = "phone"
_PHONE_SPELLINGS = frozenset({"phone", "phones", "phone_number", "phone_numbers", "telephone_number", "mobile_number",
                              "mobile_phone", "cell", "cell_phone", "cellphone", "tel", "mobile", "mobile_phone_number",
                              "cell_number", "cell_phone_number", "cellphone_number", "cellular", "phone_no",
                              "landline"})
#: The channel a record of each scope is checked as (its schema needs one), before the scope replaces it (a
#: single channel, as :func:`opt_out_scope` reads ``"SMS/Text"``: itself).
#: (``call`` as ``sms``: the engagement schema has no call channel, yet a call tool's opt-out stops calls.)
SCOPE_CHECKED_AS = {EVERY_CHANNEL: "email", PHONE_CHANNELS: "sms", "call": "sms",
                    **{c: c for c in ("email", "sms", "push")}}
_SEPARATORS = re.compile(r"\s*(?:[,;/|&+]|\band\b)\s*", re.IGNORECASE)


def _several_channels(value: Any) -> str | None:
    """The scope of an opt-out's ``channel`` naming several channels (a JSON list ``["email", "sms"]``, or text
    ``"email,sms"``, ``"SMS and Calls"``, ``"SMS/Text"``): the one channel when all name it, :data:`PHONE_CHANNELS`
    for texts and calls, else :data:`EVERY_CHANNEL` (fail safe, as two values of a repeated channel key:
    ``stages.duplicate_keys``); None when ``value`` is no such list or a part is no channel word (the schema check
    reports it).  Before, such an opt-out was a ``schema_violation`` dead letter: no channel blocked."""
    if isinstance(value, list):
        parts = value
    elif isinstance(value, str) and _SEPARATORS.search(value):
        parts = [p for p in _SEPARATORS.split(value) if p.strip()]
    else:
        return None
    named: set[str] = set()
    for p in parts:
        if not isinstance(p, str):
            return None
        f = fold_symbol(p)
        f = CHANNEL_SYNONYMS.get(f, f)
        if f in _PHONE_SPELLINGS:
            named.update(("sms", "call"))
        elif (f in _EVERY_CHANNEL_SPELLINGS and f) or _CATEGORY_SCOPES.get(f) == EVERY_CHANNEL:
            return EVERY_CHANNEL
        elif f in _CATEGORY_SCOPES:  # (a newsletter's: email)
            named.add(_CATEGORY_SCOPES[f])
        elif f in SCOPE_CHECKED_AS and f not in (EVERY_CHANNEL, PHONE_CHANNELS):
            named.add(f)
        else:
            return None
    if len(named) == 1:
        return named.pop()
    return PHONE_CHANNELS if named == {"sms", "call"} else (EVERY_CHANNEL if named else None)


def opt_out_scope(stream: str, rec: Mapping[str, Any]) -> str | None:
    """For a consent or engagement record (enums folded): :data:`EVERY_CHANNEL` for an opt-out naming every channel,
    :data:`PHONE_CHANNELS` for an opt-out naming a phone (texts and calls), ``"call"`` for an engagement opt-out
    naming calls (its schema has no call channel), ``""`` for a record naming one channel
    (or no opt-out record at all), None when it names every channel but is no opt-out (a grant, a delivery: one
    channel is required there)."""
    every = names_every_channel(stream, rec)
    if every is None or every:
        return None if every is None else EVERY_CHANNEL
    ch = rec.get("channel")
    kind = rec.get("status" if stream == "consent" else "type")
    if kind in _EVERY_CHANNEL_TYPES.get(stream, ()) and (several := _several_channels(ch)) is not None:
        return several
    if isinstance(ch, str) and kind in _EVERY_CHANNEL_TYPES.get(stream, ()):
        folded = fold_symbol(ch)
        if folded in _PHONE_SPELLINGS:
            return PHONE_CHANNELS
        if folded in _CATEGORY_SCOPES:
            return _CATEGORY_SCOPES[folded]
        if stream == "engagement" and CHANNEL_SYNONYMS.get(folded, folded) == "call":
            return "call"  # (a call tool's unsubscribe: the engagement schema names no call channel)
    return ""


def names_every_channel(stream: str, rec: Mapping[str, Any]) -> bool | None:
    """For a consent or engagement record (enums folded): True when it is an opt-out naming every channel (see
    :data:`EVERY_CHANNEL`), None when it names every channel but is no opt-out (a grant, a delivery: one channel
    is required there), False otherwise."""
    types = _EVERY_CHANNEL_TYPES.get(stream)
    ch = rec.get("channel")
    if types is None or (ch is not None and (not isinstance(ch, str) or fold_symbol(ch) not in
                                             _EVERY_CHANNEL_SPELLINGS)):
        return False  # (a channel of the wrong type: the schema check says so)
    return True if rec.get("status" if stream == "consent" else "type") in types else None


#: Id fields of the built-in streams a source may write as a JSON integer: Shopify order and product ids, Zendesk
#: ticket ids, HubSpot contact and owner ids, numeric event ids.  Such a record is understood: the integer is its
#: decimal digits (as the Segment stream reads ``userId: 12345`` as ``crm:12345``).  ``decision_id`` is not here:
#: journeyflow writes it, always a string.
INTEGER_ID_FIELDS = frozenset({"event_id", "anonymous_id", "user_id", "crm_id", "order_id", "ticket_id",
                               "product_id", "owner_id"})


def integer_ids(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec``, or a copy whose :data:`INTEGER_ID_FIELDS` (and ``product_ids`` items) given as JSON integers (not
    booleans) or whole floats (:func:`whole_digits`) are their decimal digits.  Before, ``crm_id: 12345`` or
    ``order_id: 4711`` made the record a ``schema_violation`` dead letter: an order that ends a cart journey, lost;
    ``crm_id: 12345.0`` (a pandas export) stayed one before the tenth session."""
    out = rec
    for f, v in rec.items():
        if f in INTEGER_ID_FIELDS and (v.__class__ is int or v.__class__ is float) and (d := whole_digits(v)) is not None:
            if out is rec:
                out = dict(rec)
            out[f] = d
    items = rec.get("product_ids")
    if items.__class__ is list and any(whole_digits(x) is not None for x in items):
        if out is rec:
            out = dict(rec)
        out["product_ids"] = [d if (d := whole_digits(x)) is not None else x for x in items]
    return out


def phone_digits(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec``, or a copy whose ``phone`` given as a JSON integer of 7 digits or more (``14155550134``: a
    spreadsheet or CSV export turned into JSON types the column as numbers) is its digits as text.  The parser
    applies it to opt-outs only (a consent revoke; an engagement unsubscribe, complaint or bounce): an SMS opt-out
    naming its number so was a dead letter, and compliance fails safe; elsewhere such a phone stays a
    ``wrong_type`` field (the Avro schemas type it string), as the Segment stream's ``traits.phone`` is read from
    either form."""
    v = rec.get("phone")
    d = whole_digits(v) if v.__class__ is int or v.__class__ is float else None  # (a whole float too: 14155550134.0)
    if d is not None and v >= 1_000_000:  # shorter numbers are no phone: left for the type check
        rec = dict(rec)
        rec["phone"] = d
    return rec


_PHONE_KEY = re.compile(r"phone|mobile|msisdn|whatsapp|fax|(?:^|_)(?:tel|cell|sms)(?:_|$|no|number)")


def clean_scalar(clean: Any, key: Any, value: Any) -> Any:
    """A property's or trait's ``value`` as kept: ``clean(value)`` for a string (an email or phone in it becomes a
    keyed token); for a JSON integer of 7 digits or more under a key naming a phone (``mobile``, ``phone_number``,
    ``phoneNumber``, ``tel``, ``fax`` ...), the token ``clean`` gives its digits, when it gives one (a CSV export or
    a form turned into JSON types the number column as numbers: it was kept as the raw number, personal data in state
    and tables); anything else as it is.  ``clean``: the parser's text cleaner."""
    if value.__class__ is str:
        return clean(value)
    if (value.__class__ is int and value >= 1_000_000 and key.__class__ is str
            and _PHONE_KEY.search(key.lower()) is not None):
        text = str(value)
        token = clean(text)
        return value if token == text else token
    return value


_OPT_OUT_TYPES = frozenset({"consent_revoked", "unsubscribed", "complained", "bounced"})
_OWN_KEYS = ("email_key", "phone_key")


#: Record field in which :func:`several_addresses` leaves the keys of an opt-out's further addresses (keys, no PII).
ALSO_FIELD = "_also_keys"
#: Record field in which :func:`several_addresses` leaves the field warnings of listed items that are no address.
BAD_FIELD = "_bad_addresses"


def several_addresses(rec: dict[str, Any], hasher: Any, region: str) -> dict[str, Any]:
    """``rec`` of an opt-out, or a copy naming more addresses than its fields hold: when its ``email`` / ``phone``
    names several -- a JSON list of them (``["ann@x.com", "bob@x.com"]``), emails separated by commas or semicolons
    (an RFC 5322 address list, display names allowed: ``email.utils.getaddresses``), numbers separated by commas,
    semicolons or slashes -- the first stays in the field and the keys of the others go under :data:`ALSO_FIELD`
    (``also_named`` carries them in the contact: every one is blocked); so does the base mailbox of a plus-address
    (``ann+news@x.com`` also names ``ann@x.com``: :func:`plus_bases`).  Before, a list was a ``wrong_type`` /
    ``invalid_identifier`` warning or a consent ``schema_violation`` and no address was blocked, and an unsubscribe
    from ``ann+news@`` left mail to ``ann@`` (the same mailbox) going.  Only when every item is an address
    (``hasher``: the parser's :class:`~journeyflow.stages.identity.keys.Hasher`, phones read in ``region``); else
    ``rec`` as it is (reported as before).  A list of one is its item.  Items that are no address are left out
    and reported (field warnings under :data:`BAD_FIELD`: ``(field, reason, action, detail, value)``, the parsers'
    problem tuples) while the others are still blocked: ``["ann@x.com", "n/a"]`` blocked nobody before."""
    out = rec
    for kind in ("email", "phone"):
        v = rec.get(kind)
        items = _address_items(kind, v)
        if not items and not (kind == "email" and v.__class__ is str):  # (one address: its mailbox, plus_bases)
            continue
        got, good, bad = [], [], []
        for x in items or [v]:
            try:
                got.append(hasher.email(x) if kind == "email" else hasher.phone(x, region))
                good.append(x)
            except ValueError as e:  # (InvalidIdentifier) an item that is no address: reported, the others blocked
                bad.append(str(e))
        if not got:
            continue  # no item is an address: the field as written (reported as before)
        keys = [k for k, _n in got[1:]] + (plus_bases(hasher, [n for _k, n in got]) if kind == "email" else [])
        if not items and not keys:
            continue
        out = dict(out) if out is rec else out
        out[kind] = good[0] if items else v
        out[ALSO_FIELD] = [*out.get(ALSO_FIELD, ()), *keys]
        if bad:  # one warning per field
            out[BAD_FIELD] = [*out.get(BAD_FIELD, ()), (kind, FieldWarningReason.INVALID_IDENTIFIER, "dropped",
                              f"{len(bad)} of the {len(items)} items it lists dropped ({bad[0]}); the others "
                              "are opted out", None)]
    return out


def plus_bases(hasher: Any, addresses: Any) -> list[str]:
    """Keys of the mailboxes of ``addresses`` (normalized, as ``Hasher.email`` gives them) that are other addresses
    (:func:`journeyflow.stages.mailboxes.mailbox_key`): ``ann+news@x.com`` is delivered to ``ann@x.com``'s mailbox by
    the providers that offer tags (RFC 5233 subaddressing), ``a.nn@googlemail.com`` to ``ann@gmail.com``'s (Gmail's
    documented spellings), so an opt-out naming it names that mailbox too.  Identity keeps them apart unless
    configured (``--merge_plus_addresses``); an opt-out fails safe.  Not an account's other domains
    (``mailboxes.ACCOUNT_DOMAINS``): a bounce names these keys too, and ``deliverability.address_effects`` adds the
    account's mailbox of an opt-out's address itself."""
    return [k for k in (mailbox_key(a, hasher, accounts=False) for a in addresses) if k]  # (not an account's domains)


def _address_items(kind: str, v: Any) -> list[str] | None:
    if v.__class__ is list:
        items = [str(x) if x.__class__ is int else x for x in v]
        return items if items and all(x.__class__ is str for x in items) else None
    if v.__class__ is not str or (("@" not in v or (v.count("@") < 2 and not _EMAIL_SEPARATOR.search(v)))
                                  if kind == "email" else not _PHONE_SEPARATOR.search(v)):
        return None
    if kind == "email":
        items = [a for _n, a in email.utils.getaddresses([v.replace(";", ",")])]
    else:
        items = [p.strip() for p in _PHONE_SEPARATOR.split(v)]
    return items if len(items) > 1 and all(items) else None


_PHONE_SEPARATOR = re.compile(r"[,;/]")
_EMAIL_SEPARATOR = re.compile(r"[,;]")


#: Contact entry in which a parser notes, while it reads one record, the mailbox keys of ids that are tagged or
#: dotted addresses (space-separated; :func:`add_id_mailbox`); :func:`also_named` consumes and removes it.
ID_MAILBOXES = "_id_mailboxes"


def add_id_mailbox(contact: dict[str, str], keys: list[str]) -> None:
    """Notes ``keys`` (mailbox keys, :func:`plus_bases`) in ``contact`` under :data:`ID_MAILBOXES`."""
    if keys:
        contact[ID_MAILBOXES] = " ".join(filter(None, (contact.get(ID_MAILBOXES), *keys)))


def note_id_mailbox(contact: dict[str, str] | None, hasher: Any, normalized: str) -> None:
    """Notes in ``contact`` (None: nowhere) the mailbox of the address ``normalized`` that an id names, when it is
    another address (``ann+shop@x.com`` → ``ann@x.com``: :func:`plus_bases`, :func:`add_id_mailbox`)."""
    if contact is not None:
        add_id_mailbox(contact, plus_bases(hasher, [normalized]))


def also_named(ids: Any, contact: dict[str, str], etype: str, extra: Any = ()) -> dict[str, str]:
    """``contact`` of a record of type ``etype`` with identifier keys ``ids``; for an opt-out (a consent revoke, an
    unsubscribe, complaint or bounce) that names an address other than its contact's -- an id that is an address
    (``crm_id``/``userId`` ``bob@x.com`` beside ``email`` ``ann@x.com``), or ``extra`` keys (a Segment opt-out's
    ``properties.email`` beside its trait) -- a copy holding their keys under :data:`ALSO_KEYS`.  Fail safe: every
    address an opt-out names is blocked (before, only the contact's; the others stayed open).  The contact, not
    ``ids``, carries them: a refused identity link removes a key from ``ids`` while the record still names it.
    ``extra`` may also be the parsed record, whose :data:`ALSO_FIELD` holds them (:func:`several_addresses`).  The
    mailboxes of ids that are tagged or dotted addresses (``userId: ann+shop@x.com`` names ``ann@x.com``'s mailbox),
    which the parsers note in the contact under :data:`ID_MAILBOXES` (:func:`add_id_mailbox`), are blocked too; that
    note is removed from every contact returned, opt-out or not."""
    mailboxes = contact.get(ID_MAILBOXES)
    if mailboxes is not None:  # (a parser's note for this call only: never part of an event's contact)
        contact = {k: v for k, v in contact.items() if k != ID_MAILBOXES}
    if etype not in _OPT_OUT_TYPES:
        return contact
    if extra.__class__ is dict:
        extra = extra.get(ALSO_FIELD, ())
    if mailboxes:
        extra = (*extra, *mailboxes.split())
    own = [contact.get(f) for f in _OWN_KEYS]
    also = sorted({k for k in (*ids, *extra) if k not in own and k[:6] in ("email:", "phone:")})
    return {**contact, ALSO_KEYS: " ".join(also)} if also else contact
