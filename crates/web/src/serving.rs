//! The accept loop: HTTP/1.1 connections with hyper, each held to the
//! connection settings so slow or silent clients cannot hold the server:
//! at most `max_connections` at once (the next wait in the listen queue),
//! a deadline for each request head and each request body, and a connection
//! on which the client sends or reads nothing for `idle_timeout` is closed.

use crate::error::WebError;
use crate::ConnectionLimits;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

/// Serves `router` until `shutdown` resolves; then stops accepting, lets
/// in-flight requests finish and closes idle connections.
pub async fn serve(listener: TcpListener, router: Router, limits: ConnectionLimits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper's header timer runs from the moment it waits for a request head,
    // so it also closes keep-alive connections idle for that long.
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // A free slot first: past the limit, new connections wait in the
        // kernel's listen queue rather than take a file descriptor.
        let slot = tokio::select! {
            slot = open.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or the like: keep serving the
                    // connections we have and try again shortly.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_read_timeout(Some(limits.idle_timeout));
        stream.set_write_timeout(Some(limits.idle_timeout));
        let io = TokioIo::new(Box::pin(stream));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(client = %remote, error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A request's whole body must arrive within `body_timeout`, however it
/// trickles; what arrives is held (up to the body limit) for the handler.
pub async fn body_deadline(State((timeout, max_bytes)): State<(Duration, usize)>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, max_bytes)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        // Scripts read the JSON API's errors as JSON; people read pages.
        Ok(Err(e)) if is_too_large(&e) && parts.uri.path().starts_with("/api/") => crate::api::ApiError::PayloadTooLarge.into_response(),
        // Salesforce reads SOAP faults.
        Ok(Err(e)) if is_too_large(&e) && parts.uri.path().starts_with("/salesforce/outbound/") => crate::salesforce::outbound_too_large(),
        Ok(Err(e)) if is_too_large(&e) => WebError::PayloadTooLarge.into_response(),
        Ok(Err(e)) => WebError::BadRequest(format!("The request body could not be read: {e}")).into_response(),
        Err(_) => {
            tracing::info!(path = %parts.uri.path(), "request body too slow");
            WebError::RequestTimeout.into_response()
        }
    }
}

fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
