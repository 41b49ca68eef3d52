//! Connect's REST answer for a connector's status, as far as the harness reads it.

/// The parts of Connect's status answer the harness reads.
#[derive(Debug, serde::Deserialize)]
pub(super) struct ConnectorStatus {
    connector: State,
    #[serde(default)]
    tasks: Vec<State>,
}

#[derive(Debug, serde::Deserialize)]
struct State {
    state: String,
    #[serde(default)]
    trace: Option<String>,
}

impl ConnectorStatus {
    pub(super) fn parse(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }

    pub(super) fn running(&self) -> bool {
        self.connector.state == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t.state == "RUNNING")
    }

    /// The trace of the connector or of a task that `FAILED`.
    pub(super) fn failed(&self) -> Option<&str> {
        std::iter::once(&self.connector)
            .chain(&self.tasks)
            .find(|s| s.state == "FAILED")
            .map(|s| s.trace.as_deref().unwrap_or("no trace"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_running_only_with_every_task_running() {
        let running = r#"{"name":"o","connector":{"state":"RUNNING","worker_id":"w"},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":"w"}],"type":"source"}"#;
        let status = ConnectorStatus::parse(running).unwrap();
        assert!(status.running());
        assert!(status.failed().is_none());

        let no_task = r#"{"name":"o","connector":{"state":"RUNNING"},"tasks":[]}"#;
        assert!(!ConnectorStatus::parse(no_task).unwrap().running());

        let failed = r#"{"name":"o","connector":{"state":"RUNNING"},
            "tasks":[{"id":0,"state":"FAILED","trace":"java.lang.NoClassDefFoundError"}]}"#;
        let status = ConnectorStatus::parse(failed).unwrap();
        assert!(!status.running());
        assert_eq!(status.failed(), Some("java.lang.NoClassDefFoundError"));
    }
}
