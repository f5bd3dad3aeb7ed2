"""The HTTP face of finkpi: a read-only API over the published version, with API keys mapped to
roles, and the dashboard it serves (`finkpi serve`). It reads only the published files, never the
build warehouse (except dbt's manifest and column lists for lineage)."""
