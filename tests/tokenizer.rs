//! Tokenizers (`data.tokenizer`): byte ids unchanged; a BPE trained on a few dozen sentences is
//! deterministic, round-trips, respects `max_length`, is trained on the training split only and
//! cached; a hand-written `tokenizer.json` gives RoBERTa's `<s> … </s>`; padding a tokenized
//! example in a batch does not move GPT-2's or RoBERTa's logits; and every error is one line that
//! names the key.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use ebt::config::{DataSection, ModelSection};
use ebt::data::tokenizer::{Origin, TextTokenizer};
use ebt::data::tokens::{self, BOS_ID};
use ebt::data::{self, DataShape, Dataset, Examples, Features};
use ebt::error::EbtError;
use ebt::models::gpt2::Gpt2Config;
use ebt::models::roberta::RobertaConfig;
use ebt::models::{ArchConfig, DropoutRng, ParamStore};
use ebt::run_dir::RunDir;

/// Forty short review-like sentences, half of each polarity.
fn sentences() -> Vec<String> {
    let subjects = [
        "the film",
        "this movie",
        "the plot",
        "the cast",
        "the ending",
    ];
    let verbs = ["is", "was", "feels", "seems"];
    let good = ["wonderful", "charming", "moving", "funny", "brilliant"];
    let bad = ["boring", "dull", "awful", "tedious", "predictable"];
    let mut out = Vec::new();
    for i in 0..20 {
        let (s, v) = (subjects[i % 5], verbs[i % 4]);
        out.push(format!(
            "{s} {v} {} and {}.",
            good[i % 5],
            good[(i + 2) % 5]
        ));
        out.push(format!("{s} {v} {} but {}!", bad[i % 5], bad[(i + 3) % 5]));
    }
    out
}

fn text_lines(dir: &Path, tokenizer: &str, max_length: usize) -> DataSection {
    let s = sentences();
    let pos: Vec<&str> = s.iter().step_by(2).map(String::as_str).collect();
    let neg: Vec<&str> = s.iter().skip(1).step_by(2).map(String::as_str).collect();
    std::fs::write(dir.join("rt.pos"), pos.join("\n")).unwrap();
    std::fs::write(dir.join("rt.neg"), neg.join("\n")).unwrap();
    DataSection {
        source: "text-lines".into(),
        paths: vec![dir.join("rt.pos"), dir.join("rt.neg")],
        test_fraction: 0.25,
        max_length,
        tokenizer: tokenizer.into(),
        vocab_size: 300,
        ..DataSection::default()
    }
}

fn tokens_of(e: &Examples) -> &[Vec<u32>] {
    match &e.features {
        Features::Tokens(t) => t,
        _ => panic!("expected tokens"),
    }
}

/// Loads `s` into run directory `run` and says where the tokenizer came from.
fn load_in(
    s: &DataSection,
    model: &ModelSection,
    run: &Path,
) -> Result<(Dataset, Origin), EbtError> {
    let run = RunDir::create(run)?;
    let corpus = data::text_lines::load(s, 1)?;
    data::tokenize(corpus, s, model, &run)
}

fn err(s: &DataSection, model: &ModelSection) -> String {
    let dir = tempfile::tempdir().unwrap();
    let e = load_in(s, model, &dir.path().join("run")).expect_err("an error");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert_eq!(e.exit_code(), 2, "{msg}");
    msg
}

#[test]
fn bytes_keep_the_old_ids() {
    let texts = vec!["abc".to_string(), "é".to_string(), String::new()];
    let ids = TextTokenizer::Bytes.encode(&texts, 3).unwrap();
    assert_eq!(
        ids,
        vec![vec![BOS_ID, 97, 98], vec![BOS_ID, 0xc3, 0xa9], vec![BOS_ID]]
    );
    assert_eq!(TextTokenizer::Bytes.shape(3), tokens::text_shape(3));
    let dir = tempfile::tempdir().unwrap();
    let s = text_lines(dir.path(), "bytes", 12);
    let (d, origin) = load_in(&s, &ModelSection::default(), &dir.path().join("run")).unwrap();
    assert_eq!(origin, Origin::Bytes);
    assert_eq!(d.shape, tokens::text_shape(12));
    let all: Vec<&Vec<u32>> = tokens_of(&d.train)
        .iter()
        .chain(tokens_of(&d.test))
        .collect();
    assert!(all.contains(&&tokens::encode("the film is wonderful and moving.", 12)));
    assert!(!dir.path().join("run/tokenizer.json").exists());
}

