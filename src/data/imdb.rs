//! The Large Movie Review Dataset in its `aclImdb` layout: `train/{pos,neg}/*.txt` and
//! `test/{pos,neg}/*.txt`, one review per file (`unsup/` is unlabelled and ignored). Classes are
//! `neg` = 0, `pos` = 1 (as in the Hugging Face copy). `data.path` may be `aclImdb` or the folder
//! above it; `data.test_path` may name another folder with `pos/` and `neg/`.

use std::path::{Path, PathBuf};

use super::batch::{Examples, Features};
use super::files::{self, err, utf8};
use super::{split, TextCorpus};
use crate::config::DataSection;
use crate::error::EbtError;

const CLASSES: [&str; 2] = ["neg", "pos"];

pub fn load(section: &DataSection, seed: u64) -> Result<TextCorpus, EbtError> {
    let path = files::data_path(section)?;
    let root = if path.join("train").is_dir() || !path.join("aclImdb").is_dir() {
        path.to_path_buf()
    } else {
        path.join("aclImdb")
    };
    let train_dir = root.join("train");
    if !train_dir.is_dir() {
        return Err(err(
            &root,
            "no train/ folder (expected the aclImdb directory: train/{pos,neg}/*.txt)",
        ));
    }
    let pool = read_split(&train_dir)?;
    let test = match &section.test_path {
        Some(tp) => Some(read_split(tp)?),
        None if root.join("test").is_dir() => Some(read_split(&root.join("test"))?),
        None => None,
    };
    let (train, test) = split::train_test(pool, test, CLASSES.len(), section, seed);
    Ok(TextCorpus {
        name: "imdb".into(),
        class_names: CLASSES.iter().map(|s| s.to_string()).collect(),
        train,
        test,
    })
}

/// The reviews of `dir/neg` then `dir/pos`, each folder in file-name order.
fn read_split(dir: &Path) -> Result<Examples, EbtError> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (c, class) in CLASSES.iter().enumerate() {
        let class_dir = dir.join(class);
        if !class_dir.is_dir() {
            return Err(err(&class_dir, "missing (every split needs pos/ and neg/)"));
        }
        let reviews: Vec<PathBuf> = files::list_dir(&class_dir)?
            .into_iter()
            .filter(|p| files::extension(p) == "txt")
            .collect();
        if reviews.is_empty() {
            return Err(err(&class_dir, "no .txt reviews"));
        }
        let read = files::par_map(&reviews, read_review)?;
        labels.resize(labels.len() + read.len(), c as u32);
        texts.extend(read);
    }
    Ok(Examples::new(Features::Texts(texts), labels))
}

/// One review's text. The reviews carry HTML line breaks (`<br />`), which become spaces.
fn read_review(path: &Path) -> Result<String, EbtError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let text = utf8(path, &bytes)?.trim();
    if text.is_empty() {
        return Err(err(path, "empty review"));
    }
    Ok(text.replace("<br />", " "))
}
