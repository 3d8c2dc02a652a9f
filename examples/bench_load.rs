//! Loading speed of the file-based sources, median of 3 runs each:
//! - MNIST 10k (idx, gzipped): ../shared/data/mnist when present, else 10,000 synthetic images
//!   written in the same format;
//! - 25,000 reviews in an aclImdb tree (`imdb`, one file each) and in one CSV (`text-csv`),
//!   written here from a fixed word list (~1,300 bytes each, like IMDB), tokenized to 256;
//! - rt-polarity (`text-lines`, 10,662 sentences) when ../shared/data has it;
//! - the byte-level BPE (`data.tokenizer = "bpe"`, 4,096 ids) on 25,000 reviews of ~1,300 bytes
//!   made of rt-polarity sentences (real words; synthetic pseudo-words without ../shared/data):
//!   training and encoding to 256 ids timed separately.
//!
//! The loaders use byte tokens here, so their times are the reading and splitting alone.
//! Run: `cargo run --release --example bench_load`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ebt::config::{DataSection, ModelSection};
use ebt::data;
use ebt::data::tokenizer::TextTokenizer;
use ebt::run_dir::RunDir;

const RUNS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let tmp = tempfile::tempdir()?;

    let mnist = shared.join("mnist");
    let (mnist, what) = if mnist.is_dir() {
        (mnist, "../shared/data/mnist")
    } else {
        (write_mnist(tmp.path(), 10_000)?, "synthetic")
    };
    report(&format!("mnist 10k idx.gz ({what})"), || {
        section("mnist", Some(&mnist), 32)
    })?;

    let acl = write_imdb(&tmp.path().join("aclImdb"), 12_500)?;
    report("imdb 25k reviews (aclImdb tree)", || {
        section("imdb", Some(&acl), 256)
    })?;
    let csv = write_csv(&tmp.path().join("reviews.csv"), 25_000)?;
    report("text-csv 25k reviews (one CSV)", || {
        section("text-csv", Some(&csv), 256)
    })?;

    let rt = shared.join("rt-polarity");
    let mut sentences = Vec::new();
    if rt.is_dir() {
        report("text-lines rt-polarity 10,662 sentences", || DataSection {
            paths: vec![rt.join("rt-polarity.pos"), rt.join("rt-polarity.neg")],
            ..section("text-lines", None, 64)
        })?;
        for f in ["rt-polarity.pos", "rt-polarity.neg"] {
            let text = std::fs::read_to_string(rt.join(f))?;
            sentences.extend(text.lines().map(str::trim).map(String::from));
        }
    }
    bench_bpe(&sentences)?;
    Ok(())
}

/// Trains the 4,096-id BPE on 25,000 reviews and encodes them to 256 ids, `RUNS` times each.
fn bench_bpe(sentences: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut w = Words(0x51_7cc1_b727_220a);
    let what = if sentences.is_empty() {
        "synthetic pseudo-words"
    } else {
        "rt-polarity sentences"
    };
    let reviews: Vec<String> = (0..25_000)
        .map(|_| {
            if sentences.is_empty() {
                w.pseudo_words(1300)
            } else {
                w.sentences(sentences, 1300)
            }
        })
        .collect();
    let mb = reviews.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let (mut train_s, mut encode_s) = (Vec::new(), Vec::new());
    let mut tokens = 0;
    let mut vocab = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let tok = TextTokenizer::train_bpe(&reviews, 4096)?;
        train_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let ids = tok.encode(&reviews, 256)?;
        encode_s.push(t.elapsed().as_secs_f64());
        tokens = ids.iter().map(Vec::len).sum::<usize>();
        if let ebt::data::DataShape::Text { vocab_size, .. } = tok.shape(256) {
            vocab = vocab_size;
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[RUNS / 2]
    };
    let runs = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (tr, en) = (runs(&train_s), runs(&encode_s));
    println!(
        "bpe 25k reviews ({what}, {mb:.1} MB): train {vocab} ids median {:.2} s (runs: {tr} s); \
         encode to 256 median {:.2} s (runs: {en} s), {:.0} ids/review",
        median(&mut train_s),
        median(&mut encode_s),
        tokens as f64 / reviews.len() as f64
    );
    Ok(())
}

fn section(source: &str, path: Option<&Path>, max_length: usize) -> DataSection {
    DataSection {
        source: source.into(),
        path: path.map(Path::to_path_buf),
        max_length,
        tokenizer: "bytes".into(),
        ..DataSection::default()
    }
}

