"""deploy/kubernetes.yaml: valid against the Kubernetes JSON schemas (shipped offline by the
kubernetes-validate package), and consistent with the Containerfile and the server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "deploy/kubernetes.yaml"
# The oldest Kubernetes release still common on-prem, and the newest the package knows.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def documents() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def container() -> dict[str, Any]:
    spec: dict[str, Any] = documents()["Deployment"]["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("version", VERSIONS)
def test_every_resource_is_valid_strictly(version: str) -> None:
    kinds = documents()
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for doc in kinds.values():
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_catches_a_misspelled_field() -> None:
    deployment = documents()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_probes_resources_and_user_match_the_image() -> None:
    pod = container()
    main = pod["containers"][0]
    assert main["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert set(main["resources"]) == {"requests", "limits"}
    containerfile = (REPO / "Containerfile").read_text()
    assert f"EXPOSE {main['ports'][0]['containerPort']}" in containerfile
    user = re.search(r"^USER (\d+):(\d+)$", containerfile, re.MULTILINE)
    assert user is not None
    assert pod["securityContext"]["runAsUser"] == int(user.group(1))
    # onnxruntime threads follow the CPU limit, not the node's core count.
    threads = main["args"][main["args"].index("--threads") + 1]
    assert threads == main["resources"]["limits"]["cpu"]


def test_service_and_autoscaler_point_at_the_deployment() -> None:
    kinds = documents()
    labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert kinds["Service"]["spec"]["selector"].items() <= labels.items()
    assert kinds["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == (
        "Deployment",
        kinds["Deployment"]["metadata"]["name"],
    )
