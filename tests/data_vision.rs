//! Image sources on tiny files written here: MNIST idx (plain and gzipped), a CIFAR-10 binary
//! batch, an image folder of PNGs and a JPEG; every malformed input fails with a message that
//! names the file (and the record).

use std::io::Write;
use std::path::{Path, PathBuf};

use ebt::config::DataSection;
use ebt::data::{DataShape, Dataset, Features};

mod common;
use common::load;

fn section(source: &str, path: &Path) -> DataSection {
    DataSection {
        source: source.into(),
        path: Some(path.to_path_buf()),
        test_fraction: 0.25,
        ..DataSection::default()
    }
}

fn pixels(d: &Dataset, split_train: bool) -> Vec<f32> {
    let ex = if split_train { &d.train } else { &d.test };
    match &ex.features {
        Features::Images(px) => px.clone(),
        _ => panic!("expected images"),
    }
}

/// An idx file: magic (0, 0, 0x08, ndim), big-endian dims, bytes.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// `n` 2×3 images whose pixels are all `label * 20`, labels cycling 0..10.
fn mnist_pair(n: usize) -> (Vec<u8>, Vec<u8>) {
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let px: Vec<u8> = labels.iter().flat_map(|&y| [y * 20; 6]).collect();
    (idx(&[n as u32, 2, 3], &px), idx(&[n as u32], &labels))
}

#[test]
fn mnist_plain_train_and_gzipped_test() {
    let dir = tempfile::tempdir().unwrap();
    let (im, lb) = mnist_pair(40);
    std::fs::write(dir.path().join("train-images-idx3-ubyte"), &im).unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte"), &lb).unwrap();
    let (im, lb) = mnist_pair(20);
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), gz(&im)).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), gz(&lb)).unwrap();
    let d = load(&section("mnist", dir.path()), 1).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (40, 20));
    assert_eq!(
        d.shape,
        DataShape::Image {
            channels: 1,
            height: 2,
            width: 3
        }
    );
    assert_eq!(d.num_classes(), 10);
    // Pixel 9·20 = 180 → 180/127.5 − 1.
    let px = pixels(&d, false);
    assert_eq!(d.test.labels[9], 9);
    assert!((px[9 * 6] - (180.0 / 127.5 - 1.0)).abs() < 1e-6);
    assert_eq!(px[0], -1.0);
}

#[test]
fn mnist_single_gzipped_pair_is_split_by_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let (im, lb) = mnist_pair(40);
    let images = dir.path().join("mnist-t10k-images-idx3-ubyte.gz");
    std::fs::write(&images, gz(&im)).unwrap();
    std::fs::write(dir.path().join("mnist-t10k-labels-idx1-ubyte.gz"), gz(&lb)).unwrap();
    for path in [dir.path(), images.as_path()] {
        let d = load(&section("mnist", path), 1).unwrap();
        // 4 per class; a quarter of each class held out.
        assert_eq!((d.train.len(), d.test.len()), (30, 10));
        for c in 0..10 {
            assert_eq!(d.test.labels.iter().filter(|&&y| y == c).count(), 1);
        }
    }
}

