//! `bilan serve`: the campaign desk in the browser (`spec/web.md`).
//!
//! One more front door on the same engine: handlers parse the request, call the
//! library, and render one template per page. [`store`] holds all SQL,
//! [`engine`] the checker and the bounded queue, [`upload`] the streamed
//! uploads, [`auth`] sessions and CSRF, [`view`] what a page shows of a finding.

pub mod auth;
pub mod campaign_form;
pub mod engine;
pub mod error;
pub mod export;
pub mod net;
pub mod pages;
mod routes;
pub mod service;
pub mod store;
pub mod upload;
pub mod view;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::job::Checker;
pub use engine::{default_checker, load_checker};
pub use error::WebError;
use store::Store;

/// How the desk runs (`bilan serve` options).
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data: PathBuf,
    /// `--sans-autocontrole`: no self-check page.
    pub self_check: bool,
    /// Largest file accepted (bytes).
    pub max_file_size: u64,
    /// Files checked at once (one isolated reader each).
    pub workers: usize,
    /// Files waiting for a reader before "serveur occupé".
    pub queue: usize,
    /// `BILAN_ADMIN_PASSWORD`.
    pub admin_password: Option<String>,
    /// A campaign file to create at start if no campaign has its name yet.
    pub campaign_file: Option<PathBuf>,
    /// Address shown in printed links (`http://127.0.0.1:8080`).
    pub public_url: Option<String>,
    /// Cookies marked `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// The program run as isolated worker (`bilan __worker`); `None`: this program.
    pub worker_exe: Option<PathBuf>,
    /// Slow-client timeouts and connections per address (spec values).
    pub net: net::NetLimits,
    /// The reverse proxy whose `X-Forwarded-For` names the client (`--proxy`).
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// Total bytes of annotated workbooks of self-checks kept in memory.
    pub cache_bytes: usize,
}

impl Config {
    pub fn new(bind: SocketAddr, data: PathBuf) -> Self {
        Self {
            bind,
            data,
            self_check: true,
            max_file_size: 50 * 1_000_000,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8),
            queue: 32,
            admin_password: None,
            campaign_file: None,
            public_url: None,
            secure_cookies: false,
            worker_exe: None,
            net: net::NetLimits::default(),
            trusted_proxy: None,
            cache_bytes: 256 * 1_000_000,
        }
    }
}

/// Annotated workbooks of self-checks, kept in memory for an hour (never on
/// disk), under an unguessable key; at most `max_bytes` in all (the oldest
/// go first) and at most [`CACHE_MAX`] of them.
pub struct AnnotatedCache {
    entries: Mutex<HashMap<String, CacheEntry>>,
    max_bytes: usize,
}

/// When it was made, its download name, its bytes.
type CacheEntry = (Instant, String, Arc<Vec<u8>>);

const CACHE_TTL: Duration = Duration::from_secs(3600);
pub const CACHE_MAX: usize = 200;

impl AnnotatedCache {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_bytes,
        }
    }

    /// Keeps a workbook; `None` when it alone is larger than the whole cache.
    pub fn put(&self, name: String, bytes: Vec<u8>) -> Result<Option<String>, WebError> {
        if bytes.len() > self.max_bytes {
            return Ok(None);
        }
        let key = auth::random_token()?;
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|_, (at, _, _)| at.elapsed() < CACHE_TTL);
            let mut total: usize = map.values().map(|(_, _, b)| b.len()).sum();
            while !map.is_empty() && (map.len() >= CACHE_MAX || total + bytes.len() > self.max_bytes) {
                let Some(oldest) = map.iter().min_by_key(|(_, (at, _, _))| *at).map(|(k, _)| k.clone()) else {
                    break;
                };
                if let Some((_, _, b)) = map.remove(&oldest) {
                    total -= b.len();
                }
            }
            map.insert(key.clone(), (Instant::now(), name, Arc::new(bytes)));
        }
        Ok(Some(key))
    }

    pub fn get(&self, key: &str) -> Option<(String, Arc<Vec<u8>>)> {
        let map = self.entries.lock().ok()?;
        map.get(key)
            .filter(|(at, _, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, n, b)| (n.clone(), Arc::clone(b)))
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.entries
            .lock()
            .map(|m| m.values().map(|(_, _, b)| b.len()).sum())
            .unwrap_or(0)
    }
}

/// Everything the handlers share.
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub engine: engine::Engine,
    pub annotated: AnnotatedCache,
    /// Submissions being checked now (so that none is checked twice).
    pub in_flight: Mutex<HashSet<i64>>,
    /// Wakes the task that checks stored submissions.
    pub pending: Notify,
    /// Set when the server stops: results computed after that are not recorded.
    pub stopping: std::sync::atomic::AtomicBool,
    /// Failed logins per account and address.
    pub throttle: auth::Throttle,
    /// Password hashing, two at a time (argon2 takes 19 MB each).
    pub hashing: auth::Hasher,
}

pub type Shared = Arc<AppState>;

/// A running desk (for `serve` and for tests).
pub struct Server {
    pub addr: SocketAddr,
    pub state: Shared,
    /// The one-time link to set the reviewer password, if one was made.
    pub setup_link: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops accepting requests; results still being computed are dropped
    /// (their submissions stay `en_attente` and are checked at the next start).
    pub async fn stop(mut self) {
        self.state.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Requests still running (a check) get a few seconds, then are dropped.
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }

