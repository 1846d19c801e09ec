//! The output folder's life cycle: leftovers of dead runs removed under the lock, the scratch
//! folders of this run, the stop requested by a signal, the atomic swap of the report folder,
//! and the pages a `--report` run carries over from the previous folder.
//!
//! A run writes `<out>/.<as-of>.partial-<pid>/` (the new report) and `<out>/.work-<pid>/`
//! (Parquet work files) while it holds `<out>/.journey-report.lock`, then puts the partial
//! folder in place of `<out>/<as-of>/` with one `renameat2(RENAME_EXCHANGE)` where the
//! filesystem has it: at every instant `<out>/<as-of>/` is either the old report or the new
//! one. The old report then sits at the partial folder's name and is deleted.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::error::{Error, Result};

/// Exit code of the stop requested by a signal (143 for SIGTERM, 130 for Ctrl-C); 0 while
/// none was.
static STOP: AtomicU8 = AtomicU8::new(0);

/// Report folders this process has put in place, in order. Guarded together with the stop
/// check so that a stop and a swap are never interleaved.
static REPLACED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Records that the process was asked to stop (by SIGTERM or Ctrl-C) with exit code `code`
/// (143 or 130). From then on no report folder is put in place ([`swap_into_place`] refuses),
/// the page workers stop between pages, and [`check_stop`] fails. Called by the signal
/// listener of [`crate::cli::main`], on a runtime worker thread, so it takes effect even
/// while the main thread is drawing pages.
pub(crate) fn request_stop(code: u8) {
    // Taken so that a swap under way finishes before the stop is recorded (see
    // `swap_into_place`): a folder is then either replaced and listed, or left alone.
    let _replaced = REPLACED.lock();
    let _ = STOP.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
}

/// The exit code of a requested stop (143 or 130), or `None` when no stop was requested.
pub(crate) fn stop_requested() -> Option<u8> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        code => Some(code),
    }
}

/// Fails once a stop was requested; called between the steps of a run that do not yield to
/// the async runtime (page drawing, checksums, the manifest) so that a stop is not ignored.
///
/// Errors (exit 1, shown as "stopped by a signal" with exit 143 or 130 by the command line,
/// which checks [`stop_requested`] first): a stop was requested.
pub(crate) fn check_stop() -> Result<()> {
    match stop_requested() {
        None => Ok(()),
        Some(_) => Err(Error::internal(
            "stopped by a signal before the report folder was put in place",
        )),
    }
}

/// The report folders this process has put in place so far (a backfill puts several).
pub(crate) fn replaced_folders() -> Vec<PathBuf> {
    REPLACED.lock().map(|l| l.clone()).unwrap_or_default()
}

/// How [`swap_into_place`] put the new folder in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swap {
    /// There was no previous folder: one rename.
    New,
    /// One atomic `renameat2(RENAME_EXCHANGE)`: the previous folder was replaced in a single
    /// step, then deleted.
    Exchanged,
    /// The filesystem cannot exchange: the previous folder was renamed aside, the new one
    /// renamed into place, the previous one deleted (a crash between the two renames leaves
    /// the previous report at `.<as-of>.old-<pid>`, which the next run removes).
    TwoRenames,
}

