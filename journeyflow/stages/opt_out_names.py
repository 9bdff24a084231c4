"""Opt-outs named in other tools' words: an event name or status that *says* unsubscribed or spam complaint among
other words (compliance fails safe).

Sending tools and CDPs name their opt-out events their own way: Iterable's ``emailUnSubscribe`` /
``smsUnSubscribe`` / ``emailComplaint``, Resend's ``email.unsubscribed`` / ``email.complained``, Klaviyo's
``Unsubscribed from Email Marketing`` / ``Unsubscribed from SMS Marketing``, Intercom's
``unsubscribed_from_emails``, a warehouse's ``email_unsubscribed``, an SMS tool's ``SMS Opt Out`` / ``sms_opt_out``,
``Marked Email as Spam``, ``Email Spam Report``.  Before, such an ``engagement`` record (or a consent record whose
``status`` said so) was an ``unknown_type`` dead letter, and a Segment ``track`` of such a name not holding a
mapped opt-out's words (``Opted Out``, ``SMS Opt Out``, ``emailUnSubscribe``) stayed a plain track event: either
way the person who opted out kept getting the channel.  :func:`read_opt_out_name` reads a name by its words
(``segment.optouts.words``: case, separators and camelCase aside):

* an unsubscribe: a word ``unsubscribed`` / ``unsubscribe`` / ``unsub`` / ``optout`` ... or the phrases
  ``un subscribe(d)``, ``opt(ed) out``;
* a channel's permission turned off: ``Push Notifications Disabled``, ``Push Permission Denied``, ``SMS Consent
  Revoked`` (a channel word, and ``disabled`` / ``denied`` / ``revoked`` / ``withdrawn`` beside ``push`` or a
  permission word: ``Card Declined Email Sent`` or ``Location Permission Denied`` are none);
* of a consent ``status``, also a revoke in words (``revoked_by_user``, ``Consent Withdrawn``, ``denied``);
* a complaint (preferred when both are said): ``complaint`` / ``complained`` / ``spamreport`` ..., or ``spam``
  with ``report`` / ``reported`` / ``marked`` / ``mark`` / ``flagged`` / ``complaint``, or ``abuse`` with
  ``report``;
* not an opt-out when a word says the name is about something else (:data:`NOT_OPT_OUT_WORDS`): a link, click or
  page (``Unsubscribe Link Clicked``, Iterable's ``hostedUnsubscribeClick``: a visit that may not confirm, as the
  Segment reading decided), a failure or an undo, ``not`` (``Marked Not Spam``), a re-subscription, a measure or a
  test (``Marked as Spam Rate``, ``Unsubscribe Preview``), an opt-out of tracking, cookies, ads or a data sale
  (``Analytics Opt Out``, ``Opted Out of Sale``: about data, not messages);

and the channels its words name (``sms``, ``text``, ``push``, ``call``, ``phone`` ...; ``spellings.channel_symbol``),
which are blocked beside the channel the record names (``spellings``: email and sms together are every channel).
Words alone never make a grant, nor any other event: only an opt-out is read this way (a missed opt-out is a
message to someone who refused it; an opt-out read from a name that was none costs a promotion)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, NamedTuple

from journeyflow.stages.spellings import channel_symbol

__all__ = ["NOT_OPT_OUT_WORDS", "OPT_OUT_KEYWORDS", "OptOutName", "inbound_opt_out", "opt_out_named",
           "opted_out_trait", "read_opt_out_name", "scoped_channel", "state_change_opt_out"]

_UNSUBSCRIBE_WORDS = frozenset({"unsubscribed", "unsubscribe", "unsubscribes", "unsubscribing", "unsub", "unsubs",
                                "unsubscription", "optout", "optouts", "optedout", "unsubscriber"})
_UNSUBSCRIBE_PAIRS = frozenset({("un", "subscribe"), ("un", "subscribed"), ("un", "subscribes"), ("opt", "out"),
                                ("opted", "out"), ("opts", "out"), ("opt", "outs")})
_COMPLAINT_WORDS = frozenset({"complaint", "complaints", "complained", "spamreport", "spamcomplaint", "markedasspam",
                              "markasspam", "abusereport"})
#: A consent ``status``'s words for a revoke (``revoked_by_user``, ``Consent Withdrawn``, ``denied_by_user``): the
#: consent stream only (an engagement ``Invite Declined`` is no opt-out).
_REVOKE_WORDS = frozenset({"revoked", "revoke", "revokes", "withdrawn", "withdraw", "withdrew", "denied", "deny",
                           "declined", "decline", "refused", "refuse", "rejected", "reject", "suppressed"})
#: A channel's permission turned off (``Push Notifications Disabled``, ``Push Permission Denied``, ``SMS Consent
#: Revoked``): an opt-out of the channel the name names (push, or any channel beside a permission word).
_TURNED_OFF = frozenset({"disabled", "denied", "revoked", "withdrawn"})
_PERMISSION_WORDS = frozenset({"consent", "permission", "permissions", "notification", "notifications",
                               "subscription", "optin"})
_SPAM_WITH = frozenset({"report", "reports", "reported", "marked", "mark", "flagged", "complaint"})
#: Words that make a name about something other than an opt-out (module docstring).
NOT_OPT_OUT_WORDS = frozenset({"link", "links", "click", "clicks", "clicked", "page", "pages", "view", "viewed",
                               "failed", "failure", "undo", "undone", "reverted", "not", "resubscribed",
                               "resubscribe", "subscribed_again",
                               # a measure or a test of opt-outs, not one (``Marked as Spam Rate``, ``Spam Check``)
                               "rate", "rates", "ratio", "score", "check", "checked", "count", "counts", "percent",
                               "percentage", "test", "preview", "template",
                               # an opt-out of tracking, cookies, ads or a data sale (a consent banner, CCPA's "Do
                               # Not Sell"): about data, not messages (``Analytics Opt Out``, ``Opted Out of Sale``)
                               "tracking", "track", "analytics", "cookie", "cookies", "ads", "ad", "advertising",
                               "personalization", "personalisation", "sale", "sell", "selling", "sharing",
                               "location", "data"})


class OptOutName(NamedTuple):
    """What a name says: the opt-out's kind and the channels its words name."""

    kind: str  # "unsubscribed" or "complained"
    channels: tuple[str, ...]  # the channel scopes the name's words name (spellings.channel_symbol), in order


