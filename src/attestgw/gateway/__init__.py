"""The gateway (edge layer, the only FastAPI importer): identity, authorization, quotas and an OHTTP relay.

It never sees plaintext: sealed requests and chunked responses pass through as bytes. See
``docs/gateway.md``.
"""
