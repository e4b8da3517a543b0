"""Release parameter schemas: read from next to a release, resolved, enforced at request."""

import json
import os

from slap_core import errors, release_schemas
from tests.fixtures import MasterTestCase
from twisted.trial import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEMCACHED = os.path.join(ROOT, "tests", "memcached", "software.cfg")


def write(directory, name, document):
    with open(os.path.join(directory, name), "w") as handle:
        json.dump(document, handle) if not isinstance(document, str) else handle.write(document)


class LoadTests(unittest.TestCase):
    """slap_core.release_schemas.load on files."""

    def release(self, descriptor, **files):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        write(directory, "software.cfg.json", descriptor)
        for name, document in files.items():
            write(directory, name.replace("_json", ".json"), document)
        return os.path.join(directory, "software.cfg")

    def test_the_memcached_demo_release(self):
        schema = release_schemas.load(MEMCACHED)
        (entry,) = schema["types"]
        self.assertEqual((schema["name"], entry["id"], entry["serialisation"]),
                         ("Memcached", "default", "xml"))
        self.assertEqual(sorted(entry["request"]["properties"]), ["memory-mb", "tcp-port"])
        self.assertEqual(sorted(entry["response"]["properties"]), ["ip", "tcp_port"])

    def test_refs_to_other_files_and_within_them_are_resolved(self):
        url = self.release(
            {"serialisation": "json-in-xml", "software-type": {"default": {
                "request": "input.json", "response": "output.json"}}},
            input_json={"$schema": "https://json-schema.org/draft/2020-12/schema",
                        "allOf": [{"$ref": "./common.json#/$defs/size"}]},
            common_json={"$defs": {"size": {"type": "object", "properties": {
                "ram": {"$ref": "#/$defs/ram"}}}, "ram": {"type": "integer", "minimum": 512}}},
            output_json={"type": "object"})
        entry = release_schemas.load(url)["types"][0]
        self.assertEqual(entry["request"]["allOf"][0]["properties"]["ram"],
                         {"type": "integer", "minimum": 512})

    def test_what_keeps_a_release_without_schema(self):
        missing = os.path.join(os.path.abspath(self.mktemp()), "software.cfg")
        cases = [
            (missing, "cannot read"),
            (self.release("not json"), "not JSON"),
            (self.release({"software-type": {"default": {"request": "nowhere.json"}}}),
             "cannot read"),
            (self.release({"software-type": {"a": {"software-type": "x", "request": "i.json"},
                                             "b": {"software-type": "x", "request": "i.json"}}},
                          i_json={}), "described twice"),
            (self.release({"software-type": {"default": {"request": "i.json"}}},
                          i_json={"type": 12}), "not a valid JSON Schema"),
            (self.release({"software-type": {"default": {"request": "i.json"}}},
                          i_json={"$ref": "#/a"}, ), "names nothing"),
            (self.release({"software-type": {"default": {"request": "i.json"}}},
                          i_json={"$ref": "#"}), "cycle"),
            ("ftp://example.org/software.cfg", "only file, http and https"),
        ]
        for url, reason in cases:
            with self.assertRaisesRegex(release_schemas.SchemaUnavailable, reason, msg=url):
                release_schemas.load(url)

    def test_which_entry_describes_a_request(self):
        schema = {"types": [
            {"id": "default", "software_type": "default", "shared": False},
            {"id": "default-slave", "software_type": "default", "shared": True},
            {"id": "frontend", "software_type": "custom", "shared": False}]}
        pick = release_schemas.entry_for
        self.assertEqual(pick(schema, None, False)["id"], "default")
        self.assertEqual(pick(schema, "default", True)["id"], "default-slave")
        self.assertEqual(pick(schema, "custom", False)["id"], "frontend")
        self.assertEqual(pick(schema, "frontend", False)["id"], "frontend")
        self.assertIsNone(pick(schema, "other", False))


