"""protocols: one thin adaptor per wire format (SLAP, XML-RPC, SOAP, REST, SyncML).

Each decodes a request, calls one slap_core operation through the gateway's CoreCalls, encodes the
result, and maps slap_core errors to its protocol's own error idiom. The adaptors arrive with
their issues; ``docs/operations.md`` tracks which operation each one serves.
"""
