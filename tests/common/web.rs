//! Helpers of the web desk's tests (`mod common; use common::web::*;`): a
//! desk on a random loopback port with its own data folder (in this process,
//! or as a `bilan serve` child), and a small HTTP client that keeps cookies
//! like a browser.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bilan::web::{Config, Server, WebError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const PASSWORD: &str = "mot-de-passe-des-tests";
pub const ITRANS: &str = "pole-itrans-cout-total-different-des-financeurs.xlsx";

#[allow(unused_imports)]
pub use super::fixture;

pub fn worker_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bilan"))
}

pub struct Desk {
    pub server: Server,
    pub dir: tempfile::TempDir,
}

impl Desk {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("donnees")
    }
}

pub fn config(data: &Path) -> Config {
    let mut c = Config::new("127.0.0.1:0".parse().expect("address"), data.to_path_buf());
    c.admin_password = Some(PASSWORD.to_string());
    c.workers = 2;
    c.worker_exe = Some(worker_exe());
    c
}

/// Starts a desk whose files are read by `c.worker_exe` (else this
/// package's `bilan`); the error when it cannot start.
pub async fn try_start(c: Config) -> Result<Server, WebError> {
    let exe = c.worker_exe.clone().unwrap_or_else(worker_exe);
    let checker = bilan::web::default_checker(Some(exe), c.max_file_size).expect("checker");
    bilan::web::start(c, checker).await
}

/// The same, for a desk that must start.
pub async fn start(c: Config) -> Server {
    try_start(c).await.expect("desk starts")
}

/// A desk with the real isolated readers, adjusted by `adjust`.
pub async fn desk_with(adjust: impl FnOnce(&mut Config)) -> Desk {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = config(&dir.path().join("donnees"));
    adjust(&mut c);
    let server = start(c).await;
    Desk { server, dir }
}

/// A reader process that reads its requests and never answers (its output
/// stays open): a check with it hangs until the reader's time budget. Written
/// as an executable script in `dir`.
pub fn hanging_reader(dir: &Path) -> PathBuf {
    let hang = dir.join("lecteur-bloque.sh");
    std::fs::write(&hang, "#!/bin/sh\nwhile read -r line; do :; done\n").expect("script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    hang
}

/// Polls `path` until `cond` holds (the desk checks in the background); fails
/// the test, saying `what`, when it never does within a minute.
pub async fn eventually(b: &mut Browser, path: &str, what: &str, cond: impl Fn(&str) -> bool) -> String {
    for _ in 0..600 {
        let text = b.get(path).await.text();
        if cond(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: never seen on {path}");
}

pub async fn desk() -> Desk {
    desk_with(|_| {}).await
}

pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A file part of a multipart form.
pub struct Part {
    pub field: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

pub fn file_part(path: &Path) -> Part {
    Part {
        field: "fichier".into(),
        name: path.file_name().and_then(|n| n.to_str()).unwrap_or("f").to_string(),
        bytes: std::fs::read(path).expect("fixture"),
    }
}

pub const BOUNDARY: &str = "----bilanTestBoundary7MA4YWxkTrZu0gW";

pub fn multipart_body(fields: &[(&str, &str)], files: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for p in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                p.field, p.name
            )
            .as_bytes(),
        );
        body.extend_from_slice(&p.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// An HTTP client with a cookie jar (like one browser).
pub struct Browser {
    pub base: String,
    pub cookies: HashMap<String, String>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            cookies: HashMap::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn send(&mut self, method: &str, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Resp {
        let mut req = Request::builder().method(method).uri(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", jar.join("; "));
        }
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let resp = self.client.request(req).await.expect("response");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for c in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let first = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let body = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
        Resp { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, &[], Vec::new()).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        self.send(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded".to_string())],
            body.join("&").into_bytes(),
        )
        .await
    }

    pub async fn post_multipart(&mut self, path: &str, fields: &[(&str, &str)], files: &[Part]) -> Resp {
        self.send(
            "POST",
            path,
            &[("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))],
            multipart_body(fields, files),
        )
        .await
    }

    /// The CSRF token of the forms of a page (after a GET).
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await.text();
        let start = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF field") + 19;
        page[start..start + 64].to_string()
    }

    /// Posts the login form (with the CSRF token of the login page).
    pub async fn try_login(&mut self, login: &str, password: &str) -> Resp {
        let csrf = self.csrf("/connexion").await;
        self.post_form(
            "/connexion",
            &[("csrf", &csrf), ("identifiant", login), ("mot_de_passe", password)],
        )
        .await
    }

    /// Logs in as the reviewer.
    pub async fn login(&mut self) {
        let r = self.try_login("relecteur", PASSWORD).await;
        assert_eq!(r.status, 303, "login: {}", r.text());
    }

    /// Creates a campaign; returns its id.
    pub async fn create_campaign(&mut self, toml: &str, expected: &str) -> i64 {
        let csrf = self.csrf("/campagnes").await;
        let r = self
            .post_multipart(
                "/campagnes",
                &[("csrf", &csrf), ("campagne", toml), ("attendus", expected)],
                &[],
            )
            .await;
        assert_eq!(r.status, 303, "campaign: {}", r.text());
        r.header("location")
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .expect("campaign id")
    }

    /// The submitters' tokens shown on a dashboard, in the table's order.
    pub async fn tokens(&mut self, campaign: i64) -> Vec<String> {
        let page = self.get(&format!("/campagnes/{campaign}")).await.text();
        page.match_indices("/depot/")
            .map(|(i, _)| page[i + 7..i + 7 + 64].to_string())
            .collect()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub const CAMPAIGN: &str = "nom = \"Bilan SRDE 2009\"\nexercice = 2009\ndate_arrete = 2010-03-31\n";

/// A `bilan serve` child process on a random loopback port.
pub struct ChildDesk {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Drop for ChildDesk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildDesk {
    /// Starts `bilan serve`; `file_size_limit`: the largest file it may write
    /// (`RLIMIT_FSIZE`, a full disk as the server sees it).
    pub fn start(file_size_limit: Option<u64>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("donnees");
        let mut cmd = Command::new(worker_exe());
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(&data)
            .env("BILAN_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(limit) = file_size_limit {
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("bilan serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut addr = None;
        let log = Arc::new(Mutex::new(String::new()));
        for line in lines.by_ref() {
            let line = line.expect("stderr line");
            log.lock().expect("log").push_str(&format!("{line}\n"));
            if let Some(a) = line.split("http://").nth(1).filter(|_| line.contains("guichet ouvert")) {
                addr = a.trim().parse().ok();
                break;
            }
        }
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(mut l) = log2.lock() {
                    l.push_str(&format!("{line}\n"));
                }
            }
        });
        let addr = addr.unwrap_or_else(|| panic!("no address printed: {}", log.lock().expect("log")));
        Self {
            child,
            addr,
            data,
            log,
            _dir: dir,
        }
    }

    /// Peak resident memory of the server process (bytes).
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmHWM")
    }

    /// What it printed on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}
