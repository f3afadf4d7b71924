# syntax=docker/dockerfile:1.7
# TENMON-ARK container image: the web UI (web/dist) embedded in the release binary,
# on distroless (glibc, CA certificates, no shell), as uid 10001.
#
#   docker build -t tenmon-ark .
#   docker run -d -p 127.0.0.1:3000:3000 -v tenmon-ark-data:/data --read-only --tmpfs /tmp \
#     -e JWT_SECRET="$(openssl rand -base64 48)" tenmon-ark
#
# Multi-arch (linux/amd64, linux/arm64): the build stages run on the build machine's
# platform and cross-compile, so no stage runs under emulation.
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/tenmon-ark .
# docs/deploy.md ("Docker") has the details: volumes, backups, upgrades.

ARG VERSION=0.0.0-dev
ARG REVISION=unknown

# --- 1. The web UI -------------------------------------------------------------
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS web
WORKDIR /src/web
# Dependencies first: this layer stays cached until the lock file changes.
COPY web/package*.json ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
COPY web/ ./
RUN if [ -f package.json ]; then npm run build; fi && mkdir -p dist

# --- 2. A dependency-only skeleton of the Cargo workspace ----------------------
# Only the manifests, the lock file and a stub for every target root survive, so the
# next stage's dependency layer is rebuilt only when dependencies (or the set of
# crates and targets) change, not on every source edit.
FROM --platform=$BUILDPLATFORM rust:1-bookworm AS skeleton
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# Kept: src/lib.rs (emptied); src/main.rs, src/bin/*.rs, build.rs, benches/*.rs,
# tests/*.rs, tests/*/main.rs and every `path = "….rs"` a manifest declares (each
# becomes `fn main() {}`). Everything else under crates/ except Cargo.toml goes.
RUN set -eu; \
    : > /tmp/keep; \
    for c in crates/*/; do \
      for f in "${c}src/lib.rs" "${c}src/main.rs" "${c}build.rs" "${c}"src/bin/*.rs \
               "${c}"benches/*.rs "${c}"tests/*.rs "${c}"tests/*/main.rs; do \
        if [ -f "$f" ]; then echo "$f" >> /tmp/keep; fi; \
      done; \
      sed -n 's/^path *= *"\(.*\.rs\)".*/\1/p' "${c}Cargo.toml" | sed "s|^|${c}|" >> /tmp/keep; \
    done; \
    sort -u -o /tmp/keep /tmp/keep; \
    find crates -type f ! -name Cargo.toml | sort > /tmp/all; \
    comm -23 /tmp/all /tmp/keep | xargs -r rm -f; \
    while read -r f; do \
      case "$f" in */src/lib.rs) : > "$f" ;; *) echo 'fn main() {}' > "$f" ;; esac; \
    done < /tmp/keep; \
    find crates -type d -empty -delete

# --- 3. The release binary -----------------------------------------------------
FROM --platform=$BUILDPLATFORM rust:1-bookworm AS build
ARG TARGETARCH
WORKDIR /src
# A C cross compiler for the target (ring, the bundled SQLite and mimalloc build C code);
# nothing to add when the build machine has the target's architecture.
# hadolint ignore=DL3008
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) triple="x86_64-unknown-linux-gnu"; gcc="gcc-x86-64-linux-gnu"; libc="libc6-dev-amd64-cross" ;; \
      arm64) triple="aarch64-unknown-linux-gnu"; gcc="gcc-aarch64-linux-gnu"; libc="libc6-dev-arm64-cross" ;; \
      *) echo "unsupported TARGETARCH: $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    echo "$triple" > /rust-target; \
    if [ "$(dpkg --print-architecture)" != "$TARGETARCH" ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends "$gcc" "$libc"; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    rustup target add "$triple"
ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc \
    CC_x86_64_unknown_linux_gnu=x86_64-linux-gnu-gcc \
    AR_x86_64_unknown_linux_gnu=x86_64-linux-gnu-ar \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    CARGO_TERM_COLOR=never

# Dependencies: built against the stubs, cached until Cargo.toml/Cargo.lock change.
COPY --from=skeleton /src ./
RUN cargo build --release --locked -p tenmon-ark --target "$(cat /rust-target)"

# The real sources. Touch them so cargo rebuilds the workspace crates compiled from
# the stubs (COPY keeps the files' older timestamps).
COPY crates ./crates
COPY --from=web /src/web/dist ./web/dist
RUN set -eu; \
    find crates -name '*.rs' -exec touch {} +; \
    cargo build --release --locked -p tenmon-ark --target "$(cat /rust-target)"; \
    install -D -m 0755 "target/$(cat /rust-target)/release/tenmon-ark" /out/tenmon-ark; \
    install -d -m 0750 /out/data /out/files

# --- 4. The runtime image --------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION
ARG REVISION
LABEL org.opencontainers.image.title="TENMON-ARK" \
      org.opencontainers.image.description="A self-hostable AI chat server: streamed chat, a Japanese FAQ knowledge base, an OpenAI-compatible API" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="TENMON-ARK" \
      org.opencontainers.image.source="https://example.invalid/tenmon-ark" \
      org.opencontainers.image.url="https://example.invalid/tenmon-ark" \
      org.opencontainers.image.documentation="https://example.invalid/tenmon-ark/docs/deploy.md" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=build /out/tenmon-ark /usr/local/bin/tenmon-ark
COPY --from=build --chown=10001:10001 /out/data /data
# Uploads when the Compose production profile shares one volume between replicas:
# a new named volume takes this directory's owner, so the app can write to it.
COPY --from=build --chown=10001:10001 /out/files /files

# Listen on every interface inside the container; the embedded SQLite database lives
# on the volume. Secrets (JWT_SECRET, OPENAI_API_KEY, …) come from the environment at
# run time, never from the image.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    APP_ENV=production \
    DATABASE_URL=sqlite:///data/tenmon-ark.db

USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 3000

# The binary checks itself (there is no shell or curl here): `doctor --live` exits 0
# when /health/live on the configured PORT answers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/tenmon-ark", "doctor", "--live"]

# SIGTERM starts the drain (SHUTDOWN_GRACE_SECONDS, 30 by default): give
# `docker stop` a longer timeout, e.g. `docker stop -t 45`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tenmon-ark"]
CMD ["serve"]
