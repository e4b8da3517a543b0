"""A release's request schema as an HTML form, and the form's answers as request parameters.

It follows what SlapOS's own parameter editor does (``shared/spec/software-schema.md`` section 5):
defaults are shown, never filled in, and only what the person typed is sent; an enum is a select
with an empty first choice, a boolean a select of yes/no, integers and numbers number inputs with
their bounds; nested objects are fieldsets (they can only travel as ``json-in-xml``). Under
``xml`` every value travels as a string; under ``json-in-xml`` the values, typed, travel as one
JSON document in the ``_`` parameter. Whether the answers are right is the core's to say
(``instance.request`` checks them against the same schema); its errors, named by JSON pointer,
are shown next to their fields.
"""

import json
import re
from dataclasses import dataclass, field

PREFIX = "p:"  # form field names of parameters: p:<JSON pointer without its leading slash>


@dataclass
class Field:
    """One input of the form (or a fieldset of them, ``children``)."""

    name: str
    label: str
    kind: str  # text, textarea, number, select, fieldset
    description: str = ""
    required: bool = False
    placeholder: str = ""
    options: list = field(default_factory=list)
    value: str = ""
    error: str = ""
    attributes: dict = field(default_factory=dict)
    children: list = field(default_factory=list)


def _merged(schema):
    # allOf branches (kvm's input schema is allOf of two $refs) read as one object.
    if not isinstance(schema, dict):
        return {}
    if "allOf" not in schema:
        return schema
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    for branch in schema["allOf"]:
        branch = _merged(branch)
        merged.setdefault("properties", {}).update(branch.get("properties", {}))
        merged["required"] = list(merged.get("required", [])) + list(branch.get("required", []))
        if "type" in branch:
            merged.setdefault("type", branch["type"])
    return merged


def _kind(spec):
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return kind or ("object" if "properties" in spec else "string")


def fields(schema, values=None, errors=None, path=()):
    """The form's fields for ``schema``'s properties, with the answers ``values`` ({pointer:
    text}) and ``errors`` ({pointer: message}) shown."""
    values, errors = values or {}, errors or {}
    schema = _merged(schema)
    required = set(schema.get("required", []))
    result = []
    for key, spec in schema.get("properties", {}).items():
        spec = _merged(spec) if isinstance(spec, dict) else {}
        pointer = "/".join(path + (key,))
        item = Field(name=PREFIX + pointer, label=str(spec.get("title") or key),
                     kind="text", description=str(spec.get("description", "")),
                     required=key in required, value=values.get(pointer, ""),
                     error=errors.get(pointer, ""))
        if "default" in spec:
            item.placeholder = "default: %s" % json.dumps(spec["default"])
        kind = _kind(spec)
        if "enum" in spec:
            item.kind = "select"
            item.options = [""] + [v if isinstance(v, str) else json.dumps(v)
                                   for v in spec["enum"]]
        elif kind == "boolean":
            item.kind, item.options = "select", ["", "true", "false"]
        elif kind in ("integer", "number"):
            item.kind = "number"
            item.attributes["step"] = "1" if kind == "integer" else "any"
            for bound, attribute in (("minimum", "min"), ("maximum", "max")):
                if isinstance(spec.get(bound), (int, float)):
                    item.attributes[attribute] = str(spec[bound])
        elif kind == "object":
            item.kind = "fieldset"
            item.children = fields(spec, values, errors, path + (key,))
        elif spec.get("textarea") or spec.get("format") == "textarea":
            item.kind = "textarea"
        result.append(item)
    return result


def _typed(text, spec):
    kind = _kind(spec)
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            return text == "true"
        if kind in ("array", "object") or (spec.get("enum") and not any(
                isinstance(v, str) for v in spec["enum"])):
            return json.loads(text)
    except ValueError:
        return text  # the core says what is wrong with it
    return text


def answers(form):
    """{pointer: text} of the parameter fields a person filled in (``form``: name -> text)."""
    return {name[len(PREFIX):]: value for name, value in form.items()
            if name.startswith(PREFIX) and value.strip() != ""}


def parameters(schema, serialisation, filled):
    """The request's parameters from the answers ``filled`` ({pointer: text})."""
    if serialisation != "json-in-xml":
        return {pointer: text for pointer, text in filled.items() if "/" not in pointer}
    document = {}
    for pointer, text in filled.items():
        spec, target, parts = _merged(schema), document, pointer.split("/")
        for part in parts[:-1]:
            spec = _merged(spec.get("properties", {}).get(part, {}))
            target = target.setdefault(part, {})
        spec = _merged(spec.get("properties", {}).get(parts[-1], {}))
        target[parts[-1]] = _typed(text, spec)
    return {"_": json.dumps(document)}


_ERROR = re.compile(r"(?:^|; )(/[^:;]*): ")


def errors_of(message):
    """({pointer: message}, [messages of the whole]) from the core's Invalid text."""
    if "parameters do not match the schema" not in message:
        return {}, [message]
    details = message.split(": ", 1)[1] if ": " in message else message
    found, general = {}, []
    starts = [m for m in _ERROR.finditer(details)]
    for number, match in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(details)
        text = details[match.end():end]
        pointer = match.group(1).strip("/")
        if pointer:
            found[pointer] = text
        else:
            general.append(text)
    return found, general
