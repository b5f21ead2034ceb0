# A hub for tests/hub/test_ngshare.py: ngshare as a service, users and their tokens made
# through the API by the test's own service (its token in CNN_NGSHARE_TEST_TOKEN).
import os

c = get_config()  # noqa: F821  (JupyterHub provides get_config when it loads this file)

c.JupyterHub.authenticator_class = "dummy"  # nobody logs in: the test uses API tokens
c.JupyterHub.services = [
    {
        "name": "ngshare",
        "url": os.environ["CNN_NGSHARE_URL"],
        "command": [
            os.environ["CNN_NGSHARE_PYTHON"],
            "-m",
            "ngshare",
            "--admins",
            "admin",
            "--database",
            f"sqlite:///{os.environ['CNN_NGSHARE_STATE']}/ngshare.db",
            "--storage",
            f"{os.environ['CNN_NGSHARE_STATE']}/files/",
        ],
    },
    {"name": "test", "api_token": os.environ["CNN_NGSHARE_TEST_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {"name": "test", "services": ["test"], "scopes": ["admin:users", "tokens"]},
]
