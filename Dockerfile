# releasebot: build with `docker build -t releasebot .`, run with
#   docker run -v releasebot-data:/data -v $PWD/releasebot.toml:/etc/releasebot/releasebot.toml:ro \
#     -e RANCHER_URL -e RANCHER_TOKEN -e DISCORD_TOKEN -p 8080:8080 releasebot

# --- build ------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > benches/fleet.rs \
 && cargo build --release --locked \
 && rm -rf src benches
COPY releasebot.example.toml ./
COPY assets assets
COPY src src
COPY benches benches
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

# --- run --------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home releasebot \
 && mkdir -p /data /etc/releasebot \
 && chown releasebot:releasebot /data
COPY --from=build /src/target/release/releasebot /usr/local/bin/releasebot
USER 10001:10001
ENV RELEASEBOT_DB=/data/releasebot.db \
    RELEASEBOT_CONFIG=/etc/releasebot/releasebot.toml \
    RELEASEBOT_HTTP_ADDR=0.0.0.0:8080 \
    RELEASEBOT_LOG_FORMAT=json \
    RUST_LOG=info
VOLUME /data
EXPOSE 8080
# releasebot notes the restart in each running job's message and exits within seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/releasebot"]
