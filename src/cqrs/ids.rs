//! Deterministic ids: UUID version 5 (RFC 9562, SHA-1 of a namespace and a name). A saga step,
//! a compensation, a parked event or a command's events get the same id every time they are
//! derived, so a retry after a reload or a closed tab is recognised instead of repeated.

use crate::core::event::EventId;

/// The namespace of every id eventfold derives (itself a v5 id of "eventfold" in the URL
/// namespace; any fixed UUID would do, this one must simply never change).
pub const NAMESPACE: [u8; 16] = [
    0x6f, 0x1c, 0x2b, 0x84, 0x5d, 0x3e, 0x5a, 0x07, 0x9b, 0x52, 0x0e, 0x61, 0xc4, 0x7d, 0x10, 0x93,
];

/// The UUID v5 of `name` in `namespace`.
pub fn uuid_v5(namespace: &[u8; 16], name: &str) -> EventId {
    let mut input = Vec::with_capacity(16 + name.len());
    input.extend_from_slice(namespace);
    input.extend_from_slice(name.as_bytes());
    let hash = sha1(&input);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    EventId::from_bytes(bytes)
}

/// The id derived from the parts of a name (joined with `/`) in eventfold's namespace.
pub fn derive(parts: &[&str]) -> EventId {
    uuid_v5(&NAMESPACE, &parts.join("/"))
}

/// The id of the `index`-th event appended by the command `command_id`.
pub fn event_id(command_id: &EventId, index: usize) -> EventId {
    derive(&[command_id.as_str(), "event", &index.to_string()])
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut message = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha1_matches_the_standard_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(hex(&sha1(long)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    }

    #[test]
    fn v5_matches_rfc_9562() {
        // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&dns, "www.example.com").as_str(),
            "2ed6657d-e927-568b-95e1-2665a8aea6a2"
        );
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derive(&["saga-checkout-1", "step", "0"]);
        assert_eq!(a, derive(&["saga-checkout-1", "step", "0"]));
        assert_ne!(a, derive(&["saga-checkout-1", "step", "1"]));
        assert_ne!(event_id(&a, 0), event_id(&a, 1));
        assert!(EventId::parse(a.as_str()).is_ok());
    }
}
