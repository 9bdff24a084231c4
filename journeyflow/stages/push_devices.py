"""Push reachability per device (plain Python, no Beam): the push part of :mod:`journeyflow.stages.deliverability`.

A push is addressed by the customer's external id (the CRM id: :func:`push_address`), and the push service (APNs,
FCM through Braze, OneSignal, Iterable ...) delivers it to every device token it holds for that user.  A token dies
when the app is uninstalled or the token is rotated (APNs 410 ``Unregistered``, FCM ``UNREGISTERED`` /
``NotRegistered``): the service reports a push bounce (Segment Spec ``Push Notification Bounced``; the
``engagement`` stream's ``bounced`` on channel ``push``).  Devices are the records' ``anonymous_id``
(``anon:<id>``, the app install; Segment's ``anonymousId``), and a push device's status is an address status
(``CustomerState.addr_status[anon:<id>]["push"]``, latest in event time wins, an opt-out or unregistration wins a
tie):

* ``registered``: a push was delivered, opened or clicked on the device (:func:`register`).  Only marks the device
  as known: any other status replaces it, whatever the times (so the result does not depend on the order);
* ``unregistered``: a hard push bounce (``bounce_type`` hard or absent, a dead token -- APNs 410 ``Unregistered`` /
  ``ExpiredToken``, ``BadDeviceToken``, FCM ``UNREGISTERED`` -- or a word nobody knows) on the device: that device
  gets no push until a grant by it (a re-registration: a ``consent`` ``granted`` on ``push`` naming it); soft push
  bounces -- the service's transient errors (FCM ``UNAVAILABLE`` / ``INTERNAL`` / ``QUOTA_EXCEEDED``, APNs 429
  ``TooManyRequests``, 500, 503 ``ServiceUnavailable`` / ``Shutdown``) -- count as for an email (the policy's
  ``deliverability.soft_bounces``); the sender's own errors (its provider token or certificate, its topic, its
  payload: APNs ``ExpiredProviderToken``, ``DeviceTokenNotForTopic``, ``PayloadTooLarge``, FCM
  ``SENDER_ID_MISMATCH``) leave the device as it was (``stages.bounce_words``, which gives the sources);
* ``granted`` / ``revoked`` / ``unsubscribed`` / ``complained``: consent and engagement opt-outs naming the device
  (the channel consent changes too, as for any identifier: fail safe).

A push bounce naming no device applies to the user (its ``crm:<id>`` key): no device of the user could be reached
(a consent or opt-out naming no device is the channel consent's only).  :func:`push_delivery`: the user's external
id unless every known device of the customer is blocked or a user-level bounce is newer than every device still
permitted -- and push was not granted (channel consent: a re-registration) after the newest of those blocks; then
``opted_out`` (one of them opted out) or ``undeliverable`` -- arbitration suppresses with ``consent`` /
``no_address``, and ``customer.reachable.push`` is false, so a branch can take another channel
(``welcome``'s onboarding).  Before, a dead device changed nothing and the welcome branch kept choosing push.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from journeyflow.model.events import Event
    from journeyflow.stages.state import CustomerState

__all__ = ["REGISTERED", "UNREGISTERED", "push_address", "push_delivery", "push_keys", "register"]

#: Push device statuses (see the module docstring).
REGISTERED, UNREGISTERED = "registered", "unregistered"
#: Engagement types that show a device receives pushes.
_RECEIVED = frozenset({"delivered", "opened", "clicked"})


def push_address(s: "CustomerState") -> tuple[str, str] | str:
    """The external id a push goes to: ``(key, raw)`` of the customer's smallest CRM id (``crm:<id>``; the id the
    app and the push service know the user by: web ``user_id`` = CRM id), or ``no_address`` when the customer has
    none.  An id that looks like an email (contains ``@``) is never used: it would put raw PII on the push topic."""
    ext = [k for k in s.ids if k.startswith("crm:") and "@" not in k]
    if not ext:
        return "no_address"
    k = min(ext)
    return k, k[4:]


def push_keys(ev: "Event", bounce: bool) -> list[str]:
    """The keys a push status record names: its devices (``anon:<id>``), else, for a ``bounce``, its users
    (``crm:<id>``; a consent or an opt-out naming no device is the channel consent's alone)."""
    devices = [k for k in ev.ids if k.startswith("anon:")]
    return devices or ([k for k in ev.ids if k.startswith("crm:") and "@" not in k] if bounce else [])


def register(s: "CustomerState", ev: "Event") -> None:
    """A push delivered, opened or clicked on a device (an ``engagement`` record on ``push``): the device is known."""
    if ev.type in _RECEIVED:
        for key in ev.ids:
            if key.startswith("anon:"):
                s.set_address_status(key, "push", REGISTERED, ev.ts)


def push_delivery(s: "CustomerState", now: int, soft_max: int = 0, soft_window_ms: int = 0) -> tuple[str, str] | str:
    """Where a push goes at ``now`` (ms): :func:`push_address`, or why none (``no_address``, ``opted_out``,
    ``undeliverable``).  Blocked when every known device is blocked (unregistered, opted out, over the soft-bounce
    limit ``soft_max`` in ``soft_window_ms``) or a user-level bounce is newer than every device still permitted --
    unless push was granted (channel consent) after the newest of those blocks: a re-registration."""
    addr = push_address(s)
    if addr.__class__ is str or not s.addr_status:
        return addr
    from journeyflow.stages.deliverability import ADDRESS_OPT_OUTS, address_block
    ok: list[int] = []  # times of the devices still permitted
    why: list[str] = []
    dead, user_at = 0, None  # the newest block's time; the user-level block's
    for key, per in s.addr_status.items():
        rec = per.get("push")
        if rec is not None and (key.startswith("anon:") or key == addr[0]):
            b = address_block(s, key, "push", now, soft_max, soft_window_ms)
            if b is None:
                if key != addr[0]:
                    ok.append(rec[1] or 0)
                continue
            at = max([t for t in (rec[1], rec[2]) if t is not None] + [t if t.__class__ is int else t[0]
                                                                          for t in rec[3]] or [0])
            why.append(b)
            dead = max(dead, at)
            if key == addr[0]:  # the user: only a device seen since counts
                user_at = at
    if user_at is not None:
        ok = [t for t in ok if t > user_at]
    grant = s.consent.get("push")
    if ok or not why or (grant is not None and grant[0] == "granted" and grant[1] > dead):
        return addr
    return "opted_out" if any(b in ADDRESS_OPT_OUTS for b in why) else "undeliverable"
