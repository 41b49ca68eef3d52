"""Helm's own engine (helm-python-sdk, which wraps Helm v4's Go SDK) for the Rust tests.

The test harness (tests/harness/src/kube/helm.rs) runs this with the chart tools' venv:
one JSON request on stdin, one JSON answer on stdout; a Helm error exits 1 with Helm's
message on stderr. Requests:

  {"action": "render", "chart": DIR, "release": R, "namespace": N, "values": {...}}
      -> {"documents": [every object of the templates, as JSON]}
  {"action": "install" | "upgrade", "kubeconfig": FILE, "chart": DIR, "release": R,
   "namespace": N, "values": {...}}
      -> {"revision": n, "status": "...", "documents": [the release's manifest]}
  {"action": "rollback", "kubeconfig": FILE, "release": R, "namespace": N, "revision": n}
      -> {}
  {"action": "history", "kubeconfig": FILE, "release": R, "namespace": N}
      -> {"revisions": [{"revision": n, "status": "..."}, ...]}  (oldest first)

install creates the namespace and waits for nothing: no scheduler runs pods there.
"""

from __future__ import annotations

import json
import sys

import helm_python as helm
import yaml


def documents(manifest: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(manifest) if d]


def summary(release: dict) -> dict:
    return {
        "revision": release["revision"],
        "status": release["status"],
        "documents": documents(release.get("manifest", "")),
    }


def main() -> int:
    request = json.load(sys.stdin)
    action = request["action"]
    if action == "render":
        rendered = helm.Chart.load(request["chart"]).render(
            request.get("values") or {},
            name=request["release"],
            namespace=request["namespace"],
            is_install=True,
        )
        docs = []
        for path, text in sorted(rendered.items()):
            if path.endswith((".yaml", ".yml")):
                docs.extend(documents(text))
        answer: dict = {"documents": docs}
    else:
        with helm.Config(
            kubeconfig_path=request["kubeconfig"], namespace=request["namespace"]
        ) as config:
            if action == "install":
                answer = summary(
                    config.install(
                        helm.Chart.load(request["chart"]),
                        request["release"],
                        request.get("values") or {},
                        namespace=request["namespace"],
                        create_namespace=True,
                        timeout=120,
                    )
                )
            elif action == "upgrade":
                answer = summary(
                    config.upgrade(
                        helm.Chart.load(request["chart"]),
                        request["release"],
                        request.get("values") or {},
                        namespace=request["namespace"],
                        timeout=120,
                    )
                )
            elif action == "rollback":
                config.rollback(request["release"], version=request["revision"], timeout=120)
                answer = {}
            elif action == "history":
                answer = {
                    "revisions": [
                        {"revision": r["revision"], "status": r["status"]}
                        for r in config.history(request["release"])
                    ]
                }
            else:
                raise SystemExit(f"unknown action {action!r}")
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except helm.HelmError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
