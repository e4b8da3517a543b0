"""Operation declarations: every operation declares its arguments, result and errors; an
incomplete declaration fails when the operation is registered; wrongly typed values are named."""

from twisted.trial import unittest

from slap_core import errors
from slap_core.declarations import FLAG, INTEGER, PARAMETERS, TEXT, TEXTS, result_of
from slap_core.master import load_all
from slap_core.operations import REGISTRY, operation
from slap_core.views import InstanceView


class DeclarationTests(unittest.TestCase):
    """The registry's declarations."""

    def test_every_operation_declares_each_argument_its_result_and_its_errors(self):
        for name, op in load_all().items():
            required, optional = op.arguments()
            self.assertEqual([a.name for a in op.declared], list(required + optional), name)
            self.assertEqual([a.name for a in op.declared if a.required], list(required), name)
            for argument in op.declared:
                self.assertTrue(argument.doc, "%s %s" % (name, argument.name))
            self.assertIsNotNone(op.result, name)
            self.assertTrue(all(issubclass(e, errors.SlapError) for e, _ in op.errors), name)

    def test_a_shared_name_means_what_its_namespace_says(self):
        operations = load_all()
        self.assertIn("SOFTINST", operations["instance.get"].declared_argument("reference").doc)
        self.assertIn("COMP", operations["computer.get"].declared_argument("reference").doc)
        self.assertIs(operations["instance.request"].declared_argument("shared").kind, FLAG)
        self.assertIs(operations["computer.revisions"].declared_argument("references").kind,
                      TEXTS)

    def test_an_argument_missing_from_the_glossary_fails_at_registration(self):
        def colour(session, principal, *, hue):
            """Paint."""

        error = self.assertRaises(ValueError, operation("test.colour", writes=False,
                                                        callers="anyone", returns=None), colour)
        self.assertIn("argument 'hue' is not in slap_core.declarations.GLOSSARY", str(error))
        self.assertNotIn("test.colour", REGISTRY)

    def test_an_operation_without_a_result_or_a_docstring_is_refused(self):
        def undocumented(session, principal, *, title):
            pass

        self.assertRaises(TypeError, operation, "test.nothing", writes=False, callers="anyone")
        self.assertRaises(ValueError, operation("test.nothing", writes=False, callers="anyone",
                                                returns=None), undocumented)
        self.assertRaises(ValueError, result_of, [InstanceView, InstanceView])
        self.assertRaises(ValueError, result_of, dict)

    def test_results_describe_themselves(self):
        self.assertEqual(result_of(InstanceView).describe(), "an InstanceView")
        self.assertEqual(result_of([InstanceView]).wire, "array")
        self.assertEqual(result_of(INTEGER).wire, "int")
        self.assertEqual(result_of(None).wire, "boolean")


class KindTests(unittest.TestCase):
    """What each kind accepts; wrongly typed values named in the argument problem."""

    def test_kinds(self):
        self.assertTrue(TEXT.accepts("x"))
        self.assertFalse(TEXT.accepts(1))
        self.assertTrue(INTEGER.accepts(3))
        self.assertFalse(INTEGER.accepts(True))
        self.assertTrue(INTEGER.accepts(3.0))
        self.assertFalse(INTEGER.accepts(3.5))
        self.assertTrue(PARAMETERS.accepts({"a": "1", "b": 2, "c": None}))
        self.assertFalse(PARAMETERS.accepts({"a": {"nested": "x"}}))
        self.assertFalse(PARAMETERS.accepts(["a"]))
        self.assertTrue(TEXTS.accepts(["a", "b"]))
        self.assertFalse(TEXTS.accepts("ab"))

    def test_a_wrongly_typed_value_is_named_none_is_left_to_the_operation(self):
        op = load_all()["instance.request"]
        self.assertEqual(op.argument_problem({"title": 7, "software_release": "x"}),
                         "argument 'title' is a string, not 7 (int) (instance.request takes "
                         "title, software_release; optional: software_type, parameters, sla, "
                         "state, shared)")
        self.assertIsNone(op.argument_problem({"title": "t", "software_release": "x",
                                               "parameters": None}))
