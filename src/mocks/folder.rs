//! `echobase mocks export DIR` and `echobase mocks apply DIR`: a WireMock
//! root folder (`mappings/*.json`, `__files/`) kept in git as the source of
//! truth for a running server's stubs. Both talk to the server's admin API
//! over HTTP (so they work with any process of a deployment, and with
//! WireMock itself): `export` writes what the server has, `apply` makes the
//! server match the folder in one import and says what changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::files::MappingsDir;
use super::recording::RECORDING_KEY;

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{0}")]
    Folder(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {reason}")]
    Server { what: String, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FolderError + '_ {
    move |source| FolderError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A server's admin API.
pub struct Remote {
    client: reqwest::Client,
    base: String,
    api_key: Option<String>,
}

impl Remote {
    /// `base` is the server's URL (`http://127.0.0.1:8080`); `api_key`, when
    /// the server has keys, one with `mocks:write`.
    pub fn new(base: &str, api_key: Option<String>) -> Result<Remote, FolderError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .map_err(|e| FolderError::Server {
                what: "the HTTP client".into(),
                reason: e.to_string(),
            })?;
        Ok(Remote {
            client,
            base: base.trim_end_matches('/').to_owned(),
            api_key,
        })
    }

    /// Sends a request; a status other than 2xx is an error with the body.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, FolderError> {
        let what = format!("{method} {path}");
        let fail = |reason: String| FolderError::Server {
            what: what.clone(),
            reason,
        };
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(fail(format!("{status}: {}", text.trim())));
        }
        Ok(bytes.to_vec())
    }

    async fn get_json(&self, path: &str) -> Result<Value, FolderError> {
        let bytes = self.send(reqwest::Method::GET, path, None).await?;
        serde_json::from_slice(&bytes).map_err(|e| FolderError::Server {
            what: format!("GET {path}"),
            reason: format!("not JSON: {e}"),
        })
    }

    /// Every stub but a running recording's proxy, by id.
    async fn stubs(&self) -> Result<BTreeMap<String, Value>, FolderError> {
        let listed = self.get_json("/__admin/mappings").await?;
        Ok(listed["mappings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["metadata"].get(RECORDING_KEY).is_none())
            .filter_map(|m| Some((m["id"].as_str()?.to_owned(), m.clone())))
            .collect())
    }

    async fn file_names(&self) -> Result<Vec<String>, FolderError> {
        let names = self.get_json("/__admin/files").await?;
        Ok(names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect())
    }

    fn file_path(name: &str) -> String {
        let encoded: Vec<String> = name
            .split('/')
            .map(|segment| {
                percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            })
            .collect();
        format!("/__admin/files/{}", encoded.join("/"))
    }
}

/// Starts a recording to `target` (`POST /__admin/recordings/start`).
pub async fn start_recording(remote: &Remote, target: &str) -> Result<(), FolderError> {
    let spec = json!({"targetBaseUrl": target}).to_string().into_bytes();
    remote
        .send(
            reqwest::Method::POST,
            "/__admin/recordings/start",
            Some(spec),
        )
        .await
        .map(drop)
}

/// Stops the recording; answers how many stubs it made.
pub async fn stop_recording(remote: &Remote) -> Result<usize, FolderError> {
    let bytes = remote
        .send(reqwest::Method::POST, "/__admin/recordings/stop", None)
        .await?;
    let stopped: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok(stopped["mappings"].as_array().map_or(0, Vec::len))
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct Exported {
    pub stubs: usize,
    pub files: usize,
    /// Files in the folder that the server no longer has, deleted.
    pub removed: Vec<PathBuf>,
}

/// Writes every stub to `DIR/mappings/<name>-<id>.json` and every body file
/// to `DIR/__files/`, and deletes the `*.json` in `DIR/mappings` and the
/// files in `DIR/__files` that the server does not have (so the folder is
/// the server's, as `apply` reads it).
pub async fn export(remote: &Remote, dir: &Path) -> Result<Exported, FolderError> {
    let mappings_dir = dir.join("mappings");
    let files_dir = dir.join("__files");
    std::fs::create_dir_all(&mappings_dir).map_err(io(&mappings_dir))?;
    std::fs::create_dir_all(&files_dir).map_err(io(&files_dir))?;
    let mut exported = Exported::default();
    let mut written = BTreeSet::new();
    for (id, mapping) in remote.stubs().await? {
        let path = mappings_dir.join(mapping_file_name(&mapping, &id));
        let mut text = serde_json::to_string_pretty(&mapping).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text).map_err(io(&path))?;
        written.insert(path);
        exported.stubs += 1;
    }
    for entry in std::fs::read_dir(&mappings_dir).map_err(io(&mappings_dir))? {
        let path = entry.map_err(io(&mappings_dir))?.path();
        if path.extension().is_some_and(|e| e == "json") && !written.contains(&path) {
            std::fs::remove_file(&path).map_err(io(&path))?;
            exported.removed.push(path);
        }
    }
    let names = remote.file_names().await?;
    for name in &names {
        let content = remote
            .send(reqwest::Method::GET, &Remote::file_path(name), None)
            .await?;
        let path = files_dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, content).map_err(io(&path))?;
        exported.files += 1;
    }
    let kept: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let local = MappingsDir::open(dir)
        .and_then(|folder| folder.read_body_files(usize::MAX))
        .map_err(FolderError::Folder)?;
    for (name, _) in local {
        if !kept.contains(name.as_str()) {
            let path = files_dir.join(&name);
            std::fs::remove_file(&path).map_err(io(&path))?;
            exported.removed.push(path);
        }
    }
    Ok(exported)
}

