"""Checks of the Kubernetes packaging with the real engines that run without a cluster.

- charts/ftgo lints and renders with Helm's own engine (helm-python-sdk wraps Helm v4)
  for the default values and several non-default value sets;
- values that break values.schema.json are refused, naming the value;
- every rendered manifest (and k8s/deps) passes `kubernetes-validate --strict`;
- checkov finds no failed check in the rendered chart (skips carry their reason);
- the Tiltfile evaluates with stand-ins for Tilt's builtins and names exactly the images
  and workloads the chart (with the Tiltfile's own helm() arguments) renders;
- what issue 16 found, each where it can be seen without a cluster: NetworkPolicy ports,
  rendered values, the dashboards' PromQL, Tilt's helm() call, the README's commands, the
  kind node image.

Run by `cargo dev test` with the venv it installs (see tests/harness/src/prereqs.rs);
by hand: `python -m pytest tests/charts -q` with helm-python-sdk, kubernetes-validate and
pytest installed, and checkov on PATH or in $FTGO_CHECKOV.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "ftgo"
# kind releases and the node images their release notes list, by digest
# (https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0). k8s/kind-cluster.yaml
# must pin one of these for the release the README names.
KIND_NODE_IMAGES = {
    "v0.33.0": {
        "v1.37.0": "sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
        "v1.36.4": "sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
        "v1.35.8": "sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
        "v1.34.11": "sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
    },
}


def chart_kube_floor() -> str:
    """The lowest Kubernetes the chart accepts (Chart.yaml kubeVersion ">=X.Y.Z-0")."""
    constraint = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    match = re.fullmatch(r">=\s*(\d+\.\d+\.\d+)(-0)?", constraint)
    assert match, f"kubeVersion {constraint!r}: expected a floor only"
    return match.group(1)


def kind_node_image() -> str:
    (node,) = yaml.safe_load((ROOT / "k8s/kind-cluster.yaml").read_text())["nodes"]
    return node["image"]


def kind_node_version() -> str:
    """The Kubernetes version of the kind node image, e.g. 1.36.4."""
    match = re.match(r"kindest/node:v(\d+\.\d+\.\d+)", kind_node_image())
    assert match, kind_node_image()
    return match.group(1)


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2]) + ".0"


# The chart is checked against the lowest Kubernetes it accepts and against the one the
# kind cluster of the README runs.
KUBE_VERSIONS = sorted({minor(chart_kube_floor()), minor(kind_node_version())})
SERVICES = ["order-service", "consumer-service", "restaurant-service"]

def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# Value sets besides the defaults: (release, namespace, values).
VALUE_SETS: dict[str, tuple[str, str, dict]] = {
    "defaults": ("ftgo", "ftgo", {}),
    # A production-like install: private registry, pinned tag, SASL Kafka with its secret
    # settings from a Secret, per-service database host, Prometheus operator objects,
    # NetworkPolicy peers for the backends, ingress from an ingress controller namespace.
    "production": (
        "shop",
        "prod",
        {
            "imageRegistry": "registry.example.com/team",
            "imageTag": "1.2.3",
            "imagePullPolicy": "Always",
            "imagePullSecrets": [{"name": "registry-pull"}],
            "database": {"host": "pg.prod.svc", "port": 5433},
            "kafka": {
                "brokers": "kafka-0.kafka:9093,kafka-1.kafka:9093",
                "properties": {
                    "security.protocol": "SASL_SSL",
                    "sasl.mechanism": "SCRAM-SHA-512",
                    "sasl.username": "ftgo",
                },
                "secretConfig": {"existingSecret": "ftgo-kafka", "key": "kafka.yaml"},
                "caSecret": {"existingSecret": "kafka-ca", "key": "ca.crt"},
                "topics": {"partitions": 6, "replicationFactor": 3},
            },
            "services": {
                "order-service": {
                    "replicas": 3,
                    "database": {
                        "host": "pg-orders.prod.svc",
                        "name": "orders",
                        "user": "orders",
                        "existingSecret": "orders-db",
                        "passwordKey": "password",
                    },
                    "resources": {
                        "requests": {"cpu": "200m", "memory": "128Mi"},
                        "limits": {"cpu": "2", "memory": "512Mi"},
                    },
                    "consumerServiceTimeoutMs": 800,
                    "consumerServiceTransport": "grpc",
                },
            },
            "networkPolicy": {
                "apiIngressFrom": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                        }
                    }
                ],
                "postgresqlTo": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
                "kafkaTo": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kafka"}}}
                ],
                "kafkaPorts": [9093],
            },
            # Zones are a must, nodes a must: three zones, a node per replica.
            "scheduling": {
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 3},
                ],
                "podAntiAffinity": "required",
            },
            "messaging": {
                "defaultFormat": "protobuf",
                "formats": {"order-service.replies": "json"},
            },
            # The entry point through an in-cluster Ingress controller, with TLS.
            "ingress": {
                "enabled": True,
                "className": "traefik",
                "host": "shop.example.com",
                "tls": [{"secretName": "shop-tls", "hosts": ["shop.example.com"]}],
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}},
                        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
                    }
                ],
            },
            "metrics": {
                "release": "kube-prometheus",
                "serviceMonitor": {"enabled": True, "labels": {"team": "shop"}},
                "prometheusRule": {"enabled": True},
                "grafanaDashboard": {"enabled": True},
            },
        },
    ),
    # A bare install: no NetworkPolicies, PDBs or test hook; other ports.
    "minimal": (
        "ftgo-min",
        "sandbox",
        {
            "podDisruptionBudget": {"enabled": False},
            "networkPolicy": {"enabled": False},
            "tests": {"enabled": False},
            "http": {"port": 8000},
            "grpc": {"port": 9000},
            "relay": {"replicas": 1, "metricsPort": 9100},
            "service": {"type": "NodePort"},
            "scheduling": {"topologySpreadConstraints": [], "podAntiAffinity": "none"},
        },
    ),
    # Databases without logical replication: the relays poll the outbox tables.
    "polling": (
        "ftgo",
        "ftgo",
        {"relay": {"mode": "polling", "polling": {"intervalMs": 250, "batchSize": 500}}},
    ),
    # What the Tiltfile installs on a development cluster.
    "dev": ("ftgo", "ftgo", yaml.safe_load((ROOT / "k8s/ftgo-dev-values.yaml").read_text())),
    # What the README installs on kind: the dev values, kind's entry point, and the kind
    # network's subnet for the NetworkPolicies (test_readme_kind_steps_use_the_entry_point).
    "kind": (
        "ftgo",
        "ftgo",
        deep_merge(
            deep_merge(
                yaml.safe_load((ROOT / "k8s/ftgo-dev-values.yaml").read_text()),
                yaml.safe_load((ROOT / "k8s/kind-ingress-values.yaml").read_text()),
            ),
            {"ingress": {"from": [{"ipBlock": {"cidr": "172.18.0.0/16"}}]}, "tests": {"enabled": True}},
        ),
    ),
    # The entry point through a shared Gateway (Gateway API), its data plane in another
    # namespace.
    "gateway": (
        "ftgo-gw",
        "edge",
        {
            "httpRoute": {
                "enabled": True,
                "parentRefs": [{"name": "shared", "namespace": "gateway-system", "sectionName": "http"}],
                "hostnames": ["ftgo.example.com"],
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway-system"}}}],
            }
        },
    ),
}

# Values that break the schema, and the value each refusal must name.
BAD_VALUES = [
    ({"relay": {"replicas": 0}}, "/relay/replicas"),
    ({"relay": {"mode": "trigger"}}, "/relay/mode"),
    ({"relay": {"polling": {"batchSize": 0}}}, "/relay/polling/batchSize"),
    ({"relay": {"leaderElection": {"leaseDurationMs": 500}}}, "/relay/leaderElection/leaseDurationMs"),
    ({"kafka": {"properties": {"sasl.password": "hunter2"}}}, "/kafka/properties/sasl.password"),
    ({"kafka": {"properties": {"ssl.ca.location": "/x"}}}, "/kafka/properties/ssl.ca.location"),
    ({"database": {"password": "hunter2"}}, "password"),
    ({"services": {"order-service": {"replicas": 0}}}, "/services/order-service/replicas"),
    ({"http": {"port": 80}}, "/http/port"),
    ({"grpc": {"port": 70000}}, "/grpc/port"),
    (
        {"services": {"order-service": {"consumerServiceTransport": "soap"}}},
        "/services/order-service/consumerServiceTransport",
    ),
    ({"imagePullPolicy": "Sometimes"}, "/imagePullPolicy"),
    ({"kafka": {"brokers": "no-port"}}, "/kafka/brokers"),
    (
        {"services": {"consumer-service": {"database": {"existingSecret": "Bad_Name"}}}},
        "/services/consumer-service/database/existingSecret",
    ),
    ({"relay": {"layout": "avro"}}, "/relay/layout"),
    ({"relay": {"debezium": {"route_topic_replacment": "x"}}}, "route_topic_replacment"),
    (
        {"relay": {"debezium": {"table_fields_additional_placement": "type:envelope"}}},
        "/relay/debezium/table_fields_additional_placement",
    ),
    ({"messaging": {"defaultFormat": "xml"}}, "/messaging/defaultFormat"),
    ({"messaging": {"formats": {"order.events": "avro"}}}, "/messaging/formats/order.events"),
    ({"podDisruptionBudget": {"unhealthyPodEvictionPolicy": "Never"}}, "/podDisruptionBudget/unhealthyPodEvictionPolicy"),
    ({"kafka": {"topics": {"partitions": 0}}}, "/kafka/topics/partitions"),
    ({"kafka": {"topics": {"replicationFactor": 0}}}, "/kafka/topics/replicationFactor"),
    (
        {"scheduling": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {}}]}},
        "labelSelector",
    ),
    ({"scheduling": {"podAntiAffinity": "sometimes"}}, "/scheduling/podAntiAffinity"),
    ({"unknownKey": True}, "unknownKey"),
]


def render(values: dict, release: str, namespace: str) -> dict[str, str]:
    return helm.Chart.load(str(CHART)).render(
        values, name=release, namespace=namespace, is_install=True
    )


def documents(rendered: dict[str, str]) -> list[dict]:
    docs = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    return {
        name: documents(render(values, release, ns))
        for name, (release, ns, values) in VALUE_SETS.items()
    }


@pytest.fixture(scope="session")
def out_dir(rendered):
    """Each value set's manifests as one file (what kubernetes-validate and checkov read)."""
    directory = Path(tempfile.mkdtemp(prefix="ftgo-chart-"))
    for name, docs in rendered.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def report(line: str) -> None:
    sys.stderr.write(f"[chart] {line}\n")


