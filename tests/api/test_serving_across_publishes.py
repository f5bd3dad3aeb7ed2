"""The API keeps serving while new versions are published, rolled back and pruned, and answers
from the new version as soon as `current` switches; no answer mixes two versions."""

from __future__ import annotations

import shutil
import threading

import httpx
from api_support import running_server

from finkpi.api.app import create_app
from finkpi.pipeline import scorecard_tables
from finkpi.publish import current_version, publish_run, rollback
from finkpi.run import new_run_id
from finkpi.settings import PROJECT_DIR, load_settings

SAMPLE_DIR = PROJECT_DIR / "data" / "sample"
REVENUE_BY_YEAR = {"metrics": "revenue", "grain": "year"}


def _publish(settings) -> str:
    run_id = new_run_id()
    publish_run(settings, run_id, extra_tables=scorecard_tables(settings, run_id))
    return run_id


def test_serving_continues_across_publishes_and_switches_version(built, sample_settings, api_keys, tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy2(sample_settings.build_database, warehouse / "finkpi.duckdb")
    settings = load_settings(warehouse_dir=warehouse, data_dir=SAMPLE_DIR, keep_versions=2)
    first = _publish(settings)
    headers = api_keys.headers("sales")
    answers: list[tuple[int, str | None, set[str]]] = []
    stop = threading.Event()

    with running_server(create_app(settings, api_keys.ring)) as url:

        def read_in_a_loop():
            with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                while not stop.is_set():
                    response = http.get("/api/v1/metrics/values", params=REVENUE_BY_YEAR)
                    run_ids = {row["run_id"] for row in response.json().get("data", [])}
                    answers.append((response.status_code, response.headers.get("X-Finkpi-Run-Id"), run_ids))

        readers = [threading.Thread(target=read_in_a_loop) for _ in range(2)]
        for reader in readers:
            reader.start()
        try:
            published = [first]
            with httpx.Client(base_url=url, headers=headers) as http:
                assert http.get("/api/v1/version").json()["run_id"] == first
                for _ in range(3):  # keep_versions=2: older versions are pruned under the readers
                    published.append(_publish(settings))
                    assert http.get("/api/v1/version").json()["run_id"] == published[-1]
                before, after = rollback(settings)
                assert (before, after) == (published[-1], published[-2])
                assert http.get("/api/v1/me").json()["run_id"] == published[-2]
        finally:
            stop.set()
            for reader in readers:
                reader.join()

    assert current_version(settings) == published[-2]
    assert len(answers) > 10
    for status, header_run_id, row_run_ids in answers:
        assert status == 200
        assert row_run_ids == {header_run_id}, "an answer mixed versions or named another one"
    served = {header for _status, header, _rows in answers}
    assert served <= set(published) and len(served) >= 2, served
