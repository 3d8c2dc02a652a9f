//! Files of a Hugging Face repository, or of a local directory laid out like one.
//!
//! `model.pretrained`, a tokenizer and the hub datasets all name either a directory or a repo id
//! (`gpt2`, `uoft-cs/cifar10`) at a revision. Lookup order follows `huggingface_hub`: the cache
//! first (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`, in its
//! `models--owner--name/snapshots/<sha>/` layout), then a download through `hf-hub` unless
//! `HF_HUB_OFFLINE=1`. We read the cache ourselves rather than through `hf_hub::Cache` because
//! that one cannot resolve a commit-hash revision or list a snapshot, and both matter offline.
//!
//! Nothing here may hang: before the first download the endpoint gets a TCP connect with a short
//! timeout, and every failure becomes one line that names the missing files and how to fetch
//! them (`EbtError::Config`, exit 2).

use std::cell::RefCell;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Repo, RepoType};

use crate::error::EbtError;

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// Receives one line of download progress.
type Sink = Box<dyn Fn(String)>;

thread_local! {
    /// Where download progress goes on this thread (the trainer thread sends it to the user).
    static PROGRESS: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// Sends this thread's download progress lines to `sink` until the guard is dropped. A download
/// of a checkpoint takes minutes; the user must see it move.
pub fn report_progress(sink: impl Fn(String) + 'static) -> ProgressGuard {
    PROGRESS.with(|p| *p.borrow_mut() = Some(Box::new(sink)));
    ProgressGuard(())
}

/// Stops progress reports when dropped.
pub struct ProgressGuard(());

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        PROGRESS.with(|p| *p.borrow_mut() = None);
    }
}

fn progress_line(msg: String) {
    PROGRESS.with(|p| {
        if let Some(sink) = p.borrow().as_ref() {
            sink(msg)
        }
    });
}

/// hf-hub's progress callbacks turned into a line every 10% of a file.
struct Reporter {
    name: String,
    total: usize,
    done: usize,
    tenth: usize,
}

impl hf_hub::api::Progress for Reporter {
    fn init(&mut self, size: usize, filename: &str) {
        // hf-hub calls `init` once per attempt; announce the file once.
        if self.total == size && self.name == filename {
            return;
        }
        self.total = size;
        self.name = filename.to_string();
        progress_line(format!(
            "downloading {filename} ({:.1} MB)",
            size as f64 / 1e6
        ));
    }
    fn update(&mut self, size: usize) {
        self.done += size;
        let tenth = (self.done * 10).checked_div(self.total).unwrap_or(0);
        if tenth > self.tenth && tenth < 10 {
            self.tenth = tenth;
            progress_line(format!("downloading {}: {}%", self.name, tenth * 10));
        }
    }
    fn finish(&mut self) {
        progress_line(format!("downloaded {}", self.name));
    }
}

/// Model repositories or dataset repositories (their cache folders and URLs differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepoKind {
    Model,
    Dataset,
}

impl RepoKind {
    fn cache_prefix(self) -> &'static str {
        match self {
            RepoKind::Model => "models",
            RepoKind::Dataset => "datasets",
        }
    }
    fn hf(self) -> RepoType {
        match self {
            RepoKind::Model => RepoType::Model,
            RepoKind::Dataset => RepoType::Dataset,
        }
    }
}

/// Where the hub's files are and whether we may download them.
#[derive(Clone, Debug, PartialEq)]
pub struct HubEnv {
    pub cache_dir: PathBuf,
    pub endpoint: String,
    pub offline: bool,
}

impl HubEnv {
    /// `HF_HUB_CACHE`, `HF_HOME`, `HF_ENDPOINT` and `HF_HUB_OFFLINE`, as `huggingface_hub` reads them.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let cache_dir = if let Some(c) = var("HF_HUB_CACHE") {
            PathBuf::from(c)
        } else if let Some(h) = var("HF_HOME") {
            PathBuf::from(h).join("hub")
        } else {
            let home = var("HOME").unwrap_or_else(|| ".".into());
            PathBuf::from(home).join(".cache/huggingface/hub")
        };
        let offline = var("HF_HUB_OFFLINE")
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false);
        HubEnv {
            cache_dir,
            endpoint: var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into()),
            offline,
        }
    }
}

