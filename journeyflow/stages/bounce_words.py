"""What a bounce's ``bounce_type`` says in the words of the tool that reported it (plain Python, no Beam).

An ESP, an SMS gateway or a push service reports a failed delivery in its own words: a bounce type (Amazon SES
``Permanent`` / ``Transient``, its sub-types ``MailboxFull`` / ``NoEmail``), an SMTP status (``550 5.1.1``,
``4.2.2 mailbox full``), a Twilio error code (``30003``), a push service's error name (FCM ``UNAVAILABLE``, APNs
``ExpiredProviderToken``).  :func:`bounce_kind` reads one as

* ``hard``: the address or device is gone (an unknown mailbox, a dead token): blocked for good
  (``deliverability.bounce_effect``; a push device is ``unregistered``: ``stages.push_devices``);
* ``soft``: a transient failure (a full mailbox, a rate limit, a service briefly down): counted towards the
  policy's ``deliverability.soft_bounces`` limit, the address or device stays;
* :data:`SENDER`: the sender's own fault -- its credential (APNs ``ExpiredProviderToken``, FCM
  ``THIRD_PARTY_AUTH_ERROR``), its app id / topic (``DeviceTokenNotForTopic``, ``SENDER_ID_MISMATCH``), its payload
  (``PayloadTooLarge``), its sending number (Twilio 30034): says nothing about the address, which is left as it
  was (before, such a word was unknown and read as hard: an expired APNs key unregistered every device it touched);
* ``unsubscribed`` / ``complained``: the provider refused because the person opted out or complained (Twilio 21610,
  the recipient replied STOP; Mailgun's ``suppress-unsubscribe``; Postmark's ``SpamComplaint``): an opt-out, read
  as the record of that type (compliance fails safe: the texts to that number stop);
* None: a word nobody here knows.  The current rule applies: a bounce is hard (a bounce of unknown meaning is not
  taken as harmless: no more messages to an address that may not exist; the soft limit would keep retrying it).
  Among the known words left so: FCM ``INVALID_ARGUMENT`` (an invalid registration token or an invalid message:
  Firebase's token guide deletes the token on it), SES ``General`` (used by both Permanent and Transient) and a
  bare SMTP reply code without text (``550``: also an HTTP status).

Sources: FCM HTTP v1 ``ErrorCode`` (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) and the legacy FCM
error names (NotRegistered, MismatchSenderId ...); Apple's "Handling notification responses from APNs" (reason
strings per HTTP status: 400/403 the request or the provider's credential, 410 ``Unregistered`` / ``ExpiredToken``,
429/500/503 transient); RFC 3463 enhanced status codes (class 4 persistent transient, 5 permanent; subject 1
addressing, 2 mailbox, 3 mail system, 6 content, 7 security/policy) and RFC 5321 reply codes (4yz transient);
Amazon SES notification contents (bounceType, bounceSubType); Postmark's bounce types; Mailgun's failure reasons;
Twilio's error dictionary (twilio.com/docs/api/errors/<code>).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = ["HARD", "SOFT", "SENDER", "OPT_OUT_KINDS", "BOUNCE_KIND", "WORDS", "bounce_kind", "fold_bounce", "BOUNCE_TYPES"]

HARD, SOFT, SENDER = "hard", "soft", "sender"
#: Kinds that are an opt-out by the person (the record is read as one of this type).
OPT_OUT_KINDS = frozenset({"unsubscribed", "complained"})
#: Record field in which :func:`fold_bounce` leaves the kind of a bounce the schema's ``hard`` / ``soft`` cannot say
#: (:data:`SENDER`); the parser carries it as the event's ``bounce_type``.
BOUNCE_KIND = "_bounce_kind"


def _squash(word: str) -> str:
    return re.sub(r"[\s_\-.:]+", "", word.strip().lower())


def _words(kind: str, *words: str) -> dict[str, str]:
    return {_squash(w): kind for w in words}


#: Squashed word (lower case, no spaces, ``_``, ``-``, ``.``, ``:``) -> kind.
WORDS: Mapping[str, str] = {
    # ESPs' bounce types: SES Permanent / Transient / Undetermined, Mailgun and SendGrid severities, Postmark's
    # HardBounce / SoftBounce / Transient, SendGrid's blocked and deferred (the message refused, the address fine)
    **_words(HARD, "hard", "permanent", "hard_bounce", "bounce_hard", "hard_bounced"),
    **_words(SOFT, "soft", "transient", "temporary", "undetermined", "soft_bounce", "bounce_soft", "soft_bounced", "blocked",
             "block", "deferred", "deferral", "temporary_failure"),
    # SES bounceSubType: Permanent NoEmail / Suppressed / OnAccountSuppressionList; Transient MailboxFull /
    # MessageTooLarge / ContentRejected / AttachmentRejected (General is both: left to the current rule)
    **_words(HARD, "NoEmail", "Suppressed", "OnAccountSuppressionList"),
    **_words(SOFT, "MailboxFull", "mailbox_full", "MessageTooLarge", "ContentRejected", "AttachmentRejected"),
    # SendGrid's bounce_classification: Invalid Address and Mailbox Unavailable the address's; Technical, Content,
    # Reputation, Frequency or Volume Too High the message's or the sender's (SendGrid retries those: counted);
    # Unclassified: the current rule
    **_words(HARD, "Invalid Address", "Mailbox Unavailable"),
    **_words(SOFT, "Technical", "Content", "Reputation", "Frequency or Volume Too High"),
    # Postmark bounce types
    **_words(HARD, "BadEmailAddress", "ManuallyDeactivated", "AddressChange"),
    **_words(SOFT, "SpamNotification", "DnsError", "DMARCPolicy", "ChallengeVerification", "VirusNotification"),
    **_words(SENDER, SENDER, "TemplateRenderingFailed", "SMTPApiError", "AutoResponder"),
    **_words("unsubscribed", "Unsubscribe"),
    **_words("complained", "SpamComplaint"),
    # SendGrid's dropped reasons: the address is on a suppression list for a bounce, an unsubscribe, a complaint
    **_words(HARD, "Bounced Address", "Invalid Address"),
    **_words("unsubscribed", "Unsubscribed Address"),
    **_words("complained", "Spam Reporting Address"),
    # Mailgun failure reasons: a suppressed address (bounce, unsubscribe, complaint) is that status; espblock soft
    **_words(HARD, "suppress_bounce", "suppress-bounce"),
    **_words("unsubscribed", "suppress_unsubscribe", "suppress-unsubscribe"),
    **_words("complained", "suppress_complaint", "suppress-complaint"),
    **_words(SOFT, "espblock"),
    # FCM HTTP v1 ErrorCode: UNREGISTERED the token is dead; QUOTA_EXCEEDED, UNAVAILABLE, INTERNAL retry with
    # back-off; UNSPECIFIED_ERROR no information (as SES Undetermined: soft); SENDER_ID_MISMATCH and
    # THIRD_PARTY_AUTH_ERROR (the APNs certificate or web push key) are the sender's project and credential
    **_words(HARD, "UNREGISTERED", "NotRegistered", "not_registered", "InvalidRegistration"),
    **_words(SOFT, "QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL", "UNSPECIFIED_ERROR", "DeviceMessageRateExceeded",
             "TopicsMessageRateExceeded", "MessageRateExceeded"),
    **_words(SENDER, "SENDER_ID_MISMATCH", "MismatchSenderId", "THIRD_PARTY_AUTH_ERROR", "InvalidApnsCredential",
             "MessageTooBig", "InvalidDataKey", "InvalidTtl", "InvalidPackageName"),
    # APNs reasons: 410 Unregistered / ExpiredToken and 400 BadDeviceToken the token; 429 TooManyRequests (to this
    # token), 500 InternalServerError, 503 ServiceUnavailable / Shutdown transient; the rest of 400/403/404/405/413
    # and 429 TooManyProviderTokenUpdates are the request's or the provider's credential
    **_words(HARD, "Unregistered", "ExpiredToken", "BadDeviceToken"),
    **_words(SOFT, "TooManyRequests", "InternalServerError", "ServiceUnavailable", "Shutdown"),
    **_words(SENDER, "ExpiredProviderToken", "InvalidProviderToken", "MissingProviderToken", "BadCertificate",
             "BadCertificateEnvironment", "Forbidden", "UnrelatedKeyIdInToken", "BadEnvironmentKeyIdInToken",
             "TooManyProviderTokenUpdates", "DeviceTokenNotForTopic", "TopicDisallowed", "BadTopic", "MissingTopic",
             "PayloadTooLarge", "PayloadEmpty", "BadCollapseId", "BadExpirationDate", "BadMessageId", "BadPriority",
             "DuplicateHeaders", "IdleTimeout", "InvalidPushType", "MissingDeviceToken", "BadPath",
             "MethodNotAllowed"),
}
#: Twilio error codes (twilio.com/docs/api/errors): 21610 the recipient replied STOP to the sender (an SMS
#: opt-out); 30003 unreachable handset (off, no signal) and 30007 carrier filtering (the message) and 30008 unknown
#: transient; 30004 blocked by the recipient or carrier, 30005 unknown handset, 30006 landline or unreachable
#: carrier, 21211 invalid "To", 21614 / 21635 not a mobile number are the number's; 30032 / 30034 (unverified or
#: unregistered sending number), 21408 / 21606 / 30002 / 30010 the sender's account or number.
_TWILIO: Mapping[str, str] = {
    "21610": "unsubscribed",
    **dict.fromkeys(("30001", "30003", "30007", "30008", "30022"), SOFT),
    **dict.fromkeys(("30004", "30005", "30006", "21211", "21614", "21635"), HARD),
    **dict.fromkeys(("30002", "30010", "30032", "30034", "21408", "21606"), SENDER)}
_TWILIO_CODE = re.compile(r"\s*(?:twilio[\s_-]*)?(?:error[\s_-]*)?(?:code[\s_:-]*)?(\d{5})(?:[^\w.].*)?",
                          re.IGNORECASE | re.DOTALL)  # ("30003", "Error 30003: Unreachable destination handset")
# RFC 3463 enhanced status code anywhere in the text ("550 5.1.1 <x>: user unknown", "4.2.2 mailbox full")
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# RFC 5321 reply code followed by its text ("421 Service not available"); a bare number is also an HTTP status
_REPLY = re.compile(r"\s*([245])\d\d[\s-]+[^\d\s]")


def _enhanced(cls: str, subject: int, detail: int) -> str | None:
    if cls == "4":
        return SOFT  # persistent transient failure
    if cls != "5":
        return None  # (2.x.x: a success; no bounce)
    if subject == 1:
        return SENDER if detail in (7, 8) else HARD  # bad destination mailbox / system; 7, 8: the sender's address
    if subject == 2:
        return SOFT if detail in (2, 3) else HARD  # mailbox full, message too big for it; 1 disabled
    if subject == 3 and detail == 4:
        return SOFT  # message too big for the system: the message's
    if subject in (6, 7):
        return SOFT  # content and security/policy (5.7.1 refused, blocked): the message or the sender, not the
        # address -- counted, as SendGrid's "blocked"
    return HARD


def bounce_kind(value: Any) -> str | None:
    """The kind a bounce's ``bounce_type`` (text, or a JSON integer: a Twilio code) says: ``hard``, ``soft``,
    :data:`SENDER`, ``unsubscribed``, ``complained``, or None when it is no word this module knows (see the module
    docstring; the caller's rule applies: hard)."""
    if value.__class__ is int:
        value = str(value)
    if value.__class__ is not str:
        return None
    kind = WORDS.get(_squash(value))
    if kind is not None or (not value or value.isspace()):
        return kind
    if (m := _ENHANCED.search(value)) is not None:
        return _enhanced(m.group(1), int(m.group(2)), int(m.group(3)))
    if (m := _TWILIO_CODE.fullmatch(value)) is not None:
        return _TWILIO.get(m.group(1))
    if (m := _REPLY.match(value)) is not None:
        return SOFT if m.group(1) == "4" else None  # 5yz without an enhanced code: the current rule
    return None


#: Engagement ``type`` words that are a bounce of a kind (SendGrid's ``deferred`` / ``blocked`` / ``dropped`` events,
#: Postmark's and Mailchimp's ``SoftBounce`` / ``soft_bounce``, a delivery status ``failed`` / ``undelivered``): read
#: as ``bounced`` with that ``bounce_type`` unless the record gives one.  (``hard_bounce`` and its spellings: ``spellings.ENUM_SYNONYMS``, a bounce is hard.)
BOUNCE_TYPES: Mapping[str, str] = {
    **_words(SOFT, "soft_bounce", "softbounce", "bounce_soft", "soft_bounced", "deferred", "deferral", "blocked",
             "transient_bounce", "temporary_bounce",
             # a delivery status (Twilio's MessageStatus failed / undelivered, Mailgun's failed): its code or
             # severity in bounce_type says which (21610: the recipient's STOP); without one, a failure of unknown
             # cause, counted
             "failed", "undelivered", "delivery_failed", "undeliverable"),
    # SendGrid's dropped: the ESP refuses the address (suppressed or invalid); its reason says which
    **_words(HARD, "dropped")}


def fold_bounce(rec: dict[str, Any], type_words: Mapping[str, str]) -> dict[str, Any]:
    """``rec`` (an ``engagement`` record), or a copy whose ``type`` and ``bounce_type`` say what its bounce words
    mean (:func:`bounce_kind`): a soft or hard one as the schema's ``hard`` / ``soft``; an opt-out kind as a record
    of that type (Twilio 21610 is an ``unsubscribed``); a sender's fault under :data:`BOUNCE_KIND` (no
    ``bounce_type``: the schema has no word for it).  A word nobody knows is left for the field check (dropped
    with a field warning: the bounce is hard, as before).  ``type_words``: the stream's type synonyms."""
    t, bt = rec.get("type"), rec.get("bounce_type")
    folded = _squash(t) if t.__class__ is str else None
    implied = BOUNCE_TYPES.get(folded) if folded is not None else None
    if implied is None and not (t.__class__ is str and (t == "bounced" or type_words.get(
            t.strip().lower().replace(" ", "_").replace("-", "_")) == "bounced" or folded == "bounced")):
        return rec
    if bt is None:
        return rec if implied is None else {**rec, "type": "bounced", "bounce_type": implied}
    if bt in ("hard", "soft"):
        return rec if implied is None else {**rec, "type": "bounced"}
    out = {**rec, "type": "bounced"}
    kind = bounce_kind(bt)
    if kind in (HARD, SOFT):
        out["bounce_type"] = kind
    elif kind == SENDER:
        del out["bounce_type"]
        out[BOUNCE_KIND] = SENDER
    elif kind in OPT_OUT_KINDS:
        out["type"] = kind
        del out["bounce_type"]
    elif out["bounce_type"].__class__ is int:
        out["bounce_type"] = str(out["bounce_type"])  # (an unknown code: the check reports it as a value)
    return out
