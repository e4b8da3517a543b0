"""SyncML (OMA DS 1.2) at ``/syncml``: devices and ERPs keep their records in step with the master.

``message`` reads and writes SyncML XML, ``engine`` runs sessions (packages, anchors, maps),
``contacts``, ``instances`` and ``server_items`` (catalogue, invoices) are the stores, ``items``
what they share, ``vcard`` the people's item format, ``resource`` the HTTP endpoint.
"""
