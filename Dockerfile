# syntax=docker/dockerfile:1
# Build: a static binary (no cgo), then a minimal non-root image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/crumb . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crumb /usr/local/bin/crumb
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot:nonroot
ENV CRUMB_DATA=/data CRUMB_ADDR=:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/crumb", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/crumb"]
CMD ["serve"]
