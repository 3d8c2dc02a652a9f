//! Loading speed of the file-based sources, median of 3 runs each:
//! - MNIST 10k (idx, gzipped): ../shared/data/mnist when present, else 10,000 synthetic images
//!   written in the same format;
//! - 25,000 reviews in an aclImdb tree (`imdb`, one file each) and in one CSV (`text-csv`),
//!   written here from a fixed word list (~1,300 bytes each, like IMDB), tokenized to 256;
//! - rt-polarity (`text-lines`, 10,662 sentences) when ../shared/data has it.
//!
//! Run: `cargo run --release --example bench_load`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ebt::config::DataSection;
use ebt::data;

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
    if rt.is_dir() {
        report("text-lines rt-polarity 10,662 sentences", || DataSection {
            paths: vec![rt.join("rt-polarity.pos"), rt.join("rt-polarity.neg")],
            ..section("text-lines", None, 64)
        })?;
    }
    Ok(())
}

fn section(source: &str, path: Option<&Path>, max_length: usize) -> DataSection {
    DataSection {
        source: source.into(),
        path: path.map(Path::to_path_buf),
        max_length,
        ..DataSection::default()
    }
}

/// Loads `make()`'s section `RUNS` times; prints the median and every run.
fn report(name: &str, make: impl Fn() -> DataSection) -> Result<(), Box<dyn std::error::Error>> {
    let mut ms = Vec::new();
    let mut n = 0;
    for _ in 0..RUNS {
        let s = make();
        let t = Instant::now();
        let d = data::load(&s, 42)?;
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
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            s.push_str(WORDS[(self.0 % 16) as usize]);
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
