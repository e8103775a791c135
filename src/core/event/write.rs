//! [`RecordedEvent`]'s JSON text, written by hand: this runs for every event read into
//! JavaScript or written to IndexedDB.

use super::RecordedEvent;
use crate::core::json::write_string;

impl RecordedEvent {
    /// Appends this event to `out` as the JSON object JavaScript sees:
    /// `{"id","stream","type","data","metadata","version","position","timestamp"}`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"id\":");
        write_string(out, self.id.as_str());
        out.push_str(",\"stream\":");
        write_string(out, self.stream.as_str());
        out.push_str(",\"type\":");
        write_string(out, self.event_type.as_str());
        out.push_str(",\"data\":");
        out.push_str(self.data.as_str());
        out.push_str(",\"metadata\":");
        out.push_str(self.metadata.as_str());
        out.push_str(",\"version\":");
        push_uint(out, self.version.0);
        out.push_str(",\"position\":");
        push_uint(out, self.position.0);
        out.push_str(",\"timestamp\":");
        push_int(out, self.timestamp.0);
        out.push('}');
    }

    /// An estimate (exact unless names need escaping) of [`write_json`](Self::write_json)'s output length.
    pub fn json_len_hint(&self) -> usize {
        180 + self.stream.as_str().len()
            + self.event_type.as_str().len()
            + self.data.as_str().len()
            + self.metadata.as_str().len()
    }
}

/// Appends the decimal digits of `n` (without the formatting machinery: this runs for every
/// number of every event written to IndexedDB).
fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_uint(out, n.unsigned_abs());
}

fn push_uint(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::{EventId, EventType, Position, StreamId, Timestamp, Version};
    use crate::core::json::Json;

    #[test]
    fn recorded_events_write_the_json_serde_reads() {
        let e = RecordedEvent {
            id: EventId::from_bytes([7; 16]),
            stream: StreamId::new("order-\"1\"").unwrap(),
            event_type: EventType::new("Créé").unwrap(),
            data: Json::parse(r#"{"a":[1,null]}"#).unwrap(),
            metadata: Json::empty_object(),
            version: Version(3),
            position: Position(9),
            timestamp: Timestamp(1_700_000_000_000),
        };
        let mut out = String::new();
        e.write_json(&mut out);
        let back: RecordedEvent = serde_json::from_str(&out).unwrap();
        assert_eq!(back, e);
        assert!(out.len() <= e.json_len_hint());
        assert_eq!(out, serde_json::to_string(&e).unwrap());
        for (v, p, t) in [
            (0, 0, 0),
            (u64::MAX, 9_007_199_254_740_991, i64::MIN),
            (10, 100, -5),
        ] {
            let e = RecordedEvent {
                version: Version(v),
                position: Position(p),
                timestamp: Timestamp(t),
                ..e.clone()
            };
            let mut out = String::new();
            e.write_json(&mut out);
            assert_eq!(out, serde_json::to_string(&e).unwrap());
        }
    }
}
