//! The columns of a table, derived from the JSON Schema of its record type (the same
//! schemars schema `docs/schema/*.json` is generated from), and the serde `Serializer`
//! that appends a record to them. One source of truth: a field added to a record type
//! is a new column here, with no list of columns to keep in step.
//!
//! The mapping (README, "Extract to Parquet"; `docs/schema/parquet.md`):
//! - a nested object is flattened into its parent, names joined with `_`
//!   (`client.ip` → `client_ip`), at every depth; an object that is null leaves its
//!   columns null;
//! - a list is a list; a list of objects is a list of structs (whose fields are
//!   flattened the same way);
//! - an object with free keys (`analysis`) is a map from string;
//! - integers are int32 when they fit (8- and 16-bit formats), else int64 (an unsigned
//!   64-bit value above int64's range is refused: none such are written today);
//! - a number named `ts` or `*_ts` (and, in `conns`, the `phases_*` times) is a
//!   TIMESTAMP(MICROS, UTC); other numbers (durations in seconds) are float64;
//! - the untagged variants of a flattened enum (the story event's facts) are merged:
//!   one column per field name, null where a variant does not have it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, RecordBatch, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde::ser::{self, Serialize};
use serde_json::Value;

/// What decides that a number is a point in time rather than a duration.
#[derive(Clone, Copy, Debug)]
pub struct TsRule {
    /// Columns under this prefix are times too (`conns`: `phases_`).
    pub prefix: Option<&'static str>,
}

impl TsRule {
    fn is_ts(&self, name: &str) -> bool {
        name == "ts" || name.ends_with("_ts") || self.prefix.is_some_and(|p| name.starts_with(p))
    }
}

/// A column (or a field of a struct inside a list) and its values so far.
pub struct Node {
    pub name: String,
    buf: Buf,
}

enum Buf {
    Bool(BooleanBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Ts(TimestampMicrosecondBuilder),
    Str(StringBuilder),
    List {
        offsets: Vec<i32>,
        valid: Vec<bool>,
        child: Box<Node>,
    },
    Struct {
        fields: Vec<Node>,
        index: HashMap<String, usize>,
        valid: Vec<bool>,
        len: usize,
    },
    Map {
        offsets: Vec<i32>,
        valid: Vec<bool>,
        keys: StringBuilder,
        values: Box<Node>,
    },
}

/// The shape of a column, before any buffer is made (what the schema walk produces).
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Bool,
    Int32,
    Int64,
    Float64,
    Ts,
    Str,
    List(Box<Shape>),
    Struct(Vec<(String, String, Shape)>),
    Map(Box<Shape>),
}

impl Shape {
    pub fn data_type(&self) -> DataType {
        match self {
            Shape::Bool => DataType::Boolean,
            Shape::Int32 => DataType::Int32,
            Shape::Int64 => DataType::Int64,
            Shape::Float64 => DataType::Float64,
            Shape::Ts => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Shape::Str => DataType::Utf8,
            Shape::List(c) => DataType::List(Arc::new(Field::new("item", c.data_type(), true))),
            Shape::Struct(fs) => DataType::Struct(struct_fields(fs)),
            Shape::Map(v) => DataType::Map(map_entries(v), false),
        }
    }

    /// The type as the docs name it (`list<struct<…>>`, `timestamp[µs, UTC]`).
    pub fn doc_type(&self) -> String {
        match self {
            Shape::Bool => "boolean".into(),
            Shape::Int32 => "int32".into(),
            Shape::Int64 => "int64".into(),
            Shape::Float64 => "float64".into(),
            Shape::Ts => "timestamp(µs, UTC)".into(),
            Shape::Str => "string".into(),
            Shape::List(c) => format!("list<{}>", c.doc_type()),
            Shape::Struct(fs) => format!(
                "struct<{}>",
                fs.iter()
                    .map(|(n, _, s)| format!("{n}: {}", s.doc_type()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Shape::Map(v) => format!("map<string, {}>", v.doc_type()),
        }
    }
}

fn struct_fields(fs: &[(String, String, Shape)]) -> Fields {
    fs.iter()
        .map(|(n, _, s)| Field::new(n, s.data_type(), true))
        .collect()
}

fn map_entries(v: &Shape) -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", v.data_type(), true),
        ])),
        false,
    ))
}

