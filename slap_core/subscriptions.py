"""Subscriptions: every instance tree is one, from its root's first request until its destruction
is asked, at the monthly price in force when it opened (a snapshot: a later price list applies to
later trees only). It belongs to the tree's owner; invoices bill it by the month, prorated."""

from sqlalchemy import bindparam, insert, select, update

from slap_core import errors
from slap_core.access import accounts_read
from slap_core.clock import now
from slap_core.models import (
    InstanceTree,
    Person,
    PriceList,
    SoftwareProduct,
    Subscription,
    SubscriptionPrice,
)
from slap_core.operations import operation
from slap_core.pricing import IN_FORCE
from slap_core.views import SubscriptionView

# Statements built once: every new tree runs them.
_OPEN = insert(Subscription.__table__)
_LIST_AT = IN_FORCE.with_only_columns(PriceList.id, PriceList.currency)
_LINES = select(SubscriptionPrice.product, SubscriptionPrice.release_url, SubscriptionPrice.shared,
                SubscriptionPrice.monthly).where(
    SubscriptionPrice.price_list_id == bindparam("price_list"))
_PRODUCT = select(SoftwareProduct.reference).where(SoftwareProduct.id == bindparam("product"))
_SUBSCRIPTION = Subscription.__table__
_CLOSE = update(_SUBSCRIPTION).where(_SUBSCRIPTION.c.tree_id == bindparam("tree"),
                                     _SUBSCRIPTION.c.stop_at.is_(None)).values(
    stop_at=bindparam("at"))


def monthly_price(lines, release_url, product, shared):
    """The monthly price, among ``lines`` ((product, release URL, shared, monthly) rows of a price
    list), of a tree of that release and product: the shared instances' for a shared root, else
    the release's own, else its product's, else the default (None when the list has none)."""
    prices = {(line[0], line[1], bool(line[2])): line[3] for line in lines}
    for key in ((None, None, True) if shared else None, (None, release_url, False),
                (product, None, False) if product else None, (None, None, False)):
        if key is not None and key in prices:
            return prices[key]
    return None


def open_subscription(session, *, tree_id, owner_id, release, shared, start):
    """Open the subscription of a new tree, at the price in force at ``start`` (unpriced when no
    price list is in force then). Core statements built once: every new tree runs them."""
    execute = session.connection().execute
    price_list = execute(_LIST_AT, {"at": start}).first()
    monthly = None
    if price_list is not None:
        lines = execute(_LINES, {"price_list": price_list[0]}).all()
        product = None
        if release.product_id is not None and any(line[0] for line in lines):
            product = execute(_PRODUCT, {"product": release.product_id}).scalar()
        monthly = monthly_price(lines, release.url, product, shared)
    execute(_OPEN, {
        "tree_id": tree_id, "person_id": owner_id, "start_at": start, "stop_at": None,
        "price_list_id": price_list[0] if price_list is not None else None,
        "currency": price_list[1] if price_list is not None else None, "monthly": monthly})


def close_subscription(session, tree_id):
    """Close the tree's subscription now (its destruction was asked); closing twice is harmless."""
    session.flush()
    session.connection().execute(_CLOSE, {"tree": tree_id, "at": now()})


def subscription_view(row, tree_title, owner):
    """The SubscriptionView of a subscription row."""
    return SubscriptionView(tree=tree_title, owner=owner, currency=row.currency,
                            monthly=row.monthly, start_at=row.start_at, stop_at=row.stop_at)


@operation("subscription.list", writes=False,
           callers="users (their own), admin and accountant (anyone's, or one person's)",
           returns=[SubscriptionView], raises=(errors.NotFound,))
def list_subscriptions(session, principal, *, login=None, include_closed=False):
    """List subscriptions, oldest first: the caller's own, or for an admin or an accountant
    everyone's or one person's."""
    query = (select(Subscription, InstanceTree.title, Person.login)
             .join(InstanceTree, Subscription.tree_id == InstanceTree.id)
             .join(Person, Subscription.person_id == Person.id))
    person = accounts_read(session, principal, login, "subscriptions")
    if person is not None:
        query = query.where(Subscription.person_id == person)
    if not include_closed:
        query = query.where(Subscription.stop_at.is_(None))
    return [subscription_view(row, title, owner) for row, title, owner
            in session.execute(query.order_by(Subscription.start_at, Subscription.id))]
