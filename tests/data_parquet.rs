//! CIFAR-10 and IMDB as parquet tables, laid out as the Hugging Face hub serves them
//! (`plain_text/{train,test}-00000-of-00001.parquet`), written here with real PNG bytes: read from
//! a directory, a single file and a fake hub cache; every malformed table fails in one line that
//! names the file, the row and the column.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ebt::config::{Column, DataSection};
use ebt::data::tokens::encode;
use ebt::data::{DataShape, Dataset, Features};
use ebt::hub::HubEnv;
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// `datasets`' schema for CIFAR-10: an `Image` struct and a class label.
const CIFAR_SCHEMA: &str = "message schema {
    optional group img { optional binary bytes; optional binary path (UTF8); }
    optional int64 label;
}";
const IMDB_SCHEMA: &str = "message schema { optional binary text (UTF8); optional int64 label; }";

/// One parquet column's values, all present (no nulls).
enum Values {
    Bytes(Vec<Vec<u8>>),
    Int64(Vec<i64>),
    Int32(Vec<i32>),
}

/// Writes one row group, the leaf columns in schema order, each with its max definition level
/// (every value present).
fn write_table(path: &Path, schema: &str, columns: &[(Values, i16)]) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    for (values, def) in columns {
        let mut col = rg.next_column().unwrap().unwrap();
        match values {
            Values::Bytes(v) => {
                let v: Vec<ByteArray> = v.iter().map(|b| ByteArray::from(b.clone())).collect();
                let defs = vec![*def; v.len()];
                col.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&defs), None)
                    .unwrap();
            }
            Values::Int64(v) => {
                let defs = vec![*def; v.len()];
                col.typed::<Int64Type>()
                    .write_batch(v, Some(&defs), None)
                    .unwrap();
            }
            Values::Int32(v) => {
                let defs = vec![*def; v.len()];
                col.typed::<Int32Type>()
                    .write_batch(v, Some(&defs), None)
                    .unwrap();
            }
        }
        col.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

/// PNG bytes of a 32×32 RGB image whose pixel (x, y) is (8x, 8y, `b`).
fn png(side: u32, b: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        image::Rgb([(x * 8) as u8, (y * 8) as u8, b])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn write_cifar(path: &Path, images: Vec<Vec<u8>>, labels: Vec<i64>) {
    let names = (0..images.len())
        .map(|i| format!("{i}.png").into_bytes())
        .collect();
    write_table(
        path,
        CIFAR_SCHEMA,
        &[
            (Values::Bytes(images), 2),
            (Values::Bytes(names), 2),
            (Values::Int64(labels), 1),
        ],
    );
}

fn write_imdb(path: &Path, rows: &[(&str, i64)]) {
    write_table(
        path,
        IMDB_SCHEMA,
        &[
            (
                Values::Bytes(rows.iter().map(|r| r.0.as_bytes().to_vec()).collect()),
                1,
            ),
            (Values::Int64(rows.iter().map(|r| r.1).collect()), 1),
        ],
    );
}

/// `root/plain_text/{train,test}-00000-of-00001.parquet`: 3 training images (labels 3, 7, 0),
/// 2 test images (9, 1); image k has blue value 10·k.
fn cifar_tables(root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join("plain_text");
    std::fs::create_dir_all(&dir).unwrap();
    let train = dir.join("train-00000-of-00001.parquet");
    let test = dir.join("test-00000-of-00001.parquet");
    write_cifar(
        &train,
        (0..3).map(|k| png(32, 10 * k)).collect(),
        vec![3, 7, 0],
    );
    write_cifar(&test, vec![png(32, 30), png(32, 40)], vec![9, 1]);
    (train, test)
}

/// `root/plain_text/{train,test,unsupervised}-00000-of-00001.parquet`, as `stanfordnlp/imdb`.
fn imdb_tables(root: &Path) -> PathBuf {
    let dir = root.join("plain_text");
    std::fs::create_dir_all(&dir).unwrap();
    let train = dir.join("train-00000-of-00001.parquet");
    write_imdb(
        &train,
        &[
            ("dull<br /><br />film", 0),
            ("  not labelled  ", -1),
            ("great film", 1),
            ("awful", 0),
        ],
    );
    write_imdb(
        &dir.join("test-00000-of-00001.parquet"),
        &[("fine", 1), ("bad", 0)],
    );
    write_imdb(
        &dir.join("unsupervised-00000-of-00001.parquet"),
        &[("no label", -1)],
    );
    train
}

fn section(source: &str, path: &Path) -> DataSection {
    DataSection {
        source: source.into(),
        path: Some(path.to_path_buf()),
        test_fraction: 0.34,
        max_length: 32,
        tokenizer: "bytes".into(),
        ..DataSection::default()
    }
}

mod common;
use common::{load, load_with_hub as load_hub};

fn pixels(d: &Dataset, train: bool) -> &[f32] {
    let ex = if train { &d.train } else { &d.test };
    match &ex.features {
        Features::Images(px) => px,
        _ => panic!("expected images"),
    }
}

fn tokens(d: &Dataset, train: bool) -> &[Vec<u32>] {
    let ex = if train { &d.train } else { &d.test };
    match &ex.features {
        Features::Tokens(t) => t,
        _ => panic!("expected tokens"),
    }
}

fn err(s: &DataSection) -> String {
    let e = load(s, 1).unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert_eq!(e.exit_code(), 2, "{msg}");
    msg
}

/// Pixel 0..=255 as the loaders scale it.
fn scaled(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

#[test]
fn cifar_tables_in_the_hub_layout() {
    let dir = tempfile::tempdir().unwrap();
    cifar_tables(dir.path());
    let d = load(&section("cifar10", dir.path()), 1).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (3, 2));
    assert_eq!(d.train.labels, [3, 7, 0]);
    assert_eq!(d.test.labels, [9, 1]);
    assert_eq!(d.class_names[7], "horse");
    assert_eq!(
        d.shape,
        DataShape::Image {
            channels: 3,
            height: 32,
            width: 32
        }
    );
    let px = pixels(&d, true);
    assert_eq!(px.len(), 3 * 3072);
    // Image 2, pixel (x=5, y=9): R = 40 at plane 0, G = 72 at plane 1, B = 20 at plane 2.
    let at = |c: usize| px[2 * 3072 + c * 1024 + 9 * 32 + 5];
    assert_eq!((at(0), at(1), at(2)), (scaled(40), scaled(72), scaled(20)));
    // Every pixel of test image 0 is exact too.
    let want: Vec<f32> = (0..3)
        .flat_map(|c| {
            (0..1024).map(move |i| scaled([(i % 32 * 8) as u8, (i / 32 * 8) as u8, 30][c]))
        })
        .collect();
    assert_eq!(&pixels(&d, false)[..3072], &want[..]);
}

#[test]
fn cifar_single_table_with_test_path_and_augmentation() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = cifar_tables(dir.path());
    // One file is the whole pool, split by test_fraction.
    let d = load(&section("cifar10", &train), 1).unwrap();
    assert_eq!(d.train.len() + d.test.len(), 3);
    let mut s = section("cifar10", &train);
    s.test_path = Some(test);
    s.augment = true;
    let d = load(&s, 1).unwrap();
    assert_eq!(
        (d.train.labels.as_slice(), d.test.labels.as_slice()),
        (&[3, 7, 0][..], &[9, 1][..])
    );
    assert!(d.train.augment.is_some() && d.test.augment.is_none());
}