#[test]
fn mnist_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (mut im, mut lb) = mnist_pair(10);
    let images = dir.path().join("train-images-idx3-ubyte");
    let labels = dir.path().join("train-labels-idx1-ubyte");
    let check = |want: &[&str]| {
        let e = load(&section("mnist", dir.path()), 1)
            .unwrap_err()
            .to_string();
        for w in want {
            assert!(e.contains(w), "{e:?} lacks {w:?}");
        }
        assert!(!e.contains('\n'), "{e}");
    };
    // Bad magic: images with the labels' dimension count, gzipped.
    im[3] = 1;
    std::fs::write(&images, gz(&im)).unwrap();
    std::fs::write(&labels, &lb).unwrap();
    check(&[
        "train-images-idx3-ubyte: bad magic number 0x00000801",
        "expected 0x00000803",
    ]);
    // Truncated payload.
    im[3] = 3;
    im.truncate(im.len() - 4);
    std::fs::write(&images, &im).unwrap();
    check(&["train-images-idx3-ubyte: ", "record 10 is cut short"]);
    // Label out of range, in record 4.
    let (im, _) = mnist_pair(10);
    std::fs::write(&images, &im).unwrap();
    lb[8 + 3] = 12;
    std::fs::write(&labels, &lb).unwrap();
    check(&["train-labels-idx1-ubyte: record 4: label 12 is not in 0..=9"]);
    // Count mismatch.
    std::fs::write(&labels, idx(&[9], &[0; 9])).unwrap();
    check(&["train-labels-idx1-ubyte: 9 labels for 10 images"]);
    // Missing labels file.
    std::fs::remove_file(&labels).unwrap();
    check(&["train-images-idx3-ubyte: no labels file beside it"]);
    // Broken gzip.
    std::fs::write(&labels, [0x1f, 0x8b, 1, 2, 3]).unwrap();
    check(&["train-labels-idx1-ubyte: bad gzip data"]);
    // Empty directory.
    let empty = tempfile::tempdir().unwrap();
    let e = load(&section("mnist", empty.path()), 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no idx images file"), "{e}");
}

/// One CIFAR record: label byte, then 3 planes of 32×32 filled with `r`, `g`, `b`.
fn cifar_record(label: u8, r: u8, g: u8, b: u8) -> Vec<u8> {
    let mut rec = vec![label];
    for v in [r, g, b] {
        rec.extend(std::iter::repeat_n(v, 1024));
    }
    rec
}

#[test]
fn cifar_two_image_batches() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&bin).unwrap();
    let mut train = cifar_record(3, 255, 0, 0);
    train.extend(cifar_record(7, 0, 255, 0));
    std::fs::write(bin.join("data_batch_1.bin"), &train).unwrap();
    let mut test = cifar_record(9, 0, 0, 255);
    test.extend(cifar_record(0, 0, 0, 0));
    std::fs::write(bin.join("test_batch.bin"), &test).unwrap();
    // The folder above cifar-10-batches-bin works too.
    let d = load(&section("cifar10", dir.path()), 1).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (2, 2));
    assert_eq!(d.train.labels, [3, 7]);
    assert_eq!(d.test.labels, [9, 0]);
    assert_eq!(d.class_names[3], "cat");
    assert_eq!(
        d.shape,
        DataShape::Image {
            channels: 3,
            height: 32,
            width: 32
        }
    );
    let px = pixels(&d, true);
    assert_eq!(px.len(), 2 * 3072);
    // Image 0 is red: R plane 1, G and B planes −1.
    assert_eq!((px[0], px[1024], px[2048]), (1.0, -1.0, -1.0));
    assert_eq!((px[3072], px[3072 + 1024]), (-1.0, 1.0));
    assert!(d.train.augment.is_none());
}