/// Puts the finished `staging` folder in place as `target`, replacing a previous folder
/// atomically where the filesystem can (Linux `renameat2` with `RENAME_EXCHANGE`: ext4, xfs,
/// btrfs, tmpfs, overlayfs…), with two renames elsewhere. The previous folder is deleted
/// afterwards; when it cannot be, a warning names it (the next run removes it under the lock).
/// Returns how it was done and the warnings.
///
/// Nothing is replaced once a stop was requested: the check and the swap run under the same
/// lock as [`request_stop`], so a stop is either before the swap (refused) or after it (the
/// folder is listed in [`replaced_folders`]).
///
/// Errors: exit 1 when a rename fails (the previous folder is then left, or put back, in
/// place), or when a stop was requested ([`check_stop`]).
pub(crate) fn swap_into_place(staging: &Path, target: &Path) -> Result<(Swap, Vec<String>)> {
    let mut replaced = REPLACED
        .lock()
        .map_err(|_| Error::internal("the list of replaced folders is poisoned"))?;
    check_stop()?;
    let swap = if !target.exists() {
        std::fs::rename(staging, target).map_err(|e| Error::io(target, e))?;
        Swap::New
    } else {
        match exchange(staging, target) {
            Ok(()) => Swap::Exchanged,
            Err(e) if exchange_unsupported(&e) => {
                tracing::debug!(error = %e, "renameat2(RENAME_EXCHANGE) unsupported here: two renames");
                two_renames(staging, target)?;
                Swap::TwoRenames
            }
            Err(e) => return Err(Error::io(target, e)),
        }
    };
    replaced.push(target.to_path_buf());
    drop(replaced);
    let mut warnings = Vec::new();
    let old = match swap {
        Swap::New => None,
        // The exchange left the previous report at the staging folder's name.
        Swap::Exchanged => Some(staging.to_path_buf()),
        Swap::TwoRenames => Some(old_name(target)),
    };
    if let Some(old) = old {
        warnings.extend(remove_leftover(&old, "the previous report"));
    }
    Ok((swap, warnings))
}

/// `<parent>/.<name>.old-<pid>`: where [`two_renames`] puts the previous folder.
fn old_name(target: &Path) -> PathBuf {
    target.with_file_name(format!(
        ".{}.old-{}",
        target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report"),
        std::process::id()
    ))
}

/// Exchanges the two paths in one step (`renameat2(2)` with `RENAME_EXCHANGE`, Linux ≥ 3.15).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call; the
    // call only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// No atomic exchange off Linux: [`swap_into_place`] falls back to two renames.
#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// Whether an exchange failed because the kernel or the filesystem cannot do it (not because
/// of the folders): then two renames are used.
fn exchange_unsupported(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    if let Some(code) = e.raw_os_error() {
        return matches!(code, libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP);
    }
    e.kind() == std::io::ErrorKind::Unsupported
}

/// The fallback swap: the previous folder renamed aside, the new one into place (the previous
/// one put back when that fails).
fn two_renames(staging: &Path, target: &Path) -> Result<()> {
    let old = old_name(target);
    std::fs::rename(target, &old).map_err(|e| Error::io(target, e))?;
    if let Err(e) = std::fs::rename(staging, target) {
        let _ = std::fs::rename(&old, target);
        return Err(Error::io(target, e));
    }
    Ok(())
}

/// Deletes `path` (a folder or a file) and returns a warning naming it when that fails.
fn remove_leftover(path: &Path, what: &str) -> Option<String> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            let w = format!(
                "{what} at {} could not be deleted ({e}); the next run on this folder removes it",
                path.display()
            );
            tracing::warn!("{w}");
            Some(w)
        }
    }
}

/// Whether `name` (an entry of the output folder) is a run's scratch: `.<as-of>.partial-<pid>`,
/// `.<as-of>.old-<pid>` or `.work-<pid>`.
fn is_scratch_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let pid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(p) = rest.strip_prefix("work-") {
        return pid(p);
    }
    ["partial-", "old-"].iter().any(|kind| {
        rest.rfind(&format!(".{kind}"))
            .is_some_and(|i| i > 0 && pid(&rest[i + 1 + kind.len()..]))
    })
}

/// Removes every scratch folder ([`is_scratch_name`]) in the output folder `parent`: what a
/// run killed with `kill -9` (the OOM killer) or a power cut left behind. Called with the
/// output folder's lock held: every run takes that lock before it creates a scratch folder
/// and keeps it until its scratch is gone, so no scratch folder present now belongs to a
/// live run, whatever its PID (a PID may be reused, or live in another container that
/// shares the folder, so liveness by PID would be the weaker test). Returns the warnings of
/// folders that could not be deleted.
pub(crate) fn remove_stale(parent: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    let mut names: Vec<_> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| is_scratch_name(n))
        .collect();
    names.sort();
    for name in names {
        let path = parent.join(&name);
        match remove_leftover(&path, "a folder left by an earlier run") {
            Some(w) => warnings.push(w),
            None => {
                tracing::info!(folder = %path.display(), "removed a folder left by an earlier run that did not finish")
            }
        }
    }
    warnings
}

