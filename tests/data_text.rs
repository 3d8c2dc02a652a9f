//! Text sources on tiny files written here: CSV (quoted commas, header), TSV (no header), JSONL,
//! an aclImdb-like tree and one-file-per-class line files; every malformed input fails with a
//! message that names the file and the line.

use std::path::Path;

use ebt::config::{Column, DataSection};
use ebt::data::tokens::{encode, BOS_ID, PAD_ID, VOCAB_SIZE};
use ebt::data::{DataShape, Dataset, Features};

mod common;
use common::load;

fn section(source: &str, path: &Path) -> DataSection {
    DataSection {
        source: source.into(),
        path: Some(path.to_path_buf()),
        test_fraction: 0.25,
        max_length: 16,
        tokenizer: "bytes".into(),
        ..DataSection::default()
    }
}

/// Every (tokens, class name) of both splits, sorted, for order-free comparisons.
fn examples(d: &Dataset) -> Vec<(Vec<u32>, String)> {
    let mut out = Vec::new();
    for ex in [&d.train, &d.test] {
        let Features::Tokens(t) = &ex.features else {
            panic!("expected tokens")
        };
        for (seq, &y) in t.iter().zip(&ex.labels) {
            out.push((seq.clone(), d.class_names[y as usize].clone()));
        }
    }
    out.sort();
    out
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn err(s: &DataSection) -> String {
    let e = load(s, 1).unwrap_err().to_string();
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

#[test]
fn csv_with_header_quoted_commas_and_string_labels() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "reviews.csv",
        "id,review,sentiment\n\
         1,\"good, very good\",pos\n\
         2,bad,neg\n\
         3,\"a \"\"quoted\"\" word\",pos\n\
         4,\"two\nlines\",neg\n",
    );
    let mut s = section("text-csv", &p);
    s.text_column = Some(Column::Name("review".into()));
    s.label_column = Some(Column::Name("sentiment".into()));
    let d = load(&s, 1).unwrap();
    assert_eq!(d.name, "reviews");
    assert_eq!(d.class_names, ["neg", "pos"]);
    assert_eq!(
        d.shape,
        DataShape::Text {
            vocab_size: VOCAB_SIZE,
            max_length: 16,
            pad_id: PAD_ID,
            bos_id: BOS_ID,
            eos_id: 258
        }
    );
    let mut want = vec![
        (encode("good, very good", 16), "pos".to_string()),
        (encode("bad", 16), "neg".into()),
        (encode("a \"quoted\" word", 16), "pos".into()),
        (encode("two\nlines", 16), "neg".into()),
    ];
    want.sort();
    assert_eq!(examples(&d), want);
    assert_eq!((d.train.len(), d.test.len()), (2, 2));
    // Columns by index work with a header too.
    s.text_column = Some(Column::Index(1));
    s.label_column = Some(Column::Index(2));
    assert_eq!(examples(&load(&s, 1).unwrap()), want);
}

#[test]
fn tsv_without_header_integer_labels_and_a_test_file() {
    let dir = tempfile::tempdir().unwrap();
    // Quotes are plain characters in TSV.
    let train = write(
        dir.path(),
        "train.tsv",
        "say \"hi\"\t10\nb\t2\nc\t10\nd\t2\n",
    );
    let test = write(dir.path(), "test.tab", "e\t2\n");
    let mut s = section("text-csv", &train);
    s.header = false;
    s.test_path = Some(test.clone());
    let d = load(&s, 1).unwrap();
    // Integer classes sort by value: 2 before 10.
    assert_eq!(d.class_names, ["2", "10"]);
    assert_eq!(d.train.labels, [1, 0, 1, 0]);
    assert_eq!(d.test.labels, [0]);
    let Features::Tokens(t) = &d.train.features else {
        panic!()
    };
    assert_eq!(t[0], encode("say \"hi\"", 16));
    // A test label the training file lacks.
    std::fs::write(&test, "e\t3\n").unwrap();
    let e = err(&s);
    assert!(
        e.contains("test.tab: line 1: label \"3\" is not one of the training classes (2, 10)"),
        "{e}"
    );
    // A name needs a header.
    s.text_column = Some(Column::Name("text".into()));
    let e = err(&s);
    assert!(
        e.starts_with("data.text_column: \"text\" names a column but data.header = false"),
        "{e}"
    );
}

