//! Hand-made DEFLATE streams (RFC 1951) and CRC-32, fast enough to build
//! gigabytes of uncompressed content in a debug test: the streams are written
//! directly, nothing is compressed.

/// Bits written least-significant first, as DEFLATE wants.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }

    /// `count` low bits of `value`, least significant first.
    fn put(&mut self, value: u32, count: u32) {
        debug_assert!(count <= 32);
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: its bits go most significant first.
    fn code(&mut self, code: u32, len: u32) {
        let mut rev = 0;
        for i in 0..len {
            rev |= ((code >> i) & 1) << (len - 1 - i);
        }
        self.put(rev, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// `1 + 258 * runs` zero bytes in one dynamic-Huffman block where a run of 258
/// zeros costs 2 bits (the best DEFLATE can do, about 1:1032). The body of the
/// block is all zero bits, so it is written as zero bytes.
pub fn zeros(runs: u64) -> (Vec<u8>, u64) {
    let mut b = Bits::new();
    b.put(1, 1); // BFINAL
    b.put(2, 2); // dynamic Huffman
    b.put(29, 5); // HLIT: 286 literal/length codes
    b.put(1, 5); // HDIST: 2 distance codes
    b.put(14, 4); // HCLEN: 18 code-length codes
                  // Code-length code lengths, in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1:
                  // symbol 18 (runs of zeros) gets 1 bit, symbols 1 and 2 get 2 bits.
    for len in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        b.put(len, 3);
    }
    // Canonical codes of that alphabet: 18 → 0, 1 → 10, 2 → 11.
    let (cl1, cl2, cl18) = ((0b10, 2), (0b11, 2), (0, 1));
    let zeros_run = |b: &mut Bits, n: u32| {
        b.code(cl18.0, cl18.1);
        b.put(n - 11, 7);
    };
    // Literal/length lengths: 0 → 2, 1..=255 → 0, 256 → 2, 257..=284 → 0, 285 → 1.
    b.code(cl2.0, cl2.1);
    zeros_run(&mut b, 138);
    zeros_run(&mut b, 117);
    b.code(cl2.0, cl2.1);
    zeros_run(&mut b, 28);
    b.code(cl1.0, cl1.1);
    // Distance lengths: codes 0 and 1 → 1 bit each.
    b.code(cl1.0, cl1.1);
    b.code(cl1.0, cl1.1);
    // Canonical literal/length codes: 285 → 0, 0 → 10, 256 → 11; distance 0 → 0.
    b.code(0b10, 2); // literal 0
                     // Each run is "length 258" (0) then "distance 1" (0): zero bits.
    let mut left = runs * 2;
    while b.n != 0 && left > 0 {
        b.put(0, 1);
        left -= 1;
    }
    let whole = (left / 8) as usize;
    b.out.resize(b.out.len() + whole, 0);
    b.put(0, (left % 8) as u32);
    b.code(0b11, 2); // end of block
    (b.finish(), 1 + 258 * runs)
}

const LEN_BASE: [u32; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LEN_EXTRA: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u32; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

/// One fixed-Huffman block built from literals and repetitions: enough to
/// write a huge but regular XML part (the same element a million times)
/// in a few hundred kilobytes, with its CRC-32 and length.
pub struct Fixed {
    bits: Bits,
    crc: Crc,
    len: u64,
}

impl Fixed {
    pub fn new() -> Self {
        let mut bits = Bits::new();
        bits.put(1, 1); // BFINAL
        bits.put(1, 2); // fixed Huffman
        Self {
            bits,
            crc: Crc::new(),
            len: 0,
        }
    }

    fn symbol(&mut self, sym: u32) {
        match sym {
            0..=143 => self.bits.code(0x30 + sym, 8),
            144..=255 => self.bits.code(0x190 + sym - 144, 9),
            256..=279 => self.bits.code(sym - 256, 7),
            _ => self.bits.code(0xC0 + sym - 280, 8),
        }
    }

    pub fn literals(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.symbol(u32::from(b));
        }
        self.crc.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// A copy of the last `dist` bytes' pattern, `len` bytes long (3..=258).
    fn copy(&mut self, len: u32, dist: u32) {
        let i = LEN_BASE.iter().rposition(|&b| b <= len).expect("length >= 3");
        self.symbol(257 + i as u32);
        self.bits.put(len - LEN_BASE[i], LEN_EXTRA[i]);
        let j = DIST_BASE.iter().rposition(|&b| b <= dist).expect("distance >= 1");
        self.bits.code(j as u32, 5);
        self.bits.put(dist - DIST_BASE[j], DIST_EXTRA[j]);
    }

    /// `cur`, copying from the line before it (`prev`, just written) every run
    /// of 3 or more bytes that is the same at the same place: rows of a sheet
    /// that differ only by their numbers cost a few bytes each.
    pub fn like(&mut self, prev: Option<&[u8]>, cur: &[u8]) {
        let Some(prev) = prev.filter(|p| p.len() == cur.len() && p.len() <= 32_768) else {
            self.literals(cur);
            return;
        };
        let dist = cur.len() as u32;
        let mut i = 0;
        while i < cur.len() {
            let run = cur[i..].iter().zip(&prev[i..]).take_while(|(a, b)| a == b).count();
            if run >= 3 {
                let mut left = run;
                while left >= 3 {
                    let mut n = left.min(258);
                    if (1..3).contains(&(left - n)) {
                        n = left - 3;
                    }
                    self.copy(n as u32, dist);
                    left -= n;
                }
                for &b in &cur[i + run - left..i + run] {
                    self.symbol(u32::from(b));
                }
                i += run;
            } else {
                let end = i + run.max(1);
                for &b in &cur[i..end] {
                    self.symbol(u32::from(b));
                }
                i = end;
            }
        }
        self.crc.update(cur);
        self.len += cur.len() as u64;
    }

    /// `unit` written `count` times.
    pub fn repeat(&mut self, unit: &[u8], count: u64) {
        let p = unit.len();
        assert!((1..=32_768).contains(&p), "unit of 1 to 32 768 bytes");
        if count == 0 {
            return;
        }
        self.literals(unit);
        let mut left = p as u64 * (count - 1);
        // The CRC of the repetitions, unit by unit (a partial unit at the end).
        for _ in 1..count {
            self.crc.update(unit);
        }
        self.len += left;
        let mut phase = 0usize;
        while left >= 3 {
            let mut n = left.min(258);
            if (1..3).contains(&(left - n)) {
                n = left - 3;
            }
            self.copy(n as u32, p as u32);
            phase = (phase + n as usize) % p;
            left -= n;
        }
        for _ in 0..left {
            self.symbol(u32::from(unit[phase]));
            phase = (phase + 1) % p;
        }
    }

    /// The compressed stream, the CRC-32 and the length of what it inflates to.
    pub fn finish(mut self) -> (Vec<u8>, u32, u64) {
        self.symbol(256);
        (self.bits.finish(), self.crc.value(), self.len)
    }
}

/// CRC-32 (IEEE, as in zip).
pub struct Crc {
    reg: u32,
}

fn table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        t
    })
}

