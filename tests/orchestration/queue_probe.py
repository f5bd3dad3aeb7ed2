"""A job that holds its run for a few seconds: the queue test submits two of them."""

import time

import dagster as dg


@dg.op
def hold() -> None:
    time.sleep(2)


@dg.job
def probe():
    hold()


defs = dg.Definitions(jobs=[probe])
