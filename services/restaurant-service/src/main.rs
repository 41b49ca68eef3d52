//! `restaurant-service`: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::serve("restaurant-service", restaurant_service::build)
        .await
        .map_err(anyhow::Error::from_boxed)
}
