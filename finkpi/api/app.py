"""The HTTP API: read-only access to the published version, for BI tools and the dashboard.

`create_app(settings, keyring)` builds the FastAPI application; `finkpi serve` runs it on uvicorn.
Every data endpoint takes the caller's API key (header `X-API-Key`, or `Authorization: Bearer`),
reads the version `current` points at when the request arrives (see `published.py`), builds its SQL
as a sqlglot tree with bound values (see `query.py`) and answers JSON, CSV or Arrow (`formats.py`).

Status codes: 401 no or unknown key, 403 outside the key's role or scope, 400 a name the version
does not hold (the message lists the valid ones), 422 a malformed parameter, 503 nothing published
(or lineage while a run holds the build warehouse).
"""

from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from finkpi.api import query as q
from finkpi.api.access import KeyRing, Principal, departments
from finkpi.api.formats import json_response, negotiate, render
from finkpi.api.lineage import LineageService, LineageUnavailable
from finkpi.api.published import NothingPublished, PublishedReader
from finkpi.settings import Settings, load_settings

STATIC_DIR = Path(__file__).parent / "static"
API = "/api/v1"

Format = Annotated[
    Literal["json", "csv", "arrow"] | None,
    Query(description="json (default), csv or arrow; otherwise the Accept header decides"),
]
ListParam = Annotated[list[str] | None, Query(description="comma-separated or repeated")]
Grain = Annotated[str | None, Query(description="month, quarter (fiscal) or year (fiscal)", max_length=40)]
PeriodFrom = Annotated[date | None, Query(description="first period_start included (YYYY-MM-DD)")]
PeriodTo = Annotated[date | None, Query(description="last period_start included (YYYY-MM-DD)")]
Limit = Annotated[int | None, Query(ge=1, le=q.MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def create_app(settings: Settings, keyring: KeyRing) -> FastAPI:
    # No /docs or /redoc: their pages load Swagger UI from a CDN, and this API works offline.
    # The OpenAPI document itself is at /openapi.json.
    reader = PublishedReader(settings.warehouse_dir)

    @asynccontextmanager
    async def lifespan(_app):
        yield
        reader.close()  # the open read-only connection of the current version

    app = FastAPI(
        lifespan=lifespan,
        title="finkpi",
        version="1",
        summary="The published metric layer: catalog, metric values, scorecards, forecasts, lineage",
        docs_url=None,
        redoc_url=None,
    )
    lineage = LineageService(settings)
    app.state.reader, app.state.keyring = reader, keyring

    @app.exception_handler(ApiError)
    def _api_error(_request, exc: ApiError):
        return json_response({"detail": exc.message}, exc.headers, exc.status)

    @app.exception_handler(q.BadRequest)
    def _bad_request(_request, exc):
        return json_response({"detail": str(exc)}, status_code=400)

    @app.exception_handler(q.Forbidden)
    def _forbidden(_request, exc):
        return json_response({"detail": str(exc)}, status_code=403)

    @app.exception_handler(NothingPublished)
    def _nothing(_request, exc):
        return json_response({"detail": str(exc)}, status_code=503)

    @app.exception_handler(LineageUnavailable)
    def _lineage_unavailable(_request, exc):
        return json_response({"detail": str(exc)}, {"Retry-After": "30"}, 503)

    def principal(
        x_api_key: Annotated[str | None, Header(description="the API key")] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Principal:
        key = x_api_key
        if not key and authorization and authorization.lower().startswith("bearer "):
            key = authorization[7:].strip()
        if not key:
            raise ApiError(401, "an API key is required (header X-API-Key)", {"WWW-Authenticate": "ApiKey"})
        found = keyring.authenticate(key)
        if found is None:
            raise ApiError(401, "unknown API key", {"WWW-Authenticate": "ApiKey"})
        return found

    Caller = Annotated[Principal, Depends(principal)]

    def table(request: Request, resource: str, who: Principal, filters: q.Filters, fmt: str | None):
        chosen = negotiate(fmt, request.headers.get("accept"))
        with reader.version() as version:
            query = q.build_query(version, resource, who, filters)
            result = q.run_query(version, query)
            return render(result, chosen, version.run_id, resource)

    # -- who am I, what is published ------------------------------------------------------------
    @app.get(f"{API}/me", tags=["meta"])
    def me(who: Caller):
        """The caller's role and scope, and what it may read in the current version."""
        with reader.version() as version:
            full = q.fully_visible_metrics(version, who)
            visible = q.visible_metrics(version, who)
            units = q.distinct_values(version, "scorecard_summary", "org_unit")
            return json_response(
                {
                    "name": who.name,
                    "role": who.role,
                    "departments": sorted(who.departments),
                    "run_id": version.run_id,
                    "org_units": [u for u in units if who.may_see_org_unit(u)],
                    "metrics_all_rows": full,
                    "metrics_department_rows_only": [m for m in visible if m not in full],
                },
                {"X-Finkpi-Run-Id": version.run_id},
            )

    @app.get(f"{API}/version", tags=["meta"])
    def version_info(who: Caller):
        """The published version served now: run id and its tables with row counts."""
        with reader.version() as version:
            tables = {
                name: info["rows"]
                for name, info in version.manifest["tables"].items()
                if name in {r.table for r in q.RESOURCES.values()}
                and (who.full_access or q.RESOURCES[name].scope != "none")
            }
            return json_response({"run_id": version.run_id, "tables": tables})

    # -- the metric layer ----------------------------------------------------------------------
    @app.get(f"{API}/catalog", tags=["metrics"])
    def catalog(request: Request, who: Caller, metrics: ListParam = None, format: Format = None):
        """Metric definitions: label, what each counts (source documents, period date, inclusions,
        exclusions, rounding, slice behavior), unit, direction, owner, department, drivers, compiled
        SQL."""
        return table(request, "metric_catalog", who, q.Filters(metrics=_split(metrics)), format)

    @app.get(f"{API}/catalog/history", tags=["metrics"])
    def definition_history(request: Request, who: Caller, metrics: ListParam = None, format: Format = None):
        """Every certified version of each definition, with who signed it."""
        return table(request, "metric_definition_history", who, q.Filters(metrics=_split(metrics)), format)

    @app.get(f"{API}/metrics/values", tags=["metrics"])
    def metric_values(
        request: Request,
        who: Caller,
        metrics: ListParam = None,
        grain: Grain = None,
        dimension: Annotated[
            str | None, Query(description="total, department, region, ...", max_length=80)
        ] = None,
        dimension_value: ListParam = None,
        period_from: PeriodFrom = None,
        period_to: PeriodTo = None,
        complete_only: Annotated[
            bool,
            Query(
                description="only complete periods: a company's own periods end by its own as_of_date;"
                " a total's (or other slice's) by the global one, and every company contributing to it"
                " covers it (README, Time per company)"
            ),
        ] = False,
        limit: Limit = None,
        offset: Offset = 0,
        format: Format = None,
    ):
        """Metric values by grain, period and dimension (`dimension=total` for the company)."""
        filters = q.Filters(
            metrics=_split(metrics),
            grain=grain,
            dimension=dimension,
            dimension_values=_split(dimension_value),
            period_from=period_from,
            period_to=period_to,
            complete_only=complete_only,
            limit=limit,
            offset=offset,
        )
        return table(request, "metric_values", who, filters, format)

    # -- scorecards and the metric tree --------------------------------------------------------
    @app.get(f"{API}/scorecards/summary", tags=["scorecards"])
    def scorecard_summary(
        request: Request,
        who: Caller,
        org_unit: ListParam = None,
        scorecard: Annotated[str | None, Query(max_length=80)] = None,
        grain: Grain = None,
        period_from: PeriodFrom = None,
        period_to: PeriodTo = None,
        format: Format = None,
    ):
        """Total, result and process score and coverage per scorecard, org unit and period."""
        filters = q.Filters(
            org_units=_split(org_unit),
            scorecard=scorecard,
            grain=grain,
            period_from=period_from,
            period_to=period_to,
        )
        return table(request, "scorecard_summary", who, filters, format)

    @app.get(f"{API}/scorecards/lines", tags=["scorecards"])
    def scorecard_lines(
        request: Request,
        who: Caller,
        org_unit: ListParam = None,
        scorecard: Annotated[str | None, Query(max_length=80)] = None,
        metrics: ListParam = None,
        grain: Grain = None,
        period_from: PeriodFrom = None,
        period_to: PeriodTo = None,
        format: Format = None,
    ):
        """Per metric of a scorecard: weight, actual, floor/target/stretch, attainment, score."""
        filters = q.Filters(
            org_units=_split(org_unit),
            scorecard=scorecard,
            metrics=_split(metrics),
            grain=grain,
            period_from=period_from,
            period_to=period_to,
        )
        return table(request, "scorecard_lines", who, filters, format)

    @app.get(f"{API}/forecasts", tags=["scorecards"])
    def forecasts(
        request: Request,
        who: Caller,
        org_unit: ListParam = None,
        metrics: ListParam = None,
        grain: Grain = None,
        at_risk: bool | None = None,
        format: Format = None,
    ):
        """Projected period-end values of the open periods, with projected attainment and at_risk."""
        filters = q.Filters(org_units=_split(org_unit), metrics=_split(metrics), grain=grain, at_risk=at_risk)
        return table(request, "metric_forecast", who, filters, format)

    @app.get(f"{API}/attribution", tags=["scorecards"])
    def attribution(
        request: Request,
        who: Caller,
        metrics: ListParam = None,
        grain: Grain = None,
        comparison: Annotated[
            str | None, Query(description="previous_period or same_period_last_year")
        ] = None,
        period_from: PeriodFrom = None,
        period_to: PeriodTo = None,
        format: Format = None,
    ):
        """Each driver's contribution to a metric's change (exact formulas only)."""
        filters = q.Filters(
            metrics=_split(metrics),
            grain=grain,
            comparison=comparison,
            period_from=period_from,
            period_to=period_to,
        )
        return table(request, "driver_attribution", who, filters, format)

    @app.get(f"{API}/associations", tags=["scorecards"])
    def associations(
        request: Request, who: Caller, metrics: ListParam = None, grain: Grain = None, format: Format = None
    ):
        """Measured associations (Pearson r by lag) for the links that are not arithmetic."""
        return table(
            request, "driver_associations", who, q.Filters(metrics=_split(metrics), grain=grain), format
        )

    @app.get(f"{API}/lineage/{{metric}}", tags=["metrics"])
    def metric_lineage(metric: str, who: Caller):
        """Column lineage of a metric down to the raw source columns (JSON tree)."""
        with reader.version() as version:
            known = sorted(q.metric_departments(version))
            q.check_known("metric", [metric], known)
            if metric not in q.visible_metrics(version, who):
                raise q.Forbidden(f"{who.name} may not read metric {metric!r}")
            return json_response(lineage.of_metric(version, metric), {"X-Finkpi-Run-Id": version.run_id})

    # -- for auditors ---------------------------------------------------------------------------
    @app.get(f"{API}/audit/runs", tags=["audit"])
    def audit_runs(request: Request, who: Caller, format: Format = None):
        """Every run as of the published version (admins and auditors)."""
        return table(request, "audit_runs", who, q.Filters(), format)

    @app.get(f"{API}/audit/validations", tags=["audit"])
    def audit_validations(request: Request, who: Caller, limit: Limit = None, format: Format = None):
        """Rule and expectation results as of the published version (admins and auditors)."""
        return table(request, "audit_validations", who, q.Filters(limit=limit), format)

    # -- the dashboard: static files, no data without a key ---------------------------------------
    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/dashboard/")

    app.mount("/dashboard", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    return app


def app_from_environment() -> FastAPI:
    """The application as `finkpi serve` builds it (key file from FINKPI_API_KEYS)."""
    settings = load_settings()
    return create_app(settings, KeyRing.load(settings.api_keys, departments(settings.project_dir)))
