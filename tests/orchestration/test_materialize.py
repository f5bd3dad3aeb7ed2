"""Every asset materialized in-process by the real `refresh` job on the bundled sample, into a
temporary warehouse (dbt build with every test, MetricFlow exports, scorecards, the three Great
Expectations gates, publish: ~3 minutes on two cores), then what a scheduler relies on: the
published numbers (against the pandas oracle over the raw files), the audit store, the monthly
close job, and failures that stop the publish and are recorded.
"""

import json
import shutil
from datetime import date
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from finkpi import settings as settings_module
from finkpi.audit.store import AuditStore
from finkpi.quality.gx_runner import load_suites
from finkpi.settings import load_settings
from finkpi.sources import get
from orchestration.run_audit import AS_OF_DATES_TAG
from tests.conftest import SAMPLE_DIR
from tests.metrics import reference as ref

# not in `make test-quick`: the Dagster refresh: a whole pipeline run of its own
pytestmark = pytest.mark.build

PUBLISH = dg.AssetKey("published_version")


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs()


def _run(defs, job_name: str, warehouse, instance=None, **config):
    job = defs.resolve_job_def(job_name)
    resource_config = {"warehouse_dir": str(warehouse), **config.pop("finkpi", {})}
    return job.execute_in_process(
        run_config={"resources": {"finkpi": {"config": resource_config}}, **config},
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _runs(warehouse) -> list[dict]:
    with AuditStore(warehouse).reading() as con:
        cursor = con.execute("select * from runs order by seq")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def refreshed(defs, tmp_path_factory):
    """The whole pipeline through Dagster, once for this module (counting, per source, how often
    an as-of date is resolved from the raw files)."""
    warehouse = tmp_path_factory.mktemp("dagster_warehouse")
    instance = dg.DagsterInstance.ephemeral()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings_module, "resolve_source_as_of_date", _counted(RESOLVED))
        result = _run(defs, "refresh", warehouse, instance=instance)
    TAGS.update(instance.get_run_by_id(result.run_id).tags)  # as stored, with tags added by steps
    return result, warehouse


RESOLVED: dict[str, int] = {}  # source -> as-of date resolutions during the refresh
TAGS: dict[str, str] = {}  # the refresh run's tags


def _counted(counts):
    resolve = settings_module.resolve_source_as_of_date

    def counted(settings, source, override_env=None):
        counts[source.name] = counts.get(source.name, 0) + 1
        return resolve(settings, source, override_env)

    return counted


def test_every_asset_is_materialized_and_every_check_passes(defs, refreshed):
    result, _ = refreshed
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    graph = defs.resolve_asset_graph()
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == set(graph.materializable_asset_keys)
    evaluations = result.get_asset_check_evaluations()
    assert {e.asset_check_key for e in evaluations} == set(graph.asset_check_keys)
    assert [e.asset_check_key for e in evaluations if not e.passed] == []


def test_the_run_is_one_finkpi_run_in_the_audit_store(refreshed):
    result, warehouse = refreshed
    runs = _runs(warehouse)
    assert [(r["event"], r["status"]) for r in runs] == [("start", "running"), ("end", "success")]
    run_id = runs[0]["run_id"]
    assert run_id.endswith("-" + result.run_id[:8])
    assert runs[1]["definitions_hash"]
    with AuditStore(warehouse).reading() as con:
        expectations = con.execute(
            "select count(*), count(*) filter (where status = 'passed') from validations where run_id = ?",
            [run_id],
        ).fetchone()
        published = con.execute("select version from events where kind = 'publish'").fetchall()
    suites = load_suites()
    assert expectations == (sum(len(s["expectations"]) for s in suites.values()),) * 2
    assert published == [(run_id,)]
    assert (warehouse / "current").resolve().name == run_id


