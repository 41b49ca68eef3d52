//! `consumer-service`: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::serve("consumer-service", consumer_service::build)
        .await
        .map_err(anyhow::Error::from_boxed)
}
