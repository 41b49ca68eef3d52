//! The stack's own processes: the relays and the services it starts, and finding them
//! again by service or instance.

use std::path::PathBuf;

use super::{GROUP_INSTANCE_ID, Stack};
use crate::app::AppProcess;
use crate::error::Result;

impl Stack {
    /// Starts a CDC relay process for `service`'s database; `extra_env` adds settings.
    pub async fn start_relay(
        &mut self,
        service: &str,
        extra_env: &[(&str, &str)],
    ) -> Result<&mut AppProcess> {
        let binary = crate::binaries::path("cdc-relay")?;
        self.start_relay_from(binary, service, extra_env).await
    }

    /// [`Stack::start_relay`] running the relay executable at `binary` (another build).
    pub async fn start_relay_from(
        &mut self,
        binary: PathBuf,
        service: &str,
        extra_env: &[(&str, &str)],
    ) -> Result<&mut AppProcess> {
        let relay = AppProcess::start_from(
            "cdc-relay",
            binary,
            self.database(service),
            &self.kafka(),
            self.dir.path(),
            extra_env,
        )
        .await?;
        self.relays.push(relay);
        Ok(self.relays.last_mut().expect("just pushed"))
    }

    /// Starts service binary `binary` (e.g. `order-service`) on its database
    /// (`order_service`); `extra_env` adds settings. Several instances may run.
    pub async fn start_service(
        &mut self,
        binary: &str,
        extra_env: &[(&str, &str)],
    ) -> Result<&mut AppProcess> {
        let database = binary.replace('-', "_");
        // With `StackOptions::static_membership`, `<binary>-<index>` unless the caller
        // names one: a process killed and restarted under the same id takes its old place
        // in its consumer groups at once.
        let index = self
            .services
            .iter()
            .filter(|s| s.binary() == binary)
            .count();
        let instance_id = format!("{binary}-{index}");
        let mut env: Vec<(&str, &str)> = extra_env.to_vec();
        if self.static_membership && !env.iter().any(|(key, _)| *key == GROUP_INSTANCE_ID) {
            env.push((GROUP_INSTANCE_ID, &instance_id));
        }
        let service = AppProcess::start(
            binary,
            self.database(&database),
            &self.kafka(),
            self.dir.path(),
            &env,
        )
        .await?;
        self.services.push(service);
        Ok(self.services.last_mut().expect("just pushed"))
    }

    /// The `index`-th started instance of service binary `binary`.
    ///
    /// # Panics
    /// If there is no such instance.
    pub fn service(&mut self, binary: &str, index: usize) -> &mut AppProcess {
        self.services
            .iter_mut()
            .filter(|s| s.binary() == binary)
            .nth(index)
            .unwrap_or_else(|| panic!("no instance {index} of {binary}"))
    }

    /// The (first) relay started for `service`.
    ///
    /// # Panics
    /// If no relay was started for it.
    pub fn relay(&mut self, service: &str) -> &mut AppProcess {
        self.relay_instance(service, 0)
    }

    /// The `index`-th relay started for `service` (a second one is a standby: the slot
    /// lets one stream at a time).
    ///
    /// # Panics
    /// If there is no such relay.
    pub fn relay_instance(&mut self, service: &str, index: usize) -> &mut AppProcess {
        self.relays
            .iter_mut()
            .filter(|r| r.service() == service)
            .nth(index)
            .unwrap_or_else(|| panic!("no relay {index} started for {service}"))
    }
}
