//! The desk as a real `bilan serve` process, under faults and attacks
//! (`web.md`, "What must hold under attack and faults"):
//!
//! - a full disk, made real with `RLIMIT_FSIZE` on the server process (a write
//!   past the limit fails with `EFBIG`, as on a full small filesystem; the
//!   process ignores `SIGXFSZ` so that the write error reaches the desk);
//! - anonymous clients trying to exhaust memory, with the server's peak
//!   resident memory read from `/proc/<pid>/status` (`VmHWM`).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::web::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const GB: u64 = 1 << 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_full_disk_a_deposit_is_refused_in_french_and_leaves_nothing_behind() {
    // 1 MB per file: the database and a small return fit, a larger upload does
    // not. 100 bytes over the limit: only the last write fails (the one tokio
    // reports at `flush`, and `sync_all` alone would drop).
    let desk = ChildDesk::start(Some(1_000_000));
    let mut reviewer = Browser::new(desk.addr);
    reviewer.login().await;
    let campaign = reviewer.create_campaign(CAMPAIGN, "BILAN-POLE;I-TRANS").await;
    let token = reviewer.tokens(campaign).await.remove(0);
    let big = || Part {
        field: "fichier".into(),
        name: "gros.xlsx".into(),
        bytes: vec![b'x'; 1_000_100],
    };

    let mut submitter = Browser::new(desk.addr);
    let r = submitter
        .post_multipart(&format!("/api/depots/{token}"), &[], &[big()])
        .await;
    assert_eq!(r.status, 507, "never 201 on a full disk: {}\n{}", r.text(), desk.log());
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.contains("espace disque") && message.contains("rien n'a été enregistré"),
        "{message}"
    );
    // Nothing left: no stored file, no temporary file, no submission.
    assert_eq!(files_under(&desk.data.join("fichiers")), Vec::<PathBuf>::new());
    assert_eq!(files_under(&desk.data.join("tmp")), Vec::<PathBuf>::new());
    let page = submitter.get(&format!("/depot/{token}")).await.text();
    assert!(!page.contains("gros.xlsx"), "no submission row");

    // The same through the page's form: a French page, 507.
    let csrf = submitter.csrf(&format!("/depot/{token}")).await;
    let r = submitter
        .post_multipart(&format!("/depot/{token}"), &[("csrf", &csrf)], &[big()])
        .await;
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(r.text().contains("Espace disque épuisé"), "{}", r.text());

    // A self-check on a full disk is an error, never « Le fichier est vide ».
    let r = submitter.post_multipart("/api/controle", &[], &[big()]).await;
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(!r.text().contains("vide"), "{}", r.text());
    assert_eq!(files_under(&desk.data.join("tmp")), Vec::<PathBuf>::new());

    // A return that fits is stored whole and acknowledged.
    let r = submitter
        .post_multipart(&format!("/api/depots/{token}"), &[], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let stored = files_under(&desk.data.join("fichiers"));
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        std::fs::read(&stored[0]).expect("stored file"),
        std::fs::read(fixture(ITRANS)).expect("fixture")
    );
}

/// Sends a multipart body of `fields` text fields of `size` bytes each to
/// `/api/controle`, chunked (no announced length); returns the answer's status line.
async fn many_text_fields(addr: SocketAddr, fields: usize, size: usize) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/controle HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    let value = vec![b'a'; size];
    for i in 0..fields {
        let mut part =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"champ{i}\"\r\n\r\n").into_bytes();
        part.extend_from_slice(&value);
        part.extend_from_slice(b"\r\n");
        let mut chunk = format!("{:x}\r\n", part.len()).into_bytes();
        chunk.extend_from_slice(&part);
        chunk.extend_from_slice(b"\r\n");
        if s.write_all(&chunk).await.is_err() {
            break; // answered and closed
        }
    }
    let end = format!("--{BOUNDARY}--\r\n");
    let _ = s
        .write_all(format!("{:x}\r\n{end}\r\n0\r\n\r\n", end.len()).as_bytes())
        .await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anonymous_attacks_keep_the_server_under_1_gb_and_answering() {
    let desk = ChildDesk::start(None);
    let mut b = Browser::new(desk.addr);
    assert_eq!(b.get("/api/sante").await.status, 200);

    // 1. One request with 1 100 text fields of 1 MB.
    let status = many_text_fields(desk.addr, 1_100, 1_000_000).await;
    assert!(status.contains("413"), "{status}");
    let peak = desk.peak_rss();
    eprintln!(
        "peak resident memory after the text-field flood: {} MB",
        peak / 1_000_000
    );
    assert!(peak < GB, "many text fields: peak {} MB", peak / 1_000_000);
    assert_eq!(b.get("/api/sante").await.status, 200);

    // 2. 64 wrong logins at once, three rounds.
    let csrf = b.csrf("/connexion").await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let mut c = Browser::new(desk.addr);
            c.cookies = b.cookies.clone();
            let csrf = csrf.clone();
            tasks.push(tokio::spawn(async move {
                let login = format!("relecteur{}", i % 8);
                c.post_form(
                    "/connexion",
                    &[("csrf", &csrf), ("identifiant", "relecteur"), ("mot_de_passe", &login)],
                )
                .await
                .status
            }));
        }
        for t in tasks {
            answers.push(t.await.expect("login task"));
        }
    }
    assert!(answers.iter().all(|s| [401, 429, 503].contains(s)), "{answers:?}");
    assert!(answers.contains(&429), "throttled: {answers:?}");
    let peak = desk.peak_rss();
    eprintln!("peak resident memory after the login flood: {} MB", peak / 1_000_000);
    assert!(peak < GB, "login flood: peak {} MB", peak / 1_000_000);
    assert_eq!(b.get("/api/sante").await.status, 200);

    // 3. Self-checks filling the annotated-workbook cache.
    for _ in 0..30 {
        let csrf = b.csrf("/").await;
        let r = b
            .post_multipart("/controle", &[("csrf", &csrf)], &[file_part(&fixture(ITRANS))])
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let peak = desk.peak_rss();
    eprintln!("peak resident memory after 30 self-checks: {} MB", peak / 1_000_000);
    assert!(peak < GB, "self-checks: peak {} MB", peak / 1_000_000);
    assert_eq!(b.get("/api/sante").await.status, 200);
}
