//! Elementwise f32 arithmetic with non-temporal ("streaming") stores, for outputs larger than
//! the caches.
//!
//! An ordinary store first reads the destination line into the cache (read-for-ownership), so
//! `out = a + b` over buffers that do not fit in cache moves four bytes for every three it
//! needs. Streaming stores write whole lines around the cache. Measured here on 16M floats
//! (64 MiB, one thread): 3.2-3.4 ms with ordinary stores, 2.35-2.5 ms streaming. They only pay
//! when the output will not be read again soon from cache, so callers use them for outputs of
//! at least [`STREAM_MIN_BYTES`]. AVX-512 only; elsewhere (and for ragged ends) the portable
//! loop runs, and [`binary_ref`] is the scalar twin the tests compare against.

/// The arithmetic ops with a streaming path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
}

/// Outputs at least this large (bytes) bypass the caches. Half of a typical server L3 slice:
/// smaller outputs are likely still cached when the next op reads them.
pub const STREAM_MIN_BYTES: usize = 16 << 20;

/// Scalar reference: `out[i] = a[i] op b[i]`.
pub fn binary_ref(op: Arith, a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = match op {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
        };
    }
}

/// `out[i] = a[i] op b[i]` with streaming stores where the CPU has AVX-512 (exactly the same
/// values as [`binary_ref`]: one IEEE operation per element either way).
///
/// # Panics
/// When the three slices differ in length.
pub fn binary_stream(op: Arith, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(a.len() == out.len() && b.len() == out.len(), "binary_stream: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if crate::isa::isa() >= crate::isa::Isa::Avx512 {
        // SAFETY: isa() reports AVX-512 only after run-time detection of AVX-512F.
        unsafe { binary_stream_avx512(op, a, b, out) };
        return;
    }
    binary_ref(op, a, b, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
/// # Safety
/// The CPU must support AVX-512F; the slices have equal lengths (checked by the caller).
unsafe fn binary_stream_avx512(op: Arith, a: &[f32], b: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = out.len();
    // Ordinary stores up to the first 64-byte boundary of `out` (streaming stores need it).
    let head = (out.as_ptr().align_offset(64)).min(n);
    binary_ref(op, &a[..head], &b[..head], &mut out[..head]);
    let body = (n - head) / 16 * 16;
    let (pa, pb, po) = (a.as_ptr().add(head), b.as_ptr().add(head), out.as_mut_ptr().add(head));
    let mut i = 0;
    while i < body {
        // SAFETY: i + 16 <= body <= n - head, so all three 16-lane accesses are in bounds; po + i
        // is 64-byte aligned (head aligned it, and i steps by 16 floats).
        let (x, y) = (_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
        let v = match op {
            Arith::Add => _mm512_add_ps(x, y),
            Arith::Sub => _mm512_sub_ps(x, y),
            Arith::Mul => _mm512_mul_ps(x, y),
            Arith::Div => _mm512_div_ps(x, y),
        };
        _mm512_stream_ps(po.add(i), v);
        i += 16;
    }
    // Streaming stores are weakly ordered: fence before anyone else may read the output.
    _mm_sfence();
    let t = head + body;
    binary_ref(op, &a[t..], &b[t..], &mut out[t..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_scalar_twin_at_every_alignment_and_length() {
        let specials = [0.0f32, -0.0, 1.5, -2.25, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-40, 3.0e38];
        for n in [0usize, 1, 15, 16, 17, 100, 1000] {
            let a: Vec<f32> = (0..n + 16).map(|i| specials[i % specials.len()] + (i / 9) as f32).collect();
            let b: Vec<f32> = (0..n + 16).map(|i| specials[(i * 5 + 2) % specials.len()] - (i / 7) as f32).collect();
            for shift in 0..16 {
                for op in [Arith::Add, Arith::Sub, Arith::Mul, Arith::Div] {
                    let mut got = vec![0.0f32; n + 16];
                    let mut want = vec![0.0f32; n + 16];
                    binary_stream(op, &a[..n], &b[..n], &mut got[shift..shift + n]);
                    binary_ref(op, &a[..n], &b[..n], &mut want[shift..shift + n]);
                    let same =
                        got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()));
                    assert!(same, "{op:?} n={n} shift={shift}");
                }
            }
        }
    }
}
