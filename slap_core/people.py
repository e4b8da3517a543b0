"""Operations on people: local users (with hashed passwords), and "who am I"."""

from sqlalchemy import select

from slap_core import errors
from slap_core.access import person_for, require_admin, require_user
from slap_core.models import Person
from slap_core.operations import operation
from slap_core.passwords import hash_password, verify_password
from slap_core.principals import ROLES
from slap_core.views import PersonView


def person_view(person):
    """The PersonView of a Person row."""
    return PersonView(
        login=person.login,
        full_name=person.full_name,
        email=person.email,
        roles=tuple(person.roles or ()),
        has_password=person.password_hash is not None,
        phone=person.phone or "",
        organisation=person.organisation or "",
        disabled=bool(person.disabled),
        has_syncml_secret=person.syncml_digest is not None,
    )


def _check_password(password):
    # The gateway takes a Basic password with the API token prefix for a token (slap_core.tokens).
    if password and password.startswith("sgt_"):
        raise errors.Invalid("a password may not start with sgt_ (the prefix of API tokens)")
    return password


def _check_roles(roles):
    roles = sorted(set(roles or ("user",)))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise errors.Invalid("unknown role(s): %s" % ", ".join(sorted(unknown)))
    return roles


@operation("person.create", writes=True, callers="admin",
           returns=PersonView, raises=(errors.Invalid, errors.Conflict))
def create_person(session, principal, *, login, password=None, roles=("user",), full_name="",
                  email="", phone="", organisation=""):
    """Create a local user, optionally with a password (stored as a scrypt hash)."""
    require_admin(principal)
    if not login or len(login) > 255 or login != login.strip():
        raise errors.Invalid("a login is 1 to 255 characters without surrounding spaces")
    if session.scalar(select(Person).where(Person.login == login)) is not None:
        raise errors.Conflict("a person with login %r exists" % (login,))
    person = Person(
        login=login,
        password_hash=hash_password(password) if _check_password(password) else None,
        roles=_check_roles(roles),
        **_contact(full_name=full_name, email=email, phone=phone, organisation=organisation),
    )
    session.add(person)
    session.flush()
    return person_view(person)


# The longest each contact field may be.
CONTACT_LIMITS = {"full_name": 255, "email": 255, "phone": 64, "organisation": 255}


def _contact(**fields):
    """The contact fields given (None: left out), checked: strings within CONTACT_LIMITS
    without control characters, an email with an @ or empty; Invalid otherwise."""
    checked = {}
    for name, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > CONTACT_LIMITS[name] or any(
                ord(c) < 32 or ord(c) == 127 for c in value):
            raise errors.Invalid("%s is a text of at most %d characters without control "
                                 "characters" % (name.replace("_", " "), CONTACT_LIMITS[name]))
        checked[name] = value.strip()
    if checked.get("email") and "@" not in checked["email"]:
        raise errors.Invalid("an email address is name@domain, not %r" % checked["email"][:60])
    return checked


@operation("person.update", writes=True, callers="admin (anyone), a user (themselves)",
           returns=PersonView, raises=(errors.NotFound, errors.Invalid))
def update_person(session, principal, *, login, full_name=None, email=None, phone=None,
                  organisation=None, disabled=None, roles=None):
    """Change a person's contact card: name, email, phone, organisation (left out: kept); an
    admin also disables or enables them and changes their roles."""
    user = require_user(principal)
    if not (user.is_admin or user.login == login):
        raise errors.Forbidden("only an admin may change another person")
    if (disabled is not None or roles is not None) and not user.is_admin:
        raise errors.Forbidden("only an admin disables, enables or changes roles")
    if disabled and user.login == login:
        raise errors.Invalid("an admin may not disable themselves")
    if roles is not None:
        roles = _check_roles(roles)
        if user.login == login and "admin" not in roles:
            raise errors.Invalid("an admin may not take their own admin role away")
    changes = _contact(full_name=full_name, email=email, phone=phone, organisation=organisation)
    if user.login == login:
        person = person_for(session, user)
    else:
        person = session.scalar(select(Person).where(Person.login == login))
        if person is None:
            raise errors.NotFound("no person %r" % (login,))
    for name, value in changes.items():
        setattr(person, name, value)
    if disabled is not None:
        person.disabled = bool(disabled)
    if roles is not None:
        person.roles = roles
    session.flush()
    return person_view(person)


@operation("person.set_password", writes=True, callers="admin, or the user themselves",
           returns=PersonView, raises=(errors.NotFound,))
def set_password(session, principal, *, login, password):
    """Set (or, with an empty password, remove) a local user's password."""
    user = require_user(principal)
    if not (user.is_admin or user.login == login):
        raise errors.Forbidden("only an admin may change another person's password")
    person = session.scalar(select(Person).where(Person.login == login))
    if person is None:
        raise errors.NotFound("no person %r" % (login,))
    person.password_hash = hash_password(password) if _check_password(password) else None
    return person_view(person)


@operation("person.list", writes=False, callers="admin and accountant", returns=[PersonView])
def list_people(session, principal):
    """List every known person (an accountant reads them too: whom invoices go to)."""
    if not require_user(principal).reads_accounts:
        raise errors.Forbidden("only an admin or an accountant may list people")
    return [person_view(p) for p in session.scalars(select(Person).order_by(Person.login))]


@operation("person.get", writes=True, callers="admin (anyone), a user (themselves)",
           returns=PersonView, raises=(errors.NotFound,))
def get_person(session, principal, *, login):
    """Read one person by login (a directory user's own record is created on first use)."""
    user = require_user(principal)
    if user.login == login:
        return person_view(person_for(session, user))
    if not user.is_admin:
        raise errors.Forbidden("only an admin may read another person")
    person = session.scalar(select(Person).where(Person.login == login))
    if person is None:
        raise errors.NotFound("no person %r" % (login,))
    return person_view(person)


@operation("person.me", writes=True, callers="any user", returns=PersonView)
def me(session, principal):
    """The calling user's own record (created on first use for directory users)."""
    return person_view(person_for(session, require_user(principal)))


@operation("person.check_password", writes=False, callers="anyone (used by the gateway to log in)",
           returns=PersonView, raises=(errors.Unauthenticated,))
def check_password(session, principal, *, login, password):
    """Return the person's roles when the local password matches; Unauthenticated otherwise."""
    person = session.scalar(select(Person).where(Person.login == login))
    if person is None or person.password_hash is None or not verify_password(
        password, person.password_hash
    ):
        raise errors.Unauthenticated("bad login or password")
    if person.disabled:
        raise errors.Unauthenticated("%s is disabled" % login)
    return person_view(person)
