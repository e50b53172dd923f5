//! Load benchmark of the web desk, loopback only and bounded in time: 8
//! concurrent clients send the fixtures to `POST /api/controle` for 30 s
//! (`BILAN_BENCH_SECONDS` to change it). Prints the throughput, p50/p95/max
//! latency and the memory of the server and its reader processes (resident
//! set, sampled every 250 ms), at the start, the middle and the end, so that a
//! leak would show.
//!
//! `cargo bench --bench web_load`

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const CLIENTS: usize = 8;
const BOUNDARY: &str = "----bilanBench";

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    [
        "pole-itrans-cout-total-different-des-financeurs.xlsx",
        "pole-maud-conforme.xlsx",
        "plde-artois-comm-total-different-des-parts.xlsx",
        "plde-boulonnais-conforme.xlsx",
        "programme-prda-2009-creations-sous-la-moitie-de-l-objectif.xlsx",
        "feder-axe1-2009-conforme.xlsx",
    ]
    .iter()
    .map(|n| (n.to_string(), std::fs::read(dir.join(n)).unwrap_or_default()))
    .filter(|(_, b)| !b.is_empty())
    .collect()
}

fn body(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut b =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{name}\"\r\n\r\n")
            .into_bytes();
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// Resident memory (kB) of a process, from /proc.
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The server process and its reader processes (children), resident kB.
fn tree_rss_kb() -> (u64, u64) {
    let me = std::process::id();
    let mut children = 0;
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit(')').next().map(str::to_string))
                .and_then(|rest| rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()));
            if parent == Some(me) {
                children += rss_kb(pid);
            }
        }
    }
    (rss_kb(me), children)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let seconds: u64 = std::env::var("BILAN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = bilan::web::Config::new("127.0.0.1:0".parse().expect("addr"), dir.path().join("donnees"));
        config.admin_password = Some("banc-d-essai-mot-de-passe".into());
        let worker = PathBuf::from(env!("CARGO_BIN_EXE_bilan"));
        config.worker_exe = Some(worker.clone());
        let checker = bilan::web::default_checker(Some(worker), config.max_file_size).expect("checker");
        let workers = config.workers;
        let server = bilan::web::start(config, checker).await.expect("server");
        let url = format!("http://{}/api/controle", server.addr);
        let files = Arc::new(fixtures());
        let latencies = Arc::new(Mutex::new(Vec::<(Duration, usize)>::new()));
        let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));

        // Memory sampler.
        let samples = Arc::new(Mutex::new(Vec::<(Duration, u64, u64)>::new()));
        let start = Instant::now();
        let sampler = {
            let (samples, stop) = (Arc::clone(&samples), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let (me, kids) = tree_rss_kb();
                    if let Ok(mut s) = samples.lock() {
                        s.push((start.elapsed(), me, kids));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        };

        let deadline = start + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for client_no in 0..CLIENTS {
            let (url, files, latencies, errors, busy) = (
                url.clone(),
                Arc::clone(&files),
                Arc::clone(&latencies),
                Arc::clone(&errors),
                Arc::clone(&busy),
            );
            tasks.push(tokio::spawn(async move {
                let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
                let mut i = client_no;
                while Instant::now() < deadline {
                    let (name, bytes) = &files[i % files.len()];
                    i += 1;
                    let req = hyper::Request::post(&url)
                        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                        .body(Full::new(Bytes::from(body(name, bytes))))
                        .expect("request");
                    let t = Instant::now();
                    match client.request(req).await {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            let _ = resp.into_body().collect().await;
                            match status {
                                200 => {
                                    if let Ok(mut l) = latencies.lock() {
                                        l.push((t.elapsed(), bytes.len()));
                                    }
                                }
                                503 => {
                                    busy.fetch_add(1, Ordering::SeqCst);
                                }
                                _ => {
                                    errors.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::SeqCst);
        let _ = sampler.await;

        let lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
        let mut sorted: Vec<Duration> = lat.iter().map(|(d, _)| *d).collect();
        sorted.sort();
        let itrans: Vec<Duration> = {
            let mut v: Vec<Duration> = lat
                .iter()
                .filter(|(_, size)| *size == files[0].1.len())
                .map(|(d, _)| *d)
                .collect();
            v.sort();
            v
        };
        let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
        let peak_server = samples.iter().map(|s| s.1).max().unwrap_or(0);
        let peak_total = samples.iter().map(|s| s.1 + s.2).max().unwrap_or(0);
        let at = |frac: f64| {
            let t = elapsed.mul_f64(frac);
            samples
                .iter()
                .min_by_key(|s| (s.0.as_millis() as i128 - t.as_millis() as i128).abs())
                .map(|s| (s.1 + s.2) / 1024)
                .unwrap_or(0)
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("bilan serve — charge en boucle locale : {CLIENTS} clients, {:.1} s, {workers} lecteurs isolés", elapsed.as_secs_f64());
        println!(
            "contrôles réussis : {} ({:.1} par seconde) ; serveur occupé (503) : {} ; erreurs : {}",
            sorted.len(),
            sorted.len() as f64 / elapsed.as_secs_f64(),
            busy.load(Ordering::SeqCst),
            errors.load(Ordering::SeqCst)
        );
        println!(
            "latence, tous fichiers : p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.95)),
            ms(sorted.last().copied().unwrap_or_default())
        );
        println!(
            "latence, retour I-TRANS seul : p50 {:.0} ms, p95 {:.0} ms ({} contrôles)",
            ms(percentile(&itrans, 0.5)),
            ms(percentile(&itrans, 0.95)),
            itrans.len()
        );
        println!(
            "mémoire résidente : serveur au plus {} Mo ; serveur + lecteurs au plus {} Mo ; à 10 % / 50 % / 100 % du temps : {} / {} / {} Mo",
            peak_server / 1024,
            peak_total / 1024,
            at(0.1),
            at(0.5),
            at(1.0)
        );
        server.stop().await;
    });
}
