use std::time::Duration;

use serde_json::Value;

use crate::support::{DevUp, survivors};

fn pids(addresses: &Value) -> Vec<u32> {
    addresses["pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u32)
        .collect()
}

/// The service role's password from the stack's PGPASSFILE.
fn password_for(addresses: &Value, port: u16, db: &str) -> String {
    let text = std::fs::read_to_string(addresses["pgpassfile"].as_str().unwrap()).unwrap();
    text.lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f[1] == port.to_string() && f[2] == db).then(|| f[4].to_owned())
        })
        .unwrap()
}

fn port_of(url: &str) -> u16 {
    url.rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn two_stacks_in_parallel_processes_do_not_collide() {
    let ((mut a, a_addr), (mut b, b_addr)) = std::thread::scope(|s| {
        let a = s.spawn(DevUp::start);
        let b = s.spawn(DevUp::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a_addr["dir"], b_addr["dir"]);
    assert_ne!(a_addr["kafka_bootstrap"], b_addr["kafka_bootstrap"]);
    let a_url = a_addr["databases"][0][1].as_str().unwrap();
    let b_url = b_addr["databases"][0][1].as_str().unwrap();
    assert_ne!(port_of(a_url), port_of(b_url));

    // Both stacks work at the same time, each with its own data.
    for (i, addr) in [&a_addr, &b_addr].into_iter().enumerate() {
        let port = port_of(addr["databases"][0][1].as_str().unwrap());
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(port)
            .user("order_service")
            .dbname("order_service")
            .password(password_for(addr, port, "order_service"));
        let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        // The same table name in both: a collision would fail the second CREATE.
        client
            .batch_execute(&format!(
                "CREATE TABLE mine (v int); INSERT INTO mine VALUES ({i})"
            ))
            .await
            .unwrap();
        let v: i32 = client
            .query_one("SELECT v FROM mine", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, i as i32);
    }

    // Each has its own Prometheus, serving the overview console.
    assert_ne!(a_addr["prometheus"], b_addr["prometheus"]);
    for addr in [&a_addr, &b_addr] {
        let console = addr["console"].as_str().unwrap();
        let (host, path) = console
            .strip_prefix("http://")
            .and_then(|c| c.split_once('/'))
            .unwrap();
        let (status, page) = ftgo_harness::http::get(host.parse().unwrap(), &format!("/{path}"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("FTGO overview"), "{page}");
    }

    // SIGTERM stops each stack cleanly, with every server process gone.
    for (child, addr) in [(&mut a, &a_addr), (&mut b, &b_addr)] {
        let status = child.stop();
        assert!(status.success(), "dev up exited with {status}");
        let left = survivors(&pids(addr), Duration::from_secs(5));
        assert!(left.is_empty(), "still running: {left:?}");
        assert!(!std::path::Path::new(addr["dir"].as_str().unwrap()).exists());
    }
}
