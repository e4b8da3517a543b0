"""The XML schemas (and later WSDL and OpenAPI documents) that define slapgate's payloads.

They are package data so that an installed slapgate finds them; :func:`path` locates one.
"""

from pathlib import Path

HERE = Path(__file__).parent


def path(name):
    """The absolute path of the schema file ``name`` (e.g. ``computer_consumption.xsd``)."""
    result = HERE / name
    if not result.is_file():
        raise FileNotFoundError(name)
    return result
