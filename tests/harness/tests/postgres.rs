use ftgo_harness::{SERVICES, Stack};

#[tokio::test]
async fn each_service_database_takes_writes_and_replicates_logically() {
    let stack = Stack::start().await.unwrap();
    for service in SERVICES {
        let db = stack.database(service).connect().await.unwrap();
        db.batch_execute("CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL)")
            .await
            .unwrap();
        db.execute("INSERT INTO note VALUES ($1, $2)", &[&1i32, &service])
            .await
            .unwrap();
        let row = db
            .query_one("SELECT body FROM note WHERE id = 1", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, &str>(0), service);
        let wal_level: String = db.query_one("SHOW wal_level", &[]).await.unwrap().get(0);
        assert_eq!(wal_level, "logical");
    }
}

#[tokio::test]
async fn service_roles_need_their_password() {
    let stack = Stack::start().await.unwrap();
    let mut config = stack.database("order_service").config();
    config.password("wrong");
    let Err(error) = config.connect(tokio_postgres::NoTls).await else {
        panic!("a wrong password must be refused");
    };
    let code = error.as_db_error().map(|db| db.code().clone());
    assert_eq!(
        code,
        Some(tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{error:?}"
    );
}

#[tokio::test]
async fn postgres_restart_keeps_data_and_port() {
    let mut stack = Stack::start().await.unwrap();
    let db = stack.database("order_service").clone();
    db.connect()
        .await
        .unwrap()
        .batch_execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
        .await
        .unwrap();
    let before = stack.postgres.pid();
    stack.postgres.restart().await.unwrap();
    assert_ne!(before, stack.postgres.pid());
    let row = db
        .connect()
        .await
        .unwrap()
        .query_one("SELECT v FROM kept", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 7);
}
