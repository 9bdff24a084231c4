"""Other tools' event names for the ``type`` symbols of the web, orders and crm streams (qa16a), as
:func:`journeyflow.stages.spellings.fold_symbol` leaves them (lower case; spaces and hyphens as underscores; dots and
slashes kept: Shopify's ``orders/create``, HubSpot's ``contact.propertyChange`` → ``contact.propertychange``).
Merged into :data:`journeyflow.stages.spellings.ENUM_SYNONYMS`, which the parser applies before its checks
(:func:`~journeyflow.stages.spellings.fold_enums`); the fast parser's decoders take the symbols only, so it leaves
such a record to the full parser.  Pure data, no Beam.

Before, each was an ``unknown_type`` dead letter and the decision went wrong: a purchase sent as ``orders/create``
or GA4's ``purchase`` was missed (the cart reminder and the browse offer went out for what was just bought), an
``order_canceled`` left the order counted (revenue, the cross-sell on top of it), Stripe's
``invoice.payment_failed`` started no dunning, HubSpot's ``contact.creation`` welcomed no new lead.

Only names that mean the symbol and nothing else.  Left out, so still ``unknown_type`` dead letters with their
reason: a **refund** (``order_refunded``, Shopify ``refunds/create``, Stripe ``charge.refunded``): a partial refund
keeps the order, and ``order_cancelled`` takes the whole order and its items back; an order's update
(``orders/updated``), a removal from the cart, a list view, a deal's deletion, a contacts' merge: no symbol says so.
Each tool's object id must still come as the stream's field (``order_id``, ``crm_id``): the built-in streams have
no field aliases (GA4's ``transaction_id``, Stripe's nested ``data.object.id``: map them into ``order_id``; without
it the record is a ``schema_violation`` dead letter naming the field)."""
from __future__ import annotations

from typing import Mapping

__all__ = ["CRM_TYPE_WORDS", "ORDERS_TYPE_WORDS", "WEB_TYPE_WORDS"]

#: web ``type``: GA4 recommended events (support.google.com/analytics/answer/9267735: page_view, view_item,
#: add_to_cart, begin_checkout, sign_up, login), Segment Spec names snake_cased (ecommerce v2 "Product Viewed",
#: "Product Added"; v1 "Viewed Product", "Added Product", "Started Checkout"; B2B SaaS "Signed Up", "Signed In";
#: page calls "Page Viewed"), Shopify Web Pixels standard events (shopify.dev/docs/api/web-pixels-api/standard-events:
#: page_viewed, product_viewed, product_added_to_cart, checkout_started), Meta Pixel standard events (PageView,
#: AddToCart, InitiateCheckout, CompleteRegistration), Universal Analytics' ``pageview`` hit type.  Not GA4's
#: ``view_item_list`` / Meta's ``ViewContent`` (a list or any content: no product view), ``remove_from_cart``.
WEB_TYPE_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("pageview", "page_viewed", "viewed_page", "page_views", "pageviewed"), "page_view"),
    **dict.fromkeys(("view_item", "product_viewed", "viewed_product", "productviewed", "view_product",
                     "product_detail_view", "product_details_viewed"), "product_view"),
    **dict.fromkeys(("product_added", "added_product", "product_added_to_cart", "added_to_cart", "addtocart",
                     "add_to_basket", "added_to_basket", "cart_add", "productadded"), "add_to_cart"),
    **dict.fromkeys(("begin_checkout", "started_checkout", "initiatecheckout", "initiate_checkout",
                     "checkout_begun", "checkoutstarted"), "checkout_started"),
    **dict.fromkeys(("signed_in", "sign_in", "signin", "logged_in", "log_in", "user_logged_in", "signedin"),
                    "login"),
    **dict.fromkeys(("sign_up", "signed_up", "signedup", "user_signed_up", "completeregistration",
                     "complete_registration", "registration_completed", "user_registered"), "signup")}

