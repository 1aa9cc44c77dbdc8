//! `limits.max_connections_per_client`: the open connections one client may
//! hold, so that a single client cannot take every slot of
//! `limits.max_connections` and leave the others with 503s.
//!
//! A client is its address, or for IPv6 its /64 (what one subscriber usually
//! gets: else it could open each connection from a fresh address). A trusted
//! proxy is not counted: many clients share its address, and which one sent a
//! connection is known only from its requests' headers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections per client, up to a limit.
#[derive(Debug)]
pub struct ClientConnections {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl ClientConnections {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(ClientConnections {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more connection of `client` (see [`client_key`]), held
    /// while the connection is open; `None` when it already holds the limit.
    pub fn open(self: &Arc<Self>, client: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            owner: Arc::clone(self),
            client,
        })
    }

    /// Clients holding at least one connection.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One counted connection; dropping it frees the slot.
#[derive(Debug)]
pub struct ClientSlot {
    owner: Arc<ClientConnections>,
    client: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self
            .owner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_client_gets_its_limit_and_a_closed_connection_frees_a_slot() {
        let connections = ClientConnections::new(2);
        let first = connections.open(ip("192.0.2.1"));
        let second = connections.open(ip("192.0.2.1"));
        assert!(first.is_some() && second.is_some());
        assert!(connections.open(ip("192.0.2.1")).is_none());
        assert!(
            connections.open(ip("192.0.2.2")).is_some(),
            "another client"
        );
        drop(first);
        let third = connections.open(ip("192.0.2.1"));
        assert!(third.is_some());
        drop((second, third));
        assert_eq!(connections.clients(), 0, "no entry is left behind");
    }
}
