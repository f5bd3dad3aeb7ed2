"""Source systems beyond the generated sample company (their raw-file contracts)."""
