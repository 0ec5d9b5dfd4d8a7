//! The listening socket and the accepted-connection type the gRPC server serves over.
//!
//! On unix go-plugin listens on a fresh unix socket in `PLUGIN_UNIX_SOCKET_DIR` (or the temp
//! dir); we do the same and fall back to TCP on 127.0.0.1 if that fails. On Windows it listens
//! on TCP 127.0.0.1, on the first free port from `PLUGIN_MIN_PORT` to `PLUGIN_MAX_PORT` (any
//! port when unset); so do we. Connections are accepted here, apart from the HTTP/2 serving,
//! so that a failed TLS handshake only drops that connection.

use std::io;
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::handshake::ListenAddr;

/// Directory for the socket, as go-plugin's client may set it.
pub(crate) const UNIX_SOCKET_DIR_KEY: &str = "PLUGIN_UNIX_SOCKET_DIR";
/// Group to give the socket to (custom plugin runners only).
pub(crate) const UNIX_SOCKET_GROUP_KEY: &str = "PLUGIN_UNIX_SOCKET_GROUP";
/// Lowest TCP port to listen on (Windows), as go-plugin's client may set it.
#[cfg(any(not(unix), test))]
const MIN_PORT_KEY: &str = "PLUGIN_MIN_PORT";
/// Highest TCP port to listen on (Windows).
#[cfg(any(not(unix), test))]
const MAX_PORT_KEY: &str = "PLUGIN_MAX_PORT";

/// A client that has not finished its TLS handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bound listener plus, for unix sockets, the file to remove when we are done.
pub(crate) struct Bound {
    pub(crate) addr: ListenAddr,
    listener: Listener,
    _socket_file: Option<SocketFile>,
}

enum Listener {
    #[cfg(unix)]
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Removes the socket file when dropped, i.e. when `serve` returns.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Binds a unix socket with a unique name in `dir`, or 127.0.0.1:0 if that fails.
#[cfg(unix)]
pub(crate) async fn bind(dir: Option<PathBuf>, group: Option<&str>) -> io::Result<Bound> {
    let dir = dir.unwrap_or_else(std::env::temp_dir);
    match bind_unix(&dir, group) {
        Ok(bound) => Ok(bound),
        Err(unix_err) => {
            tracing::warn!(dir = %dir.display(), error = %unix_err,
                "cannot listen on a unix socket, falling back to TCP");
            bind_tcp(0, 0).await
        }
    }
}

/// Binds TCP 127.0.0.1 on a port from `PLUGIN_MIN_PORT`..=`PLUGIN_MAX_PORT` (any port when
/// unset), as go-plugin does on Windows; the unix-socket settings do not apply there.
#[cfg(not(unix))]
pub(crate) async fn bind(_dir: Option<PathBuf>, _group: Option<&str>) -> io::Result<Bound> {
    let port = |key| std::env::var(key).ok().filter(|v| !v.is_empty());
    let (min, max) = port_range(port(MIN_PORT_KEY).as_deref(), port(MAX_PORT_KEY).as_deref())?;
    bind_tcp(min, max).await
}

/// go-plugin's reading of `PLUGIN_MIN_PORT`/`PLUGIN_MAX_PORT`: each defaults to 0, so with
/// neither set the range is just port 0 (any free port).
#[cfg(any(not(unix), test))]
fn port_range(min: Option<&str>, max: Option<&str>) -> io::Result<(u16, u16)> {
    let parse = |key: &str, value: Option<&str>| -> io::Result<u16> {
        value.map_or(Ok(0), |v| {
            v.trim().parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{key}={v:?} is not a TCP port number"),
                )
            })
        })
    };
    let (min, max) = (parse(MIN_PORT_KEY, min)?, parse(MAX_PORT_KEY, max)?);
    if min > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{MIN_PORT_KEY}={min} is greater than {MAX_PORT_KEY}={max}"),
        ));
    }
    Ok((min, max))
}

/// Binds the first free port of `min..=max` on 127.0.0.1.
async fn bind_tcp(min: u16, max: u16) -> io::Result<Bound> {
    let mut last_err = io::Error::other("no port in range");
    for port in min..=max {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => {
                let addr = ListenAddr::Tcp(listener.local_addr()?.to_string());
                return Ok(Bound {
                    addr,
                    listener: Listener::Tcp(listener),
                    _socket_file: None,
                });
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

#[cfg(unix)]
fn bind_unix(dir: &Path, group: Option<&str>) -> io::Result<Bound> {
    let mut last_err = io::Error::other("no attempt made");
    // Random names make collisions unlikely; retry the few that happen.
    for _ in 0..8 {
        let path = dir.join(format!("plugin{:016x}", rand::random::<u64>()));
        match UnixListener::bind(&path) {
            Ok(listener) => {
                let socket_file = SocketFile(path.clone());
                if let Some(group) = group.filter(|g| !g.is_empty()) {
                    make_group_writable(&path, group)?;
                }
                let addr = ListenAddr::Unix(path.to_string_lossy().into_owned());
                return Ok(Bound {
                    addr,
                    listener: Listener::Unix(listener),
                    _socket_file: Some(socket_file),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last_err = e,
            Err(e) => return Err(e),
        }
    }
    Err(last_err)
}

/// Like go-plugin: chown the socket to `group` (a gid or a name) and make it mode 0660.
#[cfg(unix)]
fn make_group_writable(path: &Path, group: &str) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let gid = match group.parse::<u32>() {
        Ok(gid) => gid,
        Err(_) => lookup_gid(group)?,
    };
    std::os::unix::fs::chown(path, None, Some(gid))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
}

/// Finds a group by name in /etc/group (no NSS; enough for the runners that set this).
#[cfg(unix)]
fn lookup_gid(name: &str) -> io::Result<u32> {
    let groups = std::fs::read_to_string("/etc/group")?;
    groups
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let group = fields.next()?;
            let gid = fields.nth(1)?.parse().ok()?;
            (group == name).then_some(gid)
        })
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("group {name:?} not found in /etc/group"),
            )
        })
}