/// `<name>-<id>.json`, the name made safe for a file name as WireMock makes it.
fn mapping_file_name(mapping: &Value, id: &str) -> String {
    let name: String = mapping["name"]
        .as_str()
        .unwrap_or("mapping")
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(100)
        .collect::<String>()
        .to_ascii_lowercase();
    let name = if name.is_empty() { "mapping" } else { &name };
    format!("{name}-{id}.json")
}

/// What `apply` changed (or, in a dry run, would change).
#[derive(Debug, Default)]
pub struct Applied {
    /// `(id, what)`: the stub's name, else its URL.
    pub added: Vec<(String, String)>,
    pub changed: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
    pub unchanged: usize,
    pub files_written: Vec<String>,
    pub files_removed: Vec<String>,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.files_written.is_empty()
            && self.files_removed.is_empty()
    }
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (sign, stubs) in [
            ("+", &self.added),
            ("~", &self.changed),
            ("-", &self.removed),
        ] {
            for (id, what) in stubs {
                writeln!(f, "{sign} stub {id} {what}")?;
            }
        }
        for name in &self.files_written {
            writeln!(f, "~ file {name}")?;
        }
        for name in &self.files_removed {
            writeln!(f, "- file {name}")?;
        }
        write!(
            f,
            "{} added, {} changed, {} removed, {} unchanged; {} files written, {} removed",
            self.added.len(),
            self.changed.len(),
            self.removed.len(),
            self.unchanged,
            self.files_written.len(),
            self.files_removed.len()
        )
    }
}