#[test]
fn trained_bpe_is_deterministic_round_trips_and_truncates() {
    let texts = sentences();
    let a = TextTokenizer::train_bpe(&texts, 300).unwrap();
    let b = TextTokenizer::train_bpe(&texts, 300).unwrap();
    let json = a.to_json().unwrap().unwrap();
    assert_eq!(json, b.to_json().unwrap().unwrap());
    let DataShape::Text {
        vocab_size,
        pad_id,
        bos_id,
        eos_id,
        ..
    } = a.shape(64)
    else {
        panic!()
    };
    assert_eq!((pad_id, bos_id, eos_id), (0, 1, 2));
    // 4 specials + 256 bytes + merges, at most the 300 asked for.
    assert!(vocab_size > 260 && vocab_size <= 300, "{vocab_size}");
    let probe = vec![
        "the film was charming but predictable!".to_string(),
        "Zebra-ünïcode 🎬 never seen".to_string(),
    ];
    let ids = a.encode(&probe, 64).unwrap();
    for (text, ids) in probe.iter().zip(&ids) {
        assert_eq!((ids[0], *ids.last().unwrap()), (1, 2), "{ids:?}");
        assert_eq!(&a.decode(ids).unwrap(), text);
    }
    // Words seen in training merge (38 bytes → 19 body ids with 40 merges).
    assert!(ids[0].len() < probe[0].len() * 2 / 3, "{:?}", ids[0]);
    let short = a.encode(&probe, 5).unwrap();
    assert!(short.iter().all(|s| s.len() == 5 && s[0] == 1), "{short:?}");
    assert_eq!(short[0], ids[0][..5]);
}

#[test]
fn bpe_is_cached_beside_the_run_dirs_and_saved_in_each() {
    let dir = tempfile::tempdir().unwrap();
    let s = text_lines(dir.path(), "bpe", 32);
    let runs = dir.path().join("runs");
    let m = ModelSection::default();
    let (d1, o1) = load_in(&s, &m, &runs.join("a")).unwrap();
    let Origin::Trained(cache) = o1 else {
        panic!("{o1:?}")
    };
    assert_eq!(cache.parent().unwrap(), runs.join(".cache/tokenizers"));
    let stamp = std::fs::metadata(&cache).unwrap().modified().unwrap();
    let (d2, o2) = load_in(&s, &m, &runs.join("b")).unwrap();
    assert_eq!(o2, Origin::Cached(cache.clone()));
    assert_eq!(
        std::fs::metadata(&cache).unwrap().modified().unwrap(),
        stamp
    );
    assert_eq!(tokens_of(&d1.train), tokens_of(&d2.train));
    assert_eq!(d1.shape, d2.shape);
    let saved = |r: &str| std::fs::read_to_string(runs.join(r).join("tokenizer.json")).unwrap();
    assert_eq!(saved("a"), saved("b"));
    assert_eq!(saved("a"), std::fs::read_to_string(&cache).unwrap());
    // `auto` without model.pretrained is this BPE; another vocabulary size is another entry.
    let auto = DataSection {
        tokenizer: "auto".into(),
        ..s.clone()
    };
    assert_eq!(
        load_in(&auto, &m, &runs.join("c")).unwrap().1,
        Origin::Cached(cache)
    );
    let bigger = DataSection {
        vocab_size: 320,
        ..s
    };
    assert!(matches!(
        load_in(&bigger, &m, &runs.join("d")).unwrap().1,
        Origin::Trained(_)
    ));
}

