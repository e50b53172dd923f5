//! How close `bilan`'s reader is to a raw calamine read (issue 17's floor).
//!
//! ```sh
//! cargo run --release --example read_floor -- [ROUNDS] [FILES…]
//! ```
//!
//! Reads every file (default: the fixtures' `.xlsx`, `.xls`, `.ods`, `.xlsb`)
//! ROUNDS times (default 20) from memory, one thread, three ways: calamine alone
//! (`open_workbook_auto_from_rs` + `worksheet_range` of every sheet: the floor),
//! `bilan::pipeline::read::read_bytes` without the looks (what a check needs: cells, merges,
//! number formats), and with the looks (what an annotated report needs).
//! `READ_FLOOR_ONLY=floor|check|report` runs one of them (for
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on the
//! load of the machine).

use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bilan::pipeline::read::{read_bytes, Limits};
use calamine::Reader;

fn fixtures() -> Vec<PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("formats")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension()
                    .is_some_and(|x| ["xlsx", "xls", "ods", "xlsb"].contains(&x.to_string_lossy().as_ref()))
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

fn raw(bytes: &[u8]) -> usize {
    let Ok(mut wb) = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)) else {
        return 0;
    };
    let mut n = 0;
    for name in wb.sheet_names() {
        if let Ok(r) = wb.worksheet_range(&name) {
            n += r.used_cells().count();
        }
    }
    n
}

fn time(rounds: usize, files: &[Vec<u8>], f: impl Fn(&[u8]) -> usize) -> (Duration, usize) {
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..rounds {
        for b in files {
            n += f(b);
        }
    }
    (t.elapsed(), n)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let mut paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
    if paths.is_empty() {
        paths = fixtures();
    }
    let files: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    let plain = Limits {
        read_styles: false,
        ..Limits::default()
    };
    let looks = Limits::default();
    let reads = rounds * files.len();
    // `READ_FLOOR_ONLY=floor|check|report`: one way only (for callgrind).
    if let Ok(only) = std::env::var("READ_FLOOR_ONLY") {
        let limits = if only == "report" { looks } else { plain };
        let (d, _) = match only.as_str() {
            "floor" => time(rounds, &files, raw),
            _ => time(rounds, &files, |b| {
                read_bytes(b, &limits).map(|w| w.sheets.len()).unwrap_or(0)
            }),
        };
        println!("{only}: {:.3} s for {reads} reads", d.as_secs_f64());
        return;
    }
    // Warm up.
    let _ = time(1, &files, raw);
    let (floor, cells) = time(rounds, &files, raw);
    let (check, _) = time(rounds, &files, |b| {
        read_bytes(b, &plain).map(|w| w.sheets.len()).unwrap_or(0)
    });
    let (report, _) = time(rounds, &files, |b| {
        read_bytes(b, &looks).map(|w| w.sheets.len()).unwrap_or(0)
    });
    let per = |d: Duration| d.as_secs_f64() * 1e6 / reads as f64;
    println!(
        "{} files × {rounds} rounds = {reads} reads ({cells} cells)",
        files.len()
    );
    println!("| read | total | per file | × floor |");
    println!("|---|---|---|---|");
    for (what, d) in [
        ("calamine alone (floor)", floor),
        ("bilan, cells + number formats", check),
        ("bilan, + looks for the report", report),
    ] {
        println!(
            "| {what} | {:.3} s | {:.0} µs | {:.2} |",
            d.as_secs_f64(),
            per(d),
            d.as_secs_f64() / floor.as_secs_f64()
        );
    }
}
