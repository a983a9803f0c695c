# An image of the Berth agent itself. Run it privileged (it mounts, creates namespaces and
# cgroups) with the host's cgroups and a volume for its data root:
#
#   docker build -t berth .
#   docker run -d --privileged --name berth -v berth:/var/lib/berth -v /run/berth:/run/berth \
#       -p 127.0.0.1:7070:7070 berth
#   docker logs berth        # shows the one-time dashboard login link
#
# The agent listens on 0.0.0.0 inside the container so the published port reaches it; keep
# the published port on loopback (as above) or put TLS in front: tokens travel in clear text.

FROM rust:1-bookworm AS build
WORKDIR /src
# The dashboard is compiled to wasm by agent/build.rs, which adds the target itself.
RUN rustup target add wasm32-unknown-unknown
COPY . .
RUN cargo build --release -p agent && strip target/release/berth

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/berth /usr/local/bin/berth
VOLUME /var/lib/berth
EXPOSE 7070
ENTRYPOINT ["berth", "serve", "--listen", "0.0.0.0:7070", "--insecure-listen"]
