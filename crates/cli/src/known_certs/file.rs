//! The known-certs file on disk, opened with the same rules as every other input file and
//! written so that nothing is lost or clobbered:
//!
//! - Read: only a regular file (a FIFO never blocks: it is refused before it is opened, and the
//!   open is non-blocking and checked again on the descriptor), at most [`MAX_FILE_BYTES`].
//! - A symbolic link is refused, for reading and writing, never followed and never replaced:
//!   following it would let whoever can write the directory point rdpdoctor (often run as root)
//!   at another file to create or overwrite, and replacing it would silently break the user's own
//!   link. The error names the path to give instead.
//! - Written under an exclusive lock (flock on the directory), after re-reading the file, so two
//!   writers (`scan` and `serve`, `check --accept-changed-cert` beside them) merge rather than
//!   overwrite each other; through a temporary file created with O_EXCL and O_NOFOLLOW (a
//!   pre-planted file or symlink makes the write fail, never redirects it), with the old file's
//!   mode and owner, then renamed over it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file larger than this is not read; writes keep below it (see `super::fit`).
pub(super) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The mode of a new file: the hosts an admin checks are nobody else's business.
const NEW_FILE_MODE: u32 = 0o600;

/// What a path that is not a regular file is, in words.
fn describe(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Why a path that exists cannot be the known-certs file, if it cannot.
fn refuse(meta: &std::fs::Metadata) -> Option<String> {
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Some("it is a symbolic link, which rdpdoctor neither follows nor replaces: give the file it points to with --known-certs".to_string());
    }
    (!ft.is_file()).then(|| format!("it is {}, not a regular file", describe(&ft)))
}

/// The file's bytes (`None` when it does not exist), read with the input rules.
pub(super) fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot look at it: {e}")),
        Ok(meta) => {
            if let Some(why) = refuse(&meta) {
                return Err(why);
            }
        }
    }
    let file = OpenOptions::new()
        .read(true)
        // No effect on a regular file; a FIFO or link swapped in after the check neither blocks
        // nor is followed.
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("cannot open it: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot look at it: {e}"))?;
    if let Some(why) = refuse(&meta) {
        return Err(why);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(Some(bytes))
}

/// The directory the file is in.
pub(super) fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// An exclusive lock on the directory of `path`, held until dropped. A lock on the directory
/// rather than on a lock file: nothing is left behind, and there is no lock file name an
/// attacker could plant a link at.
pub(super) fn lock(path: &Path) -> Result<File, String> {
    let dir = dir_of(path);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let handle = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
        .open(&dir)
        .map_err(|e| format!("cannot open {} to lock it: {e}", dir.display()))?;
    handle
        .lock()
        .map_err(|e| format!("cannot lock {}: {e}", dir.display()))?;
    Ok(handle)
}

/// Replaces the file at `path` by `bytes` atomically, keeping the old file's mode and owner.
/// The caller holds the lock.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let old = match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if let Some(why) = refuse(&meta) {
                return Err(why);
            }
            Some(meta)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot look at it: {e}")),
    };
    let mode = old.as_ref().map_or(NEW_FILE_MODE, |m| m.mode() & 0o7777);
    let dir = dir_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "known-certs.json".to_string());
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), unique()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(NEW_FILE_MODE)
        .open(&tmp)
        .map_err(|e| format!("cannot create the temporary file {}: {e}", tmp.display()))?;
    let written = (|| {
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if let Some(m) = &old {
            // Root rewriting a user's file leaves it the user's (best effort: a user cannot
            // give a file away, and then it stays theirs anyway).
            let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
        }
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", tmp.display()));
    }
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot rename {} to {}: {e}", tmp.display(), path.display())
    })?;
    // The rename itself reaches the disk with the directory.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A number no other temporary file of this process used.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    (NEXT.fetch_add(1, Ordering::Relaxed) << 32) ^ nanos
}
