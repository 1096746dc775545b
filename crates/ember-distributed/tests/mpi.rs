//! The same checks as `local.rs`, across processes: each test starts `mpirun -np 2` on this
//! test binary, running the ignored `rank_*` entry points, which do the work on each rank.
//! Also: a rank that is killed or fails ends the whole job with an error, promptly.
#![cfg(feature = "mpi")]

mod common;

use ember_core::{DType, Tensor};
use ember_distributed::{init_process_group, ReduceOp};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `mpirun -np 2` on this binary's ignored test `entry`, as root if need be.
fn mpirun(entry: &str, np: usize) -> (Output, Duration) {
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let out = Command::new("mpirun")
        .args(["--oversubscribe", "--allow-run-as-root", "-np", &np.to_string()])
        .arg(exe)
        .args(["--ignored", "--exact", entry, "--nocapture", "--test-threads=1"])
        .env("EMBER_MPI_CHILD", "1")
        .output()
        .expect("mpirun runs (scripts/test.sh installs Open MPI)");
    (out, start.elapsed())
}

fn assert_ok(entry: &str) {
    let (out, _) = mpirun(entry, 2);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mpirun {entry} failed:\n{text}");
    // Both ranks ran the entry and passed.
    assert_eq!(text.matches("test result: ok. 1 passed").count(), 2, "{text}");
}

/// Runs only under `mpirun` (the parent tests below start it).
fn child() -> bool {
    std::env::var("EMBER_MPI_CHILD").is_ok()
}

#[test]
fn mpi_collectives_match_their_definitions() {
    assert_ok("rank_collectives");
}

#[test]
fn mpi_ddp_training_equals_one_process_on_the_whole_batch() {
    assert_ok("rank_ddp");
}

#[test]
fn mpi_killed_rank_ends_the_job_with_an_error() {
    let (out, took) = mpirun("rank_killed", 2);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(took < Duration::from_secs(30), "took {took:?}:\n{text}");
    assert!(text.contains("signal 9") || text.contains("Killed"), "{text}");
}

#[test]
fn mpi_failed_rank_ends_the_job_with_an_error() {
    let (out, took) = mpirun("rank_fails", 2);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(took < Duration::from_secs(30), "took {took:?}:\n{text}");
    assert!(text.contains("rank 1 gives up"), "{text}");
}

#[test]
#[ignore = "run on each rank by mpirun (mpi_collectives_match_their_definitions)"]
fn rank_collectives() {
    if !child() {
        return;
    }
    let g = init_process_group("mpi").unwrap();
    assert_eq!(g.size(), 2);
    common::check_collectives(&g).unwrap();
    ember_distributed::destroy_process_group();
}

#[test]
#[ignore = "run on each rank by mpirun (mpi_ddp_training_equals_one_process_on_the_whole_batch)"]
fn rank_ddp() {
    if !child() {
        return;
    }
    let g = init_process_group("gloo").unwrap();
    common::check_ddp_training(&g).unwrap();
    common::check_unused_parameters(&g).unwrap();
    common::check_shape_mismatch(&g).unwrap();
    ember_distributed::destroy_process_group();
}

#[test]
#[ignore = "run on each rank by mpirun (mpi_killed_rank_ends_the_job_with_an_error)"]
fn rank_killed() {
    if !child() {
        return;
    }
    let g = init_process_group("mpi").unwrap();
    let t = Tensor::ones(&[4], DType::F32).unwrap();
    g.all_reduce(&t, ReduceOp::Sum).unwrap().wait().unwrap();
    if g.rank() == 1 {
        let _ = Command::new("kill").args(["-9", &std::process::id().to_string()]).status();
        std::thread::sleep(Duration::from_secs(60));
    }
    // Rank 0 waits in a collective rank 1 never joins; the launcher must end it.
    g.all_reduce(&t, ReduceOp::Sum).unwrap().wait().unwrap();
}

#[test]
#[ignore = "run on each rank by mpirun (mpi_failed_rank_ends_the_job_with_an_error)"]
fn rank_fails() {
    if !child() {
        return;
    }
    let g = init_process_group("mpi").unwrap();
    if g.rank() == 1 {
        eprintln!("rank 1 gives up");
        std::process::exit(3);
    }
    let t = Tensor::ones(&[4], DType::F32).unwrap();
    g.all_reduce(&t, ReduceOp::Sum).unwrap().wait().unwrap();
}
