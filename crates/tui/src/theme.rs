//! Colours by protocol and by anomaly. With `NO_COLOR` set (<https://no-color.org>) only
//! modifiers remain (bold, reverse, underline), so selection and highlights still show.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn new(no_color: bool) -> Theme {
        Theme { color: !no_color }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// Row colour of a packet by its top protocol (Wireshark-like families).
    pub fn proto(&self, proto: &str) -> Style {
        match proto {
            "DNS" => self.fg(Color::Cyan),
            "HTTP" => self.fg(Color::Green),
            "TLS" => self.fg(Color::Magenta),
            "QUIC" => self.fg(Color::LightMagenta),
            "UDP" => self.fg(Color::Blue),
            "ARP" | "ICMP" | "ICMPv6" => self.fg(Color::Yellow),
            _ => Style::new(),
        }
    }

    pub fn anomaly(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// Client side of a conversation (Wireshark: red).
    pub fn client(&self) -> Style {
        self.fg(Color::LightRed)
    }

    /// Server side of a conversation (Wireshark: blue).
    pub fn server(&self) -> Style {
        self.fg(Color::LightBlue)
    }

    pub fn gap(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::ITALIC)
    }

    /// Bytes of the selected field in the hex pane.
    pub fn highlight(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_keeps_only_modifiers() {
        let t = Theme::new(true);
        for s in [
            t.proto("DNS"),
            t.anomaly(),
            t.client(),
            t.server(),
            t.highlight(),
            t.dim(),
            t.error(),
        ] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(t.highlight().add_modifier.contains(Modifier::REVERSED));
        let c = Theme::new(false);
        assert_eq!(c.proto("DNS").fg, Some(Color::Cyan));
        assert_ne!(c.client().fg, c.server().fg);
    }
}
