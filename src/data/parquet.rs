//! Parquet tables, the form in which the Hugging Face hub serves datasets (`uoft-cs/cifar10`,
//! `stanfordnlp/imdb`): where a source's tables are (`locate`), and their rows read into typed
//! columns by name (`Table`). Images are encoded PNG/JPEG bytes, as `datasets` writes its `Image`
//! feature (a struct `{bytes, path}`) or plain binary; labels are integers or class names.
//!
//! Read through the parquet crate's record API (no Arrow): the tables we need are two or three
//! columns wide, and rows are what the loaders consume. Every failure names the file, the 1-based
//! row and the column; user data never panics.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use super::files::{self, err, SplitFiles};
use super::image_folder::to_chw;
use crate::config::Column;
use crate::error::EbtError;
use crate::hub::{self, Fetcher, HubEnv, RepoKind, Source};

const EXTENSION: &str = "parquet";

/// The parquet tables behind `path` (the value of config key `key`): a `.parquet` file (all of it
/// is the pool), a directory holding `.parquet` files directly or one folder down (the hub's
/// `plain_text/` layout), or, when nothing exists at `path` and it reads as a repo id, a hub
/// dataset repo (the cache first, `HF_HUB_OFFLINE` honoured). In a directory or repo, tables
/// whose path contains `train` are the pool and `test` the test split; others (`unsupervised`,
/// `validation`) are ignored. `None` when `path` is none of these, so the caller reads it in
/// the source's own format (and reports its own errors).
pub(crate) fn locate(
    key: &str,
    path: &Path,
    revision: Option<&str>,
    hub: &HubEnv,
) -> Result<Option<SplitFiles>, EbtError> {
    if path.is_file() {
        return Ok((files::extension(path) == EXTENSION).then(|| SplitFiles::pool(path)));
    }
    if path.is_dir() {
        let tables = tables_in(path)?;
        if tables.is_empty() {
            return Ok(None);
        }
        let names: Vec<String> = tables
            .iter()
            .map(|p| {
                p.strip_prefix(path)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let (train, test) = by_split(&names);
        return split_or_error(
            key,
            &path.display().to_string(),
            &names,
            pick(&tables, &train),
            pick(&tables, &test),
        );
    }
    let Some(spec) = path.to_str().filter(|s| hub::is_repo_id(s)) else {
        return Ok(None);
    };
    let source = Source::parse(key, spec, revision, RepoKind::Dataset)?;
    let describe = source.describe();
    let mut fetcher = Fetcher::new(key, source, hub.clone());
    let names: Vec<String> = fetcher
        .list()?
        .into_iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".parquet"))
        .collect();
    let (train, test) = by_split(&names);
    let fetch = |fetcher: &mut Fetcher, idx: &[usize]| {
        let wanted: Vec<&str> = idx.iter().map(|&i| names[i].as_str()).collect();
        fetcher.fetch_all(&wanted)
    };
    let train = fetch(&mut fetcher, &train)?;
    let test = fetch(&mut fetcher, &test)?;
    split_or_error(key, &describe, &names, train, test)
}

/// `.parquet` files in `dir` and in its sub-folders (not deeper), sorted.
fn tables_in(dir: &Path) -> Result<Vec<PathBuf>, EbtError> {
    let is_table = |p: &PathBuf| p.is_file() && files::extension(p) == EXTENSION;
    let mut out = Vec::new();
    for entry in files::list_dir(dir)? {
        if entry.is_dir() {
            out.extend(files::list_dir(&entry)?.into_iter().filter(is_table));
        } else if is_table(&entry) {
            out.push(entry);
        }
    }
    out.sort();
    Ok(out)
}

/// Indices of the training and the test tables among `names` (by `train` / `test` in the path).
fn by_split(names: &[String]) -> (Vec<usize>, Vec<usize>) {
    let having = |word: &str| -> Vec<usize> {
        (0..names.len())
            .filter(|&i| names[i].to_ascii_lowercase().contains(word))
            .collect()
    };
    (having("train"), having("test"))
}

fn pick(all: &[PathBuf], idx: &[usize]) -> Vec<PathBuf> {
    idx.iter().map(|&i| all[i].clone()).collect()
}

/// The split, or an error naming the source when no table is train or test.
fn split_or_error(
    key: &str,
    describe: &str,
    names: &[String],
    train: Vec<PathBuf>,
    test: Vec<PathBuf>,
) -> Result<Option<SplitFiles>, EbtError> {
    match SplitFiles::new(train, test) {
        Some(split) => Ok(Some(split)),
        None if names.is_empty() => Err(EbtError::data(format!(
            "{key}: {describe} holds no .parquet files"
        ))),
        None => Err(EbtError::data(format!(
            "{key}: {describe}: no .parquet file has \"train\" or \"test\" in its path (found {})",
            names.join(", ")
        ))),
    }
}

