//! Operations: logs a scheduler can use, signals, the atomic swap, leftovers, --report, the scheduling examples.

#[allow(unused_imports)]
use super::*;

use std::process::Stdio;

/// Entries of `dir` other than the lock file, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != ".journey-report.lock")
        .collect();
    names.sort();
    names
}

/// The relative links (`href="…"`) of an HTML page.
fn local_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| !h.starts_with("http") && !h.starts_with("mailto:") && !h.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Sends `signal` (e.g. "-TERM") to the process `pid`.
fn kill(signal: &str, pid: u32) {
    std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
}

/// Polls `cond` every 5 ms for up to `secs` seconds; whether it became true.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = std::time::Instant::now();
    while t0.elapsed().as_secs() < secs {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    cond()
}

/// Starts `journey-report run --project <project> --as-of 2026-10-31 <extra>` with `env`,
/// stdout discarded and stderr piped.
fn spawn_run(project: &Path, extra: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_journey-report"))
        .args(["run", "--project"])
        .arg(project)
        .args(["--as-of", "2026-10-31"])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The stderr lines of a run, each parsed as JSON (panics naming a line that is not JSON).
fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stderr(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect()
}

#[test]
fn redirected_logs_have_no_colour_codes_and_end_with_a_status_event() {
    let p = tiny();
    // stderr is a pipe here, as under cron (a file), systemd or Airflow; default log level.
    let o = bin()
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .args(["run", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31"])
        .output()
        .unwrap();
    ok(&o);
    let err = stderr(&o);
    assert!(err.contains("models run and data files written"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escape codes in a redirected log:\n{err:?}"
    );
    let last = err.trim_end().lines().last().unwrap();
    let folder = report_dir(p.path());
    for field in [
        "event=\"finished\"".to_string(),
        "status=\"complete\"".to_string(),
        "exit_code=0".to_string(),
        format!("folder={}", folder.display()),
    ] {
        assert!(
            last.contains(&field),
            "{field} not in the last line {last:?}"
        );
    }
    // The status event is written whatever RUST_LOG says, and on failure too.
    let o = bin()
        .env("RUST_LOG", "error")
        .args(["run", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31", "--report", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("journey-report: error: --report nosuch"),
        "{err}"
    );
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("status=\"failed\"") && last.contains("exit_code=2"),
        "{last:?}"
    );
    assert!(!last.contains("folder="), "{last:?}");
}

#[test]
fn json_logs_are_json_to_the_last_line_with_numbers_as_numbers() {
    let p = tiny();
    let o = bin()
        .env_remove("RUST_LOG")
        .args(["--log-format", "json", "run", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31"])
        .output()
        .unwrap();
    ok(&o);
    let lines = json_lines(&o);
    let seconds_of = |message: &str| -> serde_json::Value {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} event in {lines:#?}"))["fields"]["seconds"]
            .clone()
    };
    for m in [
        "sources checked and models planned",
        "models run and data files written",
        "pages and e-mails rendered",
        "model done",
    ] {
        assert!(seconds_of(m).is_f64(), "{m}: seconds {:?}", seconds_of(m));
    }
    let last = &lines.last().unwrap()["fields"];
    assert_eq!(last["event"], "finished");
    assert_eq!(last["status"], "complete");
    assert_eq!(last["exit_code"], 0);
    assert!(last["seconds"].as_f64().is_some_and(|s| s > 0.0), "{last}");
    assert_eq!(
        last["folder"],
        report_dir(p.path()).display().to_string().as_str()
    );
    // A failing run: the error is a JSON object with its exit code, then the status event.
    let o = bin()
        .env_remove("RUST_LOG")
        .args(["--log-format", "json", "run", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31", "--report", "nosuch"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let lines = json_lines(&o);
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no ERROR event: {lines:#?}"));
    assert!(
        error["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("--report nosuch: no such report"),
        "{error}"
    );
    assert_eq!(error["fields"]["exit_code"], 2);
    let last = &lines.last().unwrap()["fields"];
    assert_eq!(last["status"], "failed");
    assert_eq!(last["exit_code"], 2);
}

/// Asserts that every local link of every page of `dir` names a file in `dir`.
fn assert_links_resolve(dir: &Path) {
    for page in entries(dir).iter().filter(|n| n.ends_with(".html")) {
        let html = std::fs::read_to_string(dir.join(page)).unwrap();
        for link in local_links(&html) {
            assert!(
                dir.join(&link).is_file(),
                "{page} links to {link}, which the folder does not hold"
            );
        }
    }
}

#[test]
fn report_option_keeps_the_folders_other_pages() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    let pages = entries(&dir);
    let emails = entries(&dir.join("email"));
    // index, the data-quality page and the seven reports of the fixture.
    assert_eq!(pages.iter().filter(|n| n.ends_with(".html")).count(), 9);
    assert_eq!(emails.len(), 9);
    let first: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let rfm_before = std::fs::read(dir.join("rfm.html")).unwrap();
    let o = run(p.path(), &["--report", "funnel"]);
    ok(&o);
    // Same files: the six reports not drawn (and their e-mails) are carried over as they were.
    assert_eq!(entries(&dir), pages);
    assert_eq!(entries(&dir.join("email")), emails);
    assert_eq!(std::fs::read(dir.join("rfm.html")).unwrap(), rfm_before);
    assert_links_resolve(&dir);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["pages"],
        serde_json::json!(["index.html", "data_quality.html", "funnel.html"])
    );
    let carried: Vec<&str> = manifest["carried_pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["drawn_at"], first["started_at"], "{c}");
            c["page"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        carried,
        vec![
            "paths.html",
            "attribution.html",
            "rfm.html",
            "heatmap.html",
            "channels.html",
            "clv.html"
        ]
    );
    // A folder of its own with only the funnel: the summary links only what the folder holds
    // (and the data-quality page, which every run writes).
    let out = TempDir::new().unwrap();
    let o = bin()
        .args(["run", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31", "--report", "funnel", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    ok(&o);
    let only = out.path().join("2026-10-31");
    assert_eq!(
        entries(&only)
            .into_iter()
            .filter(|n| n.ends_with(".html"))
            .collect::<Vec<_>>(),
        vec!["data_quality.html", "funnel.html", "index.html"]
    );
    assert_links_resolve(&only);
    let index = std::fs::read_to_string(only.join("index.html")).unwrap();
    assert!(index.contains("<a href=\"funnel.html\">Funnel →</a>"));
    assert!(index.contains("<h2>Attribution</h2>"), "plain heading");
}

/// A tiny project whose heatmap page takes seconds to draw: a template override that computes
/// 4,000 × 4,000 products, twice (web and e-mail form; 9 million took 1.8 s per form here), so
/// a stop sent while the other pages are drawn lands before the run can have finished.
fn tiny_with_a_slow_page() -> TempDir {
    let p = tiny();
    let dir = p.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("heatmap.html"),
        "{% extends \"base.html\" %}{% block content %}\
         {% for i in range(end=4000) %}{% for j in range(end=4000) %}{% set x = i * j + 1 %}\
         {% endfor %}{% endfor %}\
         <p>slow</p>{% endblock content %}",
    )
    .unwrap();
    p
}

#[test]
fn sigterm_while_pages_are_drawn_stops_the_run_and_replaces_nothing() {
    let p = tiny_with_a_slow_page();
    ok(&run(p.path(), &[]));
    let reports = p.path().join("reports");
    let manifest = report_dir(p.path()).join("manifest.json");
    let before = std::fs::read(&manifest).unwrap();
    let child = spawn_run(p.path(), &[], &[]);
    // The stop is sent while the slow page is being drawn: every other page is in the partial
    // folder, the slow one is not, so the run cannot have finished.
    let drawing_the_slow_page = || {
        let Some(d) = entries(&reports)
            .into_iter()
            .find(|n| n.contains(".partial-"))
        else {
            return false;
        };
        let d = reports.join(d);
        [
            "index",
            "funnel",
            "paths",
            "attribution",
            "rfm",
            "channels",
            "clv",
        ]
        .iter()
        .all(|n| d.join(format!("{n}.html")).exists())
            && !d.join("heatmap.html").exists()
    };
    assert!(
        wait_for(60, drawing_the_slow_page),
        "never saw the run drawing the slow page"
    );
    kill("-TERM", child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("stopped by a signal; no report folder was written or replaced"),
        "{err}"
    );
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .contains("status=\"stopped\""),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        before,
        "the report was replaced"
    );
    assert_eq!(entries(&reports), vec!["2026-10-31"], "leftovers");
}

#[test]
fn sigterm_at_any_moment_gives_either_the_old_report_or_the_new_one() {
    // A stop sent at 12 moments spread over a whole run (a run of the tiny project takes
    // about a second): each outcome is either exit 143 with the previous report untouched,
    // or exit 0 with a new complete report; never a missing report, never leftovers.
    let p = tiny();
    ok(&run(p.path(), &[]));
    let reports = p.path().join("reports");
    let manifest = report_dir(p.path()).join("manifest.json");
    let (mut stopped, mut finished) = (0, 0);
    for i in 0..12u64 {
        let before = std::fs::read(&manifest).unwrap();
        let child = spawn_run(p.path(), &[], &[]);
        // The signal handlers are installed once the lock file is touched or a little later;
        // before that SIGTERM would kill the process unhandled, which is not what is tested.
        std::thread::sleep(std::time::Duration::from_millis(150 + i * 90));
        kill("-TERM", child.id());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let after = std::fs::read(&manifest).expect("the report folder is missing");
        match out.status.code() {
            // Killed by the signal's default action: it came before the handlers were
            // installed, which is before the run touches the output folder.
            None => assert_eq!(after, before, "killed, but the report changed"),
            Some(143) => {
                stopped += 1;
                assert_eq!(after, before, "stopped, but the report changed: {err}");
            }
            Some(0) => {
                finished += 1;
                assert_ne!(after, before, "exit 0 without a new report: {err}");
                let dir = report_dir(p.path());
                assert_eq!(
                    entries(&dir)
                        .iter()
                        .filter(|n| n.ends_with(".html"))
                        .count(),
                    9
                );
            }
            other => panic!("exit {other:?}: {err}"),
        }
        assert_eq!(entries(&reports), vec!["2026-10-31"], "leftovers: {err}");
    }
    eprintln!("{stopped} stopped, {finished} finished");
}

#[test]
fn leftovers_of_a_killed_run_are_removed_by_the_next_run() {
    let data = TempDir::new().unwrap();
    ok(&bin()
        .args([
            "sample", "--events", "300000", "--seed", "5", "--format", "parquet", "--out",
        ])
        .arg(data.path())
        .output()
        .unwrap());
    let out = TempDir::new().unwrap();
    let src = |name: &str, file: &str| format!("{name}={}", data.path().join(file).display());
    let command = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_journey-report"));
        c.args(["run", "--project"])
            .arg(repo())
            .args(["--as-of", "2026-10-31", "--out"])
            .arg(out.path())
            .args(["--source", &src("events", "events.parquet")])
            .args(["--source", &src("customers", "customers.csv")])
            .args(["--source", &src("transactions", "transactions.csv")])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    };
    // kill -9 (as the OOM killer does) while the run writes its partial folder.
    let mut child = command().spawn().unwrap();
    let partial = || entries(out.path()).iter().any(|n| n.contains(".partial-"));
    assert!(wait_for(60, partial), "the run never started writing");
    kill("-KILL", child.id());
    child.wait().unwrap();
    let left = entries(out.path());
    assert!(
        left.iter().any(|n| n.contains(".partial-")),
        "kill -9 left nothing to clean up: {left:?}"
    );
    // Also a leftover named after a live process (this one): the lock, not the PID, decides.
    let mine = out
        .path()
        .join(format!(".2026-10-30.partial-{}", std::process::id()));
    std::fs::create_dir_all(mine.join("data")).unwrap();
    let o = command().stderr(Stdio::piped()).output().unwrap();
    ok(&o);
    assert_eq!(entries(out.path()), vec!["2026-10-31"]);
    assert!(
        stderr(&o).contains("removed a folder left by an earlier run"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_stop_during_sending_says_the_folder_was_replaced() {
    // An SMTP server that accepts connections and never answers: the run hangs in delivery
    // after the swap; SIGTERM then must not claim that nothing was replaced.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let p = tiny();
    let manifest = report_dir(p.path()).join("manifest.json");
    let port = port.to_string();
    let smtp = [
        ("JOURNEY_SMTP_HOST", "127.0.0.1"),
        ("JOURNEY_SMTP_PORT", port.as_str()),
        ("JOURNEY_SMTP_TLS", "none"),
    ];
    let child = spawn_run(p.path(), &["--send"], &smtp);
    // The run is connected to the server: the folder is in place and it is sending.
    server.set_nonblocking(true).unwrap();
    let mut conn = None;
    assert!(
        wait_for(60, || {
            conn = server.accept().ok();
            conn.is_some()
        }),
        "the run never connected"
    );
    assert!(manifest.is_file(), "sending before the folder is in place");
    kill("-TERM", child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        !err.contains("no report folder was written or replaced"),
        "{err}"
    );
    let folder = report_dir(p.path()).display().to_string();
    assert!(
        err.contains(&format!(
            "stopped by a signal after {folder} had been put in place"
        )),
        "{err}"
    );
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("status=\"stopped\"") && last.contains(&format!("folder={folder}")),
        "{last}"
    );
}

/// A folder holding a `date` that prints 2026-10-31 for `date -d yesterday +%F` (the day the
/// tiny fixture's data ends) and runs the real `date` otherwise, and `journey-report`.
fn shims() -> TempDir {
    let dir = TempDir::new().unwrap();
    let date = dir.path().join("date");
    std::fs::write(
        &date,
        "#!/bin/sh\nif [ \"$1 $2 $3\" = \"-d yesterday +%F\" ]; then echo 2026-10-31; else exec /bin/date \"$@\"; fi\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&date, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn the_crontab_line_runs_locked_with_a_timeout_and_logs_without_colour() {
    let crontab = std::fs::read_to_string(repo().join("examples/crontab")).unwrap();
    let line = crontab
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    // What cron hands to sh: the five time fields cut off, \% turned into %.
    let command = line
        .splitn(6, char::is_whitespace)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>();
    assert_eq!(command[..5], ["0", "3", "*", "*", "*"]);
    let command = line[line.find("cd ").unwrap()..].replace("\\%", "%");
    assert!(command.contains("flock -n "), "{command}");
    assert!(
        command.contains("timeout --signal=TERM --kill-after=5m 2h "),
        "{command}"
    );
    assert!(
        README.contains(line),
        "the README's cron line differs from examples/crontab"
    );
    let p = tiny();
    let logs = TempDir::new().unwrap();
    let log = logs.path().join("journey-report.log");
    let command = command
        .replace("/srv/journeys", &p.path().display().to_string())
        .replace(
            "/usr/local/bin/journey-report",
            env!("CARGO_BIN_EXE_journey-report"),
        )
        .replace("/var/log/journey-report.log", &log.display().to_string());
    let shims = shims();
    let path = format!(
        "{}:{}",
        shims.path().display(),
        std::env::var("PATH").unwrap()
    );
    let sh = || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .env("PATH", &path)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };
    // While another job holds the cron lock, the night is skipped: flock exits 1, no report.
    let lock_file = std::fs::File::create(p.path().join(".journey-report.cron.lock")).unwrap();
    lock_file.lock().unwrap();
    let o = sh();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!report_dir(p.path()).exists());
    lock_file.unlock().unwrap();
    let o = sh();
    ok(&o);
    assert!(report_dir(p.path()).join("index.html").is_file());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("models run and data files written"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in the log file: {text:?}"
    );
    // stdout's summary line, then stderr's final status event.
    assert!(text.contains("journey-report: wrote "), "{text}");
    let last = text.trim_end().lines().last().unwrap();
    assert!(
        last.contains("event=\"finished\" status=\"complete\" exit_code=0"),
        "{last}"
    );
}

const README: &str = include_str!("../../README.md");

#[test]
fn the_systemd_units_wait_for_the_network_read_smtp_settings_and_report_failures() {
    let unit = std::fs::read_to_string(repo().join("examples/journey-report.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    let has = |l: &str| lines.contains(&l);
    assert!(has("Wants=network-online.target"), "{unit}");
    assert!(has("After=network-online.target"), "{unit}");
    assert!(
        has("EnvironmentFile=/etc/journey-report/smtp.env"),
        "{unit}"
    );
    assert!(has("OnFailure=journey-report-failed@%n.service"), "{unit}");
    assert!(has("TimeoutStartSec=2h"), "{unit}");
    let failed =
        std::fs::read_to_string(repo().join("examples/journey-report-failed@.service")).unwrap();
    assert!(failed.contains("ExecStart="), "{failed}");
    for l in [
        "Wants=",
        "EnvironmentFile=",
        "OnFailure=",
        "TimeoutStartSec=2h",
    ] {
        assert!(README.contains(l), "the README does not mention {l}");
    }
    // systemd's own check, where systemd is installed.
    if let Ok(o) = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(repo().join("examples/journey-report.service"))
        .arg(repo().join("examples/journey-report.timer"))
        .output()
    {
        assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    }
}

/// Stand-ins for the Airflow classes the DAG uses (Airflow 2's import paths; Airflow 3's
/// `airflow.sdk` is absent, so the DAG takes its fallbacks), then the test of `run.py`.
const AIRFLOW_STUBS: &[(&str, &str)] = &[
    (
        "airflow/__init__.py",
        "class DAG:\n    last = None\n    def __init__(self, **kw):\n        self.kw = kw\n        DAG.last = self\n    def __enter__(self):\n        return self\n    def __exit__(self, *a):\n        return False\n",
    ),
    (
        "airflow/decorators.py",
        "TASKS = []\ndef task(**kw):\n    def deco(fn):\n        def call(**args):\n            TASKS.append((kw, fn, args))\n        return call\n    return deco\n",
    ),
    (
        "airflow/exceptions.py",
        "class AirflowFailException(Exception):\n    pass\n",
    ),
    ("airflow/timetables/__init__.py", ""),
    (
        "airflow/timetables/interval.py",
        "class CronDataIntervalTimetable:\n    def __init__(self, cron, timezone):\n        self.cron, self.timezone = cron, timezone\n",
    ),
];

const AIRFLOW_TEST: &str = r#"
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("dag", sys.argv[1])
dag = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dag)
from airflow import DAG
from airflow.decorators import TASKS
from airflow.exceptions import AirflowFailException
(kw, fn, args), = TASKS
d = DAG.last.kw
out = {
    "command": dag.COMMAND,
    "schedule": [d["schedule"].cron, d["schedule"].timezone],
    "max_active_runs": d["max_active_runs"],
    "retries": d["default_args"]["retries"],
    "task": kw["task_id"],
    "as_of": args["as_of"],
    "no_retry": sorted(dag.NO_RETRY),
}
# The real command, with Airflow's rendering of the template for the run of 2026-11-01 03:00
# (data interval [2026-10-31 03:00, 2026-11-01 03:00)) and the project path filled in.
dag.COMMAND = dag.COMMAND.replace("/srv/journeys", sys.argv[2])
def outcome(as_of):
    try:
        return ["ok", fn(as_of)]
    except AirflowFailException as e:
        return ["fail", str(e)]
    except Exception as e:
        return ["retry", str(e)]
out["real"] = outcome(args["as_of"].replace("{{ data_interval_start | ds }}", "2026-10-31"))
out["real_bad_date"] = outcome("2026-13-01")
# Every exit code through a stand-in journey-report on PATH that exits with it.
codes = {}
for code in [1, 2, 3, 4, 5, 6, 130, 143]:
    dag.COMMAND = f"exit-with {code}"
    codes[str(code)] = outcome("2026-10-31")[0]
out["codes"] = codes
print(json.dumps(out))
"#;

#[test]
fn the_airflow_dag_runs_the_documented_command_and_retries_only_what_can_succeed() {
    let dag_file = repo().join("examples/airflow_dag.py");
    let dag = std::fs::read_to_string(&dag_file).unwrap();
    // The README shows the DAG's command and its codes that are never retried, verbatim.
    let command_line = dag.lines().find(|l| l.starts_with("COMMAND = ")).unwrap();
    assert!(README.contains(command_line), "README lacks {command_line}");
    let start = dag.find("NO_RETRY = {").unwrap();
    let no_retry = &dag[start..start + dag[start..].find("\n}\n").unwrap() + 2];
    assert!(README.contains(no_retry), "README lacks\n{no_retry}");
    let stubs = TempDir::new().unwrap();
    for (file, text) in AIRFLOW_STUBS {
        let f = stubs.path().join(file);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }
    let exit_with = stubs.path().join("bin/exit-with");
    std::fs::create_dir_all(exit_with.parent().unwrap()).unwrap();
    std::fs::write(&exit_with, "#!/bin/sh\necho some output\nexit $1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exit_with, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_journey-report"))
        .parent()
        .unwrap()
        .to_path_buf();
    let p = tiny();
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(AIRFLOW_TEST)
        .arg(&dag_file)
        .arg(p.path())
        .env("PYTHONPATH", stubs.path())
        .env(
            "PATH",
            format!(
                "{}:{}:{}",
                bin_dir.display(),
                stubs.path().join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    ok(&o);
    let out: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(out["schedule"], serde_json::json!(["0 3 * * *", "UTC"]));
    assert_eq!(out["max_active_runs"], 1);
    assert_eq!(out["retries"], 2);
    assert_eq!(out["as_of"], "{{ data_interval_start | ds }}");
    assert_eq!(out["no_retry"], serde_json::json!([2, 3, 4, 6]));
    // The real run: its summary line is the task's return value (the XCom).
    assert_eq!(out["real"][0], "ok", "{out}");
    assert!(
        out["real"][1]
            .as_str()
            .unwrap()
            .starts_with("journey-report: wrote "),
        "{out}"
    );
    assert!(report_dir(p.path()).join("index.html").is_file());
    // A bad date is a usage error (exit 2): failed without retry.
    assert_eq!(out["real_bad_date"][0], "fail", "{out}");
    assert_eq!(
        out["codes"],
        serde_json::json!({"1": "retry", "2": "fail", "3": "fail", "4": "fail", "5": "retry",
                           "6": "fail", "130": "retry", "143": "retry"})
    );
}
