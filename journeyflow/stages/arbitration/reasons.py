"""The reason codes of arbitration decisions (``Decision.reasons``, ``CandidateOutcome.reason``).

The rule that gives each code, and the order the rules run in, are in :mod:`journeyflow.stages.arbitration.arbiter`.
These strings are written to the ``decisions`` and ``suppressed_candidates`` tables: renaming one is a schema
change for the analysts.

One code is not a rule of the arbiter: ``journey_exited``, on the ``suppress`` decision the processor writes when a
deferred send is cancelled because its journey membership ended before it was due
(:mod:`journeyflow.stages.journeys.engine`, "Lifecycle").
"""
from __future__ import annotations

__all__ = ["ACCOUNT_DELETED", "CHOSEN", "CONSENT", "CONTROL_GROUP", "DUPLICATE_CANDIDATE", "DUPLICATE_CONTENT", "EXCLUSION_GROUP",
           "FREQUENCY_CAP", "INVALID_CANDIDATE", "JOURNEY_EXITED", "LOWER_PRIORITY", "NO_ADDRESS", "OPEN_TICKET",
           "QUIET_HOURS_DEFERRED", "REASON_CODES", "RECENT_PURCHASE"]

#: unknown category, or an action/channel pair that does not exist
INVALID_CANDIDATE = "invalid_candidate"
#: the very same candidate twice in one batch (kept once)
DUPLICATE_CANDIDATE = "duplicate_candidate"
#: ``Candidate.control``: recorded, never executed
CONTROL_GROUP = "control_group"
#: the channel's consent does not allow the category, or every address the customer has for the channel opted out
#: (revoked, unsubscribed, complained; :mod:`journeyflow.stages.deliverability`)
CONSENT = "consent"
#: no deliverable address for the channel (email, sms and call need one): none known, or every known one
#: hard-bounced or over the soft-bounce limit (``deliverability.soft_bounces``), or for sms a landline
#: (``identity.phone_types.sms_capable``: FIXED_LINE numbers take calls only); for push no CRM id, or every known
#: device unregistered by a push bounce (``stages.push_devices``); counts toward no cap and no per-moment limit
NO_ADDRESS = "no_address"
#: another journey of the same exclusion group is active, or was chosen in this moment
EXCLUSION_GROUP = "exclusion_group"
#: an open (or recently resolved) ticket; an escalated ticket for sales tasks
OPEN_TICKET = "open_ticket"
#: the promoted product was bought recently
RECENT_PURCHASE = "recent_purchase"
#: not dropped: a ``wait`` decision plus a due time to re-arbitrate at
QUIET_HOURS_DEFERRED = "quiet_hours_deferred"
#: the same content was sent on another channel recently, or chosen in this moment
DUPLICATE_CONTENT = "duplicate_content"
#: a global or per-channel cap would be exceeded
FREQUENCY_CAP = "frequency_cap"
#: ``max_messages_per_moment`` already reached by better candidates
LOWER_PRIORITY = "lower_priority"
#: not an arbitration rule: a pending (deferred) send cancelled because its journey membership ended before it was
#: due (exit, goal, max_duration, exit step, re-entry, merge; see :mod:`journeyflow.stages.journeys.engine`); the
#: ``suppress`` decision the processor writes for it (``stages.processor.cancelled_decision``) carries this code
JOURNEY_EXITED = "journey_exited"
#: the customer's account is deleted (``stages.deletion``: a CRM deletion, an erasure request, Segment's ``Account
#: Deleted``): every message, task and case of the customer from the deletion's event time on; the pending sends the
#: deletion cancels carry it too (not ``journey_exited``), and so does the ``exited`` row of each membership it ends
ACCOUNT_DELETED = "account_deleted"
#: reason code of a chosen candidate's decision
CHOSEN = "chosen"
#: every reason a candidate can lose (or be deferred) for, in rule order
REASON_CODES: tuple[str, ...] = (
    INVALID_CANDIDATE, DUPLICATE_CANDIDATE, CONTROL_GROUP, CONSENT, NO_ADDRESS, EXCLUSION_GROUP, OPEN_TICKET,
    RECENT_PURCHASE, QUIET_HOURS_DEFERRED, DUPLICATE_CONTENT, FREQUENCY_CAP, LOWER_PRIORITY, JOURNEY_EXITED,
    ACCOUNT_DELETED,
)