/// The flattened columns of a record's JSON Schema: `(name, doc, shape)` in the
/// schema's order (the records declare their fields alphabetically).
pub fn shapes(schema: &Value, rule: TsRule) -> Result<Vec<(String, String, Shape)>, String> {
    let mut out = Vec::new();
    object(schema, schema, "", "", rule, &mut out)?;
    Ok(out)
}

fn resolve<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/$defs/");
            root.get("$defs").and_then(|d| d.get(name)).unwrap_or(s)
        }
        None => s,
    }
}

/// The schema without its `null` alternative (`anyOf [X, null]`, `type: [T, "null"]`).
fn non_null<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    let s = resolve(s, root);
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        let real: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [one] = real.as_slice() {
            return resolve(one, root);
        }
    }
    s
}

fn is_object(s: &Value) -> bool {
    s.get("properties").is_some()
        || s.get("anyOf").and_then(Value::as_array).is_some_and(|v| {
            v.iter()
                .all(|a| a.get("properties").is_some() || a.get("$ref").is_some())
        })
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}_{key}")
    }
}

/// Adds the columns of an object schema (its properties, and those of every variant of
/// its `anyOf`), names under `prefix`; a field without a description of its own is
/// described by its object's (`bytes_client`: "Payload bytes each side sent").
fn object(
    s: &Value,
    root: &Value,
    prefix: &str,
    parent_doc: &str,
    rule: TsRule,
    out: &mut Vec<(String, String, Shape)>,
) -> Result<(), String> {
    let s = resolve(s, root);
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let name = join(prefix, k);
            let doc = v
                .get("description")
                .or_else(|| resolve(v, root).get("description"))
                .and_then(Value::as_str)
                .unwrap_or(parent_doc)
                .replace('\n', " ");
            let inner = non_null(v, root);
            if is_object(inner) {
                object(inner, root, &name, &doc, rule, out)?;
                continue;
            }
            let shape = leaf(inner, root, &name, rule)?;
            match out.iter_mut().find(|(n, _, _)| *n == name) {
                // A field several variants share: one column, if its type agrees.
                Some((_, d, prev)) => {
                    if *prev != shape {
                        return Err(format!(
                            "{name}: {} in one variant, {} in another",
                            prev.doc_type(),
                            shape.doc_type()
                        ));
                    }
                    if d.is_empty() {
                        *d = doc;
                    }
                }
                None => out.push((name, doc, shape)),
            }
        }
    }
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        for a in alts {
            let a = resolve(a, root);
            if a.get("properties").is_some() {
                object(a, root, prefix, parent_doc, rule, out)?;
            }
        }
    }
    Ok(())
}

fn leaf(s: &Value, root: &Value, name: &str, rule: TsRule) -> Result<Shape, String> {
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => return Err(format!("{name}: no type in {s}")),
    };
    Ok(match ty {
        "boolean" => Shape::Bool,
        "integer" => match s.get("format").and_then(Value::as_str) {
            Some("int8" | "int16" | "int32" | "uint8" | "uint16") => Shape::Int32,
            _ => Shape::Int64,
        },
        "number" if rule.is_ts(name) => Shape::Ts,
        "number" => Shape::Float64,
        "string" => Shape::Str,
        "array" => {
            let items = s.get("items").map(|i| non_null(i, root));
            match items {
                Some(i) if is_object(i) => {
                    let mut fields = Vec::new();
                    object(i, root, "", "", rule, &mut fields)?;
                    Shape::List(Box::new(Shape::Struct(fields)))
                }
                Some(i) => Shape::List(Box::new(leaf(i, root, name, rule)?)),
                None => return Err(format!("{name}: array without items")),
            }
        }
        "object" => match s.get("additionalProperties") {
            Some(v) if v.is_object() => {
                Shape::Map(Box::new(leaf(non_null(v, root), root, name, rule)?))
            }
            _ => return Err(format!("{name}: object without properties")),
        },
        t => return Err(format!("{name}: type {t}")),
    })
}

