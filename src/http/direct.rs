//! Direct routes: a few exact paths answered without axum's router.
//!
//! For each request the router costs a boxed body, a clone of the route's
//! boxed service, a url-params extension, two boxed futures and its own
//! content-length pass: about 1,900 of the ~26,000 instructions of the echo
//! route, the hottest one (callgrind, `bench/instructions.sh`). A module
//! may offer such a route as a [`DirectRoute`] as well; the connection then
//! calls its handler straight, inside the same request context (request id,
//! timeout, metrics, access log) as every other route.
//!
//! The router keeps the route: it still serves the methods a direct route
//! does not list (`HEAD`, the `405`s), and the server offers a module's
//! direct routes only when no layer wraps the module's routes (a module
//! gate, CORS), since a direct route passes by the router's layers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::http::{Method, Request};
use axum::response::Response;
use axum::routing::future::RouteFuture;
use hyper::body::Incoming;
use tower::Service as _;

use super::connection::Connection;

type DirectFuture = Pin<Box<dyn Future<Output = Response> + Send>>;
type DirectHandler = dyn Fn(Request<Incoming>, Connection) -> DirectFuture + Send + Sync;

/// One exact path and the methods a handler answers on it directly. The
/// handler must answer as the router's route for the same path does.
pub struct DirectRoute {
    path: &'static str,
    methods: &'static [Method],
    handler: Arc<DirectHandler>,
}

impl DirectRoute {
    /// `path` is matched exactly (no parameters, no wildcard). The handler
    /// gets the [`Connection`] as an argument, not among the request's
    /// extensions as router handlers do: a first extension costs three
    /// allocations.
    pub fn new<H, F>(path: &'static str, methods: &'static [Method], handler: H) -> Self
    where
        H: Fn(Request<Incoming>, Connection) -> F + Send + Sync + 'static,
        F: Future<Output = Response> + Send + 'static,
    {
        DirectRoute {
            path,
            methods,
            handler: Arc::new(move |request, connection| Box::pin(handler(request, connection))),
        }
    }

    fn serves<B>(&self, request: &Request<B>) -> bool {
        request.uri().path() == self.path && self.methods.contains(request.method())
    }
}

/// What answers a request once the request context is set: a direct route
/// when one serves it, else the router. Each connection has its own clone.
#[derive(Clone)]
pub struct Routing {
    direct: Arc<[DirectRoute]>,
    router: Router,
}

impl Routing {
    pub fn new(router: Router, direct: Vec<DirectRoute>) -> Self {
        Routing {
            direct: direct.into(),
            router,
        }
    }

    /// Answers `request`, which arrived on `connection`.
    pub fn call(
        &mut self,
        mut request: Request<Incoming>,
        connection: Connection,
    ) -> RoutingFuture {
        match self.direct.iter().find(|route| route.serves(&request)) {
            Some(route) => RoutingFuture::Direct {
                future: (route.handler)(request, connection),
            },
            None => {
                // Router handlers find the connection among the extensions.
                request.extensions_mut().insert(connection);
                RoutingFuture::Router {
                    // The router is always ready: no `poll_ready` needed.
                    future: self.router.call(request),
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    #[project = RoutingFutureProj]
    pub enum RoutingFuture {
        Direct { future: DirectFuture },
        Router { #[pin] future: RouteFuture<Infallible> },
    }
}

impl Future for RoutingFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RoutingFutureProj::Direct { future } => future.as_mut().poll(cx).map(Ok),
            RoutingFutureProj::Router { future } => future.poll(cx),
        }
    }
}
