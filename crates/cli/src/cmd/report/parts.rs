//! The report's temporary files (table rows, compressed host sections) beside the output, and
//! the page assembled from them and renamed into place only when it is complete.

use crate::render::html::{Meta, Report};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The report's temporary parts and its final destination.
pub(super) struct Parts {
    rows_path: PathBuf,
    sections_path: PathBuf,
    page_path: Option<PathBuf>,
    out: Option<PathBuf>,
    pub(super) rows: BufWriter<File>,
    /// The host sections, gzip-compressed as they come (a fleet's sections repeat the same
    /// findings and fixes, so they shrink about twentyfold).
    pub(super) sections: GzEncoder<BufWriter<File>>,
}

impl Parts {
    /// Temporary files in the output's directory (so the final rename stays on one file
    /// system), or in the temporary directory when the page goes to stdout.
    pub(super) fn create(out: Option<&Path>) -> Result<Parts, String> {
        let (dir, name) = match out {
            Some(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| format!("-o {}: not a file name", p.display()))?;
                (dir, name)
            }
            None => (std::env::temp_dir(), "rdpdoctor-report".to_string()),
        };
        let tag = format!("{}.{}", std::process::id(), nanos());
        let rows_path = dir.join(format!(".{name}.rows.{tag}"));
        let sections_path = dir.join(format!(".{name}.hosts.{tag}"));
        let page_path = out.map(|_| dir.join(format!(".{name}.tmp.{tag}")));
        let new = |p: &Path| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
                .map(|f| BufWriter::with_capacity(256 * 1024, f))
                .map_err(|e| {
                    format!(
                        "cannot create {}: {e}; choose a writable directory for -o",
                        p.display()
                    )
                })
        };
        let rows = new(&rows_path)?;
        let sections = match new(&sections_path) {
            Ok(s) => GzEncoder::new(s, Compression::default()),
            Err(e) => {
                let _ = std::fs::remove_file(&rows_path);
                return Err(e);
            }
        };
        Ok(Parts {
            rows_path,
            sections_path,
            page_path,
            out: out.map(Path::to_path_buf),
            rows,
            sections,
        })
    }

    /// Writes the page: head, rows, middle, sections, tail; then renames it into place.
    pub(super) fn assemble(&mut self, report: &Report, meta: &Meta<'_>) -> Result<(), String> {
        let flush = |w: &mut BufWriter<File>, p: &Path| {
            w.flush()
                .map_err(|e| format!("cannot write {}: {e}", p.display()))
        };
        flush(&mut self.rows, &self.rows_path)?;
        self.sections
            .try_finish()
            .and_then(|_| self.sections.get_mut().flush())
            .map_err(|e| format!("cannot write {}: {e}", self.sections_path.display()))?;
        let (mut page, label): (Box<dyn Write>, String) = match &self.page_path {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(p)
                    .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
                (
                    Box::new(BufWriter::with_capacity(256 * 1024, f)),
                    p.display().to_string(),
                )
            }
            None => (Box::new(io::stdout().lock()), "stdout".to_string()),
        };
        let write_err = |e: io::Error| format!("cannot write the report to {label}: {e}");
        report.write_head(&mut page, meta).map_err(write_err)?;
        copy(&self.rows_path, &mut page).map_err(write_err)?;
        report.write_middle(&mut page).map_err(write_err)?;
        copy_base64(&self.sections_path, &mut page).map_err(write_err)?;
        report.write_tail(&mut page).map_err(write_err)?;
        page.flush().map_err(write_err)?;
        drop(page);
        if let (Some(tmp), Some(out)) = (&self.page_path, &self.out) {
            std::fs::rename(tmp, out)
                .map_err(|e| format!("cannot move the report to {}: {e}", out.display()))?;
        }
        self.remove_parts();
        Ok(())
    }

    fn remove_parts(&self) {
        let _ = std::fs::remove_file(&self.rows_path);
        let _ = std::fs::remove_file(&self.sections_path);
    }

    /// Removes every temporary file after a failure.
    pub(super) fn remove(&self) {
        self.remove_parts();
        if let Some(p) = &self.page_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn copy(path: &Path, out: &mut dyn Write) -> io::Result<u64> {
    let mut f = File::open(path)?;
    io::copy(&mut f, out)
}

/// Copies a file as base64, a bounded chunk at a time (whole groups of three bytes, so the
/// chunks' encodings join into one).
fn copy_base64(path: &Path, out: &mut dyn Write) -> io::Result<()> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 3 * 64 * 1024];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match f.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        out.write_all(openssl::base64::encode_block(&buf[..filled]).as_bytes())?;
        if filled < buf.len() {
            return Ok(());
        }
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}
