use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(2).unwrap_or("127.0.0.1:0".into());
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/", post(|b: Bytes| async move { b }));
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    axum::serve(l, app).await.unwrap();
}