impl Node {
    pub fn new(name: &str, shape: &Shape) -> Node {
        let buf = match shape {
            Shape::Bool => Buf::Bool(BooleanBuilder::new()),
            Shape::Int32 => Buf::Int32(Int32Builder::new()),
            Shape::Int64 => Buf::Int64(Int64Builder::new()),
            Shape::Float64 => Buf::Float64(Float64Builder::new()),
            Shape::Ts => Buf::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
            Shape::Str => Buf::Str(StringBuilder::new()),
            Shape::List(c) => Buf::List {
                offsets: vec![0],
                valid: Vec::new(),
                child: Box::new(Node::new("item", c)),
            },
            Shape::Struct(fs) => Buf::Struct {
                fields: fs.iter().map(|(n, _, s)| Node::new(n, s)).collect(),
                index: fs
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _, _))| (n.clone(), i))
                    .collect(),
                valid: Vec::new(),
                len: 0,
            },
            Shape::Map(v) => Buf::Map {
                offsets: vec![0],
                valid: Vec::new(),
                keys: StringBuilder::new(),
                values: Box::new(Node::new("value", v)),
            },
        };
        Node {
            name: name.to_string(),
            buf,
        }
    }

    pub fn len(&self) -> usize {
        use arrow_array::builder::ArrayBuilder;
        match &self.buf {
            Buf::Bool(b) => b.len(),
            Buf::Int32(b) => b.len(),
            Buf::Int64(b) => b.len(),
            Buf::Float64(b) => b.len(),
            Buf::Ts(b) => b.len(),
            Buf::Str(b) => b.len(),
            Buf::List { valid, .. } | Buf::Map { valid, .. } => valid.len(),
            Buf::Struct { len, .. } => *len,
        }
    }

    pub fn push_null(&mut self) {
        match &mut self.buf {
            Buf::Bool(b) => b.append_null(),
            Buf::Int32(b) => b.append_null(),
            Buf::Int64(b) => b.append_null(),
            Buf::Float64(b) => b.append_null(),
            Buf::Ts(b) => b.append_null(),
            Buf::Str(b) => b.append_null(),
            Buf::List { offsets, valid, .. } | Buf::Map { offsets, valid, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                valid.push(false);
            }
            Buf::Struct {
                fields, valid, len, ..
            } => {
                for f in fields {
                    f.push_null();
                }
                valid.push(false);
                *len += 1;
            }
        }
    }

    /// The values so far as one array (the buffers start again empty).
    pub fn finish(&mut self, shape: &Shape) -> Result<ArrayRef, String> {
        use arrow_array::builder::ArrayBuilder;
        let e = |e: arrow_schema::ArrowError| format!("{}: {e}", self.name);
        Ok(match (&mut self.buf, shape) {
            (Buf::Bool(b), _) => ArrayBuilder::finish(b),
            (Buf::Int32(b), _) => ArrayBuilder::finish(b),
            (Buf::Int64(b), _) => ArrayBuilder::finish(b),
            (Buf::Float64(b), _) => ArrayBuilder::finish(b),
            (Buf::Ts(b), _) => ArrayBuilder::finish(b),
            (Buf::Str(b), _) => ArrayBuilder::finish(b),
            (
                Buf::List {
                    offsets,
                    valid,
                    child,
                },
                Shape::List(cs),
            ) => {
                let values = child.finish(cs)?;
                let offs = std::mem::replace(offsets, vec![0]);
                let nulls = NullBuffer::from(std::mem::take(valid));
                let field = Arc::new(Field::new("item", cs.data_type(), true));
                Arc::new(
                    ListArray::try_new(
                        field,
                        OffsetBuffer::new(ScalarBuffer::from(offs)),
                        values,
                        Some(nulls),
                    )
                    .map_err(e)?,
                )
            }
            (
                Buf::Struct {
                    fields, valid, len, ..
                },
                Shape::Struct(fs),
            ) => {
                let mut arrays = Vec::with_capacity(fields.len());
                for (f, (_, _, s)) in fields.iter_mut().zip(fs) {
                    arrays.push(f.finish(s)?);
                }
                let nulls = NullBuffer::from(std::mem::take(valid));
                *len = 0;
                Arc::new(StructArray::try_new(struct_fields(fs), arrays, Some(nulls)).map_err(e)?)
            }
            (
                Buf::Map {
                    offsets,
                    valid,
                    keys,
                    values,
                },
                Shape::Map(vs),
            ) => {
                let k: ArrayRef = ArrayBuilder::finish(keys);
                let v = values.finish(vs)?;
                let entries = StructArray::try_new(
                    Fields::from(vec![
                        Field::new("key", DataType::Utf8, false),
                        Field::new("value", vs.data_type(), true),
                    ]),
                    vec![k, v],
                    None,
                )
                .map_err(e)?;
                let offs = std::mem::replace(offsets, vec![0]);
                let nulls = NullBuffer::from(std::mem::take(valid));
                Arc::new(
                    MapArray::try_new(
                        map_entries(vs),
                        OffsetBuffer::new(ScalarBuffer::from(offs)),
                        entries,
                        Some(nulls),
                        false,
                    )
                    .map_err(e)?,
                )
            }
            _ => return Err(format!("{}: shape and buffer differ", self.name)),
        })
    }
}

