"""slap_core: the one model of a slapgate master.

Entities, state rules, authorization, allocation and accounting of a SlapOS master, stored with
SQLAlchemy. Nothing here imports Twisted or knows a wire format: adaptors in ``protocols/`` decode a
request, call one operation through :class:`slap_core.master.Master`, and encode the result.
"""
