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

/// The run directory: `out` if given, else `results/<kind>-<unix seconds>`. Created now.
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
    check_out_dir(&dir, "--out")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
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