/// The rows of one table being gathered: `capture`, `schema_version`, then the
/// record's columns.
pub struct Rows {
    shapes: Vec<(String, String, Shape)>,
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    schema: Arc<Schema>,
    rows: usize,
}

impl Rows {
    pub fn new(record: Vec<(String, String, Shape)>) -> Rows {
        let mut shapes = vec![
            (
                "capture".to_string(),
                "The capture file's name (as in the `capture=` partition).".to_string(),
                Shape::Str,
            ),
            (
                "schema_version".to_string(),
                "The table's schema version (docs/schema/parquet.md).".to_string(),
                Shape::Int32,
            ),
        ];
        shapes.extend(record);
        let nodes = shapes.iter().map(|(n, _, s)| Node::new(n, s)).collect();
        let index = shapes
            .iter()
            .enumerate()
            .map(|(i, (n, _, _))| (n.clone(), i))
            .collect();
        let schema = Arc::new(Schema::new(
            shapes
                .iter()
                .map(|(n, _, s)| {
                    let required = n == "capture" || n == "schema_version";
                    Field::new(n, s.data_type(), !required)
                })
                .collect::<Vec<_>>(),
        ));
        Rows {
            shapes,
            nodes,
            index,
            schema,
            rows: 0,
        }
    }

    pub fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    pub fn shapes(&self) -> &[(String, String, Shape)] {
        &self.shapes
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    /// Appends one record as a row.
    pub fn push<T: Serialize>(
        &mut self,
        capture: &str,
        version: i32,
        rec: &T,
    ) -> Result<(), String> {
        let n = self.rows + 1;
        if let Some(Node {
            buf: Buf::Str(b), ..
        }) = self.nodes.get_mut(0)
        {
            b.append_value(capture);
        }
        if let Some(Node {
            buf: Buf::Int32(b), ..
        }) = self.nodes.get_mut(1)
        {
            b.append_value(version);
        }
        let r = rec.serialize(ObjSer {
            nodes: &mut self.nodes,
            index: &self.index,
            prefix: String::new(),
        });
        // Columns the record left out (a null object, a variant without the field).
        let mut bad = None;
        for node in &mut self.nodes {
            while node.len() < n {
                node.push_null();
            }
            if node.len() > n {
                bad = Some(node.name.clone());
            }
        }
        self.rows = n;
        r.map_err(|e| e.0)?;
        match bad {
            Some(name) => Err(format!("{name}: written twice in one record")),
            None => Ok(()),
        }
    }

    /// The rows gathered so far as a batch; the buffers start again empty.
    pub fn take_batch(&mut self) -> Result<RecordBatch, String> {
        let mut arrays = Vec::with_capacity(self.nodes.len());
        for (node, (_, _, s)) in self.nodes.iter_mut().zip(&self.shapes) {
            arrays.push(node.finish(s)?);
        }
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| e.to_string())
    }
}

