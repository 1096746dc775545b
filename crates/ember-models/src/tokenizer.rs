//! Tokenizers through the `tokenizers` crate: a Hugging Face `tokenizer.json`, or GPT-2's
//! byte-level BPE built from `vocab.json` + `merges.txt` (what `GPT2Tokenizer` does).

use ember_core::{Error, Result};
use std::path::Path;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::Tokenizer as HfTokenizer;

/// Text to ids and back.
pub struct Tokenizer {
    inner: HfTokenizer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer(vocab {})", self.inner.get_vocab_size(true))
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::format(what.to_string(), e.to_string())
}

impl Tokenizer {
    /// Wraps a `tokenizers` pipeline.
    pub(crate) fn from_hf(inner: HfTokenizer) -> Tokenizer {
        Tokenizer { inner }
    }

    /// Loads a `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let p = path.as_ref();
        if !p.exists() {
            return Err(Error::io(
                p.display().to_string(),
                std::io::Error::new(std::io::ErrorKind::NotFound, "tokenizer file not found"),
            ));
        }
        let mut inner = HfTokenizer::from_file(p).map_err(|e| err(&p.display().to_string(), e))?;
        // Batches are padded by the caller to their own longest text; a fixed padding length
        // from the file would only cost compute.
        inner.with_padding(None);
        Ok(Tokenizer { inner })
    }

    /// GPT-2's byte-level BPE from `vocab.json` (`encoder.json`) and `merges.txt`
    /// (`vocab.bpe`), without a prefix space.
    pub fn gpt2_bpe(vocab: impl AsRef<Path>, merges: impl AsRef<Path>) -> Result<Tokenizer> {
        let (v, m) = (vocab.as_ref().display().to_string(), merges.as_ref().display().to_string());
        for p in [&v, &m] {
            if !Path::new(p).exists() {
                return Err(Error::io(
                    p.clone(),
                    std::io::Error::new(std::io::ErrorKind::NotFound, "tokenizer file not found"),
                ));
            }
        }
        let bpe = BPE::from_file(&v, &m).build().map_err(|e| err(&v, e))?;
        let mut t = HfTokenizer::new(bpe);
        t.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
        t.with_decoder(Some(ByteLevel::default()));
        Ok(Tokenizer { inner: t })
    }

    /// Finds a model folder's tokenizer: `tokenizer.json`, else `vocab.json` + `merges.txt`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Tokenizer> {
        let d = dir.as_ref();
        if d.join("tokenizer.json").exists() {
            return Tokenizer::from_file(d.join("tokenizer.json"));
        }
        if d.join("vocab.json").exists() && d.join("merges.txt").exists() {
            return Tokenizer::gpt2_bpe(d.join("vocab.json"), d.join("merges.txt"));
        }
        Err(Error::io(
            d.display().to_string(),
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no tokenizer.json or vocab.json + merges.txt in the model folder",
            ),
        ))
    }

    /// Token ids of `text` (`add_special_tokens` as the tokenizer's post-processor defines,
    /// e.g. BERT's `[CLS] ... [SEP]`).
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        Ok(self.inner.encode(text, add_special_tokens).map_err(|e| err("tokenizer", e))?.get_ids().to_vec())
    }

    /// Ids, attention mask and token type ids (for encoders such as BERT).
    pub fn encode_full(&self, text: &str) -> Result<(Vec<u32>, Vec<u32>, Vec<u32>)> {
        let e = self.inner.encode(text, true).map_err(|e| err("tokenizer", e))?;
        Ok((e.get_ids().to_vec(), e.get_attention_mask().to_vec(), e.get_type_ids().to_vec()))
    }

    /// Text of `ids` (special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| err("tokenizer", e))
    }

    /// The id of a token string (e.g. `<|endoftext|>`), if in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
