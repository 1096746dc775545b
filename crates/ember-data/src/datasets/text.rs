//! Character-level text: a vocabulary of the distinct characters of a corpus (sorted, as in
//! nanoGPT's shakespeare_char), the encoded corpus, and random `[B, T]` training windows.

use ember_core::{Error, Generator, Result, Tensor};

/// A corpus encoded as character ids.
#[derive(Clone, Debug)]
pub struct CharText {
    /// The vocabulary: `chars[id]`.
    pub chars: Vec<char>,
    /// The encoded corpus.
    pub ids: Vec<u32>,
}

impl CharText {
    /// Builds the vocabulary from `text` (at least 2 characters needed to train on).
    pub fn new(text: &str) -> Result<CharText> {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let ids = Self::encode_with(&chars, text)?;
        if ids.len() < 2 {
            return Err(Error::value("CharText", "the text needs at least 2 characters"));
        }
        Ok(CharText { chars, ids })
    }

    /// Encodes `text` with an existing vocabulary (an error on unknown characters).
    pub fn encode_with(chars: &[char], text: &str) -> Result<Vec<u32>> {
        text.chars()
            .map(|c| {
                chars
                    .binary_search(&c)
                    .map(|i| i as u32)
                    .map_err(|_| Error::value("CharText", format!("character {c:?} is not in the vocabulary")))
            })
            .collect()
    }

    /// Encodes with this corpus's vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Self::encode_with(&self.chars, text)
    }

    /// Decodes ids (unknown ids become U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&i| self.chars.get(i as usize).copied().unwrap_or('\u{fffd}')).collect()
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.chars.len()
    }

    /// Splits ids into (first `frac`, rest), e.g. 0.9 for train/validation.
    pub fn split(&self, frac: f64) -> (Vec<u32>, Vec<u32>) {
        let n = ((self.ids.len() as f64) * frac) as usize;
        (self.ids[..n].to_vec(), self.ids[n..].to_vec())
    }
}

/// `batch` random windows of `context` ids from `ids`: inputs `[B, T]` and next-char targets
/// `[B, T]` (i64), drawn from `gen`.
pub fn random_windows(ids: &[u32], batch: usize, context: usize, gen: &mut Generator) -> Result<(Tensor, Tensor)> {
    if ids.len() <= context {
        return Err(Error::value(
            "random_windows",
            format!("the text ({} ids) must be longer than the context ({context})", ids.len()),
        ));
    }
    let mut x = Vec::with_capacity(batch * context);
    let mut y = Vec::with_capacity(batch * context);
    for _ in 0..batch {
        let s = gen.below((ids.len() - context) as u64) as usize;
        x.extend(ids[s..s + context].iter().map(|&i| i as i64));
        y.extend(ids[s + 1..s + context + 1].iter().map(|&i| i as i64));
    }
    Ok((Tensor::from_vec(x, &[batch, context])?, Tensor::from_vec(y, &[batch, context])?))
}