#[test]
fn jsonl_with_string_and_integer_labels() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "data.jsonl",
        "{\"text\": \"héllo\", \"label\": 1}\n\n{\"text\": \"bye\", \"label\": 0, \"x\": null}\n{\"text\": \"yo\", \"label\": 1}\n{\"text\": \"no\", \"label\": 0}\n",
    );
    let d = load(&section("text-csv", &p), 1).unwrap();
    assert_eq!(d.class_names, ["0", "1"]);
    assert!(examples(&d).contains(&(encode("héllo", 16), "1".into())));
    let p = write(
        dir.path(),
        "named.ndjson",
        "{\"t\": \"a\", \"y\": \"spam\"}\n{\"t\": \"b\", \"y\": \"ham\"}\n",
    );
    let mut s = section("text-csv", &p);
    s.text_column = Some(Column::Name("t".into()));
    s.label_column = Some(Column::Name("y".into()));
    let d = load(&s, 1).unwrap();
    assert_eq!(d.class_names, ["ham", "spam"]);
    s.text_column = Some(Column::Index(0));
    assert!(err(&s).starts_with("data.text_column: JSONL rows are objects"));
}

#[test]
fn table_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, &[u8], &str)> = vec![
        (
            "a.csv",
            b"text,label\nok,1\nmissing\n",
            "a.csv: line 3: 1 field, no column 1 (data.label_column)",
        ),
        (
            "b.csv",
            b"text,label\nok,1\n\xff\xfe,0\n",
            "b.csv: line 3: invalid UTF-8 in column 0",
        ),
        (
            "c.csv",
            b"body,label\nok,1\n",
            "c.csv: line 1: no column \"text\" (data.text_column); the header has: body, label",
        ),
        (
            "d.csv",
            b"text,label\nok,1\n  ,0\n",
            "d.csv: line 3: empty text",
        ),
        ("e.csv", b"text,label\nok,\n", "e.csv: line 2: empty label"),
        ("f.csv", b"text,label\n", "f.csv: no examples"),
        (
            "g.csv",
            b"text,label\na,1\nb,1\n",
            "g.csv: only one class (1)",
        ),
        (
            "h.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"a\" \"label\": 1}\n",
            "h.jsonl: line 2: invalid JSON at column",
        ),
        (
            "i.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n[1]\n",
            "i.jsonl: line 2: not a JSON object",
        ),
        (
            "j.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"label\": 1}\n",
            "j.jsonl: line 2: no key \"text\" (data.text_column)",
        ),
        (
            "k.jsonl",
            b"{\"text\": \"a\", \"label\": 1.5}\n",
            "k.jsonl: line 1: label 1.5 is neither a string nor an integer",
        ),
        (
            "l.jsonl",
            b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"\xc3\", \"label\": 1}\n",
            "l.jsonl: line 2: invalid UTF-8",
        ),
        ("m.txt", b"a,1\n", "data.format: cannot tell the format of"),
    ];
    for (name, body, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let e = err(&section("text-csv", &p));
        assert!(e.contains(want), "{name}: {e:?} lacks {want:?}");
    }
    let e = err(&section("text-csv", &dir.path().join("none.csv")));
    assert!(e.contains("none.csv: cannot read"), "{e}");
}

/// `root/{train,test}/{pos,neg}/k_r.txt`, plus an ignored `unsup/`.
fn imdb_tree(root: &Path, per_class: usize) {
    for split in ["train", "test"] {
        for class in ["pos", "neg"] {
            let d = root.join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for k in 0..per_class {
                std::fs::write(
                    d.join(format!("{k}_7.txt")),
                    format!("{class} review {k}<br /><br />end"),
                )
                .unwrap();
            }
        }
    }
    std::fs::create_dir_all(root.join("train/unsup")).unwrap();
    std::fs::write(root.join("train/unsup/0_0.txt"), "unlabelled").unwrap();
}

