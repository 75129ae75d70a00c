# Vigil's container image: a static binary on distroless, running as a non-root user.
# The build stage runs `make build`, the same command as on a developer's machine
# (CGO_ENABLED=0 go build -trimpath -o bin/vigil ./cmd/vigil).
#
#   docker build -t ghcr.io/vigil-dev/vigil:dev .

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that source edits do not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/vigil /vigil
# 65532 is distroless' "nonroot" user; the chart's securityContext runs the same user.
USER 65532:65532
ENTRYPOINT ["/vigil"]
CMD ["controller"]