/// Any byte stream the server can speak HTTP/2 over.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// One accepted connection, plain or TLS, over unix or TCP.
pub(crate) struct Conn(Box<dyn Io>);

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

/// Accepts connections until `shutdown`, performing the TLS handshake (if any) on a task
/// of its own, and hands ready connections to the server through the returned channel.
///
/// Owns the listener (and the socket file), so both go away when accepting stops.
pub(crate) fn accept_loop(
    bound: Bound,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> mpsc::Receiver<Conn> {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        let Bound {
            listener,
            _socket_file,
            ..
        } = bound;
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                () = tx.closed() => break,
                accepted = accept(&listener) => accepted,
            };
            let stream = match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accepting a plugin connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some(acceptor) = acceptor.clone() else {
                if tx.send(stream).await.is_err() {
                    break;
                }
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Conn(Box::new(tls))).await;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "TLS handshake with plugin client failed")
                    }
                    Err(_) => tracing::warn!("TLS handshake with plugin client timed out"),
                }
            });
        }
        tracing::debug!("stopped accepting plugin connections");
    });
    rx
}

async fn accept(listener: &Listener) -> io::Result<Conn> {
    Ok(match listener {
        #[cfg(unix)]
        Listener::Unix(l) => Conn(Box::new(l.accept().await?.0)),
        Listener::Tcp(l) => {
            let (stream, _) = l.accept().await?;
            // gRPC is chatty with small frames; Nagle only adds latency here.
            let _ = stream.set_nodelay(true);
            Conn(Box::new(stream))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_socket_is_unique_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = bind(Some(dir.path().to_owned()), None).await.unwrap();
        let b = bind(Some(dir.path().to_owned()), None).await.unwrap();
        let (ListenAddr::Unix(pa), ListenAddr::Unix(pb)) = (a.addr.clone(), b.addr.clone()) else {
            panic!("expected unix sockets: {:?} {:?}", a.addr, b.addr);
        };
        assert_ne!(pa, pb);
        assert!(Path::new(&pa).starts_with(dir.path()));
        assert!(Path::new(&pa).exists());
        drop(a);
        assert!(!Path::new(&pa).exists());
        assert!(Path::new(&pb).exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn falls_back_to_tcp_when_the_directory_is_unusable() {
        let bound = bind(Some(PathBuf::from("/nonexistent/plugin/dir")), None)
            .await
            .unwrap();
        match &bound.addr {
            ListenAddr::Tcp(a) => assert!(a.starts_with("127.0.0.1:"), "{a}"),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn socket_group_by_numeric_gid() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let dir = tempfile::tempdir().unwrap();
        let gid = std::fs::metadata(dir.path()).unwrap().gid();
        let bound = bind(Some(dir.path().to_owned()), Some(&gid.to_string()))
            .await
            .unwrap();
        let meta = std::fs::metadata(bound.addr.address()).unwrap();
        assert_eq!(meta.gid(), gid);
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    }

    #[cfg(unix)]
    #[test]
    fn unknown_group_name_is_an_error() {
        assert!(lookup_gid("no-such-group-for-plugin-tests").is_err());
    }

    #[test]
    fn port_range_defaults_and_errors_like_go_plugin() {
        assert_eq!(port_range(None, None).unwrap(), (0, 0));
        assert_eq!(
            port_range(Some("10000"), Some("10010")).unwrap(),
            (10000, 10010)
        );
        let err = port_range(Some("10010"), Some("10000")).unwrap_err();
        assert!(
            err.to_string().contains("PLUGIN_MIN_PORT=10010 is greater"),
            "{err}"
        );
        let err = port_range(Some("x"), None).unwrap_err();
        assert!(err.to_string().contains("PLUGIN_MIN_PORT=\"x\""), "{err}");
    }

    #[tokio::test]
    async fn tcp_skips_a_taken_port_and_reports_an_exhausted_range() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind_tcp(port, port)
            .await
            .err()
            .expect("the only port is taken");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let any = bind_tcp(0, 0).await.unwrap();
        match any.addr {
            ListenAddr::Tcp(a) => assert!(a.starts_with("127.0.0.1:") && !a.ends_with(":0"), "{a}"),
            other => panic!("{other:?}"),
        }
    }
}
