"""The append-only, hash-chained audit store (`<warehouse>/audit.duckdb`)."""

from finkpi.audit.store import AuditError, AuditStore, VerifyResult, record_hash

__all__ = ["AuditError", "AuditStore", "VerifyResult", "record_hash"]
