"""The catalogue: software products and their releases (buildout profile URLs), newest first."""

from sqlalchemy import bindparam, select

from slap_core import errors
from slap_core.access import require_authenticated, require_fleet_manager
from slap_core.models import SoftwareProduct, SoftwareRelease
from slap_core.operations import operation
from slap_core.views import ProductView, ReleaseView

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


def release_view(release):
    """The ReleaseView of a release row."""
    return ReleaseView(
        url=release.url,
        product=release.product.reference if release.product else None,
        version=release.version,
        created_at=release.created_at,
    )


def _newest_first(query):
    return query.order_by(SoftwareRelease.created_at.desc(), SoftwareRelease.id.desc())


@operation("catalogue.add_release", writes=True, callers="admin, operator")
def add_release(session, principal, *, url, product=None, version="", product_title=""):
    """Register a release, optionally as a version of a product (created if new)."""
    require_fleet_manager(principal)
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
    session.flush()
    return release_view(release)


@operation("catalogue.list_products", writes=False, callers="any authenticated caller")
def list_products(session, principal):
    """List products, each with its releases newest first."""
    require_authenticated(principal)
    products = session.scalars(select(SoftwareProduct).order_by(SoftwareProduct.reference))
    result = []
    for product in products:
        releases = session.scalars(
            _newest_first(select(SoftwareRelease).where(SoftwareRelease.product_id == product.id))
        )
        result.append(
            ProductView(product.reference, product.title, tuple(release_view(r) for r in releases))
        )
    return result


@operation("catalogue.list_releases", writes=False, callers="any authenticated caller")
def list_releases(session, principal, *, product=None):
    """List releases newest first, all of them or those of one product."""
    require_authenticated(principal)
    query = select(SoftwareRelease)
    if product is not None:
        item = session.scalar(select(SoftwareProduct).where(SoftwareProduct.reference == product))
        if item is None:
            raise errors.NotFound("no software product %r" % (product,))
        query = query.where(SoftwareRelease.product_id == item.id)
    return [release_view(r) for r in session.scalars(_newest_first(query))]


@operation("catalogue.product_release_urls", writes=False, callers="any authenticated caller")
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
