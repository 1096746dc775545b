//! all-MiniLM-L6-v2 (real weights, fetched and cached by scripts/fetch-models.sh, which the test
//! command runs first): the tokenizer gives the reference ids and the sentence embeddings match
//! sentence-transformers to 1e-5. Also the GPT-2 BPE tokenizer against its reference ids.

use ember_core::{no_grad, DType, Tensor};
use ember_models::{embed, Bert, Tokenizer, WeightFormat};

fn model_dir() -> std::path::PathBuf {
    let cache = std::env::var("EMBER_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/ember"));
    let d = cache.join("all-minilm-l6-v2");
    assert!(
        d.join("model.safetensors").exists(),
        "all-MiniLM-L6-v2 is not cached at {}: run scripts/fetch-models.sh (scripts/test.sh does)",
        d.display()
    );
    d
}

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/minilm/minilm_reference.safetensors");

#[test]
fn minilm_tokenizer_gives_reference_ids() {
    let tok = Tokenizer::from_dir(model_dir()).unwrap();
    let r = ember_io::load_safetensors(FIX).unwrap();
    let ids = r["input_ids"].to_vec::<i64>().unwrap();
    let mask = r["attention_mask"].to_vec::<i64>().unwrap();
    for (row, text) in ["The quick brown fox jumps over the lazy dog.", "Hello world"].iter().enumerate() {
        let got = tok.encode(text, true).unwrap();
        let n = mask[row * 12..(row + 1) * 12].iter().filter(|&&m| m == 1).count();
        let want: Vec<u32> = ids[row * 12..row * 12 + n].iter().map(|&x| x as u32).collect();
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn minilm_sentence_embeddings_match_sentence_transformers() {
    let dir = model_dir();
    let model = Bert::from_pretrained(&dir, WeightFormat::F32).unwrap();
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let r = ember_io::load_safetensors(FIX).unwrap();
    let emb =
        no_grad(|| embed(&model, &tok, &["The quick brown fox jumps over the lazy dog.", "Hello world"])).unwrap();
    let want = &r["sentence_embedding"];
    assert_eq!(emb.shape(), want.shape());
    let d = emb.sub(want).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap();
    assert!(d < 1e-5, "max embedding error {d}");
    // Hidden states on the valid tokens and the pooler too.
    let hidden = no_grad(|| model.forward(&r["input_ids"], &r["attention_mask"], &r["token_type_ids"])).unwrap();
    let mask = r["attention_mask"].to_dtype(DType::F32).unwrap().unsqueeze(-1).unwrap();
    let dh = hidden
        .sub(&r["last_hidden_state"])
        .unwrap()
        .mul(&mask)
        .unwrap()
        .abs()
        .unwrap()
        .max()
        .unwrap()
        .item::<f32>()
        .unwrap();
    assert!(dh < 1e-4, "max hidden-state error on valid tokens {dh}");
    let pooled = no_grad(|| model.pooler_output(&hidden)).unwrap().unwrap();
    let dp = pooled.sub(&r["pooler_output"]).unwrap().abs().unwrap().max().unwrap().item::<f32>().unwrap();
    assert!(dp < 1e-4, "max pooler error {dp}");
    let _ = Tensor::scalar(0f32);
}

#[test]
fn gpt2_bpe_tokenizer_matches_reference_ids() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/gpt2-bpe");
    let tok = Tokenizer::gpt2_bpe(format!("{dir}/encoder.json"), format!("{dir}/vocab.bpe")).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/gpt2_bpe_reference.json")).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let want: Vec<u32> = c["ids"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        assert_eq!(tok.encode(text, false).unwrap(), want, "{text:?}");
        assert_eq!(tok.decode(&want).unwrap(), text);
    }
    assert_eq!(tok.token_to_id("<|endoftext|>"), Some(50256));
}
