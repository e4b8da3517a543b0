"""The entry point adaptors use: :class:`Master` runs one registered operation per transaction."""

import logging

from slap_core import (  # noqa: F401  (the operation modules: imported for their registrations)
    billing_profiles,
    catalogue,
    certificates,
    computers,
    consumption,
    errors,
    instance_reports,
    instances,
    invoice_documents,
    invoices,
    outbox,
    people,
    pricing,
    signups,
    subscriptions,
    supplies,
    sync_partners,
    sync_secrets,
    ticket_monitoring,
    tickets,
    tokens,
    usage,
)
from slap_core.contacts import CONTACTS, ContactBook
from slap_core.operations import REGISTRY
from slap_core.poll_limit import PollLimit
from slap_core.principals import ComputerAgent, PartitionAgent
from slap_core.storage import Storage, TransientConflict

log = logging.getLogger(__name__)


def load_all():
    """Every registered operation by name (each operation module is imported above)."""
    return REGISTRY


class Master:
    """A slapgate master over one database.

    ``call(name, principal, **arguments)`` runs the operation in its own transaction (retried when
    it lost a race with a concurrent one) and returns plain data (dataclasses from
    ``slap_core.views``, lists, dicts). It blocks: the gateway calls it from the thread pool.
    ``authority`` (an :class:`slap_core.certificates.ICertificateAuthority`) signs the
    certificates the ``certificate.*`` operations issue; without one they answer Conflict.
    Listeners (:meth:`add_listener`) hear the name of every write operation that committed.
    ``poll_limit`` (a :class:`slap_core.poll_limit.PollLimit`; the default one when None) holds
    the polled operations to a rate per computer. ``ticket_attachment_limit``: the largest file
    a ticket's message may carry, in bytes (None: the core's default). ``signup``: how the master
    takes sign-ups (a :class:`slap_core.signups.SignupSettings`; None: closed).
    """

    def __init__(self, storage, authority=None, poll_limit=None, ticket_attachment_limit=None,
                 signup=None):
        self.storage = storage if isinstance(storage, Storage) else Storage(storage)
        self.operations = load_all()
        self.authority = authority
        self.poll_limit = poll_limit if poll_limit is not None else PollLimit()
        self.storage.session_info["authority"] = authority
        self.contacts = ContactBook()
        self.storage.session_info[CONTACTS] = self.contacts
        if signup is not None:
            self.storage.session_info[signups.SIGNUP] = signup
        if ticket_attachment_limit is not None:
            self.storage.session_info[tickets.ATTACHMENT_LIMIT] = ticket_attachment_limit
        self.listeners = []

    def add_listener(self, listener):
        """Call ``listener(name)`` after each write operation commits, in the caller's thread,
        before ``call`` returns; a listener's failure is logged, never raised."""
        self.listeners.append(listener)

    def call(self, name, principal, **arguments):
        """Run operation ``name`` as ``principal``; raises a :class:`slap_core.errors.SlapError`."""
        try:
            op = self.operations[name]
        except KeyError:
            raise errors.NotFound("no operation named %r" % (name,)) from None
        problem = op.argument_problem(arguments)
        if problem is not None:
            raise errors.Invalid(problem)
        if op.polled:
            self.poll_limit.admit(principal, arguments.get("reference"))
        try:
            result = self.storage.run(op.function, principal, write=op.writes, **arguments)
        except TransientConflict as conflict:
            raise errors.Conflict("concurrent change, try again: %s" % conflict) from conflict
        except TypeError as error:
            if _is_signature_error(error, op.function):
                raise errors.Invalid("bad arguments for %s: %s" % (name, error)) from None
            raise
        if op.polled:  # answered: the caller may poll that computer, it is its node
            self.contacts.note(arguments.get("reference"))
        elif isinstance(principal, (ComputerAgent, PartitionAgent)):
            self.contacts.note(principal.computer)
        if op.writes:
            for listener in self.listeners:
                try:
                    listener(name)
                except Exception:
                    log.exception("listener %r failed after %s", listener, name)
        return result

    def upgrade(self):
        """Bring the database schema to the newest revision."""
        self.storage.upgrade()

    def health(self):
        """True when the database answers; raises otherwise."""
        self.storage.ping()
        return True

    def close(self):
        """Release the database connections."""
        self.storage.dispose()


def _is_signature_error(error, function):
    # A TypeError raised while binding arguments names the function; one raised deeper does not.
    return str(error).startswith(function.__name__ + "()")
