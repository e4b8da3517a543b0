"""protocols.slap_wire.instance_xml: byte-identical to slapos.util.dict2xml, reads like xml2dict, safely."""

import json

from twisted.trial import unittest

from protocols.slap_wire import instance_xml
from protocols.slap_wire.instance_xml import InstanceXMLError
from slap_core import errors
from tests import upstream

ALL_XML_CHARACTERS = ("''.join(map(chr, [*range(0x20, 0xd800), *range(0xe000, 0xfffe)]))"
                      " + '\\t\\n\\r\\U00010000\\U0001F600\\U0010FFFF'")

SAMPLES = [
    "{}", "{'a': ''}", "{'foo': 'bar', 'name': 'alice'}",
    "{'b': 'x', 'a': 1, 'c': None, 'd': {'n': 1}, 'e': b'by', 'f': 1.5, 'g': True, 'h': [1, 'x']}",
    "{'k\"\\'<>&\\n\\r\\t é': 'v\"\\'<>&\\n\\r\\t é]]>'}", "{b'bk': b'bv', b'ak': 'x'}",
    "{'_': __import__('json').dumps({'a': [1, 2], 'b': 'é<&>'}, indent=2)}",
    "{'a': '\\U0001F600', 'B': 'upper', '_': 'u', '1': 'digit', 'é': 'accent', ' ': 'space'}",
    "{'all': %s}" % ALL_XML_CHARACTERS, "{'x': '\\x7f\\x85\\u2028', 'y': '  padded  '}",
    "{'p%03d' % i: str(i) for i in range(200)}", "{'multi': 'line one\\nline two\\n'}",
]

REFUSED = [
    "{1: 'v'}", "{'a': 'x', b'b': 'y'}", "{'a\\x01': 'x'}", "{'a': '\\x01'}", "{'a': '\\ud800'}",
    "{'a': b'\\xff'}", "{None: 'x'}", "{'a': '\\ufffe'}",
]

DOCUMENTS = [
    '<instance><parameter id="a">1</parameter><parameter id="a">2</parameter>'
    '<parameter id="b"/></instance>',
    '<instance><parameter id="a"/><parameter id="a">2</parameter></instance>',
    '<instance><parameter id="a">1</parameter><parameter id="a">2</parameter>'
    '<parameter id="a">3</parameter></instance>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<instance>\n\t<parameter id="x"> spaced </parameter>'
    '\n</instance>',
    '<instance><parameter id="c"><![CDATA[<a&b>]]></parameter><parameter id="d">&#233;&amp;'
    '</parameter></instance>',
    "<instance/>", "<instance></instance>", '<instance><parameter id="">empty id</parameter></instance>',
]


class UpstreamByteIdentityTests(unittest.TestCase):
    """Compared with slapos.util.dict2xml/xml2dict of slapos.core 1.26.1, run in .venv-upstream."""

    def setUp(self):
        written = [instance_xml.dumps(eval(expression, {})) for expression in SAMPLES]
        self.written = written
        self.upstream = upstream.reference(self, dict2xml=SAMPLES + REFUSED,
                                           xml2dict=written + DOCUMENTS)

    def test_dumps_is_byte_identical_to_dict2xml_for_every_sample(self):
        mismatches = []
        for expression, ours, result in zip(SAMPLES, self.written, self.upstream["dict2xml"]):
            if ours.encode("utf-8") != result.get("ok", "").encode("utf-8"):
                mismatches.append((expression[:60], ours[:300], result))
        self.assertEqual(mismatches, [])

    def test_dumps_refuses_exactly_what_dict2xml_refuses(self):
        results = self.upstream["dict2xml"][len(SAMPLES):]
        self.assertEqual([e for e, r in zip(REFUSED, results) if "ok" in r], [])
        for expression in REFUSED:
            self.assertRaises(InstanceXMLError, instance_xml.dumps, eval(expression, {}))

    def test_loads_reads_every_document_as_xml2dict_does(self):
        mismatches = []
        for document, result in zip(self.written + DOCUMENTS, self.upstream["xml2dict"]):
            ours = repr(instance_xml.loads(document))
            if ours != result.get("ok"):
                mismatches.append((document[:100], ours[:200], result))
        self.assertEqual(mismatches, [])