@lru_cache(maxsize=4096)
def read_opt_out_name(name: Any, stream: str = "engagement") -> OptOutName | None:
    """The opt-out ``name`` says (module docstring), else None.  ``stream``: the stream whose channels the words are
    read as (``engagement``: email, sms, push, and ``call`` as an opt-out scope; ``consent``: call too)."""
    if not isinstance(name, str) or len(name) > 200:
        return None
    from journeyflow.stages.segment.optouts import words

    have = words(name)
    if not have or NOT_OPT_OUT_WORDS.intersection(have):
        return None
    pairs = set(zip(have, have[1:]))
    kind = None
    if _COMPLAINT_WORDS.intersection(have) or ("spam" in have and _SPAM_WITH.intersection(have)) or (
            ("abuse", "report") in pairs):
        kind = "complained"
    elif _UNSUBSCRIBE_WORDS.intersection(have) or _UNSUBSCRIBE_PAIRS.intersection(pairs) or (
            stream == "consent" and _REVOKE_WORDS.intersection(have)):
        kind = "unsubscribed"
    symbols = frozenset({"email", "sms", "push"} | ({"call"} if stream == "consent" else set()))
    etype = "consent_revoked" if stream == "consent" else (kind or "unsubscribed")
    found: list[str] = []
    for w in [*have, *("_".join(p) for p in pairs)]:
        if w in ("any", "every"):  # ("Unsubscribed from any list": no channel word)
            continue
        ch = channel_symbol(stream, etype, w, symbols)
        if ch is not None and ch not in found:
            found.append(ch)
    if kind is None and _TURNED_OFF.intersection(have):
        if not found and {"notification", "notifications"}.intersection(have):
            found = ["push"]  # (an app's "Notifications Disabled": its pushes)
        if found and ("push" in found or _PERMISSION_WORDS.intersection(have)):
            kind = "unsubscribed"  # (Push Notifications Disabled, SMS Consent Revoked: that channel turned off)
    return None if kind is None else OptOutName(kind, tuple(found))


