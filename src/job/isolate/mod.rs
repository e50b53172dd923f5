//! Checking untrusted workbooks in child processes.
//!
//! calamine can abort the whole process on hostile input, and a large-but-legal
//! file can make extraction, rules or the annotated workbook need gigabytes. So
//! the whole per-file pipeline (read, extract, validate, rules, annotated
//! workbook) runs in a worker process — the `bilan` binary started as
//! `bilan __worker` — under an address-space limit (`RLIMIT_AS`) and a per-file
//! time budget. The parent receives only the file's report (findings, counts,
//! key figures, the cells of the terminal excerpts). A worker checks many files
//! in turn, so the cost of starting a process (and of compiling the rules) is
//! paid once per worker. A worker that dies or runs out of time is replaced,
//! and its file gets BILAN-IO-001 or BILAN-IO-002 naming the stage it reached.
//!
//! [`Isolation`] is a bounded pool shared by threads: at most as many workers
//! run at once as the total memory budget allows.
//!
//! Protocol (one JSON object per line): the parent sends a [`WorkerConfig`]
//! once, then per file a request (followed by the file's bytes for an upload);
//! the worker answers `S <stage>` lines as it goes, then `R <answer>`. The
//! worker's side is [`worker`].

pub mod worker;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::base::format::int_fr;
use crate::finding::{EngineRule, Finding};
use crate::job::spec::{Checked, Input, Job};
use crate::pipeline::check::{FileReport, Stage};
use crate::pipeline::read::Limits;

/// Address space of one worker by default: real returns need < 50 MB, the
/// largest legal file read about 360 MB; a hostile file stops here.
pub const DEFAULT_MEMORY: u64 = 512 * 1024 * 1024;
/// Accepted range of `--max-memory`.
pub const MEMORY_RANGE: (u64, u64) = (128 * 1024 * 1024, 64 * 1024 * 1024 * 1024);
/// Time for one file by default, and the accepted range of `--timeout` (seconds).
pub const DEFAULT_TIMEOUT: u64 = 60;
pub const TIMEOUT_RANGE: (u64, u64) = (1, 3600);

/// Time for a new worker to load the schemas and compile the rules.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Limits of the worker processes.
#[derive(Debug, Clone, Copy)]
pub struct WorkerLimits {
    /// Address space of a worker, in bytes (`RLIMIT_AS`).
    pub memory: u64,
    /// Time to check one file.
    pub timeout: Duration,
    /// Memory of all workers together: at most `total_memory / memory` run at once.
    pub total_memory: u64,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        Self {
            memory: DEFAULT_MEMORY,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT),
            total_memory: default_total_memory(),
        }
    }
}

/// Half of the machine's memory (at most 8 GB, at least 1 GB).
pub fn default_total_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(4 << 30, |kb| kb * 1024);
    (total / 2).clamp(1 << 30, 8 << 30)
}

/// What a worker needs to build its checker: the same schemas, rules, forced
/// template and reading limits as its parent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// `--rules DIR`, `--schemas DIR`, as the bytes of their paths.
    pub rules: Option<Vec<u8>>,
    pub schemas: Option<Vec<u8>>,
    pub template: Option<String>,
    pub limits: Limits,
    /// `--campagne`: the campaign file's path (bytes) and text, as the parent
    /// read and checked it.
    #[serde(default)]
    pub campaign: Option<(Vec<u8>, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum WireInput {
    /// The bytes of the path (any encoding).
    Path(Vec<u8>),
    /// An upload: `len` bytes follow the request line.
    Bytes { name: String, len: usize },
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) input: WireInput,
    pub(crate) job: Job,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Answer {
    pub(crate) report: FileReport,
    pub(crate) key_rows: Vec<Vec<serde_json::Value>>,
    pub(crate) annotated: Option<Result<(), String>>,
    pub(crate) extraction: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) cross: Option<serde_json::Value>,
}

