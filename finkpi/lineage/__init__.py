"""Lineage for auditors: where every published number comes from."""
