//! MNIST and Fashion-MNIST from IDX files (gzip or raw), as torchvision lays them out:
//! `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
//!
//! The reader checks every header field against the data before allocating: the magic, the
//! dims (28 x 28 images, counts that agree), and the exact payload length (a truncated or
//! oversized file is an error, never a panic or a silent short read). Decompression stops at
//! the size the header announces plus one byte.

use crate::{Dataset, TensorDataset};
use ember_core::{DType, Error, Result, Tensor};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most elements an IDX file here may declare (a guard against hostile headers).
const MAX_ELEMENTS: u64 = 1 << 31;

/// A parsed IDX file: dims and the raw u8 payload.
#[derive(Debug)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses IDX bytes (already decompressed) of unsigned bytes (type code 0x08).
pub fn parse_idx(bytes: &[u8], what: &str) -> Result<Idx> {
    if bytes.len() < 4 {
        return Err(Error::format(what, format!("file is {} bytes, too short for an IDX header", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::format(what, format!("bad IDX magic {:02x?}: expected 00 00 08 <ndim>", &bytes[..4])));
    }
    if bytes[2] != 0x08 {
        return Err(Error::format(what, format!("IDX element type 0x{:02x} is not unsigned byte (0x08)", bytes[2])));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > 4 {
        return Err(Error::format(what, format!("IDX has {ndim} dims; expected 1 to 4")));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(Error::format(what, format!("truncated IDX header: {} bytes, need {header}", bytes.len())));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes([bytes[4 + 4 * i], bytes[5 + 4 * i], bytes[6 + 4 * i], bytes[7 + 4 * i]]) as usize)
        .collect();
    let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64)).filter(|&n| n <= MAX_ELEMENTS);
    let Some(n) = n else {
        return Err(Error::format(what, format!("IDX dims {dims:?} are too large")));
    };
    let payload = bytes.len() - header;
    if payload as u64 != n {
        return Err(Error::format(
            what,
            format!("IDX dims {dims:?} need {n} data bytes but the file has {payload} (truncated or corrupt)"),
        ));
    }
    Ok(Idx { dims, data: bytes[header..].to_vec() })
}

/// Reads an IDX file, gunzipping when it ends in `.gz` (or starts with the gzip magic).
pub fn read_idx(path: &Path) -> Result<Idx> {
    let what = path.display().to_string();
    let raw = std::fs::read(path).map_err(|e| Error::io(what.clone(), e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .take(MAX_ELEMENTS + 64)
            .read_to_end(&mut out)
            .map_err(|e| Error::format(what.clone(), format!("corrupt gzip stream: {e}")))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes, &what)
}

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string(), stem.replace("-idx", ".idx")] {
        let p = dir.join(&name);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(Error::io(
        format!("{}/{stem}[.gz]", dir.display()),
        std::io::Error::new(std::io::ErrorKind::NotFound, "MNIST file not found"),
    ))
}

/// An MNIST-format split: `images [N, 28, 28]` u8 and `labels [N]` i64.
#[derive(Clone, Debug)]
pub struct Mnist {
    pub images: Tensor,
    pub labels: Tensor,
}

/// Fashion-MNIST has MNIST's format.
pub type FashionMnist = Mnist;

impl Mnist {
    /// Loads the train (60k) or test (10k) split from `dir`.
    pub fn load(dir: impl AsRef<Path>, train: bool) -> Result<Mnist> {
        let dir = dir.as_ref();
        let prefix = if train { "train" } else { "t10k" };
        let images = read_idx(&find(dir, &format!("{prefix}-images-idx3-ubyte"))?)?;
        let labels = read_idx(&find(dir, &format!("{prefix}-labels-idx1-ubyte"))?)?;
        if images.dims.len() != 3 || images.dims[1] != 28 || images.dims[2] != 28 {
            return Err(Error::format(
                dir.display().to_string(),
                format!("images have dims {:?}; expected [N, 28, 28]", images.dims),
            ));
        }
        if labels.dims.len() != 1 || labels.dims[0] != images.dims[0] {
            return Err(Error::format(
                dir.display().to_string(),
                format!("{} labels for {} images", labels.dims.iter().product::<usize>(), images.dims[0]),
            ));
        }
        if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
            return Err(Error::format(dir.display().to_string(), format!("label {bad} is not a digit class 0-9")));
        }
        let n = images.dims[0];
        Ok(Mnist {
            images: Tensor::from_vec(images.data, &[n, 28, 28])?,
            labels: Tensor::from_vec(labels.data.into_iter().map(i64::from).collect(), &[n])?,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.numel()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Images as `[N, 1, 28, 28]` f32, scaled to [0, 1] and normalised with MNIST's mean and
    /// std (0.1307, 0.3081) when `normalize`, with the labels: ready for a `TensorDataset`.
    pub fn to_tensors(&self, normalize: bool) -> Result<(Tensor, Tensor)> {
        let x = self.images.to_dtype(DType::F32)?.mul_scalar(1.0 / 255.0)?.unsqueeze(1)?;
        let x = if normalize { x.sub_scalar(0.1307)?.mul_scalar(1.0 / 0.3081)? } else { x };
        Ok((x, self.labels.clone()))
    }

    /// A `TensorDataset` of `[1, 28, 28]` images and labels.
    pub fn dataset(&self, normalize: bool) -> Result<TensorDataset> {
        let (x, y) = self.to_tensors(normalize)?;
        TensorDataset::new(vec![x, y])
    }
}

impl Dataset for Mnist {
    type Item = Vec<Tensor>;
    fn len(&self) -> usize {
        self.labels.numel()
    }
    fn get(&self, i: usize) -> Result<Vec<Tensor>> {
        if i >= self.len() {
            return Err(Error::index("Mnist", format!("index {i} out of range for {} samples", self.len())));
        }
        let img = self.images.select(0, i as isize)?.to_dtype(DType::F32)?.mul_scalar(1.0 / 255.0)?.unsqueeze(0)?;
        Ok(vec![img, self.labels.select(0, i as isize)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], payload: usize) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend(std::iter::repeat_n(7u8, payload));
        v
    }

    #[test]
    fn well_formed_idx_parses() {
        let p = parse_idx(&idx(&[2, 3], 6), "t").unwrap();
        assert_eq!(p.dims, vec![2, 3]);
        assert_eq!(p.data.len(), 6);
    }

    #[test]
    fn malformed_idx_is_an_error_not_a_panic() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "too short"),
            (vec![1, 0, 8, 1], "magic"),
            (vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], "element type"),
            (vec![0, 0, 8, 0], "dims"),
            (vec![0, 0, 8, 9], "dims"),
            (vec![0, 0, 8, 2, 0, 0, 0], "truncated IDX header"),
            (idx(&[2, 3], 5), "truncated"),
            (idx(&[2, 3], 7), "truncated or corrupt"),
            (idx(&[u32::MAX, u32::MAX, u32::MAX], 0), "too large"),
        ];
        for (bytes, want) in cases {
            let e = parse_idx(&bytes, "f").unwrap_err().to_string();
            assert!(e.contains(want), "{bytes:?}: {e}");
        }
    }
}
