"""finkpi: a governed metric layer for finance and operations."""

import os

# Nothing finkpi runs may wait on the network: switch off every tool's telemetry before any of them
# is imported (dbt reads these at import time, Great Expectations and Dagster at start-up).
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