class RoundTripTests(unittest.TestCase):
    """dumps then loads gives flat string maps back; the format's details hold without upstream."""

    def test_spec_example_is_written_exactly(self):
        self.assertEqual(instance_xml.dumps({"name": "alice", "foo": "bar"}), (
            "<?xml version='1.0' encoding='utf-8'?>\n"
            "<instance>\n"
            '  <parameter id="foo">bar</parameter>\n'
            '  <parameter id="name">alice</parameter>\n'
            "</instance>\n"))

    def test_empty_dict_is_a_self_closing_instance(self):
        self.assertEqual(instance_xml.dumps({}),
                         "<?xml version='1.0' encoding='utf-8'?>\n<instance/>\n")
        self.assertEqual(instance_xml.loads(instance_xml.dumps({})), {})

    def test_flat_string_maps_survive_dumps_then_loads(self):
        parameters = {"url": "http://h/?a=1&b=<2>", "é": "ü\U0001F600", "cr": "a\r\nb",
                      "quote": "\"'", "_": json.dumps({"k": [1, "v"]}), "id with space": " x "}
        self.assertEqual(instance_xml.loads(instance_xml.dumps(parameters)), parameters)
        self.assertEqual(instance_xml.loads(instance_xml.dumps(parameters).encode()), parameters)

    def test_empty_string_comes_back_as_none_and_none_as_the_text_none(self):
        self.assertEqual(instance_xml.loads(instance_xml.dumps({"a": "", "b": None})),
                         {"a": None, "b": "None"})

    def test_non_string_values_are_written_with_str(self):
        written = instance_xml.dumps({"i": 1, "d": {"n": 1}, "l": [1]})
        self.assertEqual(instance_xml.loads(written), {"i": "1", "d": "{'n': 1}", "l": "[1]"})

    def test_repeated_ids_are_joined_with_a_space(self):
        document = ('<instance><parameter id="a">1</parameter><parameter id="b"/>'
                    '<parameter id="a">2</parameter></instance>')
        self.assertEqual(instance_xml.loads(document), {"a": "1 2", "b": None})

    def test_no_text_gives_an_empty_dict(self):
        for text in ("", b"", None):
            self.assertEqual(instance_xml.loads(text), {})


class HostileInputTests(unittest.TestCase):
    """loads refuses hostile, malformed or off-schema documents, always with InstanceXMLError."""

    def test_instance_xml_error_is_a_value_error_and_an_invalid_input(self):
        self.assertTrue(issubclass(InstanceXMLError, ValueError))
        self.assertTrue(issubclass(InstanceXMLError, errors.Invalid))

    def test_billion_laughs_is_refused(self):
        entities = "".join('<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
                           % ((i,) + (i - 1,) * 10) for i in range(1, 10))
        document = ('<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY l0 "lol">%s]>'
                    '<instance><parameter id="a">&l9;</parameter></instance>' % entities)
        self.assertRaises(InstanceXMLError, instance_xml.loads, document)

    def test_external_entity_is_refused(self):
        document = ('<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY x SYSTEM '
                    '"file:///etc/passwd">]><instance><parameter id="a">&x;</parameter></instance>')
        self.assertRaises(InstanceXMLError, instance_xml.loads, document)

    def test_oversize_documents_are_refused(self):
        document = instance_xml.dumps({"a": "x" * 2000})
        self.assertRaises(InstanceXMLError, instance_xml.loads, document, max_bytes=1000)
        self.assertEqual(instance_xml.loads(document)["a"], "x" * 2000)

    def test_malformed_and_off_schema_documents_are_refused(self):
        for document in (
            "not xml", "   ", "<instance>", b"<instance>\xff</instance>",
            '<other><parameter id="a">1</parameter></other>',
            '<instance><parameter>no id</parameter></instance>',
            '<instance><other id="a">1</other></instance>',
            '<instance><parameter id="a">x<b>y</b></parameter></instance>',
            '<instance>text<parameter id="a">1</parameter></instance>',
            '<i:instance xmlns:i="urn:x"><i:parameter id="a">1</i:parameter></i:instance>',
            '<instance><parameter id="a">1</parameter><parameter id="a"/></instance>',
            '<instance><parameter id="a">&#1;</parameter></instance>',
            12,
        ):
            self.assertRaises(InstanceXMLError, instance_xml.loads, document)

    def test_dumps_refuses_what_cannot_be_written(self):
        for parameters in ({1: "v"}, {"a": "\x00"}, {"a": b"\xff"}, ["a"], {"a": "x", b"b": "y"}):
            self.assertRaises(InstanceXMLError, instance_xml.dumps, parameters)
