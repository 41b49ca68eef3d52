use std::collections::HashMap;

use ftgo_harness::{ServiceDatabase, Stack};
use runtime::config::{ConfigSource, DatabaseSettings};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Settings {
    database: DatabaseSettings,
}

fn settings_for(db: &ServiceDatabase, password: &str) -> DatabaseSettings {
    let env = HashMap::from([
        ("FTGO_DATABASE__HOST".to_owned(), db.host.clone()),
        ("FTGO_DATABASE__PORT".to_owned(), db.port.to_string()),
        ("FTGO_DATABASE__USER".to_owned(), db.user.clone()),
        ("FTGO_DATABASE__NAME".to_owned(), db.name.clone()),
        ("FTGO_DATABASE__PASSWORD".to_owned(), password.to_owned()),
    ]);
    let source = ConfigSource {
        file: None,
        env: Some(env),
    };
    source.load::<Settings>().unwrap().database
}

#[tokio::test]
async fn pool_from_settings_reaches_the_service_database() {
    let stack = Stack::start().await.unwrap();
    let db = stack.database("consumer_service");
    let pool = runtime::db::pool(&settings_for(db, &db.password)).unwrap();
    let client = runtime::db::connection(&pool).await.unwrap();
    let user: String = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(user, "consumer_service");
    let debug = format!("{pool:?} {client:?}");
    assert!(!debug.contains(&db.password), "password in Debug output");
}

#[tokio::test]
async fn a_refused_login_names_the_problem_but_not_the_password() {
    let stack = Stack::start().await.unwrap();
    let db = stack.database("order_service");
    let wrong = "not-the-password-8f2b9c";
    let settings = settings_for(db, wrong);
    assert!(!format!("{settings:?}").contains(wrong));
    let pool = runtime::db::pool(&settings).unwrap();
    let error = runtime::db::connection(&pool)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("password authentication failed"), "{error}");
    assert!(!error.contains(wrong), "{error}");
    assert!(!error.contains(&db.password), "{error}");
}
