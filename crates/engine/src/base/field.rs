//! The dissection tree shown in the detail pane.

use std::ops::Range;

/// One node of a packet's dissection tree. Every node carries the byte range of the
/// frame it was decoded from, so selecting a field can highlight its bytes in the hex
/// pane. Ranges are offsets into the captured frame bytes (for reassembled IP fragments,
/// into the reassembled datagram, flagged by the node's label).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldNode {
    /// Text as shown: "Source Port: 443" or "Transmission Control Protocol, Src Port: …".
    pub label: String,
    /// Bytes of the frame this node covers (may be empty for derived values).
    pub range: Range<usize>,
    pub children: Vec<FieldNode>,
}

impl FieldNode {
    pub fn new(label: impl Into<String>, range: Range<usize>) -> Self {
        FieldNode {
            label: label.into(),
            range,
            children: Vec::new(),
        }
    }

    /// Adds a child and returns `self` for chained building.
    pub fn with(mut self, child: FieldNode) -> Self {
        self.children.push(child);
        self
    }

    /// Adds a leaf child.
    pub fn push(&mut self, label: impl Into<String>, range: Range<usize>) -> &mut FieldNode {
        self.children.push(FieldNode::new(label, range));
        self.children.last_mut().expect("just pushed")
    }

    /// Depth-first walk over this node and its descendants with their depth.
    pub fn walk(&self, f: &mut impl FnMut(&FieldNode, usize)) {
        fn go(n: &FieldNode, depth: usize, f: &mut impl FnMut(&FieldNode, usize)) {
            f(n, depth);
            for c in &n.children {
                go(c, depth + 1, f);
            }
        }
        go(self, 0, f);
    }
}
