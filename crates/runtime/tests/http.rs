use runtime::config::HttpSettings;
use runtime::http::{HttpServer, Readiness, operations_routes};

#[tokio::test]
async fn probes_and_metrics_are_served_and_shutdown_is_graceful() {
    let registry = runtime::metrics::registry().unwrap();
    let readiness = Readiness::new("starting");
    let server = HttpServer::bind(
        &HttpSettings::default(),
        operations_routes(registry, readiness.clone()),
    )
    .await
    .unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();

    let live = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    let not_ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(not_ready.status(), 503);
    assert_eq!(not_ready.text().await.unwrap(), "starting");
    readiness.set_ready();
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("process_resident_memory_bytes"), "{text}");

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
