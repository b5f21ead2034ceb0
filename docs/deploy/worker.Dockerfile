# A Dask worker that grades cnnkit submissions: the kit, bubblewrap, an unprivileged user.
#
# Build it from the kit's wheel only, never from the course folder (solutions/ must not
# reach a worker; everything a submission needs travels with its task):
#
#   pip wheel --no-deps -w docker-context/ .        # in the course's clone
#   cp docs/deploy/worker.Dockerfile docker-context/Dockerfile
#   docker build -t registry.example.edu/cnn-course/grader:2026.1 docker-context/
#
# Use the same Python version and kit version as the machine that runs `cnnkit grade`
# (a worker with another version of the kit is left out, with the reason).
FROM python:3.11-slim-bookworm

# bubblewrap: the sandbox; util-linux: prlimit and setpriv, which it needs too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap util-linux tini \
 && rm -rf /var/lib/apt/lists/*

# The kit and its pinned ranges (TensorFlow, nbgrader, dask, distributed), in a venv.
COPY cnnwidgets-*.whl /tmp/
RUN python -m venv /opt/grader \
 && /opt/grader/bin/pip install --no-cache-dir /tmp/cnnwidgets-*.whl \
 && rm /tmp/cnnwidgets-*.whl

# Grading runs as this user; each kernel gets a sandbox of its own inside the container.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin grader
USER grader
WORKDIR /home/grader
ENV PATH=/opt/grader/bin:$PATH \
    TF_CPP_MIN_LOG_LEVEL=3 \
    TF_ENABLE_ONEDNN_OPTS=0

# One submission at a time per worker process; the memory limit bounds each submission's
# processes together (kernel, verifier, rooms), see docs/grading-on-dask.md.
ENTRYPOINT ["tini", "--"]
CMD ["dask", "worker", "--nworkers", "1", "--nthreads", "1", "--memory-limit", "6GB"]
