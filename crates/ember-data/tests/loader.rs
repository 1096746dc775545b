//! DataLoader and data set behaviour: batching, seeded shuffles, drop_last, workers that keep
//! order, custom collation, random_split, and clear errors on damaged MNIST files.

use ember_core::{DType, Result, Tensor};
use ember_data::datasets::{mnist, text, CharText, Mnist};
use ember_data::{random_split, DataLoader, DataLoaderConfig, Dataset, TensorDataset};
use std::sync::Arc;

fn dataset(n: usize) -> TensorDataset {
    let x = Tensor::arange(0.0, n as f64, 1.0, DType::F32).unwrap().reshape(&[n as isize, 1]).unwrap();
    let y = Tensor::arange(0.0, n as f64, 1.0, DType::I64).unwrap();
    TensorDataset::new(vec![x, y]).unwrap()
}

fn epoch_ids(loader: &mut DataLoader<TensorDataset>) -> Vec<Vec<i64>> {
    loader.iter().map(|b| b.unwrap()[1].to_vec::<i64>().unwrap()).collect()
}

#[test]
fn batches_cover_the_data_in_order_without_shuffle() {
    let mut l = DataLoader::new(dataset(10), DataLoaderConfig { batch_size: 4, ..Default::default() }).unwrap();
    assert_eq!(l.len(), 3);
    assert_eq!(epoch_ids(&mut l), vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
    let mut d = DataLoader::new(dataset(10), DataLoaderConfig { batch_size: 4, drop_last: true, ..Default::default() })
        .unwrap();
    assert_eq!(epoch_ids(&mut d).len(), 2);
}

#[test]
fn shuffles_are_seeded_per_epoch_and_workers_keep_order() {
    let cfg = DataLoaderConfig { batch_size: 3, shuffle: true, seed: 7, ..Default::default() };
    let mut a = DataLoader::new(dataset(20), cfg).unwrap();
    let e1 = epoch_ids(&mut a);
    let e2 = epoch_ids(&mut a);
    assert_ne!(e1, e2, "each epoch reshuffles");
    let mut flat: Vec<i64> = e1.concat();
    flat.sort();
    assert_eq!(flat, (0..20).collect::<Vec<_>>(), "an epoch is a permutation");
    let mut b = DataLoader::new(dataset(20), DataLoaderConfig { num_workers: 3, prefetch_factor: 1, ..cfg }).unwrap();
    assert_eq!(epoch_ids(&mut b), e1, "same seed, same batches, with workers and in order");
    assert_eq!(epoch_ids(&mut b), e2);
    // Dropping an iterator part way stops its workers cleanly.
    let mut it = b.iter();
    let _ = it.next();
    drop(it);
}

struct Slow(usize);
impl Dataset for Slow {
    type Item = (usize, String);
    fn len(&self) -> usize {
        self.0
    }
    fn get(&self, i: usize) -> Result<(usize, String)> {
        std::thread::sleep(std::time::Duration::from_millis(((i * 7) % 5) as u64));
        Ok((i, format!("item{i}")))
    }
}

#[test]
fn custom_items_and_collate_with_workers() {
    let cfg = DataLoaderConfig { batch_size: 4, num_workers: 2, ..Default::default() };
    let mut l = DataLoader::with_collate(Arc::new(Slow(10)), cfg, |items: Vec<(usize, String)>| {
        Ok(items.into_iter().map(|(i, _)| i).sum::<usize>())
    })
    .unwrap();
    let sums: Vec<usize> = l.iter().map(|b| b.unwrap()).collect();
    assert_eq!(sums, vec![6, 22, 17]);
}

#[test]
fn random_split_partitions_the_indices() {
    let d = Arc::new(dataset(10));
    let parts = random_split(d.clone(), &[7, 3], 1).unwrap();
    let mut all: Vec<usize> = parts.iter().flat_map(|p| p.indices.clone()).collect();
    all.sort();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert_eq!(parts[1].get(0).unwrap()[1].item::<i64>().unwrap() as usize, parts[1].indices[0]);
    assert!(random_split(d, &[5, 4], 1).is_err());
}

#[test]
fn bundled_mnist_loads_with_the_canonical_statistics() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist");
    let test = Mnist::load(dir, false).unwrap();
    assert_eq!(test.len(), 10_000);
    // First test labels and class counts from data/mnist/README.md.
    assert_eq!(test.labels.narrow(0, 0, 10).unwrap().to_vec::<i64>().unwrap(), vec![7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let counts: Vec<i64> = (0..10)
        .map(|c| {
            test.labels.eq_scalar(c as f64).unwrap().to_dtype(DType::I64).unwrap().sum().unwrap().item::<i64>().unwrap()
        })
        .collect();
    assert_eq!(counts, vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    let mean = test.images.to_dtype(DType::F64).unwrap().mean().unwrap().item::<f64>().unwrap();
    assert!((mean - 33.791).abs() < 0.01, "{mean}");
    let fashion = Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/fashion-mnist"), false).unwrap();
    assert_eq!(fashion.len(), 10_000);
}

#[test]
fn damaged_mnist_files_are_clear_errors() {
    let tmp = std::env::temp_dir().join(format!("ember-mnist-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mnist");
    let labels = std::fs::read(format!("{src}/t10k-labels-idx1-ubyte.gz")).unwrap();
    let images = std::fs::read(format!("{src}/t10k-images-idx3-ubyte.gz")).unwrap();
    std::fs::write(tmp.join("t10k-labels-idx1-ubyte.gz"), &labels).unwrap();
    // Truncated gzip stream.
    std::fs::write(tmp.join("t10k-images-idx3-ubyte.gz"), &images[..images.len() / 2]).unwrap();
    let e = Mnist::load(&tmp, false).unwrap_err().to_string();
    assert!(e.contains("t10k-images") && (e.contains("gzip") || e.contains("truncated")), "{e}");
    // Raw file with a short payload.
    let mut raw = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
    raw.extend(vec![0u8; 28 * 28]);
    std::fs::remove_file(tmp.join("t10k-images-idx3-ubyte.gz")).unwrap();
    std::fs::write(tmp.join("t10k-images-idx3-ubyte"), &raw).unwrap();
    let e = Mnist::load(&tmp, false).unwrap_err().to_string();
    assert!(e.contains("need 1568 data bytes but the file has 784"), "{e}");
    let e = Mnist::load(tmp.join("missing"), false).unwrap_err().to_string();
    assert!(e.contains("not found"), "{e}");
    assert!(mnist::parse_idx(&[0, 0, 8], "x").is_err());
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn char_text_round_trips_and_samples_windows() {
    let t = CharText::new("hello world").unwrap();
    assert_eq!(t.vocab_size(), 8);
    let ids = t.encode("hold").unwrap();
    assert_eq!(t.decode(&ids), "hold");
    assert!(t.encode("xyz").is_err());
    let mut g = ember_core::Generator::new(1);
    let (x, y) = text::random_windows(&t.ids, 3, 4, &mut g).unwrap();
    assert_eq!(x.shape(), &[3, 4]);
    let (xv, yv) = (x.to_vec::<i64>().unwrap(), y.to_vec::<i64>().unwrap());
    assert_eq!(xv[1..4], yv[0..3], "targets are inputs shifted by one");
    assert!(text::random_windows(&t.ids, 1, 20, &mut g).is_err());
}

#[test]
fn distributed_sampler_shares_partition_pad_and_reshuffle() {
    use ember_data::DistributedSampler;
    let share = |n, reps, r, shuffle, drop_last, epoch| {
        let mut s = DistributedSampler::new(n, reps, r, shuffle, 3, drop_last).unwrap();
        s.set_epoch(epoch);
        s.indices()
    };
    // PyTorch's layout without shuffling: every replicas-th index, padded from the start.
    let plain: Vec<Vec<usize>> = (0..3).map(|r| share(10, 3, r, false, false, 0)).collect();
    assert_eq!(plain, vec![vec![0, 3, 6, 9], vec![1, 4, 7, 0], vec![2, 5, 8, 1]]);
    let dropped: Vec<Vec<usize>> = (0..3).map(|r| share(10, 3, r, false, true, 0)).collect();
    assert_eq!(dropped, vec![vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]);
    assert_eq!(
        (0..5).map(|r| share(2, 5, r, false, false, 0)).collect::<Vec<_>>(),
        vec![vec![0], vec![1], vec![0], vec![1], vec![0]]
    );
    // Shuffled: the same permutation on every rank, so shares are disjoint and complete.
    let mut all: Vec<usize> = (0..4).flat_map(|r| share(12, 4, r, true, false, 1)).collect();
    assert_ne!(all, (0..12).collect::<Vec<_>>());
    all.sort();
    assert_eq!(all, (0..12).collect::<Vec<_>>());
    assert_ne!(share(12, 4, 0, true, false, 1), share(12, 4, 0, true, false, 2));
    assert!(DistributedSampler::new(12, 4, 4, true, 0, false).unwrap_err().to_string().contains("Invalid rank 4"));
    // The loader's shard: rank 1 of 2 sees the odd samples in batches.
    let cfg = DataLoaderConfig { batch_size: 2, shard: Some((1, 2)), ..Default::default() };
    let mut l = DataLoader::new(dataset(6), cfg).unwrap();
    let seen: Vec<f32> = l.iter().flat_map(|b| b.unwrap()[0].to_vec::<f32>().unwrap()).collect();
    assert_eq!(seen, vec![1.0, 3.0, 5.0]);
    let bad = DataLoaderConfig { batch_size: 2, shard: Some((2, 2)), ..Default::default() };
    assert!(DataLoader::new(dataset(6), bad).is_err());
}
