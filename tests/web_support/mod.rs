//! Helpers of the web desk's tests: a desk on a random loopback port with its
//! own data folder, and a small HTTP client that keeps cookies like a browser.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bilan::web::{Config, Server};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const PASSWORD: &str = "mot-de-passe-des-tests";
pub const ITRANS: &str = "pole-itrans-cout-total-different-des-financeurs.xlsx";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

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

/// A desk with the real isolated readers, adjusted by `adjust`.
pub async fn desk_with(adjust: impl FnOnce(&mut Config)) -> Desk {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = config(&dir.path().join("donnees"));
    adjust(&mut c);
    let checker = bilan::web::default_checker(Some(worker_exe()), c.max_file_size).expect("checker");
    let server = bilan::web::start(c, checker).await.expect("desk starts");
    Desk { server, dir }
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

    /// Logs in as the reviewer.
    pub async fn login(&mut self) {
        let csrf = self.csrf("/connexion").await;
        let r = self
            .post_form(
                "/connexion",
                &[
                    ("csrf", &csrf),
                    ("identifiant", "relecteur"),
                    ("mot_de_passe", PASSWORD),
                ],
            )
            .await;
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