/// The column a config key names, else the source's default candidates (tried in order).
pub(crate) fn column_or<'a>(chosen: &'a Option<Column>, default: &'a [Column]) -> &'a [Column] {
    match chosen {
        Some(c) => std::slice::from_ref(c),
        None => default,
    }
}

/// The asked-for columns of every row of one parquet file.
pub(crate) struct Table {
    path: PathBuf,
    /// The name found for each asked-for column, in the order asked.
    names: Vec<String>,
    /// One entry per row, one field per asked-for column.
    rows: Vec<Vec<Field>>,
}

impl Table {
    /// Reads `path`, keeping one column per entry of `wanted`: the first of its candidates the
    /// file has (a name, or a 0-based position among the top-level columns). Only those columns
    /// are decoded.
    pub fn read(path: &Path, wanted: &[&[Column]]) -> Result<Table, EbtError> {
        let file = File::open(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
        let len = file
            .metadata()
            .map_err(|e| err(path, format!("cannot read: {e}")))?
            .len();
        if len == 0 {
            return Err(err(path, "empty file"));
        }
        let reader = SerializedFileReader::new(file).map_err(|e| {
            err(
                path,
                format!("not a parquet file ({})", one_line(&e.to_string())),
            )
        })?;
        let root = reader.metadata().file_metadata().schema();
        let fields = root.get_fields();
        let mut names = Vec::with_capacity(wanted.len());
        for candidates in wanted {
            let found = candidates.iter().find_map(|c| match c {
                Column::Name(n) => fields.iter().find(|f| f.name() == n),
                Column::Index(i) => fields.get(*i),
            });
            match found {
                Some(f) => names.push(f.name().to_string()),
                None => return Err(err(path, missing_column(candidates, fields))),
            }
        }
        let mut projected: Vec<Arc<Type>> = Vec::new();
        for f in fields {
            if names.iter().any(|n| n == f.name()) {
                projected.push(f.clone());
            }
        }
        let projection = Type::group_type_builder(root.name())
            .with_fields(projected)
            .build()
            .map_err(|e| err(path, format!("cannot select columns: {e}")))?;
        let iter = reader.get_row_iter(Some(projection)).map_err(|e| {
            err(
                path,
                format!("cannot read rows: {}", one_line(&e.to_string())),
            )
        })?;
        let mut rows = Vec::new();
        for (i, row) in iter.enumerate() {
            let row = row.map_err(|e| {
                err(
                    path,
                    format!("row {}: cannot read: {}", i + 1, one_line(&e.to_string())),
                )
            })?;
            let columns = row.into_columns();
            let picked = names
                .iter()
                .map(|n| {
                    columns
                        .iter()
                        .find(|(name, _)| name == n)
                        .map(|(_, f)| f.clone())
                        .unwrap_or(Field::Null)
                })
                .collect();
            rows.push(picked);
        }
        if rows.is_empty() {
            return Err(err(path, "no rows (an empty table)"));
        }
        Ok(Table {
            path: path.to_path_buf(),
            names,
            rows,
        })
    }

    /// `<file>: row N: column "x": <msg>` for row index `row` (0-based) of column `c`.
    pub fn error(&self, row: usize, c: usize, msg: impl std::fmt::Display) -> EbtError {
        err(
            &self.path,
            format!("row {}: column {:?}: {msg}", row + 1, self.names[c]),
        )
    }

    /// Column `c` as class indices into `classes`: integers in `0..classes.len()`, or strings
    /// naming one of `classes`. Rows labelled `unlabelled` (IMDB's `-1`) give `None`.
    pub fn labels(
        &self,
        c: usize,
        classes: &[&str],
        unlabelled: Option<i64>,
    ) -> Result<Vec<Option<u32>>, EbtError> {
        let n = classes.len();
        self.rows
            .iter()
            .enumerate()
            .map(|(r, row)| match &row[c] {
                Field::Str(s) => match classes.iter().position(|name| name == s) {
                    Some(i) => Ok(Some(i as u32)),
                    None => Err(self.error(
                        r,
                        c,
                        format!("label {s:?} is not a class ({})", classes.join(", ")),
                    )),
                },
                f => match integer(f) {
                    Some(v) if Some(v) == unlabelled.map(i128::from) => Ok(None),
                    Some(v) if v < 0 => Err(self.error(r, c, format!("negative label {v}"))),
                    Some(v) if v >= n as i128 => {
                        Err(self.error(r, c, format!("label {v} is not in 0..={}", n - 1)))
                    }
                    Some(v) => Ok(Some(v as u32)),
                    None => Err(self.error(
                        r,
                        c,
                        format!("expected an integer or string label, found {}", describe(f)),
                    )),
                },
            })
            .collect()
    }

    /// Column `c` as texts (strings, or binary holding UTF-8).
    pub fn texts(&self, c: usize) -> Result<Vec<String>, EbtError> {
        self.rows
            .iter()
            .enumerate()
            .map(|(r, row)| match &row[c] {
                Field::Str(s) => Ok(s.clone()),
                Field::Bytes(b) => std::str::from_utf8(b.data())
                    .map(str::to_string)
                    .map_err(|e| self.error(r, c, format!("invalid UTF-8 text: {e}"))),
                f => Err(self.error(r, c, format!("expected text, found {}", describe(f)))),
            })
            .collect()
    }

    /// Column `c` as `(C, side, side)` images in [-1, 1], all rows flat: `channels` 1 (grey) or
    /// 3 (RGB) after conversion; an image of another size is an error (no silent resizing of a
    /// dataset with a fixed size). Decoding runs on every core.
    pub fn images(&self, c: usize, channels: usize, side: u32) -> Result<Vec<f32>, EbtError> {
        let encoded: Vec<(usize, &[u8])> = self
            .rows
            .iter()
            .enumerate()
            .map(|(r, row)| self.image_bytes(r, c, &row[c]).map(|b| (r, b)))
            .collect::<Result<_, _>>()?;
        let decoded = files::par_map(&encoded, |&(r, bytes)| {
            let img = image::load_from_memory(bytes)
                .map_err(|e| self.error(r, c, format!("cannot decode the image: {e}")))?;
            if (img.width(), img.height()) != (side, side) {
                return Err(self.error(
                    r,
                    c,
                    format!(
                        "image is {}×{}, expected {side}×{side}",
                        img.width(),
                        img.height()
                    ),
                ));
            }
            Ok(to_chw(img, channels))
        })?;
        Ok(decoded.concat())
    }

    /// The encoded bytes of an image field: `datasets`' `{bytes, path}` struct or plain binary.
    fn image_bytes<'a>(&self, r: usize, c: usize, field: &'a Field) -> Result<&'a [u8], EbtError> {
        match field {
            Field::Bytes(b) => Ok(b.data()),
            Field::Group(g) => {
                let mut bytes = None;
                let mut path = None;
                for (name, f) in g.get_column_iter() {
                    match (name.as_str(), f) {
                        ("bytes", Field::Bytes(b)) => bytes = Some(b.data()),
                        ("path", Field::Str(p)) => path = Some(p.as_str()),
                        _ => {}
                    }
                }
                match (bytes, path) {
                    (Some(b), _) => Ok(b),
                    (None, Some(p)) => Err(self.error(
                        r,
                        c,
                        format!("the image is only a path ({p:?}), not embedded bytes"),
                    )),
                    (None, None) => Err(self.error(
                        r,
                        c,
                        "the image struct has no binary \"bytes\" field (or it is null)",
                    )),
                }
            }
            f => Err(self.error(
                r,
                c,
                format!(
                    "expected an image (binary, or a struct with \"bytes\"), found {}",
                    describe(f)
                ),
            )),
        }
    }
}

