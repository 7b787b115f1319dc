//! Static assets (`/static/…`): our CSS and JS and the vendored npm packages (htmx, RapiDoc),
//! embedded in release builds and read from disk in debug builds.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct AssetFiles;

/// `GET /static/{*path}`.
pub(crate) async fn serve(Path(path): Path<String>) -> Response {
    let Some(file) = AssetFiles::get(&path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mime = file.metadata.mimetype();
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Asset URLs carry the version (`?v=`), so a day of caching is safe across upgrades.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
