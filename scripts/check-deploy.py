#!/usr/bin/env python3
"""Checks the Kubernetes deployment in pipeline-examples/kubernetes/.

- every manifest of daemonset.yaml, and the manifests that a real `helm`
  renders from the fluent-bit chart (tests/data/helm/fluent-bit, 0.58.1) with
  values-gopanic.yaml, pass kubernetes-validate in strict mode against the
  Kubernetes 1.30 to 1.37 schemas;
- both run hardened containers (no privilege escalation, every capability
  dropped, read-only root filesystem, RuntimeDefault seccomp), the
  namespace carries the Pod Security level that hostPath volumes need, and
  the pods carry a config checksum that matches the ConfigMap;
- the DaemonSet and the Helm values name the same .wasm image, tagged with
  the filter crate's version, and Dockerfile.wasm copies the file that
  plugin/fluent-bit/build.sh writes;
- the Grafana dashboard queries through its Loki datasource variable, and
  the ruler file is made of alert and recording rules (their expressions run
  against a real Loki in scripts/loki-e2e.py).

Usage: check-deploy.py HELM   (HELM: path of a helm binary)
Needs the kubernetes-validate and PyYAML packages (scripts/test.sh installs
them). Exits non-zero on the first failed group of checks, naming each
failure.
"""

import hashlib
import json
import pathlib
import re
import subprocess
import sys
import tomllib

import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "pipeline-examples" / "kubernetes"
CHART = ROOT / "tests" / "data" / "helm" / "fluent-bit"
VERSIONS = [f"1.{minor}.0" for minor in range(30, 38)]

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def validate(docs, origin):
    """Strict schema validation of each manifest for every version."""
    checked = 0
    for doc in docs:
        name = f"{origin}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        for v in VERSIONS:
            try:
                kubernetes_validate.validate(doc, v, strict=True)
                checked += 1
            except kubernetes_validate.ValidationError as e:
                failures.append(f"{name} (Kubernetes {v}): {e.message} at {list(e.path)}")
            except kubernetes_validate.InvalidSchemaError as e:
                failures.append(f"{name} (Kubernetes {v}): {e}")
    return checked


