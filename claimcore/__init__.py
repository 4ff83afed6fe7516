"""Domain core shared by the field app and the sync server.

Standard library only: this package runs on the phone as well as on the server
(tests/claimcore/test_stdlib_only.py enforces it).
"""
