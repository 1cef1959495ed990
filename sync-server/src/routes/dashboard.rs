//! The manager's dashboard: a static web page (`sync-server/dashboard/`, plain ES modules,
//! no build step) embedded in the binary and served at `GET /dashboard` with its scripts,
//! style sheet and the vendored Chart.js under `/dashboard/…`.
//!
//! Managers and admins also find the form designer there (`designer.js`: palette, canvas,
//! preview as the phone renders it), which speaks only `/v1/form-templates…`, and the
//! approvals (`approvals.js`: what waits for their decision, with Approve / Reject and a
//! comment, every request of their scope with its decisions, and the flows read-only), which
//! speaks `/v1/approvals…` and `/v1/approval-flows`.
//!
//! The page itself holds no data: it logs in with `POST /v1/login` and reads the JSON API
//! with the bearer token, so it needs no session or cookie here. Every answer carries a
//! strict Content-Security-Policy (scripts, styles and connections only from this origin; no
//! inline script or style, no frames, no plugins), `nosniff` and `no-referrer`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::extract::ApiPath;

/// The Content-Security-Policy of every dashboard file. Photos are shown from `blob:` URLs
/// made of bytes fetched with the bearer token.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// Its path under `/dashboard/`.
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const INDEX: Asset = Asset {
    path: "index.html",
    content_type: "text/html; charset=utf-8",
    bytes: include_bytes!("../../dashboard/index.html"),
};

/// Every file the dashboard is made of.
const ASSETS: &[Asset] = &[
    INDEX,
    Asset {
        path: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/app.js"),
    },
    Asset {
        path: "api.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/api.js"),
    },
    Asset {
        path: "designer.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/designer.js"),
    },
    Asset {
        path: "approvals.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/approvals.js"),
    },
    Asset {
        path: "view.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/view.js"),
    },
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../dashboard/app.css"),
    },
    Asset {
        path: "vendor/chart.umd.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../dashboard/vendor/chart.umd.min.js"),
    },
];

/// `asset` with the dashboard's security headers.
fn serve(asset: &Asset) -> Response {
    let mut response = ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /dashboard`: the page.
pub(super) async fn index() -> Response {
    serve(&INDEX)
}

/// `GET /dashboard/`: the page's one address is without the slash (its relative links
/// resolve under `/dashboard/` either way, but one address keeps the history clean).
pub(super) async fn slash() -> Redirect {
    Redirect::permanent("/dashboard")
}

/// `GET /dashboard/{*path}`: one of the page's files.
pub(super) async fn asset(ApiPath(path): ApiPath<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => serve(asset),
        None => ApiError::not_found(format!("dashboard file {path:?} not found")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_path_and_a_text_content_type() {
        let mut paths: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| a.content_type.ends_with("; charset=utf-8") && !a.bytes.is_empty()));
    }

    #[test]
    fn the_page_loads_only_its_own_scripts_and_styles_and_nothing_inline() {
        let html = std::str::from_utf8(INDEX.bytes).expect("the page is UTF-8");
        assert!(!html.contains("<script>") && !html.contains(" style="));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    }

    #[test]
    fn every_module_a_script_imports_is_served() {
        for script in ASSETS.iter().filter(|a| a.path.ends_with(".js") && !a.path.starts_with("vendor/")) {
            let text = std::str::from_utf8(script.bytes).expect("scripts are UTF-8");
            for imported in text.split("from \"./").skip(1).filter_map(|rest| rest.split('"').next()) {
                assert!(
                    ASSETS.iter().any(|a| a.path == imported),
                    "{} imports {imported}, not served",
                    script.path
                );
            }
        }
    }

    #[test]
    fn no_script_writes_markup_into_the_page() {
        for script in ASSETS.iter().filter(|a| a.path.ends_with(".js") && !a.path.starts_with("vendor/")) {
            let text = std::str::from_utf8(script.bytes).expect("scripts are UTF-8");
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                assert!(!text.contains(sink), "{} uses {sink}", script.path);
            }
        }
    }

    #[test]
    fn every_view_tab_has_its_view_and_the_approvals_script_is_served() {
        let html = std::str::from_utf8(INDEX.bytes).expect("the page is UTF-8");
        for view in ["reports", "designer", "approvals"] {
            assert!(html.contains(&format!("data-view=\"{view}\"")), "no tab for {view}");
            assert!(html.contains(&format!("id=\"{view}-view\"")), "no section for {view}");
        }
        let app = ASSETS.iter().find(|a| a.path == "app.js").expect("app.js is served");
        let app = std::str::from_utf8(app.bytes).expect("scripts are UTF-8");
        assert!(app.contains("from \"./approvals.js\""), "app.js does not load the approvals view");
    }

    #[test]
    fn a_page_relative_link_to_each_file_is_served() {
        let html = std::str::from_utf8(INDEX.bytes).expect("the page is UTF-8");
        for linked in ["app.css", "vendor/chart.umd.min.js", "app.js"] {
            assert!(html.contains(&format!("\"dashboard/{linked}\"")), "{linked} is not linked");
            assert!(ASSETS.iter().any(|a| a.path == linked), "{linked} is not served");
        }
    }
}
