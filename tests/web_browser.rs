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

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::web::*;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::BodyExt;

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

/// A desk and a real browser on it, each with its own folders; `None` when
/// this machine has no browser (skipped, a failure under `CI=true`).
struct Visit {
    _desk: Desk,
    client: Client,
    base: String,
    downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

async fn visit() -> Option<Visit> {
    let desk = desk().await;
    let profile = tempfile::tempdir().expect("profile");
    let downloads = tempfile::tempdir().expect("downloads");
    let (driver, client) = browser(profile.path(), downloads.path()).await?;
    Some(Visit {
        base: format!("http://{}", desk.addr()),
        _desk: desk,
        client,
        downloads,
        _profile: profile,
        _driver: driver,
    })
}

async fn browser(profile: &Path, downloads: &Path) -> Option<(Driver, Client)> {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        common::skip(
            "web_browser",
            "chromium or chromedriver not installed (apt-get install chromium chromium-driver; .ci/run installs them)",
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
    let Some(visit) = visit().await else {
        return;
    };
    let (c, base) = (visit.client.clone(), visit.base.clone());

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
    choose_and_send(&c, &fixture(ITRANS)).await;
    assert!(shown_text(&c, ".verdict").await.contains("Non conforme"));
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
    let file = downloaded(visit.downloads.path()).await;
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
    wait_for(&c, "#formulaire-campagne").await;
    audit(&c, "campaigns page").await;
    type_in(&c, "nom", "Bilan SRDE 2009").await;
    type_in(
        &c,
        "attendus",
        "BILAN-POLE;I-TRANS\nBILAN-POLE;MAUD\nBILAN-PLDE;Artois Comm.",
    )
    .await;
    click(&c, "#creer").await;
    wait_for(&c, "table.tableau").await;
    let counters = text_of(&c, ".compteurs").await;
    assert!(
        counters.contains("3\nattendus") || counters.contains("3 attendus"),
        "{counters}"
    );
    audit(&c, "dashboard").await;
    let token_link = deposit_link(&c, "I-TRANS").await;
    let dashboard_url = c.current_url().await.expect("url").to_string();

    // The submitter (another browser would do; same page without session) sends the return.
    send(&c, &token_link, ITRANS).await;
    audit(&c, "submitter page").await;
    screenshot(&c, "web-depot.png", 1300).await;

    // Back on the dashboard: the return is received.
    c.goto(&dashboard_url).await.expect("dashboard");
    let table = text_of(&c, "table.tableau").await;
    assert!(table.contains("Non conforme"), "{table}");
    assert!(table.contains("Manquant"), "{table}");
    audit(&c, "dashboard with a return").await;

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
    let decided = shown_text(&c, "p.decision").await;
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

async fn type_in(c: &Client, id: &str, text: &str) {
    let field = c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
    field.clear().await.unwrap_or_else(|e| panic!("#{id} cleared: {e}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("#{id} typed: {e}"));
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css} clicked: {e}"));
}

async fn value_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .prop("value")
        .await
        .unwrap_or_else(|e| panic!("#{id} value: {e}"))
        .unwrap_or_default()
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{css} text: {e}"))
}

/// A GET with the browser's cookies (a reviewer's session), the body's bytes.
async fn download(c: &Client, url: &str) -> Vec<u8> {
    let resp = c
        .raw_client_for(hyper::Method::GET, url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(resp.status(), 200, "{url}");
    resp.into_body().collect().await.expect("body").to_bytes().to_vec()
}

async fn login(c: &Client, base: &str) {
    c.goto(&format!("{base}/connexion")).await.expect("login page");
    type_in(c, "identifiant", "relecteur").await;
    type_in(c, "mot_de_passe", PASSWORD).await;
    click(c, "form.formulaire button").await;
    wait_for(c, "#formulaire-campagne").await;
}

/// The element `css` once the page shows it (a check may take a while: up
/// to a minute, then the test fails).
async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never shown: {e}"))
}

/// The text of `css` once the page shows it.
async fn shown_text(c: &Client, css: &str) -> String {
    wait_for(c, css)
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("{css} text: {e}"))
}

/// Chooses `path` in the page's file input and sends the form.
async fn choose_and_send(c: &Client, path: &Path) {
    c.find(Locator::Css("input[type=file]"))
        .await
        .expect("file input")
        .send_keys(&path.display().to_string())
        .await
        .expect("file chosen");
    click(c, "form.depot button[type=submit]").await;
}

/// The submitter's link of `org` shown on the dashboard.
async fn deposit_link(c: &Client, org: &str) -> String {
    c.find(Locator::Css(&format!("input[aria-label=\"Lien de dépôt de {org}\"]")))
        .await
        .expect("a link")
        .prop("value")
        .await
        .expect("value")
        .expect("a link")
}

/// Sends `file` through the submitter's page at `link`; returns the page's receipt.
async fn send(c: &Client, link: &str, file: &str) -> String {
    c.goto(link).await.expect("submitter page");
    choose_and_send(c, &fixture(file)).await;
    wait_for(c, "p.accuse").await;
    wait_for(c, "article.envoi .verdict").await;
    text_of(c, "p.accuse").await
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut out = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("entry");
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("entry read");
        out.insert(f.name().expect("entry name").to_string(), data);
    }
    out
}

/// What must agree between the desk's export and `bilan batch`: per file (by
/// SHA-256) its status, counts and findings; the cross-file findings.
fn essentials(report: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let finding = |f: &serde_json::Value| {
        format!(
            "{} {} {}!{} {}",
            f["rule"].as_str().unwrap_or_default(),
            f["severity"].as_str().unwrap_or_default(),
            f["sheet"].as_str().unwrap_or_default(),
            f["cell"].as_str().unwrap_or_default(),
            f["message"].as_str().unwrap_or_default()
        )
    };
    let mut files: Vec<String> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let mut findings: Vec<String> = f["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(finding)
                .collect();
            findings.sort();
            format!(
                "{} {} {} {} {}\n  {}",
                f["sha256"].as_str().unwrap_or_default(),
                f["template"].as_str().unwrap_or_default(),
                f["organisation"].as_str().unwrap_or_default(),
                f["status"].as_str().unwrap_or_default(),
                f["counts"],
                findings.join("\n  ")
            )
        })
        .collect();
    files.sort();
    let mut batch: Vec<String> = report["batch"].as_array().expect("batch").iter().map(finding).collect();
    batch.sort();
    (files, batch)
}