# --- Helm -----------------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_lint_is_clean(kube_version):
    for name, (_, ns, values) in VALUE_SETS.items():
        result = helm.lint(str(CHART), values, strict=True, namespace=ns, kube_version=f"v{kube_version}")
        problems = [m for m in result["messages"] if m["severity"] >= 2]
        assert not result["errors"] and not problems, f"{name}: {result}"


def test_every_value_set_renders_the_whole_system(rendered):
    for name, docs in rendered.items():
        release, _, values = VALUE_SETS[name]
        merged = deep_merge(yaml.safe_load((CHART / "values.yaml").read_text()), values)
        deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
        expected = {f"{release}-{s}" for s in SERVICES} | {f"{release}-{s}-relay" for s in SERVICES}
        assert set(deployments) == expected, name
        for d in deployments.values():
            assert d["metadata"]["namespace"] == VALUE_SETS[name][1]
            if d["metadata"]["name"].endswith("-relay"):
                assert d["spec"]["replicas"] == merged["relay"]["replicas"], name
        kinds = {d["kind"] for d in docs}
        assert ("NetworkPolicy" in kinds) == merged["networkPolicy"]["enabled"], name
        assert ("PodDisruptionBudget" in kinds) == merged["podDisruptionBudget"]["enabled"], name
        assert ("ServiceMonitor" in kinds) == merged["metrics"]["serviceMonitor"]["enabled"], name
        assert ("PrometheusRule" in kinds) == merged["metrics"]["prometheusRule"]["enabled"], name
        dashboards = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-grafana-dashboard")]
        assert bool(dashboards) == merged["metrics"]["grafanaDashboard"]["enabled"], name
        assert ("Pod" in kinds) == merged["tests"]["enabled"], name
        assert ("Ingress" in kinds) == merged["ingress"]["enabled"], name
        assert ("HTTPRoute" in kinds) == merged["httpRoute"]["enabled"], name
        report(f"{name}: {len(docs)} manifests rendered")


def containers(doc: dict) -> list[dict]:
    spec = doc["spec"]["template"]["spec"] if doc["kind"] != "Pod" else doc["spec"]
    return spec["containers"]


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"] if doc["kind"] != "Pod" else doc["spec"]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_hardening_probes_and_secrets(rendered):
    for name, docs in rendered.items():
        for doc in docs:
            if doc["kind"] not in ("Deployment", "Pod"):
                continue
            spec = pod_spec(doc)
            assert spec["securityContext"]["runAsNonRoot"] is True
            assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            # Only relays get a token: their leader election reads and renews a Lease.
            is_relay = doc["metadata"]["labels"].get("app.kubernetes.io/component") == "relay"
            assert spec["automountServiceAccountToken"] is is_relay, doc["metadata"]["name"]
            assert ("serviceAccountName" in spec) == is_relay
            for c in containers(doc):
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
                assert sc["allowPrivilegeEscalation"] is False
                assert sc["capabilities"]["drop"] == ["ALL"]
                assert sc["seccompProfile"]["type"] == "RuntimeDefault"
                assert c["resources"]["requests"] and c["resources"]["limits"]
                if doc["kind"] == "Deployment":
                    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
                    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
                    env = env_of(c)
                    # Credentials only as mounted Secret files, never literal values.
                    assert "FTGO_DATABASE__PASSWORD" not in env
                    assert env["FTGO_DATABASE__PASSWORD_FILE"]["value"].startswith("/var/run/secrets/")
                    for e in env.values():
                        assert "valueFrom" not in e or "secretKeyRef" not in e["valueFrom"]
                        assert not re.search("password|secret", e["name"].split("__")[-1], re.I) or e[
                            "name"
                        ].endswith("PASSWORD_FILE")
            for volume in spec.get("volumes", []):
                assert set(volume) & {"secret", "configMap", "emptyDir"}, volume


def test_kafka_security_settings_come_from_values_and_mounted_secrets(rendered):
    """SASL/TLS: non-secret properties as variables, the secret settings file and the CA
    bundle as read-only Secret volumes the variables point into; no secret value and no
    Secret object in the rendered chart."""
    for name, docs in rendered.items():
        _, _, values = VALUE_SETS[name]
        kafka = values.get("kafka", {})
        secret_config = kafka.get("secretConfig", {}).get("existingSecret")
        ca = kafka.get("caSecret", {}).get("existingSecret")
        assert not [d for d in docs if d["kind"] == "Secret"], name
        for doc in (d for d in docs if d["kind"] == "Deployment"):
            spec = pod_spec(doc)
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            (c,) = containers(doc)
            env = env_of(c)
            mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
            for key, value in kafka.get("properties", {}).items():
                variable = "FTGO_KAFKA__PROPERTIES__" + key.replace(".", "_").upper()
                assert env[variable]["value"] == value, (name, variable)
            assert not [e for e in env if "SASL_PASSWORD" in e or e.endswith("KEY_PEM")], name
            for volume, secret, variable, key in [
                ("kafka-secret-config", secret_config, "FTGO_CONFIG_FILE", "secretConfig"),
                ("kafka-ca", ca, "FTGO_KAFKA__PROPERTIES__SSL_CA_LOCATION", "caSecret"),
            ]:
                if not secret:
                    assert volume not in volumes and variable not in env, (name, volume)
                    continue
                assert volumes[volume]["secret"]["secretName"] == secret, (name, volume)
                assert mounts[volume]["readOnly"] is True, (name, volume)
                path = f'{mounts[volume]["mountPath"]}/{kafka[key]["key"]}'
                assert env[variable]["value"] == path, (name, variable)
        if secret_config or ca:
            report(f"{name}: Kafka SASL/TLS settings from Secrets {secret_config}, {ca}")