impl Crc {
    pub fn new() -> Self {
        Self { reg: 0xFFFF_FFFF }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let t = table();
        for &b in bytes {
            self.reg = t[((self.reg ^ u32::from(b)) & 0xFF) as usize] ^ (self.reg >> 8);
        }
    }

    pub fn value(&self) -> u32 {
        self.reg ^ 0xFFFF_FFFF
    }
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc::new();
    c.update(bytes);
    c.value()
}

/// A linear map on the CRC register, as 32 columns over GF(2).
type Matrix = [u32; 32];

fn apply(m: &Matrix, mut v: u32) -> u32 {
    let mut out = 0;
    let mut i = 0;
    while v != 0 {
        if v & 1 != 0 {
            out ^= m[i];
        }
        v >>= 1;
        i += 1;
    }
    out
}

fn compose(a: &Matrix, b: &Matrix) -> Matrix {
    // a after b
    let mut out = [0u32; 32];
    for (i, col) in b.iter().enumerate() {
        out[i] = apply(a, *col);
    }
    out
}

/// CRC-32 of `n` zero bytes, in O(log n) (zlib's `crc32_combine` idea).
pub fn crc32_zeros(mut n: u64) -> u32 {
    let mut bit: Matrix = [0; 32];
    bit[0] = 0xEDB8_8320;
    for (i, col) in bit.iter_mut().enumerate().skip(1) {
        *col = 1 << (i - 1);
    }
    let two = compose(&bit, &bit);
    let four = compose(&two, &two);
    let mut power = compose(&four, &four); // one zero byte
    let mut reg = 0xFFFF_FFFFu32;
    while n > 0 {
        if n & 1 == 1 {
            reg = apply(&power, reg);
        }
        power = compose(&power, &power);
        n >>= 1;
    }
    reg ^ 0xFFFF_FFFF
}
