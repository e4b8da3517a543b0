"""Alembic migrations of the slapgate schema; applied with :meth:`slap_core.storage.Storage.upgrade`."""
