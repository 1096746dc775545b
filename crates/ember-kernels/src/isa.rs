//! Run-time instruction-set detection, done once and cached.
//!
//! Never compile with `target-cpu=native`: a binary built here must run on any x86-64 (or
//! aarch64) machine, so wide paths are chosen at run time. `EMBER_ISA=scalar|avx2|avx512`
//! lowers the choice (never raises it past what the CPU has), which tests and benchmarks use.

use std::sync::OnceLock;

/// The widest instruction set a kernel may use on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Portable code (what the compiler emits for the baseline target).
    Scalar,
    /// aarch64 Advanced SIMD (baseline on aarch64, so the portable code already uses it).
    Neon,
    /// x86-64 AVX2 + FMA.
    Avx2,
    /// x86-64 AVX-512 F/BW/DQ/VL.
    Avx512,
}

/// The instruction set used by the dispatching kernels.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let best = best();
        match std::env::var("EMBER_ISA").ok().as_deref() {
            Some("scalar") => Isa::Scalar,
            Some("avx2") if best >= Isa::Avx2 => Isa::Avx2,
            _ => best,
        }
    })
}

/// The widest instruction set this CPU has (ignores `EMBER_ISA`).
pub fn best() -> Isa {
    static BEST: OnceLock<Isa> = OnceLock::new();
    *BEST.get_or_init(detect)
}

/// Every instruction set this machine can run, narrowest first (for tests of each path).
pub fn available() -> Vec<Isa> {
    let best = best();
    [Isa::Scalar, Isa::Neon, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|&i| i <= best && (i != Isa::Neon || best == Isa::Neon))
        .collect()
}

fn detect() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            return Isa::Neon;
        }
    }
    Isa::Scalar
}

/// Defines `pub fn $name(args)` that runs `$body(args)` compiled for the best available ISA,
/// and `pub fn $name_isa(isa, args)` that runs it for a given one (tests compare every path
/// with the scalar twin). `$body` must be an `#[inline(always)]` portable function, so each
/// `#[target_feature]` copy below is vectorised by the compiler for that instruction set.
#[macro_export]
#[doc(hidden)]
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident / $name_isa:ident ($($arg:ident : $ty:ty),* $(,)?) => $body:path) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name($($arg: $ty),*) {
            $name_isa($crate::isa::isa(), $($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] for a chosen instruction set (falls back to portable code when `isa` is not available here).")]
        $vis fn $name_isa(isa: $crate::isa::Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
                unsafe fn avx512($($arg: $ty),*) { $body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) { $body($($arg),*) }
                match isa.min($crate::isa::best()) {
                    // SAFETY: `best()` is AVX-512 only after run-time detection of
                    // every feature enabled on `avx512`.
                    $crate::isa::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above, for AVX2 and FMA.
                    $crate::isa::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    _ => {}
                }
            }
            let _ = isa;
            $body($($arg),*)
        }
    };
}