def settings_variable(path: str) -> str:
    """The FTGO_* variable of a settings key (README, "Configuration"): `_` after the
    prefix, `__` between levels, names upper-cased."""
    return "FTGO_" + "__".join(part.upper() for part in path.split("."))


def test_topic_partitions_and_replication_factor_reach_every_service_and_relay(rendered):
    """kafka.topics.partitions / replicationFactor are chart values (replication factor 1
    was hard-coded: refused under min.insync.replicas=2 with acks=all, and by managed
    Kafka; issue 16, item 9) and reach every service and relay as the variables of the
    settings kafka.topics.partitions and kafka.topics.replication_factor."""
    variables = {
        settings_variable("kafka.topics.partitions"): "partitions",
        settings_variable("kafka.topics.replication_factor"): "replicationFactor",
    }
    assert set(variables) == {"FTGO_KAFKA__TOPICS__PARTITIONS", "FTGO_KAFKA__TOPICS__REPLICATION_FACTOR"}
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["kafka"]["topics"] == {"partitions": 3, "replicationFactor": -1}
    seen = set()
    for name, docs in rendered.items():
        topics = deep_merge(defaults, VALUE_SETS[name][2])["kafka"]["topics"]
        for deployment in (d for d in docs if d["kind"] == "Deployment"):
            env = env_of(containers(deployment)[0])
            for variable, key in variables.items():
                assert env[variable]["value"] == str(topics[key]), (name, deployment["metadata"]["name"], variable)
            seen.add((topics["partitions"], topics["replicationFactor"]))
    assert len(seen) >= 3, seen  # defaults, dev (one broker), production
    # values.yaml documents both and the variables they become.
    text = (CHART / "values.yaml").read_text()
    block = text[text.index("  topics:") - 1500 : text.index("    replicationFactor:")]
    for variable in variables:
        assert variable in block, f"values.yaml does not name {variable}"
    report(f"Kafka topics: partitions and replication factor on every workload ({sorted(seen)})")


def test_relays_read_the_configured_outbox_layout(rendered):
    """`relay.layout`, `relay.table` and `relay.debezium` reach every relay as the
    variables the relay reads; the defaults name this project's layout and nothing else."""
    for name, docs in rendered.items():
        for doc in (d for d in docs if d["kind"] == "Deployment"):
            if not doc["metadata"]["name"].endswith("-relay"):
                continue
            env = env_of(containers(doc)[0])
            assert env["FTGO_LAYOUT"]["value"] == "ftgo", name
            assert not [e for e in env if e.startswith("FTGO_DEBEZIUM__")], name
            assert "FTGO_RELAY__TABLE" not in env, name
    values = {
        "relay": {
            "layout": "debezium",
            "table": "inventory.outboxevent",
            "debezium": {
                "route_topic_replacement": "events.${routedByValue}",
                "table_fields_additional_placement": "type:header:eventType",
                "table_fields_additional_error_on_missing": False,
            },
        }
    }
    docs = documents(render(values, "ftgo", "ftgo"))
    relays = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-relay")
    ]
    assert len(relays) == len(SERVICES)
    for doc in relays:
        env = {k: v["value"] for k, v in env_of(containers(doc)[0]).items() if "value" in v}
        assert env["FTGO_LAYOUT"] == "debezium"
        assert env["FTGO_RELAY__TABLE"] == "inventory.outboxevent"
        assert env["FTGO_DEBEZIUM__ROUTE_TOPIC_REPLACEMENT"] == "events.${routedByValue}"
        assert env["FTGO_DEBEZIUM__TABLE_FIELDS_ADDITIONAL_PLACEMENT"] == "type:header:eventType"
        assert env["FTGO_DEBEZIUM__TABLE_FIELDS_ADDITIONAL_ERROR_ON_MISSING"] == "false"


def test_message_formats_reach_every_service_as_its_settings(rendered):
    """messaging.* becomes each service's FTGO_MESSAGING__* variables, channel names
    spelled as the services' settings read them (`.` and `-` as `_`)."""
    releases = {name: release for name, (release, _, _) in VALUE_SETS.items()}
    for value_set, expected in [
        ("defaults", {"FTGO_MESSAGING__DEFAULT_FORMAT": "json"}),
        (
            "production",
            {
                "FTGO_MESSAGING__DEFAULT_FORMAT": "protobuf",
                "FTGO_MESSAGING__FORMATS__ORDER_SERVICE_REPLIES": "json",
            },
        ),
    ]:
        for service in SERVICES:
            env = {
                e["name"]: e.get("value")
                for e in workloads_of(rendered[value_set])[f"{releases[value_set]}-{service}"][
                    "spec"
                ]["template"]["spec"]["containers"][0]["env"]
                if e["name"].startswith("FTGO_MESSAGING__")
            }
            assert env == expected, (value_set, service, env)


def test_discovery_is_by_service_dns_name(rendered):
    for name, docs in rendered.items():
        release, _, values = VALUE_SETS[name]
        port = values.get("http", {}).get("port", 8080)
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        order = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == f"{release}-order-service")
        env = env_of(containers(order)[0])
        url = env["FTGO_CONSUMER_SERVICE__BASE_URL"]["value"]
        assert url == f"http://{release}-consumer-service:{port}", url
        target = services[f"{release}-consumer-service"]
        assert target["spec"]["ports"][0]["port"] == port
        # gRPC: its own port on the same Service, served by the consumer-service pods.
        grpc_port = values.get("grpc", {}).get("port", 9091)
        grpc_url = env["FTGO_CONSUMER_SERVICE__GRPC_URL"]["value"]
        assert grpc_url == f"http://{release}-consumer-service:{grpc_port}", grpc_url
        grpc = next(p for p in target["spec"]["ports"] if p["name"] == "grpc")
        assert grpc["port"] == grpc_port and grpc["targetPort"] == "grpc"
        consumer = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == f"{release}-consumer-service")
        served = {p["name"]: p["containerPort"] for p in containers(consumer)[0]["ports"]}
        assert served["grpc"] == grpc_port
        assert env_of(containers(consumer)[0])["FTGO_GRPC__PORT"]["value"] == str(grpc_port)
        transport = values.get("services", {}).get("order-service", {}).get("consumerServiceTransport", "rest")
        assert env["FTGO_CONSUMER_SERVICE__TRANSPORT"]["value"] == transport


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_network_policies_allow_exactly_the_documented_flows(rendered):
    """Default deny, then: API clients/Prometheus/helm test -> services, order-service ->
    consumer-service, Prometheus -> relays, every workload -> PostgreSQL, Kafka and DNS,
    relays -> the Kubernetes API."""
    for name in ("defaults", "production", "dev"):
        docs = rendered[name]
        release = VALUE_SETS[name][0]
        policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
        pods = {
            d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in docs
            if d["kind"] == "Deployment"
        }
        pods.update({d["metadata"]["name"]: d["metadata"]["labels"] for d in docs if d["kind"] == "Pod"})
        deny = next(p for p in policies if p["metadata"]["name"] == f"{release}-default-deny")
        assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
        for pod, labels in pods.items():
            assert selects(deny["spec"]["podSelector"], labels), f"{pod} not under default deny"

        def ingress_from(pod: str) -> list[dict]:
            return [
                peer
                for p in policies
                if selects(p["spec"]["podSelector"], pods[pod])
                for rule in p["spec"].get("ingress", [])
                for peer in rule.get("from", [])
            ]

        def egress_ports(pod: str) -> set[int]:
            return {
                port["port"]
                for p in policies
                if selects(p["spec"]["podSelector"], pods[pod])
                for rule in p["spec"].get("egress", [])
                for port in rule.get("ports", [])
            }

        order_labels = pods[f"{release}-order-service"]
        for svc in SERVICES:
            peers = ingress_from(f"{release}-{svc}")
            from_order = any("podSelector" in p and "namespaceSelector" not in p and selects(p["podSelector"], order_labels) for p in peers)
            assert from_order == (svc == "consumer-service"), f"{svc}: order-service ingress"
            relay_peers = ingress_from(f"{release}-{svc}-relay")
            assert all("namespaceSelector" in p for p in relay_peers), "relays: Prometheus only"
            merged = deep_merge(yaml.safe_load((CHART / "values.yaml").read_text()), VALUE_SETS[name][2])
            backend = {merged["database"]["port"], *merged["networkPolicy"]["kafkaPorts"], 53}
            # Relays also reach the Kubernetes API (their Lease).
            api = set(merged["networkPolicy"]["kubernetesApiPorts"])
            assert egress_ports(f"{release}-{svc}-relay") == backend | api
            extra = {merged["http"]["port"], merged["grpc"]["port"]} if svc == "order-service" else set()
            assert egress_ports(f"{release}-{svc}") == backend | extra, svc


