//! What every request passes before its endpoint: the `Host` check of open mode (against DNS
//! rebinding) and the content type of writes.

use super::answer::Answer;
use crate::error::Error;
use crate::sync::protocol::ErrorBody;

/// Whether `host` (a `Host` header value) names this machine in a way DNS cannot rebind:
/// `localhost` or an IP address literal, with or without a port.
pub fn is_rebind_safe_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, port)) => {
                ip.parse::<std::net::Ipv6Addr>().is_ok()
                    && (port.is_empty()
                        || port
                            .strip_prefix(':')
                            .is_some_and(|p| p.parse::<u16>().is_ok()))
            }
            None => false,
        };
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.parse::<u16>().is_ok() => name,
            Some(_) => return false,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Why open mode refuses a request whose `Host` DNS could rebind.
const REBIND_REFUSAL: &str = "open mode (no token file) serves only requests for localhost or an \
     IP address (Host header), against DNS rebinding; give the server a token file";

/// What every request passes before its endpoint, in both servers (`eventfold-server`'s
/// middleware calls it too): open mode serves only rebind-safe hosts (403 `FORBIDDEN`), and
/// `POST`s must carry `Content-Type: application/json` (415 `INVALID_INPUT`). `None` lets the
/// request through.
pub fn precheck(
    open: bool,
    method: &str,
    host: Option<&str>,
    content_type: Option<&str>,
) -> Option<Answer> {
    if open && !host.is_some_and(is_rebind_safe_host) {
        return Some(Answer::error_body(
            403,
            &ErrorBody::new("FORBIDDEN", REBIND_REFUSAL),
        ));
    }
    let json = content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if method == "POST" && !json {
        return Some(Answer::error_body(
            415,
            &ErrorBody::from(&Error::invalid(
                "requests with a body must be sent with Content-Type: application/json",
            )),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_dns_cannot_rebind() {
        for ok in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8787",
            "10.1.2.3:9",
        ] {
            assert!(is_rebind_safe_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8787",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[::1",
            "[nothost]:1",
            "localhost:http",
            "",
        ] {
            assert!(!is_rebind_safe_host(bad), "{bad}");
        }
    }
}
