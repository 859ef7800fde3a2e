# Multi-stage build of the same static binary `go build ./cmd/scimd` makes.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/scimd ./cmd/scimd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimd /scimd
USER nonroot:nonroot
EXPOSE 8080
ENV SCIM_ADDR=:8080
ENTRYPOINT ["/scimd"]
