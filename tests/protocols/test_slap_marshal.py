"""protocols.slap_wire.marshal: byte-identical to slapos.util.dumps, safe and strict when loading."""

import random

from twisted.trial import unittest

from protocols.slap_wire import marshal
from protocols.slap_wire.marshal import MarshalError
from slap_core import errors
from tests import upstream

OUR_NAMESPACE = {
    "Computer": marshal.computer,
    "ComputerPartition": marshal.computer_partition,
    "SoftwareRelease": marshal.software_release,
    "SoftwareInstance": marshal.software_instance,
    "with_attributes": upstream.with_attributes,
}


def survives_loading(expression):
    """Whether loading the sample's marshal gives it back (bytes load as str, nan != nan)."""
    return not any(word in expression for word in ("nan", "c.append", "__setitem__", "b'"))


def evaluate(expression):
    """A sample built with our classes (each evaluation gets fresh names for ``:=``)."""
    return eval(expression, dict(OUR_NAMESPACE))


ALL_XML_CHARACTERS = ("''.join(map(chr, [*range(0x20, 0xd800), *range(0xe000, 0xfffe)]))"
                      " + '\\t\\n\\r\\U00010000\\U0001F600\\U0010FFFF'")

COMPUTER_INFORMATION = """with_attributes(Computer('COMP-1'),
    _software_release_list=[with_attributes(SoftwareRelease('http://sr/a.cfg', 'COMP-1'),
                                            _requested_state='available'),
                            with_attributes(SoftwareRelease('http://sr/b.cfg', 'COMP-1'),
                                            _requested_state='destroyed')],
    _computer_partition_list=[
        with_attributes(ComputerPartition('COMP-1', 'slappart0', None),
            _instance_guid='SOFTINST-1', _need_modification=1, _requested_state='started',
            _access_status='#access OK', _filter_dict={'retention_delay': '0'},
            _software_release_document=with_attributes(
                SoftwareRelease('http://sr/a.cfg', 'COMP-1'), _requested_state='available'),
            _parameter_dict={'ip_list': [('slappart0', '10.0.0.1')], 'timestamp': '1795549600.3',
                             'slap_software_type': 'default', 'instance_title': 'a&b <c>',
                             'full_ip_list': [], 'slave_instance_list': [{'slave_title': 'é'}]},
            _connection_dict={'url': 'http://10.0.0.1:8080/?a=1&b=2'}),
        with_attributes(ComputerPartition('COMP-1', 'slappart1', None),
            _instance_guid=None, _need_modification=0, _requested_state='destroyed',
            _software_release_document=None)])"""