/// Why a record did not fit its columns (a bug: the schema and the record disagree).
#[derive(Debug)]
pub struct SerError(pub String);

impl Display for SerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

type R = Result<(), SerError>;

fn err(what: &str, at: &str) -> SerError {
    SerError(format!("{at}: {what} where the schema has no such column"))
}

/// Serializes an object whose fields are columns (or flattened objects) named under
/// `prefix`.
struct ObjSer<'a> {
    nodes: &'a mut Vec<Node>,
    index: &'a HashMap<String, usize>,
    prefix: String,
}

/// The fields of an object being serialized ([`ObjSer`]).
struct ObjFields<'a> {
    nodes: &'a mut Vec<Node>,
    index: &'a HashMap<String, usize>,
    prefix: String,
    key: Option<String>,
}

fn route<T: Serialize + ?Sized>(
    nodes: &mut Vec<Node>,
    index: &HashMap<String, usize>,
    prefix: &str,
    key: &str,
    value: &T,
) -> R {
    // No copy of the name for a top-level field (most of them).
    let name = if prefix.is_empty() {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(join(prefix, key))
    };
    value.serialize(RouteSer { nodes, index, name })
}

impl ser::SerializeStruct for ObjFields<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        route(self.nodes, self.index, &self.prefix, key, value)
    }
    fn end(self) -> R {
        Ok(())
    }
}

impl ser::SerializeMap for ObjFields<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> R {
        self.key = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        let key = self.key.take().unwrap_or_default();
        route(self.nodes, self.index, &self.prefix, &key, value)
    }
    fn end(self) -> R {
        Ok(())
    }
}

/// Map keys are strings.
struct KeySer;

impl KeySer {
    fn at(&self) -> String {
        "map key".into()
    }
}

impl ObjSer<'_> {
    fn at(&self) -> String {
        self.prefix.clone()
    }
}

impl ColSer<'_> {
    fn at(&self) -> String {
        self.node.name.clone()
    }
}

macro_rules! refuse {
    ($what:expr; $($m:ident($t:ty)),*) => {
        $(fn $m(self, _: $t) -> Result<Self::Ok, SerError> { Err(err($what, &self.at())) })*
    };
}

