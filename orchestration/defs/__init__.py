"""Definitions by area, found by `load_from_defs_folder`: dbt (every model), metric_layer
(exports, scorecards, forecasts, publish), quality (Great Expectations suites as checks),
automation (schedules, the landing sensor, the monthly close)."""
