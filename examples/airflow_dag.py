"""Airflow DAG: the nightly journey-report, for Airflow 2 (2.4+) and Airflow 3.

The run at 03:00 UTC on day D+1 reports day D, a whole finished day: the schedule is an
explicit `CronDataIntervalTimetable`, so on both Airflow 2 and 3 the run's data interval is
[D 03:00, D+1 03:00) and `{{ data_interval_start | ds }}` is D. (A plain cron string gives a
zero-length interval on Airflow 3 unless `create_cron_data_intervals` is set, and `{{ ds }}`
would then be D+1, a day that has only begun.) A re-run or a backfill of an interval rebuilds
exactly that day's folder, atomically.

Retries only where a retry can succeed. journey-report's exit codes (README, "Exit codes"):

    0    report written                                   -> success; the summary line is the XCom
    2    usage or configuration error                     -> fail, no retry (fix the project)
    3    invalid or stale input data                      -> fail, no retry (fix the exports)
    4    a SQL model failed                               -> fail, no retry (fix sql/)
    6    report written, some analyses unavailable        -> fail, no retry (the report is there;
                                                             someone should look)
    1    internal error (disk full, permissions, a bug)   -> retried (a full disk may be freed)
    5    delivery failed                                  -> retried (the SMTP server may be back)
    143, 130, or killed by a signal (OOM killer)          -> retried (stopped from outside)

BashOperator cannot tell exit codes apart (every non-zero code is a retryable failure, 99 is
"skipped"), so the task runs the command itself and raises AirflowFailException, which Airflow
never retries, for the codes in NO_RETRY. On a timeout or when Airflow stops the task, the
command gets SIGTERM: journey-report removes its partial folder, leaves the previous report in
place and exits 143.
"""
import subprocess
import sys
import threading
from datetime import datetime, timedelta

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
try:  # Airflow 3.1+
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 2 and 3.0
    from airflow.exceptions import AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

# The command; {as_of} is the data interval's start date (YYYY-MM-DD).
COMMAND = "journey-report run --project /srv/journeys --as-of {as_of}"
# Exit codes a retry cannot fix.
NO_RETRY = {
    2: "usage or configuration error",
    3: "invalid or stale input data",
    4: "a SQL model failed",
    6: "report written, some analyses unavailable",
}


def run_journey_report(as_of):
    """Runs COMMAND for `as_of`; returns the summary line (stdout's last line) for XCom.

    stderr (the log) is passed through line by line. Raises AirflowFailException (no retry)
    for the exit codes in NO_RETRY and RuntimeError (retried) for any other failure.
    """
    proc = subprocess.Popen(
        COMMAND.format(as_of=as_of).split(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def relay():
        for line in proc.stderr:
            sys.stderr.write(line)

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    try:
        out = proc.stdout.read()
        code = proc.wait()
    finally:
        # Airflow's timeout or stop arrives as an exception here: pass the stop on.
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
    relay_thread.join()
    lines = out.strip().splitlines()
    summary = lines[-1] if lines else ""
    print(out, end="")
    if code == 0:
        return summary
    if code in NO_RETRY:
        raise AirflowFailException(
            f"journey-report exited {code} ({NO_RETRY[code]}); a retry cannot fix this"
        )
    raise RuntimeError(f"journey-report exited {code}; Airflow retries it")


with DAG(
    dag_id="journey_report",
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=datetime(2026, 10, 1),
    catchup=False,
    # A second run on the same output folder is refused (exit 2): never start one.
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    task(
        task_id="journey_report",
        execution_timeout=timedelta(hours=2),
    )(run_journey_report)(as_of="{{ data_interval_start | ds }}")