/// A local directory or a repository on the hub.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Dir(PathBuf),
    Repo {
        id: String,
        revision: String,
        kind: RepoKind,
    },
}

impl Source {
    /// Reads `spec` (the value of config key `key`) as a directory when one exists there or it
    /// looks like a path, else as a repo id.
    pub fn parse(
        key: &str,
        spec: &str,
        revision: Option<&str>,
        kind: RepoKind,
    ) -> Result<Self, EbtError> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(Source::Dir(path.to_path_buf()));
        }
        if path.exists() {
            return Err(EbtError::config(format!(
                "{key}: {spec} is a file; give the directory holding it or a hub repo id"
            )));
        }
        if looks_like_path(spec) {
            return Err(EbtError::config(format!("{key}: no directory {spec}")));
        }
        if !is_repo_id(spec) {
            return Err(EbtError::config(format!(
                "{key}: {spec:?} is neither a directory nor a hub repo id (like gpt2 or owner/name)"
            )));
        }
        Ok(Source::Repo {
            id: spec.to_string(),
            revision: revision.unwrap_or("main").to_string(),
            kind,
        })
    }

    /// How the source is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Source::Dir(d) => d.display().to_string(),
            Source::Repo { id, revision, .. } if revision == "main" => id.clone(),
            Source::Repo { id, revision, .. } => format!("{id}@{revision}"),
        }
    }
}

/// Fetches files of one source, reporting every failure against config key `key`.
pub struct Fetcher {
    key: String,
    source: Source,
    env: HubEnv,
    reachable: Option<Result<(), String>>,
}

