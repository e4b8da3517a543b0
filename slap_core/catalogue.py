"""The catalogue: software products and their releases (buildout profile URLs), newest first.

A release is a catalogue entry once registered (``catalogue.add_release``); a URL that a request
or a supply merely named is recorded too, as upstream masters do, but is listed only while a live
instance or a supply uses it, so a mistyped URL leaves the listing with its last instance.
``catalogue.remove_release`` takes an entry out, refused while anything uses it.
"""

import json

from sqlalchemy import bindparam, delete, exists, or_, select

from slap_core import errors, release_schemas
from slap_core.access import require_authenticated, require_fleet_manager
from slap_core.declarations import TEXT
from slap_core.models import Computer, SoftwareInstance, SoftwareProduct, SoftwareRelease, \
    Supply
from slap_core.operations import operation
from slap_core.views import ProductView, ReleaseSchemaView, ReleaseView, SoftwareTypeSchemaView

MAX_URL = 1024


def check_url(url):
    """Validate a software release URL (or local path); returns it."""
    if not isinstance(url, str) or not url.strip():
        raise errors.Invalid("a software release URL is required")
    if len(url) > MAX_URL:
        raise errors.Invalid("a software release URL is at most %d characters" % MAX_URL)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise errors.Invalid("a software release URL contains no spaces or control characters")
    return url


_RELEASE = select(SoftwareRelease).where(SoftwareRelease.url == bindparam("url"))  # built once


def ensure_release(session, url):
    """The release row for ``url``, registered on first use as upstream masters do."""
    check_url(url)
    release = session.scalar(_RELEASE, {"url": url})
    if release is None:
        release = SoftwareRelease(url=url)
        session.add(release)
        session.flush()
    return release


def release_view(release, created=False):
    """The ReleaseView of a release row (``created``: registered by the call answered)."""
    return ReleaseView(
        url=release.url,
        product=release.product.reference if release.product else None,
        version=release.version,
        created_at=release.created_at,
        catalogued=bool(release.catalogued),
        created=created,
        has_schema=release.parameter_schema is not None,
        schema_error=release.schema_error,
    )


def _newest_first(query):
    return query.order_by(SoftwareRelease.created_at.desc(), SoftwareRelease.id.desc())


@operation("catalogue.add_release", writes=True, callers="admin, operator",
           returns=ReleaseView, raises=(errors.Invalid, errors.Conflict))
def add_release(session, principal, *, url, product=None, version="", product_title="",
                schema=None):
    """Register a release, optionally as a version of a product (created if new), with its
    parameter schema: ``schema`` (a software.cfg.json) or the one next to its URL."""
    require_fleet_manager(principal)
    check_url(url)
    # Read before the first write, so that no database lock is held while a file is fetched.
    try:
        parameter_schema, schema_error = release_schemas.load(url, schema), None
    except release_schemas.SchemaUnavailable as problem:
        if schema is not None:
            raise errors.Invalid("the schema given cannot be used: %s" % problem) from None
        parameter_schema, schema_error = None, str(problem)[:2000]
    created = session.scalar(_RELEASE, {"url": url}) is None
    release = ensure_release(session, url)
    if product:
        item = session.scalar(select(SoftwareProduct).where(SoftwareProduct.reference == product))
        if item is None:
            item = SoftwareProduct(reference=product, title=product_title or product)
            session.add(item)
            session.flush()
        if release.product_id not in (None, item.id):
            raise errors.Conflict("%s is already a release of %s" % (url, release.product.reference))
        release.product = item
    if version:
        release.version = version
    release.parameter_schema, release.schema_error = parameter_schema, schema_error
    release.catalogued = True
    session.flush()
    return release_view(release, created)


@operation("catalogue.remove_release", writes=True, callers="admin, operator",
           returns=None, raises=(errors.Invalid, errors.NotFound, errors.Conflict))
def remove_release(session, principal, *, url):
    """Take a release out of the catalogue; refused while a supply or a live instance uses it"""
    require_fleet_manager(principal)
    check_url(url)
    release = session.scalar(_RELEASE, {"url": url})
    if release is None:
        raise errors.NotFound("no software release %r" % (url,))
    computers = session.scalars(
        select(Computer.reference).join(Supply, Supply.computer_id == Computer.id)
        .where(Supply.release_id == release.id).order_by(Computer.reference)).all()
    if computers:
        raise errors.Conflict("%s is supplied on %s: remove it from there first (supply.supply "
                              "with state destroyed)" % (url, ", ".join(computers)))
    live = session.scalar(select(SoftwareInstance.reference).where(
        SoftwareInstance.release_id == release.id, SoftwareInstance.archived.is_(False))
        .order_by(SoftwareInstance.id).limit(1))
    if live is not None:
        raise errors.Conflict("%s is used by instance %s: destroy its instances first"
                              % (url, live))
    if session.scalar(select(exists().where(SoftwareInstance.release_id == release.id))):
        # Archived instances still name it: the row stays for them, out of the catalogue.
        release.catalogued, release.product, release.version = False, None, ""
    else:
        session.execute(delete(SoftwareRelease).where(SoftwareRelease.id == release.id))
    session.flush()


