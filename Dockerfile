# The dws-rebalancer container image: a virtualenv built in one stage, copied onto a clean base.
#
#   podman build -t dws-rebalancer .            (or docker build; scripts/build-image.sh wraps it,
#                                                scripts/release.sh builds a release with it)
#
# Build arguments:
#   PYTHON_IMAGE     base for both stages, pinned by digest; any Debian-like image with python3 +
#                    venv (3.11+), e.g. the one scripts/make-base-image.sh records
#   PIP_CONFIG_FILE  a pip.conf visible to the build (e.g. mounted with -v) for a mirror or an
#                    offline wheelhouse; /dev/null means "no config": pip uses PyPI
#   VERSION, REVISION, CREATED, SOURCE   recorded in the OCI labels
# Every dependency comes from requirements.lock, version and hash (scripts/lock.sh writes it).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${PYTHON_IMAGE} AS build
ARG PIP_CONFIG_FILE=/dev/null
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
# The locked dependencies and build backend first (their own layer, reused while the lock holds);
# then the package itself, built with that backend and nothing fetched unhashed.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY controller ./controller
# pip and setuptools are only needed to install; the final image keeps the application alone.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/dws-rebalancer/dws-rebalancer
LABEL org.opencontainers.image.title="dws-rebalancer" \
      org.opencontainers.image.description="Keeps GaussDB(DWS) clusters balanced: detects UNBALANCED clusters and runs the switchover API safely, off-peak." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# A fixed numeric UID/GID: Kubernetes' runAsNonRoot can only verify a numeric USER.
RUN groupadd --gid 10001 dws \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/dws-rebalancer \
       --shell /usr/sbin/nologin dws \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/dws-rebalancer
COPY --from=build /opt/venv /opt/venv

ARG REVISION=unknown
# build_info{revision} on /metrics: the commit this image was built from.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DWS_REBALANCER_REVISION=${REVISION}
# The journal lives here: mount a volume (the chart uses a PersistentVolumeClaim) so cooldowns survive restarts.
WORKDIR /var/lib/dws-rebalancer
USER 10001:10001
EXPOSE 9108
ENTRYPOINT ["dws-rebalancer"]
CMD ["run"]