def hardened(pod_spec, origin):
    """Security settings of every container and init container."""
    sc = pod_spec.get("securityContext") or {}
    check(
        (sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
        f"{origin}: pod seccompProfile RuntimeDefault",
    )
    for c in pod_spec.get("initContainers", []) + pod_spec["containers"]:
        csc = c.get("securityContext") or {}
        name = f"{origin}: container {c['name']}"
        check(csc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation false")
        check(csc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem")
        check((csc.get("capabilities") or {}).get("drop") == ["ALL"], f"{name}: drops ALL capabilities")
        check(not csc.get("privileged"), f"{name}: not privileged")
        check(not (csc.get("capabilities") or {}).get("add"), f"{name}: adds no capability")


def init_image(pod_spec):
    inits = [c for c in pod_spec.get("initContainers", []) if c["name"] == "gopanic-wasm"]
    return inits[0]["image"] if len(inits) == 1 else None


def main():
    helm = sys.argv[1]

    # --- daemonset.yaml -------------------------------------------------
    docs = [d for d in yaml.safe_load_all((K8S / "daemonset.yaml").read_text()) if d]
    n = validate(docs, "daemonset.yaml")
    by_kind = {d["kind"]: d for d in docs}
    ns = by_kind["Namespace"]["metadata"]
    check(
        ns.get("labels", {}).get("pod-security.kubernetes.io/enforce") == "privileged",
        "daemonset.yaml: the namespace's Pod Security level admits hostPath volumes",
    )
    ds = by_kind["DaemonSet"]
    pod = ds["spec"]["template"]
    hardened(pod["spec"], "daemonset.yaml")
    cm = by_kind["ConfigMap"]["data"]
    want = hashlib.sha256(
        (cm["fluent-bit.conf"] + cm["parsers-gopanic.conf"]).encode()
    ).hexdigest()
    got = pod["metadata"].get("annotations", {}).get("checksum/config")
    check(
        got == want,
        f"daemonset.yaml: checksum/config is {got}; the ConfigMap's files give {want}",
    )
    ds_image = init_image(pod["spec"])

    # --- the Helm chart, rendered by helm --------------------------------
    out = subprocess.run(
        [helm, "template", "fluent-bit", str(CHART), "--namespace", "logging",
         "--values", str(K8S / "values-gopanic.yaml")],
        capture_output=True, text=True,
    )
    if not check(out.returncode == 0, f"helm template failed: {out.stderr}"):
        return report(n)
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    n += validate(rendered, "helm template")
    rds = [d for d in rendered if d["kind"] == "DaemonSet"]
    check(len(rds) == 1, "helm template: one DaemonSet")
    rpod = rds[0]["spec"]["template"]
    hardened(rpod["spec"], "helm template")
    check(
        "checksum/config" in rpod["metadata"].get("annotations", {}),
        "helm template: the chart's checksum/config annotation",
    )
    helm_image = init_image(rpod["spec"])
    rconf = [d for d in rendered if d["kind"] == "ConfigMap"][0]["data"]
    values = yaml.safe_load((K8S / "values-gopanic.yaml").read_text())
    check(
        values["config"]["outputs"].strip() in rconf["fluent-bit.conf"],
        "helm template: the rendered fluent-bit.conf holds the values' outputs",
    )
    mounts = {m["mountPath"] for m in rpod["spec"]["containers"][0]["volumeMounts"]}
    for m in ["/fluent-bit/wasm", "/var/log", "/var/fluent-bit/state"]:
        check(m in mounts, f"helm template: fluent-bit mounts {m}")

    # --- the .wasm image --------------------------------------------------
    crate = tomllib.loads((ROOT / "plugin/fluent-bit/Cargo.toml").read_text())
    version = crate["package"]["version"]
    check(ds_image is not None and ds_image == helm_image,
          f"the DaemonSet ({ds_image}) and the Helm values ({helm_image}) name one image")
    check(ds_image is not None and ds_image.endswith(f"/gopanic-wasm:{version}"),
          f"the image {ds_image} is gopanic-wasm tagged with the crate version {version}")
    dockerfile = (K8S / "Dockerfile.wasm").read_text()
    check(f"-t {ds_image} " in dockerfile, f"Dockerfile.wasm documents building {ds_image}")
    build_sh = (ROOT / "plugin/fluent-bit/build.sh").read_text()
    built = re.search(r'echo "\$PWD/(\S+\.wasm)"', build_sh).group(1)
    copies = re.findall(r"^COPY --from=build \S* ?/src/(\S+) /gopanic\.wasm$", dockerfile, re.M)
    check(copies == [built], f"Dockerfile.wasm copies {copies}; build.sh writes {built}")
    check(not re.search(r"^ARG WASM", dockerfile, re.M), "Dockerfile.wasm needs no build-arg")
    ignore = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines()
              if l.strip() and not l.startswith("#")]
    check(ignore[:1] == ["*"], ".dockerignore excludes everything by default")
    for needed in ["Cargo.toml", "Cargo.lock", "src", "benches", "plugin"]:
        check(f"!{needed}" in ignore, f".dockerignore sends {needed}")
    check(not any(l.startswith("!target") for l in ignore), ".dockerignore never sends target/")

    # --- the Grafana dashboard and the ruler file -------------------------
    dash = json.loads((ROOT / "pipeline-examples/grafana/gopanic-crashes.json").read_text())
    var = [v for v in dash["templating"]["list"] if v["name"] == "datasource"]
    check(var and var[0]["type"] == "datasource" and var[0]["query"] == "loki",
          "dashboard: a Loki datasource variable")
    for p in dash["panels"]:
        for t in [p] + p.get("targets", []):
            check(t.get("datasource") == {"type": "loki", "uid": "${datasource}"},
                  f"dashboard panel {p['title']}: uses the datasource variable")
        check(p.get("targets"), f"dashboard panel {p['title']}: has queries")
    rules = yaml.safe_load((ROOT / "pipeline-examples/loki/ruler-gopanic.yaml").read_text())
    for g in rules["groups"]:
        for r in g["rules"]:
            check(("alert" in r) != ("record" in r) and r.get("expr"),
                  f"ruler: {r} is an alert or a record with an expression")

    report(n)


def report(n):
    for f in failures:
        print(f"FAIL {f}")
    print(f"check-deploy: {n} manifest validations (strict, Kubernetes "
          f"{VERSIONS[0]}..{VERSIONS[-1]}), {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