# Where the API server listens, by distribution: what the relays' egress must allow by
# default (issue 16, item 1: minikube's 8443 was missing, so relays never got their Lease).
API_SERVER_PORTS = {"managed clusters (GKE, EKS, AKS)": 443, "kubeadm, kind": 6443, "minikube": 8443}


# The entry point's routes: path prefix -> the service that serves it.
ENTRY_PATHS = {"/v1/orders": "order-service", "/v1/consumers": "consumer-service", "/v1/restaurants": "restaurant-service"}


def test_entry_point_routes_the_apis_and_the_policies_admit_it(rendered):
    """One entry point (the book's API gateway): the Ingress and the HTTPRoute send
    /v1/orders, /v1/consumers and /v1/restaurants to the Services that serve them (on a
    port the Service has), the services' NetworkPolicies admit the entry point's traffic
    (ingress.from, httpRoute.from) on their http port and the relays' do not, and NOTES.txt
    prints the URL."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not defaults["ingress"]["enabled"] and not defaults["httpRoute"]["enabled"]
    routed = 0
    for name, docs in rendered.items():
        release, namespace, values = VALUE_SETS[name]
        merged = deep_merge(defaults, values)
        services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
        policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
        peers: list[dict] = []
        for ingress in (d for d in docs if d["kind"] == "Ingress"):
            assert ingress.get("spec", {}).get("ingressClassName", "") == merged["ingress"]["className"]
            (rule,) = ingress["spec"]["rules"]
            assert rule.get("host", "") == merged["ingress"]["host"]
            paths = {p["path"]: p for p in rule["http"]["paths"]}
            assert set(paths) == set(ENTRY_PATHS), name
            for path, svc in ENTRY_PATHS.items():
                assert paths[path]["pathType"] == "Prefix"
                backend = paths[path]["backend"]["service"]
                assert backend["name"] == f"{release}-{svc}", (name, path)
                assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
            peers += merged["ingress"]["from"]
            routed += 1
        for route in (d for d in docs if d["kind"] == "HTTPRoute"):
            assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
            assert route["spec"]["parentRefs"] == merged["httpRoute"]["parentRefs"]
            assert route["spec"].get("hostnames", []) == merged["httpRoute"]["hostnames"]
            rules = {r["matches"][0]["path"]["value"]: r for r in route["spec"]["rules"]}
            assert set(rules) == set(ENTRY_PATHS), name
            for path, svc in ENTRY_PATHS.items():
                assert rules[path]["matches"] == [{"path": {"type": "PathPrefix", "value": path}}]
                (ref,) = rules[path]["backendRefs"]
                assert ref["name"] == f"{release}-{svc}"
                assert ref["port"] in {p["port"] for p in services[ref["name"]]["spec"]["ports"] if p["name"] == "http"}
            peers += merged["httpRoute"]["from"]
            routed += 1
        if merged["networkPolicy"]["enabled"] and peers:
            for svc in SERVICES:
                rules = policies[f"{release}-{svc}"]["spec"]["ingress"]
                admitted = [peer for r in rules if {"protocol": "TCP", "port": "http"} in r["ports"] for peer in r["from"]]
                for peer in peers:
                    assert peer in admitted, (name, svc, peer)
                relay_rules = policies[f"{release}-{svc}-relay"]["spec"]["ingress"]
                assert not any(peer in r["from"] for r in relay_rules for peer in peers), (name, svc)
        notes = render(values, release, namespace)["ftgo/templates/NOTES.txt"]
        if merged["ingress"]["enabled"]:
            if merged["ingress"]["host"]:
                scheme = "https" if merged["ingress"]["tls"] else "http"
                assert f"{scheme}://{merged['ingress']['host']}" in notes, (name, notes)
            else:
                assert f"kubectl -n {namespace} get ingress {release} -o jsonpath=" in notes, (name, notes)
        if merged["httpRoute"]["enabled"]:
            hostnames = merged["httpRoute"]["hostnames"]
            assert (f"http://{hostnames[0]}" if hostnames else "get gateway") in notes, (name, notes)
        entry = merged["ingress"]["enabled"] or merged["httpRoute"]["enabled"]
        assert ("/v1/orders, /v1/consumers, /v1/restaurants" in notes) == entry, name
        assert ("port-forward" in notes) == (not entry), name
    assert routed >= 3, routed
    # With NetworkPolicies on, an entry point without `from` would be refused by them:
    # the chart refuses to render instead, naming the value.
    for values, named in [
        ({"ingress": {"enabled": True}}, "ingress.from"),
        ({"httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]}}, "httpRoute.from"),
        ({"httpRoute": {"enabled": True, "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}}, "httpRoute.parentRefs"),
    ]:
        with pytest.raises(helm.HelmError) as refused:
            render(values, "ftgo", "ftgo")
        assert named in str(refused.value), str(refused.value)
    report(f"entry point: {routed} Ingresses/HTTPRoutes route the three APIs; policies admit them; NOTES print the URL")


def test_relays_reach_the_api_server_of_managed_kubeadm_and_minikube_clusters(rendered):
    """By default each relay's NetworkPolicy lets it reach the Kubernetes API on the port
    the API server listens on in every documented cluster, and values.yaml says why each
    port is there."""
    release = VALUE_SETS["defaults"][0]
    policies = {d["metadata"]["name"]: d for d in rendered["defaults"] if d["kind"] == "NetworkPolicy"}
    for svc in SERVICES:
        relay = policies[f"{release}-{svc}-relay"]
        # The relay policy's egress: PostgreSQL, Kafka, then the API server (any address).
        *_, api_rule = relay["spec"]["egress"]
        assert "to" not in api_rule, "the API server's address differs per cluster: any address by default"
        api_ports = {p["port"] for p in api_rule["ports"]}
        for where, port in API_SERVER_PORTS.items():
            assert port in api_ports, f"{svc} relay cannot reach the API server of {where} on {port}"
    text = (CHART / "values.yaml").read_text()
    comment = text[: text.index("  kubernetesApiPorts:")].rsplit("kubernetesApiTo", 1)[0]
    comment = comment[comment.rindex("# Relays read and renew their Lease") :]
    for port in API_SERVER_PORTS.values():
        assert re.search(rf"#\s+{port}\s+-", comment), f"values.yaml does not say why {port} is allowed"
    assert "minikube" in comment and "kind" in comment


def test_relays_elect_a_leader_through_a_lease_with_least_privilege(rendered):
    """Each database's relays share one Lease, named after their Deployment; they run as
    a ServiceAccount that may create Leases and get/update only those; the pod's own name
    and namespace come from the downward API; a budget keeps one relay up in a drain;
    a rollout starts the new pod (as a standby) before stopping the old."""
    for name, docs in rendered.items():
        release, namespace, values = VALUE_SETS[name]
        merged = deep_merge(yaml.safe_load((CHART / "values.yaml").read_text()), values)
        relays = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-relay")
    ]
        accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
        role = next(d for d in docs if d["kind"] == "Role")
        binding = next(d for d in docs if d["kind"] == "RoleBinding")
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{release}-relay", "namespace": namespace}]
        assert accounts == {f"{release}-relay"}, name
        leases = {d["metadata"]["name"] for d in relays}
        grants = sorted(
            (tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"])), tuple(sorted(r.get("resourceNames", []))))
            for r in role["rules"]
        )
        assert grants == [
            (("coordination.k8s.io",), ("leases",), ("create",), ()),
            (("coordination.k8s.io",), ("leases",), ("get", "update"), tuple(sorted(leases))),
        ], grants
        for relay in relays:
            spec = pod_spec(relay)
            assert spec["serviceAccountName"] == f"{release}-relay"
            env = env_of(containers(relay)[0])
            assert env["FTGO_LEADER_ELECTION__ENABLED"]["value"] == "true"
            assert env["FTGO_LEADER_ELECTION__LEASE_NAME"]["value"] == relay["metadata"]["name"]
            assert env["FTGO_LEADER_ELECTION__HOLDER_IDENTITY"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
            assert env["FTGO_LEADER_ELECTION__NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
            timing = merged["relay"]["leaderElection"]
            assert env["FTGO_LEADER_ELECTION__LEASE_DURATION_MS"]["value"] == str(timing["leaseDurationMs"])
            assert env["FTGO_LEADER_ELECTION__RENEW_INTERVAL_MS"]["value"] == str(timing["renewIntervalMs"])
            assert relay["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
            if merged["podDisruptionBudget"]["enabled"]:
                labels = relay["spec"]["template"]["metadata"]["labels"]
                budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget" and selects(d["spec"]["selector"], labels)]
                assert len(budgets) == 1, relay["metadata"]["name"]
                expected = (
                    {"minAvailable": merged["podDisruptionBudget"]["minAvailable"]}
                    if merged["relay"]["replicas"] > merged["podDisruptionBudget"]["minAvailable"]
                    else {"maxUnavailable": 1}
                )
                ignored = ("selector", "unhealthyPodEvictionPolicy")  # the latter: next test
                assert {k: v for k, v in budgets[0]["spec"].items() if k not in ignored} == expected
    report(f"relay leader election: {len(VALUE_SETS)} value sets, one Lease per database, least-privilege Role")


def test_unready_pods_never_block_a_drain(rendered):
    """An unready pod (a relay that cannot stream; before issue 16 item 7, every service
    during a Kafka or PostgreSQL outage) under Kubernetes' default
    unhealthyPodEvictionPolicy (IfHealthyBudget) makes the budgets block every eviction,
    and `kubectl drain` hangs. Every budget, for services and
    relays, lets unready pods go (AlwaysAllow by default, a value)."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["podDisruptionBudget"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    checked = 0
    for name, docs in rendered.items():
        merged = deep_merge(defaults, VALUE_SETS[name][2])
        budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
        if not merged["podDisruptionBudget"]["enabled"]:
            assert not budgets, name
            continue
        for deployment in (d for d in docs if d["kind"] == "Deployment"):
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            (budget,) = [b for b in budgets if selects(b["spec"]["selector"], labels)]
            policy = budget["spec"].get("unhealthyPodEvictionPolicy")
            assert policy == merged["podDisruptionBudget"]["unhealthyPodEvictionPolicy"], (name, budget["metadata"]["name"])
            checked += 1
    docs = documents(render({"podDisruptionBudget": {"unhealthyPodEvictionPolicy": "IfHealthyBudget"}}, "ftgo", "ftgo"))
    assert {d["spec"]["unhealthyPodEvictionPolicy"] for d in docs if d["kind"] == "PodDisruptionBudget"} == {"IfHealthyBudget"}
    report(f"PodDisruptionBudgets: {checked} workloads' budgets let unready pods be evicted")


