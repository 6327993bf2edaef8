//! Deterministic mutations of seed inputs for the smoke run: a few byte-level edits each
//! (flips, interesting values, length fields, insertions, deletions, splices), drawn from a
//! seeded generator so that a failure reproduces from its seed.

/// xorshift64*: small, fast and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

const INTERESTING_U8: [u8; 9] = [0, 1, 2, 0x20, 0x30, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U32: [u32; 8] = [0, 1, 2, 255, 256, 0x7fff_ffff, 0xffff_fffe, 0xffff_ffff];
const INTERESTING_TEXT: [&[u8]; 10] = [
    b"\"",
    b"\\",
    b"\\#",
    b".",
    b"@",
    b"$ORIGIN ",
    b"\n",
    b" ",
    b"-----BEGIN CERTIFICATE-----\n",
    b"\xc3\xa9",
];

/// `input` with one to four edits; `others` (the rest of the corpus) feed splices.
pub fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        edit(rng, &mut out, others);
    }
    out
}

fn edit(rng: &mut Rng, out: &mut Vec<u8>, others: &[Vec<u8>]) {
    let len = out.len();
    match rng.below(10) {
        0 if len > 0 => {
            let at = rng.below(len);
            out[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            out[at] = INTERESTING_U8[rng.below(INTERESTING_U8.len())];
        }
        2 if len > 0 => {
            let at = rng.below(len);
            out[at] = rng.next_u64() as u8;
        }
        // A borsh length or a count: a little-endian u32 somewhere.
        3 if len >= 4 => {
            let at = rng.below(len - 3);
            let value = INTERESTING_U32[rng.below(INTERESTING_U32.len())];
            out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        // A DNS count or length: a big-endian u16.
        4 if len >= 2 => {
            let at = rng.below(len - 1);
            let value = INTERESTING_U32[rng.below(INTERESTING_U32.len())] as u16;
            out[at..at + 2].copy_from_slice(&value.to_be_bytes());
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(16)).min(len);
            out.drain(at..end);
        }
        6 => {
            let at = rng.below(len + 1);
            let bytes: Vec<u8> = (0..1 + rng.below(8))
                .map(|_| rng.next_u64() as u8)
                .collect();
            out.splice(at..at, bytes);
        }
        7 => {
            let at = rng.below(len + 1);
            let text = INTERESTING_TEXT[rng.below(INTERESTING_TEXT.len())];
            out.splice(at..at, text.iter().copied());
        }
        // A copy of a piece of this input elsewhere in it.
        8 if len > 0 => {
            let from = rng.below(len);
            let end = (from + 1 + rng.below(32)).min(len);
            let piece = out[from..end].to_vec();
            let at = rng.below(len + 1);
            out.splice(at..at, piece);
        }
        // A splice: this input's head and another's tail.
        9 if !others.is_empty() => {
            let other = &others[rng.below(others.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            out.truncate(cut);
            out.extend_from_slice(&other[from..]);
        }
        _ => out.truncate(rng.below(len + 1)),
    }
}