#: orders ``type``: Shopify webhook topics (shopify.dev/docs/api/webhooks: ``orders/create``, ``orders/paid``,
#: ``orders/cancelled``), Shopify Web Pixels ``checkout_completed``, BigCommerce webhooks (``store/order/created``),
#: WooCommerce (``order.created``), GA4's ``purchase`` (and Meta Pixel's ``Purchase``), Segment Spec ecommerce
#: "Order Completed" / "Order Canceled" (its docs write both spellings; v1 "Completed Order"), the US spelling
#: ``order_canceled`` (Stripe, BigCommerce), Stripe event types (docs.stripe.com/api/events/types:
#: ``invoice.payment_failed``, ``charge.failed``, ``payment_intent.payment_failed``; and an invoice's success,
#: ``invoice.paid`` / ``invoice.payment_succeeded``: the payment went through, so the dunning a failure started ends
#: -- a payment call about a purchase already paid is worse than a reminder too few; both name the same invoice, one
#: order when ``order_id`` is its id).  A payment intent's or a charge's success (``payment_intent.succeeded``,
#: ``charge.succeeded``) is no order: one invoice's payment is also a payment intent and a charge, each another object
#: id, so a feed of every Stripe event counted one purchase three times (revenue, orders); they stay ``unknown_type``
#: dead letters, as a refund (module docstring).
ORDERS_TYPE_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("orders/create", "orders/paid", "order_created", "order.created", "order_completed",
                     "completed_order", "ordercompleted", "checkout_completed", "purchase", "purchased",
                     "store/order/created", "order_paid", "invoice.paid", "invoice.payment_succeeded"),
                    "order_placed"),
    **dict.fromkeys(("order_canceled", "orders/cancelled", "orders/canceled", "order.cancelled", "order.canceled",
                     "cancelled_order", "canceled_order", "ordercancelled", "ordercanceled", "cancelled", "canceled",
                     "order_cancel", "cancel_order"), "order_cancelled"),
    **dict.fromkeys(("invoice.payment_failed", "charge.failed", "payment_intent.payment_failed", "failed_payment",
                     "payment_failure", "charge_failed", "invoice_payment_failed", "order_payment_failed",
                     "subscription_billing_attempts/failure"), "payment_failed")}

#: crm ``type``: HubSpot webhook subscription types (developers.hubspot.com/docs/api/webhooks: ``contact.creation``,
#: ``contact.propertyChange``, ``deal.creation``; its deletions are in ``spellings``), Pipedrive webhooks
#: (``added.person`` / ``updated.person`` / ``added.deal``; v2 ``create.person``, ``change.person``,
#: ``create.deal``), Intercom topics (``contact.user.created``, ``contact.lead.created``), Salesforce's
#: opportunity created / Closed Won / Closed Lost.  ``opportunity_opened``/``_closed`` need no field beyond the
#: record's ``crm_id``.  Not a deal's deletion or a contacts' merge (no symbol).
CRM_TYPE_WORDS: Mapping[str, str] = {
    **dict.fromkeys(("contact.creation", "contact_creation", "contact.created", "contact_create", "contact_added",
                     "added.person", "create.person", "person_created", "contact.user.created",
                     "contact.lead.created", "lead_created"), "contact_created"),
    **dict.fromkeys(("contact.propertychange", "contact_property_change", "contact.updated", "contact_update",
                     "contact_changed", "updated.person", "change.person", "person_updated",
                     "contact.user.updated", "contact.lead.updated"), "contact_updated"),
    **dict.fromkeys(("lifecycle_stage_changed", "lifecyclestage_changed", "lifecycle_stage_change",
                     "lifecycle_change"), "lifecycle_changed"),
    **dict.fromkeys(("deal.creation", "deal_creation", "deal.created", "deal_created", "added.deal", "create.deal",
                     "opportunity_created", "opportunity.created", "opportunity_open"), "opportunity_opened"),
    **dict.fromkeys(("deal_won", "deal_lost", "deal_closed", "closed_won", "closed_lost", "opportunity_won",
                     "opportunity_lost", "opportunity.closed"), "opportunity_closed")}