// ---------------------------------------------------------------------------
// Interruption (SIGINT, SIGTERM).

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT or SIGTERM was received: runs stop between files, workers are killed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Marks the run as interrupted (what the signal handler does).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::Relaxed) {
        // A second signal: stop now.
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// For the binary: SIGINT/SIGTERM end the run cleanly (workers killed,
/// temporary files removed), and SIGXFSZ (`ulimit -f`) is a write error
/// instead of killing the process.
pub fn install_signal_handlers() {
    #[cfg(unix)]
    // SAFETY: installs a handler that only touches an atomic (and _exit).
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

// ---------------------------------------------------------------------------
// The parent's side: a bounded pool of workers.

struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Pool {
    idle: Vec<Worker>,
    busy: usize,
    /// Workers being started ahead of need ([`Isolation::warm_up`]): a file
    /// waits for one of them rather than starting another…
    warming: usize,
    /// …unless as many files already wait for them.
    claimed: usize,
}

/// A pool of worker processes, shared by the threads of a run (or a server).
pub struct Isolation {
    exe: PathBuf,
    limits: WorkerLimits,
    config: WorkerConfig,
    max_workers: usize,
    pool: Mutex<Pool>,
    freed: Condvar,
    /// Workers started so far (warm ones included).
    started: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolation")
            .field("exe", &self.exe)
            .field("limits", &self.limits)
            .field("max_workers", &self.max_workers)
            .finish()
    }
}

/// How a request ended, before it becomes a report.
enum Outcome {
    Answer(Box<Answer>),
    Timeout(Stage),
    Died(Stage, Worker),
    Interrupted,
    Failed(String),
}

impl Isolation {
    /// Workers run `exe __worker` (`exe` is normally `std::env::current_exe()`)
    /// with the built-in schemas and rules and the default reading limits.
    pub fn new(exe: PathBuf, limits: WorkerLimits) -> Self {
        Self::with_config(exe, limits, WorkerConfig::default())
    }

    /// Workers run `exe __worker` and check files as `config` says (schemas,
    /// rules, forced template, reading limits: see `run::load`).
    pub fn with_config(exe: PathBuf, limits: WorkerLimits, config: WorkerConfig) -> Self {
        let max_workers = (limits.total_memory / limits.memory.max(1)).max(1) as usize;
        Self {
            exe,
            limits,
            config,
            max_workers,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
            started: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub fn limits(&self) -> WorkerLimits {
        self.limits
    }

    /// How many worker processes were started so far.
    pub fn workers_started(&self) -> usize {
        self.started.load(Ordering::Relaxed)
    }

    /// What its workers are told to load.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// How many workers may run at once (the total memory budget over each one's).
    pub fn max_workers(&self) -> usize {
        self.max_workers
    }

    fn spawn(&self) -> Result<Worker, String> {
        self.start().and_then(Self::ready)
    }

    /// Starts a worker and gives it its configuration, without waiting for it
    /// to be ready. The thread that calls this must outlive the worker: the
    /// worker is killed when that thread ends (`PR_SET_PDEATHSIG`).
    fn start(&self) -> Result<Worker, String> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("__worker")
            // Few malloc arenas: each reserves address space that RLIMIT_AS counts.
            .env("MALLOC_ARENA_MAX", "2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let memory = self.limits.memory;
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe libc calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let as_limit = libc::rlimit {
                        rlim_cur: memory as libc::rlim_t,
                        rlim_max: memory as libc::rlim_t,
                    };
                    let no_core = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::setrlimit(libc::RLIMIT_AS, &as_limit);
                    libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                    // The worker ends with its parent, whatever kills the parent.
                    #[cfg(target_os = "linux")]
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    // Interrupts are the parent's to handle.
                    libc::signal(libc::SIGINT, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("impossible de lancer le processus de contrôle isolé : {e}"))?;
        self.started.fetch_add(1, Ordering::Relaxed);
        let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("processus de contrôle isolé sans canaux".into());
        };
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let err_text = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&err_text);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    if s.len() < 16_384 {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }
        });
        let config = serde_json::to_string(&self.config).map_err(|e| e.to_string())? + "\n";
        stdin
            .write_all(config.as_bytes())
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("processus de contrôle isolé injoignable : {e}"))?;
        Ok(Worker {
            child,
            stdin,
            lines,
            stderr: err_text,
        })
    }

    /// Waits until a started worker says it is ready.
    fn ready(worker: Worker) -> Result<Worker, String> {
        // Loading the schemas and compiling the rules is not a file's time:
        // wait until the worker says it is ready.
        match worker.lines.recv_timeout(READY_TIMEOUT) {
            Ok(line) if line.trim_end() == "P" => Ok(worker),
            _ => {
                let stderr = worker.stderr.lock().map(|s| s.clone()).unwrap_or_default();
                Err(format!(
                    "le processus de contrôle isolé n'a pas démarré{}",
                    if stderr.is_empty() {
                        String::new()
                    } else {
                        format!(" : {}", stderr.trim())
                    }
                ))
            }
        }
    }

    /// A worker for one file: waits while the pool is full.
    fn acquire(&self) -> Result<Worker, String> {
        let mut pool = self
            .pool
            .lock()
            .map_err(|_| "pool de processus inutilisable".to_string())?;
        while pool.busy >= self.max_workers {
            pool = self
                .freed
                .wait(pool)
                .map_err(|_| "pool de processus inutilisable".to_string())?;
        }
        pool.busy += 1;
        if pool.idle.is_empty() && pool.claimed < pool.warming {
            pool.claimed += 1;
            while pool.idle.is_empty() && pool.warming > 0 {
                pool = self
                    .freed
                    .wait(pool)
                    .map_err(|_| "pool de processus inutilisable".to_string())?;
            }
            pool.claimed -= 1;
        }
        let idle = pool.idle.pop();
        drop(pool);
        match idle {
            Some(w) => Ok(w),
            None => self.spawn().inspect_err(|_| self.release(None)),
        }
    }

    /// Starts one worker now, so that it loads the schemas and rules while
    /// this process loads its own (a single `check` then waits for one load,
    /// not two in a row); a background thread waits until it is ready. The
    /// first file takes it; a worker that fails to start is forgotten (the
    /// file starts its own and says why it could not). Called from a thread
    /// that lives as long as the run (the main thread): the worker ends with
    /// the thread that started it.
    pub fn warm_up(self: &Arc<Self>) {
        match self.pool.lock() {
            Ok(mut pool) if pool.idle.is_empty() && pool.warming == 0 => pool.warming += 1,
            _ => return,
        }
        let started = self.start();
        let this = Arc::clone(self);
        std::thread::spawn(move || {
            let worker = started.and_then(Self::ready).ok();
            if let Ok(mut pool) = this.pool.lock() {
                pool.warming = pool.warming.saturating_sub(1);
                pool.idle.extend(worker);
            }
            this.freed.notify_all();
        });
    }

    fn release(&self, worker: Option<Worker>) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.busy = pool.busy.saturating_sub(1);
            if let Some(w) = worker {
                pool.idle.push(w);
            }
        }
        // Files wait here for a free slot or for a worker being started.
        self.freed.notify_all();
    }

    /// Checks a file in a worker. Never panics: a worker that dies or runs out
    /// of time is replaced and the file gets its finding.
    pub fn process(&self, input: &Input, job: &Job) -> Checked {
        let shown = input.shown();
        let outcome = match self.acquire() {
            Ok(worker) => self.run(worker, input, job),
            Err(e) => Outcome::Failed(e),
        };
        let finding = match outcome {
            Outcome::Answer(a) => {
                let Answer {
                    report,
                    key_rows,
                    annotated,
                    extraction,
                    cross,
                } = *a;
                return Checked {
                    report,
                    key_rows,
                    annotated,
                    extraction,
                    cross,
                };
            }
            Outcome::Timeout(stage) => {
                let secs = self.limits.timeout.as_secs().max(1);
                let secs = format!("{} s", int_fr(secs as i128));
                limit_finding(stage, "durée du contrôle", &format!("plus de {secs}"), &secs, "--timeout")
            }
            Outcome::Died(stage, worker) => self.death(stage, worker),
            Outcome::Interrupted => Finding::engine(EngineRule::Io001,
                "Contrôle interrompu (signal d'arrêt reçu) : ce fichier n'a pas été contrôlé.",
            ),
            Outcome::Failed(e) => Finding::engine(EngineRule::Int001,
                format!("Le contrôle de ce fichier a échoué sur une erreur interne ({e}) ; les autres fichiers ont été contrôlés. Signalez ce fichier à l'équipe bilan."),
            ),
        };
        Checked {
            report: FileReport::failed(&shown, None, finding),
            key_rows: Vec::new(),
            // Not written: the caller writes this report's (see `Checker::process`).
            annotated: None,
            extraction: None,
            cross: None,
        }
    }

    fn send(worker: &mut Worker, input: &Input, job: &Job) -> std::io::Result<()> {
        let (wire, bytes) = match input {
            Input::Path(p) => (WireInput::Path(crate::output::path_to_bytes(p)), None),
            Input::Bytes { name, bytes } => (
                WireInput::Bytes {
                    name: name.clone(),
                    len: bytes.len(),
                },
                Some(bytes),
            ),
        };
        let request = Request {
            input: wire,
            job: job.clone(),
        };
        let line = serde_json::to_string(&request).map_err(std::io::Error::other)? + "\n";
        worker.stdin.write_all(line.as_bytes())?;
        if let Some(b) = bytes {
            worker.stdin.write_all(b)?;
        }
        worker.stdin.flush()
    }

    fn run(&self, mut worker: Worker, input: &Input, job: &Job) -> Outcome {
        if Self::send(&mut worker, input, job).is_err() {
            // The worker died while idle: start a fresh one once.
            drop(worker);
            worker = match self.spawn() {
                Ok(w) => w,
                Err(e) => {
                    self.release(None);
                    return Outcome::Failed(e);
                }
            };
            if let Err(e) = Self::send(&mut worker, input, job) {
                self.release(None);
                return Outcome::Failed(format!("processus de contrôle isolé injoignable : {e}"));
            }
        }
        let deadline = Instant::now() + self.limits.timeout;
        let mut stage = Stage::Read;
        loop {
            if interrupted() {
                drop(worker);
                self.release(None);
                return Outcome::Interrupted;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(worker); // killed
                self.release(None);
                return Outcome::Timeout(stage);
            }
            match worker.lines.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => {
                    if let Some(s) = line.strip_prefix("S ") {
                        if let Ok(s) = serde_json::from_str::<Stage>(s.trim()) {
                            stage = s;
                        }
                    } else if let Some(a) = line.strip_prefix("R ") {
                        return match serde_json::from_str::<Answer>(a) {
                            Ok(answer) => {
                                self.release(Some(worker));
                                Outcome::Answer(Box::new(answer))
                            }
                            Err(e) => {
                                drop(worker);
                                self.release(None);
                                Outcome::Failed(format!("réponse illisible du processus de contrôle : {e}"))
                            }
                        };
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.release(None);
                    return Outcome::Died(stage, worker);
                }
            }
        }
    }

    /// Why a worker died: out of memory (IO-002), or another crash (IO-001).
    fn death(&self, stage: Stage, mut worker: Worker) -> Finding {
        let status = worker.child.wait().ok();
        // Give the stderr reader a moment to drain the last message.
        std::thread::sleep(Duration::from_millis(20));
        let stderr = worker.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let out_of_memory = stderr.contains("memory allocation")
            || stderr.contains("capacity overflow")
            || stderr.contains("out of memory");
        if out_of_memory {
            let limit = self.limits.memory;
            let wanted = stderr
                .split("memory allocation of ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<u64>().ok());
            let figure = match wanted {
                Some(w) => format!(
                    "plus de {} octets (une demande de {} octets a été refusée)",
                    int_fr(limit as i128),
                    int_fr(w as i128)
                ),
                None => format!("plus de {} octets", int_fr(limit as i128)),
            };
            return limit_finding(
                stage,
                "mémoire nécessaire",
                &figure,
                &format!("{} octets", int_fr(limit as i128)),
                "--max-memory",
            );
        }
        let how = match status {
            #[cfg(unix)]
            Some(s) => {
                use std::os::unix::process::ExitStatusExt;
                match s.signal() {
                    Some(sig) => format!("signal {sig}"),
                    None => format!("code {}", s.code().unwrap_or(-1)),
                }
            }
            #[cfg(not(unix))]
            Some(s) => format!("code {}", s.code().unwrap_or(-1)),
            None => "arrêt inconnu".to_string(),
        };
        let message = if stage == Stage::Read {
            crate::base::format::capitalise(&crate::pipeline::read::ReadError::Crashed(how).to_string())
        } else {
            format!(
                "Le contrôle de ce fichier s'est arrêté brutalement à l'étape « {} » ({how}) : le fichier est probablement endommagé.",
                stage.label_fr()
            )
        };
        Finding::engine(EngineRule::Io001, message)
    }
}

/// BILAN-IO-002 for a limit of the worker: the stage, the limit, the figure and
/// the option that raises it.
fn limit_finding(stage: Stage, what: &str, figure: &str, limit: &str, option: &str) -> Finding {
    Finding::engine(
        EngineRule::Io002,
        format!(
            "Fichier hors limites à l'étape « {} » : {what} : {figure}, pour une limite de {limit}. \
             Si ce fichier est légitime, relancez avec une limite plus haute ({option}).",
            stage.label_fr()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_budget_bounds_the_workers_at_once() {
        let limits = |memory: u64, total: u64| WorkerLimits {
            memory,
            timeout: Duration::from_secs(1),
            total_memory: total,
        };
        let exe = PathBuf::from("bilan");
        assert_eq!(Isolation::new(exe.clone(), limits(512 << 20, 2 << 30)).max_workers(), 4);
        assert_eq!(Isolation::new(exe.clone(), limits(512 << 20, 1 << 30)).max_workers(), 2);
        // Never less than one.
        assert_eq!(Isolation::new(exe, limits(1 << 30, 1 << 29)).max_workers(), 1);
        assert!(default_total_memory() >= 1 << 30 && default_total_memory() <= 8 << 30);
    }
}
