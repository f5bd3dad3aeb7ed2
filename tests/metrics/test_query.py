"""`finkpi query`: MetricFlow-backed, one process; short names map to qualified ones whatever the
join path (checked against the raw files and plain SQL over the marts); ambiguous and unknown names
get the qualified names that fit; MetricFlow's refusals come back as one line; the numbers are the
exported ones."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from finkpi.metrics.engine import Dimension, MetricEngine
from finkpi.metrics.query import NameResolver, QueryError, resolve_group_by, resolve_where, run_query
from finkpi.settings import PROJECT_DIR
from tests.conftest import read_raw
from tests.sap import oracle as sap_oracle


@pytest.fixture
def engine(built, sample_settings):
    """A warm engine per test: it holds the warehouse open, which other processes must not meet."""
    with MetricEngine(sample_settings) as engine:
        yield engine


def test_short_names_map_to_qualified_names(engine):
    assert resolve_group_by(engine, ["revenue"], ["fiscal_quarter", "region", "product_category"]) == [
        "metric_time__fiscal_quarter",
        "customer__region",
        "product__product_category",
    ]
    assert resolve_group_by(engine, ["operating_expense"], ["department"]) == ["org_unit__department"]


def test_unknown_names_suggest_the_closest(engine):
    with pytest.raises(QueryError, match="unknown metric 'revenu'; did you mean revenue"):
        run_query(engine, ["revenu"], ["month"])
    with pytest.raises(QueryError, match="unknown group-by 'regin' .* did you mean region"):
        run_query(engine, ["revenue"], ["regin"])
    with pytest.raises(QueryError, match="unknown group-by 'department' for revenue"):
        run_query(engine, ["revenue"], ["department"])  # revenue has no department dimension
    with pytest.raises(QueryError, match="unknown dimension in --where 'sorce_system' .* source_system"):
        run_query(engine, ["orders_booked"], ["year"], where="sorce_system = 'sap'")
    with pytest.raises(QueryError, match="cannot order by 'region': it is neither a metric"):
        run_query(engine, ["orders_booked"], ["year"], order_by=["region"])


class HandMadeDimensions:
    """An engine that knows only these dimensions: join paths the sample's manifest does not have
    (two equally short ones), without MetricFlow."""

    def __init__(self, *dimensions: Dimension):
        self._dimensions = list(dimensions)

    def dimensions(self, metrics, include_time=False):
        return [d for d in self._dimensions if include_time or not d.is_time]


def _dimension(*path_and_name: str, is_time: bool = False) -> Dimension:
    *path, name = path_and_name
    return Dimension("__".join(path_and_name), name, tuple(path), is_time)


def test_a_short_name_takes_the_shortest_join_path_and_a_tie_is_ambiguous():
    names = NameResolver(
        HandMadeDimensions(
            _dimension("company", "company_code"),
            _dimension("customer", "company", "company_code"),
            _dimension("customer", "company", "source_system"),
            _dimension("order_line", "order_date", is_time=True),
            _dimension("po_line", "order_date", is_time=True),
        ),
        ["m"],
    )
    assert names.group_by(["company_code", "source_system", "customer__company__company_code"]) == [
        "company__company_code",
        "customer__company__source_system",
        "customer__company__company_code",
    ]
    with pytest.raises(
        QueryError,
        match="'order_date' is ambiguous for m: use one of order_line__order_date, po_line__order_date$",
    ):
        names.group_by(["order_date"])
    # in a filter, a dimension two joins away needs MetricFlow's entity_path form
    assert names.where(
        "source_system = 'sap' and company_code <> 'X' and po_line__order_date > '2025-01-01'"
    ) == [
        "{{ Dimension('company__source_system', entity_path=['customer']) }} = 'sap'"
        " AND {{ Dimension('company__company_code') }} <> 'X'"
        " AND {{ Dimension('po_line__order_date') }} > '2025-01-01'"
    ]
    with pytest.raises(QueryError, match="'order_date' is ambiguous"):
        names.where("order_date > '2025-01-01'")


def test_where_in_plain_sql_over_short_names_becomes_metricflow_references(engine):
    where = resolve_where(engine, ["revenue"], "region = 'DACH' and product_category <> 'Pumps'")
    assert where == [
        "{{ Dimension('customer__region') }} = 'DACH'"
        " AND {{ Dimension('product__product_category') }} <> 'Pumps'"
    ]


def test_every_join_path_filters_as_it_groups(engine):
    """For every join path to company_code and source_system, named short or qualified: the rows a
    where filter keeps are the rows of that value when grouping by the same name. Each path is
    tried with the first metric whose short name takes it and the first whose short name does not
    (a shorter path exists), so the set follows the manifest as entities are added."""
    tried: dict[tuple[str, bool], str] = {}
    for metric in engine.metric_names():
        names = NameResolver(engine, [metric])
        for dimension in engine.dimensions([metric]):
            if dimension.name in ("company_code", "source_system"):
                short = names.resolve(dimension.name).qualified_name == dimension.qualified_name
                tried.setdefault((dimension.qualified_name, short), metric)
    for (qualified, short), metric in tried.items():
        name = qualified.rsplit("__", 1)[1]
        grouped = run_query(engine, [metric], ["year", qualified])
        # the sample company, or the metric's first source (cases come from the CRM only)
        value = "DE01" if name == "company_code" else sorted(grouped[qualified].dropna().unique())[0]
        grouped = grouped[grouped[qualified] == value]
        want = dict(zip(grouped["metric_time__year"], grouped[metric], strict=True))
        assert want, (metric, qualified)
        for where in [f"{qualified} = '{value}'"] + ([f"{name} = '{value}'"] if short else []):
            filtered = run_query(engine, [metric], ["year"], where=where)
            got = dict(zip(filtered["metric_time__year"], filtered[metric], strict=True))
            assert got == pytest.approx(want, nan_ok=True), (metric, where)
    # one join (the fact's company) and two (the customer's company); a short name takes the two
    # joins only while some fact has no company of its own (then it is tried here too)
    assert {(q.count("__"), short) for q, short in tried} >= {(1, True), (2, False)}


def test_query_results_equal_the_exported_metric_values(metric_values, engine):
    frame = run_query(
        engine, ["revenue", "gross_margin_pct"], ["fiscal_quarter", "region"], where="region = 'DACH'"
    )
    assert set(frame["customer__region"]) == {"DACH"}
    exported = metric_values[
        (metric_values["metric_name"] == "revenue")
        & (metric_values["grain"] == "quarter")
        & (metric_values["dimension"] == "region")
        & (metric_values["dimension_value"] == "DACH")
    ].set_index("period_start")["value"]
    for start, revenue in zip(frame["metric_time__fiscal_quarter"].dt.date, frame["revenue"], strict=True):
        assert revenue == pytest.approx(exported[start], abs=0.005)


def test_the_command_line_prints_csv_and_fails_clearly(built, sample_settings):
    ok = _finkpi_query(sample_settings, "--metrics", "revenue,cogs", "--group-by", "year", "--format", "csv")
    assert ok.returncode == 0, ok.stderr
    header, *rows = ok.stdout.strip().splitlines()
    assert header == "metric_time__year,revenue,cogs" and len(rows) == 3
    bad = _finkpi_query(sample_settings, "--metrics", "revenue", "--group-by", "regin")
    assert bad.returncode == 2 and "did you mean region" in bad.stderr


def _finkpi_query(sample_settings, *arguments: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "finkpi.cli",
        "query",
        "--warehouse-dir",
        str(sample_settings.warehouse_dir),
    ]
    return subprocess.run(
        [*command, *arguments], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300
    )


def test_the_command_line_takes_short_names_of_dimensions_two_joins_away(built, sample_settings, warehouse):
    # orders booked by the SAP company, by short names: against SAP's raw extract (tests/sap/oracle)
    sap = _finkpi_query(
        sample_settings, "--metrics", "orders_booked", "--group-by", "source_system,year",
        "--where", "company_code = 'EPM1'", "--format", "csv",
    )  # fmt: skip
    assert sap.returncode == 0, sap.stderr
    got = pd.read_csv(io.StringIO(sap.stdout), dtype=str)
    (source_column,) = [column for column in got.columns if column.endswith("source_system")]
    assert set(got[source_column]) == {"sap"}
    lines = sap_oracle.sales_order_lines()
    lines = lines[~lines["is_cancelled"]]
    want = lines.groupby(lines["day"].str[:4] + "-01-01")["order_id"].nunique()
    assert (
        dict(zip(got["metric_time__year"], got["orders_booked"].astype(int), strict=True)) == want.to_dict()
    )
    assert sum(want) > 700

    # the ERP company, with an IN list: against ERP's raw sales orders
    erp = _finkpi_query(
        sample_settings, "--metrics", "orders_booked", "--group-by", "company_code",
        "--where", "company_code in ('DE01') and source_system = 'erp'", "--format", "csv",
    )  # fmt: skip
    assert erp.returncode == 0, erp.stderr
    orders = read_raw("erp", "sales_orders")
    booked = orders[(orders["status"] != "cancelled") & (orders["company_code"] == "DE01")][
        "order_id"
    ].nunique()
    assert erp.stdout.strip().splitlines() == ["company__company_code,orders_booked", f"DE01,{booked}"]

    # the customer's company is two joins from an opportunity (its own company is one): the
    # qualified name works in the filter too; against plain SQL over the marts
    won = _finkpi_query(
        sample_settings, "--metrics", "won_opportunities",
        "--group-by", "year,source_system",
        "--where", "customer__company__company_code = 'DE01'", "--format", "csv",
    )  # fmt: skip
    assert won.returncode == 0, won.stderr
    got = pd.read_csv(io.StringIO(won.stdout), dtype=str)
    want = warehouse.execute(
        """
        select strftime(date_trunc('year', o.close_date), '%Y-%m-%d') as year, o.source_system,
            sum(case when o.is_won then 1 else 0 end) as won
        from marts.fct_opportunities as o
        join marts.dim_customers as c on c.customer_key = o.customer_key
        where c.company_code = 'DE01'
        group by all
        """
    ).df()
    (source_column,) = [column for column in got.columns if column.endswith("source_system")]
    columns = ["metric_time__year", source_column, "won_opportunities"]
    assert {(y, s, int(n)) for y, s, n in got[columns].itertuples(index=False)} == {
        (y, s, int(n)) for y, s, n in want.itertuples(index=False)
    }
    assert want["won"].sum() > 100


def test_the_command_line_says_in_one_line_what_is_wrong(built, sample_settings):
    cases = {
        # a misspelt short name gets the closest valid ones
        ("--metrics", "orders_booked", "--group-by", "sorce_system"): "did you mean source_system",
        # DuckDB refuses the filter MetricFlow generated
        ("--metrics", "orders_booked", "--where", "region > 5"): (
            "MetricFlow could not run the query: Binder Error: Cannot compare values of type VARCHAR"
        ),
        # MetricFlow's own filter syntax, in a form its parser refuses
        (
            "--metrics", "won_opportunities",
            "--where", "{{ Dimension('customer__company__company_code') }} = 'DE01'",
        ): "Error parsing where filter: Name is in an incorrect format: 'customer__company__company_code'",
    }  # fmt: skip
    for arguments, message in cases.items():
        result = _finkpi_query(sample_settings, *arguments)
        assert result.returncode == 2, (arguments, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert message in result.stderr, result.stderr


# Run in a fresh process: `finkpi query`, then which heavy packages that process imported.
QUERY_PROBE = """
import json, sys
from finkpi.cli import main
status = main(sys.argv[1:])
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'dbt', 'metricflow', 'dbt_metricflow'})
print(json.dumps({'status': status, 'heavy': heavy}), file=sys.stderr)
"""


def _probe_query(sample_settings, *arguments: str) -> tuple[str, dict]:
    command = [
        sys.executable,
        "-c",
        QUERY_PROBE,
        "query",
        "--warehouse-dir",
        str(sample_settings.warehouse_dir),
    ]
    done = subprocess.run(
        [*command, *arguments], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def test_a_question_asked_again_is_answered_from_the_plan_cache(built, sample_settings):
    question = (
        "--metrics", "revenue,order_intake", "--group-by", "quarter,region",
        "--where", "region <> 'DACH'", "--order-by=-revenue", "--format", "csv", "--limit", "5",
    )  # fmt: skip
    first, planned = _probe_query(sample_settings, *question)
    assert planned == {"status": 0, "heavy": ["dbt", "dbt_metricflow", "metricflow"]}  # planned it
    again, cached = _probe_query(sample_settings, *question)
    assert cached == {"status": 0, "heavy": []}  # neither dbt nor MetricFlow: the cached SQL ran
    assert again == first
    got = pd.read_csv(io.StringIO(again))
    assert len(got) == 5 and "DACH" not in set(got["customer__region"])
    assert list(got["revenue"]) == sorted(got["revenue"], reverse=True)

    # the question as typed is the key: without its limit it is another one, planned anew
    _, other = _probe_query(sample_settings, *question[:-2])
    assert other["heavy"] == ["dbt", "dbt_metricflow", "metricflow"]
