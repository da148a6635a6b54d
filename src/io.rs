//! Writing outputs: atomic files (temp file in the same folder, then rename), so a failed run
//! never leaves a half-written file that looks complete; run directories; progress bars.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The kind of an existing path that is neither a regular file nor a directory, in words.
fn special_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_file() || ft.is_dir() {
        return None;
    }
    Some(if ft.is_fifo() {
        "FIFO (named pipe)"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_socket() {
        "socket"
    } else {
        "special file"
    })
}

/// Checks that the nearest existing folder above `path` is a directory (so that creating
/// `path` cannot fail on a file in the way), naming `flag` and `path` otherwise.
fn check_ancestors(path: &Path, flag: &str) -> anyhow::Result<()> {
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            break;
        }
        if let Ok(meta) = std::fs::metadata(dir) {
            anyhow::ensure!(
                meta.is_dir(),
                "{flag} {}: {} exists and is not a directory",
                path.display(),
                dir.display()
            );
            break;
        }
    }
    Ok(())
}

/// Checks, before any work, that `path` can be an output directory (`flag` names it in
/// errors): absent, or an existing directory; never a file or a special file such as
/// `/dev/null`; and no file in the way above it.
pub fn check_out_dir(path: &Path, flag: &str) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        anyhow::ensure!(
            meta.is_dir(),
            "{flag} {}: exists and is a {}, not a directory",
            path.display(),
            special_kind(&meta).unwrap_or("regular file")
        );
        return Ok(());
    }
    check_ancestors(path, flag)
}

/// Checks, before any work, that `path` can be an output file (`flag` names it in errors):
/// absent or a regular file (replaced atomically), never a directory or a special file such as
/// `/dev/null` (a rename would replace the device node); and no file in the way above it.
pub fn check_out_file(path: &Path, flag: &str) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        anyhow::ensure!(
            meta.is_file(),
            "{flag} {}: exists and is a {}, not a regular file",
            path.display(),
            special_kind(&meta).unwrap_or("directory")
        );
        return Ok(());
    }
    check_ancestors(path, flag)
}

/// Writes `bytes` to `path` atomically (temp file beside it, fsync, rename). An existing
/// `path` that is not a regular file (a device, a FIFO, a directory) is refused, never
/// renamed over.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        anyhow::ensure!(
            meta.is_file(),
            "writing {}: it exists and is not a regular file",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Writes rows as CSV (`header` then `rows`) to `path` atomically.
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    write_atomic(path, &bytes)
}

/// Writes a scenario as RON (every default filled in) to `path` atomically.
pub fn write_scenario(path: &Path, s: &clv_envs::Scenario) -> anyhow::Result<()> {
    write_atomic(path, scenario_ron(s)?.as_bytes())
}

/// A scenario as pretty RON with struct names.
pub fn scenario_ron(s: &clv_envs::Scenario) -> anyhow::Result<String> {
    let cfg = ron::ser::PrettyConfig::new().struct_names(true);
    let mut text = ron::ser::to_string_pretty(s, cfg)?;
    text.push('\n');
    Ok(text)
}

/// The run directory: `out` if given, else `results/<kind>-<unix seconds>`. Created and
/// locked now (see [`lock_run_dir`]); the caller calls [`finish_run_dir`] when done.
pub fn run_dir(out: Option<&Path>, kind: &str) -> anyhow::Result<PathBuf> {
    let dir = match out {
        Some(p) => p.to_path_buf(),
        None => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from("results").join(format!("{kind}-{secs}"))
        }
    };
    lock_run_dir(&dir, kind)?;
    Ok(dir)
}

/// The lock file of a run directory: `clv` holds an exclusive lock on it (`flock`, released by
/// the operating system when the process ends, even on `kill -9`) while it writes the
/// directory, so that two processes never mix their files in one directory.
pub const LOCK_FILE: &str = ".clv.lock";

/// The marker of a run directory being written: created when writing starts, removed when
/// the command succeeds. A directory that still has it was left by a run that failed or was
/// stopped: its files may be partial or missing.
pub const INCOMPLETE_FILE: &str = "INCOMPLETE";

/// The run directories this process holds the lock of: canonical path, the open lock file,
/// and how many writers in this process (a command and the commands it runs) are still
/// writing it.
static HELD: std::sync::Mutex<Vec<(PathBuf, std::fs::File, usize)>> =
    std::sync::Mutex::new(Vec::new());

/// Starts writing the run directory `dir` (created if absent): takes the exclusive lock on
/// `dir/.clv.lock` (refused when another process holds it) and writes the `INCOMPLETE`
/// marker, which [`finish_run_dir`] removes. `command` names the writer in the marker.
/// Re-entrant within a process: a command that runs another command on the same directory
/// takes it once.
///
/// # Errors
/// When `dir` cannot be created, the lock file is not a regular file, or another process
/// holds the lock: "another clv is writing DIR ...".
pub fn lock_run_dir(dir: &Path, command: &str) -> anyhow::Result<()> {
    check_out_dir(dir, "--out")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let key = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(entry) = held.iter_mut().find(|(p, _, _)| *p == key) {
        entry.2 += 1;
        return Ok(());
    }
    let path = dir.join(LOCK_FILE);
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        anyhow::ensure!(
            meta.is_file(),
            "{} exists and is a {}, not the regular lock file clv writes",
            path.display(),
            special_kind(&meta).unwrap_or("directory or link")
        );
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another clv is writing {} (it holds the lock on {}): wait for it to finish, or \
             write to another --out",
            dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    write_atomic(
        &dir.join(INCOMPLETE_FILE),
        format!(
            "clv {command} started writing this directory and has not finished: it is still \
             running, or it failed or was stopped, and the files here may be partial.\n"
        )
        .as_bytes(),
    )?;
    held.push((key, file, 1));
    Ok(())
}

/// Ends one writer of the run directory `dir` taken with [`lock_run_dir`]: when it was the
/// last in this process, removes the `INCOMPLETE` marker (the directory is complete). The
/// lock itself is kept until the process ends, so that no other process writes the
/// directory in between.
///
/// # Errors
/// When the marker cannot be removed.
pub fn finish_run_dir(dir: &Path) -> anyhow::Result<()> {
    let key = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    let Some(entry) = held.iter_mut().find(|(p, _, _)| *p == key) else {
        anyhow::bail!("{} was not locked by this process", dir.display());
    };
    entry.2 = entry.2.saturating_sub(1);
    if entry.2 == 0 {
        let marker = dir.join(INCOMPLETE_FILE);
        match std::fs::remove_file(&marker) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", marker.display())),
        }
    }
    Ok(())
}

/// A progress bar on stderr, hidden when stderr is not a terminal or `quiet` is set.
pub fn progress(len: u64, what: &str, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})",
        )
        .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
