//! The connections under kube's client: kube's own stack (TLS from the kubeconfig, credentials,
//! base URI, headers, retries, timeouts), on TCP connections that send each write at once.
//! kube's default connector leaves Nagle's algorithm on: the first request on a new connection
//! then waits for the server's delayed acknowledgement of the TLS handshake, about 40 ms, and
//! lists fetched at once open a connection each.

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::{Body, ConfigExt};
use kube::{Client, Config};
use tower::retry::RetryLayer;
use tower::ServiceBuilder;

/// A client for `config`, as `Client::try_from` builds it but with `TCP_NODELAY` (and no
/// expiry of an exec plugin's client certificate: wego runs far shorter than one lives).
/// Through a proxy, kube's own connector (which refuses the proxies this build has no support
/// for).
pub fn client(config: Config) -> Result<Client, kube::Error> {
    if config.proxy_url.is_some() {
        return Client::try_from(config);
    }
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    let tls = config.rustls_https_connector_with_connector(tcp)?;
    let mut connector = TimeoutConnector::new(tls);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http: hyper_util::client::legacy::Client<_, Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.default_retry.then(|| RetryLayer::new(RetryPolicy::server_retry())))
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .service(http);
    Ok(Client::new(service, config.default_namespace))
}
