# Multi-stage build of a static scimd: CGO_ENABLED=0, because a plain
# `go build` links the C library dynamically (net's resolver, os/user) and
# the distroless static image has none. .ci/run builds the binary with this
# file's go build command.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/scimd ./cmd/scimd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimd /scimd
USER nonroot:nonroot
EXPOSE 8080
ENV SCIM_ADDR=:8080
ENTRYPOINT ["/scimd"]