/// Scratch folders of runs under way in this process; see [`Scratch`] and [`remove_scratch`].
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The scratch folders of one run. Dropped without [`Scratch::finish`] (a failed run, or its
/// future dropped when the job is stopped) it deletes them but keeps them listed: tasks that
/// were still writing (a Parquet write hands its I/O to blocking threads, which recreate
/// missing parent folders) may bring them back, so [`remove_scratch`] deletes them again once
/// the runtime has stopped every task.
pub(crate) struct Scratch(Vec<PathBuf>);

impl Scratch {
    /// Lists `paths` as this run's scratch.
    pub(crate) fn new(paths: Vec<PathBuf>) -> Self {
        if let Ok(mut list) = SCRATCH.lock() {
            list.extend(paths.iter().cloned());
        }
        Scratch(paths)
    }

    /// The run succeeded: deletes what is left of the scratch folders (an old report that
    /// [`swap_into_place`] could not delete has had its warning; the next run removes it) and
    /// unlists them.
    pub(crate) fn finish(mut self) {
        let paths = std::mem::take(&mut self.0);
        for p in &paths {
            let _ = std::fs::remove_dir_all(p);
        }
        if let Ok(mut list) = SCRATCH.lock() {
            list.retain(|p| !paths.contains(p));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Deletes the scratch folders of every run of this process that did not finish: called
/// after the async runtime has shut down (every task stopped and every blocking write
/// awaited), so nothing can recreate them any more.
pub(crate) fn remove_scratch() {
    let paths = SCRATCH.lock().map(|l| l.clone()).unwrap_or_default();
    for p in paths {
        remove_leftover(&p, "a work folder");
    }
}

/// The pages of the previous report folder `previous` that a run drawing only `drawn`
/// (`--report`) carries over: every page of `names` (the reports not drawn) whose
/// `<name>.html` is in `previous`, when `previous/manifest.json` says it was written for the
/// same `as_of`. A previous folder without a readable manifest, or for another date, gives
/// none.
pub(crate) fn carried_pages(
    previous: &Path,
    as_of: chrono::NaiveDate,
    names: &[String],
) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(previous.join("manifest.json")) else {
        return Vec::new();
    };
    let same_day = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|m| m.get("as_of")?.as_str().map(|d| d == as_of.to_string()))
        .unwrap_or(false);
    if !same_day {
        return Vec::new();
    }
    names
        .iter()
        .filter(|n| previous.join(format!("{n}.html")).is_file())
        .cloned()
        .collect()
}

/// Copies the carried-over pages `names` (see [`carried_pages`]) from `previous` into
/// `staging`: `<name>.html` and, where it exists, `email/<name>.eml`. Returns, per page, when
/// the run that drew it started (from the previous manifest's `started_at`, or its own
/// `carried_pages` entry when that page was itself carried over).
///
/// Errors: exit 1 when a file cannot be copied.
pub(crate) fn carry_pages(
    previous: &Path,
    staging: &Path,
    names: &[String],
) -> Result<Vec<serde_json::Value>> {
    let manifest: serde_json::Value = std::fs::read_to_string(previous.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut out = Vec::new();
    for name in names {
        let page = format!("{name}.html");
        let from = previous.join(&page);
        let to = staging.join(&page);
        std::fs::copy(&from, &to).map_err(|e| Error::io(&to, e))?;
        let eml = previous.join("email").join(format!("{name}.eml"));
        if eml.is_file() {
            let dir = staging.join("email");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let to = dir.join(format!("{name}.eml"));
            std::fs::copy(&eml, &to).map_err(|e| Error::io(&to, e))?;
        }
        let drawn_at = manifest
            .get("carried_pages")
            .and_then(|c| c.as_array())
            .and_then(|c| c.iter().find(|e| e["page"] == page.as_str()))
            .and_then(|e| e.get("drawn_at").cloned())
            .or_else(|| manifest.get("started_at").cloned())
            .unwrap_or(serde_json::Value::Null);
        out.push(serde_json::json!({"page": page, "drawn_at": drawn_at}));
    }
    Ok(out)
}

/// Takes the exclusive lock `<parent>/.journey-report.lock` for the whole run, so two runs
/// never write the same output folder. Released when the returned file is dropped (also when
/// the process dies).
///
/// Errors (exit 2): another run holds the lock.
pub(crate) fn lock_output(parent: &Path) -> Result<std::fs::File> {
    let path = parent.join(".journey-report.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::config(format!(
            "{}: another journey-report run is writing this folder (it holds {}); wait for it to finish",
            parent.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_are_recognised_and_nothing_else() {
        for n in [
            ".2026-10-31.partial-123",
            ".2026-10-31.old-9",
            ".work-4242",
            ".weird.name.partial-1",
        ] {
            assert!(is_scratch_name(n), "{n}");
        }
        for n in [
            "2026-10-31",
            ".journey-report.lock",
            ".work-",
            ".work-12a",
            ".partial-12",
            ".2026-10-31.partial-",
            "x.2026-10-31.partial-1",
            ".2026-10-31.delivery.json",
        ] {
            assert!(!is_scratch_name(n), "{n}");
        }
    }

    #[test]
    fn the_previous_folder_is_exchanged_in_one_step_and_deleted() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::TempDir::new().unwrap();
        let target = dir.path().join("2026-10-31");
        let staging = dir.path().join(".2026-10-31.partial-1");
        std::fs::create_dir_all(target.join("data")).unwrap();
        std::fs::write(target.join("index.html"), "old").unwrap();
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("index.html"), "new").unwrap();
        let new_inode = std::fs::metadata(&staging).unwrap().ino();
        let (swap, warnings) = swap_into_place(&staging, &target).unwrap();
        // tmpfs, ext4, xfs, btrfs and overlayfs all support RENAME_EXCHANGE.
        assert_eq!(swap, Swap::Exchanged);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(std::fs::metadata(&target).unwrap().ino(), new_inode);
        assert_eq!(
            std::fs::read_to_string(target.join("index.html")).unwrap(),
            "new"
        );
        assert!(!staging.exists(), "the previous report was not deleted");
        // No previous folder: a plain rename.
        let other = dir.path().join("2026-11-01");
        std::fs::create_dir_all(&staging).unwrap();
        assert_eq!(swap_into_place(&staging, &other).unwrap().0, Swap::New);
        assert!(other.is_dir() && !staging.exists());
        assert!(replaced_folders().contains(&target));
    }

    #[test]
    fn stale_scratch_is_removed_and_reports_are_kept() {
        let dir = tempfile::TempDir::new().unwrap();
        for n in [
            ".2026-10-31.partial-77",
            ".work-77",
            ".2026-10-30.old-5",
            "2026-10-31",
        ] {
            std::fs::create_dir_all(dir.path().join(n).join("data")).unwrap();
        }
        std::fs::write(dir.path().join(".journey-report.lock"), "").unwrap();
        assert!(remove_stale(dir.path()).is_empty());
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, vec![".journey-report.lock", "2026-10-31"]);
    }

    #[test]
    fn a_leftover_that_cannot_be_deleted_gives_a_warning() {
        // /proc entries cannot be deleted, not even by root.
        let w = remove_leftover(Path::new("/proc/self/status"), "the previous report");
        let w = w.expect("a warning");
        assert!(w.contains("/proc/self/status could not be deleted"), "{w}");
    }
}