class CatalogueSchemaTests(MasterTestCase):
    """catalogue.add_release reads the schema; catalogue.release_schema answers it;
    instance.request enforces it."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", supply=(MEMCACHED,))

    def test_a_catalogued_release_with_its_schema(self):
        view = self.call("catalogue.add_release", self.admin, url=MEMCACHED, product="memcached",
                         version="1.0")
        self.assertEqual((view.has_schema, view.schema_error), (True, None))
        schema = self.call("catalogue.release_schema", self.alice, url=MEMCACHED)
        (entry,) = schema.types
        self.assertEqual((schema.name, entry.id, entry.index), ("Memcached", "default", 0))
        self.assertEqual(json.loads(entry.request)["properties"]["tcp-port"]["maximum"], 65535)

    def test_a_request_must_match_it(self):
        self.call("catalogue.add_release", self.admin, url=MEMCACHED)
        with self.assertRaisesRegex(errors.Invalid, r"/tcp-port: 'eighty' is not of type "
                                                    r"'integer'"):
            self.request(self.alice, "cache", MEMCACHED, parameters={"tcp-port": "eighty"})
        with self.assertRaisesRegex(errors.Invalid, r"/: Additional properties .*'colour'"):
            self.request(self.alice, "cache", MEMCACHED, parameters={"colour": "blue"})
        with self.assertRaisesRegex(errors.Invalid, r"/memory-mb: 0 is less than the minimum"):
            self.request(self.alice, "cache", MEMCACHED, parameters={"memory-mb": "0"})
        self.assertEqual(self.call("instance.list", self.alice), [])
        view = self.request(self.alice, "cache", MEMCACHED,
                            parameters={"tcp-port": "11311", "memory-mb": "16"})
        self.assertEqual(view.parameters, {"tcp-port": "11311", "memory-mb": "16"})
        # re-requested with the parameters left out: kept, nothing to check
        self.request(self.alice, "cache", MEMCACHED, state="stopped")

    def test_json_in_xml_parameters_travel_as_one_json_parameter(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        url = os.path.join(directory, "software.cfg")
        schema = json.dumps({"serialisation": "json-in-xml", "software-type": {"default": {
            "request": {"type": "object", "properties": {"size": {"type": "integer"}},
                        "required": ["size"]}}}})
        self.call("catalogue.add_release", self.admin, url=url, schema=schema)
        self.make_computer("COMP-1", supply=(url,))
        self.request(self.alice, "a", url, parameters={"_": json.dumps({"size": 3})})
        for wrong, message in (({"size": "3"}, "takes its parameters as JSON"),
                               ({"_": "{"}, "is not JSON"),
                               ({"_": json.dumps({"size": "big"})}, "/size: 'big'"),
                               ({"_": "{}"}, "'size' is a required property")):
            with self.assertRaisesRegex(errors.Invalid, message):
                self.request(self.alice, "b", url, parameters=wrong)

    def test_a_release_without_schema_takes_anything_and_says_why(self):
        url = "https://example.invalid/nothing/software.cfg"
        view = self.call("catalogue.add_release", self.admin, url=url)
        self.assertFalse(view.has_schema)
        self.assertIn("cannot read https://example.invalid/nothing/software.cfg.json",
                      view.schema_error)
        with self.assertRaisesRegex(errors.NotFound, "has no parameter schema: cannot read"):
            self.call("catalogue.release_schema", self.alice, url=url)
        with self.assertRaisesRegex(errors.Invalid, "the schema given cannot be used"):
            self.call("catalogue.add_release", self.admin, url=url, schema="{}")


class HttpFetchTests(unittest.TestCase):
    """A release served over HTTP: its schema is read from next to it, bounded."""

    def serve(self, directory):
        import functools
        import http.server
        import threading

        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
        handler.log_message = lambda *args: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return "http://127.0.0.1:%d/" % server.server_address[1]

    def test_the_demo_release_over_http(self):
        base = self.serve(os.path.dirname(MEMCACHED))
        schema = release_schemas.load(base + "software.cfg")
        self.assertEqual(sorted(schema["types"][0]["request"]["properties"]),
                         ["memory-mb", "tcp-port"])
        with self.assertRaisesRegex(release_schemas.SchemaUnavailable, "cannot read http.*not found"):
            release_schemas.load(base + "elsewhere/software.cfg")

    def test_a_file_too_large_is_refused(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        with open(os.path.join(directory, "software.cfg.json"), "w") as handle:
            handle.write('{"software-type": {}, "padding": "%s"}'
                         % ("x" * release_schemas.MAX_FILE))
        base = self.serve(directory)
        with self.assertRaisesRegex(release_schemas.SchemaUnavailable, "larger than"):
            release_schemas.load(base + "software.cfg")
