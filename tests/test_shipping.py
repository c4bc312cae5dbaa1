"""Checks that the install, CI and deployment files say what the README promises.

Not a test of the app itself: these read files (README, scripts, config, Dockerfile) only.
"""
import re
import shlex
import tomllib
from pathlib import Path

from explorer.config import LIMITS

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    assert block, "README.md has no fenced code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def _ci_commands() -> list[str]:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return [ln.strip() for ln in lines[1:] if ln.strip() and not ln.strip().startswith("#")]


def _config() -> dict:
    return tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())


def test_readme_first_block_is_run_app_then_run_tests():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    run_app, run_tests = commands
    assert run_app == "bash scripts/app.sh"
    app_script = (REPO / "scripts" / "app.sh").read_text()
    assert "streamlit run app.py" in app_script and "--server.port 8501" in app_script
    assert run_tests == "bash scripts/test.sh"


def test_ci_runs_exactly_the_readme_test_command():
    run_tests = _readme_commands()[1]
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert _ci_commands() == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', run_tests]


def test_scripts_use_the_repo_venv_and_pytest():
    test_script = (REPO / "scripts" / "test.sh").read_text()
    assert ".venv/bin/python -m pytest" in test_script
    assert "requirements-dev.txt" in test_script
    venv_script = (REPO / "scripts" / "venv.sh").read_text()
    assert "-m venv .venv" in venv_script and "sha256sum" in venv_script


def test_requirements_pin_cpu_torch_exactly():
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"unpinned requirement: {line}"
            pins[name.lower()] = version
    assert pins["torch"] == "2.13.0"
    assert pins["streamlit"] == "1.67.0"
    assert pins["plotly"] == "7.1.0"
    dev = (REPO / "requirements-dev.txt").read_text().split()
    assert {"-r", "requirements.txt", "pytest==9.2.0", "playwright==1.65.2"} <= set(dev)


def test_streamlit_config_is_locked_down_for_a_public_server():
    cfg = _config()
    assert cfg["server"]["headless"] is True
    assert cfg["server"]["runOnSave"] is False
    assert cfg["server"]["fileWatcherType"] == "none"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["enableCORS"] is True
    assert "cookieSecret" not in cfg["server"], "a secret in git is no secret"
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "minimal"
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["theme"]["base"] == "light"
    assert cfg["theme"]["baseFontSize"] > 16


def test_upload_cap_matches_limits():
    assert _config()["server"]["maxUploadSize"] == LIMITS.max_upload_mb


def test_every_streamlit_config_key_exists():
    from streamlit import config as st_config

    known = set(st_config.get_config_options())
    keys = {f"{section}.{key}" for section, table in _config().items() for key in table}
    assert keys - known == set(), "unknown streamlit options (ignored with a warning)"


def test_dockerfile_serves_healthchecked_as_non_root_on_8501():
    text = (REPO / "Dockerfile").read_text()
    lines = [ln.strip() for ln in re.sub(r"\\\n\s*", " ", text).splitlines()]  # join continuations
    assert "FROM python:3.11-slim" in lines
    assert any(ln.startswith("HEALTHCHECK ") and "/_stcore/health" in ln for ln in lines)
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert "EXPOSE 8501" in lines
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text
    cmd = next(ln for ln in lines if ln.startswith("CMD "))
    assert "streamlit" in cmd and "app.py" in cmd
    assert "RNNX_TORCH_THREADS=1" in text


def test_dockerfile_copies_the_app_owned_by_root_and_read_only():
    text = (REPO / "Dockerfile").read_text()
    lines = [ln.strip() for ln in re.sub(r"\\\n\s*", " ", text).splitlines()]
    copies = [ln for ln in lines if ln.startswith("COPY ")]
    assert copies and not any("--chown" in ln for ln in copies), copies  # COPY's default owner is root
    app_copy = lines.index("COPY . .")
    user = next(i for i, ln in enumerate(lines) if ln.startswith("USER "))
    assert any(ln.startswith("RUN chmod -R a-w") and "/app" in ln for ln in lines[app_copy:user]), "app code stays writable"


def test_nginx_example_is_sticky_and_upgrades_websockets():
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    # by a cookie, not ip_hash: a lecture hall behind one NAT would all land on one replica
    assert re.search(r"upstream \w+ \{\s*hash \$rnnx_route consistent;", conf) and "ip_hash;" not in conf
    assert "add_header Set-Cookie $rnnx_set_route always;" in conf
    assert "location /_stcore/stream" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "cookieSecret" in conf or "COOKIE_SECRET" in conf


def test_app_script_passes_extra_args_to_streamlit():
    argv = shlex.split((REPO / "scripts" / "app.sh").read_text().splitlines()[-1])
    assert argv[:4] == ["exec", ".venv/bin/streamlit", "run", "app.py"] and argv[-1] == "$@"


def _without_upstreams(text: str) -> list[str]:
    body = text[text.index("upstream rnn_explorer"):]
    return [ln for ln in body.splitlines() if not ln.strip().startswith("server ") or "server_name" in ln]


def test_deploy_examples_limit_memory_and_clients():
    """Issue 18.7: container memory requests and limits; per-IP connection and request limits in nginx."""
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert "limit_conn_zone $binary_remote_addr" in nginx and "limit_req_zone $binary_remote_addr" in nginx
    assert re.search(r"limit_conn rnnx_conn \d+;", nginx) and nginx.count("limit_req zone=rnnx_req") == 2
    compose_proxy = (REPO / "deploy" / "compose-nginx.conf").read_text()
    assert _without_upstreams(compose_proxy) == _without_upstreams(nginx)  # the same proxy, other upstreams
    compose = (REPO / "deploy" / "compose.yaml").read_text()
    assert "mem_limit: 3g" in compose and "mem_reservation:" in compose
    k8s = (REPO / "deploy" / "kubernetes.yaml").read_text()
    for needed in ("kind: Deployment", "kind: Service", "kind: Ingress", "path: /_stcore/health",
                   "requests: {cpu:", "limits: {cpu:", 'affinity: "cookie"', "secretKeyRef"):
        assert needed in k8s, needed
