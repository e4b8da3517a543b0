"""The ``[oidc]`` section: which provider to trust and how to read people from its tokens."""

from dataclasses import dataclass, field

from gateway.settings import ConfigError, roles_from

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512", "EdDSA")


@dataclass
class OidcSettings:
    """Which provider to trust and how to read people from its tokens.

    ``issuer``: the provider's issuer URL (tokens' ``iss`` must equal it); ``audience``: the
    ``aud`` value tokens must carry for slapgate; ``jwks_url`` / ``jwks_file``: where the signing
    keys are (neither: discovery from ``<issuer>/.well-known/openid-configuration``);
    ``algorithms``: accepted signature algorithms (asymmetric only); ``leeway``: seconds of clock
    skew allowed on ``exp``/``nbf``/``iat``; ``login_claim``: the claim holding the login (``sub``
    when absent); ``roles_claim``: the claim listing the person's groups (a dotted path such as
    ``realm_access.roles`` reaches into objects); ``roles``: group -> slapgate role;
    ``default_role``: the role of a person in none of those groups (empty: refused);
    ``timeout``: seconds for each exchange with the provider; ``refresh_interval``: the least
    number of seconds between two key fetches caused by unknown key ids; ``jwks_ttl``: seconds
    keys are trusted before they are fetched again. The web login (``/auth``) is on when
    ``client_id`` is set: ``client_secret``, ``redirect_uri`` (default: ``/auth/callback`` on the
    address the browser used), ``scopes`` and ``session_ttl`` (seconds a login lasts).
    """

    issuer: str
    audience: str
    jwks_url: str = ""
    jwks_file: str = ""
    algorithms: tuple = ("RS256", "PS256", "ES256")
    leeway: float = 60.0
    login_claim: str = "preferred_username"
    roles_claim: str = "groups"
    roles: dict = field(default_factory=dict)
    default_role: str = "user"
    timeout: float = 5.0
    refresh_interval: float = 10.0
    jwks_ttl: float = 3600.0
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = ""
    scopes: str = "openid profile email"
    session_ttl: float = 8 * 3600.0

    @property
    def discovery_url(self):
        """The issuer's OpenID Connect discovery document."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def settings_from(section):
    """OidcSettings from a configparser section ``[oidc]`` (``role.<name> = group`` lines)."""
    if not section.get("issuer") or not section.get("audience"):
        raise ConfigError("[oidc] needs issuer and audience")
    if section.get("jwks_url") and section.get("jwks_file"):
        raise ConfigError("[oidc] takes jwks_url or jwks_file, not both")
    roles, default_role = roles_from(section, "oidc")
    algorithms = tuple(section.get("algorithms", "RS256 PS256 ES256").split())
    unsafe = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
    if unsafe or not algorithms:
        raise ConfigError("[oidc] algorithms are among %s (no 'none', no HS*): not %s"
                          % (" ".join(ASYMMETRIC_ALGORITHMS), " ".join(unsafe)))
    numbers = {}
    for key, default in (("leeway", "60"), ("timeout", "5"), ("refresh_interval", "10"),
                         ("jwks_ttl", "3600"), ("session_ttl", "28800")):
        try:
            numbers[key] = float(section.get(key, default))
        except ValueError:
            raise ConfigError("[oidc] %s is a number of seconds" % key) from None
        if numbers[key] < 0:
            raise ConfigError("[oidc] %s is not negative" % key)
    if numbers["timeout"] <= 0 or numbers["session_ttl"] <= 0:
        raise ConfigError("[oidc] timeout and session_ttl are positive")
    for key in ("issuer", "jwks_url", "redirect_uri"):
        value = section.get(key, "")
        if value and not value.startswith(("https://", "http://")):
            raise ConfigError("[oidc] %s is an http(s) URL" % key)
    return OidcSettings(
        issuer=section["issuer"], audience=section["audience"],
        jwks_url=section.get("jwks_url", ""), jwks_file=section.get("jwks_file", ""),
        algorithms=algorithms, login_claim=section.get("login_claim", "preferred_username"),
        roles_claim=section.get("roles_claim", "groups"), roles=roles,
        default_role=default_role, client_id=section.get("client_id", ""),
        client_secret=section.get("client_secret", ""),
        redirect_uri=section.get("redirect_uri", ""),
        scopes=section.get("scopes", "openid profile email"), **numbers)
