"""Airflow DAG: the nightly journey-report for the DAG run's logical date.

`{{ ds }}` is Airflow's logical date (YYYY-MM-DD): the report covers data up to the end of
that day, so a re-run or a backfill (`airflow dags backfill`) rebuilds exactly that day's
folder, atomically. journey-report exits 0 on success and 1-5 on failure (never 99, which
Airflow would read as "skipped"); the last stdout line (the summary) goes to XCom. Airflow
stops a task with SIGTERM: journey-report then removes its partial folder and exits 143.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="journey_report",
    schedule="0 3 * * *",
    start_date=datetime(2026, 10, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    BashOperator(
        task_id="journey_report",
        bash_command="journey-report run --project /srv/journeys --as-of {{ ds }}",
        execution_timeout=timedelta(hours=2),
    )
