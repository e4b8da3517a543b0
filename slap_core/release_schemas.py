"""Release parameter schemas: a release's ``software.cfg.json`` and the JSON Schemas it names.

A SlapOS release at ``.../software.cfg`` describes itself in ``.../software.cfg.json``: a name,
a description, a ``serialisation`` (``xml``: parameters are strings, one per key;
``json-in-xml``: one ``_`` parameter holding a JSON document) and, per software type, the JSON
Schema of a request (``request``) and of the connection parameters (``response``), as URLs
relative to the release (``shared/spec/software-schema.md``). The master reads them once, when
the release is catalogued, and keeps them resolved: every ``$ref`` (to another file or within
one) replaced by what it names, so that what validates a request is what a form shows.

Fetching is bounded (size, time, number of files) and never fatal: a release whose schema cannot
be read is kept without one, with the reason.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import jsonschema

from slap_core import errors

MAX_FILE = 1024 * 1024
MAX_FILES = 32
TIMEOUT = 5.0
MAX_DEPTH = 64
JSON_KEY = "_"  # json-in-xml: the one parameter holding the JSON document
SERIALISATIONS = ("xml", "json-in-xml")


class SchemaUnavailable(Exception):
    """The release's schema could not be read; the message says why."""


def descriptor_url(release_url):
    """Where a release's descriptor is: its URL (without a query) + ``.json``."""
    return release_url.split("?", 1)[0] + ".json"


def _as_url(location):
    if "://" in location:
        return location
    return "file://" + urllib.parse.quote(os.path.abspath(location))


def fetch_json(url):
    """The JSON document at ``url`` (file://, http://, https://), bounded; SchemaUnavailable."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("file", "http", "https"):
        raise SchemaUnavailable("cannot read %s (only file, http and https)" % url)
    try:
        if parts.scheme == "file":
            path = urllib.parse.unquote(parts.path)
            # A regular file only: a pipe or a device would never end.
            if not os.path.isfile(path):
                raise SchemaUnavailable("cannot read %s: no such file" % url)
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE + 1)
        else:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
                data = answer.read(MAX_FILE + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise SchemaUnavailable("cannot read %s: %s" % (url, reason)) from None
    if len(data) > MAX_FILE:
        raise SchemaUnavailable("%s is larger than %d bytes" % (url, MAX_FILE))
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise SchemaUnavailable("%s is not JSON: %s" % (url, error)) from None


class _Documents:
    """The files a descriptor's schemas need, fetched once each, at most MAX_FILES."""

    def __init__(self, fetch, given=None):
        self.fetch = fetch
        self.cache = dict(given or {})

    def get(self, url):
        if url not in self.cache:
            if len(self.cache) >= MAX_FILES:
                raise SchemaUnavailable("the schema names more than %d files" % MAX_FILES)
            self.cache[url] = self.fetch(url)
        return self.cache[url]


def _pointer(document, fragment, where):
    node = document
    for part in [p for p in fragment.lstrip("/").split("/") if fragment.strip("/")]:
        part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaUnavailable("%s: $ref #%s names nothing" % (where, fragment))
    return node


