//! Every key the configuration file accepts is in the README's table (`### Every key`),
//! and every key that table names is accepted: the table is the operator's only list,
//! and a key missing from it is a key nobody will find.
//!
//! The keys come from the parser itself, not from a list kept by hand: serde's derive
//! hands a deserializer each struct's field names, so walking [`RawConfig`] with a
//! deserializer that notes them lists every key, in nested tables and in tables of
//! names (`[apps.<name>]`) alike. A new field in `raw.rs` or `apps.rs` thus fails this
//! test until its row is written.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::Config;
use super::raw::RawConfig;

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));

/// The segment that stands for any name in a table of names (`apps.<>.votes`),
/// whatever the README calls it there (`<name>`, `<user>`).
const ANY: &str = "<>";

/// Every key the parser accepts, as dotted paths: `paas.url`, `apps.<>.votes`,
/// `shell.users.<>`.
fn accepted_keys() -> BTreeSet<String> {
    let keys = RefCell::new(BTreeSet::new());
    let walker = Walker {
        path: Vec::new(),
        keys: &keys,
    };
    if let Err(e) = RawConfig::deserialize(walker) {
        panic!("the key walker cannot read the configuration's serde form: {e}");
    }
    keys.into_inner()
}

/// Every key the README's table names, as dotted paths. A row may name several keys of
/// one table: "`[apps.<name>] deploy`, `cancel`".
fn documented_keys() -> BTreeSet<String> {
    let Some((_, after)) = README.split_once("### Every key") else {
        panic!("the README has no \"### Every key\" section");
    };
    let rows = after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2);
    let mut keys = BTreeSet::new();
    for row in rows {
        let first_cell = row.split('|').nth(1).unwrap_or_default();
        let quoted: Vec<&str> = first_cell.split('`').skip(1).step_by(2).collect();
        let Some((section, first)) = quoted.first().and_then(|q| q.split_once("] ")) else {
            panic!("a row of the key table does not start with `[table] key`: {row}");
        };
        let section = section.trim_start_matches('[');
        for key in std::iter::once(first).chain(quoted[1..].iter().copied()) {
            keys.insert(normalise(&format!("{section}.{key}")));
        }
    }
    keys
}

/// `apps.<name>.votes` → `apps.<>.votes`.
fn normalise(path: &str) -> String {
    path.split('.')
        .map(|s| if s.starts_with('<') { ANY } else { s })
        .collect::<Vec<_>>()
        .join(".")
}

/// What the real parser says of a file that sets only `key` (to a value of the wrong
/// type, which is refused for its type, never for its name, when the key exists).
fn refusal_of(key: &str) -> String {
    let segments: Vec<&str> = key
        .split('.')
        .map(|s| if s == ANY { "x" } else { s })
        .collect();
    let (name, table) = segments.split_last().unwrap_or((&"", &[]));
    let text = if table.is_empty() {
        format!("{name} = true\n")
    } else {
        format!("[{}]\n{name} = true\n", table.join("."))
    };
    match Config::parse(&text, "probe.toml") {
        Ok(_) => String::new(),
        Err(e) => e.0,
    }
}

fn refused_by_name(key: &str) -> bool {
    refusal_of(key).contains("unknown field")
}

#[test]
fn every_configuration_key_is_in_the_readme_table_and_every_row_is_a_key() {
    let accepted = accepted_keys();
    let documented = documented_keys();
    // The walker found the keys of every kind of table, not an empty set that any
    // table would match.
    for key in ["paas.url", "jobs.settle", "apps.<>.votes", "shell.users.<>"] {
        assert!(accepted.contains(key), "{key} not found in {accepted:?}");
    }
    let undocumented: Vec<&String> = accepted.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "keys the configuration accepts but the README's \"Every key\" table does not list: {undocumented:?}"
    );
    let unknown: Vec<&String> = documented.difference(&accepted).collect();
    assert!(
        unknown.is_empty(),
        "keys the README's table lists but the configuration does not accept: {unknown:?}"
    );
}

#[test]
fn the_real_parser_accepts_every_key_the_readme_lists() {
    // The probe tells a known key from an unknown one.
    assert!(refused_by_name("paas.no_such_key"));
    assert!(refused_by_name("apps.<>.no_such_key"));
    for key in documented_keys() {
        assert!(
            !refused_by_name(&key),
            "the README lists {key}, which the parser refuses: {}",
            refusal_of(&key)
        );
    }
}

/// Why the walk stopped: a field of a kind the walker cannot fill in.
#[derive(Debug)]
struct Stop(String);

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Stop(msg.to_string())
    }
}

/// A deserializer standing at one place of the configuration: a struct gives its field
/// names, a map one entry named [`ANY`], and anything else is a key (a leaf), noted
/// and given a value of its type so the walk goes on.
struct Walker<'k> {
    path: Vec<String>,
    keys: &'k RefCell<BTreeSet<String>>,
}

impl<'k> Walker<'k> {
    fn at(&self, segment: &str) -> Walker<'k> {
        let mut path = self.path.clone();
        path.push(segment.to_string());
        Walker {
            path,
            keys: self.keys,
        }
    }

    fn leaf(&self) {
        self.keys.borrow_mut().insert(self.path.join("."));
    }
}

macro_rules! leaves {
    ($($method:ident => $visit:ident($($value:expr)?),)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
            self.leaf();
            visitor.$visit($($value)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Walker<'_> {
    type Error = Stop;

    /// A value whose type says not what it holds (`deploys`: one name or a list) is
    /// a key, given as a string.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.leaf();
        visitor.visit_str("x")
    }

    leaves! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(1),
        deserialize_i16 => visit_i64(1),
        deserialize_i32 => visit_i64(1),
        deserialize_i64 => visit_i64(1),
        deserialize_u8 => visit_u64(1),
        deserialize_u16 => visit_u64(1),
        deserialize_u32 => visit_u64(1),
        deserialize_u64 => visit_u64(1),
        deserialize_f32 => visit_f64(1.0),
        deserialize_f64 => visit_f64(1.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str("x"),
        deserialize_string => visit_str("x"),
        deserialize_identifier => visit_str("x"),
        deserialize_unit => visit_unit(),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.leaf();
        visitor.visit_bytes(b"x")
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_bytes(visitor)
    }

    /// An optional key is a key all the same.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    /// A list (of roles, channels, windows) is one key.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.leaf();
        visitor.visit_seq(Empty)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.deserialize_seq(visitor)
    }

    /// A table of names (`[apps.<name>]`, `[shell.users]`): one entry stands for all.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_map(Entries {
            names: vec![ANY],
            walker: self,
        })
    }

    /// A table with fixed keys: each field is visited.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_map(Entries {
            names: fields.to_vec(),
            walker: self,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        Err(Stop(format!(
            "{} is an enum; teach the walker its kind",
            self.path.join(".")
        )))
    }
}

/// The entries of a table, each a key (or a table) walked in turn.
struct Entries<'k> {
    names: Vec<&'static str>,
    walker: Walker<'k>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        match self.names.first() {
            Some(name) => seed.deserialize((*name).into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        let name = self.names.remove(0);
        seed.deserialize(self.walker.at(name))
    }
}

/// An empty list.
struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = Stop;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _: T,
    ) -> Result<Option<T::Value>, Stop> {
        Ok(None)
    }
}
