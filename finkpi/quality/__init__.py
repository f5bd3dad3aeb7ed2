"""The quality gate: the rules list (expectations/rules.yml), the pre-flight check of raw files,
the quarantine read-back, and the Great Expectations suites that validate a publish candidate."""
