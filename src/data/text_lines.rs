//! `text-lines`: one file per class (`data.paths`), one example per line, blank lines skipped —
//! the layout of sentence-polarity sets such as `rt-polarity.pos` / `rt-polarity.neg`. Classes
//! keep the order of `data.paths` and are named after the files: by extension when all files
//! share a stem (`pos`, `neg`), else by stem.

use std::path::{Path, PathBuf};

use super::batch::{Examples, Features};
use super::files::{err, read_bytes, utf8};
use super::{split, TextCorpus};
use crate::config::DataSection;
use crate::error::EbtError;

pub fn load(section: &DataSection, seed: u64) -> Result<TextCorpus, EbtError> {
    let paths = &section.paths;
    if paths.len() < 2 {
        return Err(EbtError::config(format!(
            "data.paths: text-lines needs at least two files, one per class (got {})",
            paths.len()
        )));
    }
    let names = class_names(paths);
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(EbtError::config(format!(
                "data.paths: two files give the class name {n:?}; name the files apart"
            )));
        }
    }
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (c, path) in paths.iter().enumerate() {
        let before = texts.len();
        read_lines(path, &mut texts)?;
        if texts.len() == before {
            return Err(err(path, "no examples (every line is blank)"));
        }
        labels.resize(texts.len(), c as u32);
    }
    let pool = Examples::new(Features::Texts(texts), labels);
    let (train, test) = split::train_test(pool, None, names.len(), section, seed);
    let stems = stems(paths);
    Ok(TextCorpus {
        name: if stems.iter().all(|s| *s == stems[0]) {
            stems[0].clone()
        } else {
            "text-lines".into()
        },
        class_names: names,
        train,
        test,
    })
}

/// Appends every non-blank line of `path`, trimmed.
fn read_lines(path: &Path, out: &mut Vec<String>) -> Result<(), EbtError> {
    let bytes = read_bytes(path)?;
    let text = utf8(path, &bytes)?;
    out.extend(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
    Ok(())
}

fn stems(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Extensions when every file has one and the stems agree, else stems.
fn class_names(paths: &[PathBuf]) -> Vec<String> {
    let stems = stems(paths);
    let exts: Vec<Option<String>> = paths
        .iter()
        .map(|p| p.extension().map(|e| e.to_string_lossy().into_owned()))
        .collect();
    if stems.iter().all(|s| *s == stems[0]) && exts.iter().all(Option::is_some) {
        exts.into_iter().flatten().collect()
    } else {
        stems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_from_extensions_or_stems() {
        let p = |v: &[&str]| v.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            class_names(&p(&["d/rt-polarity.pos", "d/rt-polarity.neg"])),
            ["pos", "neg"]
        );
        assert_eq!(
            class_names(&p(&["a/good.txt", "b/bad.txt"])),
            ["good", "bad"]
        );
    }
}