    /// Runs until the server ends (Ctrl-C handled by the caller).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Why the desk cannot listen on `bind`, and what to do, in French.
pub fn bind_failure(bind: SocketAddr, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            let other = SocketAddr::new(bind.ip(), bind.port().wrapping_add(1).max(1024));
            format!(
                "le port {} est déjà utilisé par un autre programme (un autre « bilan serve » ?) : arrêtez-le, ou choisissez un autre port avec --bind, par exemple « bilan serve --bind {other} »",
                bind.port()
            )
        }
        std::io::ErrorKind::PermissionDenied => format!(
            "permission refusée pour écouter sur {bind} (les ports sous 1024 sont réservés) : choisissez un autre port avec --bind, par exemple « bilan serve --bind {}:8080 »",
            bind.ip()
        ),
        _ => format!(
            "impossible d'écouter sur {bind} : {} ; vérifiez l'adresse donnée à --bind",
            error::io_fr(e)
        ),
    }
}

/// Opens the data folder, sets up the reviewer account, binds, and serves in
/// the background. `checker` is the engine (see [`default_checker`]).
pub async fn start(config: Config, checker: Checker) -> Result<Server, WebError> {
    let store = Store::open(&config.data)?;
    let setup = auth::first_start(&store, config.admin_password.as_deref())?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| WebError::BadRequest(bind_failure(config.bind, &e)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| WebError::Internal(format!("adresse inconnue : {}", error::io_fr(&e))))?;
    let mut config = config;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{addr}"));
    }
    let engine = engine::Engine::new(checker, config.workers, config.queue, config.worker_exe.clone());
    let cache_bytes = config.cache_bytes;
    let state = Arc::new(AppState {
        config,
        store,
        engine,
        annotated: AnnotatedCache::new(cache_bytes),
        in_flight: Mutex::new(HashSet::new()),
        pending: Notify::new(),
        stopping: std::sync::atomic::AtomicBool::new(false),
        throttle: auth::Throttle::default(),
        hashing: auth::Hasher::new(2),
    });
    if let Some(path) = state.config.campaign_file.clone() {
        service::campaigns::create_campaign_from_file(&state, &path)?;
    }
    let base = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let setup_link = setup.map(|token| format!("{base}/initialisation/{token}"));
    let app = routes::router(Arc::clone(&state));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let checker_task = tokio::spawn(service::submissions::check_pending_loop(Arc::clone(&state)));
    let (net_limits, trusted_proxy) = (state.config.net.clone(), state.config.trusted_proxy);
    let task = tokio::spawn(async move {
        net::serve(listener, app, net_limits, trusted_proxy, rx).await;
        checker_task.abort();
    });
    state.pending.notify_one();
    Ok(Server {
        addr,
        state,
        setup_link,
        shutdown: Some(tx),
        task,
    })
}

/// Large blocks (argon2's 19 MB, a received file) are mapped and unmapped on
/// their own instead of staying in the allocator's heaps: without this, glibc
/// raises its threshold after the first free and keeps every such block, and
/// a login flood leaves the server hundreds of MB larger.
fn release_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the
    // runtime starts its threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// `bilan serve`: starts the desk and serves until Ctrl-C / SIGTERM. Prints the
/// address and, on first start, the one-time link to set the reviewer password.
pub fn run(config: Config) -> Result<(), WebError> {
    release_large_allocations();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| WebError::Internal(format!("démarrage impossible : {}", error::io_fr(&e))))?;
    runtime.block_on(async move {
        let checker = default_checker(None, config.max_file_size)?;
        let data = config.data.clone();
        let server = start(config, checker).await?;
        eprintln!("bilan serve : guichet ouvert sur http://{}", server.addr);
        eprintln!("bilan serve : données dans {}", data.display());
        if let Some(link) = &server.setup_link {
            eprintln!("bilan serve : premier démarrage. Choisissez le mot de passe du premier administrateur, identifiant « relecteur » (lien à usage unique, valable 24 h) :");
            eprintln!("  {link}");
        }
        let stop = async {
            #[cfg(unix)]
            {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        };
        stop.await;
        eprintln!("bilan serve : arrêt ; les envois non contrôlés le seront au prochain démarrage.");
        server.stop().await;
        Ok(())
    })
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn the_annotated_cache_is_bounded_in_bytes_not_only_in_count() {
        let cache = AnnotatedCache::new(10_000);
        let mut keys = Vec::new();
        for i in 0..50 {
            keys.push(cache.put(format!("{i}.xlsx"), vec![0u8; 3_000]).ok().flatten());
            assert!(cache.bytes() <= 10_000, "{} bytes after {i}", cache.bytes());
        }
        // The newest is kept, the oldest are gone.
        assert!(cache.get(keys[49].as_deref().unwrap_or_default()).is_some());
        assert!(cache.get(keys[0].as_deref().unwrap_or_default()).is_none());
        // Larger than the whole cache: not kept at all.
        assert_eq!(cache.put("gros.xlsx".into(), vec![0u8; 10_001]).ok().flatten(), None);
    }
}