/// `data.image_size` on a native-size source: the images stay 32×32 in memory and every batch
/// (augmented or not) reaches the model at the new size; a uniform colour stays that colour.
#[test]
fn cifar_batches_are_resized_to_data_image_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut train = cifar_record(3, 255, 0, 0);
    train.extend(cifar_record(7, 0, 255, 0));
    std::fs::write(dir.path().join("data_batch_1.bin"), &train).unwrap();
    std::fs::write(
        dir.path().join("test_batch.bin"),
        cifar_record(9, 0, 0, 255),
    )
    .unwrap();
    let mut s = section("cifar10", dir.path());
    s.image_size = Some(48);
    s.augment = true;
    let d = load(&s, 1).unwrap();
    assert_eq!(
        d.shape,
        DataShape::Image {
            channels: 3,
            height: 48,
            width: 48
        }
    );
    assert_eq!(
        pixels(&d, true).len(),
        2 * 3072,
        "stored at the native size"
    );
    let dev = candle_core::Device::Cpu;
    for (ex, idx) in [(&d.train, vec![0, 1]), (&d.test, vec![0])] {
        let ebt::models::ModelInput::Images(x) = ex.batch(&idx, &d.shape, &dev).unwrap().input
        else {
            panic!()
        };
        assert_eq!(x.dims(), &[idx.len(), 3, 48, 48]);
    }
    let ebt::models::ModelInput::Images(x) = d.test.batch(&[0], &d.shape, &dev).unwrap().input
    else {
        panic!()
    };
    let v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    // Blue: R and G planes −1, B plane 1, everywhere.
    assert!(v[..2 * 2304].iter().all(|p| (p + 1.0).abs() < 1e-6));
    assert!(v[2 * 2304..].iter().all(|p| (p - 1.0).abs() < 1e-6));
    // Unset, or equal to the native size: no resampling.
    s.image_size = Some(32);
    assert!(load(&s, 1).unwrap().train.resize.is_none());
}

#[test]
fn cifar_augment_changes_training_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    // A left-to-right ramp, so any crop or flip changes the pixels.
    let mut rec = vec![1u8];
    for _ in 0..3 {
        rec.extend((0..1024).map(|i| ((i % 32) * 8) as u8));
    }
    let batch: Vec<u8> = (0..8).flat_map(|_| rec.clone()).collect();
    std::fs::write(dir.path().join("data_batch_1.bin"), &batch).unwrap();
    std::fs::write(dir.path().join("test_batch.bin"), &rec).unwrap();
    let mut s = section("cifar10", dir.path());
    s.augment = true;
    let d = load(&s, 1).unwrap();
    assert!(d.train.augment.is_some() && d.test.augment.is_none());
    let dev = candle_core::Device::Cpu;
    let idx: Vec<usize> = (0..8).collect();
    let a = d.train.batch(&idx, &d.shape, &dev).unwrap();
    let b = d.train.batch(&idx, &d.shape, &dev).unwrap();
    let ebt::models::ModelInput::Images(xa) = a.input else {
        panic!()
    };
    let ebt::models::ModelInput::Images(xb) = b.input else {
        panic!()
    };
    let (va, vb) = (
        xa.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        xb.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
    );
    assert_eq!(va, vb, "same batch indices, same augmentation");
    let plain = pixels(&d, true);
    assert_ne!(va, plain[..8 * 3072].to_vec(), "augmented");
    let ebt::models::ModelInput::Images(xt) = d.test.batch(&[0], &d.shape, &dev).unwrap().input
    else {
        panic!()
    };
    assert_eq!(
        xt.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        pixels(&d, false)
    );
}

#[test]
fn cifar_errors_name_the_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("data_batch_1.bin");
    let e = |path: &Path| load(&section("cifar10", path), 1).unwrap_err().to_string();
    let mut bytes = cifar_record(1, 0, 0, 0);
    bytes.extend(cifar_record(10, 0, 0, 0));
    std::fs::write(&f, &bytes).unwrap();
    let msg = e(dir.path());
    assert!(
        msg.contains("data_batch_1.bin: record 2: label 10 is not in 0..=9"),
        "{msg}"
    );
    std::fs::write(&f, &bytes[..3073 + 100]).unwrap();
    let msg = e(&f);
    assert!(
        msg.contains("data_batch_1.bin: 3173 bytes is not a whole number of 3073-byte records (record 2 is cut short)"),
        "{msg}"
    );
    std::fs::write(&f, []).unwrap();
    assert!(e(&f).contains("data_batch_1.bin: empty file"));
    std::fs::remove_file(&f).unwrap();
    assert!(e(dir.path()).contains("no CIFAR-10 batch files"));
}

fn write_png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
        .save(path)
        .unwrap();
}

