//! A GGUF file's own tokenizer (`tokenizer.ggml.*`), rebuilt as the `tokenizers` crate's
//! pipeline that Hugging Face's converters write for the same model:
//!
//! - `gpt2` (GPT-2, Llama 3, Qwen2, ...): byte-level BPE from `tokens` and `merges`, split
//!   first by the pre-tokenizer regex `tokenizer.ggml.pre` names (GPT-2's, Llama 3's, Qwen2's).
//! - `llama` (SentencePiece BPE: Llama 2, Mistral, ...): BPE with byte fallback whose merges
//!   are derived from the vocabulary as `transformers`' converter does (every split of a
//!   piece into two pieces, ranked by the merged piece's id, which SentencePiece orders by
//!   score); spaces become `▁` and one is prepended.
//!
//! Control and user-defined tokens (`token_type` 3 and 4) are special tokens, never split;
//! `add_bos_token` adds the BOS id in front when encoding with special tokens.

use crate::tokenizer::Tokenizer;
use ember_core::{Error, Result};
use ember_io::{Gguf, GgufValue};

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer as HfTokenizer};

/// Llama 3's pre-tokenizer regex (`llama-bpe`).
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's: Llama 3's with single digits.
const QWEN2_REGEX: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn bad(what: &str, m: impl std::fmt::Display) -> Error {
    Error::format(what.to_string(), format!("tokenizer: {m}"))
}

fn strings<'a>(g: &'a Gguf, key: &str, what: &str) -> Result<Vec<&'a str>> {
    match g.get(key) {
        Some(GgufValue::Array(a)) => {
            a.iter().map(|v| v.as_str().ok_or_else(|| bad(what, format!("{key} holds a non-string")))).collect()
        }
        _ => Err(bad(what, format!("missing {key}"))),
    }
}

fn id(g: &Gguf, key: &str) -> Option<u32> {
    g.get(key).and_then(GgufValue::as_u64).and_then(|v| u32::try_from(v).ok())
}

