//! The DNS TTL check: ask each resolver for the public host's A records over UDP and read the TTLs
//! (`simple-dns` builds and parses the packets; no resolver library, no async runtime).
//!
//! A recursive resolver answers with the time left in its cache, which is at most the zone's TTL;
//! name the zone's authoritative servers with `--resolver` for the configured value.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use simple_dns::{CLASS, Name, Packet, PacketFlag, Question, RCODE, TYPE};

use crate::check::Check;

/// The largest TTL the flip tolerates (the checklist: "TTL lowered to 60 s").
pub const MAX_TTL: u32 = 60;

/// What one resolver said about the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The records' TTLs (every record of the answer, CNAMEs included).
    Ttls(Vec<u32>),
    /// The resolver answered, but with no record (and this response code).
    Empty(String),
    /// No usable answer (timeout, unreachable, unparsable).
    Failed(String),
}

/// `IP` or `IP:port` (`[v6]:port`); port 53 when none is given.
pub fn parse_resolver(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("--resolver {text:?} is not an IP address or IP:port"))
}

/// The system's resolvers: the `nameserver` lines of `resolv.conf` text.
pub fn system_resolvers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|rest| parse_resolver(rest.trim()).ok())
        .collect()
}

/// Asks `resolver` for the A records of `host`.
pub fn query_ttls(resolver: SocketAddr, host: &str, timeout: Duration) -> Answer {
    match exchange(resolver, host, timeout) {
        Ok(a) => a,
        Err(e) => Answer::Failed(e),
    }
}

fn exchange(resolver: SocketAddr, host: &str, timeout: Duration) -> Result<Answer, String> {
    let id = (std::process::id() as u16) ^ 0x5a5a;
    let mut query = Packet::new_query(id);
    query.set_flags(PacketFlag::RECURSION_DESIRED);
    let name = Name::new(host).map_err(|e| format!("{host:?} is not a host name: {e}"))?;
    query
        .questions
        .push(Question::new(name, TYPE::A.into(), CLASS::IN.into(), false));
    let bytes = query.build_bytes_vec().map_err(|e| e.to_string())?;
    let local = if resolver.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    socket.connect(resolver).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    // Two tries: UDP may drop one datagram.
    for _ in 0..2 {
        socket.send(&bytes).map_err(|e| e.to_string())?;
        let Ok(n) = socket.recv(&mut buf) else {
            continue;
        };
        let reply = Packet::parse(&buf[..n]).map_err(|e| format!("bad DNS answer: {e}"))?;
        if reply.id() != id {
            continue;
        }
        if reply.answers.is_empty() || reply.rcode() != RCODE::NoError {
            return Ok(Answer::Empty(format!("{:?}", reply.rcode())));
        }
        return Ok(Answer::Ttls(reply.answers.iter().map(|r| r.ttl).collect()));
    }
    Err(format!(
        "no answer within {} ms (twice)",
        timeout.as_millis()
    ))
}

/// One check per resolver: passes when every record's TTL is at most [`MAX_TTL`].
pub fn ttl_checks(host: &str, resolvers: &[SocketAddr], timeout: Duration) -> Vec<Check> {
    if resolvers.is_empty() {
        return vec![Check::fail(
            "dns-ttl",
            "no resolver: pass --resolver=IP (none in /etc/resolv.conf)",
        )];
    }
    resolvers
        .iter()
        .map(|&r| match query_ttls(r, host, timeout) {
            Answer::Ttls(ttls) => {
                let max = ttls.iter().copied().max().unwrap_or(0);
                Check::when(
                    "dns-ttl",
                    max <= MAX_TTL,
                    format!("{host} A: TTL {max} s (limit {MAX_TTL} s) at {r}"),
                )
            }
            Answer::Empty(code) => {
                Check::fail("dns-ttl", format!("{host} A: no record ({code}) at {r}"))
            }
            Answer::Failed(e) => Check::fail("dns-ttl", format!("{host} A at {r}: {e}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolvers_from_text_and_resolv_conf() {
        assert_eq!(parse_resolver("1.1.1.1").unwrap().port(), 53);
        assert_eq!(parse_resolver("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_resolver("[::1]:54").unwrap().port(), 54);
        assert!(parse_resolver("dns.example").is_err());
        let conf =
            "# generated\nsearch lan\nnameserver 10.0.0.2\nnameserver ::1\noptions ndots:1\n";
        let got = system_resolvers(conf);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].to_string(), "10.0.0.2:53");
    }
}