/// Loads `make()`'s section `RUNS` times; prints the median and every run.
fn report(name: &str, make: impl Fn() -> DataSection) -> Result<(), Box<dyn std::error::Error>> {
    let mut ms = Vec::new();
    let mut n = 0;
    let dir = tempfile::tempdir()?;
    let run = RunDir::create(dir.path())?;
    for _ in 0..RUNS {
        let s = make();
        let t = Instant::now();
        let d = data::load(&s, &ModelSection::default(), &run, 42)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        n = d.train.len() + d.test.len();
    }
    let runs: Vec<String> = ms.iter().map(|m| format!("{m:.0}")).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{name}: {n} examples, median {:.0} ms (runs: {} ms)",
        ms[RUNS / 2],
        runs.join(", ")
    );
    Ok(())
}

/// A deterministic stream of words (xorshift over a fixed list).
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Randomly drawn `sentences`, joined, up to about `bytes`.
    fn sentences(&mut self, sentences: &[String], bytes: usize) -> String {
        let mut s = String::with_capacity(bytes + 200);
        while s.len() < bytes {
            s.push_str(&sentences[(self.next() % sentences.len() as u64) as usize]);
            s.push(' ');
        }
        s
    }

    /// Words of 1-4 syllables from 64, the short ones more often (a rough Zipf shape).
    fn pseudo_words(&mut self, bytes: usize) -> String {
        const SYL: [&str; 8] = ["ka", "lo", "mi", "te", "ru", "sa", "ne", "po"];
        let mut s = String::with_capacity(bytes + 16);
        while s.len() < bytes {
            let r = self.next();
            let n = 1 + (r % 16).trailing_zeros().min(3) as usize;
            for k in 0..n {
                s.push_str(SYL[((r >> (8 + 6 * k)) % 8) as usize]);
                s.push_str(SYL[((r >> (11 + 6 * k)) % 8) as usize]);
            }
            s.push(' ');
        }
        s
    }

    fn text(&mut self, bytes: usize) -> String {
        const WORDS: [&str; 16] = [
            "the",
            "film",
            "was",
            "a",
            "wonderful",
            "boring",
            "story",
            "of",
            "actors",
            "and",
            "plot",
            "never",
            "really",
            "works",
            "but",
            "charm",
        ];
        let mut s = String::with_capacity(bytes + 16);
        while s.len() < bytes {
            let r = self.next();
            s.push_str(WORDS[(r % 16) as usize]);
            s.push(' ');
        }
        s
    }
}

fn write_mnist(dir: &Path, n: usize) -> std::io::Result<PathBuf> {
    let gz = |name: &str, dims: &[u32], payload: &[u8]| -> std::io::Result<()> {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(dir.join(name))?,
            flate2::Compression::default(),
        );
        e.write_all(&[0, 0, 8, dims.len() as u8])?;
        for d in dims {
            e.write_all(&d.to_be_bytes())?;
        }
        e.write_all(payload)?;
        e.finish().map(|_| ())
    };
    // Mostly-black strokes compress like the real digits.
    let px: Vec<u8> = (0..n * 784)
        .map(|i| if i % 7 == 0 { (i % 251) as u8 } else { 0 })
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    gz("t10k-images-idx3-ubyte.gz", &[n as u32, 28, 28], &px)?;
    gz("t10k-labels-idx1-ubyte.gz", &[n as u32], &labels)?;
    Ok(dir.to_path_buf())
}

fn write_imdb(root: &Path, per_class: usize) -> std::io::Result<PathBuf> {
    let mut w = Words(0x9e37_79b9_7f4a_7c15);
    for class in ["pos", "neg"] {
        let d = root.join("train").join(class);
        std::fs::create_dir_all(&d)?;
        for k in 0..per_class {
            std::fs::write(d.join(format!("{k}_8.txt")), w.text(1300))?;
        }
    }
    Ok(root.to_path_buf())
}

fn write_csv(path: &Path, n: usize) -> std::io::Result<PathBuf> {
    let mut w = Words(0x2545_f491_4f6c_dd1d);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "text,label")?;
    for i in 0..n {
        writeln!(f, "\"{}, quoted\",{}", w.text(1300), ["neg", "pos"][i % 2])?;
    }
    f.flush()?;
    Ok(path.to_path_buf())
}
