"""Mail: the ``[smtp]`` and ``[signup]`` settings, and the mailer that sends the core's outbox.

The core queues a mail in the transaction that decided it (``slap_core.outbox``); the mailer
reads what is pending (``outbox.pending``), sends each through the configured SMTP server with
Twisted's client (STARTTLS and login when configured) and records each attempt
(``outbox.record_attempt``). It runs every ``interval`` seconds and as soon as an operation that
may queue a mail commits, one pass at a time; a mail whose server is away waits for the next.
"""

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage

from twisted.internet import defer
from twisted.logger import Logger
from twisted.mail import smtp

from gateway.settings import ConfigError
from slap_core.signups import MODES

log = Logger()

# The operations whose commit may have queued a mail.
MAILING = ("signup.request", "signup.confirm", "signup.accept", "signup.reject",
           "ticket.create", "ticket.post", "ticket.close", "ticket.reopen", "ticket.monitor")


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server the master sends mail through: ``host``, ``port``, ``starttls``
    (required before anything is sent), ``sender`` (the From address), ``username`` and
    ``password`` (empty: no login), ``timeout`` (seconds for one mail) and ``interval``
    (seconds between two passes over the outbox)."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    interval: float = 30.0


def smtp_settings_from(section):
    """SmtpSettings from an ``[smtp]`` section."""
    if not section.get("host") or not section.get("sender"):
        raise ConfigError("[smtp] needs host and sender")
    try:
        port = section.getint("port", 25)
        starttls = section.getboolean("starttls", False)
        timeout = section.getfloat("timeout", 30.0)
        interval = section.getfloat("interval", 30.0)
    except ValueError:
        raise ConfigError("[smtp] port is a number, starttls true or false, timeout and "
                          "interval seconds") from None
    if not 0 < port < 65536 or timeout <= 0 or interval <= 0:
        raise ConfigError("[smtp] port is 1 to 65535, timeout and interval positive")
    if "@" not in section["sender"]:
        raise ConfigError("[smtp] sender is an address, name@domain")
    return SmtpSettings(host=section["host"], sender=section["sender"], port=port,
                        starttls=starttls, username=section.get("username", ""),
                        password=section.get("password", ""), timeout=timeout,
                        interval=interval)


@dataclass(frozen=True)
class SignupSection:
    """The ``[signup]`` section: ``mode`` (approval or automatic), ``public_url`` (the address
    people reach the dashboard at, for the mailed links; default: the first listen address) and
    ``per_hour`` (sign-ups one address may ask for in an hour)."""

    mode: str
    public_url: str = ""
    per_hour: int = 5


def signup_settings_from(section):
    """SignupSection from a ``[signup]`` section."""
    mode = section.get("mode", "").strip()
    if mode not in MODES:
        raise ConfigError("[signup] mode is approval or automatic")
    try:
        per_hour = section.getint("per_hour", 5)
    except ValueError:
        raise ConfigError("[signup] per_hour is a number") from None
    if per_hour < 1:
        raise ConfigError("[signup] per_hour is at least 1")
    url = section.get("public_url", "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError("[signup] public_url is an http:// or https:// address")
    return SignupSection(mode=mode, public_url=url, per_hour=per_hour)


def message_of(mail, sender):
    """The RFC 5322 bytes of a MailView from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = email.utils.formatdate(mail.created_at, usegmt=True)
    message["Message-ID"] = email.utils.make_msgid("slapgate-%d" % mail.number)
    message.set_content(mail.body)
    return message.as_bytes()


class Mailer:
    """Send the outbox through ``settings`` (SmtpSettings), calling the core through ``calls``
    as ``admin``."""

    def __init__(self, calls, admin, settings, reactor):
        self.calls, self.admin, self.settings, self.reactor = calls, admin, settings, reactor
        self.running = None  # the Deferred of the pass under way
        self.again = False
        self.loop = None
        self.stopped = False

    def start(self):
        """Run a pass every ``interval`` seconds and after each commit that may mail."""
        from twisted.internet import task

        self.loop = task.LoopingCall(self.kick)
        self.loop.clock = self.reactor
        self.loop.start(self.settings.interval, now=True)
        self.calls.master.add_listener(self._committed)

    def stop(self):
        """Stop the timer; a Deferred that fires once the pass under way is over."""
        self.stopped = True
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.running is None:
            return defer.succeed(None)
        finished = defer.Deferred()
        self.running.addBoth(lambda result: finished.callback(None) or result)
        return finished

    def _committed(self, name):
        if name in MAILING:
            self.reactor.callFromThread(self.kick)

    def kick(self):
        """Start a pass now, or one more after the pass under way; the pass's Deferred."""
        if self.stopped:
            return defer.succeed(None)
        if self.running is not None:
            self.again = True
            return self.running
        self.running = self.send_pending()

        def done(_):
            self.running = None
            if self.again:
                self.again = False
                return self.kick()
            return None

        return self.running.addBoth(done)

    @defer.inlineCallbacks
    def send_pending(self):
        """Send every pending mail once; never fails (failures are recorded and logged)."""
        try:
            mails = yield self.calls.call("outbox.pending", self.admin)
        except Exception:
            log.failure("reading the outbox failed")
            return
        for mail in mails:
            if self.stopped:
                return
            try:
                yield self.send(mail)
                error = None
            except Exception as failure:  # refused, unreachable, timed out: try again later
                error = "%s: %s" % (type(failure).__name__, failure)
                log.warn("mail {number} to {to} not sent: {error}", number=mail.number,
                         to=mail.recipient, error=error)
            try:
                yield self.calls.call("outbox.record_attempt", self.admin, number=mail.number,
                                      error_text=error)
            except Exception:
                log.failure("recording mail {number} failed", number=mail.number)

    def send(self, mail):
        """Deferred: one mail handed to the SMTP server."""
        settings = self.settings
        result = smtp.sendmail(
            settings.host, settings.sender, [mail.recipient], message_of(mail, settings.sender),
            port=settings.port, reactor=self.reactor,
            username=settings.username.encode() or None,
            password=settings.password.encode() or None,
            requireAuthentication=bool(settings.username),
            requireTransportSecurity=settings.starttls)
        return result.addTimeout(settings.timeout, self.reactor)