def test_the_run_emits_openlineage_events_and_writes_its_report(refreshed):
    """A Dagster run, like `finkpi run`, leaves START and COMPLETE events (with the published
    tables as outputs) and its audit report."""
    _, warehouse = refreshed
    run_id = _runs(warehouse)[0]["run_id"]
    lines = (warehouse / "openlineage" / f"{run_id}.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    outputs = {dataset["name"] for dataset in events[-1]["outputs"]}
    assert {"main.metric_values", "main.scorecard_lines"} <= outputs, outputs
    report = (warehouse / "reports" / run_id / "index.html").read_text()
    assert run_id in report and "metric_values" in report


def test_published_values_match_the_raw_files(refreshed):
    """Revenue (a flow, to the cent) and DSO (a balance ratio) by month, published by the Dagster
    run, against the independent pandas computation over the raw sample files."""
    _, warehouse = refreshed
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as con:
        published = con.execute(
            "select metric_name, period_start, value from metric_values"
            " where grain = 'month' and dimension = 'total' and metric_name in ('revenue', 'dso')"
        ).df()
    as_of = ref.default_as_of(SAMPLE_DIR)
    for metric in ("revenue", "dso"):
        expected = ref.reference_values(metric, "month", as_of=as_of)
        rows = published[published.metric_name == metric]
        got = {start.date(): value for start, value in zip(rows.period_start, rows.value, strict=True)}
        assert len(got) == len(expected) > 24
        for start, value in zip(expected.period_start, expected.value, strict=True):
            actual = got[start]
            if value is None:
                assert actual is None or actual != actual, (metric, start)
            elif metric == "revenue":
                assert Decimal(str(actual)).quantize(Decimal("0.01")) == Decimal(value), (metric, start)
            else:
                assert actual == pytest.approx(float(value), rel=1e-9), (metric, start)


def test_monthly_close_job_closes_a_month(defs, refreshed, tmp_path):
    # on a copy: the close writes the audit store and closed/, which the other tests read
    _, source = refreshed
    warehouse = tmp_path / "warehouse"
    shutil.copytree(source, warehouse, symlinks=True)
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as con:
        (last,) = con.execute(
            "select max(period_start) from metric_values where grain = 'month' and is_complete"
        ).fetchone()
    period = f"{last:%Y-%m}"
    result = _run(defs, "monthly_close", warehouse, ops={"close_period_op": {"config": {"period": period}}})
    assert result.success
    closes = AuditStore(warehouse).events(["close"])
    assert [(e["period"], e["actor"]) for e in closes] == [(period, "dagster monthly close")]
    assert (warehouse / "closed" / period).is_dir()


def test_a_failed_expectation_stops_the_publish_and_is_audited(defs, refreshed, tmp_path):
    """A score out of range in the build's scorecard table: the scorecard suite fails, the
    blocking check keeps the publish from running, the published version stays, and the audit
    store has the failed expectation and the failed run naming it."""
    _, source = refreshed
    warehouse = tmp_path / "warehouse"
    shutil.copytree(source, warehouse, symlinks=True)
    version_before = (warehouse / "current").resolve().name
    with duckdb.connect(str(warehouse / "finkpi.duckdb")) as con:
        con.execute("update metrics.scorecard_lines set score = 999 where score is not null")

    from orchestration.defs.quality.checks import gx_scorecards

    publish_again = dg.define_asset_job(
        "publish_again", selection=dg.AssetSelection.assets(PUBLISH) | dg.AssetSelection.checks(gx_scorecards)
    )
    result = _run(
        dg.Definitions.merge(defs, dg.Definitions(jobs=[publish_again])), "publish_again", warehouse
    )

    assert not result.success
    assert PUBLISH not in {e.asset_key for e in result.get_asset_materialization_events()}
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.asset_check_key.to_user_string() for e in failed] == [
        "metrics/scorecard_lines:great_expectations"
    ]
    assert "expect_column_values_to_be_between [score]" in failed[0].description
    assert (warehouse / "current").resolve().name == version_before

    run = _runs(warehouse)[-1]
    assert (run["event"], run["status"]) == ("end", "failed")
    assert "FAILED scorecard_lines: expect_column_values_to_be_between [score]" in run["message"]
    with AuditStore(warehouse).reading() as con:
        statuses = con.execute(
            "select check_id, status from validations where run_id = ? and status <> 'passed'",
            [run["run_id"]],
        ).fetchall()
    assert statuses == [("scorecard_lines: expect_column_values_to_be_between [score]", "failed")]


def test_a_failed_dbt_rule_fails_its_check_and_the_run_names_the_rows(defs, refreshed, tmp_path):
    """A duplicated invoice id in a copy of the extracts: the unique_key check of the staging
    model fails, the step fails with the rule, the key and both lines, and the audit store has it."""
    _, source = refreshed
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(source / "finkpi.duckdb", warehouse / "finkpi.duckdb")
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    invoices = data / "erp" / "invoices.csv"
    lines = invoices.read_text().splitlines(keepends=True)
    invoice_id = lines[5].split(",")[0]
    invoices.write_text("".join([*lines, lines[5]]))

    staging = dg.AssetKey(["staging", "stg_erp__invoices"])
    one_model = dg.define_asset_job("one_model", selection=dg.AssetSelection.assets(staging))
    result = _run(
        dg.Definitions.merge(defs, dg.Definitions(jobs=[one_model])),
        "one_model",
        warehouse,
        finkpi={"data_dir": str(data)},
    )

    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    [check] = [
        e for e in failed if e.asset_check_key.name.startswith("unique_key_stg_erp__invoices_invoice_id")
    ]
    assert check.description == "FAILED rule unique_key on stg_erp__invoices (columns=['invoice_id'])"
    assert invoice_id in check.metadata["explanation"].value
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    assert "FAILED rule unique_key on stg_erp__invoices" in message
    assert invoice_id in message and str(len(lines) + 1) in message  # the copy's line in the file
    run = _runs(warehouse)[-1]
    assert (run["event"], run["status"]) == ("end", "failed")
    assert "FAILED rule unique_key on stg_erp__invoices" in run["message"]


def test_sample_as_of_date_is_what_the_oracle_assumes(refreshed):
    _, warehouse = refreshed
    with duckdb.connect(str(warehouse / "published.duckdb"), read_only=True) as con:
        (as_of,) = con.execute("select max(as_of) from metric_forecast").fetchone()
    assert date.fromisoformat(str(as_of)[:10]) == ref.default_as_of(SAMPLE_DIR)


def test_as_of_dates_are_resolved_once_per_dagster_run(refreshed):
    """Every step (dbt build, exports, scorecards, checks, publish) is a `Run` of its own: the
    first resolves the as-of dates from the raw files and pins them on the Dagster run; the
    others take them from there (as `finkpi run` resolves them once, tests/audit/test_run.py)."""
    result, _ = refreshed
    assert RESOLVED == {"erp": 1, "sap": 1}  # the CRM reports on the run's date: nothing to resolve
    pinned = json.loads(TAGS[AS_OF_DATES_TAG])
    sample = load_settings()  # the bundled sample, as the refresh read it
    resolve = settings_module.resolve_source_as_of_date
    assert pinned == {
        "as_of_date": ref.default_as_of(SAMPLE_DIR).isoformat(),
        "erp": ref.default_as_of(SAMPLE_DIR).isoformat(),
        "sap": resolve(sample, get("sap")).isoformat(),
        "crm": ref.default_as_of(SAMPLE_DIR).isoformat(),
    }
