//! A GGUF file's own tokenizer (`tokenizer.ggml.*`), written here as llama.cpp's converter
//! lays it out: GPT-2's byte-level BPE gives the same ids as the tokenizer built from GPT-2's
//! `encoder.json` and `vocab.bpe`; a SentencePiece-style (`llama`) vocabulary segments as the
//! merge order derived from its ids says (worked out by hand below), with byte fallback.

use ember_io::gguf::parse_gguf;
use ember_io::gguf_write::gguf_bytes;
use ember_io::GgufValue as V;
use ember_models::Tokenizer;

const BPE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/gpt2-bpe");

fn strs(v: &[String]) -> V {
    V::Array(v.iter().map(|s| V::String(s.clone())).collect())
}

fn tokenizer(meta: Vec<(&str, V)>) -> Tokenizer {
    let meta: Vec<(String, V)> = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let g = parse_gguf(gguf_bytes(&meta, &[]).unwrap(), "t.gguf").unwrap();
    Tokenizer::from_gguf(&g, "t.gguf").unwrap()
}

#[test]
fn gpt2_bpe_from_gguf_matches_vocab_and_merges() {
    let vocab: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{BPE_DIR}/encoder.json")).unwrap()).unwrap();
    let mut tokens = vec![String::new(); vocab.len()];
    for (t, id) in &vocab {
        tokens[id.as_u64().unwrap() as usize] = t.clone();
    }
    let merges: Vec<String> = std::fs::read_to_string(format!("{BPE_DIR}/vocab.bpe"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("#version") && !l.is_empty())
        .map(str::to_string)
        .collect();
    let types: Vec<V> = tokens.iter().map(|t| V::I32(if t == "<|endoftext|>" { 3 } else { 1 })).collect();
    let t = tokenizer(vec![
        ("tokenizer.ggml.model", V::String("gpt2".into())),
        ("tokenizer.ggml.pre", V::String("gpt-2".into())),
        ("tokenizer.ggml.tokens", strs(&tokens)),
        ("tokenizer.ggml.token_type", V::Array(types)),
        ("tokenizer.ggml.merges", strs(&merges)),
        ("tokenizer.ggml.bos_token_id", V::U32(50256)),
        ("tokenizer.ggml.eos_token_id", V::U32(50256)),
    ]);
    let reference = Tokenizer::gpt2_bpe(format!("{BPE_DIR}/encoder.json"), format!("{BPE_DIR}/vocab.bpe")).unwrap();
    for text in
        ["Hello, world!", "  two  spaces and 12345 digits", "naïve café — ünïcödé ✓", "line\nbreaks\n\n", "it's we'll"]
    {
        let want = reference.encode(text, false).unwrap();
        assert_eq!(t.encode(text, true).unwrap(), want, "{text:?}");
        assert_eq!(t.decode(&want).unwrap(), text);
    }
    // The control token is one id, never split.
    assert_eq!(t.encode("a<|endoftext|>b", true).unwrap(), [64, 50256, 65]);
}

#[test]
fn sentencepiece_vocabulary_from_gguf_merges_by_piece_order_with_byte_fallback() {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    tokens.extend((0..256).map(|b| format!("<0x{b:02X}>")));
    let pieces = ["▁", "h", "e", "l", "o", "w", "r", "d", "ll", "▁h", "▁he", "llo", "▁hello", "▁w", "or", "▁wor", "ld"];
    tokens.extend(pieces.iter().map(|p| p.to_string()));
    let id = |p: &str| tokens.iter().position(|t| t == p).unwrap() as u32;
    let types: Vec<V> = (0..tokens.len())
        .map(|i| {
            V::I32(if i == 0 {
                2
            } else if i < 3 {
                3
            } else if i < 259 {
                6
            } else {
                1
            })
        })
        .collect();
    let t = tokenizer(vec![
        ("tokenizer.ggml.model", V::String("llama".into())),
        ("tokenizer.ggml.tokens", strs(&tokens)),
        ("tokenizer.ggml.scores", V::Array((0..tokens.len()).map(|i| V::F32(-(i as f32))).collect())),
        ("tokenizer.ggml.token_type", V::Array(types)),
        ("tokenizer.ggml.bos_token_id", V::U32(1)),
        ("tokenizer.ggml.eos_token_id", V::U32(2)),
        ("tokenizer.ggml.unknown_token_id", V::U32(0)),
    ]);
    // "▁hello▁world": ll, ▁h, ▁he, llo, ▁hello, ▁w, or, ▁wor, ld merge in id order.
    let ids = t.encode("hello world", true).unwrap();
    assert_eq!(ids, [1, id("▁hello"), id("▁wor"), id("ld")]);
    assert_eq!(t.decode(&ids[1..]).unwrap(), "hello world");
    // '€' is not a piece: its three UTF-8 bytes.
    let ids = t.encode("h€", true).unwrap();
    assert_eq!(ids, [1, id("▁h"), 3 + 0xE2, 3 + 0x82, 3 + 0xAC]);
    assert_eq!(t.decode(&ids[1..]).unwrap(), "h€");
    assert_eq!(t.encode("hello", false).unwrap(), [id("▁hello")], "no BOS without special tokens");
}

#[test]
fn missing_or_unknown_tokenizers_are_clear_errors() {
    let g = parse_gguf(gguf_bytes(&[], &[]).unwrap(), "t.gguf").unwrap();
    assert!(Tokenizer::from_gguf(&g, "t.gguf").unwrap_err().to_string().contains("no tokenizer.ggml.model"));
    let meta = vec![
        ("tokenizer.ggml.model".to_string(), V::String("bert".into())),
        ("tokenizer.ggml.tokens".to_string(), strs(&["a".to_string()])),
    ];
    let g = parse_gguf(gguf_bytes(&meta, &[]).unwrap(), "t.gguf").unwrap();
    assert!(Tokenizer::from_gguf(&g, "t.gguf").unwrap_err().to_string().contains("tokenizer model \"bert\""));
    let meta = vec![
        ("tokenizer.ggml.model".to_string(), V::String("gpt2".into())),
        ("tokenizer.ggml.tokens".to_string(), strs(&["a".to_string(), "a".to_string()])),
    ];
    let g = parse_gguf(gguf_bytes(&meta, &[]).unwrap(), "t.gguf").unwrap();
    assert!(Tokenizer::from_gguf(&g, "t.gguf").unwrap_err().to_string().contains("repeats a token"));
}
