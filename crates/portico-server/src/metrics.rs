//! `/metrics` in Prometheus' text format: requests and their latencies per route and status
//! class, errors, the catalog's entities per kind and its processing queue depth. Recorded by a middleware on every request;
//! routes are labelled by their pattern (`/api/catalog/entities/by-uid/{uid}`), never by the raw
//! path, so the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_catalog::read_model::Predicate;
use portico_store::CatalogStore;

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request statistics shared by the middleware and the `/metrics` handler.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, route, status class) → series.
    requests: Mutex<BTreeMap<(String, String, String), Series>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let series = requests
            .entry((method.to_owned(), route.to_owned(), class))
            .or_default();
        series.count += 1;
        series.sum_seconds += seconds;
        for (bucket, bound) in series.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }
}

/// Records every request.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn render<S: CatalogStore>(
    State((state, metrics)): State<(Arc<AppState<S>>, Arc<Metrics>)>,
) -> Response {
    let mut out = String::new();
    let requests = metrics
        .requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let _ = writeln!(
        out,
        "# HELP portico_http_requests_total HTTP requests by method, route and status class."
    );
    let _ = writeln!(out, "# TYPE portico_http_requests_total counter");
    for ((method, route, class), series) in &requests {
        let _ = writeln!(
            out,
            "portico_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
            label(method),
            label(route),
            class,
            series.count
        );
    }
    let _ = writeln!(
        out,
        "# HELP portico_http_request_duration_seconds HTTP request latency."
    );
    let _ = writeln!(
        out,
        "# TYPE portico_http_request_duration_seconds histogram"
    );
    for ((method, route, class), series) in &requests {
        let labels = format!(
            "method=\"{}\",route=\"{}\",status=\"{}\"",
            label(method),
            label(route),
            class
        );
        for (bound, count) in BUCKETS.iter().zip(series.buckets) {
            let _ = writeln!(
                out,
                "portico_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "portico_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            series.count
        );
        let _ = writeln!(
            out,
            "portico_http_request_duration_seconds_sum{{{labels}}} {}",
            series.sum_seconds
        );
        let _ = writeln!(
            out,
            "portico_http_request_duration_seconds_count{{{labels}}} {}",
            series.count
        );
    }
    let errors: u64 = requests
        .iter()
        .filter(|((_, _, class), _)| class == "5xx")
        .map(|(_, s)| s.count)
        .sum();
    let _ = writeln!(
        out,
        "# HELP portico_http_server_errors_total Requests answered with a 5xx status."
    );
    let _ = writeln!(out, "# TYPE portico_http_server_errors_total counter");
    let _ = writeln!(out, "portico_http_server_errors_total {errors}");
    let kinds = state
        .engine
        .read_model()
        .facets(&["kind".to_owned()], &Predicate::MatchAll);
    let _ = writeln!(
        out,
        "# HELP portico_catalog_entities Entities in the catalog by kind."
    );
    let _ = writeln!(out, "# TYPE portico_catalog_entities gauge");
    for count in kinds.get("kind").into_iter().flatten() {
        let _ = writeln!(
            out,
            "portico_catalog_entities{{kind=\"{}\"}} {}",
            label(&count.value),
            count.count
        );
    }
    match state.engine.queue_depth().await {
        Ok((due, stitch)) => {
            let _ = writeln!(
                out,
                "# HELP portico_catalog_sources_due Catalog sources due for processing."
            );
            let _ = writeln!(out, "# TYPE portico_catalog_sources_due gauge");
            let _ = writeln!(out, "portico_catalog_sources_due {due}");
            let _ = writeln!(
                out,
                "# HELP portico_catalog_stitch_queue Entities waiting to be stitched."
            );
            let _ = writeln!(out, "# TYPE portico_catalog_stitch_queue gauge");
            let _ = writeln!(out, "portico_catalog_stitch_queue {stitch}");
        }
        Err(err) => tracing::warn!(error = %err, "Queue depth unavailable for /metrics."),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
