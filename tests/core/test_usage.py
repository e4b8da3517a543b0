"""Usage journals (TioXML): validation against the XSD, records tied to instances, hostile XML."""

import time

from slap_core import errors
from slap_core.principals import ComputerAgent
from tests.fixtures import SR, MasterTestCase


def journal(movements, reference="COMP-0", stop_date=None):
    """A computer_consumption journal with the given movement XML fragments, stopped today
    (UTC) unless ``stop_date`` says otherwise."""
    if stop_date is None:
        stop_date = time.strftime("%Y-%m-%d at 00:00:00", time.gmtime())
    return (
        "<journal><transaction type='Sale Packing List'><title>Resource consumptions</title>"
        "<start_date>2026-11-01 at 00:00:00</start_date><stop_date>%s</stop_date>"
        "<reference>%s</reference><currency>EUR</currency><payment_mode/>"
        "<arrow type='Administration'><source/><destination/></arrow>%s"
        "</transaction></journal>" % (stop_date, reference, "".join(movements))
    )


def movement(partition, resource="cpu_time", quantity="12.5", price="0.1"):
    """One movement element."""
    return (
        "<movement><resource>%s</resource><title>CPU</title><reference>%s</reference>"
        "<quantity>%s</quantity><price>%s</price><VAT/><category>cpu</category></movement>"
        % (resource, partition, quantity, price)
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<journal>&lol3;</journal>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE journal [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<journal>&xxe;</journal>"
)


class UsageTests(MasterTestCase):
    """usage.report and usage.list."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=2)
        self.instance = self.request(self.alice, "metered")

    def report(self, document):
        return self.call("usage.report", self.node, computer="COMP-0", document=document)

    def test_valid_journal_is_recorded_for_the_instance_and_its_owner(self):
        outcome = self.report(journal([movement(self.instance.partition),
                                       movement("slappart1", resource="disk", quantity="3")]))
        self.assertEqual(outcome.record_count, 2)
        records = self.call("usage.list", self.alice)
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0].instance, self.instance.reference)
        self.assertEqual(records[0].person, "alice")
        self.assertEqual(records[0].quantity, 12.5)
        self.assertEqual(records[0].category, "cpu")
        everything = self.call("usage.list", self.node, computer="COMP-0")
        self.assertEqual(sorted(r.resource for r in everything), ["cpu_time", "disk"])
        self.assertEqual(self.call("usage.list", self.bob), [])

    def test_journal_as_bytes_is_accepted(self):
        document = journal([movement("slappart0")]).encode("utf-8")
        self.assertEqual(self.report(document).record_count, 1)

    def test_upstream_slapgrid_s_own_journal_is_accepted(self):
        # slapgrid's asXML: an empty start_date, the movements' empty elements as "None"
        document = (
            '<?xml version="1.0"?><journal><transaction type="Sale Packing List">'
            "<title>Resource consumptions</title><start_date></start_date>"
            "<stop_date>%s</stop_date><reference>COMP-0</reference>"
            "<currency></currency><payment_mode></payment_mode><category></category>"
            '<arrow type="Administration"><source></source><destination></destination></arrow>'
            "<movement><resource>cpu_time</resource><title>CPU</title>"
            "<reference>%s</reference><quantity>0.25</quantity><price>0</price><VAT>None</VAT>"
            "<category>cpu</category></movement></transaction></journal>"
            % (time.strftime("%Y-%m-%d at 13:04:05", time.gmtime()), self.instance.partition))
        self.assertEqual(self.report(document).record_count, 1)
        (record,) = self.call("usage.list", self.alice)
        self.assertEqual((record.instance, record.quantity, record.stop_date[-8:]),
                         (self.instance.reference, 0.25, "13:04:05"))

    def assertRefused(self, document, fragment):
        error = self.assertRaises(errors.Invalid, self.report, document)
        self.assertIn(fragment, str(error))
        self.assertEqual(self.call("usage.list", self.admin, computer="COMP-0"), [])

    def test_journal_violating_the_schema_is_refused_and_nothing_is_stored(self):
        self.assertRefused(journal([movement("slappart0", quantity="lots")]), "does not match")
        self.assertRefused("<consumption/>", "does not match")
        self.assertRefused(journal([]), "does not match")

    def test_movement_without_reference_is_refused(self):
        self.assertRefused(journal([movement("")]), "resource and a reference")

    def test_transaction_without_a_stop_date_is_refused(self):
        self.assertRefused(journal([movement("slappart0")], stop_date=""), "stop_date")

    def test_malformed_xml_is_refused(self):
        self.assertRefused("<journal><transaction>", "not well-formed")
        self.assertRefused("", "not well-formed")

    def test_entity_expansion_and_external_entities_are_refused(self):
        self.assertRefused(BILLION_LAUGHS, "DTD")
        self.assertRefused(EXTERNAL_ENTITY, "DTD")

    def test_oversized_journal_is_refused_before_parsing(self):
        huge = journal([movement("slappart0")] * 40000)
        self.assertGreater(len(huge), 4 * 1024 * 1024)
        self.assertRefused(huge, "larger than")

    def test_another_computer_cannot_report_usage_for_this_one(self):
        self.make_computer("COMP-1", partitions=1)
        self.assertRaises(errors.Forbidden, self.call, "usage.report", ComputerAgent("COMP-1"),
                          computer="COMP-0", document=journal([movement("slappart0")]))

    def test_usage_records_stay_with_the_instance_after_its_partition_is_reused(self):
        self.report(journal([movement(self.instance.partition)]))
        self.request(self.alice, "metered", SR, state="destroyed")
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=self.instance.partition)
        self.request(self.bob, "next")
        records = self.call("usage.list", self.alice)
        self.assertEqual([r.instance for r in records], [self.instance.reference])


class SafeXmlTests(MasterTestCase):
    """slap_core.safe_xml reads decoded text as it is, whatever its declaration says."""

    def test_text_declaring_another_encoding_keeps_its_characters(self):
        from slap_core import safe_xml

        root = safe_xml.parse("<?xml version='1.0' encoding='iso-8859-1'?><a>caf\u00e9 \u20ac</a>")
        self.assertEqual(root.text, "caf\u00e9 \u20ac")
        latin = "<?xml version='1.0' encoding='iso-8859-1'?><a>caf\u00e9</a>".encode("latin-1")
        self.assertEqual(safe_xml.parse(latin).text, "caf\u00e9")


class JournalRuleTests(MasterTestCase):
    """A journal counted once, quantities in bounds, what a movement's reference may name."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=2, owner=self.bob)
        self.instance = self.request(self.alice, "metered")

    def report(self, document):
        return self.call("usage.report", self.node, computer="COMP-0", document=document)

    def test_the_same_journal_posted_again_is_counted_once(self):
        document = journal([movement(self.instance.partition)])
        first = self.report(document)
        # the same journal written differently (quotes, an encoding declaration) is the same
        again = self.report('<?xml version="1.0" encoding="UTF-8"?>' + document.replace(
            "type='Sale Packing List'", 'type="Sale Packing List"'))
        self.assertEqual((again.report_id, again.record_count, again.replayed, first.replayed),
                         (first.report_id, 1, True, False))
        self.assertEqual(len(self.call("usage.list", self.alice)), 1)
        other = self.report(journal([movement(self.instance.partition, quantity="1")]))
        self.assertFalse(other.replayed)
        self.assertEqual(len(self.call("usage.list", self.alice)), 2)

    def test_negative_nan_infinite_and_absurd_quantities_are_refused_and_nothing_is_kept(self):
        for quantity in ("-1", "NaN", "INF", "-INF", "1e16"):
            error = self.assertRaises(errors.Invalid, self.report,
                                      journal([movement(self.instance.partition),
                                               movement(self.instance.partition,
                                                        quantity=quantity)]))
            self.assertIn("quantity", str(error))
        self.assertEqual(self.call("usage.list", self.admin, computer="COMP-0"), [])

    def test_a_reference_names_a_partition_an_instance_or_the_computer(self):
        self.report(journal([movement(self.instance.partition), movement(self.instance.reference),
                             movement("slappart1"), movement("COMP-0")]))
        records = self.call("usage.list", self.admin, computer="COMP-0")
        self.assertEqual([(r.instance, r.person, r.on_computer) for r in records],
                         [(self.instance.reference, "alice", False),
                          (self.instance.reference, "alice", False),
                          (None, "bob", True), (None, "bob", True)])
        error = self.assertRaises(errors.Invalid, self.report, journal([movement("slappart9")]))
        self.assertIn("'slappart9' is no partition or instance of COMP-0", str(error))


def _day(year, month, day):
    import calendar

    return float(calendar.timegm((year, month, day, 0, 0, 0)))


class TenancyTests(MasterTestCase):
    """A partition's usage is its tenant's on the movement's stop date: alice held slappart0
    from 1 October to noon on the 10th, bob from the 11th."""

    def setUp(self):
        super().setUp()
        from unittest import mock

        self.instant = _day(2026, 10, 1)
        for module in ("slap_core.allocation", "slap_core.lifecycle"):
            patcher = mock.patch(module + ".now", lambda: self.instant)
            patcher.start()
            self.addCleanup(patcher.stop)
        self.node = self.make_computer("COMP-T", partitions=1)
        self.old = self.request(self.alice, "old")
        self.instant = _day(2026, 10, 10) + 12 * 3600
        self.call("instance.destroy", self.alice, reference=self.old.reference)
        self.call("instance.report_destroyed", self.node, computer="COMP-T",
                  partition="slappart0")
        self.instant = _day(2026, 10, 11)
        self.new = self.request(self.bob, "new")
        self.assertEqual(self.new.partition, "slappart0")

    def owner_on(self, day):
        self.call("usage.report", self.node, computer="COMP-T", document=journal(
            [movement("slappart0", quantity=str(day))], reference="COMP-T",
            stop_date="2026-10-%02d at 00:00:00" % day))
        (record,) = [r for r in self.call("usage.list", self.admin, computer="COMP-T")
                     if r.quantity == day]
        return record.person, record.instance, record.on_computer

    def test_each_day_s_usage_goes_to_that_day_s_tenant(self):
        self.assertEqual(self.owner_on(5), ("alice", self.old.reference, False))
        self.assertEqual(self.owner_on(20), ("bob", self.new.reference, False))
        # the 10th: alice held it half the day, nobody else did
        self.assertEqual(self.owner_on(10)[0], "alice")
        self.assertEqual(self.owner_on(1)[0], "alice")
        # a month before anyone held it: the computer's owner pays, marked so
        self.call("usage.report", self.node, computer="COMP-T", document=journal(
            [movement("slappart0", quantity="99")], reference="COMP-T",
            stop_date="2026-09-01 at 00:00:00"))
        (record,) = [r for r in self.call("usage.list", self.admin, computer="COMP-T")
                     if r.quantity == 99]
        self.assertEqual((record.person, record.instance, record.on_computer),
                         ("admin", None, True))
