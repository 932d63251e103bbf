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