#[test]
fn plain_binary_image_column_int32_labels_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pics.parquet");
    write_table(
        &p,
        "message schema { required int32 y; required binary image; }",
        &[
            (Values::Int32(vec![4, 5]), 0),
            (Values::Bytes(vec![png(32, 1), png(32, 2)]), 0),
        ],
    );
    // "image" is the fallback for "img"; the label column is named by data.label_column.
    let mut s = section("cifar10", &p);
    s.label_column = Some(Column::Name("y".into()));
    s.test_fraction = 0.5;
    let d = load(&s, 1).unwrap();
    let mut all = [d.train.labels.clone(), d.test.labels.clone()].concat();
    all.sort();
    assert_eq!(all, [4, 5]);
    // By position: column 1 is the image.
    s.image_column = Some(Column::Index(1));
    assert!(load(&s, 1).is_ok());
    s.image_column = Some(Column::Index(0));
    let e = err(&s);
    assert!(
        e.contains("pics.parquet: row 1: column \"y\": expected an image"),
        "{e}"
    );
}

#[test]
fn imdb_tables_skip_unlabelled_rows() {
    let dir = tempfile::tempdir().unwrap();
    imdb_tables(dir.path());
    let d = load(&section("imdb", dir.path()), 1).unwrap();
    assert_eq!(d.class_names, ["neg", "pos"]);
    assert_eq!(d.train.labels, [0, 1, 0]);
    assert_eq!(d.test.labels, [1, 0]);
    let t = tokens(&d, true);
    // Line breaks become spaces exactly as in the aclImdb files.
    assert_eq!(t[0], encode("dull  film", 32));
    assert_eq!(t[1], encode("great film", 32));
    assert_eq!(tokens(&d, false)[1], encode("bad", 32));
}

/// A hub cache as `huggingface-cli download` leaves it: refs/main → snapshots/<sha>/.
fn fake_cache(cache: &Path, folder: &str) -> PathBuf {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let repo = cache.join(folder);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), sha).unwrap();
    let snap = repo.join("snapshots").join(sha);
    std::fs::create_dir_all(&snap).unwrap();
    snap
}