/// `"img" or "image"` / `position 3`, and the columns the file does have.
fn missing_column(candidates: &[Column], fields: &[Arc<Type>]) -> String {
    let asked: Vec<String> = candidates
        .iter()
        .map(|c| match c {
            Column::Name(n) => format!("{n:?}"),
            Column::Index(i) => format!("at position {i}"),
        })
        .collect();
    let have: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    format!(
        "no column {} (the columns are: {})",
        asked.join(" or "),
        have.join(", ")
    )
}

/// The value of an integer field of any width.
fn integer(f: &Field) -> Option<i128> {
    Some(match *f {
        Field::Byte(v) => v.into(),
        Field::Short(v) => v.into(),
        Field::Int(v) => v.into(),
        Field::Long(v) => v.into(),
        Field::UByte(v) => v.into(),
        Field::UShort(v) => v.into(),
        Field::UInt(v) => v.into(),
        Field::ULong(v) => v.into(),
        _ => return None,
    })
}

/// What a field holds, for "expected …, found …".
fn describe(f: &Field) -> &'static str {
    match f {
        Field::Null => "null",
        Field::Bool(_) => "a boolean",
        Field::Str(_) => "a string",
        Field::Bytes(_) => "binary",
        Field::Group(_) => "a struct",
        Field::ListInternal(_) => "a list",
        Field::MapInternal(_) => "a map",
        Field::Float16(_) | Field::Float(_) | Field::Double(_) | Field::Decimal(_) => "a number",
        Field::Date(_)
        | Field::TimeMillis(_)
        | Field::TimeMicros(_)
        | Field::TimestampMillis(_)
        | Field::TimestampMicros(_) => "a date or time",
        _ if integer(f).is_some() => "an integer",
        _ => "another type",
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}
