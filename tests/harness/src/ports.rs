//! Free loopback ports.

use std::net::{Ipv4Addr, TcpListener};

use crate::error::{IoContext, Result};

/// A port the OS had free a moment ago.
///
/// Another process may take it before our server binds it; the callers retry with a new
/// port when a server reports that its address is in use.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context(|| "bind port 0".into())?;
    Ok(listener
        .local_addr()
        .context(|| "read bound address".into())?
        .port())
}