fn offline(cache: &Path) -> HubEnv {
    HubEnv {
        cache_dir: cache.to_path_buf(),
        // A reserved TEST-NET address: nothing leaves the machine.
        endpoint: "http://192.0.2.1:9".into(),
        offline: true,
    }
}

#[test]
fn hub_repo_ids_read_the_cache_offline() {
    let cache = tempfile::tempdir().unwrap();
    cifar_tables(&fake_cache(cache.path(), "datasets--uoft-cs--cifar10"));
    imdb_tables(&fake_cache(cache.path(), "datasets--stanfordnlp--imdb"));
    let hub = offline(cache.path());
    let d = load_hub(&section("cifar10", Path::new("uoft-cs/cifar10")), 1, &hub).unwrap();
    assert_eq!(
        (d.train.labels.clone(), d.test.labels.clone()),
        (vec![3, 7, 0], vec![9, 1])
    );
    assert_eq!(pixels(&d, true)[9 * 32 + 5], scaled(40));
    let d = load_hub(&section("imdb", Path::new("stanfordnlp/imdb")), 1, &hub).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (3, 2));
    // data.revision: a commit is its own snapshot folder; a branch that was never fetched is a miss.
    let mut at = section("imdb", Path::new("stanfordnlp/imdb"));
    at.revision = Some("0123456789abcdef0123456789abcdef01234567".into());
    assert_eq!(load_hub(&at, 1, &hub).unwrap().train.len(), 3);
    at.revision = Some("v2".into());
    let e = load_hub(&at, 1, &hub).unwrap_err().to_string();
    assert!(
        e.contains("stanfordnlp/imdb@v2") && e.contains("--revision v2"),
        "{e}"
    );
    let e = load_hub(&section("imdb", Path::new("other/imdb")), 1, &hub)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("huggingface-cli download other/imdb --repo-type dataset"),
        "{e}"
    );
}

#[test]
fn table_errors_name_the_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("train.parquet");
    let cifar = section("cifar10", &p);

    // Missing column: the columns that exist are listed.
    write_imdb(&p, &[("a", 0)]);
    let e = err(&cifar);
    assert!(
        e.contains("train.parquet: no column \"img\" or \"image\" (the columns are: text, label)"),
        "{e}"
    );
    // Wrong type.
    let mut s = section("imdb", &p);
    s.text_column = Some(Column::Name("label".into()));
    let e = err(&s);
    assert!(
        e.contains("train.parquet: row 1: column \"label\": expected text, found an integer"),
        "{e}"
    );
    // Label out of range, negative, or an unknown name.
    write_cifar(&p, vec![png(32, 0), png(32, 0)], vec![1, 10]);
    let e = err(&cifar);
    assert!(
        e.contains("train.parquet: row 2: column \"label\": label 10 is not in 0..=9"),
        "{e}"
    );
    write_imdb(&p, &[("a", 0), ("b", 1), ("c", -2)]);
    let e = err(&section("imdb", &p));
    assert!(
        e.contains("train.parquet: row 3: column \"label\": negative label -2"),
        "{e}"
    );
    write_imdb(&p, &[("a", 0), ("   ", 1)]);
    let e = err(&section("imdb", &p));
    assert!(
        e.contains("train.parquet: row 2: column \"text\": empty review"),
        "{e}"
    );
    // Undecodable image, image of the wrong size.
    write_cifar(&p, vec![png(32, 0), b"not a png".to_vec()], vec![1, 2]);
    let e = err(&cifar);
    assert!(
        e.contains("train.parquet: row 2: column \"img\": cannot decode the image"),
        "{e}"
    );
    write_cifar(&p, vec![png(16, 0)], vec![1]);
    let e = err(&cifar);
    assert!(
        e.contains("train.parquet: row 1: column \"img\": image is 16×16, expected 32×32"),
        "{e}"
    );
    // Not a parquet file, an empty file, a table without rows.
    std::fs::write(&p, "label,text\n1,hello\n").unwrap();
    let e = err(&cifar);
    assert!(e.contains("train.parquet: not a parquet file"), "{e}");
    std::fs::write(&p, "").unwrap();
    assert!(err(&cifar).contains("train.parquet: empty file"));
    write_imdb(&p, &[]);
    let e = err(&section("imdb", &p));
    assert!(e.contains("train.parquet: no rows"), "{e}");
    // A directory whose tables are neither train nor test.
    let other = tempfile::tempdir().unwrap();
    write_imdb(&other.path().join("validation.parquet"), &[("a", 0)]);
    let e = err(&section("imdb", other.path()));
    assert!(
        e.contains(
            "no .parquet file has \"train\" or \"test\" in its path (found validation.parquet)"
        ),
        "{e}"
    );
}
