"""Formats → canonical rows: files, vendor APIs and live receivers, one load path for all.

``base`` is the format contract, ``load`` the transaction (staging, merge, ledger), ``routes``
and ``route_syntax`` the route language, ``route_learning`` the templates learned per database,
``privacy`` the keyed pseudonyms and ``tombstones`` the erased people kept out of later loads.
"""
