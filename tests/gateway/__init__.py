"""The Twisted server: the process, logins (local, LDAP, SSO, tokens, TLS), limits and logs."""
