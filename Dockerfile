# chatd in a container: built on Debian bookworm, run on bookworm-slim as a
# non-root user. PORT (as Render and similar platforms set it) is honoured.
#   docker build -t chatd . && docker run --rm -p 8080:8080 chatd
# Not exercised by the test suite (no container engine there): docs/DEPLOY.md.

FROM debian:bookworm-slim AS build
# What scripts/install-deps.sh installs for building chatd alone.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ make pkg-config libsimdjson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY src ./src
RUN make -j"$(nproc)" build/chatd

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libsimdjson14 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin chatd
COPY --from=build /src/build/chatd /usr/local/bin/chatd
COPY static /usr/local/share/chatd/static
# A platform's proxy stands between every client and the container, so
# chatd sees few client addresses: its per-address cap must not bind.
ENV CHATD_MAX_CONN_PER_IP=10000
USER chatd
EXPOSE 8080
CMD ["chatd"]
