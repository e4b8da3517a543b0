"""What the master's configuration sections share: the error a wrong value raises, and the
``role.<name> = group`` lines that map a directory's or a provider's groups to slapgate roles."""

from slap_core.principals import ROLES


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message says which."""


def roles_from(section, name, normalize=str.strip):
    """The roles of section ``[name]``: ``({group: role}, default_role)``.

    Each ``role.<role>`` line lists groups, one per line, each passed through ``normalize``
    (LDAP compares DNs without case); ``default_role`` is the role of a person in none of them
    (``user`` unless set; empty: such a person is refused).
    """
    roles = {}
    for key, value in section.items():
        if key.startswith("role."):
            role = key[len("role."):]
            if role not in ROLES:
                raise ConfigError("[%s] %s: roles are %s" % (name, key, ", ".join(ROLES)))
            for group in value.split("\n"):
                if group.strip():
                    roles[normalize(group)] = role
    default_role = section.get("default_role", "user").strip()
    if default_role and default_role not in ROLES:
        raise ConfigError("[%s] default_role is one of %s, or empty" % (name, ", ".join(ROLES)))
    return roles, default_role