#[test]
fn bpe_sees_only_the_training_split() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    let mut rows = String::from("text,label\n");
    for (i, s) in sentences().iter().enumerate() {
        rows.push_str(&format!("{s},{}\n", i % 2));
    }
    std::fs::write(&train, rows).unwrap();
    std::fs::write(
        &test,
        "text,label\nqwxzj qwxzj qwxzj qwxzj,0\nqwxzj qwxzj,1\n",
    )
    .unwrap();
    let s = DataSection {
        source: "text-csv".into(),
        path: Some(train),
        test_path: Some(test),
        tokenizer: "bpe".into(),
        vocab_size: 400,
        max_length: 32,
        ..DataSection::default()
    };
    let run = RunDir::create(&dir.path().join("run")).unwrap();
    let d = data::load(&s, &ModelSection::default(), &run, 1).unwrap();
    let json = std::fs::read_to_string(run.tokenizer()).unwrap();
    assert!(json.contains("charming") && !json.contains("qwx"));
    // The unseen word falls apart into small pieces; the test split is still encoded.
    assert!(
        tokens_of(&d.test)[1].len() > 6,
        "{:?}",
        tokens_of(&d.test)[1]
    );
}

/// A RoBERTa-style `tokenizer.json`: a word-level vocabulary, `<s> … </s>` added, pad id 1.
fn write_roberta_like(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let added: Vec<String> = ["<s>", "<pad>", "</s>", "<unk>"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"{{"id":{i},"content":"{t}","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}}"#
            )
        })
        .collect();
    let json = format!(
        r#"{{"version":"1.0","truncation":null,"padding":null,"added_tokens":[{}],
"normalizer":null,"pre_tokenizer":{{"type":"WhitespaceSplit"}},
"post_processor":{{"type":"RobertaProcessing","sep":["</s>",2],"cls":["<s>",0],"trim_offsets":true,"add_prefix_space":false}},
"decoder":null,
"model":{{"type":"WordLevel","vocab":{{"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"hello":4,"world":5,"good":6,"bad":7}},"unk_token":"<unk>"}}}}"#,
        added.join(",")
    );
    let p = dir.join("tokenizer.json");
    std::fs::write(&p, json).unwrap();
    p
}

#[test]
fn a_tokenizer_json_from_a_directory_or_model_pretrained() {
    let dir = tempfile::tempdir().unwrap();
    let tok_dir = dir.path().join("tok");
    let file = write_roberta_like(&tok_dir);
    let t = TextTokenizer::from_file(&file, "data.tokenizer").unwrap();
    let texts = vec!["hello world".to_string(), "good hello nope".to_string()];
    assert_eq!(
        t.encode(&texts, 16).unwrap(),
        vec![vec![0, 4, 5, 2], vec![0, 6, 4, 3, 2]]
    );
    // Truncation counts the special tokens and keeps the start.
    assert_eq!(
        t.encode(&texts, 3).unwrap(),
        vec![vec![0, 4, 5], vec![0, 6, 4]]
    );
    assert_eq!(
        t.shape(16),
        DataShape::Text {
            vocab_size: 8,
            max_length: 16,
            pad_id: 1,
            bos_id: 0,
            eos_id: 2
        }
    );
    // Through data::load: the directory, and `auto` with model.pretrained = that directory.
    let s = text_lines(dir.path(), tok_dir.to_str().unwrap(), 16);
    let (d, origin) = load_in(&s, &ModelSection::default(), &dir.path().join("r1")).unwrap();
    assert_eq!(origin, Origin::File(file.clone()));
    assert!(tokens_of(&d.train)
        .iter()
        .all(|t| t[0] == 0 && t.contains(&3)));
    assert!(dir.path().join("r1/tokenizer.json").is_file());
    let auto = DataSection {
        tokenizer: "auto".into(),
        ..s
    };
    let pretrained = ModelSection {
        pretrained: Some(tok_dir.to_str().unwrap().into()),
        ..ModelSection::default()
    };
    let (_, origin) = load_in(&auto, &pretrained, &dir.path().join("r2")).unwrap();
    assert_eq!(origin, Origin::File(file));
}

#[test]
fn tokenizer_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let m = ModelSection::default();
    let with = |spec: &str| text_lines(dir.path(), spec, 16);
    let e = err(&with("/nonexistent/tokenizer.json"), &m);
    assert_eq!(e, "data.tokenizer: no file /nonexistent/tokenizer.json");
    let e = err(&with("/nonexistent/tok"), &m);
    assert_eq!(e, "data.tokenizer: no directory /nonexistent/tok");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = err(&with(empty.to_str().unwrap()), &m);
    assert_eq!(
        e,
        format!("data.tokenizer: {} lacks tokenizer.json", empty.display())
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"model\": 3,\n\"x\": [").unwrap();
    let e = err(&with(bad.to_str().unwrap()), &m);
    assert!(
        e.starts_with(&format!(
            "data.tokenizer: {}: not a valid tokenizer.json",
            bad.display()
        )),
        "{e}"
    );
    let pretrained = ModelSection {
        pretrained: Some(empty.to_str().unwrap().into()),
        ..ModelSection::default()
    };
    let e = err(&with("auto"), &pretrained);
    assert!(
        e.contains("data.tokenizer = \"auto\"")
            && e.contains(&format!(
                "model.pretrained = {} has no tokenizer.json",
                empty.display()
            )),
        "{e}"
    );
}

#[test]
fn a_bad_tokenizer_json_is_one_line_and_exit_2_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let s = text_lines(dir.path(), "bytes", 16);
    let bad = dir.path().join("tokenizer.json");
    std::fs::write(&bad, "not json").unwrap();
    let paths = format!(
        "data.paths=[{:?}, {:?}]",
        s.paths[0].display().to_string(),
        s.paths[1].display().to_string()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebt-tui"))
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1")
        .args(["--headless", "--set", "model.arch=gpt2"])
        .args(["--set", "data.source=text-lines", "--set", &paths])
        .args([
            "--set",
            &format!("data.tokenizer={:?}", bad.display().to_string()),
        ])
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a valid tokenizer.json"), "{stderr}");
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// An example's logits alone equal its logits beside a longer example (so padded), in eval
/// mode, for GPT-2 and RoBERTa on ids from the trained BPE and from the RoBERTa-style file.
#[test]
fn padding_a_tokenized_example_does_not_move_its_logits() {
    let dir = tempfile::tempdir().unwrap();
    let roberta_like =
        TextTokenizer::from_file(&write_roberta_like(dir.path()), "data.tokenizer").unwrap();
    let bpe = TextTokenizer::train_bpe(&sentences(), 300).unwrap();
    let texts = vec![
        "good film".to_string(),
        "the film was charming and moving but the ending was predictable and dull hello".into(),
    ];
    let m = ModelSection {
        hidden_size: 16,
        num_layers: 2,
        num_heads: 2,
        intermediate_size: 32,
        dropout: 0.1,
        attention_dropout: 0.1,
        initializer_range: 0.2,
        ..ModelSection::default()
    };
    let dev = Device::Cpu;
    for tok in [&bpe, &roberta_like] {
        let shape = tok.shape(24);
        let ids = tok.encode(&texts, 24).unwrap();
        assert!(ids[0].len() + 3 < ids[1].len(), "{ids:?}");
        let ex = Examples::new(Features::Tokens(ids), vec![0, 1]);
        for arch in [
            ArchConfig::Gpt2(Gpt2Config::from_experiment(&m, &shape, 2).unwrap()),
            ArchConfig::Roberta(RobertaConfig::from_experiment(&m, &shape, 2).unwrap()),
        ] {
            let store = ParamStore::new(3, &dev);
            let model = arch
                .build(store.train_builder(), DropoutRng::new(0))
                .unwrap();
            let alone = model
                .forward(&ex.batch(&[0], &shape, &dev).unwrap().input, false)
                .unwrap();
            let both = model
                .forward(&ex.batch(&[0, 1], &shape, &dev).unwrap().input, false)
                .unwrap();
            let row0 = both.narrow(0, 0, 1).unwrap();
            let d = max_abs_diff(&alone, &row0);
            assert!(
                d <= 1e-5,
                "{}: padding moved the logits by {d}",
                arch.name()
            );
            // The longer example has other logits, so the check could fail.
            assert!(max_abs_diff(&row0, &both.narrow(0, 1, 1).unwrap()) > 1e-3);
        }
    }
}