def scoped_channel(channel: Any, named: tuple[str, ...]) -> Any:
    """The ``channel`` of an opt-out record whose name names the channels ``named`` too: both, as one text the
    opt-out scope reads (``"email,sms"``: every channel; ``"sms,call"``: a phone's two); ``channel`` as it was when
    the name names none, or when ``channel`` is absent (every channel already) or not a text."""
    if not named or channel is None or channel == "" or not isinstance(channel, (str, list)):
        return channel
    given = [c for c in channel if isinstance(c, str)] if isinstance(channel, list) else [channel]
    if isinstance(channel, list) and len(given) != len(channel):
        return channel
    return ",".join(dict.fromkeys([*given, *named]))


#: The words a person texts to revoke consent: the FCC's list (47 CFR 64.1200(a)(10)(i)(B): stop, quit, end,
#: revoke, opt out, cancel, unsubscribe) and the CTIA's STOPALL, case and spacing aside.
OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "stop all", "quit", "end", "revoke", "opt out", "optout", "opt-out",
                              "cancel", "unsubscribe"})
_INBOUND_WORDS = frozenset({"inbound", "reply", "replied", "received", "receive", "mo", "incoming"})
_BODY_KEYS = ("body", "Body", "text", "message", "inbound_body", "keyword", "Keyword")
_OPT_OUT_TYPE_KEYS = ("OptOutType", "opt_out_type", "optOutType")


def _type_says(rec: dict, wanted: frozenset[str]) -> bool:
    """Whether the ``type`` of the record ``rec`` is a text (of at most 200 characters) holding one of the ``wanted``
    words (``segment.optouts.words``: case, separators and camelCase aside)."""
    t = rec.get("type")
    if not isinstance(t, str) or len(t) > 200:
        return False
    from journeyflow.stages.segment.optouts import words

    return not wanted.isdisjoint(words(t))


def inbound_opt_out(rec: Any) -> bool:
    """True for an engagement record that is no known type but is an opt-out text: Twilio's ``OptOutType: "STOP"``
    (its Advanced Opt-Out webhook), or an inbound message (a type saying ``inbound``, ``reply``, ``received`` ...:
    Braze's ``InboundReceive``, an SMS gateway's ``inbound_message``) whose whole body is an opt-out keyword
    (:data:`OPT_OUT_KEYWORDS`).  Before, such a record was an ``unknown_type`` dead letter and the texts went on."""
    if not isinstance(rec, dict):
        return False
    if any(isinstance(v := rec.get(k), str) and v.strip().casefold() == "stop" for k in _OPT_OUT_TYPE_KEYS):
        return True
    if not _type_says(rec, _INBOUND_WORDS):
        return False
    return any(isinstance(v := rec.get(k), str) and " ".join(v.split()).casefold().strip(".!") in OPT_OUT_KEYWORDS
               for k in _BODY_KEYS)


_TRUE = frozenset({"true", "yes", "y", "1", "on"})
#: Values of a subscription-status trait that say the person opted out (Braze's ``email_subscribe:
#: "unsubscribed"``); ``cancelled`` is left out: a ``subscription_status`` is as often a billing plan's.
_OPTED_OUT_VALUES = frozenset({"unsubscribed", "opted_out", "optedout", "opt_out", "optout", "revoked", "withdrawn",
                               "never_subscribed", "suppressed", "complained"})
_CONTACT_WORDS = frozenset({"contact", "disturb", "message", "messages", "solicit", "market", "marketing",
                            "communicate", "communications", "promote"})
_STATUS_KEY_WORDS = frozenset({"subscribe", "subscribed", "subscription", "consent", "optin", "permission",
                               "status"})


