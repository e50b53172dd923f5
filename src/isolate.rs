//! Reading untrusted workbooks in child processes.
//!
//! calamine can abort the whole process on hostile input (a huge allocation
//! request is not an error it can return, and `catch_unwind` cannot stop an
//! abort). So the CLI reads each file in a worker process — the `bilan` binary
//! started as `bilan __worker` — with an address-space limit (`RLIMIT_AS`) and a
//! per-file time budget. A worker reads many files in turn (one JSON request
//! and one JSON answer per line), so the cost of starting a process is paid once
//! per worker, not once per file. A worker that dies or runs out of time is
//! replaced, and its file gets BILAN-IO-001 or BILAN-IO-002.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::read::{read_path, LimitKind, Limits, ReadError, Workbook};

/// Limits of a worker process.
#[derive(Debug, Clone, Copy)]
pub struct WorkerLimits {
    /// Address space of a worker, in bytes (`RLIMIT_AS`).
    pub memory: u64,
    /// Time to read one file.
    pub timeout: Duration,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        Self {
            memory: 2 * 1024 * 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    path: PathBuf,
    limits: Limits,
}

#[derive(Debug, Serialize, Deserialize)]
enum Answer {
    Ok(Workbook),
    Err(ReadError),
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pool of worker processes, shared by the threads of a run.
pub struct Isolation {
    exe: PathBuf,
    limits: WorkerLimits,
    idle: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolation")
            .field("exe", &self.exe)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Isolation {
    /// Workers run `exe __worker` (`exe` is normally `std::env::current_exe()`).
    pub fn new(exe: PathBuf, limits: WorkerLimits) -> Self {
        Self {
            exe,
            limits,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn limits(&self) -> WorkerLimits {
        self.limits
    }

    fn spawn(&self) -> Result<Worker, ReadError> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("__worker")
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
                    Ok(())
                });
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ReadError::Crashed(format!("impossible de lancer le lecteur isolé : {e}")))?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(ReadError::Crashed("lecteur isolé sans canaux".into()));
        };
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match lines.read_line(&mut line) {
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
        Ok(Worker {
            child,
            stdin,
            answers,
            stderr: err_text,
        })
    }

    /// Reads `path` in a worker. Never panics; a worker that dies or hangs is
    /// replaced and the file gets a [`ReadError`].
    pub fn read(&self, path: &Path, limits: &Limits) -> Result<Workbook, ReadError> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut worker = match pooled {
            Some(w) => w,
            None => self.spawn()?,
        };
        let request = Request {
            path: path.to_path_buf(),
            limits: *limits,
        };
        let line = serde_json::to_string(&request).map_err(|e| ReadError::Crashed(e.to_string()))? + "\n";
        if worker
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| worker.stdin.flush())
            .is_err()
        {
            // The worker died while idle: start a fresh one once.
            worker = self.spawn()?;
            worker
                .stdin
                .write_all(line.as_bytes())
                .and_then(|_| worker.stdin.flush())
                .map_err(|e| ReadError::Crashed(format!("lecteur isolé injoignable : {e}")))?;
        }
        match worker.answers.recv_timeout(self.limits.timeout) {
            Ok(answer) => {
                let result = match serde_json::from_str::<Answer>(&answer) {
                    Ok(Answer::Ok(wb)) => Ok(wb),
                    Ok(Answer::Err(e)) => Err(e),
                    Err(e) => Err(ReadError::Crashed(format!("réponse illisible du lecteur isolé : {e}"))),
                };
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(worker);
                }
                result
            }
            Err(RecvTimeoutError::Timeout) => {
                let secs = self.limits.timeout.as_secs().max(1);
                drop(worker); // killed
                Err(ReadError::Limit {
                    kind: LimitKind::Time,
                    limit: secs,
                    actual: secs,
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.death(worker)),
        }
    }

    /// Why a worker died: out of memory (IO-002), or another crash (IO-001).
    fn death(&self, mut worker: Worker) -> ReadError {
        let status = worker.child.wait().ok();
        // Give the stderr reader a moment to drain the last message.
        std::thread::sleep(Duration::from_millis(20));
        let stderr = worker.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let out_of_memory = stderr.contains("memory allocation")
            || stderr.contains("capacity overflow")
            || stderr.contains("out of memory");
        if out_of_memory {
            let wanted = stderr
                .split("memory allocation of ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(self.limits.memory);
            return ReadError::Limit {
                kind: LimitKind::Memory,
                limit: self.limits.memory,
                actual: wanted.max(self.limits.memory),
            };
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
        ReadError::Crashed(how)
    }
}

/// The worker's side: answers read requests from stdin until it closes.
/// `BILAN_WORKER_FAULT=abort:TEXT|hang:TEXT|alloc:TEXT` makes the worker fail on
/// paths containing TEXT: a test hook for the isolation itself.
pub fn worker_main() -> i32 {
    let fault = std::env::var("BILAN_WORKER_FAULT").ok();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let answer = match serde_json::from_str::<Request>(&line) {
            Ok(req) => {
                inject_fault(fault.as_deref(), &req.path);
                match read_path(&req.path, &req.limits) {
                    Ok(wb) => Answer::Ok(wb),
                    Err(e) => Answer::Err(e),
                }
            }
            Err(e) => Answer::Err(ReadError::Crashed(format!("requête illisible : {e}"))),
        };
        let Ok(text) = serde_json::to_string(&answer) else {
            break;
        };
        if writeln!(stdout, "{text}").and_then(|_| stdout.flush()).is_err() {
            break;
        }
    }
    0
}

fn inject_fault(fault: Option<&str>, path: &Path) {
    let Some((kind, needle)) = fault.and_then(|f| f.split_once(':')) else {
        return;
    };
    if !path.to_string_lossy().contains(needle) {
        return;
    }
    match kind {
        "abort" => std::process::abort(),
        "hang" => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        "alloc" => {
            // Allocate and touch far more than any limit: the address-space
            // limit turns this into an allocation failure, hence an abort.
            let mut v: Vec<u8> = Vec::with_capacity(1 << 40);
            v.push(1);
            std::hint::black_box(&v);
        }
        _ => {}
    }
}
