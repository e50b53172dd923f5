//! The web desk at its HTTP boundary (`spec/web.md`): a real server on a random
//! loopback port, real isolated readers, real fixtures.

mod common;

use std::time::Duration;

use common::web::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn itrans_api_check(b: &mut Browser) -> serde_json::Value {
    let r = b
        .post_multipart("/api/controle", &[], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn self_check_of_a_fixture_returns_its_report() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    let health = b.get("/api/sante").await;
    assert_eq!(health.json()["statut"], "ok");

    let report = itrans_api_check(&mut b).await;
    assert_eq!(report["tool"], "bilan");
    let file = &report["files"][0];
    assert_eq!(file["path"], ITRANS);
    assert_eq!(file["template"], "BILAN-POLE");
    assert_eq!(file["status"], "non_conforme");
    assert_eq!(file["counts"]["error"], 5);
    let rules: Vec<&str> = file["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules.iter().filter(|r| **r == "POLE-FIN-001").count(), 5, "{rules:?}");

    // The annotated workbook itself.
    let r = b
        .post_multipart("/api/controle?annote=1", &[], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"PK"), "an xlsx (zip)");
    assert!(r.header("content-disposition").starts_with("attachment;"));
    assert!(r.header("content-disposition").contains(".controle.xlsx"));

    // Nothing stored by a self-check.
    let stored = std::fs::read_dir(desk.data().join("fichiers")).expect("folder").count();
    assert_eq!(stored, 0);
    let tmp = std::fs::read_dir(desk.data().join("tmp")).expect("folder").count();
    assert_eq!(tmp, 0, "temporary upload removed");
}

#[tokio::test]
async fn the_self_check_page_shows_each_finding_on_its_cell_and_offers_the_annotated_workbook() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    let home = b.get("/").await;
    assert!(home.text().contains("<html lang=\"fr\">"));
    assert!(home.header("set-cookie").contains("HttpOnly"));
    assert!(home.header("set-cookie").contains("SameSite=Strict"));
    assert!(home.header("content-security-policy").contains("script-src 'self'"));
    let csrf = b.csrf("/").await;
    let r = b
        .post_multipart("/controle", &[("csrf", &csrf)], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(page.contains("Verdict : Non conforme"), "{page}");
    assert_eq!(page.matches("class=\"constat constat-error\"").count(), 5);
    assert!(page.contains("Feuille « Financements »"));
    // The excerpt: column letters, row numbers, the marked cell with its value.
    assert!(page.contains("<th scope=\"col\">B</th>"));
    assert!(page.contains("<th scope=\"row\">4</th>"));
    assert!(page.contains("cellule B4 marquée"));
    assert!(
        page.contains("<td class=\"marque\"><strong>17081618</strong>")
            || page.contains("<td class=\"marque\"><strong>17 081 618</strong>"),
        "{page}"
    );
    assert!(page.contains("<dt>Écart</dt><dd>1 048 596</dd>"), "{page}");
    let start = page.find("href=\"/controle/").expect("download link") + 6;
    let end = start + page[start..].find('"').expect("end");
    let annotated = b.get(&page[start..end]).await;
    assert_eq!(annotated.status, 200);
    assert!(annotated.body.starts_with(b"PK"));
    assert!(page.contains("href=\"/modeles/BILAN-POLE.xlsx\""));
    let blank = b.get("/modeles/BILAN-POLE.xlsx").await;
    assert_eq!(blank.status, 200);
    assert!(blank.body.starts_with(b"PK"));
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_refused() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    b.get("/").await; // the CSRF cookie is set, but the form field is missing
    let r = b.post_multipart("/controle", &[], &[file_part(&fixture(ITRANS))]).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("Formulaire expiré"));
    let r = b
        .post_multipart(
            "/controle",
            &[("csrf", &"0".repeat(64))],
            &[file_part(&fixture(ITRANS))],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = b
        .post_form(
            "/connexion",
            &[("identifiant", "relecteur"), ("mot_de_passe", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403);
    // A logged-in reviewer's forms too.
    b.login().await;
    let r = b.post_multipart("/campagnes", &[("campagne", CAMPAIGN)], &[]).await;
    assert_eq!(r.status, 403);
    let r = b.post_form("/cle-api", &[]).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn reviewer_pages_without_a_session_redirect_to_the_login() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    for path in [
        "/campagnes",
        "/campagnes/1",
        "/retours/1",
        "/campagnes/1/synthese.xlsx",
        "/campagnes/1/annotes.zip",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location"), "/connexion", "{path}");
    }
    let r = b.get("/api/campagnes/1").await;
    assert_eq!(r.status, 401);
    assert!(r.json()["message"].as_str().is_some_and(|m| m.contains("Connexion")));
    // A wrong password does not open a session.
    let r = b.try_login("relecteur", "faux").await;
    assert_eq!(r.status, 401);
    assert_eq!(b.get("/campagnes").await.status, 303);
    // The right one does; the session cookie is HttpOnly and SameSite=Strict.
    let r = b.try_login("relecteur", PASSWORD).await;
    assert_eq!(r.status, 303);
    let cookie = r.header("set-cookie");
    assert!(cookie.contains("bilan_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert_eq!(b.get("/campagnes").await.status, 200);
}

#[tokio::test]
async fn a_submission_by_token_is_stored_listed_and_reaches_one_return_only() {
    let desk = desk().await;
    let mut reviewer = Browser::new(desk.addr());
    reviewer.login().await;
    let campaign = reviewer
        .create_campaign(CAMPAIGN, "BILAN-POLE;I-TRANS\nBILAN-POLE;MAUD")
        .await;
    let tokens = reviewer.tokens(campaign).await;
    assert_eq!(tokens.len(), 2, "one link per expected return");
    let (itrans, maud) = (&tokens[0], &tokens[1]);

    let mut submitter = Browser::new(desk.addr());
    let r = submitter
        .post_multipart(&format!("/api/depots/{itrans}"), &[], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let file = &r.json()["files"][0];
    assert_eq!(file["status"], "non_conforme");
    assert_eq!(file["counts"]["error"], 5);
    let sha = file["sha256"].as_str().expect("sha").to_string();
    // Stored under its hash.
    let stored = desk.data().join("fichiers").join(&sha[..2]).join(format!("{sha}.xlsx"));
    assert_eq!(
        std::fs::read(&stored).expect("stored file"),
        std::fs::read(fixture(ITRANS)).expect("fixture")
    );

    // The submitter's page lists it, with its findings.
    let page = submitter.get(&format!("/depot/{itrans}")).await.text();
    assert!(page.contains(&sha), "{page}");
    assert!(page.contains(ITRANS));
    assert!(page.contains("Verdict : Non conforme"));
    // The same page through the HTML form.
    let csrf = submitter.csrf(&format!("/depot/{itrans}")).await;
    let r = submitter
        .post_multipart(
            &format!("/depot/{itrans}"),
            &[("csrf", &csrf)],
            &[file_part(&fixture(ITRANS))],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = submitter.get(&format!("/depot/{itrans}")).await.text();
    assert_eq!(page.matches("class=\"envoi\"").count(), 2, "history of both versions");
    assert!(
        page.contains("Depuis l'envoi n°"),
        "comparison with the previous version"
    );
    // Its annotated workbook.
    let start = page.find("/envois/").expect("link");
    let link_start = page[..start].rfind('"').expect("quote") + 1;
    let link_end = start + page[start..].find('"').expect("end");
    let r = submitter.get(&page[link_start..link_end]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with(b"PK"));

    // The other organisation sees none of it, and the submitter none of theirs.
    let other = submitter.get(&format!("/depot/{maud}")).await.text();
    assert!(!other.contains(&sha));
    assert!(other.contains("Aucun envoi"));
    assert!(!page.contains("Attention :"), "the expected return");
    let foreign = page[link_start..link_end].replace(itrans.as_str(), maud.as_str());
    assert_eq!(submitter.get(&foreign).await.status, 404);
    // No reviewer page with a token.
    assert_eq!(submitter.get(&format!("/campagnes/{campaign}")).await.status, 303);

    // The I-TRANS return sent by MAUD's link: said in words.
    let mut maud_browser = Browser::new(desk.addr());
    let r = maud_browser
        .post_multipart(&format!("/api/depots/{maud}"), &[], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 201);
    // Stored, and the submitter is told at once in the answer (issue 22).
    let submission = &r.json()["files"][0]["submission"];
    assert_eq!(submission["mismatch"]["code"], "autre_organisation", "{submission}");
    assert_eq!(submission["number"], 1, "the first submission of MAUD's return");
    let maud_page = maud_browser.get(&format!("/depot/{maud}")).await.text();
    assert!(
        maud_page.contains("alors que ce lien attend le retour BILAN-POLE de « MAUD »"),
        "{maud_page}"
    );
    assert!(maud_page.contains("Envoi n° 1 du"), "numbered per return: {maud_page}");

    // The dashboard lists it, never as MAUD's return: « à vérifier », counted apart.
    let dash = reviewer.get(&format!("/campagnes/{campaign}")).await.text();
    assert!(
        dash.contains("class=\"verdict-non_conforme\">Non conforme</td>"),
        "{dash}"
    );
    assert!(
        dash.contains("class=\"verdict-a_verifier\">À vérifier : autre organisation</td>"),
        "{dash}"
    );
    assert!(dash.contains("(envoi n° 2)"), "{dash}");
    assert!(dash.contains("<strong>0</strong> manquants"), "{dash}");
    assert!(dash.contains("<strong>0</strong> conformes"), "{dash}");
    assert!(dash.contains("<strong>1</strong> à vérifier"), "{dash}");
    let json = reviewer.get(&format!("/api/campagnes/{campaign}")).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.json()["files"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_wrong_token_is_403() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    let wrong = "ab".repeat(32);
    assert_eq!(b.get(&format!("/depot/{wrong}")).await.status, 403);
    assert_eq!(b.get("/depot/..%2F..%2Fetc%2Fpasswd").await.status, 403);
    let r = b
        .post_multipart(&format!("/api/depots/{wrong}"), &[], &[file_part(&fixture(ITRANS))])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("Lien de dépôt inconnu")));
    assert_eq!(
        std::fs::read_dir(desk.data().join("fichiers")).expect("folder").count(),
        0
    );
}

#[tokio::test]
async fn a_hostile_file_is_a_finding_and_the_server_keeps_serving() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    for name in [
        "zip-tronque.xlsx",
        "xml-profond.xlsx",
        "dimension-a1-xfd1048576.xlsx",
        "vide.xlsx",
        "xls-renomme.xlsx",
        "fusions-et-cellule-lointaine.xlsx",
    ] {
        let r = b
            .post_multipart("/api/controle", &[], &[file_part(&fixture(&format!("corpus/{name}")))])
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let findings = r.json()["files"][0]["findings"].as_array().cloned().unwrap_or_default();
        assert!(!findings.is_empty(), "{name}: a finding");
    }
    assert_eq!(b.get("/api/sante").await.status, 200);
    let report = itrans_api_check(&mut b).await;
    assert_eq!(report["files"][0]["counts"]["error"], 5, "still checking");
}

/// Sends `head` then `body` slowly on a raw connection and returns what the
/// server answered (the server may answer before the body is all sent).
async fn raw_exchange(addr: std::net::SocketAddr, head: String, body_chunks: usize, chunked: bool) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("head");
    let prologue =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"gros.xlsx\"\r\n\r\n");
    let chunk = vec![b'x'; 16 * 1024];
    let mut pieces = vec![prologue.into_bytes()];
    pieces.extend(std::iter::repeat_n(chunk, body_chunks));
    for p in pieces {
        let data = if chunked {
            let mut d = format!("{:x}\r\n", p.len()).into_bytes();
            d.extend_from_slice(&p);
            d.extend_from_slice(b"\r\n");
            d
        } else {
            p
        };
        if s.write_all(&data).await.is_err() {
            break; // the server has answered and closed: fine
        }
    }
    // Never finish the body: the answer must come anyway.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.len() > 200 {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn an_oversize_upload_is_refused_without_being_read_whole() {
    let desk = desk_with(|c| c.max_file_size = 100_000).await;
    let mut reviewer = Browser::new(desk.addr());
    reviewer.login().await;
    let campaign = reviewer.create_campaign(CAMPAIGN, "BILAN-POLE;I-TRANS").await;
    let token = reviewer.tokens(campaign).await.remove(0);

    // Announced size over the limit: refused before reading the body (only 64 KiB of 50 MB sent).
    let head = format!(
        "POST /api/controle HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 50000000\r\n\r\n"
    );
    let answer = raw_exchange(desk.addr(), head, 4, false).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("Fichier trop volumineux"), "{answer}");

    // No announced size (chunked), body never ending: refused once past the limit.
    let head = format!(
        "POST /api/depots/{token} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let answer = raw_exchange(desk.addr(), head, 40, true).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("100 000 octets"), "{answer}");
    // Nothing stored half-way.
    assert_eq!(
        std::fs::read_dir(desk.data().join("fichiers")).expect("folder").count(),
        0
    );
    assert_eq!(std::fs::read_dir(desk.data().join("tmp")).expect("folder").count(), 0);
    let mut b = Browser::new(desk.addr());
    assert!(b.get(&format!("/depot/{token}")).await.text().contains("Aucun envoi"));
    // And the server still serves.
    assert_eq!(b.get("/api/sante").await.status, 200);
}

/// The page with numeric character references written as named ones.
fn escaped(page: &str) -> String {
    page.replace("&#60;", "&lt;").replace("&#62;", "&gt;")
}

#[tokio::test]
async fn submitted_text_is_shown_escaped() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    // A cell of the workbook and the file name carry a script.
    let mut spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("src/pole-itrans-cout-total-different-des-financeurs.json")).expect("spec"),
    )
    .expect("json");
    let sheets = spec["sheets"].as_array_mut().expect("sheets");
    let fin = sheets
        .iter_mut()
        .find(|s| s["name"] == "Financements")
        .expect("Financements");
    fin["blocks"]
        .as_array_mut()
        .expect("blocks")
        .push(serde_json::json!({"at": "A2", "rows": [["<script>alert(1)</script>"]]}));
    let spec: bilan::sheetgen::WorkbookSpec = serde_json::from_value(spec).expect("spec");
    let bytes = bilan::sheetgen::write_xlsx(&spec).expect("workbook");
    let csrf = b.csrf("/").await;
    let r = b
        .post_multipart(
            "/controle",
            &[("csrf", &csrf)],
            &[Part {
                field: "fichier".into(),
                name: "<img src=x onerror=alert(1)>.xlsx".into(),
                bytes,
            }],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(
        escaped(&page).contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the cell: {page}"
    );
    assert!(
        escaped(&page).contains("&lt;img src=x onerror=alert(1)&gt;.xlsx"),
        "the file name: {page}"
    );

    // A reviewer's comment, shown to the submitter.
    let mut reviewer = Browser::new(desk.addr());
    reviewer.login().await;
    let campaign = reviewer
        .create_campaign(CAMPAIGN, "BILAN-POLE;<script>alert(1)</script>")
        .await;
    let token = reviewer.tokens(campaign).await.remove(0);
    let dash = reviewer.get(&format!("/campagnes/{campaign}")).await.text();
    assert!(!dash.contains("<script>alert(1)"));
    let page = reviewer.get("/retours/1").await.text();
    let csrf = page
        .find("name=\"csrf\" value=\"")
        .map(|i| page[i + 19..i + 83].to_string())
        .expect("csrf");
    let r = reviewer
        .post_form(
            "/retours/1/decision",
            &[
                ("csrf", &csrf),
                ("decision", "a_corriger"),
                ("commentaire", "<script>alert(1)</script>"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let seen = b.get(&format!("/depot/{token}")).await.text();
    assert!(seen.contains("À corriger"));
    assert!(!seen.contains("<script>alert(1)"));
    assert!(escaped(&seen).contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn a_submission_stored_when_the_server_stops_during_its_check_is_checked_after_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("donnees");
    // A reader that never answers (it waits for its input to close): the check hangs.
    let hang = hanging_reader(dir.path());

    let first = tokio::runtime::Runtime::new().expect("runtime");
    let token = first.block_on(async {
        let mut c = config(&data);
        c.worker_exe = Some(hang.clone());
        let server = start(c).await;
        let mut reviewer = Browser::new(server.addr);
        reviewer.login().await;
        let campaign = reviewer.create_campaign(CAMPAIGN, "BILAN-POLE;I-TRANS").await;
        let token = reviewer.tokens(campaign).await.remove(0);
        let addr = server.addr;
        let t = token.clone();
        // The sender waits for the check, which never ends.
        tokio::spawn(async move {
            let mut b = Browser::new(addr);
            b.post_multipart(&format!("/api/depots/{t}"), &[], &[file_part(&fixture(ITRANS))])
                .await;
        });
        let mut b = Browser::new(addr);
        eventually(&mut b, &format!("/depot/{token}"), "stored, being checked", |p| {
            p.contains("contrôle en cours")
        })
        .await;
        server.state.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        token
    });
    // The server stops abruptly, in the middle of the check.
    first.shutdown_background();

    let second = tokio::runtime::Runtime::new().expect("runtime");
    second.block_on(async {
        let server = start(config(&data)).await;
        let mut b = Browser::new(server.addr);
        let page = eventually(&mut b, &format!("/depot/{token}"), "checked after restart", |p| {
            p.contains("Verdict : Non conforme")
        })
        .await;
        assert_eq!(page.matches("class=\"envoi\"").count(), 1, "the same submission, once");
        assert_eq!(page.matches("class=\"constat constat-error\"").count(), 5);
        server.stop().await;
    });
}

#[tokio::test]
async fn a_full_queue_answers_server_busy() {
    // No reader slot free and no room to wait: the answer is immediate and French.
    let dir = tempfile::tempdir().expect("dir");
    let hang = hanging_reader(dir.path());
    let mut c = config(&dir.path().join("donnees"));
    c.workers = 1;
    c.queue = 0;
    // The hanging reader is stopped after 10 s (its time budget), so the test ends.
    let checker = bilan::run::load(&bilan::run::Setup {
        isolation: Some(hang),
        timeout: Some(10),
        ..bilan::run::Setup::default()
    })
    .expect("checker");
    let server = bilan::web::start(c, checker).await.expect("starts");
    let addr = server.addr;
    let blocked = tokio::spawn(async move {
        let mut b = Browser::new(addr);
        b.post_multipart("/api/controle", &[], &[file_part(&fixture(ITRANS))])
            .await
    });
    let mut b = Browser::new(addr);
    // Once the only reader is taken…
    let mut taken = false;
    for _ in 0..600 {
        if b.get("/api/sante").await.json()["controles_en_cours"] == 1 {
            taken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(taken, "the first file never took the only reader");
    let mut answer = None;
    for _ in 0..600 {
        let r = b
            .post_multipart("/api/controle", &[], &[file_part(&fixture(ITRANS))])
            .await;
        if r.status == 503 {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = answer.expect("a 503 while the only reader is busy");
    assert!(r.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("Serveur occupé, réessayez")));
    assert_eq!(r.header("retry-after"), "5");
    assert_eq!(b.get("/api/sante").await.status, 200);
    // The blocked file gets an error finding once its reader is given up.
    let r = blocked.await.expect("answered");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["files"][0]["findings"][0]["severity"], "error");
}

/// Issue 22: a port already in use is said in French, with `--bind` to get out.
#[tokio::test]
async fn a_port_in_use_is_explained_with_bind() {
    let first = desk().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut c = config(&dir.path().join("donnees"));
    c.bind = first.addr();
    let message = match try_start(c).await {
        Ok(_) => panic!("two desks on one port"),
        Err(e) => e.message(),
    };
    assert!(
        message.contains(&format!("le port {} est déjà utilisé", first.addr().port())),
        "{message}"
    );
    assert!(message.contains("--bind"), "{message}");
    assert!(
        !message.contains("os error") && !message.contains("Address"),
        "{message}"
    );
}
