//! The desk in a real browser: Debian's headless Chromium driven through
//! chromedriver (fantoccini). Self-check of the I-TRANS return (its five
//! errors, the annotated workbook downloaded); a reviewer creates a campaign and
//! opens its dashboard; a submitter sends the return by their link. Screenshots
//! go to `docs/` (shown in the README).
//!
//! Every page is audited with axe-core (WCAG 2.1 A and AA rules), vendored in
//! `tests/data/axe-core/` (never fetched at run time): no violation allowed.
//! The reviewer logs in and records a decision with the keyboard only.
//!
//! Skipped, with a message, when Chromium or chromedriver is not installed —
//! except under `CI=true`, where that is a failure (`.ci/run` installs them).

mod web_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::BodyExt;
use web_support::*;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn browser(profile: &Path, downloads: &Path) -> Option<(Driver, Client)> {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "Chromium or chromedriver is missing under CI=true: .ci/run must install chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED web_browser: chromium or chromedriver not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--lang=fr-FR", format!("--user-data-dir={}", profile.display())],
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            }
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    Some((driver, client))
}

/// axe-core, from the npm registry (`tests/data/axe-core/VERSION.md`).
const AXE: &str = include_str!("data/axe-core/axe.min.js");

/// Runs axe-core on the current page (WCAG 2.1 A and AA rules): its violations.
async fn violations(c: &Client) -> Vec<serde_json::Value> {
    c.execute(&format!("{AXE}\nwindow.axe = axe; return true;"), vec![])
        .await
        .expect("axe-core injected");
    let violations = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
              .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary) }))))
              .catch(e => done([{ id: 'axe-error', help: String(e) }]));"#,
            vec![],
        )
        .await
        .expect("axe-core ran");
    violations.as_array().cloned().unwrap_or_default()
}

/// Fails with the list of violations of the current page, if any.
async fn audit(c: &Client, what: &str) {
    let list = violations(c).await;
    assert!(
        list.is_empty(),
        "{what}: {} accessibility violation(s):\n{}",
        list.len(),
        serde_json::to_string_pretty(&list).unwrap_or_default()
    );
}

/// Opens `url` and audits it.
async fn visit_and_audit(c: &Client, url: &str, what: &str) {
    c.goto(url).await.expect(what);
    audit(c, what).await;
}

/// Presses Tab until the element with this id has the focus (at most 30 times).
async fn tab_to(c: &Client, id: &str) -> fantoccini::elements::Element {
    for _ in 0..30 {
        let el = c.active_element().await.expect("focused element");
        if el.attr("id").await.ok().flatten().as_deref() == Some(id) {
            return el;
        }
        el.send_keys(&fantoccini::key::Key::Tab.to_string()).await.expect("Tab");
    }
    panic!("#{id} cannot be reached with the Tab key");
}

fn docs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name)
}

async fn screenshot(c: &Client, name: &str, height: u32) {
    c.set_window_size(1280, height).await.expect("window size");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(docs(name), png).expect("screenshot saved");
}

/// Waits for a download to land in `dir` (Chromium writes `.crdownload` first).
async fn downloaded(dir: &Path) -> PathBuf {
    for _ in 0..300 {
        if let Some(p) = std::fs::read_dir(dir)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "xlsx"))
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no download in {}", dir.display());
}

