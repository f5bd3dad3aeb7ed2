"""Jobs: the refresh (every asset and check: build, exports, scorecards, gates, publish) and the
monthly close (`finkpi close` for one month, the same function as the command)."""

import dagster as dg

from finkpi.publish.close import close_period
from orchestration.resources import FinkpiSettings

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="The whole pipeline: pre-flight and dbt build, metric exports, scorecards, the "
    "Great Expectations gates, publish (what `finkpi run` does).",
)


class CloseConfig(dg.Config):
    period: str  # YYYY-MM
    by: str = "dagster monthly close"


@dg.op(description="Freeze the month's published metric values (finkpi.publish.close.close_period).")
def close_period_op(context: dg.OpExecutionContext, config: CloseConfig, finkpi: FinkpiSettings) -> None:
    close = close_period(finkpi.settings(), config.period, actor=config.by)
    context.log.info(f"closed {close.period}: {close.rows} month values frozen from version {close.version}")
    context.add_output_metadata({"period": close.period, "rows": close.rows, "version": close.version})


@dg.job(description="`finkpi close --period YYYY-MM` for the month just ended.")
def monthly_close():
    close_period_op()