#[test]
fn imdb_tree_gives_both_splits() {
    let dir = tempfile::tempdir().unwrap();
    imdb_tree(&dir.path().join("aclImdb"), 3);
    let mut s = section("imdb", dir.path());
    s.max_length = 64;
    let d = load(&s, 1).unwrap();
    assert_eq!(d.class_names, ["neg", "pos"]);
    assert_eq!((d.train.len(), d.test.len()), (6, 6));
    assert_eq!(d.train.labels, [0, 0, 0, 1, 1, 1]);
    let Features::Tokens(t) = &d.train.features else {
        panic!()
    };
    assert_eq!(t[4], encode("pos review 1  end", 64));
    // Without test/, the training reviews are split.
    std::fs::remove_dir_all(dir.path().join("aclImdb/test")).unwrap();
    s.test_fraction = 0.34;
    let d = load(&s, 1).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (4, 2));
}

#[test]
fn imdb_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    imdb_tree(dir.path(), 2);
    let s = section("imdb", dir.path());
    let bad = dir.path().join("test/neg/1_2.txt");
    std::fs::write(&bad, b"fine\nfine\nbad \xff").unwrap();
    let e = err(&s);
    assert!(e.contains("test/neg/1_2.txt: line 3: invalid UTF-8"), "{e}");
    std::fs::write(&bad, b"  \n").unwrap();
    assert!(err(&s).contains("test/neg/1_2.txt: empty review"));
    std::fs::write(&bad, "fine").unwrap();
    std::fs::remove_dir_all(dir.path().join("test/pos")).unwrap();
    assert!(err(&s).contains("test/pos: missing (every split needs pos/ and neg/)"));
    let e = err(&section("imdb", &dir.path().join("nowhere")));
    assert!(e.contains("nowhere: no train/ folder"), "{e}");
}

#[test]
fn text_lines_one_class_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let pos = write(dir.path(), "rt.pos", "great fun\n\nloved it\nsuperb\nyes\n");
    let neg = write(dir.path(), "rt.neg", "dull\nawful\nmeh\nno\n");
    let s = DataSection {
        source: "text-lines".into(),
        paths: vec![pos.clone(), neg.clone()],
        test_fraction: 0.25,
        max_length: 8,
        tokenizer: "bytes".into(),
        ..DataSection::default()
    };
    let d = load(&s, 1).unwrap();
    assert_eq!(d.name, "rt");
    assert_eq!(d.class_names, ["pos", "neg"]);
    assert_eq!(d.train.len() + d.test.len(), 8);
    assert_eq!(
        (
            d.test.labels.len(),
            d.test.labels.iter().filter(|&&y| y == 0).count()
        ),
        (2, 1)
    );
    assert!(examples(&d).contains(&(encode("great fun", 8), "pos".into())));
    std::fs::write(&neg, b"ok\n\xc0\n").unwrap();
    let e = err(&s);
    assert!(e.contains("rt.neg: line 2: invalid UTF-8"), "{e}");
    std::fs::write(&neg, "\n\n").unwrap();
    assert!(err(&s).contains("rt.neg: no examples"));
}

/// The real files of ../shared/data, when this checkout has them (a fresh clone does not; the
/// test then checks nothing).
#[test]
fn shared_real_sets_when_present() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let rt = shared.join("rt-polarity");
    if rt.is_dir() {
        let s = DataSection {
            source: "text-lines".into(),
            paths: vec![rt.join("rt-polarity.pos"), rt.join("rt-polarity.neg")],
            max_length: 64,
            tokenizer: "bytes".into(),
            ..DataSection::default()
        };
        let d = load(&s, 42).unwrap();
        assert_eq!(d.train.len() + d.test.len(), 10_662);
        assert_eq!(d.test.len(), 2 * 1066);
    }
    let mnist = shared.join("mnist");
    if mnist.is_dir() {
        let d = load(&section("mnist", &mnist), 42).unwrap();
        assert_eq!(d.train.len() + d.test.len(), 10_000);
        assert_eq!(
            d.shape,
            DataShape::Image {
                channels: 1,
                height: 28,
                width: 28
            }
        );
    }
}
