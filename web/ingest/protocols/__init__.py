"""One module per wire format (product): raw request in, ``Hit`` list out, or BadInput.

A parser returns ``Hit`` objects, ``Skip(reason)`` for a request it recognises but does
not store (answered 2xx, counted as dropped under that reason), or raises ``BadInput``
(400 with a message a person can act on). ``web.ingest.routes`` says which path runs which.
"""
