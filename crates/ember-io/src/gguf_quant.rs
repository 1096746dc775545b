//! ggml's block formats, dequantised to f32 (the layouts of ggml-quants; checked against the
//! `gguf` Python package's dequantisation in `tests/gguf.rs`).
//!
//! - `Q8_0`: blocks of 32: f16 scale `d`, 32 i8 `q`; `x = d * q`.
//! - `Q4_0`: blocks of 32: f16 `d`, 16 bytes; value `j < 16` is the low nibble of byte `j`,
//!   value `j + 16` its high nibble; `x = d * (q - 8)`.
//! - `Q4_1`: as `Q4_0` with an f16 minimum `m` after `d`; `x = d * q + m`.
//! - `Q4_K`: super-blocks of 256 in 8 sub-blocks of 32: f16 `d`, f16 `dmin`, 12 bytes of
//!   6-bit scales and mins, 128 bytes of nibbles (sub-block `2i` the low nibbles of bytes
//!   `32i..32i+32`, `2i+1` the high ones); `x = d * sc * q - dmin * m`.
//! - `Q5_K`: as `Q4_K` plus 32 bytes of high bits (bit `i` of byte `l` is the fifth bit of
//!   value `l` of sub-block `i`), before the nibbles.
//! - `Q6_K`: super-blocks of 256: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 i8
//!   scales (one per 16 values), f16 `d`; `x = d * scale * (q - 32)`.

use half::f16;

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[i], b[i + 1]])).to_f32()
}

/// The dequantised values of `bytes` in ggml type `name`; `None` for a type not handled here.
/// `bytes` holds whole blocks (the parser checks).
pub fn dequantize(name: &str, bytes: &[u8]) -> Option<Vec<f32>> {
    let (block_bytes, f): (usize, fn(&[u8], &mut Vec<f32>)) = match name {
        "Q8_0" => (34, q8_0),
        "Q4_0" => (18, q4_0),
        "Q4_1" => (20, q4_1),
        "Q4_K" => (144, q4_k),
        "Q5_K" => (176, q5_k),
        "Q6_K" => (210, q6_k),
        _ => return None,
    };
    let per_block = if block_bytes >= 144 { 256 } else { 32 };
    let mut out = Vec::with_capacity(bytes.len() / block_bytes * per_block);
    for b in bytes.chunks_exact(block_bytes) {
        f(b, &mut out);
    }
    Some(out)
}

fn q8_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    out.extend(b[2..34].iter().map(|&q| d * (q as i8) as f32));
}

fn q4_0(b: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    out.extend(qs.iter().map(|&q| d * ((q & 0xF) as f32 - 8.0)));
    out.extend(qs.iter().map(|&q| d * ((q >> 4) as f32 - 8.0)));
}

fn q4_1(b: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    let qs = &b[4..20];
    out.extend(qs.iter().map(|&q| d * (q & 0xF) as f32 + m));
    out.extend(qs.iter().map(|&q| d * (q >> 4) as f32 + m));
}

/// Scale and minimum of sub-block `j` (0..8) from the 12 packed bytes of a K-quant block:
/// sub-blocks 0-3 keep 6 bits in bytes 0-3 (scales) and 4-7 (mins); 4-7 take their low 4 bits
/// from bytes 8-11 and their top 2 bits from the top bits of bytes 0-7.
fn scale_min_k4(j: usize, s: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((s[j] & 63) as f32, (s[j + 4] & 63) as f32)
    } else {
        let sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        let m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        (sc as f32, m as f32)
    }
}

fn q4_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let (scales, qs) = (&b[4..16], &b[16..144]);
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        let (mul, sub) = (d * sc, dmin * m);
        let chunk = &qs[(j / 2) * 32..(j / 2) * 32 + 32];
        let shift = 4 * (j % 2);
        out.extend(chunk.iter().map(|&q| mul * ((q >> shift) & 0xF) as f32 - sub));
    }
}

fn q5_k(b: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let (scales, qh, qs) = (&b[4..16], &b[16..48], &b[48..176]);
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        let (mul, sub) = (d * sc, dmin * m);
        let chunk = &qs[(j / 2) * 32..(j / 2) * 32 + 32];
        let shift = 4 * (j % 2);
        out.extend(chunk.iter().zip(qh).map(|(&q, &h)| {
            let v = ((q >> shift) & 0xF) | (((h >> j) & 1) << 4);
            mul * v as f32 - sub
        }));
    }
}

fn q6_k(b: &[u8], out: &mut Vec<f32>) {
    let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
    let d = f16_at(b, 208);
    for half in 0..2 {
        let (ql, qh) = (&ql[half * 64..half * 64 + 64], &qh[half * 32..half * 32 + 32]);
        // Four runs of 32 values; run t takes nibble t / 2 of ql[32 * (t % 2) + l] and bits
        // 2t..2t+2 of qh[l].
        for t in 0..4 {
            for l in 0..32 {
                let lo = (ql[32 * (t % 2) + l] >> (4 * (t / 2))) & 0xF;
                let hi = (qh[l] >> (2 * t)) & 3;
                let q = (lo | (hi << 4)) as i32 - 32;
                let sc = scales[half * 8 + t * 2 + l / 16] as i8 as f32;
                out.push(d * sc * q as f32);
            }
        }
    }
}
