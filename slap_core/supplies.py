"""Supplies: which software releases each computer must install or remove, and what it reported."""

from sqlalchemy import select

from slap_core import errors
from slap_core.access import (
    check_computer_agent,
    check_computer_manage,
    check_computer_read,
    get_computer,
    person_id,
    require_user,
)
from slap_core.catalogue import ensure_release
from slap_core.clock import now
from slap_core.models import Computer, SoftwareRelease, Supply
from slap_core.operations import operation
from slap_core.views import SupplyView

DESIRED_STATES = ("available", "destroyed")
REPORTED_STATES = ("building", "available", "destroyed", "error")
MAX_ERROR_TEXT = 64 * 1024


def supply_view(supply):
    """The SupplyView of a Supply row."""
    return SupplyView(
        computer=supply.computer.reference,
        url=supply.release.url,
        desired_state=supply.desired_state,
        reported_state=supply.reported_state,
        error_text=supply.error_text,
        reported_at=supply.reported_at,
    )


def _find(session, computer, url):
    return session.scalar(
        select(Supply)
        .join(SoftwareRelease, Supply.release_id == SoftwareRelease.id)
        .where(Supply.computer_id == computer.id, SoftwareRelease.url == url)
    )


@operation("supply.supply", writes=True, callers="admin, operator, the computer's owner",
           returns=SupplyView, raises=(errors.NotFound, errors.Invalid))
def supply(session, principal, *, url, computer, state="available"):
    """Ask a computer to install (``available``) or remove (``destroyed``) a software release."""
    if state not in DESIRED_STATES:
        raise errors.Invalid("a supply state is available or destroyed, not %r" % (state,))
    target = get_computer(session, computer)
    check_computer_manage(session, principal, target)
    row = _find(session, target, url)
    if row is None:
        row = Supply(computer=target, release=ensure_release(session, url))
        session.add(row)
    if row.desired_state != state:
        row.desired_state = state
        row.updated_at = now()
    session.flush()
    return supply_view(row)


@operation("supply.list", writes=False,
           callers="the computer, its owner, admin, operator",
           returns=[SupplyView], raises=(errors.NotFound,))
def list_supplies(session, principal, *, computer=None):
    """List the supplies of one computer, or of every computer the user manages."""
    query = select(Supply).join(Computer, Supply.computer_id == Computer.id)
    if computer is not None:
        target = get_computer(session, computer)
        check_computer_read(session, principal, target)
        query = query.where(Supply.computer_id == target.id)
    else:
        user = require_user(principal)
        if not user.manages_fleet:
            query = query.where(Computer.owner_id == person_id(session, user))
    return [supply_view(s) for s in session.scalars(query.order_by(Computer.reference, Supply.id))]


@operation("supply.get", writes=False,
           callers="the computer, its owner, admin, operator",
           returns=SupplyView, raises=(errors.NotFound,))
def get_supply(session, principal, *, computer, url):
    """Read what a computer was asked to do with a release and what it reported."""
    target = get_computer(session, computer)
    check_computer_read(session, principal, target)
    row = _find(session, target, url)
    if row is None:
        raise errors.NotFound("%s is not supplied to %s" % (url, computer))
    return supply_view(row)


@operation("supply.report", writes=True, callers="the computer itself",
           returns=SupplyView, raises=(errors.NotFound, errors.Invalid))
def report_supply(session, principal, *, url, computer, state, error_text=None):
    """The node reports a release ``building``, ``available``, ``error`` (with text) or ``destroyed``.

    ``destroyed`` removes the supply, and is only accepted once the release was asked to be
    destroyed (NotFound otherwise, as the master answers).
    """
    if state not in REPORTED_STATES:
        raise errors.Invalid("a reported software state is one of %s" % ", ".join(REPORTED_STATES))
    target = get_computer(session, computer)
    check_computer_agent(principal, target)
    row = _find(session, target, url)
    if row is None:
        raise errors.NotFound("%s is not supplied to %s" % (url, computer))
    if state == "destroyed":
        if row.desired_state != "destroyed":
            raise errors.NotFound("%s is not to be destroyed on %s" % (url, computer))
        session.delete(row)
        return None
    row.reported_state = state
    row.reported_at = now()
    if state == "error":
        row.error_text = (error_text or "")[-MAX_ERROR_TEXT:]
    elif state == "available":
        row.error_text = None
    session.flush()
    return supply_view(row)
