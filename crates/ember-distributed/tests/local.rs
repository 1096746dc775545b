//! Collectives and DDP on a world of ranks that are threads of this process (no MPI needed):
//! the checks in `common` run on every rank at once.

mod common;

use ember_core::{DType, Result, Tensor};
use ember_distributed::{local_world, ProcessGroup, ReduceOp, Reducer, ReducerOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `f` on every rank of a thread world of `n`, each on its own thread; all must pass.
fn on_ranks(n: usize, f: fn(&Arc<dyn ProcessGroup>) -> Result<()>) {
    let handles: Vec<_> = local_world(n, Duration::from_secs(60))
        .unwrap()
        .into_iter()
        .map(|g| std::thread::spawn(move || f(&g)))
        .collect();
    for (r, h) in handles.into_iter().enumerate() {
        h.join().unwrap_or_else(|_| panic!("rank {r} panicked")).unwrap_or_else(|e| panic!("rank {r}: {e}"));
    }
}

#[test]
fn collectives_match_their_definitions() {
    for n in [1, 2, 3] {
        on_ranks(n, common::check_collectives);
    }
}

#[test]
fn ddp_training_equals_one_process_on_the_whole_batch() {
    on_ranks(2, common::check_ddp_training);
    on_ranks(1, common::check_ddp_training);
}

#[test]
fn unused_parameters_are_an_error_or_reduced_as_zeros() {
    on_ranks(2, common::check_unused_parameters);
}

#[test]
fn different_models_across_ranks_are_refused() {
    on_ranks(2, common::check_shape_mismatch);
}

#[test]
fn a_rank_that_never_comes_ends_in_a_timeout_error() {
    let mut ranks = local_world(2, Duration::from_millis(300)).unwrap();
    let _absent = ranks.pop();
    let t = Tensor::ones(&[4], DType::F32).unwrap();
    let start = Instant::now();
    let err = ranks[0].all_reduce(&t, ReduceOp::Sum).unwrap().wait().unwrap_err().to_string();
    assert!(err.contains("did not finish") || err.contains("timed out"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn buckets_are_reverse_order_per_dtype_with_a_small_first_bucket() {
    let g = local_world(1, Duration::from_secs(5)).unwrap().remove(0);
    // 6 parameters of 1 KiB (256 f32), one f64; first bucket 2 KiB, then 3 KiB.
    let mut params: Vec<Tensor> =
        (0..6).map(|_| Tensor::zeros(&[256], DType::F32).unwrap().set_requires_grad(true).unwrap()).collect();
    params.insert(2, Tensor::zeros(&[4], DType::F64).unwrap().set_requires_grad(true).unwrap());
    params.push(Tensor::zeros(&[4], DType::F32).unwrap()); // needs no grad: in no bucket
    let opts = ReducerOptions { first_bucket_bytes: 2048, bucket_cap_bytes: 3072, ..Default::default() };
    let r = Reducer::new(params, g, opts).unwrap();
    assert_eq!(r.bucket_indices(), vec![vec![6, 5], vec![4, 3, 1], vec![0], vec![2]]);
}

#[test]
fn queue_callback_and_post_accumulate_hooks_fire_in_backward_order() {
    use std::sync::Mutex;
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let w = Tensor::ones(&[2], DType::F32).unwrap().set_requires_grad(true).unwrap();
    let l = log.clone();
    w.register_post_accumulate_grad_hook(move |p| {
        l.lock().unwrap().push(format!("hook {:?}", p.grad().unwrap().to_vec::<f32>().unwrap()));
        let l2 = l.clone();
        ember_core::autograd::queue_callback(move || {
            l2.lock().unwrap().push("callback".into());
            Ok(())
        })
    })
    .unwrap();
    w.mul_scalar(3.0).unwrap().sum().unwrap().backward().unwrap();
    assert_eq!(*log.lock().unwrap(), vec!["hook [3.0, 3.0]".to_string(), "callback".to_string()]);
    assert!(ember_core::autograd::queue_callback(|| Ok(())).is_err());
    let x = w.mul_scalar(2.0).unwrap();
    assert!(x.register_post_accumulate_grad_hook(|_| Ok(())).is_err());
}