SAMPLES = [
    # strings and bytes
    "''", "'x<y&z'", "'a & b < c > d'", "'&amp; &lt; &gt; already escaped'", "'quote \" and \\''",
    "']]>'", "'tab\\tnew\\nline\\rcr\\r\\n'", "'  spaces  '", "'é ünïcödé ∑'",
    "'\\U0001F600 astral'", "'\\x7f\\x80\\x85\\xa0\\u2028\\ufffd'", ALL_XML_CHARACTERS,
    "b'bytes'", "b''", "'é<&>'.encode()",
    # numbers
    "0", "1", "-1", "2**31", "2**63", "-2**63 - 1", "10**24", "10**24 - 1", "int(1e24)",
    "int(1e24) - 1", "-int(1e24)", "-int(1e24) + 1", "10**100", "-10**100", "10**4299",
    "0.0", "-0.0", "1.5", "1e16", "1e-7", "0.1", "1/3", "float('inf')", "float('-inf')",
    "float('nan')", "1.7976931348623157e308", "5e-324", "123456789.123456789", "1+2j",
    "complex(0, -1.5)", "True", "False", "None",
    # containers
    "()", "(1,)", "[]", "{}", "set()", "{1, 2, 3}", "{-1, 10**30, 2**61, 0}", "[1, 'a', None]",
    "((1, 2), [3], {'k': (4,)})", "{'b': 1, 'a': 2, 'c': {'z': [], 'y': {}}}",
    "{'b': {'d': 1}, 'a': [{'c': 2}], 'e': (set(),)}",
    "{1: 'a', 'a': 1, None: 2, (1, 'x'): 3, (1, 2): 4, b'k': 5, 2.5: 6, True: 7}",
    "{b'b': 1, 'a': 2, b'a': 3, 'b': 4}", "{2: 'x', 1.5: 'y', -3: 'z', False: 'f', 10**30: 'l'}",
    "{(): 1, (1,): 2, ('a',): 3, (None,): 4}", "{'B': 1, 'a': 2, '_': 3, 'é': 4, '1': 5}",
    "[{'k%03d' % i: [i, str(i)]} for i in range(50)]",
    # repeated and cyclic containers
    "[(l := [1]), l, {'x': l}, (l, l)]", "[(d := {'k': 'v'}), d, [d]]", "[(s := {1}), s]",
    "((l := []), l)", "[(l := []), [l, [l]]]", "(c := [], c.append(c), c)[2]",
    "(d := {}, d.__setitem__('self', d), d)[2]", "[(t := ([1], [1])), t]",
    # the four slapos.slap.slap classes
    "Computer('COMP-1')", "ComputerPartition('COMP-1', 'slappart0')",
    "ComputerPartition(request_dict={'software_release': 'http://sr', 'shared_xml': "
    "'<marshal><bool>0</bool></marshal>'})",
    "SoftwareRelease('http://sr/software.cfg', 'COMP-1')", "SoftwareRelease()",
    "SoftwareInstance()", "SoftwareInstance(_instance_guid='SOFTINST-1', _parameter_dict={'a': 'b'})",
    "SoftwareInstance(_connection_dict={}, _instance_guid='slaprunner-slappart0', "
    "_parameter_dict={'foo': 'bar', 'name': 'alice', 'timestamp': '1795549600.360711'}, "
    "_requested_state='started', connection_xml=None, "
    "ip_list=[('slappart0', '127.0.0.1')], slap_computer_id='slaprunner', "
    "slap_computer_partition_id='slappart0', slap_server_url='slap_server_url', "
    "slap_software_release_url='$DEMO/sr/software.cfg', slap_software_type='default')",
    "[(c := Computer('C')), c, [c]]",
    "[(sr := SoftwareRelease('u', 'C')), "
    "with_attributes(ComputerPartition('C', 'p'), _software_release_document=sr)]",
    COMPUTER_INFORMATION,
]

REFUSED = [
    "'\\x00'", "'a\\x1fb'", "'\\x0b'", "'\\ud800'", "'\\udfff'", "'\\ufffe'", "'\\uffff'",
    "b'\\xff'", "10**4300", "frozenset([1])", "object()", "Exception('x')",
    "__import__('collections').OrderedDict()", "type('MyInt', (int,), {})(1)",
    "type('MyStr', (str,), {})('s')", "[1, {'k': '\\x01'}]", "bytearray(b'x')",
]

DOCUMENTS = [
    '<marshal><string>x&lt;y</string></marshal>',
    '<marshal><string>a&amp;lt;b &amp;amp;lt; &amp;gt;</string></marshal>',
    '<marshal><unicode>u</unicode></marshal>', '<marshal><string/></marshal>',
    '<marshal><string>&#233;&#128512;&#13;&#x41;</string></marshal>',
    '<marshal><string><![CDATA[<&>]]></string></marshal>',
    '<marshal>\n  <list id="i2">\n    <int> 1 </int>\n    <long>5</long>\n  </list>\n</marshal>',
    '<marshal><tuple id="i9"><int>-1</int></tuple></marshal>',
    '<marshal><list><int>1</int></list></marshal>',
    '<marshal><dictionary id="i2"><string>b</string><int>1</int><string>a</string>'
    '<reference id="i2"/></dictionary></marshal>',
    '<marshal><float>1e+16</float></marshal>', '<marshal><float>-inf</float></marshal>',
    '<marshal><complex>1.0 -2.5</complex></marshal>', '<marshal><bool>0</bool></marshal>',
    '<?xml version="1.0" encoding="utf-8"?><marshal><none/></marshal>',
]