/// Makes the server's stubs and body files those of the folder: files
/// first (a new stub may name one), then every stub in one import that
/// deletes the stubs the folder does not have. A stub without an `id` gets
/// one derived from its file and place in it, so applying again changes
/// nothing. With `dry_run`, only says what would change.
pub async fn apply(remote: &Remote, dir: &Path, dry_run: bool) -> Result<Applied, FolderError> {
    let folder = MappingsDir::open(dir).map_err(FolderError::Folder)?;
    let documents = folder.read_all().map_err(FolderError::Folder)?;
    let body_files = folder
        .read_body_files(usize::MAX)
        .map_err(FolderError::Folder)?;
    let mut wanted: Vec<Value> = Vec::with_capacity(documents.len());
    for (place, (file, mut document)) in documents.into_iter().enumerate() {
        let Some(object) = document.as_object_mut() else {
            return Err(FolderError::Folder(format!(
                "{}: a stub mapping must be a JSON object",
                file.display()
            )));
        };
        if !object.get("id").is_some_and(Value::is_string) {
            let relative = file.strip_prefix(dir).unwrap_or(&file);
            object.insert("id".into(), Value::String(derived_id(relative, place)));
        }
        wanted.push(document);
    }
    let current = remote.stubs().await?;
    let mut applied = Applied::default();
    let mut wanted_ids = BTreeSet::new();
    for mapping in &wanted {
        let id = canonical_id(mapping["id"].as_str().unwrap_or_default());
        let label = label(mapping);
        match current.get(&id) {
            None => applied.added.push((id.clone(), label)),
            Some(now) if same_stub(now, mapping) => applied.unchanged += 1,
            Some(_) => applied.changed.push((id.clone(), label)),
        }
        wanted_ids.insert(id);
    }
    for (id, mapping) in &current {
        if !wanted_ids.contains(id) {
            applied.removed.push((id.clone(), label(mapping)));
        }
    }
    let server_files: BTreeSet<String> = remote.file_names().await?.into_iter().collect();
    for (name, content) in &body_files {
        let same = server_files.contains(name)
            && remote
                .send(reqwest::Method::GET, &Remote::file_path(name), None)
                .await
                .is_ok_and(|now| &now == content);
        if !same {
            applied.files_written.push(name.clone());
        }
    }
    let local_names: BTreeSet<&String> = body_files.iter().map(|(name, _)| name).collect();
    applied.files_removed = server_files
        .iter()
        .filter(|name| !local_names.contains(name))
        .cloned()
        .collect();
    if dry_run {
        return Ok(applied);
    }
    for (name, content) in &body_files {
        if applied.files_written.contains(name) {
            remote
                .send(
                    reqwest::Method::PUT,
                    &Remote::file_path(name),
                    Some(content.clone()),
                )
                .await?;
        }
    }
    let import = json!({"mappings": wanted,
        "importOptions": {"duplicatePolicy": "OVERWRITE", "deleteAllNotInImport": true}});
    remote
        .send(
            reqwest::Method::POST,
            "/__admin/mappings/import",
            Some(import.to_string().into_bytes()),
        )
        .await?;
    for name in &applied.files_removed {
        remote
            .send(reqwest::Method::DELETE, &Remote::file_path(name), None)
            .await?;
    }
    Ok(applied)
}

/// A UUID from a stub's file and place in it: the same every time.
fn derived_id(file: &Path, place: usize) -> String {
    let digest = Sha256::digest(format!("{}#{place}", file.display()).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

fn canonical_id(id: &str) -> String {
    uuid::Uuid::parse_str(id).map_or_else(|_| id.to_owned(), |u| u.to_string())
}

/// Whether two mappings are the same stub, whatever their `id` / `uuid`
/// fields and WireMock's bookkeeping say.
fn same_stub(a: &Value, b: &Value) -> bool {
    let bare = |mapping: &Value| -> Map<String, Value> {
        let mut object = mapping.as_object().cloned().unwrap_or_default();
        for key in ["id", "uuid", "insertionIndex"] {
            object.remove(key);
        }
        object.retain(|_, value| !value.is_null());
        object
    };
    bare(a) == bare(b)
}

/// A stub as a person knows it: its name, else its method and URL.
fn label(mapping: &Value) -> String {
    if let Some(name) = mapping["name"].as_str() {
        return name.to_owned();
    }
    let request = &mapping["request"];
    let url = [
        "url",
        "urlPath",
        "urlPattern",
        "urlPathPattern",
        "urlPathTemplate",
    ]
    .iter()
    .find_map(|key| request[*key].as_str())
    .unwrap_or("(any URL)");
    format!("{} {url}", request["method"].as_str().unwrap_or("ANY"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_derived_from_a_place_are_stable_and_distinct() {
        let a = derived_id(Path::new("mappings/a.json"), 0);
        assert_eq!(a, derived_id(Path::new("mappings/a.json"), 0));
        assert_ne!(a, derived_id(Path::new("mappings/a.json"), 1));
        assert_ne!(a, derived_id(Path::new("mappings/b.json"), 0));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn the_same_stub_whatever_its_ids_and_nulls() {
        let stored = json!({"id": "1", "uuid": "1", "request": {"url": "/a"}, "priority": null});
        let folder = json!({"id": "1", "request": {"url": "/a"}});
        assert!(same_stub(&stored, &folder));
        let changed = json!({"id": "1", "request": {"url": "/b"}});
        assert!(!same_stub(&stored, &changed));
    }

    #[test]
    fn file_names_are_safe() {
        let id = "0b5b1c2e-0000-4000-8000-000000000000";
        assert_eq!(
            mapping_file_name(&json!({"name": "Get /users ok"}), id),
            format!("get-users-ok-{id}.json")
        );
        assert_eq!(
            mapping_file_name(&json!({"name": "../../etc"}), id),
            format!("....etc-{id}.json")
        );
        assert_eq!(
            mapping_file_name(&json!({}), id),
            format!("mapping-{id}.json")
        );
    }
}
