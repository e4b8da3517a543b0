"""``slapgate admin ticket ...`` and ``slapgate admin signup ...``: support tickets and sign-up
requests from a shell, through the core operations as the ``--as`` login."""

import mimetypes
import os

from slap_core.tickets import KINDS


def add_parsers(groups):
    """Add the ``ticket`` and ``signup`` groups to ``slapgate admin``."""
    ticket = groups.add_parser("ticket", help="support tickets").add_subparsers(
        dest="action", required=True)
    listing = ticket.add_parser("list", help="tickets, most recently active first")
    listing.add_argument("--user", help="only this person's")
    listing.add_argument("--all", action="store_true", help="closed ones too")
    show = ticket.add_parser("show", help="one ticket with its thread")
    show.add_argument("reference")
    opened = ticket.add_parser("open", help="open a ticket (for --user, else for yourself)")
    opened.add_argument("--title", required=True)
    opened.add_argument("--text", required=True, help="the first message")
    opened.add_argument("--kind", choices=KINDS, default="information")
    opened.add_argument("--user", help="the person it is for")
    subject = opened.add_mutually_exclusive_group()
    subject.add_argument("--tree", help="about this instance tree of theirs (its title)")
    subject.add_argument("--computer", help="about this computer (its reference)")
    opened.add_argument("--attach", metavar="FILE", help="a file to attach")
    reply = ticket.add_parser("reply", help="add a message to a ticket")
    reply.add_argument("reference")
    reply.add_argument("--text", required=True)
    reply.add_argument("--attach", metavar="FILE", help="a file to attach")
    assign = ticket.add_parser("assign", help="assign a ticket (to nobody without --to)")
    assign.add_argument("reference")
    assign.add_argument("--to", help="a support person's or an admin's login")
    for action in ("close", "reopen"):
        state = ticket.add_parser(action, help="%s a ticket" % action)
        state.add_argument("reference")
        state.add_argument("--text", help="a message to add")
    attachment = ticket.add_parser("attachment", help="write a message's attached file")
    attachment.add_argument("reference")
    attachment.add_argument("message", type=int, help="the message's number (1: the first)")
    attachment.add_argument("--out", default=".", help="directory to write it into")

    signup = groups.add_parser("signup", help="sign-up requests").add_subparsers(
        dest="action", required=True)
    listing = signup.add_parser("list", help="sign-up requests, newest first")
    listing.add_argument("--state", choices=("unconfirmed", "pending", "accepted", "rejected",
                                             "expired"))
    accept = signup.add_parser("accept", help="accept a pending sign-up: the person is created")
    accept.add_argument("reference")
    reject = signup.add_parser("reject", help="reject a sign-up")
    reject.add_argument("reference")
    reject.add_argument("--reason")


def _attached(path):
    """The attachment arguments of a file given on the command line (none without one)."""
    if path is None:
        return {}
    with open(path, "rb") as handle:
        content = handle.read()
    return {"attachment": content, "attachment_name": os.path.basename(path),
            "attachment_type": mimetypes.guess_type(path)[0] or "application/octet-stream"}


def call(master, me, args):
    """Run a ``ticket`` or ``signup`` admin command; its result."""
    action = args.action
    if args.group == "signup":
        if action == "list":
            return master.call("signup.list", me, state=args.state)
        if action == "accept":
            return master.call("signup.accept", me, reference=args.reference)
        return master.call("signup.reject", me, reference=args.reference, reason=args.reason)
    if action == "list":
        return master.call("ticket.list", me, login=args.user, include_closed=args.all)
    if action == "show":
        return master.call("ticket.get", me, reference=args.reference)
    if action == "open":
        return master.call("ticket.create", me, title=args.title, text=args.text,
                           kind=args.kind, login=args.user, tree=args.tree,
                           computer=args.computer, **_attached(args.attach))
    if action == "reply":
        return master.call("ticket.post", me, reference=args.reference, text=args.text,
                           **_attached(args.attach))
    if action == "assign":
        return master.call("ticket.assign", me, reference=args.reference, assignee=args.to)
    if action in ("close", "reopen"):
        return master.call("ticket." + action, me, reference=args.reference, text=args.text)
    if action == "attachment":
        document = master.call("ticket.attachment", me, reference=args.reference,
                               message=args.message)
        os.makedirs(args.out, exist_ok=True)
        # The name is the sender's: only its last component, never a path out of --out.
        path = os.path.join(args.out, os.path.basename(document.filename) or "attachment")
        with open(path, "wb") as handle:
            handle.write(document.content)
        return {"ticket": document.ticket, "message": document.message,
                "media_type": document.media_type, "file": os.path.abspath(path),
                "bytes": len(document.content)}
    raise AssertionError("unhandled ticket command %r" % (action,))