def opted_out_trait(key: Any, value: Any) -> str | None:
    """The channel scope (a channel, ``spellings.EVERY_CHANNEL`` or ``PHONE_CHANNELS``) a profile trait opts the
    person out of, else None: a flag whose name says an opt-out set true (Customer.io's ``unsubscribed``, HubSpot's
    ``hs_email_optout``, Salesforce's ``HasOptedOutOfEmail`` / ``DoNotCall``, Intercom's
    ``unsubscribed_from_emails``, ``sms_opt_out``, ``do_not_contact``), or a subscription status of a channel set to
    an opt-out (Braze's ``email_subscribe`` / ``push_subscribe: "unsubscribed"``).  The channels are the name's
    words' (none: every channel); a false flag or another status says nothing (it is no grant)."""
    if not isinstance(key, str) or len(key) > 100:
        return None
    from journeyflow.stages.segment.optouts import words
    from journeyflow.stages.spellings import EVERY_CHANNEL, _several_channels, fold_symbol

    have = words(key)
    flag = value is True or (value.__class__ is int and value == 1) or (
        isinstance(value, str) and value.strip().casefold() in _TRUE)
    channels: tuple[str, ...] | None = None
    if flag and ("do", "not") in set(zip(have, have[1:])):  # DoNotCall, do_not_email, do_not_contact
        rest = have[have.index("not") + 1:]
        channels = _word_channels(rest)
        if NOT_OPT_OUT_WORDS.intersection(rest) or not (channels or _CONTACT_WORDS.intersection(rest)):
            return None  # (do_not_track, do_not_sell: about data, not messages)
    elif flag and (said := read_opt_out_name(key, "consent")) is not None:
        channels = said.channels
    elif isinstance(value, str) and fold_symbol(value) in _OPTED_OUT_VALUES and _STATUS_KEY_WORDS.intersection(have):
        channels = _word_channels(have)
        if not channels and not (_STATUS_KEY_WORDS - {"status"}).intersection(have):
            return None  # (a bare "status": of what is not said)
    if channels is None:
        return None
    if not channels:
        return EVERY_CHANNEL
    return channels[0] if len(channels) == 1 else (_several_channels(",".join(channels)) or EVERY_CHANNEL)


def _word_channels(have: tuple[str, ...]) -> tuple[str, ...]:
    """The channel scopes words name (``email``, ``sms``, ``call``, ``phone``, ``contact``: none -> every channel)."""
    symbols = frozenset({"email", "sms", "push", "call"})
    found: list[str] = []
    for w in [*have, *("_".join(p) for p in zip(have, have[1:]))]:
        ch = channel_symbol("consent", "consent_revoked", w, symbols)
        if ch is not None and ch not in found and w not in ("any", "every"):
            found.append(ch)
    return tuple(found)


_CHANGE_WORDS = frozenset({"subscription", "subscriptions", "subscriptiongroup", "state", "status", "change",
                           "changed", "preference", "preferences"})
_STATE_KEYS = ("subscription_status", "subscriptionStatus", "state", "new_state", "status", "SubscriptionStatus")


def state_change_opt_out(rec: Any) -> bool:
    """True for an engagement record of no known type that reports a subscription change to an opt-out: Postmark's
    ``SubscriptionChange`` with ``SuppressSending: true``, Braze's ``users.behaviors.subscription.GlobalStateChange``
    / ``subscriptiongroup.StateChange`` with ``subscription_status`` / ``state: "unsubscribed"`` (a type whose words
    say a subscription or state change, and a state that says an opt-out).  A change to subscribed is no grant."""
    if not isinstance(rec, dict) or not _type_says(rec, _CHANGE_WORDS):
        return False
    from journeyflow.stages.spellings import fold_symbol

    if rec.get("SuppressSending") is True or rec.get("suppress_sending") is True:
        return True
    return any(isinstance(v := rec.get(k), str) and fold_symbol(v) in _OPTED_OUT_VALUES for k in _STATE_KEYS)


def opt_out_named(rec: dict[str, Any], enums: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    """``rec`` (a built-in record, enums folded: ``spellings.fold_enums``), or, for an engagement ``type`` / consent
    ``status`` that is no symbol but says an opt-out among other words (``email.unsubscribed``, ``smsUnSubscribe``,
    ``Marked Email as Spam``: :func:`read_opt_out_name`), a copy that is that opt-out, of its channel and of any
    channel its words name; an inbound STOP (:func:`inbound_opt_out`) or a subscription changed to an opt-out
    (:func:`state_change_opt_out`) is an unsubscribe of its channel."""
    field = "type" if "bounce_type" in enums else "status" if "status" in enums else None
    v = rec.get(field) if field is not None else None
    if v.__class__ is not str or v in enums[field]:
        return rec
    said = read_opt_out_name(v, "engagement" if field == "type" else "consent")
    if said is None:
        opted = field == "type" and (inbound_opt_out(rec) or state_change_opt_out(rec))
        return {**rec, "type": "unsubscribed"} if opted else rec
    out = {**rec, field: said.kind if field == "type" else "revoked"}
    if "channel" in rec:
        out["channel"] = scoped_channel(rec["channel"], said.channels)
    return out
