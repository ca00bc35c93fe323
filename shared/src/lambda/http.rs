//! HTTP functions on Lambda: the axum router behind lambda_http, with Lambda's request id
//! handed to the web layer's request-id middleware so every log line carries it.

use axum::Router;
use lambda_http::{Adapter, Context, LambdaEvent, Service, request::LambdaRequest};

/// Copies the Lambda request id into the request, before the router's own middleware.
/// (The JSON-only functions have no request-id middleware: they log Lambda's own.)
#[cfg(not(feature = "web"))]
pub fn with_lambda_request_id(router: Router) -> Router {
    router
}

/// Copies the Lambda request id and API Gateway's source address into the request,
/// before the router's own middleware.
#[cfg(feature = "web")]
pub fn with_lambda_request_id(router: Router) -> Router {
    use crate::web::RequestId;
    use axum::extract::Request;
    router.layer(axum::middleware::map_request(
        |mut req: Request| async move {
            let id = req
                .extensions()
                .get::<Context>()
                .map(|ctx| ctx.request_id.clone())
                .filter(|id| !id.is_empty());
            if let Some(id) = id {
                req.extensions_mut().insert(RequestId(id));
            }
            // The client's address for rate limits: API Gateway's, not a header's.
            if let Some(ip) = source_ip(&req) {
                req.extensions_mut()
                    .insert(crate::web::client::PeerAddr(ip));
            }
            req
        },
    ))
}

/// API Gateway's `sourceIp` for the request: `requestContext.http.sourceIp` (HTTP API)
/// or `requestContext.identity.sourceIp` (REST API).
#[cfg(feature = "web")]
fn source_ip<B>(req: &http::Request<B>) -> Option<std::net::IpAddr> {
    use lambda_http::request::RequestContext;
    let ip = match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
        // Other event sources, should a feature elsewhere enable them: no address.
        #[allow(unreachable_patterns)]
        _ => None,
    };
    ip?.parse().ok()
}

/// Serves `router` as this Lambda function's handler, until the runtime stops.
pub async fn serve(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(with_lambda_request_id(router)).await
}

/// Runs one API Gateway event (JSON, as in `events/`) through the router exactly as the
/// Lambda runtime would, and returns the response event as JSON. For tests and tools.
pub async fn invoke(
    router: Router,
    event_json: &str,
    request_id: &str,
) -> Result<serde_json::Value, String> {
    let payload: LambdaRequest =
        serde_json::from_str(event_json).map_err(|e| format!("not an API Gateway event: {e}"))?;
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    let mut adapter = Adapter::from(with_lambda_request_id(router));
    let response = adapter
        .call(LambdaEvent::new(payload, context))
        .await
        .map_err(|e| format!("the router failed: {e:?}"))?;
    serde_json::to_value(response).map_err(|e| e.to_string())
}
