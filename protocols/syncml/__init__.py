"""SyncML (OMA DS 1.2) at ``/syncml``: devices and ERPs keep their records in step with the master.

``message`` reads and writes SyncML XML, ``engine`` runs sessions (packages, anchors, maps),
``contacts`` is the people store, ``vcard`` its item format, ``resource`` the HTTP endpoint.
"""
