"""The governed metric layer: MetricFlow engine, exports, catalog and governance checks."""
