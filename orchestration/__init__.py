"""finkpi's Dagster code location: assets, checks, schedules and a sensor that call the same core
functions (finkpi/) as the command line. Entry point: orchestration/definitions.py."""