def test_services_keep_serving_after_sigterm_within_their_grace_period(rendered):
    """Rolling updates dropped requests: a service stopped taking requests at SIGTERM
    while the endpoints still routed to it (issue 16, item 8). Every service gets
    `http.shutdown_delay_ms` (serving on, not ready) and `http.stop_timeout_ms`, and a
    termination grace period longer than both together, so the kubelet never kills it
    mid-stop."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["http"]["shutdownDelaySeconds"] > 0
    checked = 0
    for name, docs in rendered.items():
        merged = deep_merge(defaults, VALUE_SETS[name][2])
        for deployment in (d for d in docs if d["kind"] == "Deployment"):
            if deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] != "service":
                continue
            pod = deployment["spec"]["template"]["spec"]
            env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
            delay = int(env["FTGO_HTTP__SHUTDOWN_DELAY_MS"])
            stop = int(env["FTGO_HTTP__STOP_TIMEOUT_MS"])
            assert delay == merged["http"]["shutdownDelaySeconds"] * 1000, name
            assert stop == merged["http"]["stopTimeoutSeconds"] * 1000, name
            assert pod["terminationGracePeriodSeconds"] * 1000 > delay + stop, (name, deployment["metadata"]["name"])
            checked += 1
    report(f"stops: {checked} service Deployments serve on for their delay within their grace period")


def test_replicas_spread_over_nodes_and_zones(rendered):
    """A service's replicas, and a relay's Lease holder and standby, could all land on one
    node (issue 16, item 11). Every Deployment carries the configured topology spread
    constraints and anti-affinity, each selecting exactly that workload's own pods; by
    default as preferences (node and zone, ScheduleAnyway; preferred anti-affinity per
    node), so a one-node kind or minikube cluster still schedules everything."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert {c["topologyKey"] for c in defaults["scheduling"]["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    assert {c["whenUnsatisfiable"] for c in defaults["scheduling"]["topologySpreadConstraints"]} == {"ScheduleAnyway"}
    assert defaults["scheduling"]["podAntiAffinity"] == "preferred"
    modes = set()
    for name, docs in rendered.items():
        scheduling = deep_merge(defaults, VALUE_SETS[name][2])["scheduling"]
        deployments = [d for d in docs if d["kind"] == "Deployment"]
        pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in deployments}
        for deployment in deployments:
            own = deployment["metadata"]["name"]
            spec = pod_spec(deployment)

            def selects_only_own(selector: dict) -> bool:
                return [p for p, labels in pods.items() if selects(selector, labels)] == [own]

            constraints = spec.get("topologySpreadConstraints", [])
            assert len(constraints) == len(scheduling["topologySpreadConstraints"]), (name, own)
            for constraint, wanted in zip(constraints, scheduling["topologySpreadConstraints"]):
                assert {k: v for k, v in constraint.items() if k not in ("labelSelector", "matchLabelKeys")} == wanted
                assert selects_only_own(constraint["labelSelector"]), (name, own, constraint)
                assert constraint["matchLabelKeys"] == ["pod-template-hash"]
            anti = spec.get("affinity", {}).get("podAntiAffinity", {})
            mode = scheduling["podAntiAffinity"]
            modes.add(mode)
            if mode == "none":
                assert not anti, (name, own)
            elif mode == "preferred":
                (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
                assert term["weight"] == 100
                assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
                assert selects_only_own(term["podAffinityTerm"]["labelSelector"]), (name, own)
                assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
            else:
                (term,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
                assert term["topologyKey"] == "kubernetes.io/hostname"
                assert selects_only_own(term["labelSelector"]), (name, own)
    assert modes == {"preferred", "required", "none"}, modes
    report(f"scheduling: every workload spread over nodes and zones ({len(rendered)} value sets; anti-affinity {sorted(modes)})")


def test_services_write_and_relays_read_the_outbox_in_one_mode(rendered):
    """relay.mode reaches every relay (FTGO_MODE) and every service (FTGO_OUTBOX__MODE);
    polling settings only in polling mode."""
    for name, docs in rendered.items():
        _, _, values = VALUE_SETS[name]
        merged = deep_merge(yaml.safe_load((CHART / "values.yaml").read_text()), values)
        mode = merged["relay"]["mode"]
        for deployment in (d for d in docs if d["kind"] == "Deployment"):
            env = env_of(containers(deployment)[0])
            if deployment["metadata"]["name"].endswith("-relay"):
                assert env["FTGO_MODE"]["value"] == mode, name
                assert "FTGO_OUTBOX__MODE" not in env, name
                polling = merged["relay"]["polling"]
                if mode == "polling":
                    assert env["FTGO_POLLING__INTERVAL_MS"]["value"] == str(polling["intervalMs"])
                    assert env["FTGO_POLLING__BATCH_SIZE"]["value"] == str(polling["batchSize"])
                else:
                    assert "FTGO_POLLING__INTERVAL_MS" not in env, name
            else:
                assert env["FTGO_OUTBOX__MODE"]["value"] == mode, name
    modes = sorted({deep_merge(yaml.safe_load((CHART / "values.yaml").read_text()), v)["relay"]["mode"] for _, _, v in VALUE_SETS.values()})
    report(f"outbox mode: relays and services agree in {len(VALUE_SETS)} value sets ({', '.join(modes)})")


def test_monitoring_objects_point_at_real_ports(rendered):
    docs = rendered["production"]
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    service_ports = {
        p["name"]
        for d in docs
        if d["kind"] == "Service" and selects(monitor["spec"]["selector"], d["metadata"]["labels"])
        for p in d["spec"]["ports"]
    }
    # Scrapes go to the HTTP and metrics ports, not to consumer-service's gRPC port.
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"http", "metrics"}
    assert service_ports == {"http", "metrics", "grpc"}
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    # A standby never streams: the alert is on no replica of a relay streaming.
    assert any(re.search(r"max by \(namespace, service\) \(ftgo_relay_streaming", e) for e in exprs), exprs
    assert any("ftgo_relay_replication_lag_bytes" in e for e in exprs)


def test_prometheus_operator_objects_carry_the_kube_prometheus_stack_release_label():
    """kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules by
    `release: <its release>`; without the label both are ignored (issue 16, item 6).
    metrics.release renders it (default kube-prometheus-stack), "" leaves it out, and an
    explicit `release` in an object's own labels wins."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["metrics"]["release"] == "kube-prometheus-stack"
    enabled = {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}
    cases = [
        ({}, "kube-prometheus-stack", "kube-prometheus-stack"),
        ({"release": "monitoring"}, "monitoring", "monitoring"),
        ({"release": ""}, None, None),
        ({"serviceMonitor": {"enabled": True, "labels": {"release": "mine"}}}, "mine", "kube-prometheus-stack"),
    ]
    for metrics, monitor_release, rule_release in cases:
        docs = documents(render({"metrics": deep_merge(enabled, metrics)}, "ftgo", "ftgo"))
        labels = {d["kind"]: d["metadata"]["labels"] for d in docs if d["kind"] in CRD_KINDS}
        assert labels["ServiceMonitor"].get("release") == monitor_release, (metrics, labels)
        assert labels["PrometheusRule"].get("release") == rule_release, (metrics, labels)
        for kind_labels in labels.values():
            assert kind_labels["app.kubernetes.io/instance"] == "ftgo"
    values = VALUE_SETS["production"][2]
    for doc in (d for d in documents(render(values, "shop", "prod")) if d["kind"] in CRD_KINDS):
        assert doc["metadata"]["labels"]["release"] == "kube-prometheus", doc["kind"]
    text = (ROOT / "README.md").read_text()
    assert "metrics.release" in text and "kube-prometheus-stack" in text, "README does not document metrics.release"


def test_prometheus_rule_embeds_the_shared_alert_file_unchanged(rendered):
    """One source of truth: the PrometheusRule holds files/alerts.yaml's groups exactly as
    the local Prometheus loads them and promtool tests them, plus the Kubernetes-only group."""
    shared = yaml.safe_load((CHART / "files/alerts.yaml").read_text())["groups"]
    rule = next(d for d in rendered["production"] if d["kind"] == "PrometheusRule")
    groups = rule["spec"]["groups"]
    assert groups[: len(shared)] == shared
    assert [g["name"] for g in groups[len(shared):]] == ["ftgo-kubernetes"]
    report(f"PrometheusRule: {sum(len(g['rules']) for g in shared)} shared alerts + Kubernetes group")


def test_grafana_dashboard_config_map_holds_the_dashboard(rendered):
    """The ConfigMap carries the sidecar's label and the dashboard JSON byte for byte."""
    config_map = next(
        d for d in rendered["production"] if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "shop-grafana-dashboard"
    )
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    text = config_map["data"]["ftgo-overview.json"]
    assert text == (CHART / "files/grafana/ftgo-overview.json").read_text().rstrip("\n")
    dashboard = json.loads(text)
    assert dashboard["uid"] == "ftgo-overview" and dashboard["panels"]


def promql_expressions() -> dict[str, list[str]]:
    """Every PromQL expression of the monitoring files: the Grafana dashboard's targets,
    the console's `query` calls and graphs, the alert rules."""
    dashboard = json.loads((CHART / "files/grafana/ftgo-overview.json").read_text())
    grafana = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if "expr" in t]
    console = re.findall(r"`([^`]+)`", (CHART / "files/consoles/ftgo-overview.html").read_text())
    console += re.findall(r"expr:\s*'([^']+)'", (CHART / "files/consoles/ftgo-overview.html").read_text())
    alerts = [r["expr"] for g in yaml.safe_load((CHART / "files/alerts.yaml").read_text())["groups"] for r in g["rules"]]
    return {"grafana": grafana, "console": console, "alerts": alerts}


