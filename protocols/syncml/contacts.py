"""The ``contacts`` store: people as vCards, every change through a slap_core operation.

A person syncs their own card; an admin or an accountant syncs everyone's (``person.list``). An
item's id on the master (its GUID) is the person's login, which is also the card's UID. A card
the device adds becomes a person without a password (``person.create``: admins only, the core
decides); a changed card updates the person (``person.update``); a card an admin deletes on
a device disables the person (who logs in no more; what they own stays), one anyone else deletes
changes nothing (211, item not deleted). Disabled people are not items: disabling one on the
master deletes their card on the devices.
"""

import re

from protocols.syncml import vcard
from protocols.syncml.items import ItemRefused, refused
from slap_core import errors


class ContactsStore:
    """People as the caller may see them, as vCard 3.0 items keyed by login."""

    name = "contacts"
    display_name = "Contacts"
    # (content type, version) the store reads; the first is what it prefers and writes.
    types = (("text/vcard", "3.0"), ("text/x-vcard", "2.1"))

    def __init__(self, master, principal):
        self.master = master
        self.principal = principal

    def _card(self, person):
        return vcard.format_card(vcard.Card(uid=person.login, full_name=person.full_name or "",
                                            email=person.email or "", phone=person.phone or "",
                                            organisation=person.organisation or ""))

    def items(self):
        """{login: vCard text} of every person the caller syncs."""
        try:
            if self.principal.reads_accounts:
                people = self.master.call("person.list", self.principal)
            else:
                people = [self.master.call("person.me", self.principal)]
        except errors.SlapError as error:
            raise refused(error) from None
        return {person.login: self._card(person) for person in people if not person.disabled}

    def read(self, data):
        """The Card of an item's data; ItemRefused (415) when it is not a vCard."""
        try:
            return vcard.parse(data)
        except vcard.BadCard as error:
            raise ItemRefused(415, str(error)) from None

    echo = False  # a card written is not sent back: what the device keeps beyond it stays

    @staticmethod
    def unchanged(card, item):
        """Whether ``card`` holds what the master's item ``item`` already does."""
        current = vcard.parse(item)
        return all(getattr(card, field) == getattr(current, field)
                   for field in ("full_name", "email", "phone", "organisation"))

    @staticmethod
    def keys(card):
        """What pairs ``card`` with a person, strongest first: its UID, its email, its full
        name (a slow sync pairs cards by content, so nothing is duplicated)."""
        return [(field, value.lower()) for field, value in (
            ("uid", card.uid), ("email", card.email), ("name", card.full_name)) if value]

    def _fields(self, card):
        return dict(full_name=card.full_name, email=card.email, phone=card.phone,
                    organisation=card.organisation)

    def create(self, card, items):
        """Create the person of a new card; returns (login, vCard text)."""
        if not (card.full_name or card.email):
            raise ItemRefused(400, "a card without a name or an email names no one")
        login = self._new_login(card, items)
        try:
            person = self.master.call("person.create", self.principal, login=login,
                                      **self._fields(card))
        except errors.SlapError as error:
            raise refused(error) from None
        return person.login, self._card(person)

    def update(self, login, card):
        """Change the person ``login`` to ``card``'s fields; returns the new vCard text."""
        try:
            person = self.master.call("person.update", self.principal, login=login,
                                      **self._fields(card))
        except errors.SlapError as error:
            raise refused(error) from None
        return self._card(person)

    def delete(self, login):
        """A card deleted on a device: an admin's disables the person, anyone else's changes
        nothing (211)."""
        if not getattr(self.principal, "is_admin", False):
            raise ItemRefused(211, "the master keeps its people: %s was not deleted" % login)
        try:
            self.master.call("person.update", self.principal, login=login, disabled=True)
        except errors.SlapError as error:
            raise refused(error) from None

    @staticmethod
    def _new_login(card, items):
        base = card.uid.strip() if card.uid.strip() else (
            card.email.partition("@")[0] or re.sub(r"\W+", ".", card.full_name.lower())
            .strip(".") or "contact")
        base = base[:200]
        login, number = base, 1
        while login in items:
            number += 1
            login = "%s-%d" % (base, number)
        return login