def dereference(node, base, root, documents, depth=0):
    """``node`` (from the document at ``base`` whose whole is ``root``) with every ``$ref``
    replaced by what it names (siblings of a ``$ref`` are kept beside it)."""
    if depth > MAX_DEPTH:
        raise SchemaUnavailable("%s: $ref nested more than %d deep (a cycle?)" % (base,
                                                                                  MAX_DEPTH))
    if isinstance(node, list):
        return [dereference(item, base, root, documents, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        target, _, fragment = node["$ref"].partition("#")
        if target:
            url = urllib.parse.urljoin(base, target)
            document = documents.get(url)
        else:
            url, document = base, root
        resolved = dereference(_pointer(document, fragment, base), url, document, documents,
                               depth + 1)
        siblings = {key: dereference(value, base, root, documents, depth + 1)
                    for key, value in node.items() if key != "$ref"}
        if not siblings:
            return resolved
        if isinstance(resolved, dict):
            return {**resolved, **siblings}
        return siblings
    return {key: dereference(value, base, root, documents, depth + 1)
            for key, value in node.items()}


def _schema(reference, release_url, documents, what):
    """A request or response schema: inline (an object) or a URL relative to the release."""
    if isinstance(reference, dict):
        return dereference(reference, descriptor_url(_as_url(release_url)), reference,
                           documents)
    if not isinstance(reference, str) or not reference:
        raise SchemaUnavailable("%s names no schema" % what)
    url = urllib.parse.urljoin(_as_url(release_url), reference)
    document = documents.get(url)
    schema = dereference(document, url, document, documents)
    if not isinstance(schema, (dict, bool)):
        raise SchemaUnavailable("%s (%s) is not a JSON Schema" % (what, url))
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as error:
        raise SchemaUnavailable("%s (%s) is not a valid JSON Schema: %s"
                                % (what, url, error.message)) from None
    return schema


def load(release_url, descriptor=None, fetch=fetch_json):
    """The resolved schema of a release: ``{name, description, serialisation, types: [...]}``,
    each type ``{id, software_type, shared, title, description, index, serialisation, request,
    response}``. ``descriptor`` is the descriptor given (a dict or JSON text), else it is read
    from next to the release. SchemaUnavailable says why there is none."""
    documents = _Documents(fetch)
    if descriptor is None:
        descriptor = documents.get(descriptor_url(_as_url(release_url)))
    elif isinstance(descriptor, str):
        try:
            descriptor = json.loads(descriptor)
        except ValueError as error:
            raise SchemaUnavailable("the schema given is not JSON: %s" % error) from None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("software-type"),
                                                          dict):
        raise SchemaUnavailable("a software.cfg.json is an object with a software-type map")
    serialisation = descriptor.get("serialisation", "xml")
    types, seen = [], set()
    for entry_id, entry in sorted(descriptor["software-type"].items()):
        if not isinstance(entry, dict):
            raise SchemaUnavailable("software type %r is not an object" % entry_id)
        software_type = entry.get("software-type") or entry_id
        shared = bool(entry.get("shared", False))
        if (software_type, shared) in seen:
            raise SchemaUnavailable("software type %r (shared: %s) is described twice"
                                    % (software_type, shared))
        seen.add((software_type, shared))
        entry_serialisation = entry.get("serialisation", serialisation)
        if entry_serialisation not in SERIALISATIONS:
            raise SchemaUnavailable("serialisation %r is not xml or json-in-xml"
                                    % (entry_serialisation,))
        types.append({
            "id": entry_id, "software_type": software_type, "shared": shared,
            "title": str(entry.get("title", entry_id)),
            "description": str(entry.get("description", "")),
            "index": entry.get("index") if isinstance(entry.get("index"), int) else None,
            "serialisation": entry_serialisation,
            "request": _schema(entry.get("request"), release_url, documents,
                               "the request schema of %r" % entry_id),
            "response": _schema(entry["response"], release_url, documents,
                                "the response schema of %r" % entry_id)
            if entry.get("response") is not None else None,
        })
    return {"name": str(descriptor.get("name", "")),
            "description": str(descriptor.get("description", "")),
            "serialisation": serialisation, "types": types}


def entry_for(schema, software_type, shared):
    """The type entry that describes a request (the node's rule: the entry of that software
    type and sharing, else the one whose id is the type), or None."""
    software_type = software_type or "default"
    for entry in schema["types"]:
        if entry["software_type"] == software_type and entry["shared"] == bool(shared):
            return entry
    for entry in schema["types"]:
        if entry["id"] == software_type and entry["shared"] == bool(shared):
            return entry
    return None


def _unstringify(parameters, schema):
    # xml serialisation: values travel as strings; the node's recipe reads integers, numbers
    # and booleans from them, so they are compared as such.
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    result = {}
    for key, value in parameters.items():
        kind = properties.get(key, {}).get("type") if isinstance(properties.get(key),
                                                                dict) else None
        result[key] = value
        if not isinstance(value, str):
            continue
        try:
            if kind == "integer":
                result[key] = int(value)
            elif kind == "number":
                result[key] = float(value)
            elif kind == "boolean" and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                result[key] = value.lower() in ("true", "1", "yes")
        except ValueError:
            pass
    return result


def check_parameters(schema, software_type, shared, parameters):
    """Invalid, with each error's JSON pointer and message, when ``parameters`` do not match
    the request schema of their software type; nothing when they do or none describes it."""
    entry = entry_for(schema, software_type, shared)
    if entry is None or entry["request"] is None:
        return
    parameters = dict(parameters or {})
    if entry["serialisation"] == "json-in-xml":
        if set(parameters) - {JSON_KEY}:
            raise errors.Invalid("software type %r takes its parameters as JSON in one %r "
                                 "parameter (json-in-xml), not %s"
                                 % (entry["id"], JSON_KEY, ", ".join(sorted(parameters))))
        try:
            instance = json.loads(parameters.get(JSON_KEY) or "{}")
        except ValueError as error:
            raise errors.Invalid("parameter %r is not JSON: %s" % (JSON_KEY, error)) from None
    else:
        instance = _unstringify(parameters, entry["request"])
    if isinstance(instance, dict):
        instance.pop("$schema", None)
    validator = jsonschema.validators.validator_for(entry["request"])(entry["request"])
    problems = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if problems:
        raise errors.Invalid("parameters do not match the schema of software type %r: %s" % (
            entry["id"], "; ".join("%s: %s" % ("/" + "/".join(str(p) for p in e.absolute_path),
                                               e.message) for e in problems[:10])))