def test_no_dashboard_aggregates_relay_streaming_with_min():
    """With a standby per database (relay.replicas 2) one pod of each relay reports
    ftgo_relay_streaming 0 at all times: `min` over a relay's pods is always 0 and showed
    every relay as not streaming (issue 16, item 4). Dashboards, console and alerts use
    `max` (some replica streams), as the alert always did."""
    found = 0
    for source, exprs in promql_expressions().items():
        for expr in exprs:
            if "ftgo_relay_streaming" not in expr:
                continue
            found += 1
            assert not re.search(r"\b(min|avg)\s*(by|without)?\s*(\([^()]*\))?\s*\(\s*ftgo_relay_streaming", expr), f"{source}: {expr}"
            assert re.search(r"\bmax\s+by\s*\([^)]*\bservice\b[^)]*\)\s*\(\s*ftgo_relay_streaming", expr), f"{source}: {expr}"
    assert found >= 3, f"ftgo_relay_streaming used {found} times"
    report(f"relay streaming: {found} expressions aggregate with max over a relay's pods")


def test_schema_refuses_bad_values_naming_them():
    for values, named in BAD_VALUES:
        with pytest.raises(helm.HelmError) as refused:
            render(values, "ftgo", "ftgo")
        message = str(refused.value)
        assert named in message, f"{values}: {message}"
        assert "hunter2" not in message
    report(f"{len(BAD_VALUES)} schema-violating value sets refused, each naming the value")


# --- kubernetes-validate and checkov ---------------------------------------------------


def tool(name: str) -> str:
    env = os.environ.get(f"FTGO_{name.upper().replace('-', '_')}")
    if env:
        return env
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    assert found, f"{name} not found (set FTGO_{name.upper().replace('-', '_')})"
    return found


