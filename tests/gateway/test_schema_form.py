"""A request schema as a form, the form's answers as parameters, the core's errors by field."""

import json

from twisted.trial import unittest

from gateway import schema_form

SCHEMA = {
    "type": "object", "required": ["size"],
    "allOf": [{"properties": {"ram": {"type": "integer", "minimum": 512, "default": 1024,
                                      "title": "RAM", "description": "in MB"}}}],
    "properties": {
        "size": {"enum": ["s", "m"]},
        "tap": {"type": "boolean"},
        "ratio": {"type": "number", "maximum": 1},
        "boot": {"type": "object", "properties": {"image": {"type": "string",
                                                            "textarea": True}}},
    },
}


class SchemaFormTests(unittest.TestCase):
    """gateway.schema_form."""

    def test_fields(self):
        fields = {f.name: f for f in schema_form.fields(SCHEMA, {"size": "m"},
                                                         {"ram": "too small"})}
        self.assertEqual(sorted(fields), ["p:boot", "p:ram", "p:ratio", "p:size", "p:tap"])
        self.assertEqual((fields["p:size"].kind, fields["p:size"].options,
                          fields["p:size"].value, fields["p:size"].required),
                         ("select", ["", "s", "m"], "m", True))
        ram = fields["p:ram"]
        self.assertEqual((ram.kind, ram.label, ram.attributes, ram.placeholder, ram.error),
                         ("number", "RAM", {"step": "1", "min": "512"}, "default: 1024",
                          "too small"))
        self.assertEqual(fields["p:tap"].options, ["", "true", "false"])
        self.assertEqual(fields["p:ratio"].attributes, {"step": "any", "max": "1"})
        (image,) = fields["p:boot"].children
        self.assertEqual((image.name, image.kind), ("p:boot/image", "textarea"))

    def test_parameters_by_serialisation(self):
        filled = schema_form.answers({"p:size": "s", "p:ram": "2048", "p:tap": "false",
                                      "p:boot/image": "debian", "p:ratio": " ", "csrf": "x"})
        self.assertEqual(schema_form.parameters(SCHEMA, "xml", filled),
                         {"size": "s", "ram": "2048", "tap": "false"})
        (document,) = schema_form.parameters(SCHEMA, "json-in-xml", filled).values()
        self.assertEqual(json.loads(document), {"size": "s", "ram": 2048, "tap": False,
                                                "boot": {"image": "debian"}})

    def test_the_cores_errors_by_field(self):
        message = ("parameters do not match the schema of software type 'default': "
                   "/tcp-port: 70000 is greater than the maximum of 65535; /: Additional "
                   "properties are not allowed ('x' was unexpected); /boot/image: 3 is not "
                   "of type 'string'")
        found, general = schema_form.errors_of(message)
        self.assertEqual(found, {"tcp-port": "70000 is greater than the maximum of 65535",
                                 "boot/image": "3 is not of type 'string'"})
        self.assertEqual(general, ["Additional properties are not allowed ('x' was "
                                   "unexpected)"])
        self.assertEqual(schema_form.errors_of("a title is required"),
                         ({}, ["a title is required"]))
