# JupyterHub for a class of the kit: Unix accounts, one server per student, the formgrader
# as a hub service run by the course's grader account (docs/instructor-guide.md, "On
# JupyterHub"). tests/hub/test_hub.py starts a hub with this very file.
#
#   cd /srv/jupyterhub && jupyterhub -f /opt/cnn-course/docs/hub/jupyterhub_config.py   # as root
#
# What belongs to your site is read from the environment, each with its default:
#   CNN_HUB_KIT          the course: the grader's clone of the kit          /opt/cnn-course
#   CNN_HUB_BIN          the venv's bin/ (jupyterhub-singleuser, nbgrader)   $CNN_HUB_KIT/.venv/bin
#   CNN_HUB_SITE         the folder of the nbgrader_config.py every server reads  /etc/jupyter
#   CNN_HUB_GRADER       the Unix account that owns the course and runs cnnkit   grader-cnn-course
#   CNN_HUB_FORMGRADER   the address the formgrader listens on              http://127.0.0.1:9999
#   CNN_HUB_STUDENTS     the Unix group whose members may log in as students  nbgrader-cnn-course
#   CNN_HUB_INSTRUCTORS  the Unix group of the instructors and TAs          formgrade-cnn-course
# Add members with `usermod -aG nbgrader-cnn-course ada`, then restart the hub.
import grp
import os

c = get_config()  # noqa: F821  (JupyterHub provides get_config when it loads this file)

COURSE_ID = "cnn-course"  # the kit's nbgrader_config.py says the same
KIT = os.environ.get("CNN_HUB_KIT", "/opt/cnn-course")
BIN = os.environ.get("CNN_HUB_BIN", f"{KIT}/.venv/bin")
SITE = os.environ.get("CNN_HUB_SITE", "/etc/jupyter")
GRADER = os.environ.get("CNN_HUB_GRADER", f"grader-{COURSE_ID}")
FORMGRADER = os.environ.get("CNN_HUB_FORMGRADER", "http://127.0.0.1:9999")
STUDENTS = os.environ.get("CNN_HUB_STUDENTS", f"nbgrader-{COURSE_ID}")
INSTRUCTORS = os.environ.get("CNN_HUB_INSTRUCTORS", f"formgrade-{COURSE_ID}")


def _members(group: str) -> list[str]:
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


# --- who logs in: Unix accounts and their passwords (PAM), members of the two groups ---------
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}
# Instructors and TAs reach the formgrader: the hub group formgrade-<course>, given the
# right to use the course's service (and to see it in the hub's service list).
c.JupyterHub.load_groups = {f"formgrade-{COURSE_ID}": {"users": _members(INSTRUCTORS)}}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE_ID}",
        "groups": [f"formgrade-{COURSE_ID}"],
        "scopes": [
            f"access:services!service={COURSE_ID}",
            "list:services",
            f"read:services!service={COURSE_ID}",
        ],
    },
    # A server's token has its owner's rights: nbgrader's course list finds the formgrader.
    {"name": "server", "scopes": ["inherit"]},
]

# --- one server per user, as that Unix user (LocalProcessSpawner) -------------------------
c.JupyterHub.spawner_class = "localprocess"
_PATH = f"{BIN}:/usr/local/bin:/usr/bin:/bin"
# The kit's Lab settings (Validate that names unanswered tasks; for students, nbgrader's
# instructor tools off), then the site's nbgrader_config.py (the exchange, the course id).
_LEARNER = os.pathsep.join([f"{KIT}/jupyter/learner", f"{KIT}/jupyter/lab", SITE])
_INSTRUCTOR = os.pathsep.join([f"{KIT}/jupyter/lab", SITE])
_QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}  # TensorFlow's C++ log
c.Spawner.cmd = [f"{BIN}/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {"PATH": _PATH, "JUPYTER_CONFIG_PATH": _LEARNER, **_QUIET}
c.Spawner.start_timeout = 180  # a busy machine starts Lab slowly
c.Spawner.http_timeout = 180

# --- the formgrader: the grader account's server, a hub service named after the course ------
c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": FORMGRADER,
        "command": [f"{BIN}/jupyterhub-singleuser", f"--ServerApp.root_dir={KIT}"],
        "user": GRADER,
        "cwd": KIT,
        # The hub's own service: no "Authorize access" page before the formgrader.
        "oauth_no_confirm": True,
        "environment": {
            "PATH": _PATH,
            "JUPYTER_CONFIG_PATH": _INSTRUCTOR,
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            **_QUIET,
        },
    }
]