class UpstreamByteIdentityTests(unittest.TestCase):
    """Compared with slapos.util.dumps/loads of slapos.core 1.26.1, run in .venv-upstream."""

    def setUp(self):
        self.upstream = upstream.reference(self, dumps=SAMPLES + REFUSED, loads=DOCUMENTS)

    def test_dumps_is_byte_identical_to_upstream_for_every_sample(self):
        mismatches = []
        for expression, result in zip(SAMPLES, self.upstream["dumps"]):
            if "ok" not in result:
                mismatches.append((expression[:60], "upstream refused: " + result["error"]))
                continue
            ours = marshal.dumps(evaluate(expression))
            if ours != result["ok"]:
                mismatches.append((expression[:60], ours[:300], result["ok"][:300]))
        self.assertEqual(mismatches, [])

    def test_dumps_returns_bytes_like_upstream(self):
        self.assertIsInstance(self.upstream["dumps"][0]["ok"], bytes)
        self.assertIsInstance(marshal.dumps(""), bytes)

    def test_dumps_refuses_exactly_what_upstream_refuses(self):
        results = self.upstream["dumps"][len(SAMPLES):]
        accepted_upstream = [e for e, r in zip(REFUSED, results) if "ok" in r]
        self.assertEqual(accepted_upstream, [])
        for expression in REFUSED:
            self.assertRaises(MarshalError, marshal.dumps, evaluate(expression))

    def test_loads_reads_upstream_output_back_to_the_same_bytes(self):
        mismatches = []
        for expression, result in zip(SAMPLES, self.upstream["dumps"]):
            if "b'" in expression:  # bytes keys load as str keys, which sort differently
                continue
            document = result["ok"]
            again = marshal.dumps(marshal.loads(document))
            if again != document:
                mismatches.append((expression[:60], again[:300], document[:300]))
        self.assertEqual(mismatches, [])

    def test_loads_reads_hand_written_documents_as_upstream_does(self):
        mismatches = []
        for document, result in zip(DOCUMENTS, self.upstream["loads"]):
            ours = repr(marshal.loads(document))
            if ours != result.get("ok"):
                mismatches.append((document, ours, result))
        self.assertEqual(mismatches, [])


class RoundTripTests(unittest.TestCase):
    """dumps then loads gives the value back; the format's details hold without upstream."""

    def test_spec_example_string_is_double_escaped(self):
        self.assertEqual(marshal.dumps("x<y&z"),
                         b"<marshal><string>x&amp;lt;y&amp;amp;z</string></marshal>")
        self.assertEqual(marshal.loads(b"<marshal><string>x&amp;lt;y&amp;amp;z</string></marshal>"),
                         "x<y&z")

    def test_every_acyclic_sample_survives_dumps_then_loads(self):
        for expression in SAMPLES:
            value = evaluate(expression)
            if not survives_loading(expression):
                continue
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            self.assertEqual(marshal.loads(marshal.dumps(value)), value, expression[:60])

    def test_loads_accepts_str_as_well_as_bytes(self):
        self.assertEqual(marshal.loads("<marshal><string>é</string></marshal>"), "é")
        self.assertEqual(marshal.loads("<marshal><string>é</string></marshal>".encode()), "é")

    def test_non_ascii_is_written_as_decimal_character_references(self):
        self.assertEqual(marshal.dumps("é\U0001F600"),
                         b"<marshal><string>&#233;&#128512;</string></marshal>")

    def test_long_starts_at_the_float_1e24_not_at_ten_to_the_24(self):
        self.assertEqual(marshal.dumps(999999999999999983222783),
                         b"<marshal><int>999999999999999983222783</int></marshal>")
        self.assertEqual(marshal.dumps(10**24 - 1),
                         b"<marshal><long>999999999999999999999999</long></marshal>")

    def test_ids_follow_document_order_and_repeats_become_references(self):
        shared = {"a": "b"}
        value = [marshal.computer_partition(request_dict=shared), shared, []]
        self.assertEqual(marshal.dumps(value), (
            b'<marshal><list id="i2"><object id="i3" module="slapos.slap.slap" '
            b'class="ComputerPartition"><tuple><none/><none/><dictionary id="i4"><string>a'
            b'</string><string>b</string></dictionary></tuple><dictionary id="i5"><string>'
            b'_computer_id</string><none/><string>_partition_id</string><none/><string>'
            b'_request_dict</string><reference id="i4"/></dictionary></object>'
            b'<reference id="i4"/><list id="i6"/></list></marshal>'))

    def test_references_load_as_the_same_container(self):
        loaded = marshal.loads(marshal.dumps([(shared := [1]), shared, {"x": shared}]))
        self.assertIs(loaded[0], loaded[1])
        self.assertIs(loaded[0], loaded[2]["x"])

    def test_cycles_survive_dumps_then_loads(self):
        cycle = []
        cycle.append(cycle)
        loaded = marshal.loads(marshal.dumps(cycle))
        self.assertIs(loaded[0], loaded)

    def test_a_referenced_object_loads_as_that_object(self):
        computer = marshal.computer("C")
        loaded = marshal.loads(marshal.dumps([computer, computer]))
        self.assertIs(loaded[0], loaded[1])
        self.assertEqual(loaded[0], computer)

    def test_object_without_attributes_is_written_as_none_and_read_back(self):
        document = marshal.dumps(marshal.software_instance())
        self.assertEqual(document, b'<marshal><object id="i2" module="slapos.slap.slap" '
                                   b'class="SoftwareInstance"><tuple/><none/></object></marshal>')
        self.assertEqual(marshal.loads(document), marshal.software_instance())

    def test_helpers_set_the_attributes_upstream_constructors_set(self):
        self.assertEqual(marshal.computer("C").attributes, {"_computer_id": "C"})
        self.assertEqual(marshal.software_release("u", "C").attributes,
                         {"_software_release": "u", "_computer_guid": "C",
                          "_software_instance_list": []})
        partition = marshal.computer_partition("C", "p", _need_modification=1)
        self.assertEqual(partition.args, ("C", "p", None))
        self.assertEqual(partition.attributes["_need_modification"], 1)
        self.assertRaises(TypeError, marshal.computer_partition, "C", "p", {"a": "b"})
        self.assertRaises(TypeError, marshal.computer_partition, "C")

    def test_dumps_refuses_unknown_types_with_marshal_error(self):
        for value in (object(), frozenset(), bytearray(), "\x00", b"\xff", 10**5000):
            self.assertRaises(MarshalError, marshal.dumps, value)
        deep = []
        for _ in range(5000):
            deep = [deep]
        self.assertRaises(MarshalError, marshal.dumps, deep)

    def test_slap_object_refuses_other_classes(self):
        self.assertRaises(MarshalError, marshal.SlapObject, "OpenOrder")


