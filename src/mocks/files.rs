//! A WireMock root folder: `mappings/*.json` (one stub, or `{"mappings": [...]}`
//! per file) loaded at start-up and on reset, and `__files/` for `bodyFileName`.
//! A body file name can never reach outside `__files/` (no `..`, no absolute
//! paths, no symlink out).

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

/// The `__files` folder.
#[derive(Debug, Clone)]
pub struct FilesRoot {
    dir: PathBuf,
}

impl FilesRoot {
    /// Checks a `bodyFileName` without touching the disk.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let path = Path::new(name);
        if name.is_empty()
            || path.is_absolute()
            || path
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!(
                "`{name}` must be a relative path inside the files folder, without `..`"
            ));
        }
        Ok(())
    }

    /// Reads a body file; the resolved path must still be inside the folder.
    pub async fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        self.check(name)?;
        let root = tokio::fs::canonicalize(&self.dir)
            .await
            .map_err(|e| format!("files folder {}: {e}", self.dir.display()))?;
        let path = tokio::fs::canonicalize(root.join(name))
            .await
            .map_err(|_| format!("body file `{name}` not found"))?;
        if !path.starts_with(&root) {
            return Err(format!("body file `{name}` is outside the files folder"));
        }
        tokio::fs::read(&path)
            .await
            .map_err(|e| format!("body file `{name}`: {e}"))
    }
}

/// A WireMock root: `DIR/mappings` and `DIR/__files`. When `DIR` has no
/// `mappings` folder, `DIR` itself is read as the mappings folder and its
/// sibling `__files` (or `DIR/__files`) as the files folder.
#[derive(Debug, Clone)]
pub struct MappingsDir {
    mappings: PathBuf,
    pub files: FilesRoot,
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
        Ok(MappingsDir {
            mappings,
            files: FilesRoot { dir: files },
        })
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

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_file_names_cannot_escape() {
        let root = FilesRoot {
            dir: PathBuf::from("/tmp/x"),
        };
        assert!(root.check("a/b.json").is_ok());
        for bad in ["../secret", "/etc/passwd", "a/../../b", ""] {
            assert!(root.check(bad).is_err(), "{bad}");
        }
    }
}
