//! One module per subcommand.

pub mod bench;
pub mod bench_gguf;
pub mod data_parallel;
pub mod generate;
pub mod info;
pub mod quantize;
pub mod sample;
pub mod train_char;
pub mod train_mnist;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// A flag set by Ctrl-C (installed once per process), so training loops can save and exit.
pub fn interrupted() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}