def marshal_document(body):
    return "<marshal>%s</marshal>" % body


MALFORMED = [
    "", "not xml", "<marshal>", "<marshal><string>a</marshal>", "<other><int>1</int></other>",
    "<string>no root</string>", marshal_document(""), marshal_document("<int>1</int><int>2</int>"),
    marshal_document("text<int>1</int>"), marshal_document("<code>YWJj</code>"),
    marshal_document("<pickle>x</pickle>"), '<m:marshal xmlns:m="urn:x"><m:int>3</m:int></m:marshal>',
    marshal_document('<int xmlns="urn:x">1</int>'),
    marshal_document("<int></int>"), marshal_document("<int>1.5</int>"),
    marshal_document("<int>0x10</int>"), marshal_document("<int>1_000</int>"),
    marshal_document("<int>١</int>"), marshal_document("<int>%s</int>" % ("9" * 5000)),
    marshal_document("<long>abc</long>"), marshal_document("<float>1,5</float>"),
    marshal_document("<float></float>"), marshal_document("<float>1e99999</float>x"),
    marshal_document("<complex>1.0</complex>"), marshal_document("<complex>a b</complex>"),
    marshal_document("<bool>2</bool>"), marshal_document("<bool>True</bool>"),
    marshal_document("<none>x</none>"), marshal_document("<string>a<int>1</int></string>"),
    marshal_document('<list id="i2">junk<int>1</int></list>'),
    marshal_document('<dictionary id="i2"><string>a</string></dictionary>'),
    marshal_document('<dictionary id="i2"><list id="i3"/><int>1</int></dictionary>'),
    marshal_document('<set id="i2"><dictionary id="i3"/></set>'),
    marshal_document('<reference id="i7"/>'),
    marshal_document('<list id="i2"><reference id="i3"/><list id="i3"/></list>'),
    marshal_document('<list id="i2"><list id="i2"/></list>'),
    marshal_document('<reference/>'),
    marshal_document('<object id="i2" module="os" class="system"><tuple><string>touch /tmp/pwned'
                     '</string></tuple><dictionary id="i3"/></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="OpenOrder"><tuple/>'
                     '<dictionary id="i3"/></object>'),
    marshal_document('<object id="i2" class="Computer"><tuple><string>C</string></tuple>'
                     '<dictionary id="i3"/></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="Computer"><tuple/>'
                     '<dictionary id="i3"/></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="Computer">'
                     '<list id="i3"><string>C</string></list><dictionary id="i4"/></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="Computer">'
                     '<tuple><string>C</string></tuple></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="SoftwareInstance"><tuple/>'
                     '<dictionary id="i3"><int>1</int><int>2</int></dictionary></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="SoftwareInstance"><tuple/>'
                     '<list id="i3"/></object>'),
    marshal_document('<object id="i2" module="slapos.slap.slap" class="ComputerPartition"><tuple>'
                     '<string>C</string><string>p</string><dictionary id="i3"/></tuple><none/>'
                     '</object>'),
    marshal_document("<list>" * 300 + "</list>" * 300),
    marshal_document("<string>&#1;</string>"), marshal_document("<string>&bogus;</string>"),
    b"<marshal><string>\xff\xfe</string></marshal>",
]