#[tokio::test]
async fn the_desk_in_a_real_browser() {
    let desk = desk().await;
    let profile = tempfile::tempdir().expect("profile");
    let downloads = tempfile::tempdir().expect("downloads");
    let Some((_driver, c)) = browser(profile.path(), downloads.path()).await else {
        return;
    };
    let base = format!("http://{}", desk.addr());

    // Self-check: upload the I-TRANS return, see its five errors.
    c.goto(&format!("{base}/")).await.expect("home");
    let lang = c
        .find(Locator::Css("html"))
        .await
        .expect("html")
        .attr("lang")
        .await
        .expect("lang");
    assert_eq!(lang.as_deref(), Some("fr"));
    audit(&c, "self-check page").await;
    let input = c.find(Locator::Css("input[type=file]")).await.expect("file input");
    input
        .send_keys(&fixture(ITRANS).display().to_string())
        .await
        .expect("file chosen");
    c.find(Locator::Css("form.depot button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sent");
    let verdict = c
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(".verdict"))
        .await
        .expect("results shown");
    assert!(verdict.text().await.expect("text").contains("Non conforme"));
    let errors = c.find_all(Locator::Css("li.constat-error")).await.expect("findings");
    assert_eq!(errors.len(), 5, "the five POLE-FIN-001 errors");
    let first = errors[0].text().await.expect("text");
    assert!(first.contains("POLE-FIN-001"), "{first}");
    let marked = c
        .find(Locator::Css("li.constat-error td.marque"))
        .await
        .expect("marked cell")
        .text()
        .await
        .expect("text");
    assert!(marked.contains("17081618") || marked.contains("17 081 618"), "{marked}");
    audit(&c, "self-check results").await;
    screenshot(&c, "web-autocontrole.png", 1500).await;

    // Download the annotated workbook.
    let link = c.find(Locator::Css("a[href$='/annote']")).await.expect("download link");
    let href = link.attr("href").await.expect("href").expect("a link");
    link.click().await.expect("download");
    let file = downloaded(downloads.path()).await;
    assert!(file.to_string_lossy().ends_with(".controle.xlsx"), "{}", file.display());
    let bytes = std::fs::read(&file).expect("downloaded");
    assert!(bytes.starts_with(b"PK"));
    // The same through the browser's session, byte for byte.
    let raw = c
        .raw_client_for(hyper::Method::GET, &format!("{base}{href}"))
        .await
        .expect("raw request");
    let again = raw.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(again.len(), bytes.len());

    // A reviewer logs in, creates a campaign and opens its dashboard.
    // With the keyboard only: Tab to each field, type, Enter.
    visit_and_audit(&c, &format!("{base}/connexion"), "login page").await;
    tab_to(&c, "identifiant")
        .await
        .send_keys("relecteur")
        .await
        .expect("typed");
    let password = tab_to(&c, "mot_de_passe").await;
    password.send_keys(PASSWORD).await.expect("typed");
    password
        .send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .expect("Enter");
    c.wait()
        .for_element(Locator::Id("campagne"))
        .await
        .expect("campaigns page");
    audit(&c, "campaigns page").await;
    let expected = c.find(Locator::Id("attendus")).await.expect("expected list");
    expected
        .send_keys("BILAN-POLE;I-TRANS\nBILAN-POLE;MAUD\nBILAN-PLDE;Artois Comm.")
        .await
        .expect("typed");
    c.find(Locator::Css("form[action='/campagnes'] button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("created");
    c.wait()
        .for_element(Locator::Css("table.tableau"))
        .await
        .expect("dashboard");
    let counters = c
        .find(Locator::Css(".compteurs"))
        .await
        .expect("counters")
        .text()
        .await
        .expect("text");
    assert!(
        counters.contains("3\nattendus") || counters.contains("3 attendus"),
        "{counters}"
    );
    audit(&c, "dashboard").await;
    let token_link = c
        .find(Locator::Css("input[aria-label='Lien de dépôt de I-TRANS']"))
        .await
        .expect("a link")
        .prop("value")
        .await
        .expect("value")
        .expect("a link");
    let dashboard_url = c.current_url().await.expect("url").to_string();

    // The submitter (another browser would do; same page without session) sends the return.
    c.goto(&token_link).await.expect("submitter page");
    c.find(Locator::Css("input[type=file]"))
        .await
        .expect("file input")
        .send_keys(&fixture(ITRANS).display().to_string())
        .await
        .expect("chosen");
    c.find(Locator::Css("form.depot button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("sent");
    c.wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("article.envoi .verdict"))
        .await
        .expect("the submission with its verdict");
    audit(&c, "submitter page").await;
    screenshot(&c, "web-depot.png", 1300).await;

    // Back on the dashboard: the return is received.
    c.goto(&dashboard_url).await.expect("dashboard");
    let table = c
        .find(Locator::Css("table.tableau"))
        .await
        .expect("table")
        .text()
        .await
        .expect("text");
    assert!(table.contains("Non conforme"), "{table}");
    assert!(table.contains("manquant"), "{table}");
    audit(&c, "dashboard with a return").await;
    screenshot(&c, "web-tableau.png", 1100).await;

    // The return page: a decision recorded with the keyboard only.
    let return_link = c
        .find(Locator::Css("table.tableau a[href^='/retours/']"))
        .await
        .expect("a return link")
        .attr("href")
        .await
        .expect("href")
        .expect("a link");
    visit_and_audit(&c, &format!("{base}{return_link}"), "return page").await;
    // Tab enters the radio group on its first choice; the arrow moves to the next.
    let choice = tab_to(&c, "decision-acceptee").await;
    choice
        .send_keys(&fantoccini::key::Key::Down.to_string())
        .await
        .expect("arrow");
    let checked = c
        .find(Locator::Id("decision-a_corriger"))
        .await
        .expect("radio")
        .prop("checked")
        .await
        .expect("checked");
    assert_eq!(
        checked.as_deref(),
        Some("true"),
        "« À corriger » chosen with the arrow key"
    );
    tab_to(&c, "commentaire")
        .await
        .send_keys("Le coût total ne correspond pas aux financeurs.")
        .await
        .expect("typed");
    let send = tab_to(&c, "envoyer-decision").await;
    send.send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .expect("Enter");
    let decided = c
        .wait()
        .for_element(Locator::Css("p.decision"))
        .await
        .expect("the decision shown")
        .text()
        .await
        .expect("text");
    assert!(decided.contains("relecteur"), "who decided: {decided}");
    audit(&c, "return page with a decision").await;

    // Every other page.
    visit_and_audit(&c, &format!("{base}/modeles"), "templates and rules").await;
    visit_and_audit(&c, &format!("{base}/regles/POLE-FIN-001"), "a rule").await;
    visit_and_audit(&c, &format!("{base}/accessibilite"), "accessibility statement").await;
    visit_and_audit(&c, &format!("{base}/cles-api"), "API keys").await;
    visit_and_audit(&c, &format!("{base}/comptes"), "accounts").await;
    visit_and_audit(&c, &format!("{base}/journal"), "journal").await;
    visit_and_audit(&c, &format!("{base}/page-inconnue"), "error page").await;

    // The audit is not blind: a page without its language is a violation.
    c.execute("document.documentElement.removeAttribute('lang'); return true;", vec![])
        .await
        .expect("lang removed");
    let found = violations(&c).await;
    assert!(
        found.iter().any(|v| v["id"] == "html-has-lang"),
        "axe-core sees a missing lang: {found:?}"
    );

    c.close().await.expect("session closed");
}
