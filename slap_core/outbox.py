"""The master's outbox: mails decided by an operation, written in its transaction, sent by the
gateway's mailer (``outbox.pending``, then ``outbox.record_attempt`` per attempt).

A mail is thereby sent only if what it announces committed, and is not lost when the SMTP
server is away: it stays queued and is tried again, up to MAX_ATTEMPTS times.
"""

from sqlalchemy import select

from slap_core import errors
from slap_core.access import require_admin
from slap_core.clock import now
from slap_core.models import OutgoingMail
from slap_core.operations import operation
from slap_core.views import MailView

MAX_ATTEMPTS = 10
MAX_LIST = 1000


def queue(session, recipient, subject, body):
    """Queue a mail to ``recipient``."""
    session.add(OutgoingMail(recipient=recipient, subject=subject[:255], body=body,
                             created_at=now(), attempts=0))


def _view(mail):
    return MailView(number=mail.id, recipient=mail.recipient, subject=mail.subject,
                    body=mail.body, created_at=mail.created_at, sent_at=mail.sent_at,
                    attempts=mail.attempts, last_error=mail.last_error)


@operation("outbox.pending", writes=False, callers="admin (the master's mailer)",
           returns=[MailView])
def pending(session, principal, *, limit=100):
    """The mails still to send, oldest first (those that failed MAX_ATTEMPTS times aside)."""
    require_admin(principal)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise errors.Invalid("limit is 1 to %d" % MAX_LIST)
    return [_view(mail) for mail in session.scalars(
        select(OutgoingMail).where(OutgoingMail.sent_at.is_(None),
                                   OutgoingMail.attempts < MAX_ATTEMPTS)
        .order_by(OutgoingMail.id).limit(limit))]


@operation("outbox.record_attempt", writes=True, callers="admin (the master's mailer)",
           returns=MailView, raises=((errors.NotFound, "no such mail"),
                                     (errors.Conflict, "the mail was sent already")))
def record_attempt(session, principal, *, number, error_text=None):
    """Record that a mail was sent (no ``error_text``) or why sending it failed."""
    require_admin(principal)
    mail = session.get(OutgoingMail, number) if isinstance(number, int) and not isinstance(
        number, bool) else None
    if mail is None:
        raise errors.NotFound("no mail %r in the outbox" % (number,))
    if mail.sent_at is not None:
        raise errors.Conflict("mail %d was sent already" % mail.id)
    if error_text is None:
        mail.sent_at = now()
    else:
        mail.attempts += 1
        mail.last_error = str(error_text)[-2000:]
    session.flush()
    return _view(mail)
