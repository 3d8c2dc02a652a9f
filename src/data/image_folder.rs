//! `image-folder`: one sub-folder per class (sorted by name), PNG or JPEG files inside, converted
//! to grey or RGB (`data.channels`) and resized to `data.image_size` squares (`data.resize`:
//! nearest or bilinear). `data.test_path` may name a second folder with (some of) the same class
//! sub-folders; otherwise `data.test_fraction` of each class is held out.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::DynamicImage;

use super::augment::Augment;
use super::batch::{Examples, Features};
use super::files::{self, err, file_name, normalise_pixel};
use super::{split, DataShape, Dataset};
use crate::config::DataSection;
use crate::error::EbtError;

const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

pub fn load(section: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    let root = files::data_path(section)?;
    let classes = class_dirs(root)?;
    if classes.len() < 2 {
        return Err(err(
            root,
            format!(
                "{} class sub-folder{}; a classifier needs two (one sub-folder per class)",
                classes.len(),
                if classes.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    let names: Vec<String> = classes.iter().map(|p| file_name(p)).collect();
    let pool = read_classes(&classes, &names, section)?;
    let test = match &section.test_path {
        Some(tp) => {
            let dirs = class_dirs(tp)?;
            if let Some(d) = dirs.iter().find(|d| !names.contains(&file_name(d))) {
                return Err(err(
                    d,
                    format!(
                        "class {:?} is not among the training classes ({})",
                        file_name(d),
                        names.join(", ")
                    ),
                ));
            }
            Some(read_classes(&dirs, &names, section)?)
        }
        None => None,
    };
    let (mut train, test) = split::train_test(pool, test, names.len(), section, seed);
    if section.augment {
        train.augment = Some(Augment::CROP_FLIP);
    }
    Ok(Dataset {
        name: Some(file_name(root))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "image-folder".into()),
        shape: DataShape::Image {
            channels: section.channels,
            height: side(section),
            width: side(section),
        },
        class_names: names,
        train,
        test,
        tokenizer: None,
    })
}

/// The class sub-folders of `root`, sorted.
fn class_dirs(root: &Path) -> Result<Vec<PathBuf>, EbtError> {
    if !root.is_dir() {
        return Err(err(
            root,
            "not a directory (expected one sub-folder per class)",
        ));
    }
    Ok(files::list_dir(root)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}

/// Every image of `dirs`; the label of a folder is its position in `names`.
fn read_classes(
    dirs: &[PathBuf],
    names: &[String],
    section: &DataSection,
) -> Result<Examples, EbtError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for dir in dirs {
        let c = names
            .iter()
            .position(|n| *n == file_name(dir))
            .ok_or_else(|| err(dir, "not a training class"))?;
        let images: Vec<PathBuf> = files::list_dir(dir)?
            .into_iter()
            .filter(|p| p.is_file() && IMAGE_EXTENSIONS.contains(&files::extension(p).as_str()))
            .collect();
        if images.is_empty() {
            return Err(err(dir, "no PNG or JPEG images"));
        }
        for px in files::par_map(&images, |p| read_image(p, section))? {
            pixels.extend(px);
            labels.push(c as u32);
        }
    }
    Ok(Examples::new(Features::Images(pixels), labels))
}

/// Side every image is resized to on load (`data.image_size`, default 32).
fn side(section: &DataSection) -> usize {
    section.image_size.unwrap_or(DEFAULT_SIDE)
}

const DEFAULT_SIDE: usize = 32;

/// One image as `(C, S, S)` pixels in [-1, 1].
fn read_image(path: &Path, section: &DataSection) -> Result<Vec<f32>, EbtError> {
    let img = image::ImageReader::open(path)
        .map_err(|e| err(path, format!("cannot read: {e}")))?
        .with_guessed_format()
        .map_err(|e| err(path, format!("cannot read: {e}")))?
        .decode()
        .map_err(|e| err(path, format!("cannot decode: {e}")))?;
    let s = side(section) as u32;
    let filter = if section.resize == "nearest" {
        FilterType::Nearest
    } else {
        FilterType::Triangle
    };
    let img = if (img.width(), img.height()) == (s, s) {
        img
    } else {
        img.resize_exact(s, s, filter)
    };
    Ok(to_chw(img, section.channels))
}

/// A decoded image as `(C, H, W)` pixels in [-1, 1], converted to grey (`channels` = 1) or RGB
/// (3); shared by every source of encoded images (folders, parquet tables).
pub(crate) fn to_chw(img: DynamicImage, channels: usize) -> Vec<f32> {
    let hwc: Vec<u8> = if channels == 1 {
        img.into_luma8().into_raw()
    } else {
        img.into_rgb8().into_raw()
    };
    // (H, W, C) bytes to (C, H, W) floats.
    let plane = hwc.len() / channels;
    let mut chw = vec![0f32; hwc.len()];
    for (i, &v) in hwc.iter().enumerate() {
        chw[(i % channels) * plane + i / channels] = normalise_pixel(v);
    }
    chw
}
