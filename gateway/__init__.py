"""gateway: the Twisted server of slapgate: the site, TLS, authentication, limits and the CLI.

It hands a principal and a request to an adaptor in ``protocols/``; slap_core calls run in the
reactor's thread pool through :class:`gateway.core_calls.CoreCalls`.
"""
