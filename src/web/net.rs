//! The desk's own accept loop (instead of `axum::serve`), for what must hold
//! against slow or greedy clients (`web.md`, "under attack and faults"):
//!
//! - the request headers must arrive within `header_timeout` (10 s), else the
//!   connection is closed (hyper's header read timeout);
//! - a request body must keep moving: at least `body_min_bytes` (1 KB) every
//!   `body_window` (10 s), else the request fails and the connection closes;
//! - at most `per_address` (64) connections at once from one address; the next
//!   ones get a French `503` and are closed at once.
//!
//! Each request carries the client's address (`ConnectInfo<SocketAddr>`); the
//! address of a trusted reverse proxy is replaced by the last one it adds to
//! `X-Forwarded-For` (see [`client_address`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The limits of [`serve`] (spec values by default).
#[derive(Debug, Clone)]
pub struct NetLimits {
    pub header_timeout: Duration,
    pub body_window: Duration,
    pub body_min_bytes: u64,
    pub per_address: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_window: Duration::from_secs(10),
            body_min_bytes: 1024,
            per_address: 64,
        }
    }
}

type Counts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection counted for its address; uncounted when dropped.
struct Counted {
    counts: Counts,
    ip: IpAddr,
}

impl Drop for Counted {
    fn drop(&mut self) {
        if let Ok(mut m) = self.counts.lock() {
            if let Some(n) = m.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(&self.ip);
                }
            }
        }
    }
}

fn count(counts: &Counts, ip: IpAddr, cap: usize, exempt: bool) -> Option<Counted> {
    let mut m = counts.lock().ok()?;
    let n = m.entry(ip).or_insert(0);
    if *n >= cap && !exempt {
        return None;
    }
    *n += 1;
    Some(Counted {
        counts: Arc::clone(counts),
        ip,
    })
}

/// A connection over the cap: its request is read (a short header timeout),
/// answered with a French `503`, and the connection closed.
async fn refuse(stream: tokio::net::TcpStream) {
    let service = hyper::service::service_fn(|_req: hyper::Request<Incoming>| async {
        let body = r#"{"message":"Trop de connexions simultanées depuis votre adresse : réessayez dans un instant."}"#;
        let resp = hyper::Response::builder()
            .status(503)
            .header("content-type", "application/json; charset=utf-8")
            .header("retry-after", "10")
            .header("connection", "close")
            .body(http_body_util::Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap_or_default();
        Ok::<_, Infallible>(resp)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(2))
        .keep_alive(false);
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        builder.serve_connection(TokioIo::new(stream), service),
    )
    .await;
}

/// Serves `app` on `listener` until `shutdown` fires; then lets running
/// requests end (at most 5 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: NetLimits,
    trusted_proxy: Option<IpAddr>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let counts: Counts = Arc::new(Mutex::new(HashMap::new()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        while conns.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(_) => {
                // Out of descriptors, a reset before accept: try again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let exempt = trusted_proxy == Some(peer.ip());
        let Some(counted) = count(&counts, peer.ip(), limits.per_address, exempt) else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let limits2 = limits.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let (mut parts, body) = req.into_parts();
            let client = client_address(peer, trusted_proxy, &parts.headers);
            parts.extensions.insert(ConnectInfo(client));
            let body = Body::new(MinRate::new(body, limits2.body_window, limits2.body_min_bytes));
            let req = hyper::Request::from_parts(parts, body);
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(req).await.unwrap_or_else(|e| match e {})) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let _counted = counted;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
}

/// The client's address: the peer's, or — when the peer is the trusted reverse
/// proxy — the last address of its `X-Forwarded-For` (the one it saw).
pub fn client_address(peer: SocketAddr, trusted_proxy: Option<IpAddr>, headers: &axum::http::HeaderMap) -> SocketAddr {
    if trusted_proxy != Some(peer.ip()) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .next_back()
        .map(|ip| SocketAddr::new(ip, 0))
        .unwrap_or(peer)
}

/// A request body that must keep moving: at least `min` bytes every `window`.
struct MinRate {
    inner: Incoming,
    window: Duration,
    min: u64,
    seen: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl MinRate {
    fn new(inner: Incoming, window: Duration, min: u64) -> Self {
        Self {
            inner,
            window,
            min,
            seen: 0,
            deadline: Box::pin(tokio::time::sleep(window)),
        }
    }
}

/// The error of a body that stopped moving.
#[derive(Debug)]
pub struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("envoi trop lent : la connexion a été fermée")
    }
}

impl std::error::Error for TooSlow {}

impl HttpBody for MinRate {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen >= this.min {
                        this.seen = 0;
                        let next = tokio::time::Instant::now() + this.window;
                        this.deadline.as_mut().reset(next);
                    }
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(TooSlow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_are_the_spec_values() {
        let l = NetLimits::default();
        assert_eq!(l.header_timeout, Duration::from_secs(10));
        assert_eq!((l.body_window, l.body_min_bytes), (Duration::from_secs(10), 1024));
        assert_eq!(l.per_address, 64);
    }

    #[test]
    fn only_the_trusted_proxy_may_name_the_client() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.9, 192.0.2.7".parse().expect("header"));
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let other: SocketAddr = "127.0.0.2:5000".parse().expect("addr");
        let ip = proxy.ip();
        assert_eq!(client_address(proxy, Some(ip), &h).ip().to_string(), "192.0.2.7");
        assert_eq!(client_address(other, Some(ip), &h), other);
        assert_eq!(client_address(proxy, None, &h), proxy);
    }
}