/// The serde `Serializer` methods no target here accepts, refused with `at` named.
macro_rules! refuse_compound {
    () => {
        fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, SerError> {
            Err(err("bytes", &self.at()))
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, SerError> {
            Err(err("a unit struct", &self.at()))
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, SerError> {
            Err(err("an enum", &self.at()))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, SerError> {
            Err(err("a tuple struct", &self.at()))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, SerError> {
            Err(err("an enum", &self.at()))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, SerError> {
            Err(err("an enum", &self.at()))
        }
    };
}

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = SerError;
    type SerializeSeq = ser::Impossible<String, SerError>;
    type SerializeTuple = ser::Impossible<String, SerError>;
    type SerializeTupleStruct = ser::Impossible<String, SerError>;
    type SerializeTupleVariant = ser::Impossible<String, SerError>;
    type SerializeMap = ser::Impossible<String, SerError>;
    type SerializeStruct = ser::Impossible<String, SerError>;
    type SerializeStructVariant = ser::Impossible<String, SerError>;
    fn serialize_str(self, v: &str) -> Result<String, SerError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<String, SerError> {
        Ok(v.to_string())
    }
    refuse!("a non-string key"; serialize_bool(bool), serialize_i8(i8), serialize_i16(i16),
        serialize_i32(i32), serialize_i64(i64), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_f32(f32), serialize_f64(f64),
        serialize_char(char));
    fn serialize_none(self) -> Result<String, SerError> {
        Err(err("a null key", "map key"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<String, SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, SerError> {
        Err(err("a unit key", "map key"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, SerError> {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        Err(err("a list key", "map key"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerError> {
        Err(err("a tuple key", "map key"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        Err(err("a map key", "map key"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, SerError> {
        Err(err("a struct key", "map key"))
    }
    refuse_compound!();
}

impl<'a> ser::Serializer for ObjSer<'a> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = ser::Impossible<(), SerError>;
    type SerializeTuple = ser::Impossible<(), SerError>;
    type SerializeTupleStruct = ser::Impossible<(), SerError>;
    type SerializeTupleVariant = ser::Impossible<(), SerError>;
    type SerializeMap = ObjFields<'a>;
    type SerializeStruct = ObjFields<'a>;
    type SerializeStructVariant = ser::Impossible<(), SerError>;
    refuse!("a scalar"; serialize_bool(bool), serialize_i8(i8), serialize_i16(i16),
        serialize_i32(i32), serialize_i64(i64), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_f32(f32), serialize_f64(f64),
        serialize_char(char), serialize_str(&str));
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> R {
        Err(err("a scalar", &self.prefix))
    }
    /// A null object: its columns stay null (filled when the row ends).
    fn serialize_none(self) -> R {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        Err(err("a list", &self.prefix))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerError> {
        Err(err("a tuple", &self.prefix))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<ObjFields<'a>, SerError> {
        Ok(ObjFields {
            nodes: self.nodes,
            index: self.index,
            prefix: self.prefix,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<ObjFields<'a>, SerError> {
        self.serialize_map(None)
    }
    refuse_compound!();
}

/// Serializes one value into one column.
struct ColSer<'a> {
    node: &'a mut Node,
}

impl ColSer<'_> {
    fn int(self, v: i128) -> R {
        match &mut self.node.buf {
            Buf::Int32(b) => b.append_value(
                i32::try_from(v).map_err(|_| err("a wide integer", &self.node.name))?,
            ),
            Buf::Int64(b) => b.append_value(
                i64::try_from(v).map_err(|_| err("a wide integer", &self.node.name))?,
            ),
            Buf::Float64(b) => b.append_value(v as f64),
            _ => return Err(err("an integer", &self.node.name)),
        }
        Ok(())
    }
}

/// Seconds since the epoch as microseconds (rounded: an f64 of today's epoch seconds
/// is exact to well under a microsecond).
pub fn micros(secs: f64) -> i64 {
    (secs * 1e6).round() as i64
}

/// The elements of a list, or the entries of a map, being serialized.
struct SeqSer<'a> {
    node: &'a mut Node,
    key: Option<String>,
}

impl ser::SerializeSeq for SeqSer<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        match &mut self.node.buf {
            Buf::List { child, .. } => value.serialize(ColSer { node: child }),
            _ => Err(err("a list", &self.node.name)),
        }
    }
    fn end(self) -> R {
        match &mut self.node.buf {
            Buf::List {
                offsets,
                valid,
                child,
            } => {
                let n =
                    i32::try_from(child.len()).map_err(|_| err("a huge list", &self.node.name))?;
                offsets.push(n);
                valid.push(true);
                Ok(())
            }
            _ => Err(err("a list", &self.node.name)),
        }
    }
}

impl ser::SerializeTuple for SeqSer<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> R {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for SeqSer<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> R {
        let k = key.serialize(KeySer)?;
        match &mut self.node.buf {
            Buf::Map { keys, .. } => {
                keys.append_value(&k);
                Ok(())
            }
            // A struct inside a list, serialized as a map (flattened fields).
            Buf::Struct { .. } => {
                self.key = Some(k);
                Ok(())
            }
            _ => Err(err("a map", &self.node.name)),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        match &mut self.node.buf {
            Buf::Map { values, .. } => value.serialize(ColSer { node: values }),
            Buf::Struct { fields, index, .. } => {
                let key = self.key.take().unwrap_or_default();
                route(fields, index, "", &key, value)
            }
            _ => Err(err("a map", &self.node.name)),
        }
    }
    fn end(self) -> R {
        end_compound(self.node)
    }
}

impl ser::SerializeStruct for SeqSer<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        match &mut self.node.buf {
            Buf::Struct { fields, index, .. } => route(fields, index, "", key, value),
            _ => Err(err("an object", &self.node.name)),
        }
    }
    fn end(self) -> R {
        end_compound(self.node)
    }
}

/// Ends one map value or one struct element: fields left out are null.
fn end_compound(node: &mut Node) -> R {
    match &mut node.buf {
        Buf::Map {
            offsets,
            valid,
            keys,
            ..
        } => {
            use arrow_array::builder::ArrayBuilder;
            let n = i32::try_from(keys.len()).map_err(|_| err("a huge map", &node.name))?;
            offsets.push(n);
            valid.push(true);
            Ok(())
        }
        Buf::Struct {
            fields, valid, len, ..
        } => {
            *len += 1;
            for f in fields.iter_mut() {
                while f.len() < *len {
                    f.push_null();
                }
            }
            valid.push(true);
            Ok(())
        }
        _ => Err(err("an object", &node.name)),
    }
}

impl<'a> ser::Serializer for ColSer<'a> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = SeqSer<'a>;
    type SerializeTuple = SeqSer<'a>;
    type SerializeTupleStruct = ser::Impossible<(), SerError>;
    type SerializeTupleVariant = ser::Impossible<(), SerError>;
    type SerializeMap = SeqSer<'a>;
    type SerializeStruct = SeqSer<'a>;
    type SerializeStructVariant = ser::Impossible<(), SerError>;

    fn serialize_bool(self, v: bool) -> R {
        match &mut self.node.buf {
            Buf::Bool(b) => b.append_value(v),
            _ => return Err(err("a boolean", &self.node.name)),
        }
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> R {
        self.int(v.into())
    }
    fn serialize_i16(self, v: i16) -> R {
        self.int(v.into())
    }
    fn serialize_i32(self, v: i32) -> R {
        self.int(v.into())
    }
    fn serialize_i64(self, v: i64) -> R {
        self.int(v.into())
    }
    fn serialize_u8(self, v: u8) -> R {
        self.int(v.into())
    }
    fn serialize_u16(self, v: u16) -> R {
        self.int(v.into())
    }
    fn serialize_u32(self, v: u32) -> R {
        self.int(v.into())
    }
    fn serialize_u64(self, v: u64) -> R {
        self.int(v.into())
    }
    fn serialize_f32(self, v: f32) -> R {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> R {
        match &mut self.node.buf {
            Buf::Float64(b) => b.append_value(v),
            Buf::Ts(b) => b.append_value(micros(v)),
            _ => return Err(err("a number", &self.node.name)),
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> R {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> R {
        match &mut self.node.buf {
            Buf::Str(b) => b.append_value(v),
            _ => return Err(err("a string", &self.node.name)),
        }
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> R {
        self.serialize_str(v)
    }
    fn serialize_none(self) -> R {
        self.node.push_null();
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        self.node.push_null();
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SeqSer<'a>, SerError> {
        match self.node.buf {
            Buf::List { .. } => Ok(SeqSer {
                node: self.node,
                key: None,
            }),
            _ => Err(err("a list", &self.node.name)),
        }
    }
    fn serialize_tuple(self, n: usize) -> Result<SeqSer<'a>, SerError> {
        self.serialize_seq(Some(n))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<SeqSer<'a>, SerError> {
        match self.node.buf {
            Buf::Map { .. } | Buf::Struct { .. } => Ok(SeqSer {
                node: self.node,
                key: None,
            }),
            _ => Err(err("a map", &self.node.name)),
        }
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<SeqSer<'a>, SerError> {
        match self.node.buf {
            Buf::Struct { .. } => Ok(SeqSer {
                node: self.node,
                key: None,
            }),
            _ => Err(err("an object", &self.node.name)),
        }
    }
    refuse_compound!();
}

/// A field's value: into its column when it is one, or flattened when it is an object
/// (a name can be both: the story's `client` is a string for a traceroute and an
/// endpoint, `client_ip` and `client_port`, elsewhere).
struct RouteSer<'a, 'k> {
    nodes: &'a mut Vec<Node>,
    index: &'a HashMap<String, usize>,
    name: Cow<'k, str>,
}

impl<'a> RouteSer<'a, '_> {
    fn at(&self) -> String {
        self.name.to_string()
    }

    fn col(self) -> Result<ColSer<'a>, SerError> {
        match self.index.get(self.name.as_ref()).copied() {
            Some(i) => match self.nodes.get_mut(i) {
                Some(node) => Ok(ColSer { node }),
                None => Err(err("a value", &self.name)),
            },
            None => Err(err("a value", &self.name)),
        }
    }

    /// An object: a map or struct column of that name, else flattened.
    fn object(self) -> Result<Compound<'a>, SerError> {
        let col = self.index.get(self.name.as_ref()).copied().filter(|&i| {
            matches!(
                self.nodes.get(i).map(|n| &n.buf),
                Some(Buf::Map { .. } | Buf::Struct { .. })
            )
        });
        match col {
            Some(_) => Ok(Compound::Col(ser::Serializer::serialize_map(
                self.col()?,
                None,
            )?)),
            None => Ok(Compound::Obj(ObjFields {
                nodes: self.nodes,
                index: self.index,
                prefix: self.name.into_owned(),
                key: None,
            })),
        }
    }
}

/// An object going to a column, or flattened.
enum Compound<'a> {
    Col(SeqSer<'a>),
    Obj(ObjFields<'a>),
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> R {
        match self {
            Compound::Col(c) => ser::SerializeMap::serialize_key(c, key),
            Compound::Obj(o) => ser::SerializeMap::serialize_key(o, key),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> R {
        match self {
            Compound::Col(c) => ser::SerializeMap::serialize_value(c, value),
            Compound::Obj(o) => ser::SerializeMap::serialize_value(o, value),
        }
    }
    fn end(self) -> R {
        match self {
            Compound::Col(c) => ser::SerializeMap::end(c),
            Compound::Obj(o) => ser::SerializeMap::end(o),
        }
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> R {
        match self {
            Compound::Col(c) => ser::SerializeStruct::serialize_field(c, key, value),
            Compound::Obj(o) => ser::SerializeStruct::serialize_field(o, key, value),
        }
    }
    fn end(self) -> R {
        match self {
            Compound::Col(c) => ser::SerializeStruct::end(c),
            Compound::Obj(o) => ser::SerializeStruct::end(o),
        }
    }
}

macro_rules! to_column {
    ($($m:ident($t:ty)),*) => {
        $(fn $m(self, v: $t) -> R { self.col()?.$m(v) })*
    };
}

impl<'a> ser::Serializer for RouteSer<'a, '_> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = SeqSer<'a>;
    type SerializeTuple = SeqSer<'a>;
    type SerializeTupleStruct = ser::Impossible<(), SerError>;
    type SerializeTupleVariant = ser::Impossible<(), SerError>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = ser::Impossible<(), SerError>;
    to_column!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str)
    );
    fn serialize_unit_variant(self, n: &'static str, i: u32, v: &'static str) -> R {
        self.col()?.serialize_unit_variant(n, i, v)
    }
    /// Null: the column (or the object's columns) stay null, filled when the row or
    /// the struct ends.
    fn serialize_none(self) -> R {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_seq(self, n: Option<usize>) -> Result<SeqSer<'a>, SerError> {
        self.col()?.serialize_seq(n)
    }
    fn serialize_tuple(self, n: usize) -> Result<SeqSer<'a>, SerError> {
        self.col()?.serialize_tuple(n)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, SerError> {
        self.object()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, SerError> {
        self.object()
    }
    refuse_compound!();
}
