"""The REST/JSON adaptor at ``/api/``: resources over every slap_core operation.

``routes`` holds the routes and what each does with the core, ``openapi`` derives the OpenAPI 3.1
document from them (checked in as ``schemas/openapi.json``), ``resource`` serves that document's
routes and validates every request against it, ``problems`` turns errors into RFC 9457 problem
documents. See docs/rest.md.
"""
