//! Reading input files safely: every file `clv` reads goes through [`read_text`] or
//! [`open_limited`], which refuse what is not a regular file (a FIFO would block forever, a
//! device such as `/dev/zero` never ends, a directory is not text) before opening it, refuse a
//! file larger than its limit from its metadata, and bound the bytes actually read (a file
//! that grows, or whose size the metadata misreports, stops at the limit plus one byte).
//!
//! Error messages quote input text only through [`excerpt`]: at most [`EXCERPT_CHARS`]
//! characters, escaped, so that a hostile or binary file cannot flood the terminal.

use std::fs::File;
use std::io::{Read, Take};
use std::path::{Path, PathBuf};

/// Largest text input (scenario RON, agent config, run JSON), bytes: 16 MiB.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;
/// Largest CSV input (transaction logs, warm-start histories, run CSVs), bytes: 2 GiB.
pub const MAX_CSV_BYTES: u64 = 2 << 30;
/// Most characters of input text an error message quotes.
pub const EXCERPT_CHARS: usize = 200;

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path exists but is not a regular file (a directory, FIFO, socket or device).
    #[error("{path} is a {kind}, not a regular file")]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is instead, e.g. `directory`, `FIFO (named pipe)`.
        kind: &'static str,
    },
    /// The file is larger than the limit for its kind.
    #[error("{path} is larger than the {limit}-byte limit ({size} bytes or more)")]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size (or the bytes read before stopping), bytes.
        size: u64,
        /// The limit, bytes.
        limit: u64,
    },
    /// The file could not be inspected or read (the cause follows in the error chain).
    #[error("reading {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    NotText {
        /// The path.
        path: PathBuf,
    },
}

/// A reader that fails (instead of stopping quietly) once more than `limit` bytes were read.
pub struct Limited<R> {
    inner: Take<R>,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("more than the {}-byte limit", self.limit),
            ));
        }
        Ok(n)
    }
}

/// The kind of a non-regular file, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "character device";
        }
        if ft.is_block_device() {
            return "block device";
        }
        if ft.is_socket() {
            return "socket";
        }
    }
    if ft.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// Checks, without opening it, that `path` is a regular file of at most `limit` bytes;
/// returns its size.
///
/// # Errors
/// [`FileError::Io`] (missing, unreadable), [`FileError::NotRegular`], [`FileError::TooLarge`].
pub fn check_input(path: &Path, limit: u64) -> Result<u64, FileError> {
    let meta = std::fs::metadata(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit,
        });
    }
    Ok(meta.len())
}

/// Opens the regular file `path` (checked by [`check_input`] first) for reading at most
/// `limit` bytes: reading past the limit is an error.
///
/// # Errors
/// Those of [`check_input`], and [`FileError::Io`] when it cannot be opened.
pub fn open_limited(path: &Path, limit: u64) -> Result<Limited<File>, FileError> {
    check_input(path, limit)?;
    let file = File::open(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Limited {
        inner: file.take(limit.saturating_add(1)),
        read: 0,
        limit,
    })
}

/// Reads the regular file `path`, at most `limit` bytes, as UTF-8 text.
///
/// # Errors
/// Those of [`open_limited`], [`FileError::TooLarge`] when more than `limit` bytes could be
/// read, and [`FileError::NotText`].
pub fn read_text(path: &Path, limit: u64) -> Result<String, FileError> {
    let mut reader = open_limited(path, limit)?;
    let mut bytes = Vec::new();
    if let Err(source) = reader.inner.read_to_end(&mut bytes) {
        return Err(FileError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|_| FileError::NotText {
        path: path.to_path_buf(),
    })
}

/// At most [`EXCERPT_CHARS`] characters of `text`, control and non-printing characters
/// escaped, with `...` and the full length when it was cut: safe to put in an error message.
pub fn excerpt(text: &str) -> String {
    let total = text.chars().count();
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if total > EXCERPT_CHARS {
        out.push_str(&format!("... ({total} characters in all)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_kinds_are_checked_before_reading() {
        let dir = std::env::temp_dir().join(format!("clv-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.txt");
        std::fs::write(&p, "hello").unwrap();
        assert_eq!(read_text(&p, 5).unwrap(), "hello");
        let e = read_text(&p, 4).unwrap_err().to_string();
        assert!(e.contains("4-byte limit"), "{e}");
        let e = read_text(&dir, 100).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&p, 100), Err(FileError::NotText { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused() {
        let e = read_text(Path::new("/dev/zero"), 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("character device"), "{e}");
    }

    #[test]
    fn excerpts_are_short_and_escaped() {
        assert_eq!(excerpt("a\nb"), "a\\nb");
        let long = "x".repeat(1000);
        let e = excerpt(&long);
        assert!(e.len() < 300 && e.contains("1000 characters"), "{e}");
    }
}
