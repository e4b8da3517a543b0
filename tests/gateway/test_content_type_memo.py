"""gateway/content_type.py: the memoized Content-Type parse answers as twisted.web's own."""

from twisted.trial import unittest
from twisted.web import http

from gateway.content_type import MEMO_SIZE, memoize_content_type_parsing

HEADERS = [b"application/x-www-form-urlencoded", b"Application/X-WWW-Form-URLEncoded",
           b"multipart/form-data; boundary=xyz", b"text/xml; charset=utf-8",
           b"application/json", b"", b"garbage", b"text/plain;;;charset=\"x\""]


class ContentTypeMemoTests(unittest.TestCase):
    """Same answers, from the memo, bounded."""

    def test_same_answers_as_twisted_and_a_bounded_memo(self):
        self.assertTrue(memoize_content_type_parsing())
        self.assertTrue(memoize_content_type_parsing())  # idempotent: wrapped once
        memo = http._parseContentType
        original = memo.__wrapped__
        self.assertFalse(hasattr(original, "cache_info"))
        for header in HEADERS:
            self.assertEqual(memo(header), original(header), header)
        hits = memo.cache_info().hits
        for header in HEADERS:
            memo(header)
        self.assertEqual(memo.cache_info().hits, hits + len(HEADERS))
        self.assertEqual(memo.cache_info().maxsize, MEMO_SIZE)