/// `root/{cat,dog}/k.png`: cats red, dogs blue, 3 each, 4×4 pixels.
fn image_tree(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (class, rgb) in [("cat", [255, 0, 0]), ("dog", [0, 0, 255])] {
        let d = root.join(class);
        std::fs::create_dir_all(&d).unwrap();
        for k in 0..3 {
            let p = d.join(format!("{k}.png"));
            write_png(&p, 4, 4, rgb);
            out.push(p);
        }
        // Non-image files and hidden files are ignored.
        std::fs::write(d.join("notes.txt"), "x").unwrap();
        std::fs::write(d.join(".DS_Store"), "x").unwrap();
    }
    out
}

#[test]
fn image_folder_rgb_and_grey_resized() {
    let dir = tempfile::tempdir().unwrap();
    image_tree(dir.path());
    let mut s = section("image-folder", dir.path());
    s.test_fraction = 0.34;
    s.image_size = Some(2);
    let d = load(&s, 3).unwrap();
    assert_eq!(d.class_names, ["cat", "dog"]);
    assert_eq!((d.train.len(), d.test.len()), (4, 2));
    assert_eq!(
        d.shape,
        DataShape::Image {
            channels: 3,
            height: 2,
            width: 2
        }
    );
    let px = pixels(&d, true);
    assert_eq!(px.len(), 4 * 3 * 4);
    for (i, &y) in d.train.labels.iter().enumerate() {
        let img = &px[i * 12..(i + 1) * 12];
        // Cats: R plane 1, B plane −1; dogs the other way round.
        let (r, b) = (img[0], img[8]);
        assert_eq!((r, b), if y == 0 { (1.0, -1.0) } else { (-1.0, 1.0) });
    }
    s.channels = 1;
    s.resize = "nearest".into();
    let d = load(&s, 3).unwrap();
    let px = pixels(&d, true);
    assert_eq!(px.len(), 4 * 4);
    // Grey of pure red is round(0.2126·255)ish, well inside (−1, 0).
    let y0 = d.train.labels[0];
    let grey = px[0];
    assert!(grey > -1.0 && grey < 0.0, "{grey} (class {y0})");
}

#[test]
fn image_folder_with_test_folder_and_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train");
    image_tree(&train);
    let test = dir.path().join("test");
    std::fs::create_dir_all(test.join("dog")).unwrap();
    image::RgbImage::from_pixel(8, 8, image::Rgb([0, 0, 255]))
        .save(test.join("dog/a.jpg"))
        .unwrap();
    let mut s = section("image-folder", &train);
    s.test_path = Some(test.clone());
    s.image_size = Some(4);
    let d = load(&s, 1).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (6, 1));
    assert_eq!(d.test.labels, [1]);
    let px = pixels(&d, false);
    assert_eq!(px.len(), 3 * 16);
    // JPEG is lossy: blue stays near 1, red near −1.
    assert!(px[32] > 0.9 && px[0] < -0.9, "{} {}", px[32], px[0]);
    // An unknown class in the test folder.
    std::fs::create_dir_all(test.join("bird")).unwrap();
    let e = load(&s, 1).unwrap_err().to_string();
    assert!(
        e.contains("bird: class \"bird\" is not among the training classes (cat, dog)"),
        "{e}"
    );
}

#[test]
fn image_folder_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = image_tree(dir.path());
    let s = section("image-folder", dir.path());
    std::fs::write(&files[1], b"not a png").unwrap();
    let e = load(&s, 1).unwrap_err().to_string();
    assert!(e.contains("cat/1.png: cannot decode"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    write_png(&files[1], 4, 4, [1, 2, 3]);
    std::fs::remove_dir_all(dir.path().join("dog")).unwrap();
    let e = load(&s, 1).unwrap_err().to_string();
    assert!(
        e.contains("1 class sub-folder; a classifier needs two"),
        "{e}"
    );
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let e = load(&s, 1).unwrap_err().to_string();
    assert!(e.contains("empty: no PNG or JPEG images"), "{e}");
}
