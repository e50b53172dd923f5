//! What must hold under attack (`web.md`, spec 3), at the HTTP boundary of a
//! desk on loopback: slow clients, login throttling, one-time links, accounts
//! and keys, the journal, session-bound CSRF, `__Host-` cookies, French errors.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::web::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A connection from another loopback address (so that the per-address cap
/// of the attacker does not touch the test's own requests from 127.0.0.1).
async fn connect_from(source: &str, to: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{source}:0").parse().expect("source address"))
        .expect("bind to another loopback address");
    socket.connect(to).await.expect("connect")
}

/// Reads until the server closes the connection (or `limit` passes); returns
/// what it said and whether it closed.
async fn read_until_closed(s: &mut tokio::net::TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < limit {
        match tokio::time::timeout(limit - start.elapsed(), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_are_cut_off_and_capped_per_address_while_others_are_served() {
    let desk = desk_with(|c| {
        c.net.header_timeout = Duration::from_secs(2);
        c.net.body_window = Duration::from_secs(2);
    })
    .await;
    let cap = desk.server.state.config.net.per_address;
    // Slowloris: headers started, never finished, from 127.0.0.2.
    let mut slow = Vec::new();
    for _ in 0..cap {
        let mut s = connect_from("127.0.0.2", desk.addr()).await;
        s.write_all(b"GET /api/sante HTTP/1.1\r\nHost: t\r\nX-Lent: ")
            .await
            .expect("partial head");
        slow.push(s);
    }
    // Beyond the cap: a French 503 at once, then closed.
    let mut extra = connect_from("127.0.0.2", desk.addr()).await;
    let _ = extra.write_all(b"GET /api/sante HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let (answer, closed) = read_until_closed(&mut extra, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Trop de connexions"), "{answer}");
    assert!(closed);
    // Everyone else is served meanwhile.
    let mut b = Browser::new(desk.addr());
    assert_eq!(b.get("/api/sante").await.status, 200);
    // The slow connections are closed once the header timeout has passed.
    for s in &mut slow {
        let (_, closed) = read_until_closed(s, Duration::from_secs(20)).await;
        assert!(closed, "a connection with unfinished headers stays open");
    }
    drop(slow);

    // A body that stops moving: the request ends and the connection closes.
    let mut s = connect_from("127.0.0.3", desk.addr()).await;
    let head = format!(
        "POST /api/controle HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 100000\r\n\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"lent.xlsx\"\r\n\r\nPK"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(20)).await;
    assert!(closed, "a stalled body keeps its connection: {answer}");
    assert!(!answer.contains("HTTP/1.1 2"), "{answer}");
    assert_eq!(std::fs::read_dir(desk.data().join("tmp")).expect("tmp").count(), 0);
    assert_eq!(b.get("/api/sante").await.status, 200);
}

async fn wrong_login(b: &mut Browser, login: &str) -> Resp {
    b.try_login(login, "pas le bon mot de passe").await
}

#[tokio::test]
async fn failed_logins_are_throttled_and_journaled() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    for _ in 0..5 {
        assert_eq!(wrong_login(&mut b, "relecteur").await.status, 401);
    }
    let r = wrong_login(&mut b, "relecteur").await;
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r.header("retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    assert!(r.text().contains("essais de connexion manqués"), "{}", r.text());
    // Even the right password waits now (the account is throttled).
    let r = b.try_login("relecteur", PASSWORD).await;
    assert_eq!(r.status, 429);
    let journal = desk.server.state.store.journal(100).expect("journal");
    let failures = journal.iter().filter(|e| e.action == "connexion échouée").count();
    assert_eq!(failures, 5, "{journal:?}");
    assert!(journal.iter().all(|e| e.address == "127.0.0.1"), "{journal:?}");
    assert!(journal.iter().any(|e| e.action == "connexion refusée"));
}

fn config_for(data: &std::path::Path, password: Option<&str>) -> bilan::web::Config {
    let mut c = config(data);
    c.admin_password = password.map(str::to_string);
    c
}

fn link_path(link: &str) -> String {
    let i = link.find("/initialisation/").expect("a set-up link");
    link[i..].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_time_link_works_once_even_under_concurrent_posts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(config_for(&dir.path().join("d"), None)).await;
    let path = link_path(server.setup_link.as_deref().expect("first start prints a link"));
    // Eight browsers open the link, then all post at once.
    let mut ready = Vec::new();
    for _ in 0..8 {
        let mut b = Browser::new(server.addr);
        let csrf = b.csrf(&path).await;
        ready.push((b, csrf));
    }
    let mut tasks = Vec::new();
    for (i, (mut b, csrf)) in ready.into_iter().enumerate() {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let pw = format!("mot-de-passe-numero-{i}");
            let r = b
                .post_form(&path, &[("csrf", &csrf), ("mot_de_passe", &pw), ("confirmation", &pw)])
                .await;
            (r.status, pw)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (status, pw) = t.await.expect("task");
        assert!(status == 303 || status == 403, "{status}");
        if status == 303 {
            winners.push(pw);
        }
    }
    assert_eq!(winners.len(), 1, "the link was used {} times", winners.len());
    // The winner's password is the one that works.
    let mut b = Browser::new(server.addr);
    let csrf = b.csrf("/connexion").await;
    let r = b
        .post_form(
            "/connexion",
            &[
                ("csrf", &csrf),
                ("identifiant", "relecteur"),
                ("mot_de_passe", &winners[0]),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn an_old_set_up_link_dies_when_the_password_is_set_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("d");
    let first = start(config_for(&data, None)).await;
    let path = link_path(first.setup_link.as_deref().expect("a link"));
    first.stop().await;
    // Restart with BILAN_ADMIN_PASSWORD: the printed link must not work any more.
    let second = start(config_for(&data, Some(PASSWORD))).await;
    let mut attacker = Browser::new(second.addr);
    assert_eq!(attacker.get(&path).await.status, 403);
    let csrf = attacker.csrf("/connexion").await;
    let pw = "mot-de-passe-de-l-intrus";
    let r = attacker
        .post_form(&path, &[("csrf", &csrf), ("mot_de_passe", pw), ("confirmation", pw)])
        .await;
    assert_eq!(r.status, 403);
    let mut admin = Browser::new(second.addr);
    admin.login().await;
    second.stop().await;
}

#[tokio::test]
async fn a_short_admin_password_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = config_for(&dir.path().join("d"), Some("a"));
    match try_start(c).await {
        Ok(_) => panic!("BILAN_ADMIN_PASSWORD=a accepted"),
        Err(e) => assert!(e.message().contains("au moins 12 caractères"), "{}", e.message()),
    }
}

/// The path of the one-time link shown on the accounts page after a creation.
fn shown_link(page: &str) -> String {
    let i = page.find("/initialisation/").expect("a link on the page");
    page[i..i + "/initialisation/".len() + 64].to_string()
}

fn shown_key(page: &str) -> String {
    let needle = "(elle ne sera plus affichée) : <code class=\"lien-long\">";
    let i = page.find(needle).expect("a new key") + needle.len();
    page[i..i + 64].to_string()
}

#[tokio::test]
async fn accounts_keys_and_the_journal() {
    let desk = desk().await;
    let mut admin = Browser::new(desk.addr());
    admin.login().await;
    let campaign = admin.create_campaign(CAMPAIGN, "BILAN-POLE;I-TRANS").await;

    // An administrator creates a reviewer account: a one-time link for its password.
    let csrf = admin.csrf("/comptes").await;
    let r = admin
        .post_form("/comptes", &[("csrf", &csrf), ("identifiant", "agnes")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let link = shown_link(&r.text());
    let mut agnes = Browser::new(desk.addr());
    let csrf = agnes.csrf(&link).await;
    let pw = "le-mot-de-passe-d-agnes";
    let r = agnes
        .post_form(&link, &[("csrf", &csrf), ("mot_de_passe", pw), ("confirmation", pw)])
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let csrf = agnes.csrf("/connexion").await;
    let r = agnes
        .post_form(
            "/connexion",
            &[("csrf", &csrf), ("identifiant", "agnes"), ("mot_de_passe", pw)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    // Not an administrator.
    assert_eq!(agnes.get("/comptes").await.status, 403);
    assert_eq!(agnes.get("/journal").await.status, 403);

    // Her decision shows her name.
    let page = agnes.get(&format!("/campagnes/{campaign}")).await.text();
    let i = page.find("/retours/").expect("a return link");
    let ret: String = page[i..].chars().take_while(|c| *c != '"').collect();
    let csrf = agnes.csrf(&ret).await;
    let r = agnes
        .post_form(
            &format!("{ret}/decision"),
            &[
                ("csrf", &csrf),
                ("decision", "a_corriger"),
                ("commentaire", "Il manque le retour."),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        admin.get(&ret).await.text().contains("agnes"),
        "the decision shows who made it"
    );

    // A named API key, listed, usable.
    let csrf = agnes.csrf("/cles-api").await;
    let r = agnes
        .post_form("/cles-api", &[("csrf", &csrf), ("nom", "script de suivi")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let key = shown_key(&r.text());
    assert!(agnes.get("/cles-api").await.text().contains("script de suivi"));
    let api = format!("/api/campagnes/{campaign}");
    let mut script = Browser::new(desk.addr());
    let bearer = [("authorization", format!("Bearer {key}"))];
    assert_eq!(script.send("GET", &api, &bearer, Vec::new()).await.status, 200);

    // Disabling the account ends its session and its key at once.
    let accounts = desk.server.state.store.accounts().expect("accounts");
    let id = accounts
        .iter()
        .find(|a| a.login == "agnes")
        .map(|a| a.id)
        .expect("agnes");
    let csrf = admin.csrf("/comptes").await;
    let r = admin
        .post_form(&format!("/comptes/{id}/desactiver"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(agnes.get("/campagnes").await.status, 303, "her session is over");
    assert_eq!(script.send("GET", &api, &bearer, Vec::new()).await.status, 401);

    // An administrator's own key, revoked.
    let csrf = admin.csrf("/cles-api").await;
    let r = admin.post_form("/cles-api", &[("csrf", &csrf), ("nom", "essai")]).await;
    let key = shown_key(&r.text());
    let bearer = [("authorization", format!("Bearer {key}"))];
    assert_eq!(script.send("GET", &api, &bearer, Vec::new()).await.status, 200);
    let keys = desk.server.state.store.api_keys(None).expect("keys");
    let kid = keys.iter().find(|k| k.name == "essai").map(|k| k.id).expect("key");
    let csrf = admin.csrf("/cles-api").await;
    let r = admin
        .post_form(&format!("/cles-api/{kid}/revoquer"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(script.send("GET", &api, &bearer, Vec::new()).await.status, 401);

    // Everything is in the journal, shown to administrators.
    let journal = admin.get("/journal").await.text();
    for action in [
        "campagne créée",
        "compte créé",
        "mot de passe choisi",
        "décision",
        "clé d&#39;API créée",
        "compte désactivé",
        "clé d&#39;API révoquée",
    ] {
        assert!(
            journal.contains(action) || journal.contains(&action.replace("&#39;", "'")),
            "{action} missing from the journal"
        );
    }
    assert!(journal.contains("agnes") && journal.contains("127.0.0.1"));
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_the_session() {
    let desk = desk().await;
    let mut alice = Browser::new(desk.addr());
    alice.login().await;
    let mut bob = Browser::new(desk.addr());
    bob.login().await;
    let bobs = bob.csrf("/campagnes").await;
    // Alice's session with Bob's token: refused.
    let r = alice.post_form("/cles-api", &[("csrf", &bobs), ("nom", "volée")]).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // A cookie/field pair made up by the client: refused.
    let mut forger = Browser::new(desk.addr());
    let made_up = "ab".repeat(32);
    forger.cookies.insert("bilan_csrf".into(), made_up.clone());
    let r = forger
        .post_form(
            "/connexion",
            &[
                ("csrf", &made_up),
                ("identifiant", "relecteur"),
                ("mot_de_passe", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
}

#[tokio::test]
async fn cookies_use_the_host_prefix_over_https() {
    let desk = desk_with(|c| {
        c.secure_cookies = true;
        c.public_url = Some("https://bilan.exemple.fr".into());
    })
    .await;
    let mut b = Browser::new(desk.addr());
    let r = b.get("/connexion").await;
    let cookie = r.header("set-cookie");
    assert!(cookie.starts_with("__Host-bilan_csrf="), "{cookie}");
    assert!(cookie.contains("; Path=/") && cookie.contains("; Secure") && !cookie.contains("Domain"));
    let r = b.try_login("relecteur", PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.header("set-cookie").starts_with("__Host-bilan_session="));
    // The plain names are not read over HTTPS.
    let mut plain = Browser::new(desk.addr());
    let session = b.cookies.get("__Host-bilan_session").cloned().expect("session");
    plain.cookies.insert("bilan_session".into(), session);
    assert_eq!(plain.get("/campagnes").await.status, 303);
}

#[tokio::test]
async fn api_errors_are_french_json_and_site_errors_french_pages() {
    let desk = desk().await;
    let mut reviewer = Browser::new(desk.addr());
    reviewer.login().await;
    let campaign = reviewer.create_campaign(CAMPAIGN, "BILAN-POLE;I-TRANS").await;
    let token = reviewer.tokens(campaign).await.remove(0);
    let mut b = Browser::new(desk.addr());
    let cases = [
        ("/api/controle".to_string(), "text/plain", b"bonjour".to_vec()),
        ("/api/controle".to_string(), "multipart/form-data", b"--x\r\n".to_vec()),
        (format!("/api/depots/{token}"), "application/json", b"{}".to_vec()),
        (format!("/api/depots/{token}"), "", b"fichier".to_vec()),
    ];
    for (path, kind, body) in cases {
        let headers = if kind.is_empty() {
            Vec::new()
        } else {
            vec![("content-type", kind.to_string())]
        };
        let r = b.send("POST", &path, &headers, body).await;
        assert!((400..500).contains(&r.status), "{path} {kind}: {}", r.status);
        assert!(
            r.header("content-type").starts_with("application/json"),
            "{path} {kind}: {}",
            r.text()
        );
        let message = r.json()["message"].as_str().unwrap_or_default().to_string();
        assert!(
            message.contains("multipart/form-data") && message.contains("champ « fichier »"),
            "{message}"
        );
    }
    // A method the API does not have.
    let r = b.send("DELETE", "/api/sante", &[], Vec::new()).await;
    assert_eq!(r.status, 405);
    assert!(r.json()["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Méthode non autorisée"));
    // On the site: French pages.
    let r = reviewer.get("/campagnes/pas-un-nombre").await;
    assert_eq!(r.status, 400);
    assert!(r.header("content-type").starts_with("text/html"));
    assert!(r.text().contains("Demande mal formée"), "{}", r.text());
    let r = reviewer
        .send(
            "POST",
            "/connexion",
            &[("content-type", "application/json".to_string())],
            b"{}".to_vec(),
        )
        .await;
    assert!(r.text().contains("lang=\"fr\""), "{}", r.text());
}

#[tokio::test]
async fn a_form_with_too_many_or_too_long_text_fields_is_refused() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    let long = "a".repeat(64 * 1024 + 1);
    let r = b.post_multipart("/api/controle", &[("note", &long)], &[]).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json()["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Formulaire trop volumineux"));
    let names: Vec<String> = (0..11).map(|i| format!("champ{i}")).collect();
    let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
    let r = b.post_multipart("/api/controle", &fields, &[]).await;
    assert_eq!(r.status, 413, "{}", r.text());
}

#[tokio::test]
async fn a_campaign_parameter_out_of_range_is_refused_in_french_on_the_desk() {
    let desk = desk().await;
    let mut b = Browser::new(desk.addr());
    b.login().await;
    let csrf = b.csrf("/campagnes").await;
    let toml = "nom = \"x\"\n[regles.\"PROG-OBJ-001\"]\nparametres = { seuil_pct = 1e300 }\n";
    let r = b
        .post_multipart(
            "/campagnes",
            &[("csrf", &csrf), ("campagne", toml), ("attendus", "")],
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let page = r.text();
    assert!(
        page.contains("seuil_pct") && page.contains("trop grand pour une règle"),
        "{page}"
    );
    assert!(!page.contains("Function not found"), "{page}");
    assert!(desk.server.state.store.campaigns().expect("campaigns").is_empty());
}