impl Tokenizer {
    /// The tokenizer stored in a GGUF file (`gpt2` and `llama` tokenizer models).
    pub fn from_gguf(g: &Gguf, what: &str) -> Result<Tokenizer> {
        let model = g
            .get("tokenizer.ggml.model")
            .and_then(GgufValue::as_str)
            .ok_or_else(|| bad(what, "no tokenizer.ggml.model (pass --tokenizer)"))?;
        let tokens = strings(g, "tokenizer.ggml.tokens", what)?;
        let types: Vec<i64> = match g.get("tokenizer.ggml.token_type") {
            Some(GgufValue::Array(a)) => a
                .iter()
                .map(|v| match v {
                    GgufValue::I32(x) => *x as i64,
                    other => other.as_u64().map_or(1, |x| x as i64),
                })
                .collect(),
            _ => vec![1; tokens.len()],
        };
        if types.len() != tokens.len() {
            return Err(bad(what, format!("{} token types for {} tokens", types.len(), tokens.len())));
        }
        let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
        if vocab.len() != tokens.len() {
            return Err(bad(what, "tokenizer.ggml.tokens repeats a token"));
        }
        let mut t = match model {
            "gpt2" => {
                let merges = strings(g, "tokenizer.ggml.merges", what)?
                    .into_iter()
                    .map(|m| {
                        m.split_once(' ')
                            .map(|(a, b)| (a.to_string(), b.to_string()))
                            .ok_or_else(|| bad(what, format!("merge {m:?} is not two tokens")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| bad(what, e))?;
                let mut t = HfTokenizer::new(bpe);
                let pre = g.get("tokenizer.ggml.pre").and_then(GgufValue::as_str).unwrap_or("default");
                let regex = match pre {
                    "llama-bpe" | "llama3" | "llama-v3" => Some(LLAMA3_REGEX),
                    "qwen2" => Some(QWEN2_REGEX),
                    "default" | "gpt-2" | "gpt2" => None,
                    other => {
                        return Err(Error::unsupported(
                            "gguf",
                            format!("{what}: pre-tokenizer {other:?} (Ember reads default, gpt-2, llama-bpe, qwen2)"),
                        ))
                    }
                };
                match regex {
                    // GPT-2's own regex is ByteLevel's.
                    None => t.with_pre_tokenizer(Some(ByteLevel::new(false, true, true))),
                    Some(r) => {
                        let split = Split::new(SplitPattern::Regex(r.into()), SplitDelimiterBehavior::Isolated, false)
                            .map_err(|e| bad(what, e))?;
                        t.with_pre_tokenizer(Some(PreSequence::new(vec![
                            split.into(),
                            ByteLevel::new(false, false, false).into(),
                        ])))
                    }
                };
                t.with_decoder(Some(ByteLevel::default()));
                t
            }
            "llama" => {
                // Every split of each piece into two pieces, ranked by the merged piece's id.
                let mut merges: Vec<(u32, usize, String, String)> = Vec::new();
                for (piece, &pid) in &vocab {
                    for (i, _) in piece.char_indices().skip(1) {
                        let (a, b) = piece.split_at(i);
                        if vocab.contains_key(a) && vocab.contains_key(b) {
                            merges.push((pid, a.len(), a.to_string(), b.to_string()));
                        }
                    }
                }
                merges.sort();
                let merges = merges.into_iter().map(|(_, _, a, b)| (a, b)).collect();
                let unk = id(g, "tokenizer.ggml.unknown_token_id").unwrap_or(0) as usize;
                let unk = tokens.get(unk).ok_or_else(|| bad(what, "unknown_token_id out of range"))?.to_string();
                let bpe = BPE::builder()
                    .vocab_and_merges(vocab, merges)
                    .unk_token(unk)
                    .byte_fallback(true)
                    .fuse_unk(true)
                    .build()
                    .map_err(|e| bad(what, e))?;
                let mut t = HfTokenizer::new(bpe);
                let prefix = !matches!(g.get("tokenizer.ggml.add_space_prefix"), Some(GgufValue::Bool(false)));
                let replace = Replace::new(" ", "▁").map_err(|e| bad(what, e))?;
                let mut norm = vec![];
                if prefix {
                    norm.push(Prepend::new("▁".into()).into());
                }
                norm.push(replace.into());
                t.with_normalizer(Some(NormalizerSequence::new(norm)));
                let mut dec = vec![
                    Replace::new("▁", " ").map_err(|e| bad(what, e))?.into(),
                    ByteFallback::default().into(),
                    Fuse::default().into(),
                ];
                if prefix {
                    dec.push(Strip::new(' ', 1, 0).into());
                }
                t.with_decoder(Some(DecoderSequence::new(dec)));
                t
            }
            other => {
                return Err(Error::unsupported(
                    "gguf",
                    format!("{what}: tokenizer model {other:?} (Ember reads gpt2 and llama; pass --tokenizer)"),
                ))
            }
        };
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, &ty)| ty == 3 || ty == 4)
            .map(|(tok, _)| AddedToken::from(tok.to_string(), true))
            .collect();
        t.add_special_tokens(&special);
        let add_bos = match g.get("tokenizer.ggml.add_bos_token") {
            Some(GgufValue::Bool(b)) => *b,
            _ => model == "llama",
        };
        if let (true, Some(bos)) = (add_bos, id(g, "tokenizer.ggml.bos_token_id")) {
            let name = tokens.get(bos as usize).ok_or_else(|| bad(what, "bos_token_id out of range"))?.to_string();
            let post = TemplateProcessing::builder()
                .try_single(format!("{name}:0 $A:0"))
                .map_err(|e| bad(what, e))?
                .special_tokens(vec![(name, bos)])
                .build()
                .map_err(|e| bad(what, e))?;
            t.with_post_processor(Some(post));
        }
        Ok(Tokenizer::from_hf(t))
    }
}