@operation("catalogue.list_products", writes=False, callers="any authenticated caller",
           returns=[ProductView])
def list_products(session, principal):
    """List products, each with its releases newest first."""
    require_authenticated(principal)
    products = session.scalars(select(SoftwareProduct).order_by(SoftwareProduct.reference))
    return [_product_view(session, product) for product in products]


@operation("catalogue.get_product", writes=False, callers="any authenticated caller",
           returns=ProductView, raises=(errors.NotFound,))
def get_product(session, principal, *, product):
    """Read one product, with its releases newest first."""
    require_authenticated(principal)
    item = session.scalar(select(SoftwareProduct).where(SoftwareProduct.reference == product))
    if item is None:
        raise errors.NotFound("no software product %r" % (product,))
    return _product_view(session, item)


def _product_view(session, product):
    releases = session.scalars(
        _newest_first(select(SoftwareRelease).where(SoftwareRelease.product_id == product.id)))
    return ProductView(product.reference, product.title, tuple(release_view(r) for r in releases))


def _listed():
    # What the catalogue lists: its entries, and the releases a supply or a live instance uses.
    return select(SoftwareRelease).where(or_(
        SoftwareRelease.catalogued.is_(True),
        exists().where(Supply.release_id == SoftwareRelease.id),
        exists().where(SoftwareInstance.release_id == SoftwareRelease.id,
                       SoftwareInstance.archived.is_(False))))


@operation("catalogue.get_release", writes=False, callers="any authenticated caller",
           returns=ReleaseView, raises=(errors.NotFound,))
def get_release(session, principal, *, url):
    """Read one release the catalogue lists, by URL."""
    require_authenticated(principal)
    release = session.scalar(_listed().where(SoftwareRelease.url == url))
    if release is None:
        raise errors.NotFound("no software release %r" % (url,))
    return release_view(release)


@operation("catalogue.list_releases", writes=False, callers="any authenticated caller",
           returns=[ReleaseView], raises=(errors.NotFound,))
def list_releases(session, principal, *, product=None):
    """List releases newest first: catalogue entries and the releases in use, or one product's."""
    require_authenticated(principal)
    query = _listed()
    if product is not None:
        item = session.scalar(select(SoftwareProduct).where(SoftwareProduct.reference == product))
        if item is None:
            raise errors.NotFound("no software product %r" % (product,))
        query = query.where(SoftwareRelease.product_id == item.id)
    return [release_view(r) for r in session.scalars(_newest_first(query))]


@operation("catalogue.product_release_urls", writes=False, callers="any authenticated caller",
           returns=[TEXT], raises=(errors.Invalid,))
def product_release_urls(session, principal, *, product=None, url=None):
    """The URLs of a product's releases, best (newest) first; name the product or one of its URLs.

    This is SLAP's getSoftwareReleaseListFromSoftwareProduct.
    """
    require_authenticated(principal)
    if (product is None) == (url is None):
        raise errors.Invalid("give exactly one of a product reference or a release URL")
    if product is not None:
        item = session.scalar(select(SoftwareProduct).where(SoftwareProduct.reference == product))
        if item is None:
            return []
        product_id = item.id
    else:
        release = session.scalar(select(SoftwareRelease).where(SoftwareRelease.url == url))
        if release is None or release.product_id is None:
            return []
        product_id = release.product_id
    query = _newest_first(select(SoftwareRelease).where(SoftwareRelease.product_id == product_id))
    return [r.url for r in session.scalars(query)]


@operation("catalogue.release_schema", writes=False, callers="any authenticated caller",
           returns=ReleaseSchemaView, raises=(errors.NotFound,))
def release_schema(session, principal, *, url):
    """A release's parameter schema: its software types with their request and connection
    parameter JSON Schemas; NotFound when the master holds none (the release's schema_error
    says why)."""
    require_authenticated(principal)
    check_url(url)
    release = session.scalar(_RELEASE, {"url": url})
    if release is None:
        raise errors.NotFound("no software release %r" % (url,))
    if release.parameter_schema is None:
        raise errors.NotFound("%s has no parameter schema%s" % (
            url, ": " + release.schema_error if release.schema_error else ""))
    schema = release.parameter_schema
    return ReleaseSchemaView(
        url=release.url, name=schema["name"], description=schema["description"],
        serialisation=schema["serialisation"],
        types=tuple(SoftwareTypeSchemaView(
            id=t["id"], software_type=t["software_type"], shared=t["shared"], title=t["title"],
            description=t["description"], index=t["index"], serialisation=t["serialisation"],
            request=json.dumps(t["request"]),
            response=json.dumps(t["response"])
            if t["response"] is not None else None)
            for t in sorted(schema["types"], key=lambda t: (t["index"] is None,
                                                            t["index"] or 0, t["id"]))))
