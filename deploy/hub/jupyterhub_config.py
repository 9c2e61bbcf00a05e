"""The hub's configuration for deploy/ (mounted from ConfigMap jupyterhub-config).

Everything a site changes lives in environment variables set by deploy/hub/hub.yaml (or in
jupyterhub_config.d/*.py files mounted next to this one), so this file stays as shipped.
tests/deploy loads it to configure the spawner it runs against the real control plane.
"""

import glob
import os
import sys

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file


def env(name, default=None):
    value = os.environ.get(name, "")
    return value if value != "" else default


# -- the hub and its proxy ------------------------------------------------------------
# The hub listens on 8081 in its pod; user pods in their own namespaces reach it through
# Service "hub" by its namespace-qualified name (a bare "hub" resolves only in the hub's
# namespace).
HUB_NAMESPACE = env("POD_NAMESPACE", "jupyterhub")
c.JupyterHub.hub_bind_url = "http://:8081"
c.JupyterHub.hub_connect_url = env(
    "JUPYTER_KF_HUB_CONNECT_URL", f"http://hub.{HUB_NAMESPACE}.svc:8081"
)
# configurable-http-proxy runs in its own pod (proxy.yaml): the hub does not start it.
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = env(
    "JUPYTER_KF_PROXY_API_URL", f"http://proxy-api.{HUB_NAMESPACE}.svc:8001"
)
# CONFIGPROXY_AUTH_TOKEN (hub and proxy) and JPY_COOKIE_SECRET come from Secret
# jupyterhub-secrets; JupyterHub reads both from the environment.
c.JupyterHub.db_url = env("JUPYTER_KF_DB_URL", "sqlite:////srv/jupyterhub/jupyterhub.sqlite")
# User pods outlive the hub: a restarted hub re-attaches to them (the spawner keeps the
# names in the database) instead of stopping every server.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.allow_named_servers = env("JUPYTER_KF_NAMED_SERVERS", "false") == "true"

# -- who may log in ---------------------------------------------------------------------
# A shared password (JupyterHub >= 5) so a fresh install can be tried at once. For real
# use, put an OAuthenticator in jupyterhub_config.d/ (see deploy/README.md).
c.JupyterHub.authenticator_class = env("JUPYTER_KF_AUTHENTICATOR", "shared-password")
if c.JupyterHub.authenticator_class == "shared-password":
    c.SharedPasswordAuthenticator.user_password = env("JUPYTER_KF_SHARED_PASSWORD")
    c.Authenticator.allow_all = True
admins = env("JUPYTER_KF_ADMIN_USERS")
if admins:
    c.Authenticator.admin_users = set(admins.split(","))

# -- the spawner ------------------------------------------------------------------------
c.JupyterHub.spawner_class = "kubeflow"  # the entry point of jupyter_kf.hub.KubeflowSpawner
c.KubeflowSpawner.namespace_mode = "per-user"
c.KubeflowSpawner.namespace_prefix = env("JUPYTER_KF_NAMESPACE_PREFIX", "jupyter-")
# Bind each user's ServiceAccount to the ClusterRole deploy/rbac ships (jupyter-kf-user)
# instead of writing a Role per namespace: the hub holds `bind` on that ClusterRole only.
c.KubeflowSpawner.user_cluster_role = "jupyter-kf-user"
# deploy/rbac's admission policy refuses namespaces that enforce less than baseline.
c.KubeflowSpawner.pod_security_level = env("JUPYTER_KF_POD_SECURITY", "baseline")
c.KubeflowSpawner.image = env("JUPYTER_KF_NOTEBOOK_IMAGE", "jupyter-kf-notebook:0.1.0")
c.KubeflowSpawner.storage_capacity = env("JUPYTER_KF_HOME_SIZE", "10Gi")
if env("JUPYTER_KF_STORAGE_CLASS") is not None:
    c.KubeflowSpawner.storage_class = env("JUPYTER_KF_STORAGE_CLASS")
c.KubeflowSpawner.cpu_guarantee = 0.5
c.KubeflowSpawner.mem_guarantee = "1G"
c.KubeflowSpawner.mem_limit = "4G"

# Profiles: a CPU notebook, and one with a GPU on a GPU node (nodes labelled as the NVIDIA
# GPU operator / device plugin labels them; the taint many managed GPU node pools carry is
# tolerated). Jobs launched from either use the notebook's image by default.
GPU_RESOURCE = env("JUPYTER_KF_GPU_RESOURCE", "nvidia.com/gpu")
c.KubeflowSpawner.profile_list = [
    {
        "display_name": "CPU",
        "slug": "cpu",
        "default": True,
        "description": "0.5-2 CPUs, 1-4 GB memory",
    },
    {
        "display_name": "GPU",
        "slug": "gpu",
        "description": f"1 GPU ({GPU_RESOURCE}), 2-8 CPUs, 8-32 GB memory",
        "overrides": {
            "cpu_guarantee": 2,
            "cpu_limit": 8,
            "mem_guarantee": "8G",
            "mem_limit": "32G",
            "extra_resource_limits": {GPU_RESOURCE: "1"},
            "node_selector": {"nvidia.com/gpu.present": "true"},
            "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
        },
    },
]

# -- idle culling -----------------------------------------------------------------------
# jupyterhub-idle-culler, run by the hub as a service with only the scopes it needs: it
# stops servers idle for JUPYTER_KF_CULL_TIMEOUT seconds (the spawner deletes their pods;
# home volumes stay). Keep the timeout above the single-user server's activity interval
# (300 s).
if env("JUPYTER_KF_CULL", "true") == "true":
    c.JupyterHub.services = [
        {
            "name": "jupyterhub-idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={env('JUPYTER_KF_CULL_TIMEOUT', '3600')}",
                f"--cull-every={env('JUPYTER_KF_CULL_EVERY', '600')}",
                f"--max-age={env('JUPYTER_KF_CULL_MAX_AGE', '0')}",
            ],
        }
    ]
    c.JupyterHub.load_roles = [
        {
            "name": "jupyterhub-idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler"],
        }
    ]

# -- site additions -----------------------------------------------------------------------
for path in sorted(glob.glob("/usr/local/etc/jupyterhub/jupyterhub_config.d/*.py")):
    with open(path) as f:
        exec(compile(f.read(), path, "exec"))
