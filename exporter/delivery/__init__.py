"""Delivery: distribution lists, the ledger (exactly once per content, list and channel), email and
drop folders. Works from published sets, never from data.

May import: publish, source, core.
"""