class HostileInputTests(unittest.TestCase):
    """loads refuses hostile or malformed documents, always with MarshalError."""

    def test_marshal_error_is_a_value_error_and_an_invalid_input(self):
        self.assertTrue(issubclass(MarshalError, ValueError))
        self.assertTrue(issubclass(MarshalError, errors.Invalid))

    def test_billion_laughs_is_refused(self):
        entities = "".join('<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
                           % ((i,) + (i - 1,) * 10) for i in range(1, 10))
        document = ('<?xml version="1.0"?><!DOCTYPE marshal [<!ENTITY l0 "lol">%s]>'
                    "<marshal><string>&l9;</string></marshal>" % entities)
        self.assertRaises(MarshalError, marshal.loads, document)

    def test_external_entity_is_refused(self):
        document = ('<?xml version="1.0"?><!DOCTYPE marshal [<!ENTITY x SYSTEM '
                    '"file:///etc/passwd">]><marshal><string>&x;</string></marshal>')
        self.assertRaises(MarshalError, marshal.loads, document)

    def test_a_class_outside_the_four_is_refused_without_being_imported(self):
        document = marshal_document('<object id="i2" module="os" class="system"><tuple><string>'
                                    'id</string></tuple><dictionary id="i3"/></object>')
        error = self.assertRaises(MarshalError, marshal.loads, document)
        self.assertIn("os.system", str(error))

    def test_oversize_documents_are_refused(self):
        document = marshal_document("<string>%s</string>" % ("a" * 2000))
        self.assertRaises(MarshalError, marshal.loads, document, max_bytes=1000)
        self.assertEqual(len(marshal.loads(document)), 2000)
        huge = marshal_document("<string>%s</string>" % ("a" * (8 * 1024 * 1024)))
        self.assertRaises(MarshalError, marshal.loads, huge)

    def test_every_malformed_document_raises_marshal_error(self):
        for document in MALFORMED:
            try:
                marshal.loads(document)
            except MarshalError:
                continue
            self.fail("accepted: %r" % (document[:120],))

    def test_inputs_that_are_not_text_raise_marshal_error(self):
        for data in (None, 12, ["<marshal/>"]):
            self.assertRaises(MarshalError, marshal.loads, data)

    def test_mutated_documents_load_or_raise_marshal_error_only(self):
        randomness = random.Random(20240611)
        seeds = [marshal.dumps(evaluate(expression)).decode()
                 for expression in (COMPUTER_INFORMATION, SAMPLES[-3], "[1, 2.5, 'a&b', None]")]
        pieces = ["<", ">", "/", "&", ";", "id=\"i2\"", "<reference id=\"i3\"/>", "<tuple>",
                  "</dictionary>", "<int>", "x", "\"", "<object module=\"slapos.slap.slap\" "
                  "class=\"Computer\">", "&amp;", "&#0;", "1e5"]
        for _ in range(600):
            document = randomness.choice(seeds)
            for _ in range(randomness.randint(1, 4)):
                start = randomness.randrange(len(document))
                end = start + randomness.randint(0, 12)
                document = document[:start] + randomness.choice(pieces + [""]) + document[end:]
            try:
                marshal.loads(document)
            except MarshalError:
                pass
