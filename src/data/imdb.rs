//! The Large Movie Review Dataset in its `aclImdb` layout: `train/{pos,neg}/*.txt` and
//! `test/{pos,neg}/*.txt`, one review per file (`unsup/` is unlabelled and ignored). Classes are
//! `neg` = 0, `pos` = 1 (as in the Hugging Face copy). `data.path` may be `aclImdb` or the folder
//! above it; `data.test_path` may name another folder with `pos/` and `neg/`.
//!
//! Or as parquet tables, the hub's form (`stanfordnlp/imdb`: `plain_text/{train,test,
//! unsupervised}-*.parquet`): columns `text` and `label` (or `data.text_column`,
//! `data.label_column`); the unsupervised tables and every row labelled -1 are ignored.

use std::path::{Path, PathBuf};

use super::batch::{Examples, Features};
use super::files::{self, err, utf8};
use super::parquet::{self, Table};
use super::{split, TextCorpus};
use crate::config::{Column, DataSection};
use crate::error::EbtError;
use crate::hub::HubEnv;

const CLASSES: [&str; 2] = ["neg", "pos"];
/// The label of the hub copy's unsupervised rows.
const UNLABELLED: i64 = -1;

pub fn load(section: &DataSection, seed: u64, hub: &HubEnv) -> Result<TextCorpus, EbtError> {
    let path = files::data_path(section)?;
    let (pool, test) = match parquet::locate("data.path", path, section.revision.as_deref(), hub)? {
        Some(tables) => {
            let test = if section.test_path.is_none() && !tables.test.is_empty() {
                Some(read_tables(&tables.test, section)?)
            } else {
                None
            };
            (read_tables(&tables.train, section)?, test)
        }
        None => read_tree(path, section)?,
    };
    let test = match &section.test_path {
        Some(tp) => Some(
            match parquet::locate("data.test_path", tp, section.revision.as_deref(), hub)? {
                Some(tables) => read_tables(tables.test_or_all(), section)?,
                None => read_split(tp)?,
            },
        ),
        None => test,
    };
    let (train, test) = split::train_test(pool, test, CLASSES.len(), section, seed);
    Ok(TextCorpus {
        name: "imdb".into(),
        class_names: CLASSES.iter().map(|s| s.to_string()).collect(),
        train,
        test,
    })
}

/// The `aclImdb` tree at `path` (or below it): its training reviews, and its test reviews unless
/// `data.test_path` replaces them.
fn read_tree(path: &Path, section: &DataSection) -> Result<(Examples, Option<Examples>), EbtError> {
    let root = if path.join("train").is_dir() || !path.join("aclImdb").is_dir() {
        path.to_path_buf()
    } else {
        path.join("aclImdb")
    };
    let train_dir = root.join("train");
    if !train_dir.is_dir() {
        return Err(err(
            &root,
            "no train/ folder (expected the aclImdb directory: train/{pos,neg}/*.txt, or parquet tables)",
        ));
    }
    let pool = read_split(&train_dir)?;
    let test = if section.test_path.is_none() && root.join("test").is_dir() {
        Some(read_split(&root.join("test"))?)
    } else {
        None
    };
    Ok((pool, test))
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
        let read = files::par_map(&reviews, |p| read_review(p))?;
        labels.resize(labels.len() + read.len(), c as u32);
        texts.extend(read);
    }
    Ok(Examples::new(Features::Texts(texts), labels))
}

/// One review's text.
fn read_review(path: &Path) -> Result<String, EbtError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let text = utf8(path, &bytes)?.trim();
    if text.is_empty() {
        return Err(err(path, "empty review"));
    }
    Ok(without_line_breaks(text))
}

/// The reviews carry HTML line breaks (`<br />`); they become spaces.
fn without_line_breaks(text: &str) -> String {
    text.replace("<br />", " ")
}

/// The labelled reviews of the tables `paths`.
fn read_tables(paths: &[PathBuf], section: &DataSection) -> Result<Examples, EbtError> {
    let (texts, labels) = labelled_texts(paths, section)?;
    Ok(Examples::new(Features::Texts(texts), labels))
}

/// Texts (trimmed, line breaks as spaces) and class indices of every labelled row of `paths`;
/// rows labelled -1 are skipped, an empty review is an error (as in the aclImdb files).
fn labelled_texts(
    paths: &[PathBuf],
    section: &DataSection,
) -> Result<(Vec<String>, Vec<u32>), EbtError> {
    let default_text = [Column::Name("text".into())];
    let default_label = [Column::Name("label".into())];
    let text_col = parquet::column_or(&section.text_column, &default_text);
    let label_col = parquet::column_or(&section.label_column, &default_label);
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let table = Table::read(path, &[text_col, label_col])?;
        let ys = table.labels(1, &CLASSES, Some(UNLABELLED))?;
        for (row, (text, y)) in table.texts(0)?.iter().zip(ys).enumerate() {
            let Some(y) = y else { continue };
            let text = text.trim();
            if text.is_empty() {
                return Err(table.error(row, 0, "empty review"));
            }
            texts.push(without_line_breaks(text));
            labels.push(y);
        }
    }
    Ok((texts, labels))
}