# Custom resources kubernetes-validate has no schema for (checked structurally above).
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "HTTPRoute"}


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_manifests_pass_strict_kubernetes_validation(out_dir, kube_version):
    files = sorted(out_dir.glob("*.yaml")) + sorted((ROOT / "k8s/deps").glob("*.yaml"))
    run = subprocess.run(
        [tool("kubernetes-validate"), "-k", kube_version, "--strict", *map(str, files)],
        capture_output=True,
        text=True,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    expected = sum(
        1
        for f in files
        for d in yaml.safe_load_all(f.read_text())
        if d and d["kind"] not in CRD_KINDS
    )
    passed = len(re.findall(r" passed for resource ", output))
    assert passed == expected, output
    unexplained = [
        line
        for line in output.splitlines()
        if ("WARN" in line or "ERROR" in line)
        and not any(f"kind {k} " in line for k in CRD_KINDS)
    ]
    assert not unexplained, unexplained
    report(f"kubernetes-validate --strict {kube_version}: {passed} manifests passed in {len(files)} files")


def test_checkov_finds_no_failed_check(out_dir):
    chart_dir = out_dir / "checkov"
    chart_dir.mkdir(exist_ok=True)
    for f in out_dir.glob("*.yaml"):
        shutil.copy(f, chart_dir / f.name)
    run = subprocess.run(
        [tool("checkov"), "-d", str(chart_dir), "--framework", "kubernetes", "--compact",
         "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    result = json.loads(run.stdout)
    result = result[0] if isinstance(result, list) else result
    summary = result["summary"]
    failed = result["results"].get("failed_checks", [])
    skipped = result["results"].get("skipped_checks", [])
    assert summary["parsing_errors"] == 0, summary
    # checkov has no severities offline (they come from its cloud API), so no failed
    # check at all is accepted: that includes every HIGH one.
    assert not failed, [(c["check_id"], c["resource"], c["check_name"]) for c in failed]
    for check in skipped:
        assert check["check_result"].get("suppress_comment"), f"{check['check_id']} skipped without a reason"
    report(
        f"checkov: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped "
        f"({len({c['check_id'] for c in skipped})} distinct checks, each with its reason in the chart)"
    )


# --- Docker build context --------------------------------------------------------------


def docker_context_files() -> list[str]:
    """The files `docker build .` sends, by .dockerignore (patterns as Docker reads them:
    a pattern matches a path or any of its parent directories; later `!` lines re-include)."""
    import fnmatch

    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()

    def matches(pattern: str, path: str) -> bool:
        pattern = pattern.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(
            fnmatch.fnmatchcase(prefix, pattern)
            or (pattern.startswith("**/") and fnmatch.fnmatchcase(prefix, pattern[3:]))
            for prefix in prefixes
        )

    kept = []
    for path in listed:
        excluded = False
        for pattern in patterns:
            if pattern.startswith("!"):
                if matches(pattern[1:], path):
                    excluded = False
            elif matches(pattern, path):
                excluded = True
        if not excluded and (ROOT / path).is_file():
            kept.append(path)
    return kept


def resolve_workspace(files: list[str]) -> dict[str, dict]:
    """`cargo metadata --locked` in a directory holding only `files`: its packages. Not
    `--offline`: metadata covers every platform's crates, which a build here never fetched."""
    with tempfile.TemporaryDirectory(prefix="ftgo-docker-context-") as context:
        for f in files:
            (Path(context) / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, Path(context) / f)
        run = subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"],
            cwd=context,
            capture_output=True,
            text=True,
            env={**os.environ, "CARGO_TARGET_DIR": str(Path(context) / "target")},
        )
        assert run.returncode == 0, run.stderr
        return {p["name"]: p for p in json.loads(run.stdout)["packages"]}


BINARIES = ("cdc-relay", "order-service", "consumer-service", "restaurant-service")


def test_docker_context_holds_the_workspace():
    """What each Dockerfile's `cargo build --locked -p <binary>` needs is in the context:
    cargo resolves the workspace from the context alone with the lock file unchanged."""
    files = docker_context_files()
    assert not any(f.startswith(("target/", "charts/", "k8s/", ".git/")) for f in files)
    packages = resolve_workspace(files)
    for binary in BINARIES:
        targets = {t["name"] for t in packages[binary]["targets"] if "bin" in t["kind"]}
        assert binary in targets, f"{binary}: no bin target {binary}"
    report(f"docker build context: {len(files)} files; cargo resolves the workspace from them --locked")


def test_tilt_build_context_holds_the_workspace(tilt):
    """The same with the Tiltfile's docker_build(only=...) narrowing of the context."""
    for ref, build in tilt.images.items():
        only = tuple(p.rstrip("/") for p in build["only"])
        files = [f for f in docker_context_files() if f in only or f.startswith(tuple(p + "/" for p in only))]
        packages = resolve_workspace(files)
        assert ref.split("/")[-1] in packages, ref


# --- README commands -------------------------------------------------------------------


def readme_shell_lines() -> list[str]:
    """Every line of the README's ```sh blocks, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            lines.append(line.split(" #")[0].strip())
    return [line for line in lines if line]


def test_readme_builds_images_kind_can_load():
    """Every image build in the README (and in the Dockerfiles' own usage lines) leaves out
    BuildKit's provenance attestation, which `kind load docker-image` cannot import from
    Docker's containerd image store (kind#3795), or the images go in as archives; and the
    README says BuildKit is required."""
    builds = [line for line in readme_shell_lines() if re.search(r"\bdocker (buildx )?build\b", line)]
    assert len(builds) >= 4, builds
    archive_load = any("kind load image-archive" in line for line in readme_shell_lines())
    for line in builds:
        if "docker buildx build" in line:
            assert "--load" in line, line
        assert "--provenance=false" in line or archive_load, f"README builds with an attestation: {line}"
    for dockerfile in ROOT.glob("**/Dockerfile"):
        if "target" in dockerfile.parts:
            continue
        usage = [l for l in dockerfile.read_text().splitlines() if re.search(r"docker (buildx )?build", l)]
        for line in usage:
            assert "--provenance=false" in line, f"{dockerfile.relative_to(ROOT)}: {line}"
    text = (ROOT / "README.md").read_text()
    kubernetes = text[text.index("## Kubernetes") :]
    assert re.search(r"need[s]? BuildKit", kubernetes), "README does not say BuildKit is required"
    report(f"README: {len(builds)} image builds without provenance attestations")


def readme_section(heading: str) -> str:
    """The README's text from the paragraph starting with `heading` to the next one in bold."""
    text = (ROOT / "README.md").read_text()
    start = text.index(heading)
    end = text.find("\n**", start + len(heading))
    return text[start : end if end > 0 else None]


def test_readme_kind_steps_use_the_entry_point():
    """The README's kind steps reach the APIs through the chart's Ingress by kind's Ingress
    recipe (cloud-provider-kind serves Ingresses of class cloud-provider-kind from the kind
    Docker network), not through port-forwards; the helm install they run is the "kind"
    value set above (so it renders, validates, and its policies admit the proxy), and what
    they curl is a path the Ingress routes."""
    kind = readme_section("**kind**")
    lines = [line for block in re.findall(r"```sh\n(.*?)```", kind, re.S)
             for line in block.replace("\\\n", " ").splitlines()]
    commands = [line.split(" #")[0].strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    assert not [c for c in commands if "port-forward" in c], "kind steps still port-forward"
    assert "https://kind.sigs.k8s.io/docs/user/ingress/" in kind and "cloud-provider-kind" in kind
    (install,) = [c for c in commands if c.startswith("helm install")]
    args = install.split()
    files = [args[i + 1] for i, a in enumerate(args) if a == "-f"]
    assert files == ["k8s/ftgo-dev-values.yaml", "k8s/kind-ingress-values.yaml"], files
    values: dict = {}
    for f in files:
        values = deep_merge(values, yaml.safe_load((ROOT / f).read_text()))
    (subnet_line,) = [c for c in commands if c.startswith("KIND_SUBNET=")]
    assert "docker network inspect kind" in subnet_line and "grep -v :" in subnet_line, subnet_line
    for expression in re.findall(r'--set "?([^" ]+)"?', install):
        values = deep_merge(values, helm.parse_set_string(expression.replace("$KIND_SUBNET", "172.18.0.0/16")))
    assert values == VALUE_SETS["kind"][2], "the README's helm install is not the kind value set"
    assert values["ingress"]["className"] == "cloud-provider-kind"
    docs = documents(render(values, "ftgo", "ftgo"))
    (ingress,) = [d for d in docs if d["kind"] == "Ingress"]
    (address,) = [c for c in commands if "get ingress" in c]
    assert f"get ingress {ingress['metadata']['name']} " in address and "status.loadBalancer.ingress[0].ip" in address
    curls = [c for c in commands if c.startswith("curl ")]
    assert curls, "kind steps call no API"
    for curl in curls:
        (path,) = re.findall(r"\$FTGO(/v1/[a-z]+)", curl)
        assert path in ENTRY_PATHS, curl
    report(f"README kind steps: Ingress {ingress['spec']['ingressClassName']}, {len(curls)} call(s) through it, no port-forward")


def test_kind_node_image_is_pinned_by_digest_for_the_readme_kind_release():
    """kind supports a node image only with the kind release that built it, and a tag may
    later name an image built for another release: k8s/kind-cluster.yaml pins the image by
    the digest the release notes of the kind release the README names list (issue 16,
    item 12), for a Kubernetes the chart accepts."""
    text = (ROOT / "README.md").read_text()
    named = set(re.findall(r"\*\*kind\*\* (v\d+\.\d+\.\d+)", text))
    assert len(named) == 1, f"the README names kind releases {named}"
    (release,) = named
    assert release in KIND_NODE_IMAGES, f"no node images known for kind {release}"
    image = kind_node_image()
    match = re.fullmatch(r"kindest/node:(v[0-9.]+)@(sha256:[0-9a-f]{64})", image)
    assert match, f"kind node image not pinned by digest: {image}"
    tag, digest = match.groups()
    assert KIND_NODE_IMAGES[release].get(tag) == digest, f"{image} is not among kind {release}'s images"
    assert f"Kubernetes {kind_node_version()}" in text, "the README does not say which Kubernetes kind runs"
    floor = tuple(map(int, chart_kube_floor().split(".")))
    assert tuple(map(int, kind_node_version().split("."))) >= floor
    report(f"kind {release}: node image {tag}@{digest[:19]}…, chart checked for Kubernetes {KUBE_VERSIONS}")


# --- Tiltfile --------------------------------------------------------------------------

# Python constructs that are not Starlark: the Tiltfile must not use them, so evaluating it
# as Python is evaluating it as Starlark.
NOT_STARLARK = (
    ast.Import, ast.ImportFrom, ast.ClassDef, ast.While, ast.Try, ast.With, ast.Raise,
    ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await, ast.AsyncFunctionDef,
    ast.Delete, ast.Assert, ast.JoinedStr, ast.Starred, ast.NamedExpr, ast.Set, ast.SetComp,
)


# The Kubernetes version the stand-in for `kubectl version` reports.
STUB_SERVER_VERSION = "v1.33.9"


class TiltStub:
    """Stand-ins for the Tilt builtins the Tiltfile calls; they record what it asks for."""

    def __init__(self):
        self.images: dict[str, dict] = {}
        self.resources: dict[str, dict] = {}
        self.yaml: list[object] = []
        self.helm_calls: list[dict] = []
        self.local_calls: list[str] = []

    def builtins(self) -> dict:
        def allow_k8s_contexts(contexts):
            assert contexts

        def docker_build(ref, context, dockerfile="Dockerfile", only=(), **kwargs):
            assert ref not in self.images, f"image {ref} built twice"
            self.images[ref] = {"context": context, "dockerfile": dockerfile, "only": list(only), **kwargs}

        def helm(path, name=None, namespace=None, values=(), set=(), kube_version="", **kwargs):
            assert not kwargs, f"helm() arguments Tilt does not take: {kwargs}"
            call = {
                "path": path,
                "name": name,
                "namespace": namespace,
                "values": list(values),
                "set": list(set),
                "kube_version": kube_version,
            }
            self.helm_calls.append(call)
            return ("helm", len(self.helm_calls) - 1)

        def k8s_yaml(what):
            self.yaml.extend(what if isinstance(what, list) else [what])

        def k8s_resource(workload, port_forwards=(), labels=(), resource_deps=(), **kwargs):
            assert workload not in self.resources, f"k8s_resource {workload} twice"
            self.resources[workload] = {
                "port_forwards": list(port_forwards),
                "labels": list(labels),
                "resource_deps": list(resource_deps),
            }

        def local(command, quiet=False, **kwargs):
            self.local_calls.append(command)
            if command.startswith("kubectl version"):
                # What `kubectl version -o json` prints for a cluster at STUB_SERVER_VERSION.
                return json.dumps({
                    "clientVersion": {"major": "1", "minor": "36", "gitVersion": "v1.36.0"},
                    "serverVersion": {"major": "1", "minor": "33", "gitVersion": STUB_SERVER_VERSION},
                })
            return ""

        def decode_json(text):
            return json.loads(str(text))

        return {
            "allow_k8s_contexts": allow_k8s_contexts,
            "docker_build": docker_build,
            "helm": helm,
            "k8s_yaml": k8s_yaml,
            "k8s_resource": k8s_resource,
            "local": local,
            "decode_json": decode_json,
        }


@pytest.fixture(scope="session")
def tilt() -> TiltStub:
    source = (ROOT / "Tiltfile").read_text()
    tree = ast.parse(source, "Tiltfile")
    for node in ast.walk(tree):
        assert not isinstance(node, NOT_STARLARK), f"Tiltfile line {node.lineno}: not Starlark"
    stub = TiltStub()
    exec(compile(tree, "Tiltfile", "exec"), {"__builtins__": {}, **stub.builtins()})
    return stub


def test_tiltfile_renders_the_chart_for_the_cluster_kubernetes_version(tilt):
    """Tilt's helm() runs `helm template`, which knows no cluster: without kube_version,
    Helm 3.8-3.11 (and 4.0.0) assume a Kubernetes older than the chart's kubeVersion and
    refuse to render (issue 16, item 3). The Tiltfile asks the cluster and passes it on."""
    (call,) = tilt.helm_calls
    assert call["kube_version"] == STUB_SERVER_VERSION, call
    assert any(c.startswith("kubectl version -o json") for c in tilt.local_calls), tilt.local_calls
    report(f"Tiltfile: helm(kube_version=) from `kubectl version` ({call['kube_version']})")


def workloads_of(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d.get("kind") in ("Deployment", "StatefulSet", "Pod")}


def test_tiltfile_names_exactly_what_the_chart_renders(tilt):
    assert len(tilt.helm_calls) == 1
    call = tilt.helm_calls[0]
    assert (ROOT / call["path"]).resolve() == CHART
    values: dict = {}
    for f in call["values"]:
        values = deep_merge(values, yaml.safe_load((ROOT / f).read_text()))
    chart_docs = documents(render(values, call["name"], call["namespace"]))
    chart_workloads = workloads_of(chart_docs)
    chart_images = {
        c["image"].split("@")[0].rsplit(":", 1)[0]: c
        for d in chart_workloads.values()
        for c in containers(d)
    }
    # Every image the chart runs is built by the Tiltfile, and nothing else is built.
    # (The chart may prefix a registry; the dev values do not.)
    assert set(tilt.images) == set(chart_images), (set(tilt.images), set(chart_images))
    for ref, build in tilt.images.items():
        dockerfile = ROOT / build["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        binary = ref.split("/")[-1]
        text = dockerfile.read_text()
        assert f"-p {binary}" in text and "nonroot" in text, dockerfile
        for path in build["only"]:
            assert (ROOT / path).exists(), f"docker_build only= {path} does not exist"

    dep_files = [ROOT / y for y in tilt.yaml if isinstance(y, str)] + [
        ROOT / f for y in tilt.yaml if isinstance(y, list) for f in y
    ]
    dep_docs = [d for f in dep_files for d in yaml.safe_load_all(f.read_text()) if d]
    dep_workloads = workloads_of(dep_docs)
    all_workloads = set(chart_workloads) | set(dep_workloads)
    assert set(tilt.resources) == all_workloads, (set(tilt.resources) ^ all_workloads)

    groups = {label for r in tilt.resources.values() for label in r["labels"]}
    assert groups == {"services", "relays", "infrastructure"}, groups
    local_ports = []
    for name, workload in chart_workloads.items():
        resource = tilt.resources[name]
        ports = {p["containerPort"] for c in containers(workload) for p in c.get("ports", [])}
        forwarded = {int(pf.split(":")[1]) for pf in resource["port_forwards"]}
        assert forwarded == ports, f"{name}: forwards {forwarded}, serves {ports}"
        local_ports += [int(pf.split(":")[0]) for pf in resource["port_forwards"]]
        component = workload["metadata"]["labels"]["app.kubernetes.io/component"]
        assert resource["labels"] == [{"service": "services", "relay": "relays"}[component]], name
        for dep in resource["resource_deps"]:
            assert dep in tilt.resources, f"{name} depends on unknown {dep}"
    for name in dep_workloads:
        assert tilt.resources[name]["labels"] == ["infrastructure"]
        local_ports += [int(pf.split(":")[0]) for pf in tilt.resources[name]["port_forwards"]]
    assert len(local_ports) == len(set(local_ports)), f"local port used twice: {sorted(local_ports)}"
    report(
        f"Tiltfile: {len(tilt.images)} images, {len(tilt.resources)} resources "
        f"({len(chart_workloads)} from the chart, {len(dep_workloads)} infrastructure), as rendered"
    )


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", *sys.argv[1:]]))
