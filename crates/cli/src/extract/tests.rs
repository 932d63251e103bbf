//! Unit tests: every table's columns derive from its record type, and real records fit
//! them.

use super::columns::{Rows, Shape};
use super::tables::Table;

#[test]
fn every_table_maps_its_schema_to_columns() {
    for t in Table::ALL {
        let shapes = t.shapes();
        assert!(shapes.len() > 5, "{}: {shapes:?}", t.name());
        let mut names: Vec<&str> = shapes.iter().map(|(n, _, _)| n.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "{}: a column twice", t.name());
        let _ = Rows::new(shapes).schema();
    }
    let conns = Table::Conns.shapes();
    let ty = |n: &str| {
        conns
            .iter()
            .find(|(c, _, _)| c == n)
            .map(|(_, _, s)| s.clone())
    };
    assert_eq!(ty("client_ip"), Some(Shape::Str));
    assert_eq!(ty("client_port"), Some(Shape::Int32));
    assert_eq!(ty("id"), Some(Shape::Int64));
    assert_eq!(ty("first_ts"), Some(Shape::Ts));
    assert_eq!(ty("phases_fin_client"), Some(Shape::Ts));
    assert_eq!(ty("duration"), Some(Shape::Float64));
    assert_eq!(ty("handshake_rtt"), Some(Shape::Float64));
    assert_eq!(ty("community_id"), Some(Shape::Str));
    assert!(matches!(ty("analysis"), Some(Shape::Map(_))));
    assert!(matches!(ty("anomalies"), Some(Shape::List(_))));
    // Story phases are durations, not times.
    let story = Table::Story.shapes();
    let sty = |n: &str| {
        story
            .iter()
            .find(|(c, _, _)| c == n)
            .map(|(_, _, s)| s.clone())
    };
    assert_eq!(sty("phases_ttfb"), Some(Shape::Float64));
    assert_eq!(sty("ts"), Some(Shape::Ts));
    assert_eq!(sty("client_ip"), Some(Shape::Str));
}

/// Objects flatten, a null object leaves its columns null, lists of objects are lists of
/// structs, maps are maps; a value the schema has no column for is an error, never
/// dropped.
#[test]
fn records_fill_their_columns_and_mismatches_are_errors() {
    use super::columns::{shapes, TsRule};
    use arrow_array::cast::AsArray;
    use arrow_array::Array;
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "a": {"anyOf": [{"$ref": "#/$defs/E"}, {"type": "null"}]},
            "l": {"type": "array", "items": {"$ref": "#/$defs/E"}},
            "m": {"type": "object", "additionalProperties": {"type": "integer", "format": "uint32"}},
            "t_ts": {"type": ["number", "null"]}
        },
        "$defs": {"E": {"type": "object", "properties": {
            "ip": {"type": "string"}, "port": {"type": "integer", "format": "uint16"}
        }}}
    });
    let cols = shapes(&schema, TsRule { prefix: None }).unwrap();
    let names: Vec<&str> = cols.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["a_ip", "a_port", "l", "m", "t_ts"]);
    assert_eq!(cols[4].2, Shape::Ts);
    let mut rows = Rows::new(cols);
    let one = serde_json::json!({"a": {"ip": "198.18.0.1", "port": 80},
        "l": [{"ip": "x", "port": 1}, {"ip": "y"}], "m": {"k": 3}, "t_ts": 1.5});
    let two = serde_json::json!({"a": null, "l": [], "m": {}, "t_ts": null});
    rows.push("c", 1, &one).unwrap();
    rows.push("c", 1, &two).unwrap();
    let b = rows.take_batch().unwrap();
    assert_eq!(b.num_rows(), 2);
    let port = b.column_by_name("a_port").unwrap();
    assert_eq!(
        port.as_primitive::<arrow_array::types::Int32Type>()
            .value(0),
        80
    );
    assert!(port.is_null(1) && b.column_by_name("a_ip").unwrap().is_null(1));
    let l = b.column_by_name("l").unwrap().as_list::<i32>();
    assert_eq!(l.value_length(0), 2);
    assert_eq!(l.value_length(1), 0);
    let inner = l.value(0);
    let st = inner.as_struct();
    assert!(st.column_by_name("port").unwrap().is_null(1));
    let ts = b.column_by_name("t_ts").unwrap();
    assert_eq!(
        ts.as_primitive::<arrow_array::types::TimestampMicrosecondType>()
            .value(0),
        1_500_000
    );
    for bad in [
        serde_json::json!({"nope": 1}),
        serde_json::json!({"a": {"ip": 5}}),
        serde_json::json!({"l": "not a list"}),
    ] {
        assert!(rows.push("c", 1, &bad).is_err(), "{bad}");
    }
}
