//! Body file names, and a WireMock root folder: `mappings/*.json` (one stub,
//! or `{"mappings": [...]}` per file) loaded at start-up and on reset, and
//! `__files/`, copied into the file store at start-up. Nothing outside
//! `__files/` is read as a body file (no `..`, no absolute path, no symlink out).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The longest body file name, in characters.
pub const MAX_NAME_LEN: usize = 1024;

/// What a body file name is, as a regular expression for the OpenAPI
/// document: segments joined by `/`, none empty, `.` or `..`, without a
/// backslash or a control character. [`file_name`] holds exactly this (and
/// [`MAX_NAME_LEN`]).
pub fn name_pattern() -> String {
    const ANY: &str = r"[^/\\\x00-\x1f\x7f-\x9f]";
    const NOT_DOT: &str = r"[^./\\\x00-\x1f\x7f-\x9f]";
    let segment = format!(r"(?:{NOT_DOT}{ANY}*|\.{NOT_DOT}{ANY}*|\.\.{ANY}+)");
    format!("^{segment}(?:/{segment})*$")
}

/// A body file name: a relative path of `/`-separated segments, none empty,
/// `.` or `..`, without a backslash or a control character, at most
/// [`MAX_NAME_LEN`] characters. No such name can reach outside the files,
/// wherever they are kept, and each file has one name.
pub fn file_name(name: &str) -> Result<String, String> {
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("a file name is at most {MAX_NAME_LEN} characters"));
    }
    if name.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(format!(
            "file name `{}` holds a backslash or a control character",
            name.escape_debug()
        ));
    }
    if name
        .split('/')
        .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Err(format!(
            "file name `{name}` must be a relative path of folder and file names \
             (no leading `/`, no empty, `.` or `..` part)"
        ));
    }
    Ok(name.to_owned())
}

/// A WireMock root: `DIR/mappings` and `DIR/__files`. When `DIR` has no
/// `mappings` folder, `DIR` itself is read as the mappings folder and its
/// sibling `__files` (or `DIR/__files`) as the files folder.
#[derive(Debug, Clone)]
pub struct MappingsDir {
    mappings: PathBuf,
    files: PathBuf,
}

impl MappingsDir {
    pub fn open(dir: &Path) -> Result<MappingsDir, String> {
        if !dir.is_dir() {
            return Err(format!("mappings folder {} does not exist", dir.display()));
        }
        let (mappings, files) = if dir.join("mappings").is_dir() {
            (dir.join("mappings"), dir.join("__files"))
        } else if dir.join("__files").is_dir() {
            (dir.to_owned(), dir.join("__files"))
        } else {
            let sibling = dir
                .parent()
                .map(|p| p.join("__files"))
                .unwrap_or_else(|| dir.join("__files"));
            (dir.to_owned(), sibling)
        };
        Ok(MappingsDir { mappings, files })
    }

    pub fn path(&self) -> &Path {
        &self.mappings
    }

    /// Every stub document in the folder (recursively, `*.json`, sorted by
    /// path so the load order is stable), each with the file it came from.
    pub fn read_all(&self) -> Result<Vec<(PathBuf, Value)>, String> {
        let mut files = Vec::new();
        collect_json(&self.mappings, &mut files)
            .map_err(|e| format!("reading {}: {e}", self.mappings.display()))?;
        files.sort();
        let mut out = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("reading {}: {e}", file.display()))?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
            match doc.get("mappings").and_then(Value::as_array) {
                Some(many) => out.extend(many.iter().map(|m| (file.clone(), m.clone()))),
                None => out.push((file, doc)),
            }
        }
        Ok(out)
    }
}

impl MappingsDir {
    /// Every file under `__files/` (none when there is no such folder), with
    /// its [`file_name`], sorted by name. A file larger than `max_size`, or a
    /// symlink that leads outside the folder, is an error naming it.
    pub fn read_body_files(&self, max_size: usize) -> Result<Vec<(String, Vec<u8>)>, String> {
        if !self.files.is_dir() {
            return Ok(Vec::new());
        }
        let root = std::fs::canonicalize(&self.files)
            .map_err(|e| format!("{}: {e}", self.files.display()))?;
        let mut paths = Vec::new();
        collect(&root, &mut paths, &|_| true)
            .map_err(|e| format!("reading {}: {e}", root.display()))?;
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let shown = path.display();
            let real = std::fs::canonicalize(&path).map_err(|e| format!("{shown}: {e}"))?;
            if !real.starts_with(&root) {
                return Err(format!("{shown} leads outside {}", root.display()));
            }
            let relative = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy();
            let name = file_name(&relative).map_err(|e| format!("{shown}: {e}"))?;
            let size = std::fs::metadata(&real)
                .map_err(|e| format!("{shown}: {e}"))?
                .len();
            if size > max_size as u64 {
                return Err(format!(
                    "{shown} is {size} bytes, over mocks.max_file_size ({max_size})"
                ));
            }
            let content = std::fs::read(&real).map_err(|e| format!("{shown}: {e}"))?;
            out.push((name, content));
        }
        out.sort();
        Ok(out)
    }
}

/// Every file under `dir` (recursively) that `keep` accepts.
fn collect(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    keep: &dyn Fn(&Path) -> bool,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out, keep)?;
        } else if keep(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    collect(dir, out, &|path| {
        path.extension().is_some_and(|e| e == "json")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_inside() {
        let pattern = regex::Regex::new(&name_pattern()).unwrap();
        for good in ["a/b.json", "..a/b", ".hidden", "a/...", "x y/é.txt"] {
            assert_eq!(file_name(good).as_deref(), Ok(good));
            assert!(pattern.is_match(good), "{good}");
        }
        for bad in [
            "./a",
            "a//b",
            "a/",
            "../secret",
            "/etc/passwd",
            "a/../../b",
            "a/..",
            "",
            ".",
            "a\\..\\b",
            "a\u{0}b",
            "a\u{85}b",
        ] {
            assert!(file_name(bad).is_err(), "{bad:?}");
            assert!(!pattern.is_match(bad), "{bad:?}");
        }
        assert!(file_name(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(file_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
    }

    #[test]
    fn body_files_are_read_by_name_and_bounded() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("mappings")).unwrap();
        std::fs::create_dir_all(root.path().join("__files/sub")).unwrap();
        std::fs::write(root.path().join("__files/a.txt"), "A").unwrap();
        std::fs::write(root.path().join("__files/sub/b.json"), "{}").unwrap();
        let dir = MappingsDir::open(root.path()).unwrap();
        let files = dir.read_body_files(10).unwrap();
        assert_eq!(
            files,
            [
                ("a.txt".to_owned(), b"A".to_vec()),
                ("sub/b.json".to_owned(), b"{}".to_vec())
            ]
        );
        let error = dir.read_body_files(1).unwrap_err();
        assert!(
            error.contains("b.json") && error.contains("max_file_size"),
            "{error}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_files_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::fs::create_dir_all(root.path().join("mappings")).unwrap();
        std::fs::create_dir_all(root.path().join("__files")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            root.path().join("__files/link"),
        )
        .unwrap();
        let error = MappingsDir::open(root.path())
            .unwrap()
            .read_body_files(10)
            .unwrap_err();
        assert!(error.contains("leads outside"), "{error}");
    }
}
