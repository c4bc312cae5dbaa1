"""Checks that the install, CI and deployment files do what the README promises: the settings Streamlit
loads, the caps it enforces, the packages installed. Not a test of the app's pages.
"""
import functools
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
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


def _pins(name: str) -> dict[str, str]:
    """package -> version pinned in a requirements file (and the files it includes with -r)."""
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r"):
            pins |= _pins(line.split()[1])
        elif line:
            package, sep, version = line.partition("==")
            assert sep, f"unpinned requirement in {name}: {line}"
            pins[package.lower()] = version
    return pins


@functools.lru_cache(maxsize=1)
def _loaded_options() -> dict[str, tuple]:
    """option -> (value, where defined) as Streamlit itself loads them for `streamlit run app.py` in the repo:
    its own loader, in a fresh process with no user config and no STREAMLIT_* variables."""
    code = ("import json; from streamlit import config; o = config.get_config_options(force_reparse=True); "
            "print(json.dumps({k: [v.value, v.where_defined] for k, v in o.items()}, default=str))")
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")} | {"HOME": home}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                             check=True, timeout=120)
    return {k: tuple(v) for k, v in json.loads(out.stdout.splitlines()[-1]).items()}


def _option(key: str):
    return _loaded_options()[key][0]


def test_readme_commands_name_scripts_that_exist_and_parse():
    commands = _readme_commands()
    assert len(commands) == 2, commands  # run the app, run the tests
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "bash" and (REPO / argv[1]).is_file(), command
        subprocess.run(["bash", "-n", argv[1]], cwd=REPO, check=True)  # a syntax error fails here


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


def test_the_installed_packages_are_the_pinned_ones():
    """The environment the suite runs in is the one requirements-dev.txt (and requirements.txt) describe."""
    pins = _pins("requirements-dev.txt")
    assert {"torch", "streamlit", "plotly", "pytest"} <= set(pins)
    for package, version in pins.items():
        assert importlib.metadata.version(package).split("+")[0] == version, package


def test_streamlit_loads_the_settings_of_a_public_server():
    """What Streamlit actually loads from the repo, not what the file says: a key it ignored would fail here."""
    ours = {key for key, (_, where) in _loaded_options().items() if where.endswith("config.toml")}
    assert {"server.headless", "server.maxUploadSize", "client.showErrorDetails"} <= ours
    assert _option("server.headless") is True
    assert _option("server.runOnSave") is False
    assert _option("server.fileWatcherType") == "none"
    assert _option("server.enableXsrfProtection") is True
    assert _option("server.enableCORS") is True
    assert "server.cookieSecret" not in ours, "a secret in git is no secret"
    assert _option("client.showErrorDetails") == "none"
    assert _option("client.toolbarMode") == "minimal"
    assert _option("browser.gatherUsageStats") is False
    assert _option("theme.base") == "light"
    assert _option("theme.baseFontSize") > 16


def test_the_upload_cap_streamlit_enforces_is_the_apps():
    assert _option("server.maxUploadSize") == LIMITS.max_upload_mb


def test_every_streamlit_config_key_exists():
    from streamlit import config as st_config

    known = set(st_config.get_config_options())
    keys = {f"{section}.{key}" for section, table in _config().items() for key in table}
    assert keys - known == set(), "unknown streamlit options (ignored with a warning)"


def test_dockerfile_serves_healthchecked_as_non_root_with_the_pinned_torch():
    text = (REPO / "Dockerfile").read_text()
    lines = [ln.strip() for ln in re.sub(r"\\\n\s*", " ", text).splitlines()]  # join continuations
    python = f"python:{sys.version_info.major}.{sys.version_info.minor}"
    assert any(ln.startswith(f"FROM {python}") for ln in lines), f"the image's Python is not the suite's {python}"
    assert any(ln.startswith("HEALTHCHECK ") and "/_stcore/health" in ln for ln in lines)
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert f"torch=={_pins('requirements.txt')['torch']} --index-url https://download.pytorch.org/whl/cpu" in text
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
    # by a cookie each replica sets to its name, not ip_hash: a lecture hall behind one NAT would all land on one
    assert "map $cookie_rnnx_route $rnnx_upstream {" in conf and not re.search(r"^\s*(ip_)?hash ", conf, re.M)
    assert conf.count("proxy_pass http://$rnnx_upstream;") == 4 and "RNNX_ROUTE=r1" in conf
    assert "location /_stcore/stream" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "cookieSecret" in conf or "COOKIE_SECRET" in conf


def test_app_script_passes_extra_args_to_streamlit():
    argv = shlex.split((REPO / "scripts" / "app.sh").read_text().splitlines()[-1])
    assert argv[:4] == ["exec", ".venv/bin/streamlit", "run", "app.py"] and argv[-1] == "$@"


def _without_upstreams(text: str) -> list[str]:
    """The proxy's config apart from its replicas part (deploy/local.sh writes that part for its own)."""
    before, _, rest = text[text.index("limit_conn_zone"):].partition("# -- the replicas")
    return (before + rest[rest.index("# -- end of the replicas --"):]).splitlines()


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
