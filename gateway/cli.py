"""The ``slapgate`` command: ``master`` runs the server, ``admin`` works on the database directly,
``node`` runs the node agent (``node_twisted.cli``)."""

import argparse
import dataclasses
import json
import os
import sys

from gateway import accounting_cli, support_cli
from gateway import config as master_config
from gateway.version import VERSION
from node_twisted import cli as node_cli
from node_twisted import config as node_config
from slap_core import errors
from slap_core.principals import ROLES

EXIT_ERROR = 1
EXIT_USAGE = 2


def _key_value(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE, got %r" % (text,))
    return key, value


def _parser():
    parser = argparse.ArgumentParser(prog="slapgate", description="A SlapOS master on Twisted.")
    parser.add_argument("--version", action="version", version="slapgate " + VERSION)
    commands = parser.add_subparsers(dest="command", required=True)

    master = commands.add_parser("master", help="run the master (all adaptors on one site)")
    master.add_argument("--config", help="INI file with a [master] section")
    master.add_argument("--listen", action="append", metavar="HOST:PORT",
                        help="address to listen on (repeatable; default %s)"
                        % master_config.DEFAULT_LISTEN)
    master.add_argument("--db", help="database URL or SQLite file (default var/slapgate.sqlite)")
    master.add_argument("--state-dir", help="directory for the master's own files (default var)")
    master.add_argument("--listen-tls", action="append", metavar="HOST:PORT",
                        help="address to serve HTTPS on with the master's certificate, asking "
                        "for client certificates of its CA (repeatable)")
    master.add_argument("--insecure-loopback", action="store_true", default=None,
                        help="believe SLAP callers without authentication, as slapproxy does; "
                        "refused unless every listen address is a loopback address")
    master.add_argument("--max-polls-per-minute", type=int, metavar="N",
                        help="polls of its own information a computer may make a minute before "
                        "it is answered 429 (default 120; 0: no limit)")
    master.add_argument("--node", metavar="SLAPOS_CFG",
                        help="also run a node agent with this slapos.cfg in the same process")
    node_cli.add_log_level(master)
    master.add_argument("--demo-release", metavar="URL",
                        help="register the memcached demo release at URL in the catalogue "
                        "(product memcached-demo) and print how to try it")

    admin = commands.add_parser("admin", help="administer the database without any adaptor")
    admin.add_argument("--config", help="INI file with a [master] section")
    admin.add_argument("--db", help="database URL or SQLite file")
    admin.add_argument("--state-dir", help="the master's state directory, holding its CA")
    admin.add_argument("--as", dest="as_login", default="admin",
                       help="admin login the changes are made as (default admin)")
    groups = admin.add_subparsers(dest="group", required=True)

    user = groups.add_parser("user", help="local users").add_subparsers(dest="action",
                                                                        required=True)
    add = user.add_parser("add", help="create a local user")
    add.add_argument("login")
    add.add_argument("--password", help="password (omit for a user without one)")
    add.add_argument("--role", action="append", choices=ROLES,
                     help="role (repeatable; default user)")
    add.add_argument("--full-name", default="")
    add.add_argument("--email", default="")
    password = user.add_parser("password", help="set a user's password")
    password.add_argument("login")
    password.add_argument("--password", required=True)
    user.add_parser("list", help="list people")
    cert = user.add_parser("cert", help="write a key and certificate for the slapos client")
    cert.add_argument("login")
    cert.add_argument("--out", default=".", help="directory to write <login>.key/.crt into")

    computer = groups.add_parser("computer", help="computers (nodes)").add_subparsers(
        dest="action", required=True)
    add = computer.add_parser("add", help="register a computer")
    add.add_argument("reference", nargs="?")
    add.add_argument("--title", default="")
    add.add_argument("--scope", default="open", choices=("open", "close"))
    add.add_argument("--network", help="network_guid the computer belongs to")
    add.add_argument("--project", help="project_guid the computer belongs to")
    add.add_argument("--attr", action="append", type=_key_value, default=[],
                     metavar="CATEGORY=VALUE", help="category attribute (repeatable)")
    add.add_argument("--cert-dir", help="also write the computer's key and certificate "
                     "(<reference>.key/.crt) into this directory")
    cert = computer.add_parser("cert", help="write a new key and certificate for a computer")
    cert.add_argument("reference")
    cert.add_argument("--out", default=".", help="directory to write <reference>.key/.crt into")
    update = computer.add_parser("update", help="change a computer's settings")
    update.add_argument("reference")
    update.add_argument("--title")
    update.add_argument("--scope", choices=("open", "close"))
    update.add_argument("--network")
    update.add_argument("--project")
    update.add_argument("--attr", action="append", type=_key_value, metavar="CATEGORY=VALUE")
    show = computer.add_parser("show", help="show one computer")
    show.add_argument("reference")
    computer.add_parser("list", help="list computers")

    release = groups.add_parser("release", help="the software catalogue").add_subparsers(
        dest="action", required=True)
    add = release.add_parser("add", help="register a software release")
    add.add_argument("url")
    add.add_argument("--product")
    add.add_argument("--version", default="")
    listing = release.add_parser("list", help="list releases, newest first")
    listing.add_argument("--product")
    remove = release.add_parser("remove", help="take a release out of the catalogue (refused "
                                "while a supply or a live instance uses it)")
    remove.add_argument("url")

    supply = groups.add_parser("supply", help="ask a computer to install or remove a release")
    supply.add_argument("url")
    supply.add_argument("computer")
    supply.add_argument("--state", default="available", choices=("available", "destroyed"))

    certificates = groups.add_parser("cert", help="certificates issued by the master's CA") \
        .add_subparsers(dest="action", required=True)
    listing = certificates.add_parser("list", help="list certificates, newest first")
    listing.add_argument("--computer")
    listing.add_argument("--login")
    listing.add_argument("--all", action="store_true", help="include revoked certificates")
    revoke = certificates.add_parser("revoke", help="revoke a certificate (or a computer's)")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("serial", nargs="?", help="serial number in hex, as listed")
    target.add_argument("--computer", help="revoke every certificate of this computer")
    crl = certificates.add_parser("crl", help="write the CA certificate and current CRL")
    crl.add_argument("--out", default=".", help="directory to write ca.crt and crl.pem into")

    tokens = groups.add_parser("token", help="personal API tokens for scripts") \
        .add_subparsers(dest="action", required=True)
    create = tokens.add_parser("create", help="create a token and print its secret (only once)")
    create.add_argument("--user", required=True, help="the login the token stands for")
    create.add_argument("--name", required=True, help="what the token is for (its label)")
    create.add_argument("--days", type=float, help="days until it expires (default: never)")
    listing = tokens.add_parser("list", help="list tokens (never their secrets), newest first")
    listing.add_argument("--user", help="only this person's tokens")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    revoke = tokens.add_parser("revoke", help="revoke a token")
    revoke.add_argument("reference", help="the token's reference, as listed")

    accounting_cli.add_parsers(groups)
    support_cli.add_parsers(groups)

    database = groups.add_parser("db", help="the schema").add_subparsers(dest="action",
                                                                        required=True)
    database.add_parser("upgrade", help="apply migrations up to the newest")
    database.add_parser("revision", help="print the schema revision")

    node_cli.add_parser(commands)
    return parser


def write_credentials(directory, name, view):
    """Write ``<name>.key`` (mode 0600) and ``<name>.crt`` from an issued CertificateView.

    Returns a summary (serial, expiry, file paths) for the command's output.
    """
    import os
    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = directory / (name + ".key"), directory / (name + ".crt")
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(view.private_key)
    cert_file.write_text(view.certificate)
    return {"serial": view.serial, "not_after": view.not_after,
            "key_file": str(key_file.absolute()), "cert_file": str(cert_file.absolute())}


def _admin_call(args):
    from gateway.server import local_admin, open_authority
    from slap_core.master import Master

    settings = master_config.load(args.config, database=args.db, state_dir=args.state_dir)
    # Only certificate commands open (and on first use create) the CA in the state directory.
    needs_ca = args.group == "cert" or getattr(args, "action", None) == "cert" \
        or getattr(args, "cert_dir", None)
    from gateway.server import signup_settings

    master = Master(settings.database, authority=open_authority(settings) if needs_ca else None,
                    ticket_attachment_limit=settings.ticket_attachment_limit,
                    signup=signup_settings(settings))
    try:
        if args.group == "db":
            if args.action == "upgrade":
                master.upgrade()
            return {"revision": master.storage.current_revision()}
        master.upgrade()
        me = local_admin(args.as_login)
        action = (args.group, getattr(args, "action", None))
        if action == ("user", "add"):
            return master.call("person.create", me, login=args.login, password=args.password,
                               roles=args.role or ["user"], full_name=args.full_name,
                               email=args.email)
        if action == ("user", "password"):
            return master.call("person.set_password", me, login=args.login,
                               password=args.password)
        if action == ("user", "list"):
            return master.call("person.list", me)
        if action == ("user", "cert"):
            view = master.call("certificate.issue", me, kind="user", login=args.login)
            return write_credentials(args.out, args.login, view)
        if action == ("computer", "add"):
            computer = master.call("computer.create", me, reference=args.reference,
                                   title=args.title, allocation_scope=args.scope,
                                   network_guid=args.network, project_guid=args.project,
                                   attributes=dict(args.attr))
            if not args.cert_dir:
                return computer
            view = master.call("certificate.issue", me, kind="computer",
                               computer=computer.reference)
            return dict(_to_json(computer),
                        certificate=write_credentials(args.cert_dir, computer.reference, view))
        if action == ("computer", "cert"):
            view = master.call("certificate.issue", me, kind="computer", computer=args.reference)
            return write_credentials(args.out, args.reference, view)
        if action == ("cert", "list"):
            return master.call("certificate.list", me, computer=args.computer, login=args.login,
                               include_revoked=args.all)
        if action == ("cert", "revoke"):
            return master.call("certificate.revoke", me, serial=args.serial,
                               computer=args.computer)
        if action == ("cert", "crl"):
            from pathlib import Path

            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            revoked = master.call("certificate.revoked_list", me)
            (out / "crl.pem").write_bytes(master.authority.crl(revoked))
            (out / "ca.crt").write_bytes(master.authority.certificate_pem)
            return {"revoked": len(revoked), "crl": str((out / "crl.pem").absolute()),
                    "ca": str((out / "ca.crt").absolute())}
        if action == ("token", "create"):
            return master.call("token.create", me, login=args.user, label=args.name,
                               expires_in=args.days * 86400 if args.days is not None else None)
        if action == ("token", "list"):
            return master.call("token.list", me, login=args.user, include_revoked=args.all)
        if action == ("token", "revoke"):
            return master.call("token.revoke", me, reference=args.reference)
        if action == ("computer", "update"):
            return master.call("computer.update", me, reference=args.reference,
                               title=args.title, allocation_scope=args.scope,
                               network_guid=args.network, project_guid=args.project,
                               attributes=dict(args.attr) if args.attr is not None else None)
        if action == ("computer", "show"):
            return master.call("computer.get", me, reference=args.reference)
        if action == ("computer", "list"):
            return master.call("computer.list", me)
        if action == ("release", "add"):
            return master.call("catalogue.add_release", me, url=args.url, product=args.product,
                               version=args.version)
        if action == ("release", "list"):
            return master.call("catalogue.list_releases", me, product=args.product)
        if action == ("release", "remove"):
            return master.call("catalogue.remove_release", me, url=args.url)
        if args.group == "supply":
            return master.call("supply.supply", me, url=args.url, computer=args.computer,
                               state=args.state)
        if args.group in ("pricing", "invoice", "billing"):
            return accounting_cli.call(master, me, args)
        if args.group in ("ticket", "signup"):
            return support_cli.call(master, me, args)
        raise AssertionError("unhandled admin command %r" % (action,))
    finally:
        master.close()


def _to_json(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def register_demo(master, url, node_file, node_settings):
    """Put the demo release at ``url`` in the catalogue (product ``memcached-demo``, version 1);
    the lines that say how to try it with the upstream ``slapos`` CLI."""
    from gateway.server import local_admin
    from node_twisted.local import DEMO_PRODUCT

    master.call("catalogue.add_release", local_admin(), url=url, product=DEMO_PRODUCT,
                version="1", product_title="memcached (slapgate demo release)")
    lines = ["demo: product %s (%s) is in the catalogue" % (DEMO_PRODUCT, url)]
    if node_settings is not None:
        client = os.path.join(os.path.dirname(os.path.abspath(node_file)), "slapos-client.cfg")
        slapos = os.path.join(os.path.dirname(node_settings.buildout), "slapos")
        if not os.access(slapos, os.X_OK):
            slapos = "slapos"
        command = "%s %%s --cfg %s" % (os.path.relpath(slapos), os.path.relpath(client))
        lines.append("try it: %s && %s" % (
            command % ("supply product.%s %s" % (DEMO_PRODUCT, node_settings.computer_id)),
            command % ("request mycache product.%s" % DEMO_PRODUCT)))
        lines.append("  (request again until it prints ip and tcp_port; README.md shows the rest)")
    return lines


def run_master(args):
    """Run the master until SIGTERM/SIGINT; returns the exit code."""
    from twisted.internet import reactor
    from twisted.logger import Logger

    from gateway.server import start_master

    node_settings = None
    if args.node:
        try:
            node_settings = node_config.load(args.node)
        except node_config.ConfigError as error:
            print("slapgate: node configuration error: %s" % error, file=sys.stderr)
            return EXIT_USAGE
    settings = master_config.load(args.config, listen=args.listen, database=args.db,
                                  state_dir=args.state_dir, listen_tls=args.listen_tls,
                                  insecure_loopback=args.insecure_loopback,
                                  max_polls_per_minute=args.max_polls_per_minute)
    node_cli.start_logging(getattr(args, "log_level", "info"))
    log = Logger(namespace="slapgate")
    try:
        running = start_master(reactor, settings)
    except Exception as error:  # the port is taken, the database is unreachable, ...
        log.critical("slapgate master cannot start: {error}", error=error)
        return EXIT_ERROR
    if node_settings is not None:
        from node_twisted.slap_client import CredentialsError

        try:
            node_cli.attach(reactor, node_settings)
        except CredentialsError as error:
            log.critical("slapgate: node configuration error: {error}", error=error)
            running.stop()
            return EXIT_USAGE
        print("slapgate master: node agent attached (%s)" % args.node, flush=True)
        elsewhere = node_cli.foreign_master(node_settings.master_url, running.urls())
        if elsewhere:
            print("slapgate master: WARNING %s: %s" % (args.node, elsewhere), flush=True)
    if args.demo_release:
        for line in register_demo(running.master, args.demo_release, args.node, node_settings):
            print("slapgate master: %s" % line, flush=True)
    login, password = running.credentials
    for url in running.urls():
        print("slapgate master: %s  (health: %shealth)" % (url, url), flush=True)
        print("slapgate master: dashboard %sservices (log in as below)" % url, flush=True)
        if settings.insecure_loopback:
            print("slapgate master: SLAP master_url %sslap/ (insecure, loopback only)" % url,
                  flush=True)
        elif url.startswith("https:"):
            print("slapgate master: SLAP master_url %sslap/ (client certificates)" % url,
                  flush=True)
    print("slapgate master: CA certificate %s" % running.authority.certificate_path, flush=True)
    if password:
        print("slapgate master: admin login %r, password %r" % (login, password), flush=True)
    else:
        print("slapgate master: admin login %r (password set earlier)" % (login,), flush=True)

    def stopping():
        log.info("slapgate master stopping")
        return running.stop()

    reactor.addSystemEventTrigger("before", "shutdown", stopping)
    reactor.run()
    log.info("slapgate master stopped")
    return 0


def main(argv=None):
    """Entry point of the ``slapgate`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "node":
        # before the master's imports (the CA, SQLAlchemy): a node cycle starts faster
        return node_cli.run(args)
    from gateway.ca import CertificateAuthorityError

    try:
        if args.command == "master":
            return run_master(args)
        result = _admin_call(args)
    except master_config.ConfigError as error:
        print("slapgate: configuration error: %s" % error, file=sys.stderr)
        return EXIT_USAGE
    except errors.SlapError as error:
        print("slapgate: %s: %s" % (error.code, error), file=sys.stderr)
        return EXIT_ERROR
    except CertificateAuthorityError as error:
        print("slapgate: certificate authority: %s" % error, file=sys.stderr)
        return EXIT_ERROR
    if result is not None:
        print(json.dumps(_to_json(result), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
