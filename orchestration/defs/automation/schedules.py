"""A daily refresh, and the monthly close on business day N (FINKPI_CLOSE_BUSINESS_DAY, default 3)
for the month just ended. Times are UTC."""

import os

import dagster as dg

from orchestration.defs.automation.business_days import close_due
from orchestration.defs.automation.jobs import monthly_close, refresh_job

DEFAULT_CLOSE_BUSINESS_DAY = 3


def close_business_day() -> int:
    return int(os.environ.get("FINKPI_CLOSE_BUSINESS_DAY", DEFAULT_CLOSE_BUSINESS_DAY))


daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Every day at 05:00 UTC: the whole pipeline on the configured extracts.",
)


@dg.schedule(
    name="monthly_close",
    job=monthly_close,
    cron_schedule="0 7 * * 1-5",  # each weekday; the function keeps only business day N
    execution_timezone="UTC",
    description="On business day N of a month (FINKPI_CLOSE_BUSINESS_DAY, default 3; weekends skipped), "
    "`finkpi close` for the month just ended.",
)
def monthly_close_schedule(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.date()
    n = close_business_day()
    period = close_due(day, n)
    if period is None:
        return dg.SkipReason(f"{day} is not business day {n} of its month")
    return dg.RunRequest(
        run_key=f"close-{period}",
        run_config={"ops": {"close_period_op": {"config": {"period": period}}}},
        tags={"finkpi/period": period},
    )
