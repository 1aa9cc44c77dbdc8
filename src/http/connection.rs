//! The connection a request arrived on, as handlers and the layers above
//! the connection loop see it, and the faults a handler may ask it for.
//! A leaf: everything else in `http/` may use it, it uses none of them but
//! the TLS details and the route labels.

use std::net::IpAddr;
use std::sync::Arc;

use super::route_label::RouteLabels;
use super::tls::TlsInfo;

/// The connection a request arrived on: in the extensions of every request
/// the router serves, an argument of a direct route's handler.
///
/// One extension for all of it: each extension costs an allocation (and a
/// hash-map insert) per request, and what is the same for every request on
/// the connection is shared, not copied.
#[derive(Clone)]
pub struct Connection {
    /// The client: the TCP peer, or the address a trusted proxy reports.
    pub client_ip: IpAddr,
    facts: Arc<ConnectionFacts>,
}

/// What is the same for every request on one connection.
pub struct ConnectionFacts {
    tls: Option<TlsInfo>,
    body_limit: usize,
    route_labels: RouteLabels,
}

impl ConnectionFacts {
    pub fn new(tls: Option<TlsInfo>, body_limit: usize, route_labels: RouteLabels) -> Self {
        ConnectionFacts {
            tls,
            body_limit,
            route_labels,
        }
    }
}

impl Connection {
    /// A request from `client_ip` on the connection `facts` describe.
    pub fn new(client_ip: IpAddr, facts: Arc<ConnectionFacts>) -> Self {
        Connection { client_ip, facts }
    }

    /// The TLS details, over HTTPS.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.facts.tls.as_ref()
    }

    /// The `body_limit` setting, for extractors to name in a 413 (carried
    /// here rather than in an extension of its own: each costs an allocation
    /// per request).
    pub fn body_limit(&self) -> usize {
        self.facts.body_limit
    }

    /// The template of the route that serves `path`, as the request metrics
    /// and the access log name it (the raw path may carry secrets).
    pub fn route_label<'a>(&'a self, path: &str) -> &'a str {
        self.facts.route_labels.label_of(path)
    }
}

/// A broken answer a handler can ask for, so that clients can be tested
/// against network failures. The handler puts it in its response's
/// extensions; the connection then sends the fault instead of the response
/// and closes. Over HTTPS the fault's bytes travel inside TLS, so a client
/// sees the same broken HTTP either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Nothing is sent; the socket is closed with a RST: the client sees
    /// "connection reset by peer".
    Reset,
    /// Nothing is sent; the connection is closed normally: an empty reply.
    Empty,
    /// A `200` head announcing a chunked body, then a chunk that does not
    /// parse, then close.
    MalformedChunk,
    /// Random bytes instead of a response, then close.
    RandomData,
}

/// The `MalformedChunk` fault: the chunk-size line is not hexadecimal.
const MALFORMED_CHUNK: &[u8] = b"HTTP/1.1 200 OK\r\n\
transfer-encoding: chunked\r\n\r\n\
lskdu018973t09sylgasjkfg1][]'./.sdlv\r\n";

const RANDOM_DATA_LEN: usize = 64;

impl ConnectionFault {
    /// What is written before the connection closes.
    pub(super) fn bytes(self) -> Vec<u8> {
        match self {
            ConnectionFault::Reset | ConnectionFault::Empty => Vec::new(),
            ConnectionFault::MalformedChunk => MALFORMED_CHUNK.to_vec(),
            ConnectionFault::RandomData => (0..RANDOM_DATA_LEN).map(|_| fastrand::u8(..)).collect(),
        }
    }
}