/// The first sheet of a workbook, row by row, cells joined by « | ».
fn first_sheet(bytes: &[u8]) -> Vec<String> {
    use calamine::Reader;
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx");
    let range = wb.worksheet_range("Synthèse").expect("Synthèse");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("|")
                .trim_end_matches('|')
                .to_string()
        })
        .collect()
}

/// Issue 22: a campaign made with the form only (an error corrected without
/// typing anything again), another organisation's return sent by a link
/// (flagged, counted apart, told at once), a decision, and the export zip
/// compared with `bilan batch --campagne` run on the same files.
#[tokio::test]
async fn a_campaign_from_the_form_a_wrong_organisation_and_an_export_equal_to_bilan_batch() {
    let Some(visit) = visit().await else {
        return;
    };
    let (c, base) = (visit.client.clone(), visit.base.clone());
    login(&c, &base).await;

    // The form, with a mistake in the date and a decision added on the way.
    const ARTOIS: &str = "Communauté d'Agglomération Artois Comm";
    let expected = format!("BILAN-POLE;I-TRANS\nBILAN-POLE;MAUD\nBILAN-PLDE;{ARTOIS}\nBILAN-PLDE;Boulonnais");
    type_in(&c, "nom", "Bilan SRDE 2009 (formulaire)").await;
    type_in(&c, "exercice", "2009").await;
    type_in(&c, "date_arrete", "2010-31-03").await;
    type_in(&c, "attendus", &expected).await;
    c.find(Locator::Id("regle"))
        .await
        .expect("rules")
        .select_by_value("PROG-OBJ-001")
        .await
        .expect("rule chosen");
    type_in(&c, "parametres", "seuil_pct = 40").await;
    type_in(&c, "motif", "Année de crise : seuil abaissé").await;
    click(&c, "button[formaction$='ajouter=1']").await;
    let decisions = shown_text(&c, "ul.decisions").await;
    assert!(
        decisions.contains("PROG-OBJ-001 : seuil_pct = 40 — Année de crise"),
        "{decisions}"
    );
    assert_eq!(value_of(&c, "nom").await, "Bilan SRDE 2009 (formulaire)", "kept");
    click(&c, "#creer").await;
    let errors = shown_text(&c, ".erreurs-formulaire").await;
    assert!(
        errors.contains("Date d'arrêté « 2010-31-03 » : écrivez-la jj/mm/aaaa"),
        "{errors}"
    );
    assert!(!errors.contains("TOML") && !errors.contains("détail"), "{errors}");
    // Everything typed is still there: only the date is corrected.
    assert_eq!(value_of(&c, "nom").await, "Bilan SRDE 2009 (formulaire)");
    assert_eq!(value_of(&c, "exercice").await, "2009");
    assert_eq!(value_of(&c, "attendus").await, expected);
    assert!(text_of(&c, "ul.decisions").await.contains("PROG-OBJ-001"));
    audit(&c, "campaign form with an error").await;
    screenshot(&c, "web-campagne-formulaire.png", 1500).await;
    type_in(&c, "date_arrete", "31/03/2010").await;
    click(&c, "#creer").await;
    wait_for(&c, "table.tableau").await;
    let dashboard_url = c.current_url().await.expect("url").to_string();
    let counters = text_of(&c, ".compteurs").await;
    assert!(
        counters.contains("4\nattendus") || counters.contains("4 attendus"),
        "{counters}"
    );
    let rules = text_of(&c, "main").await;
    assert_eq!(
        rules.matches("PROG-OBJ-001").count(),
        1,
        "each campaign rule once: {rules}"
    );
    let (itrans, maud, artois) = (
        deposit_link(&c, "I-TRANS").await,
        deposit_link(&c, "MAUD").await,
        deposit_link(&c, ARTOIS).await,
    );

    // MAUD's return through I-TRANS's link: stored, told at once, never I-TRANS's.
    let receipt = send(&c, &itrans, "pole-maud-conforme.xlsx").await;
    assert!(receipt.contains("a bien été reçu par la Région le"), "{receipt}");
    assert!(receipt.contains("(envoi n° 1)"), "{receipt}");
    assert!(receipt.contains("n'est pas le retour attendu"), "{receipt}");
    let warning = text_of(&c, "article.envoi .alerte").await;
    assert!(warning.contains("retour BILAN-POLE de « MAUD »"), "{warning}");
    assert!(text_of(&c, "article.envoi h3").await.starts_with("Envoi n° 1 du "));
    screenshot(&c, "web-depot.png", 1300).await;
    send(&c, &maud, "pole-maud-montants-vides-conforme.xlsx").await;
    send(&c, &artois, "plde-artois-comm-total-different-des-parts.xlsx").await;

    // A decision on Artois' return.
    c.goto(&dashboard_url).await.expect("dashboard");
    let mut artois_page = String::new();
    for a in c.find_all(Locator::Css("table.tableau th a")).await.expect("rows") {
        if a.text().await.expect("text") == ARTOIS {
            artois_page = a.attr("href").await.expect("href").expect("a link");
        }
    }
    c.goto(&format!("{base}{artois_page}")).await.expect("return page");
    click(&c, "input[value='a_corriger']").await;
    type_in(&c, "commentaire", "Les parts ne font pas le total : à revoir").await;
    click(&c, "form[action$='/decision'] button").await;
    wait_for(&c, "p.decision").await;

    // The dashboard: « à vérifier », counted apart; missing once; dates on one line.
    c.goto(&dashboard_url).await.expect("dashboard");
    let rows = c.find_all(Locator::Css("table.tableau tbody tr")).await.expect("rows");
    let mut by_org = std::collections::BTreeMap::new();
    for r in rows {
        let text = r.text().await.expect("text");
        let org = r
            .find(Locator::Css("th"))
            .await
            .expect("organisation")
            .text()
            .await
            .expect("text");
        by_org.insert(org, text);
    }
    assert!(
        by_org["I-TRANS"].contains("À vérifier : autre organisation"),
        "{by_org:?}"
    );
    assert!(!by_org["I-TRANS"].contains("Conforme"), "{by_org:?}");
    assert!(by_org["Boulonnais"].contains("Manquant"), "{by_org:?}");
    assert_eq!(
        by_org["Boulonnais"].to_lowercase().matches("manquant").count(),
        1,
        "{by_org:?}"
    );
    assert!(
        !by_org["Boulonnais"].contains('0'),
        "no zero counts for a missing return: {by_org:?}"
    );
    let date = regex_like_date(&by_org["MAUD"]);
    assert!(date, "a French date and time: {by_org:?}");
    let counters = text_of(&c, ".compteurs").await.replace('\n', " ");
    assert!(counters.contains("1 à vérifier"), "{counters}");
    assert!(counters.contains("1 conformes"), "only MAUD's own return: {counters}");
    assert!(counters.contains("1 manquants"), "{counters}");
    audit(&c, "dashboard with a flagged return").await;
    screenshot(&c, "web-tableau.png", 1100).await;
    // 400 px wide: nothing scrolls sideways.
    c.set_window_size(400, 1400).await.expect("narrow window");
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .expect("measured");
    let wide = c
        .execute(
            "var w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('body *')).filter(function (e) { return e.getBoundingClientRect().right > w + 1; }).slice(0, 8).map(function (e) { return e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + '/' + w; }).join(', ');",
            vec![],
        )
        .await
        .expect("measured");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(docs("web-tableau-etroit.png"), png).expect("screenshot saved");
    assert!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "sideways scroll at 400 px: {overflow} ({wide})"
    );
    c.set_window_size(1280, 1000).await.expect("window size");

    // The export: one zip with synthese.xlsx, rapport.json and annotes/.
    let campaign = dashboard_url.rsplit('/').next().expect("campaign id").to_string();
    let zip = unzip(&download(&c, &format!("{base}/campagnes/{campaign}/export.zip")).await);
    let web: serde_json::Value = serde_json::from_slice(&zip["rapport.json"]).expect("rapport.json");
    for f in web["files"].as_array().expect("files") {
        let annotated = f["annotated_report"].as_str().expect("an annotated workbook");
        assert!(
            zip.contains_key(annotated),
            "« ouvrir » points into the zip: {annotated}"
        );
    }

    // `bilan batch --campagne` on the same files, with the campaign downloaded.
    let dir = tempfile::tempdir().expect("dir");
    let toml = download(&c, &format!("{base}/campagnes/{campaign}/campagne.toml")).await;
    std::fs::write(dir.path().join("campagne.toml"), &toml).expect("written");
    let csv = download(&c, &format!("{base}/campagnes/{campaign}/attendus.csv")).await;
    std::fs::write(dir.path().join("attendus.csv"), &csv).expect("written");
    let files = [
        "pole-maud-conforme.xlsx",
        "pole-maud-montants-vides-conforme.xlsx",
        "plde-artois-comm-total-different-des-parts.xlsx",
    ];
    for f in files {
        std::fs::copy(fixture(f), dir.path().join(f)).expect("copied");
    }
    let out = std::process::Command::new(worker_exe())
        .current_dir(dir.path())
        .args(["batch", "--campagne", "campagne.toml", "--out", "sortie"])
        .args(files)
        .output()
        .expect("bilan batch runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sortie/rapport.json")).expect("rapport.json"))
            .expect("JSON");
    assert_eq!(essentials(&web), essentials(&cli));
    let (_, batch) = essentials(&web);
    assert_eq!(
        batch.iter().filter(|b| b.starts_with("BATCH-002")).count(),
        2,
        "{batch:?}"
    );
    assert_eq!(
        batch.iter().filter(|b| b.starts_with("BATCH-001")).count(),
        1,
        "{batch:?}"
    );
    // The same campaign file (same SHA-256), the same decisions in force.
    use sha2::Digest;
    let sha = format!("{:x}", sha2::Sha256::digest(&toml));
    assert_eq!(web["campaign"]["sha256"], sha);
    assert_eq!(cli["campaign"]["sha256"], sha);
    assert_eq!(web["campaign"]["overrides"], cli["campaign"]["overrides"]);
    // Plus the reviewers' decisions.
    let reviews: Vec<(String, serde_json::Value)> = web["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["organisation"].as_str().unwrap_or_default().to_string(),
                f["review"]["decision"].clone(),
            )
        })
        .collect();
    assert!(
        reviews.contains(&(ARTOIS.to_string(), serde_json::json!("a_corriger"))),
        "{reviews:?}"
    );
    assert_eq!(reviews.iter().filter(|(_, d)| d.is_null()).count(), 2, "{reviews:?}");
    let web_sheet = first_sheet(&zip["synthese.xlsx"]);
    let cli_sheet = first_sheet(&std::fs::read(dir.path().join("sortie/synthese.xlsx")).expect("synthese"));
    assert_eq!(web_sheet[2], cli_sheet[2], "the same count of files checked");
    assert!(web_sheet[4].ends_with("Décision de la Région"), "{}", web_sheet[4]);
    assert!(
        web_sheet
            .iter()
            .any(|r| r.contains("À corriger — « Les parts ne font pas le total : à revoir »")),
        "{web_sheet:?}"
    );
    let total = |sheet: &[String]| sheet.iter().find(|r| r.starts_with("TOTAL")).cloned();
    assert_eq!(total(&web_sheet), total(&cli_sheet));

    c.close().await.expect("session closed");
}

/// `07/12/2026 à 16:28` somewhere in the text.
fn regex_like_date(text: &str) -> bool {
    let digits = |s: Option<&str>, shape: &str| {
        s.is_some_and(|s| {
            s.len() == shape.len()
                && s.bytes()
                    .zip(shape.bytes())
                    .all(|(c, w)| if w == b'9' { c.is_ascii_digit() } else { c == w })
        })
    };
    text.match_indices(" à ").any(|(i, m)| {
        digits(i.checked_sub(10).and_then(|s| text.get(s..i)), "99/99/9999")
            && digits(text.get(i + m.len()..i + m.len() + 5), "99:99")
    })
}
