"""SLA (filter) keys a request may carry, as the SlapOS master's allocator understands them."""

from slap_core import errors

CATEGORY_KEYS = (
    "group",
    "cpu_core",
    "cpu_frequency",
    "cpu_type",
    "local_area_network_type",
    "region",
    "memory_size",
    "memory_type",
    "storage_capacity",
    "storage_interface",
    "storage_redundancy",
)
LOCATION_KEYS = ("computer_guid", "instance_guid", "network_guid", "project_guid", "mode", "capability")
PASS_THROUGH_KEYS = (
    "retention_delay",
    "fw_restricted_access",
    "fw_rejected_sources",
    "fw_authorized_sources",
)
KNOWN_KEYS = frozenset(CATEGORY_KEYS + LOCATION_KEYS + PASS_THROUGH_KEYS)
MODES = ("unique_by_network",)
ALLOCATION_SCOPES = ("open", "close")


def unknown_keys(sla):
    """The SLA keys the allocator does not understand (with any of them, nothing is allocated)."""
    return sorted(set(sla) - KNOWN_KEYS)


def check_attributes(attributes):
    """Validate a computer's category attributes; returns them as a str -> str dict."""
    if not isinstance(attributes, dict):
        raise errors.Invalid("computer attributes are a mapping of category to value")
    unknown = set(attributes) - set(CATEGORY_KEYS)
    if unknown:
        raise errors.Invalid(
            "unknown computer categories: %s (known: %s)"
            % (", ".join(sorted(unknown)), ", ".join(CATEGORY_KEYS))
        )
    return {key: str(value) for key, value in attributes.items()}


def check_scope(scope):
    """Validate an allocation scope."""
    if scope not in ALLOCATION_SCOPES:
        raise errors.Invalid(
            "allocation scope is one of %s, not %r" % (", ".join(ALLOCATION_SCOPES), scope)
        )
    return scope