impl Fetcher {
    pub fn new(key: &str, source: Source, env: HubEnv) -> Self {
        Fetcher {
            key: key.to_string(),
            source,
            env,
            reachable: None,
        }
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Every file of `names`, or one error that lists all the missing ones.
    pub fn fetch_all(&mut self, names: &[&str]) -> Result<Vec<PathBuf>, EbtError> {
        let mut found = Vec::new();
        let mut missing = Vec::new();
        let mut why = None;
        for name in names {
            match self.lookup(name)? {
                Lookup::Found(p) => found.push(p),
                Lookup::Absent => missing.push(*name),
                Lookup::Unavailable(reason) => {
                    missing.push(*name);
                    why.get_or_insert(reason);
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        Err(self.missing_error(&missing, why))
    }

    /// The file if the source has it; `None` when the source (a directory, the hub, or the cache
    /// when offline) does not. Only an unreachable hub is an error, since then we cannot tell.
    pub fn fetch_optional(&mut self, name: &str) -> Result<Option<PathBuf>, EbtError> {
        match self.lookup(name)? {
            Lookup::Found(p) => Ok(Some(p)),
            Lookup::Absent => Ok(None),
            Lookup::Unavailable(reason) if self.env.offline => {
                let _ = reason;
                Ok(None)
            }
            Lookup::Unavailable(reason) => Err(self.missing_error(&[name], Some(reason))),
        }
    }

    /// Names of all files of the source (a directory walked recursively; a repo's listing from
    /// the hub, or offline from its cached snapshot).
    pub fn list(&mut self) -> Result<Vec<String>, EbtError> {
        match self.source.clone() {
            Source::Dir(d) => Ok(walk(&d)),
            Source::Repo { id, revision, kind } => {
                if let Some(snap) = self.snapshot_dir() {
                    if self.env.offline || is_commit(&revision) {
                        return Ok(walk(&snap));
                    }
                }
                if self.env.offline {
                    return Err(self.missing_error(
                        &["(the file listing)"],
                        Some("HF_HUB_OFFLINE is set".into()),
                    ));
                }
                if let Err(reason) = self.check_reachable() {
                    return match self.snapshot_dir() {
                        Some(snap) => Ok(walk(&snap)),
                        None => Err(self.missing_error(&["(the file listing)"], Some(reason))),
                    };
                }
                let repo = Repo::with_revision(id, kind.hf(), revision);
                let info = self
                    .api()?
                    .repo(repo)
                    .info()
                    .map_err(|e| self.hub_error("cannot list the repository", e))?;
                Ok(info.siblings.into_iter().map(|s| s.rfilename).collect())
            }
        }
    }

    fn lookup(&mut self, name: &str) -> Result<Lookup, EbtError> {
        let (id, revision, kind) = match &self.source {
            Source::Dir(d) => {
                let p = d.join(name);
                return Ok(if p.is_file() {
                    Lookup::Found(p)
                } else {
                    Lookup::Absent
                });
            }
            Source::Repo { id, revision, kind } => (id.clone(), revision.clone(), *kind),
        };
        if let Some(snap) = self.snapshot_dir() {
            let p = snap.join(name);
            if p.is_file() {
                return Ok(Lookup::Found(p));
            }
        }
        if self.env.offline {
            return Ok(Lookup::Unavailable("HF_HUB_OFFLINE is set".into()));
        }
        if let Err(reason) = self.check_reachable() {
            return Ok(Lookup::Unavailable(reason));
        }
        let repo = Repo::with_revision(id, kind.hf(), revision);
        let reporter = Reporter {
            name: String::new(),
            total: 0,
            done: 0,
            tenth: 0,
        };
        match self
            .api()?
            .repo(repo)
            .download_with_progress(name, reporter)
        {
            Ok(p) => Ok(Lookup::Found(p)),
            Err(hf_hub::api::sync::ApiError::RequestError(e))
                if matches!(*e, ureq::Error::Status(404, _)) =>
            {
                Ok(Lookup::Absent)
            }
            Err(e) => Err(self.hub_error(&format!("cannot download {name}"), e)),
        }
    }

    /// `snapshots/<sha>` of the cached repo at the source's revision, if cached.
    fn snapshot_dir(&self) -> Option<PathBuf> {
        let Source::Repo { id, revision, kind } = &self.source else {
            return None;
        };
        let repo_dir = self.env.cache_dir.join(format!(
            "{}--{}",
            kind.cache_prefix(),
            id.replace('/', "--")
        ));
        let sha = if is_commit(revision) {
            revision.clone()
        } else {
            std::fs::read_to_string(repo_dir.join("refs").join(revision))
                .ok()?
                .trim()
                .to_string()
        };
        let snap = repo_dir.join("snapshots").join(sha);
        snap.is_dir().then_some(snap)
    }

    fn api(&self) -> Result<hf_hub::api::sync::Api, EbtError> {
        ApiBuilder::new()
            .with_cache_dir(self.env.cache_dir.clone())
            .with_endpoint(self.env.endpoint.clone())
            .with_progress(false)
            .build()
            .map_err(|e| self.hub_error("cannot start the hub client", e))
    }

    /// A TCP connect to the endpoint with a timeout, once: ureq has no connect timeout, and a
    /// firewalled network would otherwise hang the run for minutes.
    fn check_reachable(&mut self) -> Result<(), String> {
        if let Some(r) = &self.reachable {
            return r.clone();
        }
        let r = reach(&self.env.endpoint);
        self.reachable = Some(r.clone());
        r
    }

    fn hub_error(&self, what: &str, e: impl std::fmt::Display) -> EbtError {
        let msg = e.to_string().replace('\n', " ");
        EbtError::config(format!(
            "{}: {} ({}): {what}: {msg}",
            self.key,
            self.source.describe(),
            self.env.endpoint
        ))
    }

    fn missing_error(&self, missing: &[&str], why: Option<String>) -> EbtError {
        let files = missing.join(", ");
        match &self.source {
            Source::Dir(d) => {
                EbtError::config(format!("{}: {} lacks {files}", self.key, d.display()))
            }
            Source::Repo { id, revision, kind } => {
                let why = why.unwrap_or_else(|| "not downloaded".into());
                let kind_flag = match kind {
                    RepoKind::Model => "",
                    RepoKind::Dataset => " --repo-type dataset",
                };
                let rev_flag = if revision == "main" {
                    String::new()
                } else {
                    format!(" --revision {revision}")
                };
                // " a b" for named files; nothing for "(the file listing)", which is the whole repo.
                let listed: String = missing
                    .iter()
                    .filter(|m| !m.starts_with('('))
                    .map(|m| format!(" {m}"))
                    .collect();
                EbtError::config(format!(
                    "{}: {} is not in the Hugging Face cache {} ({why}); missing {files}. \
                     Pre-download on a machine with network: `huggingface-cli download {id}{listed}{kind_flag}{rev_flag}` \
                     (then copy the cache or set HF_HOME), or point {} at a directory holding the files",
                    self.key,
                    self.source.describe(),
                    self.env.cache_dir.display(),
                    self.key
                ))
            }
        }
    }
}

enum Lookup {
    Found(PathBuf),
    /// The source does not have the file.
    Absent,
    /// We could not ask (offline, no network); the reason.
    Unavailable(String),
}

/// Whether `spec` has the form of a hub repo id (`gpt2`, `owner/name`) and not of a path, so a
/// setting that takes either can tell a missing directory from a repo to look up.
pub fn is_repo_id(spec: &str) -> bool {
    !looks_like_path(spec)
        && !spec.is_empty()
        && spec.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

/// Absolute, relative (`./`, `../`, `~`), Windows-style or more than one `/`: a path.
fn looks_like_path(spec: &str) -> bool {
    spec.starts_with(['/', '.', '~']) || spec.contains('\\') || spec.matches('/').count() > 1
}

fn is_commit(revision: &str) -> bool {
    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())
}

/// Whether a TCP connection to the endpoint's host opens within the timeout.
fn reach(endpoint: &str) -> Result<(), String> {
    let rest = endpoint
        .strip_prefix("https://")
        .map(|r| (r, 443))
        .or_else(|| endpoint.strip_prefix("http://").map(|r| (r, 80)));
    let Some((rest, default_port)) = rest else {
        return Err(format!("HF_ENDPOINT {endpoint:?} is not an http(s) URL"));
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    };
    let addrs = addr
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?;
    let mut last = format!("no address for {authority}");
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("cannot connect to {authority}: {e}"),
        }
    }
    Err(last)
}

/// Relative paths of every file under `dir`, sorted, with `/` separators.
fn walk(dir: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                go(root, &p, out);
            } else if let Ok(rel) = p.strip_prefix(root) {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(cache: &Path, offline: bool) -> HubEnv {
        HubEnv {
            cache_dir: cache.to_path_buf(),
            // A reserved TEST-NET address: unreachable, so nothing leaves the machine.
            endpoint: "http://192.0.2.1:9".into(),
            offline,
        }
    }

    /// A cache laid out as huggingface_hub writes it: refs/main → snapshots/<sha>/files.
    fn fake_cache(root: &Path, folder: &str, files: &[&str]) -> String {
        let sha = "0123456789abcdef0123456789abcdef01234567".to_string();
        let repo = root.join(folder);
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), &sha).unwrap();
        for f in files {
            let p = repo.join("snapshots").join(&sha).join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        sha
    }

    #[test]
    fn downloads_report_every_tenth_to_this_threads_sink() {
        use hf_hub::api::Progress;
        let lines = std::rc::Rc::new(RefCell::new(Vec::new()));
        let seen = lines.clone();
        let guard = report_progress(move |l| seen.borrow_mut().push(l));
        let mut r = Reporter {
            name: String::new(),
            total: 0,
            done: 0,
            tenth: 0,
        };
        r.init(2_000_000, "model.safetensors");
        r.init(2_000_000, "model.safetensors"); // hf-hub announces twice
        for _ in 0..20 {
            r.update(100_000);
        }
        r.finish();
        drop(guard);
        progress_line("after the guard".into()); // goes nowhere
        let lines = lines.borrow();
        assert_eq!(lines[0], "downloading model.safetensors (2.0 MB)");
        assert_eq!(lines[1], "downloading model.safetensors: 10%");
        assert_eq!(lines[9], "downloading model.safetensors: 90%");
        assert_eq!(lines[10], "downloaded model.safetensors");
        assert_eq!(lines.len(), 11);
    }

    #[test]
    fn parse_tells_directories_from_repo_ids() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            Source::parse("k", d, None, RepoKind::Model).unwrap(),
            Source::Dir(dir.path().to_path_buf())
        );
        assert_eq!(
            Source::parse("k", "openai-community/gpt2", Some("v1"), RepoKind::Model).unwrap(),
            Source::Repo {
                id: "openai-community/gpt2".into(),
                revision: "v1".into(),
                kind: RepoKind::Model
            }
        );
        let e = Source::parse("model.pretrained", "./nope/here", None, RepoKind::Model)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "model.pretrained: no directory ./nope/here");
        assert!(Source::parse("k", "bad id!", None, RepoKind::Model).is_err());
        assert!(is_repo_id("gpt2") && is_repo_id("uoft-cs/cifar10"));
        for path in ["/data/cifar", "./cifar", "data/cifar/bin", "cifar10/", ""] {
            assert!(!is_repo_id(path), "{path}");
        }
    }

    #[test]
    fn offline_lookup_reads_the_cache_and_names_every_missing_file() {
        let cache = tempfile::tempdir().unwrap();
        fake_cache(cache.path(), "models--org--tiny", &["config.json"]);
        let src = Source::parse("model.pretrained", "org/tiny", None, RepoKind::Model).unwrap();
        let mut f = Fetcher::new("model.pretrained", src, env(cache.path(), true));
        let got = f.fetch_all(&["config.json"]).unwrap();
        assert!(got[0].ends_with("config.json"));
        assert_eq!(f.fetch_optional("tokenizer.json").unwrap(), None);
        let e = f
            .fetch_all(&["config.json", "model.safetensors", "tokenizer.json"])
            .unwrap_err();
        let msg = e.to_string();
        assert!(!msg.contains('\n'));
        assert!(
            msg.contains("missing model.safetensors, tokenizer.json"),
            "{msg}"
        );
        assert!(msg.contains("HF_HUB_OFFLINE"), "{msg}");
        assert!(msg.contains("huggingface-cli download org/tiny model.safetensors tokenizer.json"));
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn commit_revisions_and_dataset_listings_resolve_offline() {
        let cache = tempfile::tempdir().unwrap();
        let sha = fake_cache(
            cache.path(),
            "datasets--uoft-cs--cifar10",
            &["plain_text/train-00000-of-00001.parquet", "README.md"],
        );
        let src = Source::parse(
            "data.path",
            "uoft-cs/cifar10",
            Some(&sha),
            RepoKind::Dataset,
        )
        .unwrap();
        let mut f = Fetcher::new("data.path", src, env(cache.path(), true));
        assert_eq!(
            f.list().unwrap(),
            vec!["README.md", "plain_text/train-00000-of-00001.parquet"]
        );
        let e = Fetcher::new(
            "data.path",
            Source::parse("data.path", "stanfordnlp/imdb", None, RepoKind::Dataset).unwrap(),
            env(cache.path(), true),
        )
        .list()
        .unwrap_err()
        .to_string();
        assert!(e.contains("--repo-type dataset"), "{e}");
    }

    #[test]
    fn an_unreachable_endpoint_fails_fast_with_one_line() {
        let cache = tempfile::tempdir().unwrap();
        let src = Source::parse("model.pretrained", "gpt2", None, RepoKind::Model).unwrap();
        let mut e = env(cache.path(), false);
        e.endpoint = "http://127.0.0.1:1".into(); // closed port: refused at once
        let msg = Fetcher::new("model.pretrained", src, e)
            .fetch_all(&["config.json"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("cannot connect"), "{msg}");
        assert!(msg.contains("missing config.json"), "{msg}");
    }
}
